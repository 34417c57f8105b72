"""Message statements: context windows and BM25 full-text search.

Pure functions: ids and values in, ``Statement`` out. A conversation is not a
table: ``conversation_id`` is a UUID shared by its messages, indexed together
with ``created_at``. Search reads the ``FULLTEXT`` index on ``content`` through
the match operator ``@1@`` (reference 1 is what ``search::score(1)`` and
``search::highlight(…, 1)`` read back). The caller must refuse a blank search
text: ``content @@ NONE`` matches every row.
"""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from ..statement import Sql, Statement, Var, sql

__all__ = ["TABLE", "context_window", "search"]

TABLE = "message"


def context_window(conversation: uuid.UUID, limit: int) -> Statement:
    """The newest ``limit`` messages of a conversation, newest first (ties broken by id).

    Both keys descend, so the engine streams the ``(conversation_id, created_at)``
    index; the caller reverses the rows into chronological order.
    """
    text = sql(
        "SELECT * FROM message WHERE conversation_id = {cid} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        cid=Var(conversation, "conversation_id"),
        limit=Var(limit, "limit"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def search(
    query: str,
    limit: int,
    *,
    conversation: uuid.UUID | None = None,
    author: RecordID | None = None,
    highlight: tuple[str, str] | None = None,
) -> Statement:
    """Messages whose ``content`` matches ``query``, best BM25 score first.

    Optionally restricted to one conversation and/or one author (``user_id``).
    Each row carries ``score``; with ``highlight`` (start, end markers) also
    ``highlight``: the content with matched words wrapped by the engine. Equal
    scores are ordered newest first, then by id, so the order is stable.
    """
    where = [sql("content @1@ {query}", query=Var(query, "query"))]
    if conversation is not None:
        where.append(sql("conversation_id = {cid}", cid=Var(conversation, "conversation_id")))
    if author is not None:
        where.append(sql("user_id = {uid}", uid=Var(author, "user_id")))
    projection = Sql(("*, search::score(1) AS score",))
    if highlight is not None:
        projection += sql(
            ", search::highlight({start}, {end}, 1) AS highlight",
            start=Var(highlight[0], "hl_start"),
            end=Var(highlight[1], "hl_end"),
        )
    text = sql(
        "SELECT {projection} FROM message WHERE {where} "
        "ORDER BY score DESC, created_at DESC, id ASC LIMIT {limit}",
        projection=projection,
        where=Sql.join(" AND ", where),
        limit=Var(limit, "limit"),
    )
    return Statement(text, operation="SELECT", table=TABLE)
