"""TaskRepository on the real engine: lookups, assignment, the dependency graph (cycle refusal
under concurrency included), ready tasks, topological order, lifecycle and history."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from conftest import scalar
from factories import bad_ids, make_tasks, make_workflow
from surrealdb import RecordID

from agentical_repo import (
    ConflictError,
    Database,
    NotFoundError,
    PaginationParams,
    Repositories,
    ValidationError,
)
from agentical_repo.models import Agent, Task, TaskStatus, Workflow
from agentical_repo.models.graph import TaskDependency
from agentical_repo.transaction import Transaction, TransactionState

BAD_IDS = bad_ids("task")


def buffered(tx: Repositories) -> Transaction:
    """The transaction behind ``repos.transaction()``'s container."""
    assert tx.tx is not None
    return tx.tx


async def edge_count(db: Database, table: str) -> int:
    rows = await scalar(db, f"SELECT count() AS n FROM {table} GROUP ALL")
    return int(rows[0]["n"]) if rows else 0


# ----------------------------------------------------------------- lookups


async def test_get_by_status(repos: Repositories, db: Database) -> None:
    a, b, c = await make_tasks(repos, "a", "b", "c")
    await repos.tasks.update(b.id, {"status": "running"})
    await repos.tasks.update(c.id, {"status": "running"})
    running = await repos.tasks.get_by_status(TaskStatus.RUNNING)
    assert {t.id for t in running} == {b.id, c.id}
    assert [t.id for t in await repos.tasks.get_by_status("pending")] == [a.id]
    assert await repos.tasks.get_by_status("completed") == []
    page = await repos.tasks.get_by_status("running", PaginationParams(limit=1, order_by=("title",)))
    assert [t.id for t in page] == [b.id]
    # without pagination: every match (no silent cut at 50), most urgent first
    await repos.tasks.create_many(Task(title=f"bulk{i}", priority=i % 7) for i in range(70))
    with db.count_requests() as n:
        pending = await repos.tasks.get_by_status("pending")
    assert n.count == 1
    assert len(pending) == 71
    assert [t.priority for t in pending] == sorted((t.priority for t in pending), reverse=True)
    with db.count_requests() as c_:
        for bad in ("bogus", None, 3, "PENDING"):
            with pytest.raises(ValidationError) as info:
                await repos.tasks.get_by_status(bad)  # type: ignore[arg-type]
            assert info.value.context["argument"] == "status"
    assert c_.count == 0


async def test_get_by_workflow_orders_by_priority_then_age(repos: Repositories, db: Database) -> None:
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    low = await repos.tasks.create(Task(title="low", priority=-5, workflow_id=wf.id))
    high = await repos.tasks.create(Task(title="high", priority=9, workflow_id=wf.id))
    mid1 = await repos.tasks.create(Task(title="mid1", priority=1, workflow_id=wf.id))
    mid2 = await repos.tasks.create(Task(title="mid2", priority=1, workflow_id=wf.id))
    await repos.tasks.create(Task(title="elsewhere", workflow_id=other.id))
    await repos.tasks.create(Task(title="loose"))
    with db.count_requests() as c:
        got = await repos.tasks.get_by_workflow(wf.id)
    assert c.count == 1
    assert [t.id for t in got] == [high.id, mid1.id, mid2.id, low.id]
    assert await repos.tasks.get_by_workflow(uuid.uuid4()) == []
    assert await repos.tasks.get_by_workflow(str(wf.id)) == got
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.get_by_workflow(bad)
    assert c.count == 0


# ----------------------------------------------------------------- assignment


async def test_assign_and_unassign(repos: Repositories, db: Database) -> None:
    (task,) = await make_tasks(repos, "t")
    agent = await repos.agents.create(Agent(name="a", agent_type="llm"))
    with db.count_requests() as c:
        assigned = await repos.tasks.assign(task.id, agent.id)
    assert c.count == 1
    assert assigned.agent_id == agent.id
    assert assigned.version == task.version + 1
    assert (await repos.tasks.get(task.id)).agent_id == agent.id
    unassigned = await repos.tasks.unassign(task.id)
    assert unassigned.agent_id is None
    assert unassigned.version == task.version + 2


