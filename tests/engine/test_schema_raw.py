"""The schema and the model codec against the real embedded engine, raw SDK only.

No repository code is involved: every statement is sent with ``query_raw`` so
these tests pin down what the engine itself does with our schema, and what the
models send and accept. If one of these fails after an engine or SDK upgrade,
the repositories' assumptions are wrong too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from surrealdb import AsyncSurreal, Null, RecordID

from agentical_repo.models import (
    ENTITY_MODELS,
    Agent,
    AgentStatus,
    Capability,
    Entity,
    ExecutionStatus,
    Message,
    MessageRole,
    Playbook,
    PlaybookExecution,
    Task,
    TaskStatus,
    Tool,
    ToolUsage,
    User,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("[0-9][0-9][0-9][0-9]_*.surql"))

# Fields the schema has on top of the model (database-only, never decoded).
DB_ONLY_FIELDS: dict[str, set[str]] = {"user": {"email_key", "password_hash", "auth_epoch"}}


# ----------------------------------------------------------------- helpers


async def run(db: Any, text: str, vars: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run a request and return its per-statement entries (a parse error fails)."""
    response = await db.query_raw(text, vars or {})
    assert "error" not in response, response.get("error")
    entries: list[dict[str, Any]] = response["result"]
    return entries


async def one_ok(db: Any, text: str, vars: dict[str, Any] | None = None) -> Any:
    entries = await run(db, text, vars)
    assert len(entries) == 1
    assert entries[0]["status"] == "OK", entries[0]
    return entries[0]["result"]


async def one_err(db: Any, text: str, vars: dict[str, Any] | None = None) -> str:
    entries = await run(db, text, vars)
    assert len(entries) == 1
    assert entries[0]["status"] == "ERR", entries[0]
    return str(entries[0]["result"])


async def create(db: Any, entity: Entity) -> dict[str, Any]:
    row: dict[str, Any] = await one_ok(
        db,
        "CREATE ONLY $id CONTENT $c",
        {"id": RecordID(entity.__table__, entity.id), "c": entity.to_record()},
    )
    return row


async def create_err(db: Any, table: str, content: dict[str, Any]) -> str:
    return await one_err(
        db, "CREATE ONLY $id CONTENT $c", {"id": RecordID(table, uuid.uuid4()), "c": content}
    )


async def apply_schema(db: Any) -> int:
    """Apply every schema file as one transaction per request; return statement count."""
    total = 0
    for path in SCHEMA_FILES:
        text = f"BEGIN TRANSACTION;\n{path.read_text()}\nCOMMIT TRANSACTION;"
        response = await db.query_raw(text, {})
        assert "error" not in response, (path.name, response.get("error"))
        entries = response["result"]
        bad = [e for e in entries if e["status"] != "OK"]
        assert not bad, (path.name, bad[:3])
        total += len(entries) - 2
    return total


@pytest_asyncio.fixture
async def raw_db() -> AsyncIterator[Any]:
    db = AsyncSurreal("mem://")
    await db.connect()
    await db.use("test", f"schema_{uuid.uuid4().hex}")
    try:
        yield db
    finally:
        await db.close()


@pytest_asyncio.fixture
async def db(raw_db: Any) -> Any:
    await apply_schema(raw_db)
    return raw_db


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=123456)


NESTED: dict[str, Any] = {
    "model": "gpt-ünïcødé",
    "deep": {"a": [1, 2.5, {"b": None, "c": True}], "empty": {}, "list": []},
    "null_value": None,
    "emoji": "🚀 日本語",
}


