"""Read-modify-writes of one record go to the engine one at a time per process.

Why: the embedded engine (3.2.4) can accept two conflicting commits (see
``docs/engine-limitations.md``): a transition, an append or a version number computed
from a value the statement read can then be lost or doubled. Under full CPU load this
was seen for ``create_version`` (one number twice, 1 round in 15) and ``append_logs``
(an entry lost). Those outcomes need load to show; what prevents them, that no two
such requests for one record are in flight at once, is checked here deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from factories import make_tasks, make_workflow

from agentical_repo import AgenticalError, Repositories
from agentical_repo.models import Agent, ExecutionStatus, TaskStatus

Calls = Callable[[Repositories], Awaitable[tuple[str, list[Awaitable[Any]]]]]


async def _append_logs(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    pb = await repos.playbooks.create_version("p", {})
    ex = await repos.playbooks.record_execution(pb.id)
    return "id", [repos.playbooks.append_logs(ex.id, [{"i": i}]) for i in range(12)]


async def _create_version(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    return "name", [repos.playbooks.create_version("p", {}) for _ in range(12)]


async def _set_status(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    (task,) = await make_tasks(repos, "t")
    targets = [TaskStatus.RUNNING, TaskStatus.PENDING] * 6
    return "task", [repos.tasks.set_status(task.id, s) for s in targets]


async def _assign(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    (task,) = await make_tasks(repos, "t")
    agent = await repos.agents.create(Agent(name="a", agent_type="worker"))
    calls: list[Awaitable[Any]] = []
    for _ in range(6):
        calls += [repos.tasks.assign(task.id, agent.id), repos.tasks.unassign(task.id)]
    return "task", calls


async def _finish_execution(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    wf = await make_workflow(repos)
    ex = await repos.workflows.start_execution(wf.id)
    return "execution", [
        repos.workflows.finish_execution(ex.id, ExecutionStatus.COMPLETED) for _ in range(12)
    ]


async def _add_task(repos: Repositories) -> tuple[str, list[Awaitable[Any]]]:
    wf = await make_workflow(repos)
    (task,) = await make_tasks(repos, "t")
    return "task", [repos.workflows.add_task(wf.id, task.id, position=i) for i in range(12)]


CASES: dict[str, Calls] = {
    "append_logs": _append_logs,
    "create_version": _create_version,
    "set_status": _set_status,
    "assign_unassign": _assign,
    "finish_execution": _finish_execution,
    "add_task": _add_task,
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_one_request_per_record_at_a_time(
    case: str, db: Any, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, calls = await CASES[case](repos)
    in_flight = most = sent = 0
    execute = db.execute

    async def counting(statement: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, most, sent
        assert key in statement.vars, f"{case} sends no ${key}"
        in_flight += 1
        sent += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.002)  # room for every other caller to overlap
            return await execute(statement, *args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(db, "execute", counting)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert sent == len(calls)
    assert most == 1
    # refusals (finished twice, an invalid transition) are the library's errors, nothing else
    assert all(not isinstance(o, BaseException) or isinstance(o, AgenticalError) for o in outcomes)
