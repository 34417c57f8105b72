"""No silent misuse of a ``Database``: closed means closed, writes need the schema,
and a reply that cannot be decoded is never reported as a refused request.

Each test builds its own ``Database`` on the suite's engine URL (or a ``surrealkv://``
path in ``tmp_path`` where the store itself matters), never the shared fixture connection.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import make_settings

from agentical_repo import (
    CommitUnknownError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    QueryError,
    Repositories,
    RepositoryError,
    Statement,
    ValidationError,
)
from agentical_repo.models import Agent

EngineUrl = tuple[str, "str | None", "str | None"]
SCHEMA_HINT = "schema not applied: run `agentical-repo schema apply` or `await db.apply_schema()`"


def own(engine_url: EngineUrl, **kw: object) -> Database:
    url, user, password = engine_url
    return Database(make_settings(url, user, password, database=f"life_{uuid.uuid4().hex}", **kw))


def agent(name: str = "a") -> Agent:
    return Agent(name=name, agent_type="t")


# --------------------------------------------------------------------------- closed means closed


async def test_a_closed_database_refuses_every_call_until_connect(engine_url: EngineUrl) -> None:
    db = own(engine_url)
    async with db:
        await db.apply_schema()
        repos = Repositories(db)
        await repos.agents.create(agent())
    assert not db.connected
    with db.count_requests() as c:
        for call in (
            lambda: db.query("RETURN 1"),
            lambda: db.execute(Statement("RETURN 1")),
            lambda: db.execute_many([Statement("RETURN 1")]),
            lambda: db.run_transaction([Statement("RETURN 1")]),
            lambda: repos.agents.list(),
            lambda: db.use("test", "elsewhere"),
        ):
            with pytest.raises(
                DatabaseUnavailableError, match=r"database is closed; call connect\(\) to reopen"
            ):
                await call()
    assert c.count == 0  # nothing was sent, nothing silently reopened
    assert not db.connected
    with pytest.raises(DatabaseUnavailableError, match="closed") as info:
        _ = db.client
    assert info.value.code == "closed"

    await db.connect()  # reopening is explicit
    assert await db.query("RETURN 1") == [1]
    await db.close()


async def test_reopened_surrealkv_store_keeps_its_data(tmp_path: Path) -> None:
    db = Database(DatabaseSettings(url=f"surrealkv://{tmp_path / 'kv'}", namespace="n", database="d"))
    async with db:
        await db.apply_schema()
        created = await Repositories(db).agents.create(agent("kept"))
    with pytest.raises(DatabaseUnavailableError, match="closed"):
        await Repositories(db).agents.get(created.id)
    async with db:  # `async with` connects: the explicit reopen
        assert (await Repositories(db).agents.get(created.id)).name == "kept"


async def test_a_connection_lost_underneath_is_still_reopened(engine_url: EngineUrl) -> None:
    """Only the user's close() is final; a fault keeps the reconnect-before-send behaviour."""
    async with own(engine_url) as db:
        await db.client.close()  # behind the Database's back
        assert await db.query("RETURN 'back'") == ["back"]
        assert db.connected


# --------------------------------------------------------------------------- writes need the schema


async def test_repository_writes_before_the_schema_are_refused(engine_url: EngineUrl) -> None:
    async with own(engine_url) as db:
        repos = Repositories(db)
        with pytest.raises(RepositoryError) as info:
            await repos.agents.create(agent())
        assert str(info.value) == SCHEMA_HINT
        assert info.value.code == "schema_not_applied"
        with pytest.raises(RepositoryError, match="schema not applied"):
            await repos.agents.create_many([agent("x"), agent("y")])
        with pytest.raises(RepositoryError, match="schema not applied"):
            async with repos.transaction() as tx:
                await tx.agents.create(agent("z"))
        # nothing landed schemaless, so applying the schema afterwards works
        assert "agent" not in ((await db.query("INFO FOR DB"))[0]["tables"])
        await db.apply_schema()
        assert (await repos.agents.create(agent("ok"))).name == "ok"


async def test_the_schema_check_is_one_probe_per_connection(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"surrealkv://{tmp_path / 'kv'}", namespace="n", database="d")
    async with Database(settings) as setup:
        await setup.apply_schema()
    db = Database(settings)  # another connection: it has not seen the schema applied
    async with db:
        repos = Repositories(db)
        with db.count_requests() as first:
            await repos.agents.create(agent("one"))
        with db.count_requests() as second:
            await repos.agents.create(agent("two"))
        assert second.count == 1
        assert first.count <= 3  # the write plus the probe (INFO FOR DB, _migration)
        with db.count_requests() as reads:
            await repos.agents.list()
        assert reads.count == 1  # reads are never checked


async def test_raw_queries_and_the_opt_out_are_not_checked(engine_url: EngineUrl) -> None:
    async with own(engine_url) as db:
        assert await db.query("CREATE raw:1 SET v = 1 RETURN VALUE v") == [[1]]  # raw: not checked
    async with own(engine_url, require_schema=False) as db:
        await db.execute(Statement("CREATE kv:1 SET v = 1", operation="CREATE", table="kv"))
        assert await db.query("SELECT VALUE v FROM kv") == [[1]]


# --------------------------------------------------------------------------- an undecodable reply


def _deep_path(depth: int) -> str:
    return ".".join(["a"] * depth)


async def test_a_reply_too_deep_to_decode_is_not_reported_as_refused(engine_url: EngineUrl) -> None:
    """The SDK's CBOR decoder recurses per nesting level: a stored document ~600 levels
    deep can be written but its reply not read. The request was sent: never "refused"."""
    async with own(engine_url, require_schema=False) as db:
        await db.query(f"CREATE deep:1 SET {_deep_path(600)} = 1 RETURN NONE")
        for call in (
            lambda: db.query("SELECT * FROM deep"),
            lambda: db.execute(Statement("SELECT * FROM deep", operation="SELECT", table="deep")),
            lambda: db.execute(Statement("UPDATE deep:1 SET seen = true", operation="UPDATE", table="deep")),
        ):
            with pytest.raises(QueryError) as info:
                await call()
            error = info.value
            assert not isinstance(error, ValidationError)
            assert error.code == "reply_undecodable"
            assert "could not be decoded" in str(error)
            assert "the request was sent" in str(error)
            assert "too deeply to encode" not in str(error)
            assert error.context["maybe_sent"] is True
        # the update was applied although its reply was unreadable
        assert await db.query("SELECT VALUE seen FROM ONLY deep:1") == [True]
        with pytest.raises(CommitUnknownError, match="may have been committed"):
            await db.run_transaction(
                [Statement("UPDATE deep:1 SET again = true", operation="UPDATE", table="deep")]
            )
        assert await db.query("SELECT VALUE again FROM ONLY deep:1") == [True]
        # a value too deep to encode is still refused before sending
        value: object = 1
        for _ in range(5000):
            value = {"a": value}
        with pytest.raises(ValidationError, match="nested too deeply"):
            await db.query("RETURN $v", {"v": value})
