"""Workflows and their executions."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from .base import Entity, NonNegativeFloat, UtcDatetime
from .enums import ExecutionStatus, WorkflowStatus

__all__ = ["Workflow", "WorkflowExecution"]


class Workflow(Entity):
    """A workflow: a ``definition`` (free-form, interpreted by the engine) plus
    the ``state`` of its current run. Its tasks hang off it as ``has_task`` edges."""

    __table__: ClassVar[str] = "workflow"
    __references__: ClassVar[dict[str, str]] = {}
    __lock_field__: ClassVar[str | None] = "version"

    name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=10_000)
    status: WorkflowStatus = WorkflowStatus.DRAFT
    definition: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    version: int = Field(default=1, ge=1)


class WorkflowExecution(Entity):
    """One run of a workflow: started ``running``, finished with a final status.
    Append-only history, so no lock field."""

    __table__: ClassVar[str] = "workflow_execution"
    __references__: ClassVar[dict[str, str]] = {"workflow_id": "workflow"}
    __lock_field__: ClassVar[str | None] = None

    workflow_id: UUID
    status: ExecutionStatus = ExecutionStatus.RUNNING
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    duration_ms: NonNegativeFloat | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
