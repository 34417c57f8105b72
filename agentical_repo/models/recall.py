"""Hits of vector and hybrid recall over messages (``semantic_search``, ``hybrid_search``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .message import Message

__all__ = ["HybridHit", "VectorHit", "VectorIndexStatus"]


class VectorHit(BaseModel):
    """One nearest neighbour: the message, its distance to the query vector, its rank (1 = nearest).

    The distance is the index's metric (cosine distance by default) between two vectors:
    it does not depend on any other row.
    """

    model_config = ConfigDict(frozen=True)

    message: Message
    distance: float
    rank: int


class HybridHit(BaseModel):
    """One fused result: reciprocal-rank fusion of a vector and a BM25 ranking.

    ``score`` = sum over the component lists the message is in of ``1 / (k + rank)``;
    ``vector_rank`` / ``text_rank`` are its 1-based ranks there (``None`` when not in
    that list). ``text_score`` is the engine's BM25 score on the application's
    connection and ``None`` on an end user's, whose BM25 statistics would include rows
    they cannot see (the fused score uses ranks only).
    """

    model_config = ConfigDict(frozen=True)

    message: Message
    score: float
    vector_rank: int | None
    text_rank: int | None
    distance: float | None
    text_score: float | None


class VectorIndexStatus(BaseModel):
    """The HNSW index's build state, as ``INFO FOR INDEX`` reports it.

    ``status`` is ``ready`` when searches use the built graph, ``indexing`` while a
    rebuild runs (``initial`` counts the rows it has read so far). ``pending`` and
    ``updated`` count writes that arrived during a rebuild.
    """

    model_config = ConfigDict(frozen=True)

    status: str
    initial: int = 0
    pending: int = 0
    updated: int = 0
