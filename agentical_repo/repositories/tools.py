"""ToolRepository: Tool entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Tool
from .base import BaseRepository

__all__ = ["ToolRepository"]


class ToolRepository(BaseRepository[Tool]):
    """Repository of ``Tool``."""

    model = Tool
