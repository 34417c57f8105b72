"""``BaseRepository`` on real entities (Agent, Tool): every method's normal, missing and bad-input paths.

Bad input must raise ``ValidationError`` before any I/O: each such case runs inside
``db.count_requests()`` and asserts that nothing was sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentical_repo import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    PaginationParams,
    Repositories,
    ValidationError,
)
from agentical_repo.models import Agent, AgentStatus, Capability, Tool
from agentical_repo.repositories.base import as_uuid


def agent(name: str = "a", **kw: Any) -> Agent:
    return Agent(name=name, agent_type=kw.pop("agent_type", "llm"), **kw)


def tool(name: str, **kw: Any) -> Tool:
    return Tool(name=name, category=kw.pop("category", "c"), **kw)


async def refused_before_io(
    repos: Repositories, call: Callable[[], Awaitable[Any]], match: str | None = None
) -> str:
    with repos.db.count_requests() as c, pytest.raises(ValidationError, match=match or None) as info:
        await call()
    assert c.count == 0, "a request was sent for invalid input"
    return str(info.value)


# --------------------------------------------------------------------------- create / get


async def test_create_returns_stored_entity_with_database_timestamps(repos: Repositories) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    a = agent("alpha", description="d", config={"model": {"name": "m", "t": 0.5}}, state={"k": [1, 2]})
    stored = await repos.agents.create(a)
    assert stored.id == a.id
    assert stored.name == "alpha"
    assert stored.config == {"model": {"name": "m", "t": 0.5}}
    assert stored.created_at is not None
    assert stored.updated_at is not None
    assert before < stored.created_at < datetime.now(UTC) + timedelta(seconds=1)
    assert stored.status is AgentStatus.IDLE
    assert stored.version == 1
    assert await repos.agents.get(a.id) == stored
    assert await repos.agents.get(str(a.id)) == stored  # string UUIDs are accepted


async def test_create_tool_with_capabilities_round_trips(repos: Repositories) -> None:
    t = tool("search", capabilities=[Capability(name="web", parameters={"q": "str"})])
    stored = await repos.tools.create(t)
    assert stored.capabilities == [Capability(name="web", parameters={"q": "str"})]
    assert stored.available is True
    assert await repos.tools.get(t.id) == stored


async def test_create_duplicate_id_raises_already_exists(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    with pytest.raises(AlreadyExistsError):
        await repos.agents.create(agent("other", id=a.id))
    assert (await repos.agents.get(a.id)).name == "a"


async def test_get_missing(repos: Repositories) -> None:
    missing = uuid.uuid4()
    assert await repos.agents.get_by_id(missing) is None
    with pytest.raises(NotFoundError) as info:
        await repos.agents.get(missing)
    assert info.value.context == {"table": "agent", "id": str(missing)}


@pytest.mark.parametrize("bad", ["not-a-uuid", "", 123, None, 1.5, b"\x00" * 16, "agent:1"])
async def test_invalid_ids_refused_before_io(repos: Repositories, bad: Any) -> None:
    for call in (
        lambda: repos.agents.get(bad),
        lambda: repos.agents.get_by_id(bad),
        lambda: repos.agents.delete(bad),
        lambda: repos.agents.update(bad, {"name": "x"}),
    ):
        message = await refused_before_io(repos, call, "must be a UUID")
        assert repr(bad) not in message or bad in ("", None)


async def test_wrong_entity_type_refused_before_io(repos: Repositories) -> None:
    t = tool("t")
    await refused_before_io(repos, lambda: repos.agents.create(t), "must be a Agent")  # type: ignore[arg-type]
    await refused_before_io(repos, lambda: repos.agents.upsert(t))  # type: ignore[arg-type]
    await refused_before_io(repos, lambda: repos.agents.create({"name": "x"}))  # type: ignore[arg-type]
    await refused_before_io(repos, lambda: repos.tools.create_many([tool("ok"), agent()]))  # type: ignore[list-item]
    assert await repos.tools.count() == 0


# --------------------------------------------------------------------------- update


async def test_update_sets_fields_bumps_version_and_updated_at(repos: Repositories) -> None:
    created = await repos.agents.create(agent(config={"model": {"x": 1}}))
    await asyncio.sleep(0.01)
    updated = await repos.agents.update(
        created.id, {"status": AgentStatus.ACTIVE, "description": "now", "config.model.y": 2}
    )
    assert updated.status is AgentStatus.ACTIVE
    assert updated.description == "now"
    assert updated.config == {"model": {"x": 1, "y": 2}}  # dotted keys merge, siblings kept
    assert updated.version == 2
    assert updated.created_at == created.created_at  # READONLY in the schema
    assert updated.updated_at is not None
    assert created.updated_at is not None
    assert updated.updated_at > created.updated_at
    assert await repos.agents.get(created.id) == updated
    # a string status is coerced through the enum
    assert (await repos.agents.update(created.id, {"status": "busy"})).status is AgentStatus.BUSY


async def test_update_to_none_clears_optional_field(repos: Repositories) -> None:
    created = await repos.agents.create(agent(description="x"))
    assert (await repos.agents.update(created.id, {"description": None})).description is None


async def test_update_missing_raises_not_found(repos: Repositories) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError) as info:
        await repos.agents.update(missing, {"name": "x"})
    assert info.value.context["id"] == str(missing)
    assert await repos.agents.count() == 0  # no upsert happened


async def test_optimistic_locking(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    v2 = await repos.agents.update(a.id, {"name": "b"}, expected_version=1)
    assert v2.version == 2
    with pytest.raises(ConflictError) as info:
        await repos.agents.update(a.id, {"name": "stale"}, expected_version=1)
    assert info.value.code == "stale_version"
    assert not info.value.retryable
    stored = await repos.agents.get(a.id)
    assert stored.name == "b"
    assert stored.version == 2
    v3 = await repos.agents.update(a.id, {"name": "c"}, expected_version=2)
    assert v3.version == 3
    with pytest.raises(NotFoundError):  # missing wins over stale
        await repos.agents.update(uuid.uuid4(), {"name": "x"}, expected_version=1)


async def test_concurrent_updates_with_the_same_expected_version_one_wins(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    results = await asyncio.gather(
        *(repos.agents.update(a.id, {"name": f"n{i}"}, expected_version=1) for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Agent)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, Agent))
    assert (await repos.agents.get(a.id)).version == 2


@pytest.mark.parametrize(
    ("updates", "match"),
    [
        ({"nope": 1}, "unknown field"),
        ({"id": str(uuid.uuid4())}, "read-only"),
        ({"created_at": datetime.now(UTC)}, "read-only"),
        ({"updated_at": datetime.now(UTC)}, "read-only"),
        ({"version": 9}, "lock counter"),
        ({"name": 5}, "invalid value"),
        ({"name": ""}, "invalid value"),
        ({"status": "weird"}, "invalid value"),
        ({"name.x": "y"}, "no nested keys"),
        ({"config.bad key": 1}, ""),
        ({"na me": 1}, ""),
        ({}, "non-empty"),
    ],
)
async def test_bad_updates_refused_before_io(
    repos: Repositories, updates: dict[str, Any], match: str
) -> None:
    a = await repos.agents.create(agent())
    message = await refused_before_io(repos, lambda: repos.agents.update(a.id, updates), match)
    if updates and "name" in updates and updates["name"] == 5:
        assert "5" not in message.replace("agent", "")
    assert (await repos.agents.get(a.id)).version == 1


async def test_bad_expected_version_refused_before_io(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    await refused_before_io(repos, lambda: repos.agents.update(a.id, {"name": "x"}, expected_version="1"))  # type: ignore[arg-type]
    await refused_before_io(repos, lambda: repos.agents.update(a.id, {"name": "x"}, expected_version=True))
    await refused_before_io(repos, lambda: repos.agents.update(a.id, ["name"]))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- delete / upsert


async def test_delete(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    keep = await repos.agents.create(agent("keep"))
    assert await repos.agents.delete(a.id) is True
    assert await repos.agents.delete(a.id) is False
    assert await repos.agents.get_by_id(a.id) is None
    assert await repos.agents.get_by_id(keep.id) == keep


async def test_upsert_creates_then_replaces_keeping_created_at(repos: Repositories) -> None:
    t = tool("up", category="first")
    created = await repos.tools.upsert(t)
    assert created.category == "first"
    assert created.created_at is not None
    await asyncio.sleep(0.01)
    replaced = await repos.tools.upsert(t.model_copy(update={"category": "second", "description": None}))
    assert replaced.category == "second"
    assert replaced.created_at == created.created_at
    assert replaced.updated_at is not None
    assert created.updated_at is not None
    assert replaced.updated_at > created.updated_at
    assert await repos.tools.count() == 1


async def test_upsert_respects_unique_index(repos: Repositories) -> None:
    await repos.tools.create(tool("taken"))
    with pytest.raises(AlreadyExistsError):
        await repos.tools.upsert(tool("taken"))


# --------------------------------------------------------------------------- queries


async def _seed_agents(repos: Repositories) -> list[Agent]:
    rows = [
        agent("carol", agent_type="llm", status=AgentStatus.ACTIVE, config={"model": "gpt"}),
        agent("alice", agent_type="llm", status=AgentStatus.IDLE, config={"model": "claude"}),
        agent("bob", agent_type="rule", status=AgentStatus.ACTIVE),
        agent("dave", agent_type="rule", status=AgentStatus.BUSY, description="x"),
    ]
    out = []
    for r in rows:
        out.append(await repos.agents.create(r))
    return out


async def test_list_filters_and_pagination_ordering(repos: Repositories) -> None:
    await _seed_agents(repos)
    by_name = await repos.agents.list(pagination=PaginationParams(order_by=("name",)))
    assert [a.name for a in by_name] == ["alice", "bob", "carol", "dave"]
    desc = await repos.agents.list(pagination=PaginationParams(order_by="-name"))
    assert [a.name for a in desc] == ["dave", "carol", "bob", "alice"]
    page2 = await repos.agents.list(pagination=PaginationParams(limit=2, offset=2, order_by=("name",)))
    assert [a.name for a in page2] == ["carol", "dave"]
    two_keys = await repos.agents.list(pagination=PaginationParams(order_by=("agent_type", "-name")))
    assert [a.name for a in two_keys] == ["carol", "alice", "dave", "bob"]
    newest_first = await repos.agents.list()  # default: -created_at
    assert [a.name for a in newest_first] == ["dave", "bob", "alice", "carol"]
    active = await repos.agents.list({"status": AgentStatus.ACTIVE}, PaginationParams(order_by=("name",)))
    assert [a.name for a in active] == ["bob", "carol"]
    nested = await repos.agents.list({"config.model": "gpt"})
    assert [a.name for a in nested] == ["carol"]
    assert [a.name for a in await repos.agents.list({"name__in": ["bob", "zed"]})] == ["bob"]
    assert [a.name for a in await repos.agents.list({"description__isnull": False})] == ["dave"]
    assert await repos.agents.list({"name": "nobody"}) == []


async def test_find_one_count_exists(repos: Repositories) -> None:
    await _seed_agents(repos)
    found = await repos.agents.find_one({"agent_type": "rule", "status": "busy"})
    assert found is not None
    assert found.name == "dave"
    assert await repos.agents.find_one({"name": "nobody"}) is None
    assert await repos.agents.count() == 4
    assert await repos.agents.count({"agent_type": "llm"}) == 2
    assert await repos.agents.count({"name": "nobody"}) == 0
    assert await repos.agents.exists({"name__startswith": "ca"}) is True
    assert await repos.agents.exists({"name": "nobody"}) is False
    assert await repos.tools.count() == 0  # empty table: no row, not an error


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.agents.list({"nope": 1}),
        lambda r: r.agents.list({"name__regex": "x"}),
        lambda r: r.agents.list({"name; DROP": 1}),
        lambda r: r.agents.list(pagination={"limit": 5}),
        lambda r: r.agents.list(pagination=PaginationParams(order_by=("nope",))),
        lambda r: r.agents.count({"name__in": "abc"}),
        lambda r: r.agents.exists({"status__between": [1]}),
        lambda r: r.agents.find_one({"name__startswith": 5}),
        lambda r: r.agents.find_one("name"),
        lambda r: r.agents.paginate(limit=0),
        lambda r: r.agents.paginate(limit=1001),
        lambda r: r.agents.paginate(limit=True),
        lambda r: r.agents.paginate(order_by=["-nope"]),
        lambda r: r.agents.paginate(after="not-a-cursor"),
    ],
)
async def test_bad_query_input_refused_before_io(repos: Repositories, call: Any) -> None:
    await refused_before_io(repos, lambda: call(repos))


def test_pagination_params_limits() -> None:
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"extra": 1}):
        with pytest.raises(ValueError):
            PaginationParams(**bad)
    assert PaginationParams(order_by="name").order_by == ("name",)


# --------------------------------------------------------------------------- bulk


class CountingSource:
    """A generator wrapper that records how many items were pulled but not yet sent."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0
        self.sent = 0
        self.max_outstanding = 0

    def __iter__(self) -> Iterator[Tool]:
        for i in range(self.n):
            self.pulled += 1
            self.max_outstanding = max(self.max_outstanding, self.pulled - self.sent)
            yield tool(f"gen-{i:04d}")

    def on_send(self, text: str) -> None:
        if "INSERT INTO" in text:
            self.sent = self.pulled


