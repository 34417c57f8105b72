"""WorkflowRepository on the real engine: status lookups, executions (start/finish/history),
state merging, metrics, and task membership (has_task edges)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import cast

import pytest
from conftest import scalar
from factories import bad_ids, make_workflow
from surrealdb import RecordID

from agentical_repo import (
    ConflictError,
    Database,
    NotFoundError,
    PaginationParams,
    Repositories,
    ValidationError,
)
from agentical_repo.models import (
    ExecutionStatus,
    Task,
    TaskStatus,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)
from agentical_repo.surql import builder

BAD_IDS = bad_ids("workflow")


async def has_task_edges(db: Database) -> list[tuple[uuid.UUID, uuid.UUID, int | None]]:
    rows = await scalar(db, "SELECT in, out, position FROM has_task")
    return sorted((r["in"].id, r["out"].id, r.get("position")) for r in rows)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (what the engine's math::percentile does)."""
    data = sorted(values)
    rank = q / 100 * (len(data) - 1)
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


# ----------------------------------------------------------------- lookups


async def test_get_by_status(repos: Repositories, db: Database) -> None:
    draft = await make_workflow(repos, "d")
    active = await make_workflow(repos, "a", status=WorkflowStatus.ACTIVE)
    active2 = await make_workflow(repos, "b", status=WorkflowStatus.ACTIVE)
    assert {w.id for w in await repos.workflows.get_by_status(WorkflowStatus.ACTIVE)} == {
        active.id,
        active2.id,
    }
    assert [w.id for w in await repos.workflows.get_by_status("draft")] == [draft.id]
    assert await repos.workflows.get_by_status("cancelled") == []
    # without pagination: every match (no silent cut at 50), by name
    await repos.workflows.create_many(
        Workflow(name=f"w{i:03d}", status=WorkflowStatus.PAUSED) for i in range(60)
    )
    with db.count_requests() as c:
        paused = await repos.workflows.get_by_status("paused")
    assert c.count == 1
    assert [w.name for w in paused] == [f"w{i:03d}" for i in range(60)]
    page = await repos.workflows.get_by_status("active", PaginationParams(limit=1, order_by=("name",)))
    assert [w.id for w in page] == [active.id]
    with db.count_requests() as c:
        for bad in ("archived", None, 1, "ACTIVE"):
            with pytest.raises(ValidationError):
                await repos.workflows.get_by_status(bad)  # type: ignore[arg-type]
    assert c.count == 0


# ----------------------------------------------------------------- executions