async def test_assign_missing_agent_or_task(repos: Repositories, db: Database) -> None:
    (task,) = await make_tasks(repos, "t")
    agent = await repos.agents.create(Agent(name="a", agent_type="llm"))
    ghost = uuid.uuid4()
    with db.count_requests() as c, pytest.raises(NotFoundError) as info:
        await repos.tasks.assign(task.id, ghost)
    assert c.count == 1
    assert info.value.context["missing"] == "agent"
    assert info.value.context["id"] == str(ghost)
    assert (await repos.tasks.get(task.id)) == task  # untouched, version not bumped
    with pytest.raises(NotFoundError) as info:
        await repos.tasks.assign(ghost, agent.id)
    assert info.value.context["missing"] == "task"
    with pytest.raises(NotFoundError):
        await repos.tasks.unassign(ghost)
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.assign(bad, agent.id)
            with pytest.raises(ValidationError):
                await repos.tasks.assign(task.id, bad)
    assert c.count == 0


# ----------------------------------------------------------------- dependencies


async def test_add_dependency_is_idempotent_and_one_request(repos: Repositories, db: Database) -> None:
    a, b = await make_tasks(repos, "a", "b")
    with db.count_requests() as c:
        edge = await repos.tasks.add_dependency(a.id, b.id)
    assert c.count == 1
    assert edge == TaskDependency(task_id=a.id, depends_on_id=b.id)
    assert await repos.tasks.add_dependency(str(a.id), str(b.id)) == edge
    assert await edge_count(db, "depends_on") == 1
    assert [t.id for t in await repos.tasks.get_dependencies(a.id)] == [b.id]
    assert [t.id for t in await repos.tasks.get_dependents(b.id)] == [a.id]


async def test_self_dependency_refused_before_io(repos: Repositories, db: Database) -> None:
    (a,) = await make_tasks(repos, "a")
    with db.count_requests() as c, pytest.raises(ValidationError) as info:
        await repos.tasks.add_dependency(a.id, str(a.id))
    assert c.count == 0
    assert info.value.code == "cycle"
    assert info.value.context["path"] == [str(a.id), str(a.id)]
    assert str(a.id) in str(info.value)
    assert await edge_count(db, "depends_on") == 0


async def test_two_cycle_refused_naming_path(repos: Repositories, db: Database) -> None:
    a, b = await make_tasks(repos, "a", "b")
    await repos.tasks.add_dependency(a.id, b.id)
    with db.count_requests() as c, pytest.raises(ValidationError) as info:
        await repos.tasks.add_dependency(b.id, a.id)
    assert c.count == 1
    assert info.value.code == "cycle"
    path = [str(b.id), str(a.id), str(b.id)]
    assert info.value.context["path"] == path
    assert " -> ".join(path) in str(info.value)
    assert await edge_count(db, "depends_on") == 1


async def test_long_cycle_refused_with_shortest_path_in_order(repos: Repositories, db: Database) -> None:
    a, b, c, d, e = await make_tasks(repos, "a", "b", "c", "d", "e")
    # a -> b -> c -> d, plus a longer route b -> e -> ... no: e is a side branch of c
    for src, dst in [(a, b), (b, c), (c, d), (c, e), (e, d)]:
        await repos.tasks.add_dependency(src.id, dst.id)
    with pytest.raises(ValidationError) as info:
        await repos.tasks.add_dependency(d.id, a.id)  # d would wait for a, which waits (via b, c) for d
    assert info.value.context["path"] == [str(x.id) for x in (d, a, b, c, d)]
    # a diamond is not a cycle
    await repos.tasks.add_dependency(a.id, e.id)
    assert await edge_count(db, "depends_on") == 6