def full_instances() -> list[Entity]:
    """A fully populated instance of every entity model."""
    agent_id, tool_id, wf_id, pb_id, user_id = (uuid.uuid4() for _ in range(5))
    t0 = now()
    instances: list[Entity] = [
        Agent(
            id=agent_id,
            name="Ågent Smith 🤖",
            agent_type="researcher",
            status=AgentStatus.BUSY,
            description="finds things — quickly",
            config=dict(NESTED),
            state={"step": 3, "memory": ["a", "b"]},
            version=4,
        ),
        Tool(
            id=tool_id,
            name="web.search",
            category="search",
            description="Searches the web",
            available=False,
            capabilities=[
                Capability(name="query", description=None, parameters={"q": {"type": "str"}}),
                Capability(name="päginate", description="pages", parameters={}),
            ],
            usage_count=17,
            last_used_at=t0,
            version=2,
        ),
        ToolUsage(
            tool_id=tool_id,
            agent_id=agent_id,
            success=False,
            duration_ms=12.75,
            details={"error": {"code": 429, "retry": None}},
        ),
        Workflow(
            id=wf_id,
            name="nightly ingest",
            description="ingest everything",
            status=WorkflowStatus.PAUSED,
            definition={"steps": [{"name": "fetch"}, {"name": "parse", "opts": {"x": 1}}]},
            state={"cursor": "abc"},
            version=3,
        ),
        WorkflowExecution(
            workflow_id=wf_id,
            status=ExecutionStatus.FAILED,
            started_at=t0,
            finished_at=t0 + timedelta(seconds=2),
            duration_ms=2000.0,
            result={"rows": 10, "nested": {"k": [1, None]}},
            error="boom ✗",
        ),
        Task(
            title="parse the feed",
            description="second step",
            status=TaskStatus.RUNNING,
            priority=-5,
            workflow_id=wf_id,
            agent_id=agent_id,
            input={"url": "https://example.org", "opts": {"depth": 2}},
            output={"items": []},
            started_at=t0,
            finished_at=t0 + timedelta(milliseconds=5),
            version=7,
        ),
        Playbook(
            id=pb_id,
            name="incident response",
            version=3,
            description="what to do",
            definition={"steps": ["page", "triage"], "meta": {"owner": "sre"}},
            tags=["ops", "ünïcode"],
            revision=2,
        ),
        PlaybookExecution(
            playbook_id=pb_id,
            status=ExecutionStatus.COMPLETED,
            logs=[{"at": "t1", "msg": "paged"}, {"level": "info", "data": {"n": 1}}],
            started_at=t0,
            finished_at=t0 + timedelta(minutes=1),
        ),
        User(
            id=user_id,
            username="zoë",
            email="Zoe@Example.org",
            display_name="Zoë Ünïcode",
            preferences={"theme": "dark", "notifications": {"email": False}},
            is_active=False,
            version=5,
        ),
        Message(
            conversation_id=uuid.uuid4(),
            role=MessageRole.ASSISTANT,
            content="Héllo — how can I help? 👋",
            user_id=user_id,
            agent_id=agent_id,
            metadata={"tokens": 12, "model": {"name": "x", "temperature": 0.2}},
            version=2,
        ),
    ]
    assert {type(i) for i in instances} == set(ENTITY_MODELS)
    return instances


def minimal_instances() -> list[Entity]:
    """Every entity model with only required fields (all optionals None)."""
    return [
        Agent(name="a", agent_type="t"),
        Tool(name="t", category="c"),
        ToolUsage(tool_id=uuid.uuid4()),
        Workflow(name="w"),
        WorkflowExecution(workflow_id=uuid.uuid4()),
        Task(title="t"),
        Playbook(name="p"),
        PlaybookExecution(playbook_id=uuid.uuid4()),
        User(username="u", email="u@example.org"),
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content=""),
    ]


def _dump(entity: Entity) -> dict[str, Any]:
    return entity.model_dump(exclude={"created_at", "updated_at"})


# ----------------------------------------------------------------- schema


@pytest.mark.asyncio
async def test_every_schema_statement_is_ok(raw_db: Any) -> None:
    assert SCHEMA_FILES, "no schema files found"
    count = await apply_schema(raw_db)
    assert count > 50


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ENTITY_MODELS, ids=lambda m: m.__name__)
async def test_schema_fields_match_model(db: Any, model: type[Entity]) -> None:
    info = await one_ok(db, f"INFO FOR TABLE {model.__table__}")
    top_level = {name for name in info["fields"] if "." not in name and "[" not in name}
    expected = (model.field_names() - {"id"}) | DB_ONLY_FIELDS.get(model.__table__, set())
    assert top_level == expected
    for ref, table in model.__references__.items():
        assert f"record<{table}>" in info["fields"][ref]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("table", "field", "enum"),
    [
        ("agent", "status", AgentStatus),
        ("workflow", "status", WorkflowStatus),
        ("task", "status", TaskStatus),
        ("workflow_execution", "status", ExecutionStatus),
        ("playbook_execution", "status", ExecutionStatus),
        ("message", "role", MessageRole),
    ],
)
async def test_enum_assert_lists_match_enums(db: Any, table: str, field: str, enum: type[StrEnum]) -> None:
    info = await one_ok(db, f"INFO FOR TABLE {table}")
    ddl = info["fields"][field]
    allowed = ddl[ddl.index("INSIDE [") + len("INSIDE [") : ddl.index("]", ddl.index("INSIDE"))]
    assert {v.strip().strip("'") for v in allowed.split(",")} == {m.value for m in enum}


