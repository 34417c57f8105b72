"""Read-only aggregates computed by the repositories (never stored)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from .base import UtcDatetime

__all__ = ["AgentMetrics", "ToolUsageStats", "WorkflowMetrics"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AgentMetrics(BaseModel):
    """What an agent has done: its tasks by status, its tools and their use."""

    model_config = _FROZEN

    agent_id: UUID
    tasks_total: int = Field(default=0, ge=0)
    tasks_by_status: dict[str, int] = Field(default_factory=dict)
    tools_count: int = Field(default=0, ge=0)
    tool_usages: int = Field(default=0, ge=0)
    avg_task_duration_ms: float | None = None
    last_active_at: UtcDatetime | None = None


class WorkflowMetrics(BaseModel):
    """How a workflow's executions went (``success_rate`` is 0.0 with no runs)."""

    model_config = _FROZEN

    workflow_id: UUID
    executions_total: int = Field(default=0, ge=0)
    executions_by_status: dict[str, int] = Field(default_factory=dict)
    success_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    avg_duration_ms: float | None = None
    p95_duration_ms: float | None = None
    tasks_by_status: dict[str, int] = Field(default_factory=dict)


class ToolUsageStats(BaseModel):
    """How a tool has been used, overall and per agent (keyed by agent UUID string)."""

    model_config = _FROZEN

    tool_id: UUID
    calls: int = Field(default=0, ge=0)
    successes: int = Field(default=0, ge=0)
    success_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    avg_duration_ms: float | None = None
    p95_duration_ms: float | None = None
    by_agent: dict[str, int] = Field(default_factory=dict)
