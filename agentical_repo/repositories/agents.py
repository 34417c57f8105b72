"""AgentRepository: Agent entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Agent
from .base import BaseRepository

__all__ = ["AgentRepository"]


class AgentRepository(BaseRepository[Agent]):
    """Repository of ``Agent``."""

    model = Agent
