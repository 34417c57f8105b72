"""Hits of the cross-entity search (``Repositories.search``)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from .agent import Agent
from .playbook import Playbook
from .tool import Tool
from .workflow import Workflow

__all__ = ["EntityHit", "SearchableEntity"]

#: The entities the cross-entity search covers (their tables).
SearchableEntity = Literal["agent", "tool", "workflow", "playbook"]


class EntityHit(BaseModel):
    """One search result: which entity, its rank among all hits, its score, the record.

    ``score`` is BM25 over the entity's own table (name matches weigh double), so
    it orders hits well within a table and roughly across tables; ``rank`` (1 =
    best) is the order the search returned.
    """

    model_config = ConfigDict(frozen=True)

    entity: SearchableEntity
    id: UUID
    rank: int
    score: float
    item: Agent | Tool | Workflow | Playbook
