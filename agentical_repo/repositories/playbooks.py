"""PlaybookRepository: Playbook entities (domain methods arrive with the entity-repositories issue)."""

from __future__ import annotations

from ..models import Playbook
from .base import BaseRepository

__all__ = ["PlaybookRepository"]


class PlaybookRepository(BaseRepository[Playbook]):
    """Repository of ``Playbook``."""

    model = Playbook
