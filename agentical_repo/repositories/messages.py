"""MessageRepository: conversation messages, keyset history, context windows, full-text search.

A conversation is not a table: ``conversation_id`` is a UUID shared by its
messages, indexed together with ``created_at``. History pages are keyset pages
over ``(created_at, id)``, newest first, so a page costs the same at any depth and
a message arriving between two page reads neither repeats nor hides one.

Search uses the BM25 ``FULLTEXT`` index on ``content`` (``@1@``). An empty query
is refused up front: ``content @@ NONE`` matches *every* row, so a blank search
box must never reach the engine.

BM25 statistics (how many documents contain a word, their average length) are the
index's, over every row, including rows the asking end user cannot see. So on a
connection signed in as an end user (``Database.end_user``) a hit's ``score`` is
its reciprocal rank (1, 1/2, 1/3, …), never the engine's score: the order is all
that is returned (see docs/security.md for what the order itself can reveal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from surrealdb import RecordID

from ..errors import ValidationError
from ..models import Message, MessageRole, SearchHit
from ..models.recall import HybridHit, VectorHit, VectorIndexStatus
from ..pagination import Page
from ..surql.queries import messages as q
from ..surql.statement import Statement
from ..validation import as_uuid, fail, page_limit, require_int
from . import recall
from .base import BaseRepository, IdLike

__all__ = ["MAX_SEARCH_LENGTH", "MessageRepository", "SearchHit"]

MAX_SEARCH_LENGTH = 1000
MAX_MARKER_LENGTH = 64
MAX_CONTEXT = 1000


def _check_query(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            "search text must be a non-empty, non-blank string", context={"argument": "text"}
        )
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValidationError(
            f"search text may have at most {MAX_SEARCH_LENGTH} characters", context={"argument": "text"}
        )
    return text.strip()


def _check_marker(value: Any, argument: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_MARKER_LENGTH:
        raise fail(argument, f"must be a string of at most {MAX_MARKER_LENGTH} characters")
    return value


class MessageRepository(BaseRepository[Message]):
    """Repository of ``Message``."""

    model = Message

    async def add_message(self, message: Message) -> Message:
        """Store a message; ``created_at`` comes from the database and orders the conversation."""
        return await self.create(self._check_entity(message, "message"))

    async def get_conversation(
        self, conversation_id: IdLike, *, limit: int = 50, before: str | None = None
    ) -> Page[Message]:
        """One page of a conversation, newest first (one request).

        ``before`` is the ``next_cursor`` of the previous page: the next page holds
        the messages older than its last one. Ties on ``created_at`` are ordered by
        id, so paging never skips or repeats a message.
        """
        cid = as_uuid(conversation_id, "conversation_id")
        page_limit(limit)
        if before is not None and not isinstance(before, str):
            raise ValidationError("before must be a cursor string", context={"argument": "before"})
        try:
            return await self.paginate(
                {"conversation_id": cid}, limit=limit, after=before, order_by=("-created_at",)
            )
        except ValidationError as exc:
            if exc.context.get("argument") != "after":
                raise
            raise ValidationError(exc.message, code=exc.code, context={"argument": "before"}) from None

    async def get_context(self, conversation_id: IdLike, last_n: int) -> list[Message]:
        """The last ``last_n`` messages, in chronological order (one request; 0 → ``[]``).

        The window is taken newest-first over ``(created_at, id)`` and reversed,
        so equal timestamps are broken by id the same way every time.
        """
        cid = as_uuid(conversation_id, "conversation_id")
        n = require_int(last_n, "last_n", 0, MAX_CONTEXT)
        if n == 0:
            return []
        rows = await self._read(q.context_window(cid, n))
        return list(reversed(self._decode_list(rows)))

    def _search_statement(
        self,
        text: Any,
        conversation_id: IdLike | None,
        user_id: IdLike | None,
        limit: Any,
        highlight: tuple[str, str] | None,
    ) -> Statement:
        query = _check_query(text)
        page_limit(limit)
        cid = None if conversation_id is None else as_uuid(conversation_id, "conversation_id")
        author = None if user_id is None else RecordID("user", as_uuid(user_id, "user_id", "user"))
        markers = None
        if highlight is not None:
            markers = (
                _check_marker(highlight[0], "highlight_start"),
                _check_marker(highlight[1], "highlight_end"),
            )
        return q.search(query, limit, conversation=cid, author=author, highlight=markers)

    async def search(
        self,
        text: str,
        *,
        conversation_id: IdLike | None = None,
        user_id: IdLike | None = None,
        limit: int = 20,
    ) -> list[Message]:
        """Messages matching ``text`` (BM25 over stemmed words; all words must match), best first.

        Optionally restricted to one conversation and/or one author. An empty or
        blank ``text`` is a ``ValidationError``, never a match-all.
        """
        statement = self._search_statement(text, conversation_id, user_id, limit, None)
        return self._decode_list(await self._read(statement))

    async def search_with_highlights(
        self,
        text: str,
        *,
        conversation_id: IdLike | None = None,
        user_id: IdLike | None = None,
        limit: int = 20,
        highlight_start: str = "<mark>",
        highlight_end: str = "</mark>",
    ) -> list[SearchHit]:
        """Like ``search``, with each hit's score and ``content`` with the matched words marked.

        The markers are inserted by the engine (``search::highlight``) and are not
        escaped: HTML-escape ``content`` yourself before using HTML markers in a page.
        On a connection signed in as an end user the score is the hit's reciprocal
        rank (``1 / position``): the engine's BM25 score depends on rows that user
        cannot see.
        """
        statement = self._search_statement(
            text, conversation_id, user_id, limit, (highlight_start, highlight_end)
        )
        rows = await self._read(statement) or []
        rank_only = self.db.end_user is not None
        return [
            SearchHit(
                message=self._decode(row),
                score=1.0 / position if rank_only else float(row.get("score") or 0.0),
                highlight=str(row.get("highlight") if row.get("highlight") is not None else row["content"]),
            )
            for position, row in enumerate(rows, start=1)
        ]

    async def delete_conversation(self, conversation_id: IdLike) -> int:
        """Delete every message of a conversation; returns how many were deleted (one request)."""
        cid = as_uuid(conversation_id, "conversation_id")
        return await self.delete_many({"conversation_id": cid})

    async def count_conversation(self, conversation_id: IdLike) -> int:
        """Number of messages in a conversation."""
        return await self.count({"conversation_id": as_uuid(conversation_id, "conversation_id")})

    async def vector_index_status(self) -> VectorIndexStatus:
        """The vector index's build state: ``ready``, or ``indexing`` during a rebuild."""
        return await recall.vector_index_status(self)

    async def rebuild_vector_index(self, *, max_seconds: float = 3600.0) -> VectorIndexStatus:
        """Link every stored vector into the HNSW graph, so searches stop scanning them one by one.

        On an embedded engine, call it after a bulk load and whenever many vectors were
        written since the last one (the engine compacts new vectors into the graph only
        on a server). This process's searches stay exact meanwhile (brute force). For the
        application's connection, outside transactions; ``max_seconds`` bounds the wait.
        """
        return await recall.rebuild_vector_index(self, max_seconds=max_seconds)

    async def semantic_search(
        self,
        vector: Sequence[float],
        *,
        limit: int = 10,
        conversation_id: IdLike | None = None,
        role: MessageRole | str | None = None,
        user_id: IdLike | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        ef: int | None = None,
    ) -> list[VectorHit]:
        """The ``limit`` messages whose ``embedding`` is nearest to ``vector`` (HNSW KNN), nearest first.

        Filters narrow the search itself; ``ef`` is the search width (see ``recall.py``).
        """
        return await recall.semantic_search(
            self,
            vector,
            limit=limit,
            conversation_id=conversation_id,
            role=role,
            user_id=user_id,
            created_after=created_after,
            created_before=created_before,
            ef=ef,
        )

    async def hybrid_search(
        self,
        text: str,
        vector: Sequence[float],
        *,
        limit: int = 10,
        candidates: int | None = None,
        rrf_k: int = recall.DEFAULT_RRF_K,
        conversation_id: IdLike | None = None,
        role: MessageRole | str | None = None,
        user_id: IdLike | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        ef: int | None = None,
    ) -> list[HybridHit]:
        """BM25 on ``text`` and KNN on ``vector``, fused by reciprocal rank in one request, best first."""
        return await recall.hybrid_search(
            self,
            text,
            vector,
            limit=limit,
            candidates=candidates,
            rrf_k=rrf_k,
            conversation_id=conversation_id,
            role=role,
            user_id=user_id,
            created_after=created_after,
            created_before=created_before,
            ef=ef,
        )