async def test_add_dependency_missing_and_bad_ids(repos: Repositories, db: Database) -> None:
    (a,) = await make_tasks(repos, "a")
    ghost = uuid.uuid4()
    with pytest.raises(NotFoundError) as info:
        await repos.tasks.add_dependency(a.id, ghost)
    assert info.value.context["missing"] == "depends_on"
    assert info.value.context["id"] == str(ghost)
    with pytest.raises(NotFoundError) as info:
        await repos.tasks.add_dependency(ghost, a.id)
    assert info.value.context["missing"] == "task"
    assert await edge_count(db, "depends_on") == 0
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.add_dependency(bad, a.id)
            with pytest.raises(ValidationError):
                await repos.tasks.add_dependency(a.id, bad)
    assert c.count == 0


async def test_concurrent_opposite_edges_never_both_commit(repos: Repositories, db: Database) -> None:
    """Write skew check: a->b and b->a raced many times; exactly one wins each round."""
    rounds = 25
    outcomes: list[tuple[bool, bool]] = []
    for _ in range(rounds):
        a, b = await make_tasks(repos, "a", "b")
        results = await asyncio.gather(
            repos.tasks.add_dependency(a.id, b.id),
            repos.tasks.add_dependency(b.id, a.id),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException):
                assert isinstance(r, ValidationError), r
                assert r.code == "cycle"
        ok = tuple(not isinstance(r, BaseException) for r in results)
        outcomes.append((ok[0], ok[1]))
        assert sum(ok) == 1, results
        rows = await scalar(
            db,
            "SELECT count() AS n FROM depends_on WHERE in INSIDE $ids GROUP ALL",
            {"ids": [RecordID("task", a.id), RecordID("task", b.id)]},
        )
        assert rows[0]["n"] == 1
    assert len(outcomes) == rounds


