"""Injection-proof by construction, fuzzed against the real engine.

Hypothesis feeds hostile text (quotes, backticks, ⟨⟩, ``$auth``, ``;``, comments,
SurrealQL keywords and statements, unicode, NUL) into every place a caller can put
text:

* as **values** (entity fields, nested dict keys and values, filter values, search
  text, ids given as strings) — they must round-trip exactly or be refused with
  ``ValidationError``, and match exactly the rows Python says they match;
* as **identifiers** (filter keys, lookups, nested keys, ``order_by``, update keys) —
  anything that is not a model field is refused with ``ValidationError`` before any
  I/O (``count_requests() == 0``).

After every example the schema (``INFO FOR DB``) and the contents of every table
are what they were before it: no hostile string ever became SurrealQL.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentical_repo import Database, PaginationParams, Repositories, ValidationError
from agentical_repo.models import Agent, Message, MessageRole
from agentical_repo.repositories.messages import MAX_SEARCH_LENGTH

pytestmark = pytest.mark.slow

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Pieces that would do damage if any of them were ever pasted into SurrealQL text.
FRAGMENTS = [
    "'",
    '"',
    "`",
    "⟨",
    "⟩",
    "\\",
    ";",
    "--",
    "/*",
    "*/",
    "#",
    "//",
    "$auth",
    "$auth.id",
    "$value",
    "$this",
    "$parent",
    "$before",
    "\x00",
    "\r\n",
    "\u2028",
    "\u202e",
    "\ufeff",
    "😀",
    "ß",
    "İ",
    "NONE",
    "NULL",
    "true",
    " OR 1=1",
    "'; DELETE agent; --",
    '"; REMOVE TABLE agent; /*',
    "`; REMOVE DATABASE x; `",
    "⟩; DEFINE USER x ON ROOT PASSWORD 'p' ROLES OWNER; ⟨",
    "} ; UPDATE agent SET name = 'pwned'; {",
    ") RETURN (SELECT * FROM user",
    "INFO FOR DB",
    "type::table('agent')",
    "<string>",
    "agent:⟨x⟩",
    "u'00000000-0000-0000-0000-000000000000'",
    "r'agent:1'",
    "BEGIN TRANSACTION; COMMIT TRANSACTION;",
]

hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=0, max_size=6).map(
    "".join
)
hostile_nonempty = hostile.filter(bool)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(hostile, inner, max_size=3)),
    max_leaves=8,
)
free_dict = st.dictionaries(hostile, json_value, max_size=4)

# Tables whose contents are compared around every example.
TABLES = ("agent", "tool", "workflow", "task", "playbook", "user", "user_session", "message", "_migration")


async def snapshot(db: Database) -> tuple[Any, dict[str, Any]]:
    """The schema and every table's full contents, in one request."""
    text = "INFO FOR DB; " + "; ".join(f"SELECT * FROM {t} ORDER BY id" for t in TABLES)
    results = await db.query(text)
    info, rows = results[0], results[1:]
    return info, dict(zip(TABLES, rows, strict=True))


@pytest.fixture
async def seeded(db: Database) -> tuple[Database, Repositories, Agent]:
    """A database with one sentinel agent and one sentinel message that must never change."""
    repos = Repositories(db)
    sentinel = await repos.agents.create(
        Agent(name="sentinel", agent_type="guard", config={"k": "v"}, state={"s": 1})
    )
    await repos.messages.create(
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="sentinel message")
    )
    return db, repos, sentinel


async def refused_before_io(db: Database, call: Any) -> ValidationError:
    """Run ``call()``; it must raise ValidationError without sending anything."""
    with db.count_requests() as counter, pytest.raises(ValidationError) as info:
        await call()
    assert counter.count == 0, "refused input still reached the database"
    return info.value


# ------------------------------------------------------------------ values


@FUZZ
@given(
    name=hostile_nonempty,
    agent_type=hostile_nonempty,
    description=st.one_of(st.none(), hostile),
    config=free_dict,
    state=free_dict,
)
async def test_hostile_values_round_trip_and_touch_nothing_else(
    seeded: tuple[Database, Repositories, Agent],
    name: str,
    agent_type: str,
    description: str | None,
    config: dict[str, Any],
    state: dict[str, Any],
) -> None:
    db, repos, sentinel = seeded
    before = await snapshot(db)
    try:
        agent = Agent(name=name[:256], agent_type=agent_type[:128], description=description)
        agent.config, agent.state = config, state
    except ValueError:  # the model's own bounds (pydantic's ValidationError is a ValueError)
        return
    stored = await repos.agents.create(agent)
    try:
        fetched = await repos.agents.get(agent.id)
        for got in (stored, fetched):
            assert got.name == agent.name
            assert got.agent_type == agent.agent_type
            assert got.description == description
            assert got.config == config
            assert got.state == state

        # the same text as a partial update (top level and through a nested key)
        updated = await repos.agents.update(agent.id, {"description": name, "config.inner": config})
        assert updated.description == name
        assert updated.config == {**config, "inner": config}

        # as filter values: exactly the rows Python says match (the sentinel is the other row)
        rows = [await repos.agents.get(sentinel.id), updated]

        async def check(filters: dict[str, Any], predicate: Any) -> None:
            expected = {r.id for r in rows if predicate(r)}
            assert {a.id for a in await repos.agents.list(filters)} == expected, filters

        await check({"name": agent.name}, lambda r: r.name == agent.name)
        await check({"name__in": [agent.name, agent_type]}, lambda r: r.name in (agent.name, agent_type))
        await check({"agent_type__ne": agent.agent_type}, lambda r: r.agent_type != agent.agent_type)
        await check({"name__startswith": name[:3]}, lambda r: r.name.startswith(name[:3]))
        await check({"name__endswith": name[-3:]}, lambda r: r.name.endswith(name[-3:]))
        await check({"description": name}, lambda r: r.description == name)
        for key, value in list(config.items())[:2]:
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                await check({f"config.{key}": value}, lambda r, k=key, v=value: r.config.get(k) == v)
    finally:
        await repos.agents.delete(agent.id)
    assert await snapshot(db) == before


