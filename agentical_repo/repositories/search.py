"""Cross-entity search: agents, tools, workflows and playbooks by text, in one request.

One BM25 SELECT per table (``surql.queries.search``), sent together in one round
trip, then merged here into one ranked list. Filters apply per entity with the
same dict syntax and field checks as each repository's ``list`` (they are
compiled by that repository), so a filter can never name a field the entity
does not have.

Permissions: the statements run with the connection's rights, so a record-access
(end-user) connection sees only rows its PERMISSIONS allow, which for these
tables is none: the schema keeps agents, tools, workflows and playbooks to the
application.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast, get_args

from ..database import Database
from ..errors import TransactionError, ValidationError
from ..models.search import EntityHit, SearchableEntity
from ..surql.queries.search import SEARCHABLE, search_table
from ..validation import fail, page_limit, require_text
from .base import BaseRepository

__all__ = ["EntitySearch"]

MAX_QUERY_CHARS = 1000


class EntitySearch:
    """``repos.search(text, …)``: ranked hits across the searchable entities."""

    def __init__(self, db: Database, repositories: Mapping[str, BaseRepository[Any]]) -> None:
        self.db = db
        self._repos = dict(repositories)
        assert set(self._repos) == set(SEARCHABLE), "one repository per searchable table"

    async def __call__(
        self,
        text: str,
        *,
        entities: Iterable[SearchableEntity] | None = None,
        filters: Mapping[str, Mapping[str, Any]] | None = None,
        limit: int = 20,
    ) -> list[EntityHit]:
        """The ``limit`` best hits for ``text`` across ``entities`` (default: all four).

        ``filters`` maps an entity to its filter dict, e.g.
        ``{"agent": {"status": "active"}, "tool": {"available": True}}``. Hits are
        ordered by score (best first); ties by entity, then id.
        """
        if any(repo.tx is not None for repo in self._repos.values()):
            raise TransactionError(
                "search reads, and reads are not possible inside a buffered transaction; "
                "search before or after it"
            )
        query = require_text(text, "text", max_length=MAX_QUERY_CHARS)
        if not query.strip():
            raise fail("text", "must contain a word to search for")
        limit = page_limit(limit)
        tables = self._entities(entities)
        per_entity = dict(filters or {}) if filters is None or isinstance(filters, Mapping) else None
        if per_entity is None:
            raise fail("filters", "must map an entity name to its filter dict")
        unknown = [key for key in per_entity if key not in tables]
        if unknown:
            raise ValidationError(
                "filters name an entity that is not searched",
                context={"argument": "filters", "entities": sorted(map(str, unknown))[:8]},
            )
        statements = [
            search_table(table, query, self._repos[table]._where(per_entity.get(table)), limit)
            for table in tables
        ]
        results = await self.db.execute_many(statements)
        hits: list[tuple[float, int, str, Any]] = []
        for order, (table, rows) in enumerate(zip(tables, results, strict=True)):
            repo = self._repos[table]
            for row in rows or []:
                item = repo._decode(row)
                hits.append((-float(row.get("score") or 0.0), order, str(item.id), item))
        hits.sort(key=lambda hit: hit[:3])
        return [
            EntityHit(
                entity=cast(SearchableEntity, type(item).__table__),
                id=item.id,
                rank=rank,
                score=-neg,
                item=item,
            )
            for rank, (neg, _, _, item) in enumerate(hits[:limit], start=1)
        ]

    @staticmethod
    def _entities(entities: Iterable[SearchableEntity] | None) -> list[str]:
        if entities is None:
            return list(SEARCHABLE)
        if isinstance(entities, str | bytes) or not isinstance(entities, Iterable):
            raise fail("entities", f"must be a list of entity names ({', '.join(SEARCHABLE)})")
        chosen = list(entities)
        if not chosen or any(e not in get_args(SearchableEntity) for e in chosen):
            raise fail("entities", f"must be a non-empty list drawn from {', '.join(SEARCHABLE)}")
        return [table for table in SEARCHABLE if table in chosen]
