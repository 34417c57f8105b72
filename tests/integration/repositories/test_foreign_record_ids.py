"""A RecordID of another table is refused wherever an id is expected: never retargeted.

Every entity method taking an id goes through one check (``BaseRepository._key`` or
``validation.as_uuid`` with the expected table), so ``RecordID("tool", u)`` passed as an
agent id is a ``ValidationError`` naming the argument, before any request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import refused
from surrealdb import RecordID

from agentical_repo import Database, Repositories

U = uuid.uuid4()
TOOL: Any = RecordID("tool", U)  # deliberately the wrong table (IdLike is UUID | str)
AGENT: Any = RecordID("agent", U)

CALLS: list[tuple[str, str, Callable[[Repositories], Awaitable[Any]]]] = [
    ("agents.get", "id", lambda r: r.agents.get(TOOL)),
    ("agents.get_by_id", "id", lambda r: r.agents.get_by_id(TOOL)),
    ("agents.update", "id", lambda r: r.agents.update(TOOL, {"name": "x"})),
    ("agents.delete", "id", lambda r: r.agents.delete(TOOL)),
    ("agents.update_state", "agent_id", lambda r: r.agents.update_state(TOOL, {"a": 1})),
    ("agents.get_agent_metrics", "agent_id", lambda r: r.agents.get_agent_metrics(TOOL)),
    ("agents.add_tool(agent)", "agent_id", lambda r: r.agents.add_tool(TOOL, U)),
    ("agents.add_tool(tool)", "tool_id", lambda r: r.agents.add_tool(U, AGENT)),
    ("agents.get_tools", "agent_id", lambda r: r.agents.get_tools(TOOL)),
    ("tools.track_usage", "tool_id", lambda r: r.tools.track_usage(AGENT, {})),
    ("tools.track_usage(agent)", "usage_data.agent_id", lambda r: r.tools.track_usage(U, {"agent_id": TOOL})),
    ("tools.get_usage_stats", "tool_id", lambda r: r.tools.get_usage_stats(AGENT)),
    ("tools.get_agents_using", "tool_id", lambda r: r.tools.get_agents_using(AGENT)),
    (
        "playbooks.record_execution",
        "playbook_id",
        lambda r: r.playbooks.record_execution(TOOL, "running", []),
    ),
    ("messages.search(user)", "user_id", lambda r: r.messages.search("x", user_id=AGENT)),
    ("tasks.add_dependency(task)", "task_id", lambda r: r.tasks.add_dependency(TOOL, U)),
    ("tasks.add_dependency(dep)", "depends_on_id", lambda r: r.tasks.add_dependency(U, TOOL)),
    ("tasks.remove_dependency", "task_id", lambda r: r.tasks.remove_dependency(TOOL, U)),
    ("tasks.get_dependencies", "task_id", lambda r: r.tasks.get_dependencies(TOOL)),
    ("tasks.assign(task)", "task_id", lambda r: r.tasks.assign(TOOL, U)),
    ("tasks.assign(agent)", "agent_id", lambda r: r.tasks.assign(U, TOOL)),
    ("tasks.get_ready_tasks", "workflow_id", lambda r: r.tasks.get_ready_tasks(TOOL)),
    ("tasks.complete", "task_id", lambda r: r.tasks.complete(TOOL)),
    ("workflows.start_execution", "workflow_id", lambda r: r.workflows.start_execution(TOOL)),
    ("workflows.finish_execution", "execution_id", lambda r: r.workflows.finish_execution(TOOL, "completed")),
    ("workflows.get_execution", "execution_id", lambda r: r.workflows.get_execution(TOOL)),
    ("workflows.get_execution_history", "workflow_id", lambda r: r.workflows.get_execution_history(TOOL)),
    (
        "workflows.update_execution_state",
        "workflow_id",
        lambda r: r.workflows.update_execution_state(TOOL, {}),
    ),
    ("workflows.get_workflow_metrics", "workflow_id", lambda r: r.workflows.get_workflow_metrics(TOOL)),
    ("workflows.add_task(workflow)", "workflow_id", lambda r: r.workflows.add_task(TOOL, U)),
    ("workflows.add_task(task)", "task_id", lambda r: r.workflows.add_task(U, TOOL)),
    ("workflows.get_tasks", "workflow_id", lambda r: r.workflows.get_tasks(TOOL)),
    ("workflows.get_workflow_graph", "workflow_id", lambda r: r.workflows.get_workflow_graph(TOOL)),
]


@pytest.mark.parametrize(("argument", "call"), [pytest.param(a, c, id=n) for n, a, c in CALLS])
async def test_record_id_of_another_table_is_refused(
    db: Database, repos: Repositories, argument: str, call: Callable[[Repositories], Awaitable[Any]]
) -> None:
    error = await refused(db, lambda: call(repos))
    assert error.context["argument"] == argument
