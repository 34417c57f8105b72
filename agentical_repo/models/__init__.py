"""Pydantic models of every stored entity, their enums and metrics value objects."""

from .agent import Agent
from .base import Entity
from .changes import ChangeBatch, ChangeEvent, ChangeKind
from .enums import AgentStatus, ExecutionStatus, MessageRole, TaskStatus, WorkflowStatus
from .graph import TaskDependency, TaskEvent, WorkflowGraph
from .message import Message, SearchHit
from .metrics import AgentMetrics, ToolUsageStats, WorkflowMetrics
from .playbook import Playbook, PlaybookExecution
from .recall import HybridHit, VectorHit, VectorIndexStatus
from .search import EntityHit, SearchableEntity
from .task import Task
from .tool import Capability, Tool, ToolUsage
from .user import User
from .workflow import Workflow, WorkflowExecution

__all__ = [
    "ENTITY_MODELS",
    "Agent",
    "AgentMetrics",
    "AgentStatus",
    "Capability",
    "ChangeBatch",
    "ChangeEvent",
    "ChangeKind",
    "Entity",
    "EntityHit",
    "ExecutionStatus",
    "HybridHit",
    "Message",
    "MessageRole",
    "Playbook",
    "PlaybookExecution",
    "SearchHit",
    "SearchableEntity",
    "Task",
    "TaskDependency",
    "TaskEvent",
    "TaskStatus",
    "Tool",
    "ToolUsage",
    "ToolUsageStats",
    "User",
    "VectorHit",
    "VectorIndexStatus",
    "Workflow",
    "WorkflowExecution",
    "WorkflowGraph",
    "WorkflowMetrics",
    "WorkflowStatus",
]

#: Every entity model, in schema order.
ENTITY_MODELS: tuple[type[Entity], ...] = (
    Agent,
    Tool,
    ToolUsage,
    Workflow,
    WorkflowExecution,
    Task,
    Playbook,
    PlaybookExecution,
    User,
    Message,
)
