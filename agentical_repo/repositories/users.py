"""UserRepository: User entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import User
from .base import BaseRepository

__all__ = ["UserRepository"]


class UserRepository(BaseRepository[User]):
    """Repository of ``User``."""

    model = User