async def test_concurrent_three_cycle_never_closes(repos: Repositories, db: Database) -> None:
    """Three edges that only together form a cycle, raced: at most two of them commit."""
    for _ in range(15):
        a, b, c = await make_tasks(repos, "a", "b", "c")
        results = await asyncio.gather(
            repos.tasks.add_dependency(a.id, b.id),
            repos.tasks.add_dependency(b.id, c.id),
            repos.tasks.add_dependency(c.id, a.id),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1, results
        assert isinstance(failures[0], ValidationError)
        assert failures[0].code == "cycle"
        order = await repos.tasks.get_dependencies(a.id, recursive=True)
        assert a.id not in {t.id for t in order}


async def test_concurrent_unrelated_dependencies_all_commit(repos: Repositories, db: Database) -> None:
    """The guard is per reachable task, not global: disjoint additions do not refuse each other."""
    pairs = [await make_tasks(repos, f"s{i}", f"t{i}") for i in range(12)]
    results = await asyncio.gather(*(repos.tasks.add_dependency(s.id, t.id) for s, t in pairs))
    assert len(results) == 12
    assert await edge_count(db, "depends_on") == 12


async def test_dependency_chain_deeper_than_engine_limit_is_refused(
    repos: Repositories, db: Database
) -> None:
    keys = [uuid.uuid4() for _ in range(300)]
    ids = [RecordID("task", key) for key in keys]
    await db.query(
        "FOR $t IN $ids { CREATE $t SET title = 'c' };"
        "FOR $i IN 0..$n { RELATE ($ids[$i])->depends_on->($ids[$i + 1]) };",
        {"ids": ids, "n": len(ids) - 1},
    )
    (head,) = await make_tasks(repos, "head")
    # the check walks the source's ancestors: 299 tasks wait (transitively) for keys[-1]
    with pytest.raises(ValidationError) as info:
        await repos.tasks.add_dependency(keys[-1], head.id)
    assert info.value.code == "too_deep"
    assert info.value.context["argument"] == "depends_on_id"
    # nothing waits for head, so its edge into the deep chain is checked completely
    await repos.tasks.add_dependency(head.id, keys[0])
    with pytest.raises(ValidationError) as info:
        await repos.tasks.get_dependencies(keys[0], recursive=True)
    assert info.value.code == "too_deep"


async def test_remove_dependency(repos: Repositories, db: Database) -> None:
    a, b = await make_tasks(repos, "a", "b")
    await repos.tasks.add_dependency(a.id, b.id)
    assert await repos.tasks.remove_dependency(a.id, b.id) is True
    assert await repos.tasks.remove_dependency(a.id, b.id) is False
    assert await edge_count(db, "depends_on") == 0
    # once removed, the opposite edge is no longer a cycle
    await repos.tasks.add_dependency(b.id, a.id)
    with pytest.raises(ValidationError):
        await repos.tasks.remove_dependency(a.id, "nope")


async def test_get_dependencies_and_dependents(repos: Repositories, db: Database) -> None:
    a, b, c, d = await make_tasks(repos, "a", "b", "c", "d")
    for src, dst in [(a, b), (b, c), (a, d), (d, c)]:
        await repos.tasks.add_dependency(src.id, dst.id)
    with db.count_requests() as n:
        direct = await repos.tasks.get_dependencies(a.id)
        deep = await repos.tasks.get_dependencies(a.id, recursive=True)
        dependents = await repos.tasks.get_dependents(c.id)
        all_dependents = await repos.tasks.get_dependents(c.id, recursive=True)
    assert n.count == 4
    assert [t.id for t in direct] == [b.id, d.id]
    assert [t.id for t in deep] == [b.id, c.id, d.id]  # c reached twice, listed once
    assert [t.id for t in dependents] == [b.id, d.id]
    assert [t.id for t in all_dependents] == [a.id, b.id, d.id]
    assert await repos.tasks.get_dependencies(c.id) == []
    assert await repos.tasks.get_dependents(a.id, recursive=True) == []
    assert await repos.tasks.get_dependencies(uuid.uuid4(), recursive=True) == []
    with db.count_requests() as n:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.get_dependencies(bad)
            with pytest.raises(ValidationError):
                await repos.tasks.get_dependents(bad, recursive=True)
        with pytest.raises(ValidationError):
            await repos.tasks.get_dependencies(a.id, recursive="yes")  # type: ignore[arg-type]
    assert n.count == 0


# ----------------------------------------------------------------- ready tasks, topological order


async def test_get_ready_tasks(repos: Repositories, db: Database) -> None:
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    done = await repos.tasks.create(Task(title="done", status=TaskStatus.COMPLETED, workflow_id=wf.id))
    busy = await repos.tasks.create(Task(title="busy", status=TaskStatus.RUNNING, workflow_id=wf.id))
    free = await repos.tasks.create(Task(title="free", priority=1, workflow_id=wf.id))
    after_done = await repos.tasks.create(Task(title="after-done", priority=5, workflow_id=wf.id))
    after_busy = await repos.tasks.create(Task(title="after-busy", workflow_id=wf.id))
    after_both = await repos.tasks.create(Task(title="after-both", workflow_id=wf.id))
    await repos.tasks.create(Task(title="foreign", workflow_id=other.id))
    await repos.tasks.add_dependency(after_done.id, done.id)
    await repos.tasks.add_dependency(after_busy.id, busy.id)
    await repos.tasks.add_dependency(after_both.id, done.id)
    await repos.tasks.add_dependency(after_both.id, busy.id)
    with db.count_requests() as c:
        ready = await repos.tasks.get_ready_tasks(wf.id)
    assert c.count == 1
    assert [t.id for t in ready] == [after_done.id, free.id]
    await repos.tasks.complete(busy.id)
    ready = await repos.tasks.get_ready_tasks(wf.id)
    assert [t.id for t in ready] == [after_done.id, free.id, after_busy.id, after_both.id]
    assert await repos.tasks.get_ready_tasks(uuid.uuid4()) == []
    assert await repos.tasks.get_ready_tasks((await make_workflow(repos, "empty")).id) == []
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.get_ready_tasks(bad)
    assert c.count == 0


async def test_topological_order_is_deterministic(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    mk = repos.tasks.create
    # diamond: top waits for left and right, which wait for base; "solo" has no edges
    base = await mk(Task(title="base", workflow_id=wf.id))
    left = await mk(Task(title="left", priority=1, workflow_id=wf.id))
    right = await mk(Task(title="right", priority=7, workflow_id=wf.id))
    top = await mk(Task(title="top", priority=100, workflow_id=wf.id))
    await mk(Task(title="solo", priority=3, workflow_id=wf.id))
    outside = await mk(Task(title="outside"))
    for src, dst in [(left, base), (right, base), (top, left), (top, right), (base, outside)]:
        await repos.tasks.add_dependency(src.id, dst.id)
    with db.count_requests() as c:
        order = await repos.tasks.topological_order(wf.id)
    assert c.count == 1
    # ready first: solo(3) before base(0); then right(7) before left(1); top last
    assert [t.title for t in order] == ["solo", "base", "right", "left", "top"]
    assert [t.id for t in await repos.tasks.topological_order(wf.id)] == [t.id for t in order]
    assert await repos.tasks.topological_order(uuid.uuid4()) == []
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.tasks.topological_order("nope")
    assert c.count == 0


async def test_topological_order_reports_a_cycle_written_around_the_repository(
    repos: Repositories, db: Database
) -> None:
    wf = await make_workflow(repos)
    a, b = await make_tasks(repos, "a", "b", workflow_id=wf.id)
    await db.query(
        "RELATE $a->depends_on->$b; RELATE $b->depends_on->$a;",
        {"a": RecordID("task", a.id), "b": RecordID("task", b.id)},
    )
    with pytest.raises(ValidationError) as info:
        await repos.tasks.topological_order(wf.id)
    assert info.value.code == "cycle"
    assert sorted(info.value.context["tasks"]) == sorted([str(a.id), str(b.id)])


# ----------------------------------------------------------------- lifecycle and history


async def test_lifecycle_stamps_times_and_records_history(repos: Repositories, db: Database) -> None:
    (task,) = await make_tasks(repos, "t")
    with db.count_requests() as c:
        running = await repos.tasks.start(task.id)
    assert c.count == 1
    assert running.status is TaskStatus.RUNNING
    assert running.started_at is not None
    assert running.finished_at is None
    assert running.version == task.version + 1
    done = await repos.tasks.complete(task.id, {"answer": 42, "none": None})
    assert done.status is TaskStatus.COMPLETED
    assert done.output == {"answer": 42, "none": None}
    assert done.finished_at is not None
    assert done.finished_at >= running.started_at
    with db.count_requests() as c:
        history = await repos.tasks.get_history(task.id)
    assert c.count == 1
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, TaskStatus.PENDING),
        (TaskStatus.PENDING, TaskStatus.RUNNING),
        (TaskStatus.RUNNING, TaskStatus.COMPLETED),
    ]
    assert all(e.task_id == task.id for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)


