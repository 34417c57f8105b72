"""Vector and hybrid recall statements over ``message`` (HNSW index of 0017).

KNN is ``embedding <|k,ef|> $vector``: the engine's grammar takes ``k`` and ``ef``
only as literals, so both are rendered as checked integer literals
(``changes.int_literal``); the vector and every filter value are bound. The
hybrid statement runs the KNN list, the BM25 list and ``search::rrf`` over both in
one request and returns the three lists with the fused rows.

``vector_index_ddl`` writes the DDL of an application migration that redefines the
index for another dimension or distance (also literals in DDL, also checked).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from surrealdb import RecordID

from ...errors import ValidationError
from ..statement import Sql, Statement, Var, sql
from .changes import int_literal

__all__ = [
    "DISTANCES",
    "INDEX_NAME",
    "MAX_EF",
    "MAX_K",
    "RecallFilters",
    "hybrid",
    "index_definition",
    "index_status",
    "rebuild_index",
    "semantic",
    "vector_index_ddl",
]

TABLE = "message"
INDEX_NAME = "message_embedding"
MAX_K = 1000
MAX_EF = 4096
MAX_DIMENSION = 16384
DISTANCES = ("COSINE", "EUCLIDEAN", "MANHATTAN")


@dataclass(frozen=True)
class RecallFilters:
    """The filters every recall query shares (all optional, combined with AND)."""

    conversation: uuid.UUID | None = None
    role: str | None = None
    author: RecordID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    #: on an end user's connection: only their rows take part (see ``semantic``)
    own_rows_only: bool = False

    def conditions(self) -> list[Sql]:
        out: list[Sql] = []
        if self.conversation is not None:
            out.append(sql("conversation_id = {v}", v=Var(self.conversation, "conversation_id")))
        if self.role is not None:
            out.append(sql("role = {v}", v=Var(self.role, "role")))
        if self.author is not None:
            out.append(sql("user_id = {v}", v=Var(self.author, "user_id")))
        if self.created_after is not None:
            out.append(sql("created_at >= {v}", v=Var(self.created_after, "created_after")))
        if self.created_before is not None:
            out.append(sql("created_at < {v}", v=Var(self.created_before, "created_before")))
        if self.own_rows_only:
            out.append(Sql(("user_id = $auth.id",)))
        return out


def _distance_literal(distance: object) -> Sql:
    if not isinstance(distance, str) or distance.upper() not in DISTANCES:
        raise ValidationError(
            f"distance must be one of {', '.join(DISTANCES)}", context={"argument": "distance"}
        )
    return Sql((distance.upper(),))


def _knn(vector: Var, k: int, ef: int, filters: RecallFilters, exact: str | None) -> Sql:
    k_text = int_literal(k, "limit", 1, MAX_K)
    if exact is None:
        knn = sql("embedding <|{k},{ef}|> {vec}", k=k_text, ef=int_literal(ef, "ef", 1, MAX_EF), vec=vector)
    else:  # brute force with the index's distance: reads every vector, needs no index
        knn = sql("embedding <|{k},{dist}|> {vec}", k=k_text, dist=_distance_literal(exact), vec=vector)
    return Sql.join(" AND ", [knn, *filters.conditions()])


def semantic(
    vector: list[float], k: int, ef: int, filters: RecallFilters, *, exact: str | None = None
) -> Statement:
    """The ``k`` messages nearest to ``vector`` (HNSW, search width ``ef``), nearest first.

    Filters are part of the KNN condition, so the index search itself keeps to the
    matching rows: ``k`` hits come back whenever ``k`` matching rows have vectors.
    ``exact``: a distance (``COSINE``…) for a brute-force search instead of the index.
    """
    text = sql(
        "SELECT *, vector::distance::knn() AS distance FROM message WHERE {where} ORDER BY distance, id",
        where=_knn(Var(vector, "vector"), k, ef, filters, exact),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def hybrid(
    query: str,
    vector: list[float],
    limit: int,
    candidates: int,
    ef: int,
    rrf_k: int,
    filters: RecallFilters,
    *,
    exact: str | None = None,
) -> Statement:
    """KNN and BM25 candidate lists fused by ``search::rrf`` in one request.

    Returns ``{vector, text, fused, rows}``: the two ranked id lists (``candidates``
    each), the fused entries (``id``, ``rrf_score``, ``distance`` / ``text_score``) best
    first, and the fused messages' rows.
    """
    conditions = filters.conditions()
    text_where = Sql.join(" AND ", [sql("content @1@ {q}", q=Var(query, "query")), *conditions])
    text = sql(
        "{ LET $_v = (SELECT id, vector::distance::knn() AS distance FROM message "
        "WHERE {knn} ORDER BY distance, id); "
        "LET $_t = (SELECT id, search::score(1) AS text_score, created_at FROM message WHERE {text_where} "
        "ORDER BY text_score DESC, created_at DESC, id LIMIT {n}); "
        "LET $_f = search::rrf([$_v, $_t], {limit}, {rrf_k}); "
        "RETURN { vector: $_v, text: $_t, fused: $_f, rows: (SELECT * FROM $_f.id) }; }",
        knn=_knn(Var(vector, "vector"), candidates, ef, filters, exact),
        text_where=text_where,
        n=Var(candidates, "candidates"),
        limit=Var(limit, "limit"),
        rrf_k=Var(rrf_k, "rrf_k"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def vector_index_ddl(dimension: int, distance: str = "COSINE", *, m: int = 12, efc: int = 150) -> str:
    """``DEFINE INDEX OVERWRITE message_embedding …`` for an application migration file."""
    dim = int_literal(dimension, "dimension", 1, MAX_DIMENSION).text
    dist = _distance_literal(distance).text
    m_text = int_literal(m, "m", 2, 128).text
    efc_text = int_literal(efc, "efc", 8, 4096).text
    return (
        f"DEFINE INDEX OVERWRITE {INDEX_NAME} ON {TABLE} FIELDS embedding "
        f"HNSW DIMENSION {dim} DIST {dist} TYPE F32 EFC {efc_text} M {m_text};\n"
    )


def index_definition() -> Statement:
    """The vector index's ``DEFINE INDEX`` text (its distance, for a brute-force search)."""
    text = sql("RETURN (INFO FOR TABLE message).indexes[{name}]", name=Var(INDEX_NAME, "index"))
    return Statement(text, operation="INFO", table=TABLE)


def rebuild_index() -> Statement:
    """Rebuild the HNSW graph from every stored vector; the statement answers when it is built.

    (Not ``CONCURRENTLY``: that answers at once, and the status it reports cannot tell
    a finished build from one not yet started.)
    """
    return Statement(f"REBUILD INDEX {INDEX_NAME} ON {TABLE}", operation="REBUILD", table=TABLE)


def index_status() -> Statement:
    """``INFO FOR INDEX`` of the vector index: its build status and counters."""
    return Statement(f"INFO FOR INDEX {INDEX_NAME} ON {TABLE}", operation="INFO", table=TABLE)