@FUZZ
@given(text=hostile, metadata=free_dict)
async def test_hostile_message_content_and_metadata(
    seeded: tuple[Database, Repositories, Agent], text: str, metadata: dict[str, Any]
) -> None:
    db, repos, _ = seeded
    before = await snapshot(db)
    message = Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content=text, metadata=metadata)
    stored = await repos.messages.create(message)
    try:
        assert (stored.content, stored.metadata) == (text, metadata)
        fetched = await repos.messages.get(message.id)
        assert (fetched.content, fetched.metadata) == (text, metadata)
        assert [m.id for m in await repos.messages.list({"content": text})] == [message.id] or (
            text == "sentinel message"
        )
        # as search text: either refused (blank after analysis) or a ranked list of stored messages
        try:
            found = await repos.messages.search(text, limit=5)
        except ValidationError:
            assert not text.strip() or len(text) > MAX_SEARCH_LENGTH
        else:
            assert text.strip()
            stored_ids = {m.id for m in await repos.messages.list()}
            assert {m.id for m in found} <= stored_ids
            if not any(ch.isalnum() for ch in text):
                # punctuation is indexed as tokens of its own, so it may match this message,
                # but it shares no token with the sentinel: a search never matches everything
                sentinel = await repos.messages.find_one({"content": "sentinel message"})
                assert sentinel is not None
                assert sentinel.id not in {m.id for m in found}, "a wordless search matched every row"
    finally:
        await repos.messages.delete(message.id)
    assert await snapshot(db) == before


@FUZZ
@given(raw_id=st.one_of(hostile, st.uuids().map(str), st.uuids().map(lambda u: u.hex)))
async def test_ids_given_as_hostile_strings(
    seeded: tuple[Database, Repositories, Agent], raw_id: str
) -> None:
    db, repos, sentinel = seeded
    before = await snapshot(db)
    try:
        parsed: uuid.UUID | None = uuid.UUID(raw_id)
    except ValueError:
        parsed = None
    calls = [
        lambda: repos.agents.get_by_id(raw_id),
        lambda: repos.agents.delete(raw_id),
        lambda: repos.agents.update(raw_id, {"description": "x"}),
        lambda: repos.agents.list({"id": raw_id}),
    ]
    if parsed is None:
        for call in calls:
            err = await refused_before_io(db, call)
            assert "UUID" in str(err)
            if len(raw_id) >= 4:
                assert raw_id not in str(err)
    else:
        assert await repos.agents.get_by_id(raw_id) == (sentinel if parsed == sentinel.id else None)
        assert await repos.agents.list({"id": raw_id}) == ([sentinel] if parsed == sentinel.id else [])
    assert await snapshot(db) == before


# ------------------------------------------------------------------ identifiers

ident_like = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z")
hostile_ident = st.one_of(hostile, ident_like, st.sampled_from(["name", "config", "id", "version", "state"]))


@FUZZ
@given(key=hostile_ident, lookup=st.one_of(st.sampled_from(["eq", "gte", "in", "isnull"]), hostile))
async def test_hostile_identifiers_are_refused_before_io(
    seeded: tuple[Database, Repositories, Agent], key: str, lookup: str
) -> None:
    db, repos, sentinel = seeded
    before = await snapshot(db)
    agents = repos.agents
    legit = Agent.field_path_ok(key)

    async def try_or_refused(call: Any, ok: bool | None = None) -> None:
        """A legit identifier may run (and may be refused by value checks); others never reach I/O."""
        if legit if ok is None else ok:
            with contextlib.suppress(ValidationError):
                await call()
        else:
            err = await refused_before_io(db, call)
            assert err.context.get("argument") in {"filters", "order_by", "filter field", "order_by field"}

    await try_or_refused(lambda: agents.list({key: 1}))
    await try_or_refused(lambda: agents.count({f"config.{key}": 1}), ok=Agent.field_path_ok(f"config.{key}"))
    await try_or_refused(lambda: agents.list(pagination=PaginationParams(order_by=(key,))))
    await try_or_refused(lambda: agents.list(pagination=PaginationParams(order_by=("-" + key,))))
    await try_or_refused(lambda: agents.paginate(order_by=key))

    # a lookup suffix: only the fixed lookup names are accepted
    from agentical_repo.surql.filters import LOOKUPS

    if lookup not in LOOKUPS:
        await refused_before_io(db, lambda: agents.list({f"name__{lookup}": 1}))
    # update keys: only model fields (or keys below dict fields), never the lock or id
    if not legit or key in {"id", "version", "created_at", "updated_at"}:
        await refused_before_io(db, lambda: agents.update(sentinel.id, {key: "x"}))
        await refused_before_io(db, lambda: agents.update_many({"name": "sentinel"}, {key: "x"}))
    await refused_before_io(db, lambda: agents.update(sentinel.id, {f"name.{key}": "x"}))
    assert await snapshot(db) == before