# ----------------------------------------------------------------- round trips


@pytest.mark.asyncio
@pytest.mark.parametrize("entity", full_instances(), ids=lambda e: f"full-{type(e).__name__}")
async def test_full_instance_round_trips(db: Any, entity: Entity) -> None:
    row = await create(db, entity)
    assert row["id"] == RecordID(entity.__table__, entity.id)
    back = type(entity).from_record(row)
    lock = type(entity).__lock_field__
    if lock is not None:  # the database owns the lock counter: every record starts at 1
        assert row[lock] == 1
        entity = entity.model_copy(update={lock: 1})
    assert _dump(back) == _dump(entity)
    assert back == entity.model_copy(update={"created_at": back.created_at, "updated_at": back.updated_at})
    assert type(back.created_at) is datetime
    assert type(back.updated_at) is datetime
    assert back.created_at is not None
    assert back.created_at.tzinfo is not None
    # and again through a plain SELECT
    selected = await one_ok(db, "SELECT * FROM ONLY $id", {"id": row["id"]})
    assert _dump(type(entity).from_record(selected)) == _dump(entity)


@pytest.mark.asyncio
@pytest.mark.parametrize("entity", minimal_instances(), ids=lambda e: f"minimal-{type(e).__name__}")
async def test_minimal_instance_round_trips_with_none_as_none(db: Any, entity: Entity) -> None:
    record = entity.to_record()
    assert None in record.values()
    row = await create(db, entity)
    # NONE fields are absent from the stored row, not null
    assert all(value is not None for value in row.values())
    assert _dump(type(entity).from_record(row)) == _dump(entity)


def test_to_record_encoding() -> None:
    wf = uuid.uuid4()
    task = Task(title="t", status=TaskStatus.FAILED, workflow_id=wf, agent_id=None)
    record = task.to_record()
    assert record["status"] == "failed"
    assert type(record["status"]) is str
    assert record["workflow_id"] == RecordID("workflow", wf)
    assert record["agent_id"] is None
    assert not {"id", "created_at", "updated_at"} & record.keys()
    message = Message(conversation_id=uuid.uuid4(), role=MessageRole.TOOL, content="x")
    assert isinstance(message.to_record()["conversation_id"], uuid.UUID)
    tool = Tool(name="n", category="c", capabilities=[Capability(name="c")])
    assert tool.to_record()["capabilities"] == [{"name": "c", "description": Null, "parameters": {}}]
    agent = Agent(name="a", agent_type="t", config={"k": None, "l": [None]})
    assert agent.to_record()["config"] == {"k": Null, "l": [Null]}


def test_from_record_drops_unknown_keys_and_decodes_ids() -> None:
    uid = uuid.uuid4()
    user = User.from_record(
        {
            "id": RecordID("user", uid),
            "username": "u",
            "email": "u@example.org",
            "email_key": "u@example.org",
            "password_hash": "$argon2id$…",
            "score": 1.5,
        }
    )
    assert user.id == uid
    assert "password_hash" not in user.model_dump()


# ----------------------------------------------------------------- refusals


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("entity", "field"),
    [
        (Agent(name="a", agent_type="t"), "status"),
        (Workflow(name="w"), "status"),
        (Task(title="t"), "status"),
        (WorkflowExecution(workflow_id=uuid.uuid4()), "status"),
        (PlaybookExecution(playbook_id=uuid.uuid4()), "status"),
        (Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="c"), "role"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Entity) else v,
)
async def test_enum_value_outside_the_set_is_refused(db: Any, entity: Entity, field: str) -> None:
    content = entity.to_record() | {field: "weird"}
    error = await create_err(db, entity.__table__, content)
    assert f"Found 'weird' for field `{field}`" in error
    assert "but field must conform to: $value INSIDE" in error


