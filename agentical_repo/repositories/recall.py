"""Vector and hybrid recall over messages (``MessageRepository.semantic_search`` / ``hybrid_search``).

Python only: argument checks (before any I/O), the statements of
``surql/queries/recall.py``, decoding into ``VectorHit`` / ``HybridHit``.

End users (record access): the engine's PERMISSIONS decide which rows they see,
and the queries also restrict the index search itself to their own rows, so the
``k`` nearest come from what they may see (a hidden row never takes a slot). A
distance is between two vectors and depends on no other row. A BM25 score depends
on every row's statistics, so on an end user's connection ``text_score`` is
``None`` and the fused score uses ranks only (as ``search`` does; the residual
risk of the order itself is in docs/security.md).

``vector_index_migration`` / ``write_vector_migration`` produce the application
migration that sets another dimension or distance for the index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from surrealdb import RecordID

from ..errors import ValidationError
from ..models import MessageRole
from ..models.recall import HybridHit, VectorHit
from ..surql.queries import recall as q
from ..validation import as_uuid, enum_value, fail, require_int

if TYPE_CHECKING:
    from .messages import MessageRepository

__all__ = [
    "DEFAULT_EF",
    "DEFAULT_RRF_K",
    "hybrid_search",
    "semantic_search",
    "vector_index_migration",
    "write_vector_migration",
]

#: HNSW search width when none is given: candidates kept while searching (>= limit).
DEFAULT_EF = 100
#: The RRF constant: larger flattens the difference between ranks.
DEFAULT_RRF_K = 60
MAX_DIMENSION = 16384
MAX_QUERY_TEXT = 1000


def check_vector(vector: object, argument: str = "vector") -> list[float]:
    """A non-empty sequence of finite numbers (at most ``MAX_DIMENSION``), as floats."""
    if isinstance(vector, str | bytes) or not isinstance(vector, Sequence):
        raise fail(argument, "must be a list of numbers")
    if not 1 <= len(vector) <= MAX_DIMENSION:
        raise fail(argument, f"must have 1..{MAX_DIMENSION} numbers")
    out: list[float] = []
    for x in vector:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise fail(argument, "must hold only finite numbers")
        out.append(float(x))
    return out


def _filters(
    repo: MessageRepository,
    conversation_id: Any,
    role: Any,
    user_id: Any,
    created_after: Any,
    created_before: Any,
) -> q.RecallFilters:
    for name, value in (("created_after", created_after), ("created_before", created_before)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise fail(name, "must be a timezone-aware datetime")
    return q.RecallFilters(
        conversation=None if conversation_id is None else as_uuid(conversation_id, "conversation_id"),
        role=None if role is None else enum_value(MessageRole, role, "role").value,
        author=None if user_id is None else RecordID("user", as_uuid(user_id, "user_id", "user")),
        created_after=created_after,
        created_before=created_before,
        own_rows_only=repo.db.end_user is not None,
    )


def _ef(ef: object, limit: int) -> int:
    if ef is None:
        return max(DEFAULT_EF, limit)
    value = require_int(ef, "ef", 1, q.MAX_EF)
    if value < limit:
        raise fail("ef", "must be at least limit (the search keeps ef candidates)")
    return value


async def semantic_search(
    repo: MessageRepository,
    vector: Sequence[float],
    *,
    limit: int = 10,
    conversation_id: Any = None,
    role: Any = None,
    user_id: Any = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    ef: int | None = None,
) -> list[VectorHit]:
    vec = check_vector(vector)
    k = require_int(limit, "limit", 1, q.MAX_K)
    width = _ef(ef, k)
    filters = _filters(repo, conversation_id, role, user_id, created_after, created_before)
    rows = await repo._read(q.semantic(vec, k, width, filters)) or []
    return [
        VectorHit(message=repo._decode(row), distance=float(row["distance"]), rank=rank)
        for rank, row in enumerate(rows, start=1)
    ]


async def hybrid_search(
    repo: MessageRepository,
    text: str,
    vector: Sequence[float],
    *,
    limit: int = 10,
    candidates: int | None = None,
    rrf_k: int = DEFAULT_RRF_K,
    conversation_id: Any = None,
    role: Any = None,
    user_id: Any = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    ef: int | None = None,
) -> list[HybridHit]:
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_QUERY_TEXT:
        raise ValidationError(
            f"text must be a non-blank string of at most {MAX_QUERY_TEXT} characters",
            context={"argument": "text"},
        )
    vec = check_vector(vector)
    n = require_int(limit, "limit", 1, q.MAX_K)
    pool = max(n * 2, 20) if candidates is None else require_int(candidates, "candidates", 1, q.MAX_K)
    if pool < n:
        raise fail("candidates", "must be at least limit")
    k = require_int(rrf_k, "rrf_k", 1, 10_000)
    width = _ef(ef, pool)
    filters = _filters(repo, conversation_id, role, user_id, created_after, created_before)
    result = await repo._read(q.hybrid(text.strip(), vec, n, pool, width, k, filters))
    vector_rank = {row["id"]: i for i, row in enumerate(result["vector"], start=1)}
    text_rank = {row["id"]: i for i, row in enumerate(result["text"], start=1)}
    text_score = {row["id"]: row.get("text_score") for row in result["text"]}
    distance = {row["id"]: row.get("distance") for row in result["vector"]}
    rows = {row["id"]: row for row in result["rows"] or []}
    rank_only = repo.db.end_user is not None
    hits: list[HybridHit] = []
    for entry in result["fused"] or []:
        rid = entry["id"]
        row = rows.get(rid)
        if row is None:  # deleted between the lists and the read
            continue
        score = text_score.get(rid)
        dist = distance.get(rid)
        hits.append(
            HybridHit(
                message=repo._decode(row),
                score=float(entry["rrf_score"]),
                vector_rank=vector_rank.get(rid),
                text_rank=text_rank.get(rid),
                distance=None if dist is None else float(dist),
                text_score=None if rank_only or score is None else float(score),
            )
        )
    return hits


def vector_index_migration(dimension: int, distance: str = "COSINE", *, m: int = 12, efc: int = 150) -> str:
    """The SurrealQL of an application migration that sets the message vector index.

    ``dimension`` is your embedding model's; ``distance`` one of COSINE, EUCLIDEAN,
    MANHATTAN; ``m`` (links per node) and ``efc`` (build-time search width) trade
    build time and memory for recall (docs/performance.md). Redefining the index
    rebuilds it over the stored vectors; rows whose vector has another length must
    be re-embedded first.
    """
    header = (
        f"-- message vector index: dimension {dimension}, {distance} distance "
        "(generated by agentical_repo.repositories.recall.vector_index_migration)\n"
    )
    return header + q.vector_index_ddl(dimension, distance, m=m, efc=efc)


def write_vector_migration(
    directory: str | Path,
    number: int,
    dimension: int,
    distance: str = "COSINE",
    *,
    m: int = 12,
    efc: int = 150,
) -> Path:
    """Write ``NNNN_message_vector_index.surql`` into an application migration directory."""
    num = require_int(number, "number", 1, 9999)
    text = vector_index_migration(dimension, distance, m=m, efc=efc)
    path = Path(directory) / f"{num:04d}_message_vector_index.surql"
    path.write_text(text, encoding="utf-8")
    return path
