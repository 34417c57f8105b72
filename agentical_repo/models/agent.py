"""Agents: the actors that run tasks and use tools."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from .base import Entity
from .enums import AgentStatus

__all__ = ["Agent"]


class Agent(Entity):
    """An agent. ``config`` is how it is set up, ``state`` what it has learned
    or is doing; both are free-form so agent implementations can evolve without
    schema migrations (the schema stores them as FLEXIBLE objects)."""

    __table__: ClassVar[str] = "agent"
    __references__: ClassVar[dict[str, str]] = {}
    __lock_field__: ClassVar[str | None] = "version"

    name: str = Field(min_length=1, max_length=256)
    agent_type: str = Field(min_length=1, max_length=128)
    status: AgentStatus = AgentStatus.IDLE
    description: str | None = Field(default=None, max_length=10_000)
    config: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    #: optimistic-lock counter, bumped by the repository on every update.
    version: int = Field(default=1, ge=1)
