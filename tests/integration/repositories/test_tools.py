"""ToolRepository on the real engine: lookups, capabilities, usage tracking and statistics.

``track_usage`` is the hot path: 200 concurrent calls must lose nothing. Every graph
and statistics read is proven to be ONE request; every refusal of bad input sends
nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from typing import Any

import pytest
from conftest import refused
from factories import bad_ids, make_tool
from surrealdb import RecordID

from agentical_repo import (
    AlreadyExistsError,
    Database,
    NotFoundError,
    PaginationParams,
    Repositories,
    TransactionError,
)
from agentical_repo.models import Agent, Capability, Tool, ToolUsage, ToolUsageStats
from agentical_repo.repositories.cache import CacheConfig
from agentical_repo.surql.queries import tools as tool_queries

BAD_IDS = bad_ids("tool")


async def usage_rows(db: Database, tool_id: uuid.UUID | None = None) -> int:
    if tool_id is None:
        rows = (await db.query("SELECT count() AS n FROM tool_usage GROUP ALL"))[0]
    else:
        rows = (
            await db.query(
                "SELECT count() AS n FROM tool_usage WHERE tool_id = $t GROUP ALL",
                {"t": RecordID("tool", tool_id)},
            )
        )[0]
    return int(rows[0]["n"]) if rows else 0


# ---------------------------------------------------------------- lookups


async def test_get_by_category_ordered_by_name(repos: Repositories, db: Database) -> None:
    for name in ["web", "bing", "arxiv"]:
        await make_tool(repos, name, category="search")
    await make_tool(repos, "calc", category="math")
    with db.count_requests() as c:
        found = await repos.tools.get_by_category("search")
    assert c.count == 1
    assert [t.name for t in found] == ["arxiv", "bing", "web"]
    assert await repos.tools.get_by_category("nothing-here") == []


async def test_get_by_category_returns_all_rows_or_a_page(repos: Repositories) -> None:
    await repos.tools.create_many(Tool(name=f"t{i:03d}", category="bulk") for i in range(60))
    assert len(await repos.tools.get_by_category("bulk")) == 60
    page = await repos.tools.get_by_category("bulk", PaginationParams(limit=5, offset=10, order_by=("name",)))
    assert [t.name for t in page] == [f"t{i:03d}" for i in range(10, 15)]


@pytest.mark.parametrize("bad", [None, "", 3, "c" * 129, b"search"])
async def test_get_by_category_refuses_bad_input_before_io(
    repos: Repositories, db: Database, bad: Any
) -> None:
    err = await refused(db, lambda: repos.tools.get_by_category(bad))
    assert err.context["argument"] == "category"


async def test_get_available_tools(repos: Repositories, db: Database) -> None:
    await make_tool(repos, "on-b")
    await make_tool(repos, "on-a")
    off = await make_tool(repos, "off", available=False)
    with db.count_requests() as c:
        found = await repos.tools.get_available_tools()
    assert c.count == 1
    assert [t.name for t in found] == ["on-a", "on-b"]
    await repos.tools.update(off.id, {"available": True})
    assert [t.name for t in await repos.tools.get_available_tools()] == ["off", "on-a", "on-b"]


async def test_get_available_tools_empty(repos: Repositories) -> None:
    assert await repos.tools.get_available_tools() == []
    await make_tool(repos, "off", available=False)
    assert await repos.tools.get_available_tools() == []


# ---------------------------------------------------------------- capabilities


async def test_get_tool_capabilities(repos: Repositories, db: Database) -> None:
    caps = [
        Capability(name="search", description="full text", parameters={"q": {"type": "string"}}),
        Capability(name="fetch"),
    ]
    tool = await make_tool(repos, "web", capabilities=caps)
    with db.count_requests() as c:
        found = await repos.tools.get_tool_capabilities(tool.id)
    assert c.count == 1
    assert found == caps
    bare = await make_tool(repos, "bare")
    assert await repos.tools.get_tool_capabilities(str(bare.id)) == []


async def test_get_tool_capabilities_missing_tool(repos: Repositories) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError) as info:
        await repos.tools.get_tool_capabilities(missing)
    assert info.value.context == {"table": "tool", "id": str(missing)}


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_get_tool_capabilities_refuses_bad_id(repos: Repositories, db: Database, bad: Any) -> None:
    err = await refused(db, lambda: repos.tools.get_tool_capabilities(bad))
    assert err.context["argument"] == "tool_id"


# ---------------------------------------------------------------- agents using a tool (reverse graph)


async def test_get_agents_using_is_one_reverse_traversal(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "web")
    other = await make_tool(repos, "calc")
    users = [await repos.agents.create(Agent(name=n, agent_type="t")) for n in ["zoe", "al", "mo"]]
    for agent in users:
        await repos.agents.add_tool(agent.id, tool.id)
    loner = await repos.agents.create(Agent(name="loner", agent_type="t"))
    await repos.agents.add_tool(loner.id, other.id)
    with db.count_requests() as c:
        found = await repos.tools.get_agents_using(tool.id)
    assert c.count == 1
    assert [a.name for a in found] == ["al", "mo", "zoe"]
    assert all(isinstance(a, Agent) for a in found)
    assert found[0] == await repos.agents.get(found[0].id)
    await repos.agents.remove_tool(users[0].id, tool.id)
    assert [a.name for a in await repos.tools.get_agents_using(tool.id)] == ["al", "mo"]


async def test_get_agents_using_empty_and_missing(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "unused")
    assert await repos.tools.get_agents_using(tool.id) == []
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.tools.get_agents_using(missing)
    assert c.count == 1
    assert info.value.context == {"table": "tool", "id": str(missing)}


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_get_agents_using_refuses_bad_id(repos: Repositories, db: Database, bad: Any) -> None:
    await refused(db, lambda: repos.tools.get_agents_using(bad))


async def test_deleting_a_tool_removes_its_uses_edges_and_usage_log(
    repos: Repositories, db: Database
) -> None:
    gone = await make_tool(repos, "gone")
    stays = await make_tool(repos, "stays")
    agents = [await repos.agents.create(Agent(name=f"a{i}", agent_type="t")) for i in range(2)]
    for agent in agents:
        await repos.agents.add_tool(agent.id, gone.id)
        await repos.agents.add_tool(agent.id, stays.id)
    await repos.tools.track_usage(gone.id, {"agent_id": agents[0].id})
    await repos.tools.track_usage(stays.id, {"agent_id": agents[0].id})

    assert await repos.tools.delete(gone.id) is True

    dangling = (await db.query("SELECT id FROM uses WHERE out = $t", {"t": RecordID("tool", gone.id)}))[0]
    assert dangling == []
    edges = (await db.query("SELECT VALUE out FROM uses"))[0]
    assert edges == [RecordID("tool", stays.id)] * 2
    for agent in agents:
        assert [t.id for t in await repos.agents.get_tools(agent.id)] == [stays.id]
    assert await usage_rows(db, gone.id) == 0  # the usage log is cascaded with its tool
    assert await usage_rows(db, stays.id) == 1
    assert await repos.agents.count() == 2  # agents stay


# ---------------------------------------------------------------- track_usage


async def test_track_usage_records_a_row_and_bumps_the_counter_in_one_request(
    repos: Repositories, db: Database
) -> None:
    tool = await make_tool(repos, "web")
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    with db.count_requests() as c:
        usage = await repos.tools.track_usage(
            tool.id,
            {"agent_id": agent.id, "success": False, "duration_ms": 12, "details": {"q": "x", "n": None}},
        )
    assert c.count == 1
    assert isinstance(usage, ToolUsage)
    assert usage.tool_id == tool.id
    assert usage.agent_id == agent.id
    assert usage.success is False
    assert usage.duration_ms == 12.0
    assert usage.details == {"q": "x", "n": None}
    assert usage.created_at is not None
    stored = await repos.tools.get(tool.id)
    assert stored.usage_count == 1
    assert stored.last_used_at is not None
    assert stored.last_used_at <= usage.created_at
    assert stored.version == tool.version  # usage is not an edit: no stale expected_version
    row = (await db.query("SELECT * FROM ONLY $u", {"u": RecordID("tool_usage", usage.id)}))[0]
    assert ToolUsage.from_record(row) == usage


async def test_track_usage_defaults(repos: Repositories) -> None:
    tool = await make_tool(repos, "web")
    usage = await repos.tools.track_usage(str(tool.id), {})
    assert usage.agent_id is None
    assert usage.success is True
    assert usage.duration_ms is None
    assert usage.details == {}
    second = await repos.tools.track_usage(tool.id, {"agent_id": None, "details": None, "duration_ms": 0.5})
    assert second.duration_ms == 0.5
    assert (await repos.tools.get(tool.id)).usage_count == 2


async def test_track_usage_200_concurrent_calls_lose_nothing(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "hot")
    agents = [await repos.agents.create(Agent(name=f"a{i}", agent_type="t")) for i in range(4)]
    n = 200
    usages = await asyncio.gather(
        *(
            repos.tools.track_usage(
                tool.id, {"agent_id": agents[i % 4].id, "duration_ms": i, "success": i % 5 != 0}
            )
            for i in range(n)
        )
    )
    assert len({u.id for u in usages}) == n
    assert (await repos.tools.get(tool.id)).usage_count == n
    assert await usage_rows(db, tool.id) == n
    stats = await repos.tools.get_usage_stats(tool.id)
    assert stats.calls == n
    assert stats.successes == n - n // 5
    assert stats.by_agent == {str(a.id): n // 4 for a in agents}


async def test_resending_a_committed_track_usage_block_cannot_double_count(
    repos: Repositories, db: Database
) -> None:
    """The retry-safety argument, checked: the block carries the usage row's id, so a
    block that did commit and is sent again fails on that id and rolls back its own
    increment (a conflicted block commits nothing, so that one is safe to re-send)."""
    tool = await make_tool(repos, "web")
    statement = repos.tools._track_usage_statement(ToolUsage(tool_id=tool.id))
    await db.execute(statement)
    with pytest.raises(AlreadyExistsError):
        await db.execute(statement)
    assert (await repos.tools.get(tool.id)).usage_count == 1
    assert await usage_rows(db, tool.id) == 1


async def test_track_usage_concurrently_on_many_tools(repos: Repositories, db: Database) -> None:
    tools = [await make_tool(repos, f"t{i}") for i in range(5)]
    await asyncio.gather(*(repos.tools.track_usage(tools[i % 5].id, {}) for i in range(100)))
    assert [t.usage_count for t in await repos.tools.list()] == [20] * 5
    assert await usage_rows(db) == 100


async def test_track_usage_missing_tool_or_agent_writes_nothing(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "web")
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.tools.track_usage(missing, {})
    assert c.count == 1
    assert info.value.context == {"table": "tool", "id": str(missing)}
    with pytest.raises(NotFoundError) as info:
        await repos.tools.track_usage(tool.id, {"agent_id": missing})
    assert info.value.context == {"table": "agent", "id": str(missing)}
    assert await usage_rows(db) == 0
    assert (await repos.tools.get(tool.id)).usage_count == 0  # the counter was not bumped either


@pytest.mark.parametrize(
    "usage_data",
    [
        None,
        [("success", True)],
        {"sucess": True},  # typo: unknown keys are refused, not ignored
        {"tool_id": uuid.uuid4()},
        {"success": "yes"},
        {"success": 1},
        {"duration_ms": "12"},
        {"duration_ms": True},
        {"duration_ms": -1},
        {"duration_ms": float("nan")},
        {"duration_ms": float("inf")},
        {"details": ["a"]},
        {"details": {1: "int key"}},
        {"agent_id": "not-a-uuid"},
        {"agent_id": 7},
    ],
)
async def test_track_usage_refuses_bad_usage_data_before_io(
    repos: Repositories, db: Database, usage_data: Any
) -> None:
    tool_id = uuid.uuid4()
    await refused(db, lambda: repos.tools.track_usage(tool_id, usage_data))


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_track_usage_refuses_bad_tool_id_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    err = await refused(db, lambda: repos.tools.track_usage(bad, {}))
    assert err.context["argument"] == "tool_id"


async def test_track_usage_inside_a_transaction(repos: Repositories, db: Database) -> None:
    tool = Tool(name="tx-tool", category="c")
    with db.count_requests() as c:
        async with repos.transaction() as tx:
            await tx.tools.create(tool)
            first = await tx.tools.track_usage(tool.id, {"duration_ms": 1})
            second = await tx.tools.track_usage(tool.id, {"duration_ms": 3})
    assert c.count == 1
    assert first.result().duration_ms == 1.0  # type: ignore[attr-defined]
    assert second.result().tool_id == tool.id  # type: ignore[attr-defined]
    assert (await repos.tools.get(tool.id)).usage_count == 2


async def test_track_usage_of_a_missing_tool_rolls_the_transaction_back(
    repos: Repositories, db: Database
) -> None:
    agent = Agent(name="a", agent_type="t")

    async def create_and_track() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(agent)
            await tx.tools.track_usage(uuid.uuid4(), {"agent_id": agent.id})

    with pytest.raises(NotFoundError):
        await create_and_track()
    assert await repos.agents.get_by_id(agent.id) is None
    assert await usage_rows(db) == 0


async def test_track_usage_evicts_the_read_cache(db: Database) -> None:
    repos = Repositories(db, cache=CacheConfig(ttl=60))
    tool = await make_tool(repos, "cached")
    assert (await repos.tools.get(tool.id)).usage_count == 0  # now cached
    await repos.tools.track_usage(tool.id, {})
    assert (await repos.tools.get(tool.id)).usage_count == 1


# ---------------------------------------------------------------- usage history and stats


async def test_get_usage_history_newest_first(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "web")
    other = await make_tool(repos, "other")
    tracked = [await repos.tools.track_usage(tool.id, {"details": {"i": i}}) for i in range(5)]
    await repos.tools.track_usage(other.id, {})
    with db.count_requests() as c:
        history = await repos.tools.get_usage_history(tool.id, limit=3)
    assert c.count == 1
    assert [u.details["i"] for u in history] == [4, 3, 2]
    assert [u.id for u in await repos.tools.get_usage_history(tool.id)] == [u.id for u in reversed(tracked)]
    assert await repos.tools.get_usage_history(uuid.uuid4()) == []
    await refused(db, lambda: repos.tools.get_usage_history(tool.id, limit=0))
    await refused(db, lambda: repos.tools.get_usage_history("nope"))


async def test_get_usage_stats_in_one_request(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "web")
    other_tool = await make_tool(repos, "other")
    a, b = [await repos.agents.create(Agent(name=n, agent_type="t")) for n in "ab"]
    durations = [float(d) for d in (5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 20, 15)]
    for i, duration in enumerate(durations):
        agent = a if i < 8 else b
        await repos.tools.track_usage(
            tool.id, {"agent_id": agent.id, "duration_ms": duration, "success": i % 3 != 0}
        )
    await repos.tools.track_usage(tool.id, {})  # a call without duration or agent
    await repos.tools.track_usage(other_tool.id, {"agent_id": a.id, "duration_ms": 1000})

    with db.count_requests() as c:
        stats = await repos.tools.get_usage_stats(tool.id)
    assert c.count == 1
    assert isinstance(stats, ToolUsageStats)
    assert stats.tool_id == tool.id
    assert stats.calls == 13
    assert stats.successes == 13 - 4  # i = 0, 3, 6, 9 failed; the bare call succeeded
    assert stats.success_rate == pytest.approx(9 / 13)
    assert stats.avg_duration_ms == pytest.approx(statistics.fmean(durations))
    # linear interpolation between closest ranks (numpy's default, "inclusive" here)
    expected_p95 = statistics.quantiles(durations, n=100, method="inclusive")[94]
    assert stats.p95_duration_ms == pytest.approx(expected_p95)
    assert stats.by_agent == {str(a.id): 8, str(b.id): 4}


async def test_get_usage_stats_of_an_unused_tool(repos: Repositories) -> None:
    tool = await make_tool(repos, "unused")
    stats = await repos.tools.get_usage_stats(str(tool.id))
    assert stats == ToolUsageStats(tool_id=tool.id)
    assert stats.calls == 0
    assert stats.success_rate == 0.0
    assert stats.avg_duration_ms is None
    assert stats.p95_duration_ms is None
    assert stats.by_agent == {}
    await repos.tools.track_usage(tool.id, {"success": False})
    stats = await repos.tools.get_usage_stats(tool.id)
    assert (stats.calls, stats.successes, stats.success_rate, stats.avg_duration_ms) == (1, 0, 0.0, None)


async def test_get_usage_stats_missing_tool(repos: Repositories, db: Database) -> None:
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.tools.get_usage_stats(missing)
    assert c.count == 1
    assert info.value.context == {"table": "tool", "id": str(missing)}


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_get_usage_stats_refuses_bad_id(repos: Repositories, db: Database, bad: Any) -> None:
    await refused(db, lambda: repos.tools.get_usage_stats(bad))


async def test_reads_are_refused_inside_a_transaction(repos: Repositories) -> None:
    tool = await make_tool(repos, "web")
    async with repos.transaction() as tx:
        with pytest.raises(TransactionError):
            await tx.tools.get_usage_stats(tool.id)
        with pytest.raises(TransactionError):
            await tx.tools.get_agents_using(tool.id)


async def test_query_blocks_throw_structured_payloads_naming_the_table(
    repos: Repositories, db: Database
) -> None:
    """track_usage and usage_stats abort with the THROW codec: ``context["table"]`` says
    which record is missing (the repository maps by it, never by the message)."""
    tool = await make_tool(repos, "web")
    rid = RecordID("tool", tool.id)
    usage = RecordID("tool_usage", uuid.uuid4())
    with pytest.raises(NotFoundError) as info:
        await db.execute(
            tool_queries.track_usage(rid, usage, {"tool_id": rid}, RecordID("agent", uuid.uuid4()))
        )
    assert (info.value.context["thrown"], info.value.context["table"]) == ("not_found", "agent")
    missing = RecordID("tool", uuid.uuid4())
    with pytest.raises(NotFoundError) as info:
        await db.execute(tool_queries.track_usage(missing, usage, {"tool_id": missing}))
    assert info.value.context["table"] == "tool"
    with pytest.raises(NotFoundError) as info:
        await db.execute(tool_queries.usage_stats(missing))
    assert info.value.context["table"] == "tool"
    assert await usage_rows(db) == 0
    assert (await repos.tools.get(tool.id)).usage_count == 0  # the aborted block bumped nothing
