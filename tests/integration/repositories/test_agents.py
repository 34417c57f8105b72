"""AgentRepository on the real engine: lookups, state merges, the ``uses`` graph, metrics.

Every graph and metrics read is proven to be ONE request with ``db.count_requests()``;
every refusal of bad input is proven to send nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import refused
from factories import bad_ids, make_tool
from surrealdb import RecordID

from agentical_repo import (
    ConflictError,
    Database,
    NotFoundError,
    PaginationParams,
    Repositories,
    TransactionError,
)
from agentical_repo.models import Agent, AgentStatus, Task, TaskStatus, Tool
from agentical_repo.surql.queries import agents as agent_queries

BAD_IDS = bad_ids("agent")


async def edge_count(db: Database) -> int:
    rows = (await db.query("SELECT count() AS n FROM uses GROUP ALL"))[0]
    return int(rows[0]["n"]) if rows else 0


# ---------------------------------------------------------------- lookups


async def test_get_by_type_returns_only_that_type_ordered_by_name(repos: Repositories, db: Database) -> None:
    for name in ["zed", "amy", "kim"]:
        await repos.agents.create(Agent(name=name, agent_type="planner"))
    await repos.agents.create(Agent(name="other", agent_type="coder"))
    with db.count_requests() as c:
        found = await repos.agents.get_by_type("planner")
    assert c.count == 1
    assert [a.name for a in found] == ["amy", "kim", "zed"]
    assert {a.agent_type for a in found} == {"planner"}


async def test_get_by_type_returns_all_rows_without_pagination_and_pages_with_it(
    repos: Repositories,
) -> None:
    await repos.agents.create_many(Agent(name=f"a{i:03d}", agent_type="bulk") for i in range(75))
    everything = await repos.agents.get_by_type("bulk")
    assert len(everything) == 75  # not truncated to list()'s default page of 50
    page = await repos.agents.get_by_type("bulk", PaginationParams(limit=10, offset=20, order_by=("name",)))
    assert [a.name for a in page] == [f"a{i:03d}" for i in range(20, 30)]


async def test_get_by_type_unknown_type_is_empty(repos: Repositories) -> None:
    await repos.agents.create(Agent(name="a", agent_type="planner"))
    assert await repos.agents.get_by_type("nobody") == []


@pytest.mark.parametrize("bad", [None, "", 5, "x" * 129, ["planner"]])
async def test_get_by_type_refuses_bad_input_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    err = await refused(db, lambda: repos.agents.get_by_type(bad))
    assert err.context["argument"] == "agent_type"


async def test_get_active_agents(repos: Repositories, db: Database) -> None:
    await repos.agents.create(Agent(name="b", agent_type="t", status=AgentStatus.ACTIVE))
    await repos.agents.create(Agent(name="a", agent_type="t", status=AgentStatus.ACTIVE))
    for status in (AgentStatus.IDLE, AgentStatus.BUSY, AgentStatus.DISABLED, AgentStatus.ERROR):
        await repos.agents.create(Agent(name=f"x-{status.value}", agent_type="t", status=status))
    with db.count_requests() as c:
        active = await repos.agents.get_active_agents()
    assert c.count == 1
    assert [a.name for a in active] == ["a", "b"]
    assert all(a.status is AgentStatus.ACTIVE for a in active)


async def test_get_active_agents_empty(repos: Repositories) -> None:
    assert await repos.agents.get_active_agents() == []
    await repos.agents.create(Agent(name="idle", agent_type="t"))
    assert await repos.agents.get_active_agents() == []


async def test_get_active_agents_refuses_bad_pagination(repos: Repositories, db: Database) -> None:
    await refused(db, lambda: repos.agents.get_active_agents({"limit": 5}))  # type: ignore[arg-type]


# ---------------------------------------------------------------- update_state


async def test_update_state_deep_merges_and_bumps_version_in_one_request(
    repos: Repositories, db: Database
) -> None:
    agent = await repos.agents.create(
        Agent(
            name="a",
            agent_type="t",
            state={"memory": {"a": 1, "deep": {"x": 1, "y": 2}}, "tags": [1, 2], "keep": True},
        )
    )
    with db.count_requests() as c:
        updated = await repos.agents.update_state(
            agent.id, {"memory": {"b": 2, "deep": {"y": 3}}, "tags": [9], "note": None}
        )
    assert c.count == 1
    assert updated.state == {
        "memory": {"a": 1, "b": 2, "deep": {"x": 1, "y": 3}},  # nested dicts merged, not replaced
        "tags": [9],  # lists replace
        "keep": True,  # untouched keys kept
        "note": None,  # None is stored (as null): the key survives
    }
    assert updated.version == agent.version + 1
    assert updated.updated_at is not None
    assert agent.updated_at is not None
    assert updated.updated_at >= agent.updated_at
    assert (await repos.agents.get(agent.id)).state == updated.state


async def test_update_state_honours_expected_version(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t", state={"n": 0}))
    first = await repos.agents.update_state(agent.id, {"n": 1}, expected_version=1)
    assert first.version == 2
    with pytest.raises(ConflictError) as info:
        await repos.agents.update_state(agent.id, {"n": 99}, expected_version=1)
    assert info.value.code == "stale_version"
    assert not info.value.retryable
    stored = await repos.agents.get(agent.id)
    assert stored.state == {"n": 1}
    assert stored.version == 2


async def test_update_state_missing_agent_is_not_found(repos: Repositories) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError) as info:
        await repos.agents.update_state(missing, {"a": 1})
    assert info.value.context["id"] == str(missing)
    with pytest.raises(NotFoundError):
        await repos.agents.update_state(missing, {"a": 1}, expected_version=1)
    assert await repos.agents.count() == 0  # nothing was created by the attempt


@pytest.mark.parametrize(
    ("state", "kwargs"),
    [
        ("not a dict", {}),
        ({}, {}),
        ([("a", 1)], {}),
        ({1: "int key"}, {}),
        ({"nested": {2: "int key"}}, {}),
        ({"a": 1}, {"expected_version": "1"}),
        ({"a": 1}, {"expected_version": True}),
    ],
)
async def test_update_state_refuses_bad_input_before_io(
    repos: Repositories, db: Database, state: Any, kwargs: dict[str, Any]
) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    await refused(db, lambda: repos.agents.update_state(agent.id, state, **kwargs))


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_update_state_refuses_bad_id_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    err = await refused(db, lambda: repos.agents.update_state(bad, {"a": 1}))
    assert err.context.get("argument") == "agent_id"


async def test_update_state_concurrent_merges_all_survive(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    n = 50
    await asyncio.gather(*(repos.agents.update_state(agent.id, {"seen": {f"k{i}": i}}) for i in range(n)))
    stored = await repos.agents.get(agent.id)
    assert stored.state == {"seen": {f"k{i}": i for i in range(n)}}
    assert stored.version == 1 + n


async def test_update_state_only_one_of_concurrent_expected_version_writers_wins(
    repos: Repositories,
) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))

    async def attempt(i: int) -> bool:
        try:
            await repos.agents.update_state(agent.id, {"winner": i}, expected_version=1)
        except ConflictError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sum(results) == 1
    stored = await repos.agents.get(agent.id)
    assert stored.version == 2
    assert stored.state["winner"] == results.index(True)


# ---------------------------------------------------------------- tools: add / remove / get


async def test_add_tool_is_idempotent_one_edge_props_merged(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await make_tool(repos, "grep")
    with db.count_requests() as c:
        props = await repos.agents.add_tool(agent.id, tool.id, priority=1, config={"depth": 2})
    assert c.count == 1
    assert props == {"priority": 1, "config": {"depth": 2}}
    again = await repos.agents.add_tool(agent.id, tool.id, priority=5)
    assert again == {"priority": 5, "config": {"depth": 2}}  # given key replaced, others kept
    assert (
        await repos.agents.add_tool(str(agent.id), str(tool.id)) == again
    )  # re-add without props keeps them
    assert await edge_count(db) == 1
    rows = (await db.query("SELECT * FROM uses"))[0]
    assert rows[0]["in"] == RecordID("agent", agent.id)
    assert rows[0]["out"] == RecordID("tool", tool.id)
    assert rows[0]["id"] == RecordID("uses", [RecordID("agent", agent.id), RecordID("tool", tool.id)])


async def test_add_tool_concurrently_for_one_pair_leaves_one_edge(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await make_tool(repos, "grep")
    await asyncio.gather(*(repos.agents.add_tool(agent.id, tool.id, n=i) for i in range(20)))
    assert await edge_count(db) == 1
    assert [t.id for t in await repos.agents.get_tools(agent.id)] == [tool.id]


async def test_add_tool_missing_endpoint_is_not_found_and_writes_nothing(
    repos: Repositories, db: Database
) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await make_tool(repos, "grep")
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.agents.add_tool(agent.id, missing)
    assert c.count == 1
    assert info.value.context == {"table": "tool", "id": str(missing)}
    with pytest.raises(NotFoundError) as info:
        await repos.agents.add_tool(missing, tool.id)
    assert info.value.context == {"table": "agent", "id": str(missing)}
    with pytest.raises(NotFoundError) as info:
        await repos.agents.add_tool(uuid.uuid4(), uuid.uuid4())
    assert info.value.context["table"] == "agent"
    assert await edge_count(db) == 0


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_add_tool_refuses_bad_ids_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    good = uuid.uuid4()
    err = await refused(db, lambda: repos.agents.add_tool(bad, good))
    assert err.context.get("argument") == "agent_id"
    err = await refused(db, lambda: repos.agents.add_tool(good, bad))
    assert err.context.get("argument") == "tool_id"


async def test_add_tool_refuses_props_with_non_string_keys(repos: Repositories, db: Database) -> None:
    await refused(db, lambda: repos.agents.add_tool(uuid.uuid4(), uuid.uuid4(), config={1: "x"}))


async def test_remove_tool(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    keep, drop = await make_tool(repos, "keep"), await make_tool(repos, "drop")
    await repos.agents.add_tool(agent.id, keep.id)
    await repos.agents.add_tool(agent.id, drop.id)
    with db.count_requests() as c:
        assert await repos.agents.remove_tool(agent.id, drop.id) is True
    assert c.count == 1
    assert await repos.agents.remove_tool(agent.id, drop.id) is False  # already gone
    assert await repos.agents.remove_tool(uuid.uuid4(), keep.id) is False  # unknown agent
    assert [t.name for t in await repos.agents.get_tools(agent.id)] == ["keep"]
    assert await repos.tools.get_by_id(drop.id) is not None  # only the edge was removed


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_remove_tool_refuses_bad_ids_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    await refused(db, lambda: repos.agents.remove_tool(bad, uuid.uuid4()))
    await refused(db, lambda: repos.agents.remove_tool(uuid.uuid4(), bad))


async def test_has_tool(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await make_tool(repos, "grep")
    assert await repos.agents.has_tool(agent.id, tool.id) is False
    await repos.agents.add_tool(agent.id, tool.id)
    with db.count_requests() as c:
        assert await repos.agents.has_tool(agent.id, tool.id) is True
    assert c.count == 1
    await refused(db, lambda: repos.agents.has_tool("nope", tool.id))


async def test_get_tools_is_one_traversal_ordered_by_name(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    other = await repos.agents.create(Agent(name="b", agent_type="t"))
    tools = [await make_tool(repos, name, category="c") for name in ["web", "calc", "mail"]]
    for tool in tools:
        await repos.agents.add_tool(agent.id, tool.id)
    unused = await make_tool(repos, "unused")
    await repos.agents.add_tool(other.id, unused.id)
    with db.count_requests() as c:
        found = await repos.agents.get_tools(agent.id)
    assert c.count == 1
    assert [t.name for t in found] == ["calc", "mail", "web"]
    assert all(isinstance(t, Tool) for t in found)
    assert {t.id for t in found} == {t.id for t in tools}
    assert found[0] == await repos.tools.get(found[0].id)  # full models, not ids


async def test_get_tools_empty_and_missing(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    assert await repos.agents.get_tools(agent.id) == []
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.agents.get_tools(missing)
    assert c.count == 1
    assert info.value.context == {"table": "agent", "id": str(missing)}


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_get_tools_refuses_bad_id_before_io(repos: Repositories, db: Database, bad: Any) -> None:
    await refused(db, lambda: repos.agents.get_tools(bad))


# ---------------------------------------------------------------- deleting leaves no dangling edges


async def test_deleting_an_agent_removes_its_uses_edges(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="gone", agent_type="t"))
    other = await repos.agents.create(Agent(name="stays", agent_type="t"))
    t1, t2 = await make_tool(repos, "t1"), await make_tool(repos, "t2")
    for tool in (t1, t2):
        await repos.agents.add_tool(agent.id, tool.id)
    await repos.agents.add_tool(other.id, t1.id)
    usage = await repos.tools.track_usage(t1.id, {"agent_id": agent.id})
    assert await edge_count(db) == 3

    assert await repos.agents.delete(agent.id) is True

    rows = (await db.query("SELECT in, out FROM uses"))[0]
    assert rows == [{"in": RecordID("agent", other.id), "out": RecordID("tool", t1.id)}]
    dangling = (await db.query("SELECT id FROM uses WHERE in = $a", {"a": RecordID("agent", agent.id)}))[0]
    assert dangling == []
    assert [a.id for a in await repos.tools.get_agents_using(t1.id)] == [other.id]
    assert await repos.tools.get_agents_using(t2.id) == []
    assert await repos.tools.count() == 2  # the tools themselves stay
    kept = (await db.query("SELECT * FROM ONLY $u", {"u": RecordID("tool_usage", usage.id)}))[0]
    assert kept is not None
    assert "agent_id" not in kept


# ---------------------------------------------------------------- metrics


async def test_get_agent_metrics_in_one_request(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    other = await repos.agents.create(Agent(name="b", agent_type="t"))
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    done = [
        Task(title="t1", agent_id=agent.id, status=TaskStatus.COMPLETED, started_at=start,
             finished_at=start + timedelta(milliseconds=1000)),
        Task(title="t2", agent_id=agent.id, status=TaskStatus.FAILED, started_at=start,
             finished_at=start + timedelta(milliseconds=3500)),
        Task(title="t3", agent_id=agent.id, status=TaskStatus.RUNNING, started_at=start),
        Task(title="t4", agent_id=agent.id),
        Task(title="t5", agent_id=agent.id),
        Task(title="other", agent_id=other.id, status=TaskStatus.COMPLETED, started_at=start,
             finished_at=start + timedelta(hours=1)),
    ]  # fmt: skip
    for task in done:
        await repos.tasks.create(task)
    tools = [await make_tool(repos, f"tool{i}") for i in range(3)]
    for tool in tools[:2]:
        await repos.agents.add_tool(agent.id, tool.id)
    await repos.agents.add_tool(other.id, tools[2].id)
    for _ in range(3):
        last_usage = await repos.tools.track_usage(tools[0].id, {"agent_id": agent.id, "duration_ms": 5})
    await repos.tools.track_usage(tools[0].id, {"agent_id": other.id})
    await repos.tools.track_usage(tools[0].id, {})

    with db.count_requests() as c:
        metrics = await repos.agents.get_agent_metrics(agent.id)
    assert c.count == 1
    assert metrics.agent_id == agent.id
    assert metrics.tasks_total == 5
    assert metrics.tasks_by_status == {
        "pending": 2, "running": 1, "completed": 1, "failed": 1, "cancelled": 0,
    }  # fmt: skip
    assert metrics.tools_count == 2
    assert metrics.tool_usages == 3
    assert metrics.avg_task_duration_ms == pytest.approx(2250.0)
    assert last_usage.created_at is not None
    assert metrics.last_active_at is not None
    assert metrics.last_active_at >= last_usage.created_at


async def test_get_agent_metrics_of_a_fresh_agent(repos: Repositories, db: Database) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    metrics = await repos.agents.get_agent_metrics(str(agent.id))
    assert metrics.tasks_total == 0
    assert metrics.tasks_by_status == {s.value: 0 for s in TaskStatus}
    assert metrics.tools_count == 0
    assert metrics.tool_usages == 0
    assert metrics.avg_task_duration_ms is None
    assert metrics.last_active_at == agent.updated_at  # nothing newer than its own last write


async def test_get_agent_metrics_last_active_follows_task_activity(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    later = datetime.now(UTC) + timedelta(days=1)
    await repos.tasks.create(Task(title="future", agent_id=agent.id, started_at=later, finished_at=later))
    metrics = await repos.agents.get_agent_metrics(agent.id)
    assert metrics.last_active_at == later
    assert metrics.avg_task_duration_ms == 0.0


async def test_get_agent_metrics_missing_agent(repos: Repositories, db: Database) -> None:
    missing = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.agents.get_agent_metrics(missing)
    assert c.count == 1
    assert info.value.context == {"table": "agent", "id": str(missing)}


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_get_agent_metrics_refuses_bad_id_before_io(
    repos: Repositories, db: Database, bad: Any
) -> None:
    await refused(db, lambda: repos.agents.get_agent_metrics(bad))


# ---------------------------------------------------------------- transactions


async def test_create_and_add_tool_inside_a_transaction(repos: Repositories, db: Database) -> None:
    agent = Agent(name="tx-agent", agent_type="t")
    tool = Tool(name="tx-tool", category="c")
    with db.count_requests() as c:
        async with repos.transaction() as tx:
            created = await tx.agents.create(agent)
            await tx.tools.create(tool)
            linked = await tx.agents.add_tool(agent.id, tool.id, weight=2)
            state = await tx.agents.update_state(agent.id, {"ready": True})
    assert c.count == 1  # one BEGIN … COMMIT request for the four writes
    assert created.result().name == "tx-agent"  # type: ignore[attr-defined]
    assert linked.result() == {"weight": 2}  # type: ignore[attr-defined]
    assert state.result().state == {"ready": True}  # type: ignore[attr-defined]
    assert [t.id for t in await repos.agents.get_tools(agent.id)] == [tool.id]


async def test_add_tool_to_missing_tool_rolls_the_transaction_back(repos: Repositories, db: Database) -> None:
    agent = Agent(name="tx-agent", agent_type="t")

    async def create_and_link() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(agent)
            await tx.agents.add_tool(agent.id, uuid.uuid4())

    with pytest.raises(NotFoundError):
        await create_and_link()
    assert await repos.agents.get_by_id(agent.id) is None
    assert await edge_count(db) == 0


async def test_graph_reads_are_refused_inside_a_transaction(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    async with repos.transaction() as tx:
        with pytest.raises(TransactionError):
            await tx.agents.get_tools(agent.id)
        with pytest.raises(TransactionError):
            await tx.agents.get_agent_metrics(agent.id)


async def test_bulk_deleting_agents_removes_their_uses_edges(repos: Repositories, db: Database) -> None:
    tool = await make_tool(repos, "shared")
    doomed = [await repos.agents.create(Agent(name=f"d{i}", agent_type="temp")) for i in range(3)]
    keeper = await repos.agents.create(Agent(name="keeper", agent_type="perm"))
    for agent in [*doomed, keeper]:
        await repos.agents.add_tool(agent.id, tool.id)
    assert await repos.agents.delete_many({"agent_type": "temp"}) == 3
    assert await edge_count(db) == 1
    assert [a.id for a in await repos.tools.get_agents_using(tool.id)] == [keeper.id]


# ---------------------------------------------------------------- structured THROW on the engine


async def test_query_blocks_throw_structured_payloads_naming_the_table(
    repos: Repositories, db: Database
) -> None:
    """The blocks of surql.queries.agents abort with the THROW codec: the error's context
    names the missing record's table (what the repository maps by), decoded on the engine."""
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    rid = RecordID("agent", agent.id)
    missing_tool = RecordID("tool", uuid.uuid4())
    with pytest.raises(NotFoundError) as info:
        await db.execute(agent_queries.add_tool(rid, missing_tool, {}))
    assert (info.value.context["thrown"], info.value.context["table"]) == ("not_found", "tool")
    with pytest.raises(NotFoundError) as info:
        await db.execute(agent_queries.add_tool(RecordID("agent", uuid.uuid4()), missing_tool, {}))
    assert info.value.context["table"] == "agent"  # the agent is checked first
    with pytest.raises(ConflictError) as conflict:
        await db.execute(agent_queries.merge_state(rid, {"a": 1}, expected_version=agent.version + 1))
    assert (conflict.value.code, conflict.value.context["table"]) == ("stale_version", "agent")
    with pytest.raises(NotFoundError) as info:
        await db.execute(agent_queries.agent_metrics(RecordID("agent", uuid.uuid4())))
    assert info.value.context["table"] == "agent"
    assert await edge_count(db) == 0
