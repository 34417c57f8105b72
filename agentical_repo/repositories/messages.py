"""MessageRepository: Message entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Message
from .base import BaseRepository

__all__ = ["MessageRepository"]


class MessageRepository(BaseRepository[Message]):
    """Repository of ``Message``."""

    model = Message
