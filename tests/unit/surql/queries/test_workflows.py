"""Golden text and vars of ``surql.queries.workflows`` (no I/O; the integration tests run them)."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import workflows as q

from ._golden import check

WORKFLOW = RecordID("workflow", uuid.UUID("00000000-0000-4000-8000-00000000000d"))
EXECUTION = RecordID("workflow_execution", uuid.UUID("00000000-0000-4000-8000-00000000000e"))
TASK = RecordID("task", uuid.UUID("00000000-0000-4000-8000-00000000000a"))

WORKFLOW_MISSING = "IF !record::exists($workflow) { THROW { agentical: 1, table: 'workflow' } }"


def test_by_status() -> None:
    check(
        q.by_status("draft"),
        "SELECT * FROM workflow WHERE status = $status ORDER BY name ASC, id ASC",
        {"status": "draft"},
        operation="SELECT",
        table="workflow",
    )


def test_start_execution() -> None:
    check(
        q.start_execution(WORKFLOW, EXECUTION),
        "{\n"
        f"  {WORKFLOW_MISSING};\n"
        "  CREATE ONLY $execution SET workflow_id = $workflow, status = 'running', started_at = time::now()\n"
        "}",
        {"workflow": WORKFLOW, "execution": EXECUTION},
        operation="CREATE",
        table="workflow_execution",
    )


def _finish_text(extra: str) -> str:
    return (
        "{\n"
        "  LET $_cur = (SELECT status, started_at FROM ONLY $execution);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'workflow_execution' } };\n"
        "  IF $_cur.status != 'running' "
        "{ THROW { agentical: 3, table: 'workflow_execution', status: $_cur.status } };\n"
        "  LET $_now = time::now();\n"
        "  UPDATE ONLY $execution SET status = $status, finished_at = $_now, "
        "duration_ms = (IF $_cur.started_at = NONE { NONE } "
        "ELSE { duration::nanos($_now - $_cur.started_at) / 1000000.0 })"
        f"{extra} RETURN AFTER\n"
        "}"
    )


def test_finish_execution() -> None:
    check(
        q.finish_execution(EXECUTION, "cancelled"),
        _finish_text(""),
        {"execution": EXECUTION, "status": "cancelled"},
        operation="UPDATE",
        table="workflow_execution",
    )


def test_finish_execution_with_result_and_error() -> None:
    result = {"outcome": "partial-output"}
    check(
        q.finish_execution(EXECUTION, "failed", result=result, error="disk quota exceeded"),
        _finish_text(", result = $result, error = $error"),
        {"execution": EXECUTION, "status": "failed", "result": result, "error": "disk quota exceeded"},
        operation="UPDATE",
        table="workflow_execution",
    )


def test_merge_state() -> None:
    state = {"phase": "review"}
    check(
        q.merge_state(WORKFLOW, state),
        "{\n"
        "  LET $_cur = (SELECT version FROM ONLY $workflow);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'workflow' } };\n"
        "  UPDATE ONLY $workflow MERGE { state: $state, version: $_cur.version + 1 } RETURN AFTER\n"
        "}",
        {"workflow": WORKFLOW, "state": state},
        operation="UPDATE",
        table="workflow",
    )


def test_merge_state_with_version_guard() -> None:
    state = {"phase": "review"}
    check(
        q.merge_state(WORKFLOW, state, 7),
        "{\n"
        "  LET $_cur = (SELECT version FROM ONLY $workflow);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'workflow' } };\n"
        "  IF $_cur.version != $expected_version { THROW { agentical: 2, table: 'workflow' } };\n"
        "  UPDATE ONLY $workflow MERGE { state: $state, version: $_cur.version + 1 } RETURN AFTER\n"
        "}",
        {"workflow": WORKFLOW, "expected_version": 7, "state": state},
        operation="UPDATE",
        table="workflow",
    )


def test_metrics() -> None:
    check(
        q.metrics(WORKFLOW),
        "{\n"
        f"  {WORKFLOW_MISSING};\n"
        "  LET $_runs = (SELECT status, duration_ms FROM workflow_execution WHERE workflow_id = $workflow);\n"
        "  LET $_durations = $_runs[WHERE duration_ms != NONE].duration_ms;\n"
        "  LET $_empty = array::len($_durations) = 0;\n"
        "  {\n"
        "    executions_total: array::len($_runs),\n"
        "    executions_by_status: (SELECT status, count() AS n FROM $_runs GROUP BY status),\n"
        "    avg_duration_ms: (IF $_empty { NONE } ELSE { math::mean($_durations) }),\n"
        "    p95_duration_ms: (IF $_empty { NONE } ELSE { math::percentile($_durations, 95) }),\n"
        "    tasks_by_status: (SELECT status, count() AS n FROM task "
        "WHERE workflow_id = $workflow GROUP BY status)\n"
        "  }\n"
        "}",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="workflow_execution",
    )


def _add_task_text(edge_set: str) -> str:
    return (
        "{\n"
        f"  {WORKFLOW_MISSING};\n"
        "  LET $_cur = (SELECT workflow_id FROM ONLY $task);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'task' } };\n"
        "  IF $_cur.workflow_id != NONE AND $_cur.workflow_id != $workflow "
        "{ THROW { agentical: 3, table: 'task', workflow: $_cur.workflow_id } };\n"
        "  IF $_cur.workflow_id = NONE { UPDATE $task SET workflow_id = $workflow, version += 1 };\n"
        f"  RELATE $workflow->has_task:[$workflow, $task]->$task{edge_set};\n"
        "  SELECT * FROM ONLY $task\n"
        "}"
    )


def test_add_task() -> None:
    check(
        q.add_task(WORKFLOW, TASK),
        _add_task_text(""),
        {"workflow": WORKFLOW, "task": TASK},
        operation="RELATE",
        table="has_task",
    )


def test_add_task_at_a_position() -> None:
    check(
        q.add_task(WORKFLOW, TASK, 42),
        _add_task_text(" SET position = $position"),
        {"workflow": WORKFLOW, "task": TASK, "position": 42},
        operation="RELATE",
        table="has_task",
    )


def test_remove_task() -> None:
    check(
        q.remove_task(WORKFLOW, TASK),
        "{\n"
        "  LET $_moved = (UPDATE $task SET workflow_id = NONE, version += 1 "
        "WHERE workflow_id = $workflow RETURN VALUE id);\n"
        "  LET $_stray = (DELETE $task<-has_task WHERE in = $workflow RETURN BEFORE);\n"
        "  array::len($_moved) > 0 OR array::len($_stray) > 0\n"
        "}",
        {"task": TASK, "workflow": WORKFLOW},
        operation="UPDATE",
        table="task",
    )


def test_tasks() -> None:
    check(
        q.tasks(WORKFLOW),
        "SELECT position, out.* AS task FROM $workflow->has_task",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="has_task",
    )


def test_graph() -> None:
    check(
        q.graph(WORKFLOW),
        "{\n"
        "  LET $_cur = (SELECT * FROM ONLY $workflow);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'workflow' } };\n"
        "  LET $_tasks = (SELECT *, ->depends_on->task AS dependency_ids, "
        "(SELECT VALUE position FROM ONLY has_task:[$workflow, $parent.id]) AS position "
        "FROM $workflow->has_task->task);\n"
        "  LET $_agent_ids = array::distinct((SELECT VALUE agent_id FROM $_tasks WHERE agent_id != NONE));\n"
        "  {\n"
        "    workflow: $_cur,\n"
        "    tasks: $_tasks,\n"
        "    agents: (SELECT * FROM $_agent_ids)\n"
        "  }\n"
        "}",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="workflow",
    )
