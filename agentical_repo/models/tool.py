"""Tools agents can use, their capabilities and a log of their use."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .base import Entity, NonNegativeFloat, UtcDatetime

__all__ = ["Capability", "Tool", "ToolUsage"]


class Capability(BaseModel):
    """One thing a tool can do. Not an entity: stored inline in ``tool.capabilities``
    because it has no identity or lifecycle of its own."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=dict)


class Tool(Entity):
    """A tool. ``name`` is unique (UNIQUE index); ``usage_count`` and
    ``last_used_at`` are maintained atomically by ``track_usage``."""

    __table__: ClassVar[str] = "tool"
    __references__: ClassVar[dict[str, str]] = {}
    __lock_field__: ClassVar[str | None] = "version"

    name: str = Field(min_length=1, max_length=256)
    category: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=10_000)
    available: bool = True
    capabilities: list[Capability] = Field(default_factory=list)
    usage_count: int = Field(default=0, ge=0)
    last_used_at: UtcDatetime | None = None
    version: int = Field(default=1, ge=1)


class ToolUsage(Entity):
    """One call of a tool (append-only, hence no lock field): the raw material of
    usage statistics."""

    __table__: ClassVar[str] = "tool_usage"
    __references__: ClassVar[dict[str, str]] = {"tool_id": "tool", "agent_id": "agent"}
    __lock_field__: ClassVar[str | None] = None

    tool_id: UUID
    agent_id: UUID | None = None
    success: bool = True
    duration_ms: NonNegativeFloat | None = None
    details: dict[str, Any] = Field(default_factory=dict)