async def test_create_many_consumes_a_generator_chunk_by_chunk(
    repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CountingSource(230)
    real = repos.db.client.query_raw
    sends: list[int] = []

    async def recording(text: str, vars: dict[str, Any] | None = None) -> Any:
        source.on_send(text)
        sends.append(source.pulled)
        return await real(text, vars)

    monkeypatch.setattr(repos.db.client, "query_raw", recording)
    gen = iter(source)  # a one-shot iterator: the repository cannot len() or re-read it
    with repos.db.count_requests() as c:
        created = await repos.tools.create_many(gen, chunk_size=50)
    monkeypatch.undo()
    assert created == 230
    assert c.count == 5  # ceil(230 / 50) INSERTs
    assert sends == [50, 100, 150, 200, 230]  # pulled only one chunk ahead of each send
    assert source.max_outstanding <= 50
    assert await repos.tools.count() == 230


async def test_create_many_default_chunk_and_empty_input(repos: Repositories) -> None:
    with repos.db.count_requests() as c:
        assert await repos.agents.create_many([]) == 0
        assert await repos.agents.create_many(iter(())) == 0
    assert c.count == 0
    with repos.db.count_requests() as c:
        assert await repos.agents.create_many(agent(f"n{i}") for i in range(250)) == 250
    assert c.count == 3  # default chunk of 100
    stored = await repos.agents.list(pagination=PaginationParams(limit=1))
    assert stored[0].created_at is not None


async def test_create_many_is_not_atomic_across_chunks(repos: Repositories) -> None:
    taken = await repos.tools.create(tool("gen-0007"))
    with pytest.raises(AlreadyExistsError):
        await repos.tools.create_many((tool(f"gen-{i:04d}") for i in range(20)), chunk_size=5)
    # chunk 0 (0..4) was written; chunk 1 (5..9) holds the duplicate and failed whole; nothing after
    names = sorted(t.name for t in await repos.tools.list(pagination=PaginationParams(limit=100)))
    assert names == [f"gen-{i:04d}" for i in range(5)] + [taken.name]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.tools.create_many([], chunk_size=0),
        lambda r: r.tools.create_many([], chunk_size=5001),
        lambda r: r.tools.create_many([], chunk_size=True),
        lambda r: r.tools.create_many("abc"),
        lambda r: r.tools.create_many({"name": "x"}),
        lambda r: r.agents.update_many({}, {"name": "x"}),
        lambda r: r.agents.update_many(None, {"name": "x"}),
        lambda r: r.agents.update_many("name", {"name": "x"}),
        lambda r: r.agents.update_many({"name": "a"}, {}),
        lambda r: r.agents.update_many({"name": "a"}, {"version": 3}),
        lambda r: r.agents.update_many({"name": "a"}, {"nope": 3}),
        lambda r: r.agents.update_many({"name": "a"}, {"status": "weird"}),
        lambda r: r.agents.update_many({"nope": "a"}, {"name": "x"}),
        lambda r: r.agents.delete_many({}),
        lambda r: r.agents.delete_many(None),
        lambda r: r.agents.delete_many({"nope": 1}),
    ],
)
async def test_bad_bulk_input_refused_before_io(repos: Repositories, call: Any) -> None:
    await repos.agents.create(agent())
    await refused_before_io(repos, lambda: call(repos))
    assert await repos.agents.count() == 1


