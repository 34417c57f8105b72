"""TaskRepository: Task entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Task
from .base import BaseRepository

__all__ = ["TaskRepository"]


class TaskRepository(BaseRepository[Task]):
    """Repository of ``Task``."""

    model = Task