async def test_fail_retry_cancel_paths(repos: Repositories) -> None:
    (task,) = await make_tasks(repos, "t")
    await repos.tasks.start(task.id)
    failed = await repos.tasks.fail(task.id, {"error": "boom"})
    assert failed.status is TaskStatus.FAILED
    assert failed.output == {"error": "boom"}
    again = await repos.tasks.retry(task.id)
    assert again.status is TaskStatus.PENDING
    assert again.started_at is None
    assert again.finished_at is None
    cancelled = await repos.tasks.cancel(task.id)
    assert cancelled.status is TaskStatus.CANCELLED
    assert cancelled.finished_at is not None
    statuses = [e.to_status.value for e in await repos.tasks.get_history(task.id)]
    assert statuses == ["pending", "running", "failed", "pending", "cancelled"]


async def test_invalid_transitions_are_conflicts(repos: Repositories, db: Database) -> None:
    (task,) = await make_tasks(repos, "t")
    with pytest.raises(ConflictError) as info:
        await repos.tasks.complete(task.id)  # pending -> completed skips running
    assert info.value.code == "invalid_transition"
    assert info.value.context["from_status"] == "pending"
    await repos.tasks.start(task.id)
    with pytest.raises(ConflictError) as info:
        await repos.tasks.start(task.id)  # double start
    assert info.value.context["from_status"] == "running"
    await repos.tasks.complete(task.id)
    for move in (repos.tasks.start, repos.tasks.cancel, repos.tasks.retry):
        with pytest.raises(ConflictError):
            await move(task.id)
    assert (await repos.tasks.get(task.id)).status is TaskStatus.COMPLETED
    assert len(await repos.tasks.get_history(task.id)) == 3