async def test_start_and_finish_execution(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    with db.count_requests() as c:
        run = await repos.workflows.start_execution(wf.id)
    assert c.count == 1
    assert run.workflow_id == wf.id
    assert run.status is ExecutionStatus.RUNNING
    assert run.started_at is not None
    assert run.finished_at is None
    assert run.duration_ms is None
    await asyncio.sleep(0.05)
    with db.count_requests() as c:
        done = await repos.workflows.finish_execution(
            run.id, ExecutionStatus.COMPLETED, {"rows": 3, "x": None}
        )
    assert c.count == 1
    assert done.status is ExecutionStatus.COMPLETED
    assert done.result == {"rows": 3, "x": None}
    assert done.error is None
    assert done.started_at == run.started_at
    assert done.finished_at is not None
    assert done.finished_at > run.started_at
    # duration is computed by the database from its own timestamps
    assert done.duration_ms is not None
    assert done.duration_ms >= 50
    span_ms = (done.finished_at - run.started_at).total_seconds() * 1000
    assert abs(done.duration_ms - span_ms) < 1
    assert await repos.workflows.get_execution(run.id) == done
    assert (await repos.workflows.get(wf.id)).version == wf.version  # the workflow is untouched


async def test_finish_with_error_and_cancelled(repos: Repositories) -> None:
    wf = await make_workflow(repos)
    one, two = await repos.workflows.start_execution(wf.id), await repos.workflows.start_execution(wf.id)
    failed = await repos.workflows.finish_execution(one.id, "failed", error="step 3 timed out")
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error == "step 3 timed out"
    assert failed.result == {}
    cancelled = await repos.workflows.finish_execution(str(two.id), "cancelled")
    assert cancelled.status is ExecutionStatus.CANCELLED


async def test_finishing_twice_is_refused(repos: Repositories) -> None:
    wf = await make_workflow(repos)
    run = await repos.workflows.start_execution(wf.id)
    first = await repos.workflows.finish_execution(run.id, "completed", {"a": 1})
    for status in ("completed", "failed"):
        with pytest.raises(ConflictError) as info:
            await repos.workflows.finish_execution(run.id, status, {"a": 2})
        assert info.value.code == "already_finished"
        assert info.value.context["status"] == "completed"
    assert await repos.workflows.get_execution(run.id) == first


async def test_execution_missing_and_bad_input(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    run = await repos.workflows.start_execution(wf.id)
    with pytest.raises(NotFoundError) as info:
        await repos.workflows.start_execution(uuid.uuid4())
    assert info.value.context["table"] == "workflow"
    with pytest.raises(NotFoundError) as info:
        await repos.workflows.finish_execution(uuid.uuid4(), "completed")
    assert info.value.context["table"] == "workflow_execution"
    assert await repos.workflows.get_execution(uuid.uuid4()) is None
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.start_execution(bad)
            with pytest.raises(ValidationError):
                await repos.workflows.finish_execution(bad, "completed")
        for status in ("running", "bogus", None, 3, "COMPLETED"):
            with pytest.raises(ValidationError) as verr:
                await repos.workflows.finish_execution(run.id, status)  # type: ignore[arg-type]
            assert verr.value.context["argument"] == "status"
        with pytest.raises(ValidationError):
            await repos.workflows.finish_execution(run.id, "failed", result=["x"])  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await repos.workflows.finish_execution(run.id, "failed", error=123)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await repos.workflows.finish_execution(run.id, "failed", error="x" * 10_001)
    assert c.count == 0
    assert (await repos.workflows.get_execution(run.id)).status is ExecutionStatus.RUNNING  # type: ignore[union-attr]


async def test_execution_history_newest_first_keyset_pages(repos: Repositories, db: Database) -> None:
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    runs = [await repos.workflows.start_execution(wf.id) for _ in range(7)]
    await repos.workflows.start_execution(other.id)
    await repos.workflows.finish_execution(runs[2].id, "completed")
    seen: list[WorkflowExecution] = []
    cursor = None
    pages = 0
    while True:
        with db.count_requests() as c:
            page = await repos.workflows.get_execution_history(wf.id, limit=3, after=cursor)
        assert c.count == 1
        pages += 1
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [r.id for r in seen] == [r.id for r in reversed(runs)]
    started = [r.started_at for r in seen]
    assert started == sorted(cast("list[datetime]", started), reverse=True)
    assert next(r for r in seen if r.id == runs[2].id).status is ExecutionStatus.COMPLETED
    # a new run shows up first, without disturbing an open cursor
    first = await repos.workflows.get_execution_history(wf.id, limit=2)
    newer = await repos.workflows.start_execution(wf.id)
    rest = await repos.workflows.get_execution_history(wf.id, limit=10, after=first.next_cursor)
    assert [r.id for r in rest.items] == [r.id for r in reversed(runs[:5])]
    assert (await repos.workflows.get_execution_history(wf.id, limit=1)).items[0].id == newer.id
    empty = await repos.workflows.get_execution_history(uuid.uuid4())
    assert empty.items == []
    assert empty.next_cursor is None
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.get_execution_history(bad)
        for limit in (0, 1001, -1, "5", True):
            with pytest.raises(ValidationError):
                await repos.workflows.get_execution_history(wf.id, limit=limit)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await repos.workflows.get_execution_history(wf.id, after="garbage!")
    assert c.count == 0


# ----------------------------------------------------------------- state


async def test_update_execution_state_deep_merges_and_bumps_version(
    repos: Repositories, db: Database
) -> None:
    wf = await make_workflow(repos, state={"step": 1, "ctx": {"a": 1, "keep": {"x": 1}}, "list": [1, 2]})
    with db.count_requests() as c:
        merged = await repos.workflows.update_execution_state(
            wf.id, {"step": 2, "ctx": {"b": 2, "keep": {"y": 2}}, "list": [3], "cleared": None}
        )
    assert c.count == 1
    assert merged.state == {
        "step": 2,
        "ctx": {"a": 1, "b": 2, "keep": {"x": 1, "y": 2}},
        "list": [3],
        "cleared": None,
    }
    assert merged.version == wf.version + 1
    assert merged.name == wf.name
    assert merged.definition == wf.definition
    assert (await repos.workflows.get(wf.id)).state == merged.state
    again = await repos.workflows.update_execution_state(wf.id, {"step": 3}, expected_version=merged.version)
    assert again.version == merged.version + 1
    assert again.state["step"] == 3
    with pytest.raises(ConflictError) as info:
        await repos.workflows.update_execution_state(wf.id, {"step": 4}, expected_version=merged.version)
    assert info.value.code == "stale_version"
    assert (await repos.workflows.get(wf.id)).state["step"] == 3


async def test_concurrent_state_merges_lose_nothing(repos: Repositories) -> None:
    wf = await make_workflow(repos)
    await asyncio.gather(*(repos.workflows.update_execution_state(wf.id, {f"k{i}": i}) for i in range(10)))
    final = await repos.workflows.get(wf.id)
    assert final.state == {f"k{i}": i for i in range(10)}
    assert final.version == wf.version + 10


async def test_update_execution_state_missing_and_bad_input(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    with pytest.raises(NotFoundError):
        await repos.workflows.update_execution_state(uuid.uuid4(), {"a": 1})
    with db.count_requests() as c:
        for bad_state in ({}, None, [("a", 1)], "a=1", {1: "x"}):
            with pytest.raises(ValidationError) as info:
                await repos.workflows.update_execution_state(wf.id, bad_state)  # type: ignore[arg-type]
            assert info.value.context["argument"] == "state"
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.update_execution_state(bad, {"a": 1})
        with pytest.raises(ValidationError):
            await repos.workflows.update_execution_state(wf.id, {"a": 1}, expected_version="1")  # type: ignore[arg-type]
    assert c.count == 0


# ----------------------------------------------------------------- metrics


async def test_workflow_metrics_one_request(repos: Repositories, db: Database) -> None:
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    durations = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 1000.0]
    statuses = ["completed"] * 6 + ["failed"] * 3 + ["cancelled"]
    for status, ms in zip(statuses, durations, strict=True):
        run = WorkflowExecution(workflow_id=wf.id, status=ExecutionStatus(status), duration_ms=ms)
        await db.execute(builder.create("workflow_execution", run.id, run.to_record()))
    await repos.workflows.start_execution(wf.id)  # running: counted, not in success rate or durations
    await repos.workflows.start_execution(other.id)
    for status in ("pending", "pending", "running", "completed"):
        await repos.tasks.create(Task(title=status, status=TaskStatus(status), workflow_id=wf.id))
    await repos.tasks.create(Task(title="foreign", workflow_id=other.id))
    with db.count_requests() as c:
        m = await repos.workflows.get_workflow_metrics(wf.id)
    assert c.count == 1
    assert m.workflow_id == wf.id
    assert m.executions_total == 11
    assert m.executions_by_status == {"completed": 6, "failed": 3, "cancelled": 1, "running": 1}
    assert m.success_rate == pytest.approx(0.6)
    assert m.avg_duration_ms == pytest.approx(sum(durations) / len(durations))
    assert m.p95_duration_ms == pytest.approx(percentile(durations, 95))
    assert m.tasks_by_status == {"pending": 2, "running": 1, "completed": 1}


async def test_workflow_metrics_empty_missing_bad(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    m = await repos.workflows.get_workflow_metrics(wf.id)
    assert (m.executions_total, m.executions_by_status, m.success_rate) == (0, {}, 0.0)
    assert m.avg_duration_ms is None
    assert m.p95_duration_ms is None
    assert m.tasks_by_status == {}
    await repos.workflows.start_execution(wf.id)
    m = await repos.workflows.get_workflow_metrics(wf.id)
    assert m.executions_total == 1
    assert m.success_rate == 0.0
    assert m.avg_duration_ms is None
    with db.count_requests() as c, pytest.raises(NotFoundError):
        await repos.workflows.get_workflow_metrics(uuid.uuid4())
    assert c.count == 1
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.get_workflow_metrics(bad)
    assert c.count == 0


# ----------------------------------------------------------------- tasks


async def test_add_task_relates_and_sets_membership_idempotently(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    task = await repos.tasks.create(Task(title="t"))
    with db.count_requests() as c:
        added = await repos.workflows.add_task(wf.id, task.id, position=2)
    assert c.count == 1
    assert added.workflow_id == wf.id
    assert added.version == task.version + 1
    assert await has_task_edges(db) == [(wf.id, task.id, 2)]
    again = await repos.workflows.add_task(wf.id, task.id)  # position kept, version not bumped
    assert again.version == added.version
    assert await has_task_edges(db) == [(wf.id, task.id, 2)]
    await repos.workflows.add_task(wf.id, task.id, position=0)
    assert await has_task_edges(db) == [(wf.id, task.id, 0)]
    rid = RecordID("has_task", [RecordID("workflow", wf.id), RecordID("task", task.id)])
    assert (await scalar(db, "SELECT VALUE id FROM has_task"))[0] == rid


async def test_transaction_errors_carry_the_structured_throw_fields(repos: Repositories) -> None:
    """Queued statements are not remapped by the repository: the THROW codec's fields reach the caller."""
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    task = await repos.tasks.create(Task(title="t", workflow_id=other.id))
    with pytest.raises(ConflictError) as info:
        async with repos.transaction() as tx:
            await tx.workflows.add_task(wf.id, task.id)
    assert info.value.context["thrown"] == "invalid_state"
    assert info.value.context["table"] == "task"
    assert info.value.context["workflow"] == f"workflow:{other.id}"
    run = await repos.workflows.start_execution(wf.id)
    await repos.workflows.finish_execution(run.id, "failed")
    with pytest.raises(ConflictError) as info:
        async with repos.transaction() as tx:
            await tx.workflows.finish_execution(run.id, "completed")
    assert info.value.context["thrown"] == "invalid_state"
    assert (info.value.context["table"], info.value.context["status"]) == ("workflow_execution", "failed")
    with pytest.raises(NotFoundError) as missing:
        async with repos.transaction() as tx:
            await tx.workflows.start_execution(uuid.uuid4())
    assert (missing.value.context["thrown"], missing.value.context["table"]) == ("not_found", "workflow")


async def test_add_task_refusals(repos: Repositories, db: Database) -> None:
    wf, other = await make_workflow(repos), await make_workflow(repos, "other")
    task = await repos.tasks.create(Task(title="t", workflow_id=other.id))
    with pytest.raises(ConflictError) as info:
        await repos.workflows.add_task(wf.id, task.id)
    assert info.value.code == "other_workflow"
    ghost = uuid.uuid4()
    with pytest.raises(NotFoundError) as missing:
        await repos.workflows.add_task(ghost, task.id)
    assert missing.value.context["missing"] == "workflow"
    assert missing.value.context["id"] == str(ghost)
    with pytest.raises(NotFoundError) as missing:
        await repos.workflows.add_task(wf.id, ghost)
    assert missing.value.context["missing"] == "task"
    assert missing.value.context["id"] == str(ghost)
    assert await has_task_edges(db) == [(other.id, task.id, None)]
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.add_task(bad, task.id)
            with pytest.raises(ValidationError):
                await repos.workflows.add_task(wf.id, bad)
        for position in (-1, 1_000_001, "1", 1.5, True):
            with pytest.raises(ValidationError):
                await repos.workflows.add_task(wf.id, task.id, position=position)  # type: ignore[arg-type]
    assert c.count == 0


async def test_get_tasks_one_traversal_in_position_order(repos: Repositories, db: Database) -> None:
    wf = await make_workflow(repos)
    created_with_field = await repos.tasks.create(Task(title="field", workflow_id=wf.id))
    later = await repos.tasks.create(Task(title="later"))
    first = await repos.tasks.create(Task(title="first"))
    await repos.workflows.add_task(wf.id, later.id, position=5)
    await repos.workflows.add_task(wf.id, first.id, position=1)
    await repos.tasks.create(Task(title="loose"))
    with db.count_requests() as c:
        tasks = await repos.workflows.get_tasks(wf.id)
    assert c.count == 1
    assert [t.title for t in tasks] == ["first", "later", "field"]
    assert tasks[2] == await repos.tasks.get(created_with_field.id)
    assert await repos.workflows.get_tasks(uuid.uuid4()) == []
    assert await repos.workflows.get_tasks((await make_workflow(repos, "empty")).id) == []
    with db.count_requests() as c:
        for bad in BAD_IDS:
            with pytest.raises(ValidationError):
                await repos.workflows.get_tasks(bad)
    assert c.count == 0


async def test_membership_follows_workflow_id_on_every_write_path(repos: Repositories, db: Database) -> None:
    """task.workflow_id is the truth; the has_task edge follows create, update, update_many, delete."""
    one, two = await make_workflow(repos, "one"), await make_workflow(repos, "two")
    task = await repos.tasks.create(Task(title="t", workflow_id=one.id))
    bulk = [Task(title=f"b{i}", workflow_id=one.id) for i in range(3)]
    await repos.tasks.create_many(bulk)
    assert len(await has_task_edges(db)) == 4
    await repos.tasks.update(task.id, {"workflow_id": two.id})
    assert [t.id for t in await repos.workflows.get_tasks(two.id)] == [task.id]
    assert task.id not in {t.id for t in await repos.workflows.get_tasks(one.id)}
    await repos.tasks.update_many({"workflow_id": one.id}, {"workflow_id": None})
    assert await repos.workflows.get_tasks(one.id) == []
    assert await has_task_edges(db) == [(two.id, task.id, None)]
    assert await repos.workflows.remove_task(two.id, task.id) is True
    assert await repos.workflows.remove_task(two.id, task.id) is False
    assert await has_task_edges(db) == []
    assert (await repos.tasks.get(task.id)).workflow_id is None


async def test_delete_workflow_leaves_no_dangling_edges(repos: Repositories, db: Database) -> None:
    wf, keep = await make_workflow(repos), await make_workflow(repos, "keep")
    a = await repos.tasks.create(Task(title="a", workflow_id=wf.id))
    b = await repos.tasks.create(Task(title="b", workflow_id=wf.id))
    k = await repos.tasks.create(Task(title="k", workflow_id=keep.id))
    await repos.tasks.add_dependency(a.id, b.id)
    run = await repos.workflows.start_execution(wf.id)
    assert await repos.workflows.delete(wf.id) is True
    assert await has_task_edges(db) == [(keep.id, k.id, None)]
    rw = RecordID("workflow", wf.id)
    assert await scalar(db, "SELECT * FROM has_task WHERE in = $w", {"w": rw}) == []
    # tasks survive, detached; their own dependency edge is theirs, not the workflow's
    assert (await repos.tasks.get(a.id)).workflow_id is None
    assert [t.id for t in await repos.tasks.get_dependencies(a.id)] == [b.id]
    assert await repos.workflows.get_execution(run.id) is None  # executions cascade
    assert await repos.workflows.get_tasks(wf.id) == []


async def test_workflow_id_of_a_missing_workflow_gets_no_edge(repos: Repositories, db: Database) -> None:
    """record<workflow> does not check existence; the schema event relates only real workflows."""
    ghost = uuid.uuid4()
    task = await repos.tasks.create(Task(title="t", workflow_id=ghost))
    assert task.workflow_id == ghost
    assert await has_task_edges(db) == []
    wf = await repos.workflows.create(Workflow(id=ghost, name="late"))
    assert await repos.workflows.get_tasks(wf.id) == []
    added = await repos.workflows.add_task(wf.id, task.id)  # repairs the edge, keeps the version
    assert added.version == task.version
    assert await has_task_edges(db) == [(wf.id, task.id, None)]


async def test_concurrent_finishes_exactly_one_wins(repos: Repositories) -> None:
    wf = await make_workflow(repos)
    for _ in range(5):
        run = await repos.workflows.start_execution(wf.id)
        results = await asyncio.gather(
            *(repos.workflows.finish_execution(run.id, s) for s in ("completed", "failed", "cancelled")),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, WorkflowExecution)]
        assert len(winners) == 1
        for r in results:
            if not isinstance(r, WorkflowExecution):
                assert isinstance(r, ConflictError)
                assert r.code == "already_finished"
                assert r.context["status"] == winners[0].status.value
        assert await repos.workflows.get_execution(run.id) == winners[0]