@pytest.mark.asyncio
@pytest.mark.parametrize("entity", minimal_instances(), ids=lambda e: type(e).__name__)
async def test_unknown_field_is_refused(db: Any, entity: Entity) -> None:
    error = await create_err(db, entity.__table__, entity.to_record() | {"junk": 1})
    assert f"Found field 'junk', but no such field exists for table '{entity.__table__}'" in error


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("entity", "field", "bad", "expected"),
    [
        (Agent(name="a", agent_type="t"), "name", 5, "Expected `string` but found `5`"),
        (Tool(name="t", category="c"), "available", "yes", "Expected `bool`"),
        (Task(title="t"), "priority", "high", "Expected `int`"),
        (Task(title="t"), "workflow_id", RecordID("agent", uuid.uuid4()), "record<workflow>"),
        (
            Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="c"),
            "conversation_id",
            "not-a-uuid",
            "Expected `uuid`",
        ),
        (Playbook(name="p"), "tags", [1, 2], "Expected `string`"),
        (Agent(name="a", agent_type="t"), "config", "not an object", "Expected `object`"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Entity) else None,
)
async def test_wrong_type_is_refused(db: Any, entity: Entity, field: str, bad: Any, expected: str) -> None:
    error = await create_err(db, entity.__table__, entity.to_record() | {field: bad})
    assert f"Couldn't coerce value for field `{field}`" in error
    assert expected in error


@pytest.mark.asyncio
async def test_null_is_refused_by_option_fields(db: Any) -> None:
    error = await create_err(db, "agent", Agent(name="a", agent_type="t").to_record() | {"description": Null})
    assert "Expected `none | string` but found `NULL`" in error


@pytest.mark.asyncio
async def test_database_constraints_back_the_model_constraints(db: Any) -> None:
    error = await create_err(db, "agent", Agent(name="a", agent_type="t").to_record() | {"name": ""})
    assert "field must conform to" in error
    error = await create_err(db, "task", Task(title="t").to_record() | {"priority": 5000})
    assert "field must conform to" in error
    error = await create_err(db, "tool", Tool(name="t", category="c").to_record() | {"usage_count": -1})
    assert "field must conform to" in error


# ----------------------------------------------------------------- unique indexes


@pytest.mark.asyncio
async def test_unique_tool_name(db: Any) -> None:
    await create(db, Tool(name="grep", category="text"))
    error = await create_err(db, "tool", Tool(name="grep", category="other").to_record())
    assert "Database index `tool_name` already contains 'grep'" in error


@pytest.mark.asyncio
async def test_unique_username(db: Any) -> None:
    await create(db, User(username="ann", email="ann@example.org"))
    error = await create_err(db, "user", User(username="ann", email="x@example.org").to_record())
    assert "Database index `user_username` already contains 'ann'" in error


@pytest.mark.asyncio
async def test_unique_email_ignores_case(db: Any) -> None:
    await create(db, User(username="ann", email="Ann@Example.org"))
    error = await create_err(db, "user", User(username="bob", email="aNN@example.ORG").to_record())
    assert "Database index `user_email_key` already contains 'ann@example.org'" in error


@pytest.mark.asyncio
async def test_unique_playbook_name_and_version(db: Any) -> None:
    await create(db, Playbook(name="deploy", version=1))
    await create(db, Playbook(name="deploy", version=2))
    await create(db, Playbook(name="other", version=1))
    error = await create_err(db, "playbook", Playbook(name="deploy", version=2).to_record())
    assert "Database index `playbook_name_version` already contains ['deploy', 2]" in error


@pytest.mark.asyncio
async def test_unique_session_token_hash(db: Any) -> None:
    user = User(username="ann", email="ann@example.org")
    await create(db, user)
    content = {
        "user": RecordID("user", user.id),
        "token_hash": "abc",
        "expires_at": now() + timedelta(hours=1),
    }
    await one_ok(db, "CREATE ONLY user_session CONTENT $c", {"c": content})
    error = await one_err(db, "CREATE ONLY user_session CONTENT $c", {"c": content})
    assert "Database index `user_session_token` already contains 'abc'" in error


