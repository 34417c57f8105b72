"""Typed async repositories, one per entity, and their container."""

from .agents import AgentRepository
from .base import BaseRepository
from .cache import CacheConfig, ReadCache
from .factory import Repositories
from .messages import MessageRepository
from .playbooks import PlaybookRepository
from .tasks import TaskRepository
from .tools import ToolRepository
from .users import UserRepository
from .workflows import WorkflowRepository

__all__ = [
    "AgentRepository",
    "BaseRepository",
    "CacheConfig",
    "MessageRepository",
    "PlaybookRepository",
    "ReadCache",
    "Repositories",
    "TaskRepository",
    "ToolRepository",
    "UserRepository",
    "WorkflowRepository",
]
