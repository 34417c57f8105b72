"""Cross-repository graph reads on the real engine: ``get_workflow_graph`` in one request, and
no dangling ``has_task``/``depends_on`` edges after deleting tasks or workflows."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from surrealdb import RecordID

from agentical_repo import Database, NotFoundError, Repositories, ValidationError
from agentical_repo.models import Agent, Task, TaskStatus, Workflow
from agentical_repo.models.graph import TaskDependency, WorkflowGraph


async def scalar(db: Database, text: str, vars: dict[str, Any] | None = None) -> Any:
    return (await db.query(text, vars or {}))[-1]


async def dangling_edges(db: Database) -> list[Any]:
    """Edges of the task graph whose either end no longer exists."""
    has_task, depends_on = await db.query(
        "SELECT VALUE id FROM has_task WHERE in.id = NONE OR out.id = NONE;"
        "SELECT VALUE id FROM depends_on WHERE in.id = NONE OR out.id = NONE;"
    )
    return [*has_task, *depends_on]


async def edge_count(db: Database, table: str) -> int:
    rows = await scalar(db, f"SELECT count() AS n FROM {table} GROUP ALL")
    return int(rows[0]["n"]) if rows else 0


async def build(repos: Repositories) -> dict[str, Any]:
    """A workflow with five tasks, a diamond of dependencies, two agents (one shared)."""
    wf = await repos.workflows.create(Workflow(name="pipeline", state={"run": 1}))
    alice = await repos.agents.create(Agent(name="alice", agent_type="llm"))
    bob = await repos.agents.create(Agent(name="bob", agent_type="tool"))
    await repos.agents.create(Agent(name="idle", agent_type="llm"))
    t = {}
    for name, agent in [
        ("fetch", alice),
        ("parse", bob),
        ("score", alice),
        ("report", None),
        ("extra", None),
    ]:
        t[name] = await repos.tasks.create(Task(title=name, agent_id=agent.id if agent else None))
    for pos, name in enumerate(["fetch", "parse", "score", "report"]):
        await repos.workflows.add_task(wf.id, t[name].id, position=pos)
    await repos.workflows.add_task(wf.id, t["extra"].id)  # unpositioned: listed last
    for src, dst in [("parse", "fetch"), ("score", "fetch"), ("report", "parse"), ("report", "score")]:
        await repos.tasks.add_dependency(t[src].id, t[dst].id)
    outside = await repos.tasks.create(Task(title="outside"))
    await repos.tasks.add_dependency(t["extra"].id, outside.id)
    return {"wf": wf, "alice": alice, "bob": bob, "t": t, "outside": outside}


async def test_workflow_graph_in_one_request(repos: Repositories, db: Database) -> None:
    g = await build(repos)
    t = g["t"]
    with db.count_requests() as c:
        graph = await repos.workflows.get_workflow_graph(g["wf"].id)
    assert c.count == 1
    assert isinstance(graph, WorkflowGraph)
    assert graph.workflow == await repos.workflows.get(g["wf"].id)
    assert [x.title for x in graph.tasks] == ["fetch", "parse", "score", "report", "extra"]
    assert graph.tasks[0] == await repos.tasks.get(t["fetch"].id)
    expected = {
        TaskDependency(task_id=t[src].id, depends_on_id=t[dst].id)
        for src, dst in [("parse", "fetch"), ("score", "fetch"), ("report", "parse"), ("report", "score")]
    }
    outside_edge = TaskDependency(task_id=t["extra"].id, depends_on_id=g["outside"].id)
    assert set(graph.dependencies) == expected | {outside_edge}
    assert len(graph.dependencies) == 5
    assert graph.external_dependencies == [outside_edge]
    assert [a.name for a in graph.agents] == ["alice", "bob"]  # distinct, the idle agent is not there
    assert set(graph.dependencies_of(t["report"].id)) == {t["parse"].id, t["score"].id}
    assert set(graph.dependents_of(t["fetch"].id)) == {t["parse"].id, t["score"].id}
    assert graph.task(t["parse"].id) is not None
    assert graph.task(uuid.uuid4()) is None


async def test_workflow_graph_reflects_changes(repos: Repositories, db: Database) -> None:
    g = await build(repos)
    t = g["t"]
    await repos.tasks.unassign(t["parse"].id)
    await repos.tasks.remove_dependency(t["report"].id, t["score"].id)
    await repos.tasks.start(t["fetch"].id)
    graph = await repos.workflows.get_workflow_graph(g["wf"].id)
    assert [a.name for a in graph.agents] == ["alice"]
    assert graph.dependencies_of(t["report"].id) == [t["parse"].id]
    assert graph.task(t["fetch"].id).status is TaskStatus.RUNNING  # type: ignore[union-attr]


async def test_workflow_graph_empty_missing_bad(repos: Repositories, db: Database) -> None:
    wf = await repos.workflows.create(Workflow(name="empty"))
    graph = await repos.workflows.get_workflow_graph(wf.id)
    assert graph.workflow.id == wf.id
    assert (graph.tasks, graph.dependencies, graph.agents) == ([], [], [])
    with db.count_requests() as c, pytest.raises(NotFoundError):
        await repos.workflows.get_workflow_graph(uuid.uuid4())
    assert c.count == 1
    with db.count_requests() as c:
        for bad in ["nope", 1, None, RecordID("workflow", "x")]:
            with pytest.raises(ValidationError):
                await repos.workflows.get_workflow_graph(bad)  # type: ignore[arg-type]
    assert c.count == 0


async def test_one_request_for_every_graph_read(repos: Repositories, db: Database) -> None:
    """Request counts of the graph, metrics and cross-entity reads, on a populated graph."""
    g = await build(repos)
    wf, t = g["wf"].id, g["t"]
    calls = {
        "get_workflow_graph": repos.workflows.get_workflow_graph(wf),
        "get_workflow_metrics": repos.workflows.get_workflow_metrics(wf),
        "get_tasks": repos.workflows.get_tasks(wf),
        "get_execution_history": repos.workflows.get_execution_history(wf),
        "get_by_workflow": repos.tasks.get_by_workflow(wf),
        "get_ready_tasks": repos.tasks.get_ready_tasks(wf),
        "topological_order": repos.tasks.topological_order(wf),
        "get_dependencies": repos.tasks.get_dependencies(t["report"].id, recursive=True),
        "get_dependents": repos.tasks.get_dependents(t["fetch"].id, recursive=True),
        "get_history": repos.tasks.get_history(t["fetch"].id),
    }
    counts = {}
    for name, call in calls.items():
        with db.count_requests() as c:
            await call
        counts[name] = c.count
    assert counts == dict.fromkeys(calls, 1)
    order = await repos.tasks.topological_order(wf)
    # ready ties broken by creation: extra (no in-workflow dependency) was created last
    assert [x.title for x in order] == ["fetch", "parse", "score", "report", "extra"]


async def test_deleting_tasks_and_workflows_leaves_no_dangling_edges(
    repos: Repositories, db: Database
) -> None:
    g = await build(repos)
    t = g["t"]
    assert await edge_count(db, "has_task") == 5
    assert await edge_count(db, "depends_on") == 5
    # a task in the middle of the diamond: its in- and out-edges and its has_task edge go
    assert await repos.tasks.delete(t["parse"].id)
    assert await edge_count(db, "has_task") == 4
    assert await edge_count(db, "depends_on") == 3
    assert await dangling_edges(db) == []
    graph = await repos.workflows.get_workflow_graph(g["wf"].id)
    assert t["parse"].id not in {x.id for x in graph.tasks}
    assert all(t["parse"].id not in (d.task_id, d.depends_on_id) for d in graph.dependencies)
    # the task outside the workflow
    assert await repos.tasks.delete(g["outside"].id)
    assert await edge_count(db, "depends_on") == 2
    # the workflow: every has_task edge goes, tasks stay (detached) with their own edges
    assert await repos.workflows.delete(g["wf"].id)
    assert await edge_count(db, "has_task") == 0
    assert await edge_count(db, "depends_on") == 2
    assert await dangling_edges(db) == []
    # then every task: nothing is left in either edge table
    for name in ("fetch", "score", "report", "extra"):
        assert await repos.tasks.delete(t[name].id)
    assert await edge_count(db, "depends_on") == 0
    assert await edge_count(db, "has_task") == 0
    assert await scalar(db, "SELECT * FROM task_graph_guard") == []
    assert await scalar(db, "SELECT * FROM task_event") == []


async def test_delete_many_tasks_leaves_no_dangling_edges(repos: Repositories, db: Database) -> None:
    g = await build(repos)
    removed = await repos.tasks.delete_many({"title__in": ["fetch", "report"]})
    assert removed == 2
    assert await dangling_edges(db) == []
    assert await edge_count(db, "depends_on") == 1  # extra -> outside
    assert await edge_count(db, "has_task") == 3
    assert {x.title for x in await repos.workflows.get_tasks(g["wf"].id)} == {"parse", "score", "extra"}
