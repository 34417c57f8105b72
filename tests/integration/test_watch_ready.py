"""``tasks.watch_ready`` (issue 14, item 4): each task once per time it becomes ready.

Concurrent completions of shared dependencies yield each dependent exactly once; a
task that leaves readiness and comes back (started, failed, retried) is yielded
again; and an orchestrator process stopped and restarted on surrealkv:// resumes
from its saved cursor with no task lost and none repeated.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import refused

from agentical_repo import Database, DatabaseSettings, Repositories, ValidationError
from agentical_repo.models import Task, TaskStatus, Workflow
from agentical_repo.repositories.ready import ReadyWatch

CHILD = Path(__file__).with_name("ready_child.py")


async def done(repos: Repositories, task: Task) -> None:
    await repos.tasks.set_status(task.id, TaskStatus.RUNNING)
    await repos.tasks.set_status(task.id, TaskStatus.COMPLETED)


async def collect(watch: ReadyWatch, out: list[uuid.UUID], stop: asyncio.Event) -> None:
    async for task in watch:
        out.append(task.id)
        if stop.is_set():
            return


async def test_concurrent_completions_yield_each_task_once(repos: Repositories) -> None:
    wf = await repos.workflows.create(Workflow(name="fan-in"))
    roots = [await repos.tasks.create(Task(title=f"root{i}", workflow_id=wf.id)) for i in range(6)]
    leaves = []
    for i in range(12):
        leaf = await repos.tasks.create(Task(title=f"leaf{i}", workflow_id=wf.id))
        for root in roots:  # every leaf waits for every root
            await repos.tasks.add_dependency(leaf.id, root.id)
        leaves.append(leaf)
    got: list[uuid.UUID] = []
    stop = asyncio.Event()
    watch = repos.tasks.watch_ready(wf.id, poll_interval=0.01, max_interval=0.05, settle=0.05)
    watcher = asyncio.create_task(collect(watch, got, stop))
    for _ in range(200):
        if len(got) == len(roots):
            break
        await asyncio.sleep(0.02)
    assert Counter(got) == Counter(r.id for r in roots)
    # all six roots complete at once: the leaves become ready once, whichever completion was last
    await asyncio.gather(*(done(repos, r) for r in roots))
    for _ in range(300):
        if len(got) >= len(roots) + len(leaves):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # several more polls and the settled feed: nothing more may come
    stop.set()
    watcher.cancel()
    counts = Counter(got)
    assert set(counts) == {t.id for t in roots + leaves}
    assert max(counts.values()) == 1


async def test_leaving_and_reentering_readiness_is_a_new_transition(repos: Repositories) -> None:
    wf = await repos.workflows.create(Workflow(name="retry"))
    task = await repos.tasks.create(Task(title="flaky", workflow_id=wf.id))
    watch = repos.tasks.watch_ready(wf.id, poll_interval=0.01, max_interval=0.02, settle=0.01)
    first = await asyncio.wait_for(anext(watch), 5)
    assert first.id == task.id
    # started, failed and retried before the watch polls again: ready again, yielded again
    await repos.tasks.set_status(task.id, TaskStatus.RUNNING)
    await repos.tasks.set_status(task.id, TaskStatus.FAILED)
    await repos.tasks.set_status(task.id, TaskStatus.PENDING)
    second = await asyncio.wait_for(anext(watch), 5)
    assert second.id == task.id
    assert second.version > first.version
    # a write that keeps it pending and ready is no transition
    await repos.tasks.update(task.id, {"priority": 5})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(watch), 0.4)


async def test_cursor_resumes_in_process_and_is_checked(repos: Repositories, db: Database) -> None:
    wf = await repos.workflows.create(Workflow(name="resume"))
    a = await repos.tasks.create(Task(title="a", workflow_id=wf.id, priority=2))
    b = await repos.tasks.create(Task(title="b", workflow_id=wf.id, priority=1))
    watch = repos.tasks.watch_ready(wf.id, poll_interval=0.01, settle=0.01)
    assert (await anext(watch)).id == a.id
    cursor = watch.cursor
    assert cursor is not None
    again = repos.tasks.watch_ready(wf.id, since=cursor, poll_interval=0.01, settle=0.01)
    assert (await asyncio.wait_for(anext(again), 5)).id == b.id  # a is not repeated
    other = await repos.workflows.create(Workflow(name="other"))
    with pytest.raises(ValidationError):
        repos.tasks.watch_ready(other.id, since=cursor)
    await refused(db, lambda: anext(repos.tasks.watch_ready(wf.id, since="rw1.garbage")))


async def run_child(url: str, wf: uuid.UUID, state: Path, stop_after: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        url,
        str(wf),
        str(state),
        str(stop_after),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]


async def test_restart_on_surrealkv_resumes_without_loss_or_repeats(tmp_path: Path) -> None:
    url = f"surrealkv://{tmp_path / 'store'}"
    settings = DatabaseSettings(url=url, namespace="t", database="ready")
    async with Database(settings) as db:
        await db.apply_schema()
        repos = Repositories(db)
        wf = await repos.workflows.create(Workflow(name="dag"))
        layer0 = [await repos.tasks.create(Task(title=f"a{i}", workflow_id=wf.id)) for i in range(4)]
        layer1 = [await repos.tasks.create(Task(title=f"b{i}", workflow_id=wf.id)) for i in range(4)]
        layer2 = [await repos.tasks.create(Task(title=f"c{i}", workflow_id=wf.id)) for i in range(4)]
        for i in range(4):
            await repos.tasks.add_dependency(layer1[i].id, layer0[i].id)
            await repos.tasks.add_dependency(layer1[i].id, layer0[(i + 1) % 4].id)
            await repos.tasks.add_dependency(layer2[i].id, layer1[i].id)
        everything = {t.id for t in layer0 + layer1 + layer2}
    state = tmp_path / "state.json"
    await run_child(url, wf.id, state, stop_after=5)  # 5th task recorded, not done
    first = json.loads(state.read_text())["handled"]
    assert len(first) == 5
    # while the orchestrator is down, another worker does that 5th task
    async with Database(settings) as db:
        await done(Repositories(db), await Repositories(db).tasks.get(first[-1]))
    await run_child(url, wf.id, state, stop_after=100)
    handled = [uuid.UUID(h) for h in json.loads(state.read_text())["handled"]]
    assert Counter(handled) == Counter(everything)  # every task once: no loss, no repeat
