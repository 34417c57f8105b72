"""Every engine failure class, produced by the real engine, mapped to our errors without leaking values.

Each case sends distinctive marker strings as bound values and asserts that no
marker appears in the error's message, repr or context.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import pytest
from surrealdb import RecordID

from agentical_repo import (
    AgenticalError,
    AlreadyExistsError,
    ConflictError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    NotFoundError,
    QueryError,
    Repositories,
    RepositoryError,
    ValidationError,
)
from agentical_repo.errors import (
    CommitUnknownError,
    TransactionError,
    error_from_entry,
    error_from_sdk,
    redact,
)
from agentical_repo.models import Agent, Tool, User
from agentical_repo.surql.statement import Statement

MARK = "zq-marker-7c1f"


def marker(tag: str) -> str:
    return f"{MARK}-{tag}-{uuid.uuid4().hex[:6]}"


def assert_no_leak(exc: BaseException, *values: str) -> None:
    text = f"{exc}\n{exc!r}\n{getattr(exc, 'context', {})}\n{exc.args}"
    for value in values:
        assert value not in text, f"bound value leaked into the error: {text}"
    assert MARK not in text, f"a marker leaked into the error: {text}"


async def raises(kind: type[BaseException], call: Awaitable[Any]) -> Any:
    with pytest.raises(kind) as info:
        await call
    return info.value


# --------------------------------------------------------------------------- exists


async def test_duplicate_id_is_already_exists(repos: Repositories) -> None:
    name = marker("dup")
    agent = await repos.agents.create(Agent(name=name, agent_type="t"))
    exc = await raises(AlreadyExistsError, repos.agents.create(Agent(id=agent.id, name=name, agent_type="t")))
    assert exc.code == "already_exists"
    assert isinstance(exc, RepositoryError)
    assert isinstance(exc, AgenticalError)
    assert_no_leak(exc, name)


async def test_unique_tool_name_is_already_exists(repos: Repositories) -> None:
    name = marker("tool")
    await repos.tools.create(Tool(name=name, category="c"))
    exc = await raises(AlreadyExistsError, repos.tools.create(Tool(name=name, category="other")))
    assert "tool_name" in str(exc)  # the index is named, the value is not (identifier keys kept)
    assert_no_leak(exc, name)
    assert await repos.tools.count() == 1


async def test_user_email_unique_ignoring_case(repos: Repositories) -> None:
    local = marker("mail")
    await repos.users.create(User(username=marker("u1"), email=f"{local}@Example.com"))
    exc = await raises(
        AlreadyExistsError,
        repos.users.create(User(username=marker("u2"), email=f"{local.upper()}@example.COM")),
    )
    assert_no_leak(exc, local, local.upper())
    assert await repos.users.count() == 1


# --------------------------------------------------------------------------- schema refusals


async def test_schema_coercion_is_validation_error(db: Database) -> None:
    value = {"nested": marker("coerce")}
    exc = await raises(
        ValidationError,
        db.query("CREATE agent SET name = $n, agent_type = 't'", {"n": value}),
    )
    assert exc.code == "schema_violation"
    assert "name" in str(exc)
    assert_no_leak(exc, value["nested"])


async def test_assert_on_enum_is_validation_error(db: Database) -> None:
    status = marker("status")
    exc = await raises(
        ValidationError,
        db.query("CREATE agent SET name = 'a', agent_type = 't', status = $s", {"s": status}),
    )
    assert "status" in str(exc)
    assert "must conform" in str(exc)
    assert_no_leak(exc, status)
    assert (await db.query("SELECT * FROM agent"))[0] == []


async def test_unknown_field_is_validation_error(db: Database) -> None:
    value = marker("junk")
    exc = await raises(
        ValidationError,
        db.execute(
            Statement(
                "CREATE agent SET name = 'a', agent_type = 't', junk = $v", {"v": value}, "CREATE", "agent"
            )
        ),
    )
    assert "junk" in str(exc)  # the field name is an identifier, fine to show
    assert_no_leak(exc, value)


async def test_readonly_field_write_is_validation_error(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    exc = await raises(
        ValidationError,
        repos.db.query("UPDATE $id SET created_at = time::now()", {"id": repos.agents._rid(agent.id)}),
    )
    assert "readonly" in str(exc).lower()


async def test_thrown_error_payload_values_are_redacted(db: Database) -> None:
    value = marker("thrown")
    exc = await raises(QueryError, db.query("THROW $v", {"v": value}))
    assert exc.code == "thrown"
    assert_no_leak(exc, value)


# --------------------------------------------------------------------------- conflicts


async def test_stale_expected_version_is_conflict(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    await repos.agents.update(agent.id, {"name": "b"}, expected_version=1)
    value = marker("stale")
    exc = await raises(ConflictError, repos.agents.update(agent.id, {"name": value}, expected_version=1))
    assert exc.code == "stale_version"
    assert exc.retryable is False
    assert exc.context["expected_version"] == 1
    assert_no_leak(exc, value)
    assert (await repos.agents.get(agent.id)).name == "b"


async def test_engine_write_conflict_maps_to_retryable_conflict() -> None:
    """Entries the engine produces under concurrency (see test_transaction.py for the real burst)."""
    entry = {
        "status": "ERR",
        "kind": "Query",
        "details": {"kind": "TransactionConflict"},
        "result": "Transaction conflict: Write conflict, retry the transaction. "
        "This transaction can be retried",
    }
    exc = error_from_entry(entry)
    assert isinstance(exc, ConflictError)
    assert exc.retryable
    assert exc.code == "write_conflict"


# --------------------------------------------------------------------------- query errors


async def test_parse_error_is_query_error(db: Database) -> None:
    value = marker("parse")
    exc = await raises(QueryError, db.query("SELEC * FROM agent WHERE name = $v", {"v": value}))
    assert exc.code == "parse_error"
    assert "Parse error" in str(exc)
    assert_no_leak(exc, value)


async def test_missing_table_hints_apply_schema(bare_db: Database) -> None:
    repos = Repositories(bare_db)
    exc = await raises(QueryError, repos.agents.list({"name": marker("missing")}))
    assert exc.code == "table_missing"
    assert "apply_schema" in str(exc)
    assert_no_leak(exc)
    exc = await raises(QueryError, repos.agents.count())
    assert "apply_schema" in str(exc)


async def test_missing_table_inside_a_block_keeps_its_meaning(bare_db: Database) -> None:
    """Raised inside a block the engine reports "An error occurred: The table …": the same
    error as outside one, not "An error occurred: <redacted>"."""
    exc = await raises(
        QueryError, bare_db.query("{ LET $x = (SELECT * FROM nope WHERE n = $n); $x }", {"n": marker("b")})
    )
    assert exc.code == "table_missing"
    assert exc.context["table"] == "nope"
    assert "The table 'nope' does not exist" in exc.message
    assert "<redacted>" not in exc.message
    assert_no_leak(exc)


async def test_redaction_keeps_record_ids_whole(db: Database) -> None:
    """A bound string that also occurs inside the failing record's id (here: a run of its
    uuid) is redacted as a value, never cut out of the id."""
    await db.query("DEFINE TABLE probe SCHEMAFULL; DEFINE FIELD n ON probe TYPE int")
    key = uuid.uuid4()
    value = key.hex[:8]
    exc = await raises(
        ValidationError,
        db.query("CREATE $id SET n = $v", {"id": RecordID("probe", key), "v": value}),
    )
    assert f"probe:u'{key}'" in exc.message
    assert exc.message.count(value) == 1  # only inside the record id
    assert "<redacted>" in exc.message


async def test_missing_record_through_thrown_kind_is_not_found(repos: Repositories) -> None:
    exc = await raises(NotFoundError, repos.agents.update(uuid.uuid4(), {"name": marker("nf")}))
    assert exc.code == "not_found"
    assert_no_leak(exc)


async def test_unknown_function_is_query_error(db: Database) -> None:
    value = marker("fn")
    exc = await raises(QueryError, db.query("RETURN fn::does_not_exist($v)", {"v": value}))
    assert not isinstance(exc, ValidationError)
    assert_no_leak(exc, value)


# --------------------------------------------------------------------------- unavailable


async def test_closed_connection_and_unreachable_server_are_unavailable() -> None:
    db = Database(DatabaseSettings(url="ws://127.0.0.1:9/rpc", max_retries=0, connect_timeout=0.5))
    exc = await raises(DatabaseUnavailableError, db.query("RETURN $v", {"v": marker("down")}))
    assert exc.code == "database_unavailable"
    assert_no_leak(exc)
    with pytest.raises(DatabaseUnavailableError):
        _ = db.client  # never connected


async def test_commit_unknown_is_a_transaction_error() -> None:
    assert issubclass(CommitUnknownError, TransactionError)
    exc = TransactionError("x", context={"statement_index": 3})
    assert exc.statement_index == 3
    assert TransactionError("y").statement_index is None


# --------------------------------------------------------------------------- SDK exceptions and redaction


def test_sdk_exceptions_map_by_class() -> None:
    import surrealdb

    value = marker("sdk")
    down = error_from_sdk(ConnectionResetError(value), vars={"v": value})
    assert isinstance(down, DatabaseUnavailableError)
    mapped = error_from_sdk(surrealdb.InvalidRecordIdError(f"bad id {value}"), vars={"v": value})
    assert isinstance(mapped, ValidationError)
    assert value not in str(mapped)
    unsupported = error_from_sdk(surrealdb.UnsupportedEngineError("mem"))
    assert isinstance(unsupported, DatabaseUnavailableError)
    assert "agentical-repo[embedded]" in str(unsupported)
    other = error_from_sdk(RuntimeError(f"weird {value}"), vars={"v": [value]})
    assert isinstance(other, QueryError)
    assert value not in str(other)
    same = QueryError("already ours")
    assert error_from_sdk(same) is same
    server = error_from_sdk(surrealdb.ServerError("AlreadyExists", "Database record `a:1` already exists"))
    assert isinstance(server, AlreadyExistsError)


def test_redact_removes_nested_values_and_engine_quotes() -> None:
    secret = marker("deep")
    message = f"Couldn't coerce value: Expected `string` but found `{{ a: '{secret}' }}`"
    assert secret not in redact(message)
    assert secret not in redact(f"prefix {secret} suffix", [{"k": [{"x": secret}]}])
    # short strings (under 3 characters) are not scrubbed: they would mangle messages
    assert redact("id ab", ["ab"]) == "id ab"


def test_permission_and_unknown_entries() -> None:
    exc = error_from_entry({"kind": "NotAllowed", "result": "Not enough permissions"})
    assert isinstance(exc, QueryError)
    assert exc.code == "not_allowed"
    exc = error_from_entry({"kind": "NotFound", "result": "record missing"})
    assert isinstance(exc, NotFoundError)
    exc = error_from_entry({"result": "something unexpected"})
    assert type(exc) is QueryError
