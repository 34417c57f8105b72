"""Cross-entity search statements: one BM25 SELECT per searchable table.

Each table has a FULLTEXT index on ``name`` (reference 1) and on ``description``
(reference 2), defined in ``schema/0013_entity_search.surql``. A row matches when
either field does; its ``score`` weighs a name match double, because a term in
the name says more about what an agent or tool *is* than the same term in its
prose. The caller must refuse a blank text (``@@ NONE`` matches every row).
"""

from __future__ import annotations

from ..filters import conjoin
from ..statement import Ident, Sql, Statement, Var, ident, sql

__all__ = ["NAME_WEIGHT", "SEARCHABLE", "search_table"]

#: Tables with the name/description full-text indexes, in the order hits tie-break.
SEARCHABLE: tuple[str, ...] = ("agent", "tool", "workflow", "playbook")
NAME_WEIGHT = 2


def search_table(table: str, query: str, where: Sql | None, limit: int) -> Statement:
    """The ``limit`` best rows of ``table`` for ``query``, each with its ``score``."""
    if table not in SEARCHABLE:
        raise ValueError(f"{table!r} has no search indexes")
    target: Ident = ident(table)
    match = sql("(name @1@ {q} OR description @2@ {q})", q=Var(query, "query"))
    text = sql(
        "SELECT *, (search::score(1) * {weight} + search::score(2)) AS score FROM {table} "
        "WHERE {where} ORDER BY score DESC, id ASC LIMIT {limit}",
        weight=Var(NAME_WEIGHT, "name_weight"),
        table=target,
        where=conjoin(where, match) if where is not None else match,
        limit=Var(limit, "limit"),
    )
    return Statement(text, operation="SELECT", table=table)
