"""Status and role enums shared by the models and mirrored by the schema ASSERTs.

``StrEnum`` so a member compares equal to its stored string and filters can be
written with either; the schema's ``ASSERT $value INSIDE [...]`` lists must stay
in step with these (tests/integration/test_schema_raw.py checks it).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AgentStatus", "ExecutionStatus", "MessageRole", "TaskStatus", "WorkflowStatus"]


class AgentStatus(StrEnum):
    """Lifecycle of an agent; ``idle`` is the state of a freshly created one."""

    ACTIVE = "active"
    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"
    DISABLED = "disabled"


class WorkflowStatus(StrEnum):
    """Lifecycle of a workflow definition; ``draft`` until someone activates it."""

    DRAFT = "draft"
    ACTIVE = "active"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    """Lifecycle of a task; ``completed`` is what dependents wait for."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExecutionStatus(StrEnum):
    """Outcome of one run (workflow or playbook): created ``running``, then final."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MessageRole(StrEnum):
    """Who wrote a message, in the usual chat-completion vocabulary."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"