async def test_update_many_and_delete_many(repos: Repositories) -> None:
    await _seed_agents(repos)
    assert await repos.agents.update_many({"agent_type": "rule"}, {"status": AgentStatus.DISABLED}) == 2
    rules = await repos.agents.list({"agent_type": "rule"})
    assert {a.status for a in rules} == {AgentStatus.DISABLED}
    assert {a.version for a in rules} == {2}  # the lock counter moves with bulk updates too
    assert await repos.agents.update_many({"name": "nobody"}, {"description": "x"}) == 0
    assert await repos.agents.update_many(None, {"description": "all"}, all=True) == 4
    assert await repos.agents.count({"description": "all"}) == 4
    assert await repos.agents.delete_many({"agent_type": "llm"}) == 2
    assert await repos.agents.delete_many({"agent_type": "llm"}) == 0
    assert await repos.agents.count() == 2
    assert await repos.agents.delete_many({}, all=True) == 2
    assert await repos.agents.count() == 0


def test_as_uuid() -> None:
    u = uuid.uuid4()
    assert as_uuid(u) is u
    assert as_uuid(str(u)) == u
    from surrealdb import RecordID

    assert as_uuid(RecordID("agent", u)) == u
    with pytest.raises(ValidationError, match="agent_id must be a UUID"):
        as_uuid(RecordID("agent", "text"), "agent_id")


