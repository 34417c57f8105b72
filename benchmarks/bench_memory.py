"""``make bench`` (``python benchmarks/bench_memory.py``): vector memory quality and speed.

For each (messages, dimension, distribution):

1. store the messages with embeddings through ``create_many`` (the write rate; the
   engine queues each vector for the index);
2. search while the vectors are only queued: the engine compares a query with every
   queued vector (exact, linear in their number) — an embedded engine never links
   them into the graph by itself;
3. ``rebuild_vector_index()`` (the graph build rate, and the resident memory it adds);
4. 50 searches on other queries of the same topics while the engine reads the new graph
   into its caches (the cold p50);
5. search the HNSW graph at each ``ef``: recall@10 against exact brute force, p50/p99.

Distributions: ``random`` (Gaussian vectors, the hard case for any index: no structure)
and ``clustered`` (vectors around 50 centres, like embeddings of a few topics).

Default run: 10k messages, dimensions 32 and 384, both distributions. ``--full`` adds
100k messages (the 384-dimension graph build alone takes many minutes on two cores).
``--ef`` runs other search widths too. Results print as a Markdown table and, with
``--json PATH``, are written as JSON.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import math
import multiprocessing
import operator
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import Message, MessageRole
from agentical_repo.repositories.recall import DEFAULT_EF, vector_index_migration

QUERIES = 50
K = 10


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def normalise(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


def centres(dim: int, rng: random.Random) -> list[list[float]]:
    """The 50 topic centres of one case: its stored vectors and its queries share them."""
    return [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(50)]


def vectors(
    n: int, dim: int, kind: str, rng: random.Random, topics: list[list[float]]
) -> Iterator[list[float]]:
    """``n`` unit vectors: Gaussian (``random``) or around one of ``topics`` (``clustered``).

    Queries come from the same call with the same ``topics``: a query about a topic the
    memory has never seen would measure something else (its true neighbours are scattered
    over the edges of every cluster).
    """
    for _ in range(n):
        if kind == "random":
            yield normalise([rng.gauss(0, 1) for _ in range(dim)])
        else:
            c = rng.choice(topics)
            yield normalise([x + rng.gauss(0, 0.35) for x in c])


def exact_top(query: list[float], stored: list[tuple[uuid.UUID, array.array[float]]]) -> set[uuid.UUID]:
    scored = [(-sum(map(operator.mul, query, v)), key) for key, v in stored]  # cosine on unit vectors
    scored.sort()
    return {key for _, key in scored[:K]}


async def timed_searches(
    repos: Repositories, queries: list[list[float]], truth: list[set[uuid.UUID]], ef: int
) -> tuple[float, float, float]:
    """(recall@10, p50 ms, p99 ms) of ``semantic_search`` over ``queries``."""
    times, found = [], 0
    for q, exact in zip(queries, truth, strict=True):
        t0 = time.perf_counter()
        hits = await repos.messages.semantic_search(q, limit=K, ef=ef)
        times.append((time.perf_counter() - t0) * 1000)
        found += len(exact & {h.message.id for h in hits})
    times.sort()
    p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]
    return found / (K * len(queries)), statistics.median(times), p99


async def run_case(
    n: int, dim: int, kind: str, efs: list[int], seed: int, *, m: int, efc: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    topics = centres(dim, rng)
    settings = DatabaseSettings(url="mem://", namespace="bench", database=f"m_{uuid.uuid4().hex}")
    async with Database(settings) as db:
        await db.apply_schema()
        await db.query(vector_index_migration(dim, "COSINE", m=m, efc=efc))
        repos = Repositories(db)
        conv = uuid.uuid4()
        # float32 arrays: the engine's own precision (TYPE F32), and 4 bytes a value, so
        # the bench's copy adds only ``raw vectors MB`` to the measured resident memory.
        stored: list[tuple[uuid.UUID, array.array[float]]] = []

        def messages() -> Iterator[Message]:
            for i, v in enumerate(vectors(n, dim, kind, rng, topics)):
                m = Message(conversation_id=conv, role=MessageRole.USER, content=f"message {i}", embedding=v)
                stored.append((m.id, array.array("f", v)))
                yield m

        before = rss_bytes()
        started = time.perf_counter()
        await repos.messages.create_many(messages(), chunk_size=200)
        write_s = time.perf_counter() - started
        written = rss_bytes()
        queries = list(vectors(QUERIES, dim, kind, rng, topics))
        truth = [exact_top(q, stored) for q in queries]
        warmup = list(vectors(QUERIES, dim, kind, rng, topics))
        queued = await timed_searches(repos, queries[:10], truth[:10], DEFAULT_EF)
        started = time.perf_counter()
        status = await repos.messages.rebuild_vector_index(max_seconds=86400)
        build_s = time.perf_counter() - started
        assert status.initial == n, status
        built = rss_bytes()
        # The first searches after a rebuild read the graph into the engine's caches:
        # timed on other queries of the same topics, so the rows below are warm.
        cold = await timed_searches(repos, warmup, [set() for _ in warmup], DEFAULT_EF)
        rows = []
        for ef in efs:
            recall, p50, p99 = await timed_searches(repos, queries, truth, ef)
            rows.append(
                {
                    "messages": n,
                    "dim": dim,
                    "kind": kind,
                    "m": m,
                    "efc": efc,
                    "ef": ef,
                    "recall_at_10": recall,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "queued_p50_ms": queued[1],
                    "cold_p50_ms": cold[1],
                    "write_rows_per_s": n / write_s,
                    "build_rows_per_s": n / build_s,
                    "rss_records_mb": (written - before) / 2**20,
                    "rss_graph_mb": (built - written) / 2**20,
                    "raw_vectors_mb": n * dim * 4 / 2**20,
                }
            )
        return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| messages | dim | vectors | ef | recall@10 | p50 ms | p99 ms | cold p50 ms | queued p50 ms "
        "| write rows/s "
        "| graph build rows/s | RSS records MB | RSS graph MB | raw vectors MB |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in rows:
        lines.append(
            f"| {r['messages']:,} | {r['dim']} | {r['kind']} | {r['ef']} | {r['recall_at_10']:.3f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['cold_p50_ms']:.1f} | {r['queued_p50_ms']:.1f} | "
            f"{r['write_rows_per_s']:,.0f} | {r['build_rows_per_s']:,.0f} | "
            f"{r['rss_records_mb']:.0f} | {r['rss_graph_mb']:.0f} | {r['raw_vectors_mb']:.1f} |"
        )
    return "\n".join(lines)


def save(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(rows, indent=2))


def isolated_case(
    n: int, dim: int, kind: str, efs: list[int], seed: int, m: int, efc: int
) -> list[dict[str, Any]]:
    """``run_case`` in a fresh process: memory freed by an earlier case stays in this
    process's allocator and would be reused, hiding what the next case's records and
    graph take from the resident-set columns."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_case, n, dim, kind, efs, seed, m, efc).result()


def _case(n: int, dim: int, kind: str, efs: list[int], seed: int, m: int, efc: int) -> list[dict[str, Any]]:
    return asyncio.run(run_case(n, dim, kind, efs, seed, m=m, efc=efc))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="also 100k messages (slow)")
    parser.add_argument("--sizes", default="10000", help="comma-separated message counts")
    parser.add_argument("--dims", default="32,384")
    parser.add_argument("--kinds", default="random,clustered")
    parser.add_argument("--ef", default=str(DEFAULT_EF), help="comma-separated search widths")
    parser.add_argument("--m", type=int, default=12, help="graph links per node (12: packaged)")
    parser.add_argument("--efc", type=int, default=150, help="build search width (150: packaged)")
    parser.add_argument("--json", default=None, help="write the rows here (after every case)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000] if args.full else [])
    efs = [int(e) for e in args.ef.split(",")]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for dim in (int(d) for d in args.dims.split(",")):
            for kind in args.kinds.split(","):
                case = isolated_case(n, dim, kind, efs, n + dim, args.m, args.efc)
                rows.extend(case)
                print("\n".join(table(case).splitlines()[2:]), flush=True)
                if args.json:
                    save(Path(args.json), rows)
    print()
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
