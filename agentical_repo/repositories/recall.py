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

import asyncio
import math
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from surrealdb import RecordID

from ..errors import (
    AccessDeniedError,
    ConflictError,
    DatabaseUnavailableError,
    QueryError,
    RepositoryError,
    TransactionError,
    ValidationError,
)
from ..models import MessageRole
from ..models.recall import HybridHit, VectorHit, VectorIndexStatus
from ..surql.queries import recall as q
from ..surql.statement import Statement
from ..validation import as_uuid, enum_value, fail, require_int

if TYPE_CHECKING:
    from ..database import Database
    from .messages import MessageRepository

__all__ = [
    "DEFAULT_EF",
    "DEFAULT_RRF_K",
    "hybrid_search",
    "rebuild_vector_index",
    "rebuilding",
    "semantic_search",
    "vector_index_migration",
    "vector_index_status",
    "write_vector_migration",
]

#: HNSW search width when none is given: candidates kept while searching (>= limit).
#: The engine's graph needs a wide search for recall@10 >= 0.95 on unstructured
#: 384-dimension vectors (docs/performance.md#vector-memory); the width costs
#: milliseconds, a missed neighbour is a memory the agent never sees.
DEFAULT_EF = 800
#: The RRF constant: larger flattens the difference between ranks.
DEFAULT_RRF_K = 60
MAX_DIMENSION = 16384
MAX_QUERY_TEXT = 1000
_DIST_RE = re.compile(r"\bDIST (\w+)")


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


def _unranked(rows: Sequence[Any], k: int) -> bool:
    """True for the engine's answer while another connection rebuilds the index: every
    row, no distances (3.2.4: KNN during a rebuild can ignore ``k`` and answer the whole
    table with ``vector::distance::knn()`` NONE)."""
    return len(rows) > k or any(not isinstance(row, Mapping) or row.get("distance") is None for row in rows)


async def _index_distance(repo: MessageRepository) -> str:
    """The vector index's distance, for a brute-force search while the graph is rebuilt."""
    if repo.db.end_user is not None:
        # end users cannot read definitions: they wait for the rebuild to end
        raise DatabaseUnavailableError(
            "the message vector index is being rebuilt; search again shortly",
            code="index_building",
            context={"table": repo.table, "index": q.INDEX_NAME},
        )
    definition = await repo._read(q.index_definition())
    match = _DIST_RE.search(definition) if isinstance(definition, str) else None
    if match is None or match.group(1) not in q.DISTANCES:
        raise RepositoryError(
            "the message vector index answered without distances and its definition is unreadable",
            code="index_unreadable",
            context={"table": repo.table, "index": q.INDEX_NAME},
        )
    return match.group(1)


async def _search(
    repo: MessageRepository,
    statement: Callable[[str | None], Statement],
    k: int,
    *,
    knn_rows: Callable[[Any], Sequence[Any]] = lambda answer: answer or [],
) -> Any:
    """Read ``statement(None)`` (the HNSW graph), or ``statement(distance)`` (brute force)
    while this process rebuilds the index or when the engine's KNN answer (``knn_rows``
    of it) shows another connection's rebuild."""
    exact = await _index_distance(repo) if rebuilding(repo.db) else None
    answer = await repo._read(statement(exact))
    if exact is None and _unranked(knn_rows(answer), k):
        answer = await repo._read(statement(await _index_distance(repo)))
    return answer


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
    rows = await _search(repo, lambda exact: q.semantic(vec, k, width, filters, exact=exact), k) or []
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
    query = text.strip()
    result = await _search(
        repo,
        lambda exact: q.hybrid(query, vec, n, pool, width, k, filters, exact=exact),
        pool,
        knn_rows=lambda answer: answer["vector"],
    )
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


def _maintainer(repo: MessageRepository, what: str) -> None:
    """Index maintenance is the application's, outside transactions."""
    if repo.tx is not None:
        raise TransactionError(f"{what} cannot run inside a transaction; run it before or after")
    if repo.db.end_user is not None:
        raise AccessDeniedError(
            f"message: {what} is for the application's own connection, not an end user's",
            context={"table": repo.table},
        )


def _seconds(value: object, argument: str, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= hi:
        raise fail(argument, f"must be a number of seconds in (0, {hi:g}]")
    return float(value)


async def vector_index_status(repo: MessageRepository) -> VectorIndexStatus:
    """The vector index's build state (one request)."""
    _maintainer(repo, "vector_index_status")
    info = await repo.db.execute(q.index_status())
    building = info.get("building") if isinstance(info, Mapping) else None
    if not isinstance(building, Mapping) or not isinstance(building.get("status"), str):
        raise RepositoryError(
            "the vector index reported no build status (is schema 0017 applied?)",
            code="index_status_unreadable",
            context={"table": repo.table, "index": q.INDEX_NAME},
        )
    if building["status"] == "error":
        raise RepositoryError(
            f"the vector index build failed: {str(building.get('error', ''))[:200]}",
            code="index_build_failed",
            context={"table": repo.table, "index": q.INDEX_NAME},
        )
    counts = {k: building[k] for k in ("initial", "pending", "updated") if isinstance(building.get(k), int)}
    return VectorIndexStatus(status=building["status"], **counts)


#: Databases with a vector-index rebuild running in this process (searches go brute force).
_REBUILDING: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


def _rebuild_lock(db: Database) -> asyncio.Lock:
    lock = _REBUILDING.get(db)
    if lock is None:
        lock = _REBUILDING[db] = asyncio.Lock()
    return lock


def rebuilding(db: Database) -> bool:
    """Whether this process is rebuilding ``db``'s vector index right now."""
    lock = _REBUILDING.get(db)
    return lock is not None and lock.locked()


async def rebuild_vector_index(repo: MessageRepository, *, max_seconds: float = 3600.0) -> VectorIndexStatus:
    """Build the HNSW graph over every stored vector; return when it is built.

    Why: the engine adds a written vector to a queue that searches compare one by one
    (exact, but linear in its length) until a background compaction links it into the
    graph, and an embedded engine runs no background compaction, so without a
    rebuild every search stays a linear scan (docs/memory.md).

    While the engine rebuilds, its KNN answers are unreliable (fewer than ``k`` rows,
    or every row without a distance), so this process's searches meanwhile use brute
    force with the index's distance: exact, and slower. Rebuilds in one process run
    one at a time; ``max_seconds`` replaces ``query_timeout`` for the rebuild.
    A rebuild started elsewhere (another process of a server) raises
    ``ConflictError(code="index_building")``.
    """
    _maintainer(repo, "rebuild_vector_index")
    limit = _seconds(max_seconds, "max_seconds", 86400)
    async with _rebuild_lock(repo.db):
        try:
            with repo.db.timeout(limit):
                await repo.db.execute(q.rebuild_index())
        except QueryError as exc:
            if "is currently building" not in exc.message:
                raise
            raise ConflictError(
                "the message vector index is already being rebuilt (by another connection)",
                code="index_building",
                context={"table": repo.table, "index": q.INDEX_NAME},
                retryable=True,
            ) from None
        return await vector_index_status(repo)


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
