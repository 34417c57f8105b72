"""Playbooks (versioned definitions) and their executions."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from .base import Entity, UtcDatetime
from .enums import ExecutionStatus

__all__ = ["Playbook", "PlaybookExecution"]


class Playbook(Entity):
    """One version of a named playbook; ``(name, version)`` is unique.

    ``version`` is the playbook's *semantic* version number (1, 2, 3, …), so the
    optimistic-lock counter is a separate ``revision`` field.
    """

    __table__: ClassVar[str] = "playbook"
    __references__: ClassVar[dict[str, str]] = {}
    __lock_field__: ClassVar[str | None] = "revision"

    name: str = Field(min_length=1, max_length=256)
    version: int = Field(default=1, ge=1)
    description: str | None = Field(default=None, max_length=10_000)
    definition: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    revision: int = Field(default=1, ge=1)


class PlaybookExecution(Entity):
    """One run of a playbook version with its log lines (append-only)."""

    __table__: ClassVar[str] = "playbook_execution"
    __references__: ClassVar[dict[str, str]] = {"playbook_id": "playbook"}
    __lock_field__: ClassVar[str | None] = None

    playbook_id: UUID
    status: ExecutionStatus = ExecutionStatus.RUNNING
    logs: list[dict[str, Any]] = Field(default_factory=list)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
