"""WorkflowRepository: Workflow entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Workflow
from .base import BaseRepository

__all__ = ["WorkflowRepository"]


class WorkflowRepository(BaseRepository[Workflow]):
    """Repository of ``Workflow``."""

    model = Workflow
