"""Workflow statements: lookups, executions, state merges, metrics, the task graph.

Pure functions: record ids and values in, ``Statement`` out. Every value is a
bound ``Var``; a precondition that fails aborts the block with a structured
THROW (``blocks.throw``) naming the table, which the repository maps to the
error of the missing record (NOT_FOUND) or of the refused move (INVALID_STATE).

Every read that combines several records (metrics, the workflow graph) is one
block that checks existence, gathers, and returns one object.
"""

from __future__ import annotations

from typing import Any

from surrealdb import RecordID

from ...errors import ThrowCode
from .. import blocks
from ..statement import Sql, Statement, Var, sql

__all__ = [
    "add_task",
    "by_status",
    "finish_execution",
    "graph",
    "merge_state",
    "metrics",
    "remove_task",
    "start_execution",
    "tasks",
]

TABLE = "workflow"
EXECUTION = "workflow_execution"
TASK = "task"
#: The workflow's optimistic-lock field (``Workflow.__lock_field__``).
LOCK_FIELD = "version"


def by_status(status: str) -> Statement:
    """Every workflow in ``status`` (indexed), by name then id."""
    text = sql(
        "SELECT * FROM workflow WHERE status = {status} ORDER BY name ASC, id ASC",
        status=Var(status, "status"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def start_execution(workflow: RecordID, execution: RecordID) -> Statement:
    """Create a ``running`` execution of an existing workflow (NOT_FOUND otherwise).

    ``started_at`` comes from the database clock; the workflow itself is not written,
    so several executions of one workflow may run at once.
    """
    wf = Var(workflow, "workflow")
    lines = [
        blocks.require_record(wf, TABLE),
        sql(
            "CREATE ONLY {ex} SET workflow_id = {wf}, status = 'running', started_at = time::now()",
            ex=Var(execution, "execution"),
            wf=wf,
        ),
    ]
    return Statement(blocks.block(lines), operation="CREATE", table=EXECUTION)


def finish_execution(
    execution: RecordID, status: str, *, result: Any = None, error: str | None = None
) -> Statement:
    """Finish a running execution with ``status`` (and ``result``/``error`` when given).

    NOT_FOUND for an unknown execution; INVALID_STATE carrying the current
    ``status`` (an identifier) when it is not running any more. ``finished_at``
    and ``duration_ms`` (from ``started_at``) are computed from one clock reading.
    """
    ex = Var(execution, "execution")
    assignments = [
        sql("status = {s}", s=Var(status, "status")),
        sql("finished_at = $_now"),
        sql(
            "duration_ms = (IF $_cur.started_at = NONE { NONE } "
            "ELSE { duration::nanos($_now - $_cur.started_at) / 1000000.0 })"
        ),
    ]
    if result is not None:
        assignments.append(sql("result = {r}", r=Var(result, "result")))
    if error is not None:
        assignments.append(sql("error = {e}", e=Var(error, "error")))
    lines = [
        blocks.load_current(ex, EXECUTION, ("status", "started_at")),
        sql(
            "IF $_cur.status != 'running' { {thrown} }",
            thrown=blocks.throw(ThrowCode.INVALID_STATE, table=EXECUTION, status=sql("$_cur.status")),
        ),
        sql("LET $_now = time::now()"),
        sql("UPDATE ONLY {ex} SET {a} RETURN AFTER", ex=ex, a=Sql.join(", ", assignments)),
    ]
    return Statement(blocks.block(lines), operation="UPDATE", table=EXECUTION)


def merge_state(workflow: RecordID, state: Any, expected_version: int | None = None) -> Statement:
    """Deep-merge ``state`` (already encoded) into the workflow's ``state``; bump ``version``.

    ``MERGE`` cannot be combined with SET, so the block is ``load_current``
    (NOT_FOUND) + the optional ``version_guard`` (STALE_VERSION) + the MERGE, the
    version bumped from the value read in the same engine transaction.
    """
    wf = Var(workflow, "workflow")
    lines = [blocks.load_current(wf, TABLE, (LOCK_FIELD,))]
    if expected_version is not None:
        lines.append(blocks.version_guard(TABLE, LOCK_FIELD, Var(expected_version, "expected_version")))
    lines.append(
        sql(
            "UPDATE ONLY {wf} MERGE { state: {state}, version: $_cur.version + 1 } RETURN AFTER",
            wf=wf,
            state=Var(state, "state"),
        )
    )
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def metrics(workflow: RecordID) -> Statement:
    """Executions (total, by status, avg/p95 duration) and tasks by status, as one object.

    NOT_FOUND if the workflow is missing. Aggregates of no durations are NONE.
    """
    wf = Var(workflow, "workflow")
    lines = [
        blocks.require_record(wf, TABLE),
        sql(
            "LET $_runs = (SELECT status, duration_ms FROM workflow_execution WHERE workflow_id = {wf})",
            wf=wf,
        ),
        sql("LET $_durations = $_runs[WHERE duration_ms != NONE].duration_ms"),
        sql("LET $_empty = array::len($_durations) = 0"),
        sql(
            "{\n"
            "    executions_total: array::len($_runs),\n"
            "    executions_by_status: (SELECT status, count() AS n FROM $_runs GROUP BY status),\n"
            "    avg_duration_ms: (IF $_empty { NONE } ELSE { math::mean($_durations) }),\n"
            "    p95_duration_ms: (IF $_empty { NONE } ELSE { math::percentile($_durations, 95) }),\n"
            "    tasks_by_status: (SELECT status, count() AS n FROM task "
            "WHERE workflow_id = {wf} GROUP BY status)\n"
            "  }",
            wf=wf,
        ),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=EXECUTION)


def add_task(workflow: RecordID, task: RecordID, position: int | None = None) -> Statement:
    """Put the task in the workflow (``workflow_id`` + the ``has_task:[wf, task]`` edge).

    NOT_FOUND names the missing table; INVALID_STATE (``table: 'task'``, ``workflow``:
    the record id it belongs to) when the task is in another workflow. ``position``,
    when given, is set on the edge (else an existing one is kept). Returns the task.
    """
    wf, t = Var(workflow, "workflow"), Var(task, "task")
    edge_set = Sql() if position is None else sql(" SET position = {p}", p=Var(position, "position"))
    lines = [
        blocks.require_record(wf, TABLE),
        blocks.load_current(t, TASK, ("workflow_id",)),
        sql(
            "IF $_cur.workflow_id != NONE AND $_cur.workflow_id != {wf} { {thrown} }",
            wf=wf,
            thrown=blocks.throw(ThrowCode.INVALID_STATE, table=TASK, workflow=sql("$_cur.workflow_id")),
        ),
        sql("IF $_cur.workflow_id = NONE { UPDATE {t} SET workflow_id = {wf}, version += 1 }", t=t, wf=wf),
        sql("RELATE {wf}->has_task:[{wf}, {t}]->{t}{edge_set}", wf=wf, t=t, edge_set=edge_set),
        sql("SELECT * FROM ONLY {t}", t=t),
    ]
    return Statement(blocks.block(lines), operation="RELATE", table="has_task")


def remove_task(workflow: RecordID, task: RecordID) -> Statement:
    """Unset the task's ``workflow_id`` if it is this workflow's (the edge follows by event).

    Also deletes a stray ``has_task`` edge; returns whether anything changed.
    """
    wf, t = Var(workflow, "workflow"), Var(task, "task")
    lines = [
        sql(
            "LET $_moved = (UPDATE {t} SET workflow_id = NONE, version += 1 "
            "WHERE workflow_id = {wf} RETURN VALUE id)",
            t=t,
            wf=wf,
        ),
        sql("LET $_stray = (DELETE {t}<-has_task WHERE in = {wf} RETURN BEFORE)", t=t, wf=wf),
        sql("array::len($_moved) > 0 OR array::len($_stray) > 0"),
    ]
    return Statement(blocks.block(lines), operation="UPDATE", table=TASK)


def tasks(workflow: RecordID) -> Statement:
    """The workflow's ``has_task`` edges: each edge's ``position`` and its task (one traversal)."""
    text = sql("SELECT position, out.* AS task FROM {wf}->has_task", wf=Var(workflow, "workflow"))
    return Statement(text, operation="SELECT", table="has_task")


def graph(workflow: RecordID) -> Statement:
    """The workflow, its tasks (each with ``position`` and ``dependency_ids``) and their agents.

    One block, one object; NOT_FOUND if the workflow is missing. The tasks are the
    targets of the workflow's ``has_task`` edges, each fetched once with its edge's
    position folded in, so the reply carries every row once (it is decoded by the
    SDK's pure-Python codec: its size is most of the read's cost).
    """
    wf = Var(workflow, "workflow")
    lines = [
        blocks.load_current(wf, TABLE),
        sql(
            "LET $_tasks = (SELECT *, ->depends_on->task AS dependency_ids, "
            "(SELECT VALUE position FROM ONLY has_task:[{wf}, $parent.id]) AS position "
            "FROM {wf}->has_task->task)",
            wf=wf,
        ),
        sql("LET $_agent_ids = array::distinct((SELECT VALUE agent_id FROM $_tasks WHERE agent_id != NONE))"),
        sql("{\n    workflow: $_cur,\n    tasks: $_tasks,\n    agents: (SELECT * FROM $_agent_ids)\n  }"),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=TABLE)
