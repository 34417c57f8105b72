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
from ..pagination import Page, PaginationParams
from ..surql.queries import workflows as q
from ..validation import as_uuid, enum_value, fail, require_int
from .base import BaseRepository, IdLike

__all__ = ["FINAL_EXECUTION_STATUSES", "WorkflowRepository"]

#: The statuses ``finish_execution`` accepts.
FINAL_EXECUTION_STATUSES = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)
_MAX_ERROR_LEN = 10_000


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
        raise fail("status", f"must be one of {allowed}")
    return final


def _expected_version(value: object) -> int | None:
    """``expected_version`` checked before any I/O: ``None`` or an ``int`` (not a ``bool``)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise fail("expected_version", "must be an int")
    return value


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

    def _workflow_rid(self, workflow_id: IdLike) -> RecordID:
        return self._rid(workflow_id, "workflow_id")

    # ------------------------------------------------------------------ lookups

    async def get_by_status(
        self, status: WorkflowStatus | str, pagination: PaginationParams | None = None
    ) -> list[Workflow]:
        """Workflows in ``status`` (indexed), by name; one page when ``pagination`` is given.

        Without ``pagination`` every match is returned (``list`` would cut at 50 silently).
        """
        checked = enum_value(WorkflowStatus, status)
        if pagination is not None:
            return await self.list({"status": checked.value}, pagination)
        return self._decode_list(await self._read(q.by_status(checked.value)))

    # ------------------------------------------------------------------ executions

    async def start_execution(self, workflow_id: IdLike) -> WorkflowExecution:
        """Record a new ``running`` execution (``started_at`` from the database clock).

        ``NotFoundError`` if the workflow does not exist. The workflow itself is not
        modified: several executions of one workflow may run at once.
        """
        execution = WorkflowExecution(workflow_id=as_uuid(workflow_id, "workflow_id", "workflow"))
        statement = q.start_execution(
            self._workflow_rid(execution.workflow_id), RecordID("workflow_execution", execution.id)
        )
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
        key = as_uuid(execution_id, "execution_id", "workflow_execution")
        final = _final_status(status)
        if error is not None and (not isinstance(error, str) or len(error) > _MAX_ERROR_LEN):
            raise fail("error", f"must be a string of at most {_MAX_ERROR_LEN} characters")
        encoded = None
        if result is not None:
            try:
                encoded = WorkflowExecution.coerce_updates({"result": result})["result"]
            except ValueError:
                raise fail("result", "must be a dict") from None
        statement = q.finish_execution(
            RecordID("workflow_execution", key), final.value, result=encoded, error=error
        )
        try:
            # "still running?" is read and written in one request: see ``Database.record_lock``
            return await self._locked_write(
                key, statement, WorkflowExecution.from_record, table="workflow_execution"
            )
        except NotFoundError:
            raise NotFoundError(
                "workflow execution not found", context={"table": "workflow_execution", "id": str(key)}
            ) from None
        except ConflictError as exc:
            if exc.retryable:
                raise
            if exc.context.get("thrown") != "invalid_state":
                raise
            current = str(exc.context.get("status") or "?")
            raise ConflictError(
                f"workflow execution already finished ({current})",
                code="already_finished",
                context={"table": "workflow_execution", "id": str(key), "status": current},
            ) from None

    async def get_execution(self, execution_id: IdLike) -> WorkflowExecution | None:
        """One execution, or ``None``."""
        return await self._executions().get_by_id(as_uuid(execution_id, "execution_id", "workflow_execution"))

    async def get_execution_history(
        self, workflow_id: IdLike, *, limit: int = 50, after: str | None = None
    ) -> Page[WorkflowExecution]:
        """The workflow's executions, newest first, one keyset page at a time.

        Pass ``page.next_cursor`` as ``after`` for the next page (``None`` on the last).
        An unknown workflow has no executions: an empty page.
        """
        key = as_uuid(workflow_id, "workflow_id", "workflow")
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
        key = as_uuid(workflow_id, "workflow_id", "workflow")
        if not isinstance(state, Mapping) or not state:
            raise ValidationError("state must be a non-empty dict", context={"argument": "state"})
        try:
            encoded = Workflow.coerce_updates({"state": state})["state"]
        except ValueError:
            raise ValidationError(
                "state must be a dict with string keys", context={"argument": "state"}
            ) from None
        statement = q.merge_state(self._workflow_rid(key), encoded, _expected_version(expected_version))
        return await self._versioned_write(key, statement, self._decode, expected_version)

    # ------------------------------------------------------------------ metrics

    async def get_workflow_metrics(self, workflow_id: IdLike) -> WorkflowMetrics:
        """Executions (total, by status, success rate, avg/p95 duration) and tasks by status.

        One request; aggregates are computed by the database. ``success_rate`` is
        completed / finished executions (running ones are not counted), 0.0 with none.
        ``NotFoundError`` if the workflow does not exist.
        """
        key = as_uuid(workflow_id, "workflow_id", "workflow")
        try:
            row = await self._read(q.metrics(self._workflow_rid(key)))
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
        workflow = self._workflow_rid(workflow_id)
        task = self._rid(task_id, "task_id", table="task")
        if position is not None:
            require_int(position, "position", 0, 1_000_000)
        statement = q.add_task(workflow, task, position)
        try:
            # it moves the task record, as ``tasks.update`` does: the same lock
            return await self._locked_write(task.id, statement, Task.from_record, table="task")
        except NotFoundError as exc:
            what = "task" if exc.context.get("table") == "task" else "workflow"
            ident = as_uuid(task_id if what == "task" else workflow_id)
            raise NotFoundError(
                f"{what} not found", context={"table": what, "missing": what, "id": str(ident)}
            ) from None
        except ConflictError as exc:
            if exc.retryable or exc.context.get("thrown") != "invalid_state":
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
        statement = q.remove_task(
            self._workflow_rid(workflow_id), self._rid(task_id, "task_id", table="task")
        )
        return await self._write(statement, bool)

    async def get_tasks(self, workflow_id: IdLike) -> list[Task]:
        """The workflow's tasks by one ``has_task`` traversal, in position order.

        Positioned tasks first (ascending), then the rest by creation. Unknown workflow: ``[]``.
        """
        rows = await self._read(q.tasks(self._workflow_rid(workflow_id)))
        items = [
            (row.get("position"), Task.from_record(row["task"])) for row in rows or [] if row.get("task")
        ]
        return [task for _, task in sorted(items, key=_position_key)]

    async def get_workflow_graph(self, workflow_id: IdLike) -> WorkflowGraph:
        """The workflow, its tasks, their ``depends_on`` edges and assigned agents: one request.

        ``NotFoundError`` if the workflow does not exist.
        """
        key = as_uuid(workflow_id, "workflow_id", "workflow")
        try:
            row = await self._read(q.graph(self._workflow_rid(key)))
        except NotFoundError:
            raise NotFoundError("workflow not found", context={"table": "workflow", "id": str(key)}) from None
        task_rows = list(row.get("tasks") or [])
        tasks = [Task.from_record(r) for r in task_rows]
        ordered = sorted(
            ((r.get("position"), t) for t, r in zip(tasks, task_rows, strict=True)), key=_position_key
        )
        # The rows were validated into models once, above: the graph and its edges are
        # assembled from them without a second validation pass.
        dependencies = sorted(
            (
                TaskDependency.model_construct(task_id=task.id, depends_on_id=target.id)
                for task, r in zip(tasks, task_rows, strict=True)
                for target in r.get("dependency_ids") or []
            ),
            key=lambda d: (str(d.task_id), str(d.depends_on_id)),
        )
        agents = sorted(
            (Agent.from_record(a) for a in row.get("agents") or []), key=lambda a: (a.name, str(a.id))
        )
        return WorkflowGraph.model_construct(
            workflow=self._decode(row["workflow"]),
            tasks=[t for _, t in ordered],
            dependencies=dependencies,
            agents=agents,
        )