# ----------------------------------------------------------------- timestamps


@pytest.mark.asyncio
async def test_created_at_is_stable_and_updated_at_moves(db: Any) -> None:
    agent = Agent(name="a", agent_type="t")
    row = await create(db, agent)
    rid = RecordID("agent", agent.id)
    merged = await one_ok(db, "UPDATE ONLY $id MERGE $m", {"id": rid, "m": {"name": "b"}})
    assert merged["created_at"] == row["created_at"]
    assert merged["updated_at"] > row["updated_at"]
    # a whole-content write (the repository's upsert path) keeps created_at too
    content = Agent(id=agent.id, name="c", agent_type="t").to_record()
    replaced = await one_ok(db, "UPDATE ONLY $id CONTENT $c", {"id": rid, "c": content})
    assert replaced["created_at"] == row["created_at"]
    upserted = await one_ok(db, "UPSERT ONLY $id CONTENT $c", {"id": rid, "c": content})
    assert upserted["created_at"] == row["created_at"]
    assert upserted["updated_at"] > replaced["updated_at"]


@pytest.mark.asyncio
async def test_created_at_cannot_be_written(db: Any) -> None:
    agent = Agent(name="a", agent_type="t")
    await create(db, agent)
    error = await one_err(
        db,
        "UPDATE ONLY $id MERGE $m",
        {"id": RecordID("agent", agent.id), "m": {"created_at": now() - timedelta(days=1)}},
    )
    assert "Found changed value for field `created_at`" in error
    assert "but field is readonly" in error


@pytest.mark.asyncio
async def test_password_hash_survives_content_writes(db: Any) -> None:
    user = User(username="ann", email="ann@example.org")
    await create(db, user)
    rid = RecordID("user", user.id)
    await one_ok(db, "UPDATE $id SET password_hash = crypto::argon2::generate($p)", {"id": rid, "p": "pw"})
    content = user.model_copy(update={"display_name": "Ann"}).to_record()
    row = await one_ok(db, "UPDATE ONLY $id CONTENT $c", {"id": rid, "c": content})
    assert row["password_hash"].startswith("$argon2")
    ok = await one_ok(
        db,
        "RETURN crypto::argon2::compare((SELECT VALUE password_hash FROM ONLY $id), $p)",
        {"id": rid, "p": "pw"},
    )
    assert ok is True
    assert "password_hash" not in User.from_record(row).model_dump()


# ----------------------------------------------------------------- references


@pytest.mark.asyncio
async def test_deleting_an_owner_cascades_or_unsets_references(db: Any) -> None:
    workflow = Workflow(name="w")
    agent = Agent(name="a", agent_type="t")
    await create(db, workflow)
    await create(db, agent)
    task = Task(title="t", workflow_id=workflow.id, agent_id=agent.id)
    execution = WorkflowExecution(workflow_id=workflow.id)
    await create(db, task)
    await create(db, execution)
    await one_ok(db, "DELETE $id", {"id": RecordID("workflow", workflow.id)})
    await one_ok(db, "DELETE $id", {"id": RecordID("agent", agent.id)})
    row = await one_ok(db, "SELECT * FROM ONLY $id", {"id": RecordID("task", task.id)})
    back = Task.from_record(row)
    assert back.workflow_id is None
    assert back.agent_id is None
    gone = await one_ok(db, "SELECT * FROM ONLY $id", {"id": RecordID("workflow_execution", execution.id)})
    assert gone is None


# ----------------------------------------------------------------- relations