# --------------------------------------------------------------------------- no silent misuse


@pytest.mark.parametrize("flag", ["no", "yes", 1, 0, None, [True]])
async def test_all_must_be_the_bool_itself(repos: Repositories, flag: Any) -> None:
    await repos.agents.create(agent())
    for call in (
        lambda: repos.agents.delete_many({}, all=flag),
        lambda: repos.agents.delete_many({"name": "a"}, all=flag),
        lambda: repos.agents.update_many(None, {"description": "x"}, all=flag),
    ):
        message = await refused_before_io(repos, call, "all must be True or False")
        assert repr(flag) not in message
    assert await repos.agents.count() == 1
    assert await repos.agents.delete_many({}, all=True) == 1


async def test_dotted_update_through_a_scalar_is_an_error_and_writes_nothing(repos: Repositories) -> None:
    a = await repos.agents.create(agent(config={"model": "gpt", "list": [1, 2], "sub": {"k": 1}}))
    for key in ("config.model.x", "config.list.x", "config.model.x.y"):
        with pytest.raises(ValidationError) as info:
            await repos.agents.update(a.id, {key: 1, "description": "not kept either"})
        assert info.value.code == "not_an_object"
        assert info.value.context == {"argument": "updates", "table": "agent", "key": key, "id": str(a.id)}
        assert key in str(info.value)
        with pytest.raises(ValidationError) as info:  # the version-checked block refuses it too
            await repos.agents.update(a.id, {key: 1}, expected_version=1)
        assert info.value.code == "not_an_object"
    with pytest.raises(ValidationError) as info:
        await repos.agents.update_many({"name": "a"}, {"config.model.x": 1})
    assert info.value.context["key"] == "config.model.x"
    stored = await repos.agents.get(a.id)
    assert stored.config == {"model": "gpt", "list": [1, 2], "sub": {"k": 1}}
    assert (stored.description, stored.version) == (None, 1)
    # objects, missing keys and nulls on the path are fine
    updated = await repos.agents.update(a.id, {"config.sub.k2": 2, "config.new.deep": 3})
    assert updated.config["sub"] == {"k": 1, "k2": 2}
    assert updated.config["new"] == {"deep": 3}


