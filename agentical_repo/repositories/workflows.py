"""WorkflowRepository: workflows, their executions, state, metrics and task graph.

Membership of a task in a workflow has one source of truth, ``task.workflow_id``; the
``has_task`` edge (id ``has_task:[workflow, task]``) follows it through a schema event
(``schema/0003_workflows_tasks.surql``), so ``add_task`` and a task created or updated
with a ``workflow_id`` give the same graph, and deleting either end leaves no edge.

Every read that combines several records (metrics, the workflow graph) is one request:
a SurrealQL block that checks existence, gathers, and returns one object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from surrealdb import RecordID

from ..errors import ConflictError, NotFoundError, ValidationError
from ..models import (
    Agent,
    ExecutionStatus,
    Task,
    Workflow,
    WorkflowExecution,
    WorkflowMetrics,
    WorkflowStatus,
)
from ..models.graph import TaskDependency, WorkflowGraph
from ..surql import builder
from ..surql.filters import Page, PaginationParams
from ..surql.statement import Params, Statement
from .base import BaseRepository, IdLike, as_uuid
from .tasks import must_exist, status_index, thrown_fields, thrown_status

__all__ = ["FINAL_EXECUTION_STATUSES", "WorkflowRepository"]

#: The statuses ``finish_execution`` accepts.
FINAL_EXECUTION_STATUSES = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)
_MAX_ERROR_LEN = 10_000
_EXECUTION_STATUSES = tuple(s.value for s in ExecutionStatus)


class _ExecutionLog(BaseRepository[WorkflowExecution]):
    """Internal: ``workflow_execution`` rows, for the base keyset pagination."""

    model = WorkflowExecution


def _finite(value: Any) -> float | None:
    """Engine aggregates of an empty set come back NONE or NaN: both mean "no value"."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _final_status(status: Any) -> ExecutionStatus:
    """The final status ``finish_execution`` was given; anything else is a ``ValidationError``."""
    try:
        final = ExecutionStatus(status)
    except (ValueError, TypeError):
        final = None
    if final is None or final not in FINAL_EXECUTION_STATUSES:
        allowed = ", ".join(sorted(s.value for s in FINAL_EXECUTION_STATUSES))
        raise ValidationError(f"status must be one of {allowed}", context={"argument": "status"})
    return final


def _counts(rows: Any) -> dict[str, int]:
    return {str(r["status"]): int(r["n"]) for r in rows or [] if r.get("status") is not None}


def _position_key(item: tuple[int | None, Task]) -> tuple[bool, int, datetime, str]:
    position, task = item
    created = task.created_at or datetime.min.replace(tzinfo=UTC)
    return (position is None, position or 0, created, str(task.id))