RELATIONS = [
    ("uses", Agent(name="a", agent_type="t"), Tool(name="t", category="c")),
    ("has_task", Workflow(name="w"), Task(title="t")),
    ("depends_on", Task(title="t1"), Task(title="t2")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("edge", "src", "dst"), RELATIONS, ids=[r[0] for r in RELATIONS])
async def test_relation_endpoints_are_enforced(db: Any, edge: str, src: Entity, dst: Entity) -> None:
    src = src.model_copy(update={"id": uuid.uuid4()})
    dst = dst.model_copy(update={"id": uuid.uuid4()})
    if isinstance(dst, Tool):
        dst = dst.model_copy(update={"name": f"tool-{dst.id}"})
    await create(db, src)
    await create(db, dst)
    a, b = RecordID(src.__table__, src.id), RecordID(dst.__table__, dst.id)
    stranger = User(username=f"u{uuid.uuid4().hex}", email=f"{uuid.uuid4().hex}@example.org")
    await create(db, stranger)
    s = RecordID("user", stranger.id)

    edge_row = await one_ok(db, f"RELATE ONLY $a->{edge}->$b", {"a": a, "b": b})
    assert edge_row["in"] == a
    assert edge_row["out"] == b
    assert "created_at" in edge_row

    # wrong table on either side
    error = await one_err(db, f"RELATE ONLY $a->{edge}->$b", {"a": s, "b": b})
    assert f"Couldn't coerce value for field `in` of `{edge}:" in error
    assert f"Expected `record<{src.__table__}>` but found `user:" in error
    error = await one_err(db, f"RELATE ONLY $a->{edge}->$b", {"a": a, "b": s})
    assert f"Couldn't coerce value for field `out` of `{edge}:" in error

    # ENFORCED: endpoints must exist
    missing = RecordID(dst.__table__, uuid.uuid4())
    error = await one_err(db, f"RELATE ONLY $a->{edge}->$b", {"a": a, "b": missing})
    assert "does not exist" in error

    # one edge per pair, even through plain RELATE
    error = await one_err(db, f"RELATE ONLY $a->{edge}->$b", {"a": a, "b": b})
    assert f"Database index `{edge}_pair` already contains" in error

    # unknown edge fields are refused (SCHEMAFULL), FLEXIBLE props keep nested keys
    error = await one_err(db, f"RELATE ONLY $b->{edge}->$a SET junk = 1", {"a": b, "b": a})
    assert f"no such field exists for table '{edge}'" in error
    row = await one_ok(db, "UPDATE ONLY $e SET props = $p", {"e": edge_row["id"], "p": {"x": {"y": [1]}}})
    assert row["props"] == {"x": {"y": [1]}}


@pytest.mark.asyncio
async def test_graph_traversal_and_edge_cleanup(db: Any) -> None:
    agent = Agent(name="a", agent_type="t")
    tools = [Tool(name=f"t{i}", category="c") for i in range(3)]
    await create(db, agent)
    for tool in tools:
        await create(db, tool)
        await one_ok(
            db,
            "RELATE ONLY $a->uses->$t SET props = $p",
            {"a": RecordID("agent", agent.id), "t": RecordID("tool", tool.id), "p": {"w": 1}},
        )
    rows = await one_ok(db, "SELECT VALUE ->uses->tool.* FROM ONLY $a", {"a": RecordID("agent", agent.id)})
    assert sorted(Tool.from_record(r).name for r in rows) == ["t0", "t1", "t2"]
    await one_ok(db, "DELETE $t", {"t": RecordID("tool", tools[0].id)})
    assert len(await one_ok(db, "SELECT * FROM uses")) == 2


# ----------------------------------------------------------------- full text


@pytest.mark.asyncio
async def test_full_text_matches_stemmed_words(db: Any) -> None:
    conversation = uuid.uuid4()
    texts = [
        "The runner was running through the gardens",
        "Gardening tips for spring",
        "Completely unrelated message about databases",
        "RUNS daily, runs nightly, runs always",
        # fillers: BM25's IDF is 0 when half the documents match, so scores would tie
        "Lunch at noon",
        "Quarterly report attached",
        "Weather is fine",
    ]
    messages = [Message(conversation_id=conversation, role=MessageRole.USER, content=t) for t in texts]
    for message in messages:
        await create(db, message)
    rows = await one_ok(
        db,
        "SELECT *, search::score(1) AS score FROM message WHERE content @1@ $q ORDER BY score DESC",
        {"q": "run"},
    )
    found = {Message.from_record(r).content for r in rows}
    assert found == {texts[0], texts[3]}
    assert all(isinstance(r["score"], float) for r in rows)
    assert rows[0]["score"] > rows[1]["score"] > 0
    assert rows[0]["content"] == texts[3]  # three occurrences beat one
    rows = await one_ok(db, "SELECT * FROM message WHERE content @1@ $q", {"q": "Gardens"})
    assert {r["content"] for r in rows} == {texts[0], texts[1]}


# ----------------------------------------------------------------- pure codec tests


def test_coerce_updates_refuses_unknown_field() -> None:
    with pytest.raises(ValueError, match="nope"):
        Agent.coerce_updates({"nope": 1})


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at", "version"])
def test_coerce_updates_refuses_readonly_and_lock_fields(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Agent.coerce_updates({field: 1})


def test_coerce_updates_lock_field_of_playbook_is_revision() -> None:
    assert Playbook.coerce_updates({"version": 2}) == {"version": 2}
    with pytest.raises(ValueError, match="revision"):
        Playbook.coerce_updates({"revision": 2})


def test_coerce_updates_bad_type_names_field_not_value() -> None:
    with pytest.raises(ValueError, match="priority") as info:
        Task.coerce_updates({"priority": "s3cr3t-value"})
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(ValueError, match="priority"):
        Task.coerce_updates({"priority": 10_000})
    with pytest.raises(ValueError, match="email"):
        User.coerce_updates({"email": "not-an-email"})
    with pytest.raises(ValueError, match="name"):
        Agent.coerce_updates({"name": ""})


def test_coerce_updates_converts_enums_references_and_nested() -> None:
    wf = uuid.uuid4()
    out = Task.coerce_updates({"status": "completed", "workflow_id": wf, "agent_id": None, "priority": "3"})
    assert out == {
        "status": "completed",
        "workflow_id": RecordID("workflow", wf),
        "agent_id": None,
        "priority": 3,
    }
    assert type(out["status"]) is str
    assert Agent.coerce_updates({"status": AgentStatus.ACTIVE}) == {"status": "active"}
    assert Task.coerce_updates({"workflow_id": RecordID("workflow", wf)}) == {
        "workflow_id": RecordID("workflow", wf)
    }
    with pytest.raises(ValueError, match="workflow_id"):
        Task.coerce_updates({"workflow_id": RecordID("agent", wf)})
    # None nested inside an object is sent as NULL, or the key would vanish
    tool = Tool.coerce_updates({"capabilities": [{"name": "c"}]})
    assert tool == {"capabilities": [{"name": "c", "description": Null, "parameters": {}}]}
    assert Agent.coerce_updates({"config.x": None}) == {"config.x": Null}
    assert Agent.coerce_updates({"description": None}) == {"description": None}


def test_coerce_updates_dotted_keys_through_dict_fields() -> None:
    out = Agent.coerce_updates({"config.model": "gpt", "state.deep.er": {"s": TaskStatus.FAILED}})
    assert out == {"config.model": "gpt", "state.deep.er": {"s": "failed"}}
    for bad in ["name.x", "config.bad-key", "config..x", "config.1x", "nope.x"]:
        with pytest.raises(ValueError):
            Agent.coerce_updates({bad: 1})


def test_field_path_ok() -> None:
    assert Agent.field_path_ok("name")
    assert Agent.field_path_ok("config.model")
    assert Agent.field_path_ok("config.model.provider")
    assert Agent.field_path_ok("created_at")
    assert not Agent.field_path_ok("name.x")
    assert not Agent.field_path_ok("junk")
    assert not Agent.field_path_ok("config.bad key")
    assert not Agent.field_path_ok("")
    assert Task.field_path_ok("workflow_id")
    assert "password_hash" not in User.field_names()
    assert User.field_names() >= {"id", "username", "email", "created_at"}


def test_models_are_strict() -> None:
    with pytest.raises(ValueError):
        Agent(name="a", agent_type="t", junk=1)  # type: ignore[call-arg]
    agent = Agent(name="a", agent_type="t")
    with pytest.raises(ValueError):
        agent.status = "weird"  # type: ignore[assignment]
    naive = Tool(name="t", category="c", last_used_at=datetime(2024, 1, 1))
    assert naive.last_used_at == datetime(2024, 1, 1, tzinfo=UTC)
