"""Tasks: units of work, optionally part of a workflow and assigned to an agent."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from .base import Entity, UtcDatetime
from .enums import TaskStatus

__all__ = ["Task"]


class Task(Entity):
    """A task. ``workflow_id``/``agent_id`` are record references (the schema
    unsets them when the workflow/agent is deleted); dependencies between tasks
    are ``depends_on`` edges, not fields. Higher ``priority`` runs first."""

    __table__: ClassVar[str] = "task"
    __references__: ClassVar[dict[str, str]] = {"workflow_id": "workflow", "agent_id": "agent"}
    __lock_field__: ClassVar[str | None] = "version"

    title: str = Field(min_length=1, max_length=512)
    description: str | None = Field(default=None, max_length=10_000)
    status: TaskStatus = TaskStatus.PENDING
    priority: int = Field(default=0, ge=-1000, le=1000)
    workflow_id: UUID | None = None
    agent_id: UUID | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    version: int = Field(default=1, ge=1)
