"""Generated vectors for the recall tests: a small dimension, the index redefined to it."""

from __future__ import annotations

import math
import random

from agentical_repo import Database
from agentical_repo.repositories.recall import vector_index_migration

DIM = 8


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine distance, the index's metric: what brute force ranks by."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return 1 - dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def vec(rng: random.Random) -> list[float]:
    return [rng.gauss(0, 1) for _ in range(DIM)]


async def small_index(db: Database) -> None:
    """Redefine the message index for ``DIM`` dimensions, as an application migration would."""
    await db.query(vector_index_migration(DIM, "COSINE"))