async def test_record_id_of_another_table_is_refused_not_retargeted(repos: Repositories) -> None:
    from surrealdb import RecordID

    a = await repos.agents.create(agent())
    foreign = RecordID("tool", a.id)  # same UUID, wrong table
    for call in (
        lambda: repos.agents.get(foreign),  # type: ignore[arg-type]
        lambda: repos.agents.get_by_id(foreign),  # type: ignore[arg-type]
        lambda: repos.agents.update(foreign, {"name": "x"}),  # type: ignore[arg-type]
        lambda: repos.agents.delete(foreign),  # type: ignore[arg-type]
        lambda: repos.agents.add_tool(a.id, RecordID("agent", a.id)),  # type: ignore[arg-type]
    ):
        message = await refused_before_io(repos, call, "must be an id of table")
        assert str(a.id) not in message
    own = RecordID("agent", a.id)
    assert (await repos.agents.get(own)).name == "a"  # type: ignore[arg-type]  # its own table is fine
    assert await repos.agents.delete(a.id) is True


async def test_expected_version_without_a_version_field_is_refused_before_io(repos: Repositories) -> None:
    from agentical_repo.models import ToolUsage
    from agentical_repo.repositories.base import BaseRepository

    class Usages(BaseRepository[ToolUsage]):
        model = ToolUsage

    usages = Usages(repos.db)
    t = await repos.tools.create(tool("t"))
    usage = await usages.create(ToolUsage(tool_id=t.id))
    message = await refused_before_io(
        repos, lambda: usages.update(usage.id, {"success": False}, expected_version=1), "no version field"
    )
    assert "ToolUsage" in message
    assert (await usages.update(usage.id, {"success": False})).success is False
