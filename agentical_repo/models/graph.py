"""Value objects of the workflow/task graph: read-only results, never stored as such."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from surrealdb import RecordID

from .agent import Agent
from .base import UtcDatetime
from .enums import TaskStatus
from .task import Task
from .workflow import Workflow

__all__ = ["TaskDependency", "TaskEvent", "WorkflowGraph"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _uuid(value: Any) -> Any:
    """The UUID inside a RecordID (rows come back with record ids, models hold UUIDs)."""
    return value.id if isinstance(value, RecordID) else value


class TaskDependency(BaseModel):
    """One ``depends_on`` edge: ``task_id`` waits for ``depends_on_id`` to complete."""

    model_config = _FROZEN

    task_id: UUID
    depends_on_id: UUID


class TaskEvent(BaseModel):
    """One status a task entered, from the ``task_event`` history table.

    ``from_status`` is ``None`` for the event written when the task was created. ``id``
    is a UUID v7, so it sorts in time order and breaks ties between equal ``at`` values.
    """

    model_config = _FROZEN

    id: UUID
    task_id: UUID
    from_status: TaskStatus | None = None
    to_status: TaskStatus
    at: UtcDatetime

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> TaskEvent:
        return cls(
            id=_uuid(row["id"]),
            task_id=_uuid(row["task"]),
            from_status=row.get("from_status"),
            to_status=row["to_status"],
            at=row["at"],
        )


class WorkflowGraph(BaseModel):
    """A workflow with its tasks, their dependency edges and the agents assigned to them.

    Read in one request by ``WorkflowRepository.get_workflow_graph``. ``tasks`` are in
    ``has_task`` position order (unpositioned last, then by creation); ``dependencies``
    are the edges leaving the workflow's tasks (a target outside the workflow is kept, so
    nothing is silently hidden: see ``external_dependencies``); ``agents`` are distinct.
    """

    model_config = _FROZEN

    workflow: Workflow
    tasks: list[Task] = Field(default_factory=list)
    dependencies: list[TaskDependency] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)

    def task(self, task_id: UUID) -> Task | None:
        """The workflow's task with this id, or ``None``."""
        return next((t for t in self.tasks if t.id == task_id), None)

    def dependencies_of(self, task_id: UUID) -> list[UUID]:
        """Ids of the tasks ``task_id`` depends on."""
        return [d.depends_on_id for d in self.dependencies if d.task_id == task_id]

    def dependents_of(self, task_id: UUID) -> list[UUID]:
        """Ids of the tasks that depend on ``task_id``."""
        return [d.task_id for d in self.dependencies if d.depends_on_id == task_id]

    @property
    def external_dependencies(self) -> list[TaskDependency]:
        """Edges whose target task is not part of this workflow."""
        ids = {t.id for t in self.tasks}
        return [d for d in self.dependencies if d.depends_on_id not in ids]