async def test_set_status_expected_version_missing_and_bad_input(repos: Repositories, db: Database) -> None:
    (task,) = await make_tasks(repos, "t")
    with pytest.raises(ConflictError) as info:
        await repos.tasks.set_status(task.id, "running", expected_version=task.version + 1)
    assert info.value.code == "stale_version"
    started = await repos.tasks.set_status(task.id, "running", expected_version=task.version)
    assert started.status is TaskStatus.RUNNING
    with pytest.raises(NotFoundError):
        await repos.tasks.set_status(uuid.uuid4(), "running")
    with db.count_requests() as c:
        for bad_status in ("done", None, 1):
            with pytest.raises(ValidationError):
                await repos.tasks.set_status(task.id, bad_status)  # type: ignore[arg-type]
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.tasks.set_status(bad, "running")
        with pytest.raises(ValidationError):
            await repos.tasks.complete(task.id, ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await repos.tasks.set_status(task.id, "completed", expected_version="1")  # type: ignore[arg-type]
    assert c.count == 0


async def test_history_records_every_write_path(repos: Repositories, db: Database) -> None:
    """The schema event records status changes made by update(), update_many() and raw queries."""
    a, b = await make_tasks(repos, "a", "b")
    await repos.tasks.update(a.id, {"status": "running"})
    await repos.tasks.update(a.id, {"title": "renamed"})  # not a status change: no event
    await repos.tasks.update_many({"id__in": [a.id, b.id]}, {"status": "cancelled"})
    await db.query("UPDATE $t SET status = 'pending'", {"t": RecordID("task", b.id)})
    assert [e.to_status.value for e in await repos.tasks.get_history(a.id)] == [
        "pending",
        "running",
        "cancelled",
    ]
    assert [e.to_status.value for e in await repos.tasks.get_history(b.id)] == [
        "pending",
        "cancelled",
        "pending",
    ]
    assert await repos.tasks.get_history(uuid.uuid4()) == []
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.tasks.get_history("nope")
    assert c.count == 0


# ----------------------------------------------------------------- transactions, deletion


async def test_dependency_and_lifecycle_inside_a_transaction(repos: Repositories, db: Database) -> None:
    a, b = Task(title="a"), Task(title="b")
    async with repos.transaction() as tx:
        await tx.tasks.create(a)
        await tx.tasks.create(b)
        await tx.tasks.add_dependency(a.id, b.id)
        await tx.tasks.start(b.id)
    assert [t.id for t in await repos.tasks.get_dependencies(a.id)] == [b.id]
    assert (await repos.tasks.get(b.id)).status is TaskStatus.RUNNING
    # a cycle inside a transaction aborts all of it
    c = Task(title="c")

    async def cyclic() -> None:
        async with repos.transaction() as tx:
            await tx.tasks.create(c)
            await tx.tasks.add_dependency(b.id, a.id)

    with pytest.raises(ValidationError) as info:
        await cyclic()
    assert info.value.code == "cycle"
    assert info.value.context["statement_index"] == 1
    assert await repos.tasks.get_by_id(c.id) is None
    assert await edge_count(db, "depends_on") == 1


async def test_guard_rows_stay_flat_along_a_chain(repos: Repositories, db: Database) -> None:
    """Adding ``k -> k-1`` at the head of a chain writes two guard rows (the target and the
    source, which nothing waits for yet), not one per task below it."""
    tasks = await make_tasks(repos, *(f"t{k}" for k in range(30)))
    for k in range(1, len(tasks)):
        await repos.tasks.add_dependency(tasks[k].id, tasks[k - 1].id)
    rows = await scalar(db, "SELECT math::sum(writes) AS writes FROM task_graph_guard GROUP ALL")
    assert rows[0]["writes"] == 2 * 29
    # the other end of the chain: everything above waits for the source, all guarded
    (tail,) = await make_tasks(repos, "tail")
    await repos.tasks.add_dependency(tasks[0].id, tail.id)
    rows = await scalar(db, "SELECT math::sum(writes) AS writes FROM task_graph_guard GROUP ALL")
    assert rows[0]["writes"] == 2 * 29 + 31


async def test_edges_among_created_tasks_are_checked_at_commit(repos: Repositories, db: Database) -> None:
    """A workflow with 50 new tasks and 49 edges: one request, no guard rows, no engine check."""
    wf = Workflow(name="wf")
    tasks = [Task(title=f"t{k}", workflow_id=wf.id) for k in range(50)]
    with db.count_requests() as c:
        async with repos.transaction() as tx:
            await tx.workflows.create(wf)
            for t in tasks:
                await tx.tasks.create(t)
            for k in range(1, len(tasks)):
                await tx.tasks.add_dependency(tasks[k].id, tasks[k - 1].id)
    assert c.count == 1
    assert await edge_count(db, "depends_on") == 49
    assert await scalar(db, "SELECT * FROM task_graph_guard") == []
    order = await repos.tasks.topological_order(wf.id)
    assert [t.id for t in order] == [t.id for t in tasks]


async def test_cycle_among_created_tasks_is_refused_before_sending(repos: Repositories, db: Database) -> None:
    a, b, c = Task(title="a"), Task(title="b"), Task(title="c")
    async with repos.transaction() as tx:
        await tx.tasks.create_many([a, b, c])
        await tx.tasks.add_dependency(a.id, b.id)
        await tx.tasks.add_dependency(b.id, c.id)
        closing = await tx.tasks.add_dependency(c.id, a.id)
        with db.count_requests() as sent, pytest.raises(ValidationError) as info:
            await buffered(tx).commit()
    assert sent.count == 0
    assert info.value.code == "cycle"
    assert info.value.context["thrown"] == "cycle"
    assert info.value.context["path"] == [f"task:{x.id}" for x in (c, a, b, c)]
    assert info.value.context["statement_index"] == closing.index  # type: ignore[attr-defined]
    assert buffered(tx).state is TransactionState.FAILED
    assert await repos.tasks.get_by_id(a.id) is None


async def test_created_task_edges_removed_or_deleted_in_the_transaction(repos: Repositories) -> None:
    """An edge removed (or a task deleted) inside the transaction no longer counts as a cycle."""
    a, b, c = Task(title="a"), Task(title="b"), Task(title="c")
    async with repos.transaction() as tx:
        await tx.tasks.create_many(iter([a, b, c]))
        await tx.tasks.add_dependency(a.id, b.id)
        await tx.tasks.remove_dependency(a.id, b.id)
        await tx.tasks.add_dependency(b.id, a.id)
        await tx.tasks.add_dependency(c.id, b.id)
        await tx.tasks.delete(c.id)
    assert [t.id for t in await repos.tasks.get_dependencies(b.id)] == [a.id]
    assert await repos.tasks.get_dependencies(a.id) == []
    assert await repos.tasks.get_by_id(c.id) is None


async def test_cycle_through_existing_tasks_and_a_created_one(repos: Repositories, db: Database) -> None:
    """x already waits for y; a new task a waits for x, and y is made to wait for a: the
    cycle a -> x -> y -> a leaves the new tasks, so the check appended at commit refuses it."""
    x, y = await make_tasks(repos, "x", "y")
    await repos.tasks.add_dependency(x.id, y.id)
    a = Task(title="a")
    with pytest.raises(NotFoundError):
        async with repos.transaction() as tx:
            await tx.tasks.add_dependency(y.id, a.id)  # not created (yet): a missing task
    async with repos.transaction() as tx:
        await tx.tasks.create(a)
        await tx.tasks.add_dependency(a.id, x.id)
        await tx.tasks.add_dependency(y.id, a.id)
        with db.count_requests() as sent, pytest.raises(ValidationError) as info:
            await buffered(tx).commit()
    assert sent.count == 1
    assert info.value.code == "cycle"
    # the first of the transaction's edges on the cycle is the one refused
    assert info.value.context["path"] == [f"task:{i}" for i in (a.id, x.id, y.id, a.id)]
    assert await repos.tasks.get_by_id(a.id) is None
    assert await edge_count(db, "depends_on") == 1
    # without the closing edge the same transaction commits
    async with repos.transaction() as tx:
        await tx.tasks.create(a)
        await tx.tasks.add_dependency(a.id, x.id)
        await tx.tasks.add_dependency(a.id, y.id)
    assert await edge_count(db, "depends_on") == 3


async def test_transaction_errors_carry_the_structured_throw_fields(repos: Repositories) -> None:
    """Queued statements are not remapped by the repository: the THROW codec's fields reach the caller."""
    a, b = await make_tasks(repos, "a", "b")
    await repos.tasks.add_dependency(a.id, b.id)
    with pytest.raises(ValidationError) as info:
        async with repos.transaction() as tx:
            await tx.tasks.add_dependency(b.id, a.id)
    assert info.value.code == "cycle"
    assert info.value.context["thrown"] == "cycle"
    assert info.value.context["path"] == [f"task:{x.id}" for x in (b, a, b)]
    with pytest.raises(ConflictError) as conflict:
        async with repos.transaction() as tx:
            await tx.tasks.complete(a.id)  # pending -> completed skips running
    assert conflict.value.context["thrown"] == "invalid_state"
    assert (conflict.value.context["table"], conflict.value.context["status"]) == ("task", "pending")
    with pytest.raises(NotFoundError) as missing:
        async with repos.transaction() as tx:
            await tx.tasks.add_dependency(a.id, uuid.uuid4())
    assert missing.value.context["table"] == "task"
    assert missing.value.context["argument"] == "depends_on_id"


async def test_delete_task_leaves_no_dangling_edges(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    a, b, c = await make_tasks(repos, "a", "b", "c", workflow_id=wf.id)
    await repos.tasks.add_dependency(a.id, b.id)
    await repos.tasks.add_dependency(b.id, c.id)
    await repos.tasks.start(b.id)
    assert await edge_count(db, "depends_on") == 2
    assert await edge_count(db, "has_task") == 3
    assert await repos.tasks.delete(b.id) is True
    assert await edge_count(db, "depends_on") == 0  # both directions of b are gone
    assert await edge_count(db, "has_task") == 2
    rb = RecordID("task", b.id)
    assert await scalar(db, "SELECT * FROM depends_on WHERE in = $t OR out = $t", {"t": rb}) == []
    assert await scalar(db, "SELECT * FROM has_task WHERE out = $t", {"t": rb}) == []
    assert await scalar(db, "SELECT * FROM task_event WHERE task = $t", {"t": rb}) == []
    assert await scalar(db, "SELECT * FROM task_graph_guard WHERE task = $t", {"t": rb}) == []
    assert await repos.tasks.get_dependencies(a.id) == []
    assert [t.id for t in await repos.workflows.get_tasks(wf.id)] == [a.id, c.id]
    # a and c are independent again: the former cycle-closing edge is now allowed
    await repos.tasks.add_dependency(c.id, a.id)


async def test_concurrent_starts_exactly_one_wins(repos: Repositories) -> None:
    """Lifecycle checks run inside the writing request: racing starts cannot both succeed."""
    for _ in range(5):
        (task,) = await make_tasks(repos, "t")
        results = await asyncio.gather(
            *(repos.tasks.start(task.id) for _ in range(4)), return_exceptions=True
        )
        winners = [r for r in results if isinstance(r, Task)]
        losers = [r for r in results if not isinstance(r, Task)]
        assert len(winners) == 1
        assert all(isinstance(r, ConflictError) and r.code == "invalid_transition" for r in losers), losers
        history = await repos.tasks.get_history(task.id)
        assert [e.to_status.value for e in history] == ["pending", "running"]