class WorkflowRepository(BaseRepository[Workflow]):
    """Repository of ``Workflow``: executions, state, metrics and the task graph."""

    model = Workflow

    def _executions(self) -> _ExecutionLog:
        return _ExecutionLog(self.db, self.tx)

    def _workflow_ref(self, params: Params, workflow_id: IdLike) -> str:
        return params.add(self._rid(workflow_id, "workflow_id"), "workflow")

    # ------------------------------------------------------------------ lookups

    async def get_by_status(
        self, status: WorkflowStatus | str, pagination: PaginationParams | None = None
    ) -> list[Workflow]:
        """Workflows in ``status`` (indexed), by name; one page when ``pagination`` is given.

        Without ``pagination`` every match is returned (``list`` would cut at 50 silently).
        """
        try:
            checked = WorkflowStatus(status)
        except (ValueError, TypeError):
            allowed = ", ".join(s.value for s in WorkflowStatus)
            raise ValidationError(
                f"status must be one of {allowed}", context={"argument": "status"}
            ) from None
        if pagination is not None:
            return await self.list({"status": checked.value}, pagination)
        statement = builder.select(
            self.table, where=self._where({"status": checked.value}), order_by=("name", "id")
        )
        return self._decode_list(await self._read(statement))

    # ------------------------------------------------------------------ executions

    async def start_execution(self, workflow_id: IdLike) -> WorkflowExecution:
        """Record a new ``running`` execution (``started_at`` from the database clock).

        ``NotFoundError`` if the workflow does not exist. The workflow itself is not
        modified: several executions of one workflow may run at once.
        """
        execution = WorkflowExecution(workflow_id=as_uuid(workflow_id, "workflow_id"))
        params = Params()
        wf = self._workflow_ref(params, execution.workflow_id)
        ex = params.add(RecordID("workflow_execution", execution.id), "execution")
        text = (
            "{\n"
            + must_exist(wf, "workflow")
            + f"  CREATE ONLY {ex} SET workflow_id = {wf}, status = 'running', started_at = time::now()\n"
            "}"
        )
        statement = Statement(text, params.vars, "CREATE", "workflow_execution")
        try:
            return await self._write(statement, WorkflowExecution.from_record)
        except NotFoundError:
            raise NotFoundError(
                "workflow not found",
                context={"table": "workflow", "id": str(execution.workflow_id)},
            ) from None

    async def finish_execution(
        self,
        execution_id: IdLike,
        status: ExecutionStatus | str,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> WorkflowExecution:
        """Finish a running execution with a final status, in one atomic request.

        ``status`` must be completed, failed or cancelled (``ValidationError`` otherwise,
        before any I/O). ``finished_at`` and ``duration_ms`` (from ``started_at``) are
        computed by the database. ``NotFoundError`` for an unknown execution;
        ``ConflictError(code="already_finished")`` if it is not running any more.
        """
        key = as_uuid(execution_id, "execution_id")
        final = _final_status(status)
        if error is not None and (not isinstance(error, str) or len(error) > _MAX_ERROR_LEN):
            raise ValidationError(
                f"error must be a string of at most {_MAX_ERROR_LEN} characters",
                context={"argument": "error"},
            )
        params = Params()
        ex = params.add(RecordID("workflow_execution", key), "execution")
        assigns = [
            f"status = {params.add(final.value, 'status')}",
            "finished_at = $now",
            "duration_ms = (IF $cur.started_at = NONE { NONE } "
            "ELSE { duration::nanos($now - $cur.started_at) / 1000000.0 })",
        ]
        if result is not None:
            try:
                encoded = WorkflowExecution.coerce_updates({"result": result})["result"]
            except ValueError:
                raise ValidationError("result must be a dict", context={"argument": "result"}) from None
            assigns.append(f"result = {params.add(encoded, 'result')}")
        if error is not None:
            assigns.append(f"error = {params.add(error, 'error')}")
        text = (
            "{\n"
            f"  LET $cur = (SELECT status, started_at FROM ONLY {ex});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found' } };\n"
            "  IF $cur.status != 'running' "
            f"{{ THROW {{ kind: 'conflict', from_index: {status_index(params, _EXECUTION_STATUSES)} }} }};\n"
            "  LET $now = time::now();\n"
            f"  UPDATE ONLY {ex} SET {', '.join(assigns)} RETURN AFTER\n"
            "}"
        )
        statement = Statement(text, params.vars, "UPDATE", "workflow_execution")
        try:
            return await self._write(statement, WorkflowExecution.from_record)
        except NotFoundError:
            raise NotFoundError(
                "workflow execution not found", context={"table": "workflow_execution", "id": str(key)}
            ) from None
        except ConflictError as exc:
            if exc.retryable:
                raise
            current = thrown_status(exc, _EXECUTION_STATUSES)
            raise ConflictError(
                f"workflow execution already finished ({current})",
                code="already_finished",
                context={"table": "workflow_execution", "id": str(key), "status": current},
            ) from None

    async def get_execution(self, execution_id: IdLike) -> WorkflowExecution | None:
        """One execution, or ``None``."""
        return await self._executions().get_by_id(as_uuid(execution_id, "execution_id"))

    async def get_execution_history(
        self, workflow_id: IdLike, *, limit: int = 50, after: str | None = None
    ) -> Page[WorkflowExecution]:
        """The workflow's executions, newest first, one keyset page at a time.

        Pass ``page.next_cursor`` as ``after`` for the next page (``None`` on the last).
        An unknown workflow has no executions: an empty page.
        """
        key = as_uuid(workflow_id, "workflow_id")
        return await self._executions().paginate(
            {"workflow_id": key}, limit=limit, after=after, order_by=("-started_at",)
        )

    # ------------------------------------------------------------------ state

    async def update_execution_state(
        self, workflow_id: IdLike, state: Mapping[str, Any], *, expected_version: int | None = None
    ) -> Workflow:
        """Deep-merge ``state`` into the workflow's ``state`` and bump ``version`` (one request).

        Nested dicts merge key by key; other values (lists included) replace; a ``None``
        value is stored as null. ``NotFoundError`` if missing; ``ConflictError`` if
        ``expected_version`` is stale.
        """
        key = as_uuid(workflow_id, "workflow_id")
        if not isinstance(state, Mapping) or not state:
            raise ValidationError("state must be a non-empty dict", context={"argument": "state"})
        try:
            encoded = Workflow.coerce_updates({"state": state})["state"]
        except ValueError:
            raise ValidationError(
                "state must be a dict with string keys", context={"argument": "state"}
            ) from None
        params = Params()
        wf = self._workflow_ref(params, key)
        guard = self._version_guard(params, expected_version)
        patch = params.add(encoded, "state")
        text = (
            "{\n"
            f"  LET $cur = (SELECT version FROM ONLY {wf});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found' } };\n"
            f"{guard}"
            f"  UPDATE ONLY {wf} MERGE {{ state: {patch}, version: $cur.version + 1 }} RETURN AFTER\n"
            "}"
        )
        statement = Statement(text, params.vars, "UPDATE", "workflow")
        return await self._versioned_write(key, statement, self._decode, expected_version)

    # ------------------------------------------------------------------ metrics

    async def get_workflow_metrics(self, workflow_id: IdLike) -> WorkflowMetrics:
        """Executions (total, by status, success rate, avg/p95 duration) and tasks by status.

        One request; aggregates are computed by the database. ``success_rate`` is
        completed / finished executions (running ones are not counted), 0.0 with none.
        ``NotFoundError`` if the workflow does not exist.
        """
        key = as_uuid(workflow_id, "workflow_id")
        params = Params()
        wf = self._workflow_ref(params, key)
        text = (
            "{\n"
            + must_exist(wf, "workflow")
            + "  LET $runs = (SELECT status, duration_ms FROM workflow_execution "
            f"WHERE workflow_id = {wf});\n"
            "  LET $durations = $runs[WHERE duration_ms != NONE].duration_ms;\n"
            "  LET $empty = array::len($durations) = 0;\n"
            "  {\n"
            "    executions_total: array::len($runs),\n"
            "    executions_by_status: (SELECT status, count() AS n FROM $runs GROUP BY status),\n"
            "    avg_duration_ms: (IF $empty { NONE } ELSE { math::mean($durations) }),\n"
            "    p95_duration_ms: (IF $empty { NONE } ELSE { math::percentile($durations, 95) }),\n"
            "    tasks_by_status: (SELECT status, count() AS n FROM task "
            f"WHERE workflow_id = {wf} GROUP BY status)\n"
            "  }\n"
            "}"
        )
        try:
            row = await self._read(Statement(text, params.vars, "SELECT", "workflow_execution"))
        except NotFoundError:
            raise NotFoundError("workflow not found", context={"table": "workflow", "id": str(key)}) from None
        by_status = _counts(row.get("executions_by_status"))
        finished = sum(n for s, n in by_status.items() if s != ExecutionStatus.RUNNING.value)
        completed = by_status.get(ExecutionStatus.COMPLETED.value, 0)
        return WorkflowMetrics(
            workflow_id=key,
            executions_total=int(row.get("executions_total") or 0),
            executions_by_status=by_status,
            success_rate=completed / finished if finished else 0.0,
            avg_duration_ms=_finite(row.get("avg_duration_ms")),
            p95_duration_ms=_finite(row.get("p95_duration_ms")),
            tasks_by_status=_counts(row.get("tasks_by_status")),
        )

    # ------------------------------------------------------------------ tasks

    async def add_task(self, workflow_id: IdLike, task_id: IdLike, *, position: int | None = None) -> Task:
        """Put the task in the workflow: ``has_task`` edge + ``task.workflow_id``, one request.

        Idempotent (the edge id is ``has_task:[workflow, task]``); ``position`` (0..10⁶),
        when given, is stored on the edge and orders ``get_tasks``; omitted, an existing
        position is kept. ``NotFoundError`` names the missing record
        (``context["missing"]``); ``ConflictError(code="other_workflow")`` if the task
        already belongs to another workflow (move it with ``tasks.update``).
        """
        params = Params()
        wf = self._workflow_ref(params, workflow_id)
        task = params.add(self._rid(task_id, "task_id", table="task"), "task")
        edge_set = ""
        if position is not None:
            if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 1_000_000:
                raise ValidationError(
                    "position must be an integer in 0..1000000", context={"argument": "position"}
                )
            edge_set = f" SET position = {params.add(position, 'position')}"
        text = (
            "{\n" + must_exist(wf, "workflow") + f"  LET $cur = (SELECT workflow_id FROM ONLY {task});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found', what: 'task' } };\n"
            f"  IF $cur.workflow_id != NONE AND $cur.workflow_id != {wf} "
            "{ THROW { kind: 'conflict' } };\n"
            f"  IF $cur.workflow_id = NONE {{ UPDATE {task} SET workflow_id = {wf}, version += 1 }};\n"
            f"  RELATE {wf}->has_task:[{wf}, {task}]->{task}{edge_set};\n"
            f"  SELECT * FROM ONLY {task}\n"
            "}"
        )
        statement = Statement(text, params.vars, "RELATE", "has_task")
        try:
            return await self._write(statement, Task.from_record)
        except NotFoundError as exc:
            what = thrown_fields(exc).get("what", "workflow")
            ident = as_uuid(task_id if what == "task" else workflow_id)
            raise NotFoundError(
                f"{what} not found", context={"table": what, "missing": what, "id": str(ident)}
            ) from None
        except ConflictError as exc:
            if exc.retryable:
                raise
            raise ConflictError(
                "task already belongs to another workflow",
                code="other_workflow",
                context={"table": "task", "id": str(as_uuid(task_id))},
            ) from None

    async def remove_task(self, workflow_id: IdLike, task_id: IdLike) -> bool:
        """Take the task out of the workflow (unsets ``workflow_id``; the edge goes with it).

        False if the task was not in the workflow. The task itself is kept.
        """
        params = Params()
        wf = self._workflow_ref(params, workflow_id)
        task = params.add(self._rid(task_id, "task_id", table="task"), "task")
        text = (
            "{\n"
            f"  LET $moved = (UPDATE {task} SET workflow_id = NONE, version += 1 "
            f"WHERE workflow_id = {wf} RETURN VALUE id);\n"
            f"  LET $stray = (DELETE {task}<-has_task WHERE in = {wf} RETURN BEFORE);\n"
            "  array::len($moved) > 0 OR array::len($stray) > 0\n"
            "}"
        )
        return await self._write(Statement(text, params.vars, "UPDATE", "task"), bool)

    async def get_tasks(self, workflow_id: IdLike) -> list[Task]:
        """The workflow's tasks by one ``has_task`` traversal, in position order.

        Positioned tasks first (ascending), then the rest by creation. Unknown workflow: ``[]``.
        """
        params = Params()
        wf = self._workflow_ref(params, workflow_id)
        text = f"SELECT position, out.* AS task FROM {wf}->has_task"
        rows = await self._read(Statement(text, params.vars, "SELECT", "has_task"))
        items = [
            (row.get("position"), Task.from_record(row["task"])) for row in rows or [] if row.get("task")
        ]
        return [task for _, task in sorted(items, key=_position_key)]

    async def get_workflow_graph(self, workflow_id: IdLike) -> WorkflowGraph:
        """The workflow, its tasks, their ``depends_on`` edges and assigned agents: one request.

        ``NotFoundError`` if the workflow does not exist.
        """
        key = as_uuid(workflow_id, "workflow_id")
        params = Params()
        wf = self._workflow_ref(params, key)
        text = (
            "{\n"
            f"  LET $found = (SELECT * FROM ONLY {wf});\n"
            "  IF $found = NONE { THROW { kind: 'not_found' } };\n"
            f"  LET $links = (SELECT position, out AS task FROM {wf}->has_task);\n"
            "  LET $tasks = (SELECT *, ->depends_on->task AS dependency_ids FROM $links.task);\n"
            "  LET $agent_ids = array::distinct(\n"
            "    (SELECT VALUE agent_id FROM $tasks WHERE agent_id != NONE));\n"
            "  {\n"
            "    workflow: $found,\n"
            "    links: $links,\n"
            "    tasks: $tasks,\n"
            "    agents: (SELECT * FROM $agent_ids)\n"
            "  }\n"
            "}"
        )
        try:
            row = await self._read(Statement(text, params.vars, "SELECT", "workflow"))
        except NotFoundError:
            raise NotFoundError("workflow not found", context={"table": "workflow", "id": str(key)}) from None
        positions = {link["task"].id: link.get("position") for link in row.get("links") or []}
        task_rows = list(row.get("tasks") or [])
        tasks = [Task.from_record(r) for r in task_rows]
        ordered = [t for _, t in sorted(((positions.get(t.id), t) for t in tasks), key=_position_key)]
        dependencies = [
            TaskDependency(task_id=task.id, depends_on_id=target.id)
            for task, r in zip(tasks, task_rows, strict=True)
            for target in sorted(r.get("dependency_ids") or [], key=lambda rid: str(rid.id))
        ]
        agents = sorted(
            (Agent.from_record(a) for a in row.get("agents") or []), key=lambda a: (a.name, str(a.id))
        )
        return WorkflowGraph(
            workflow=self._decode(row["workflow"]),
            tasks=ordered,
            dependencies=sorted(dependencies, key=lambda d: (str(d.task_id), str(d.depends_on_id))),
            agents=agents,
        )
