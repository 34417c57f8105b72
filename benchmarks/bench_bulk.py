"""``make bench`` part 2 (``python benchmarks/bench_bulk.py``): coalescing and unordered bulk.

Why it exists: the repository layer should beat hand-written SDK calls where a layer
can — by sending fewer requests (coalescing concurrent point reads and creates into
one request per table) and by keeping the engine busy (two ``create_many`` chunks in
flight). Every workload runs the sides interleaved on the same connection and engine,
alternating their order per round, and reports ratios to the raw SDK of the same run:

* ``point_reads_cN``: N clients doing ``get_by_id`` of random stored agents for a fixed
  time; sides: repository with coalescing (the default), repository with
  ``db.coalescer.enabled = False``, raw SDK (``SELECT * FROM ONLY $id`` + decoding into
  the model). Ops/s and p50/p99 latency per side.
* ``mixed_cN``: the same with 80 % reads / 15 % updates / 5 % creates.
* ``create_many``: agents from a generator: raw SDK (a sequential ``INSERT INTO agent
  $rows`` loop, the chunk the chunk sweep found best for it: 50 on mem://, 500 on
  surrealkv://), ``create_many`` (ordered, the default) and
  ``create_many(ordered=False)`` at its default chunk and at 500.

Run: ``python benchmarks/bench_bulk.py`` (both embedded engines), ``--quick``,
``--engines mem``, ``--only coalesce`` / ``--only bulk``, ``--seconds 3``.
Results: ``benchmarks/results/bench-bulk-<UTC stamp>.json`` and a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import Agent, Entity

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ENGINES = ("mem", "surrealkv")


# ---------------------------------------------------------------------------- the raw side


def raw_content(entity: Entity) -> dict[str, Any]:
    """What a careful user writes by hand to turn a model into CONTENT for the SDK."""
    data = entity.model_dump(exclude={"id", "created_at", "updated_at"})
    for name, table in type(entity).__references__.items():
        if data.get(name) is not None:
            data[name] = RecordID(table, data[name])
    return {k: v.value if isinstance(v, Enum) else v for k, v in data.items()}


def raw_decode(row: dict[str, Any]) -> Agent:
    data = dict(row)
    data["id"] = data["id"].id
    return Agent.model_validate(data)


def raw_result(response: dict[str, Any]) -> Any:
    entry = response["result"][-1]
    if entry.get("status") != "OK":
        raise RuntimeError(str(entry.get("result"))[:200])
    return entry.get("result")


def agent_stream(n: int) -> Iterator[Agent]:
    statuses = ("active", "idle", "busy", "error", "disabled")
    for i in range(n):
        yield Agent(
            name=f"agent {i:07d}",
            agent_type=f"type-{i % 500}",
            status=statuses[(i // 500) % 5],
            config={"model": "m-1", "i": i},
        )


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------- engines


@contextlib.asynccontextmanager
async def open_engine(engine: str) -> AsyncIterator[Database]:
    tmp = tempfile.mkdtemp(prefix="bench-bulk-") if engine == "surrealkv" else None
    url = "mem://" if tmp is None else f"surrealkv://{tmp}/db"
    db = Database(DatabaseSettings(url=url, namespace="bench_bulk", database="boot"))
    try:
        await db.connect()
        yield db
    finally:
        await db.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


async def fresh(db: Database, label: str) -> Repositories:
    await db.use("bench_bulk", f"{label}_{uuid.uuid4().hex[:8]}")
    await db.apply_schema()
    return Repositories(db)


async def drop(db: Database) -> None:
    with contextlib.suppress(Exception):
        await db.client.query_raw(f"REMOVE DATABASE IF EXISTS {db.database}", {})


# ---------------------------------------------------------------------------- concurrency

SIDES = ("coalesced", "uncoalesced", "raw")


async def concurrent(
    db: Database, repos: Repositories, ids: list[uuid.UUID], clients: int, reads: float, seconds: float
) -> dict[str, Any]:
    """Each side twice (order alternating) for ``seconds / 2``; ops/s, p50, p99 per side."""
    client = db.client
    lat: dict[str, list[float]] = {s: [] for s in SIDES}
    errors = dict.fromkeys(SIDES, 0)
    cpu = dict.fromkeys(SIDES, 0.0)
    counter = itertools.count()

    async def drive(side: str) -> None:
        db.coalescer.enabled = side == "coalesced"
        stop = time.perf_counter() + seconds / 2

        async def one(k: int) -> None:
            rng = random.Random(k * 7919 + len(lat[side]))
            own = ids[k::clients] or ids
            while time.perf_counter() < stop:
                roll = rng.random()
                start = time.perf_counter()
                try:
                    if roll < reads:
                        i = rng.choice(ids)
                        if side == "raw":
                            raw_decode(
                                raw_result(
                                    await client.query_raw(
                                        "SELECT * FROM ONLY $id", {"id": RecordID("agent", i)}
                                    )
                                )
                            )
                        else:
                            await repos.agents.get_by_id(i)
                    elif roll < reads + 0.15:
                        i, n = rng.choice(own), next(counter)
                        if side == "raw":
                            raw_decode(
                                raw_result(
                                    await client.query_raw(
                                        "UPDATE ONLY $id SET description = $d, version += 1 RETURN AFTER",
                                        {"id": RecordID("agent", i), "d": f"d{n}"},
                                    )
                                )
                            )
                        else:
                            await repos.agents.update(i, {"description": f"d{n}"})
                    else:
                        a = Agent(name=f"c{k}-{next(counter)}", agent_type="worker")
                        if side == "raw":
                            raw_decode(
                                raw_result(
                                    await client.query_raw(
                                        "CREATE ONLY $id CONTENT $content",
                                        {"id": RecordID("agent", a.id), "content": raw_content(a)},
                                    )
                                )
                            )
                        else:
                            await repos.agents.create(a)
                except Exception:
                    errors[side] += 1
                    continue
                lat[side].append(time.perf_counter() - start)

        c0 = time.process_time()
        await asyncio.gather(*(one(k) for k in range(clients)))
        cpu[side] += time.process_time() - c0

    try:
        for r in range(2):
            order = list(SIDES) if r % 2 == 0 else list(reversed(SIDES))
            for side in order:
                gc.collect()
                await drive(side)
    finally:
        db.coalescer.enabled = True
    out: dict[str, Any] = {"clients": clients, "reads": reads, "seconds_per_side": seconds}
    for side in SIDES:
        out[side] = {
            "ops_per_s": len(lat[side]) / seconds,
            "p50_ms": pct(lat[side], 50) * 1000,
            "p99_ms": pct(lat[side], 99) * 1000,
            "errors": errors[side],
            # process CPU (event loop + engine threads) per op: steadier than wall time on a busy machine
            "cpu_us_per_op": cpu[side] / max(1, len(lat[side])) * 1e6,
        }
    raw = out["raw"]
    for side in ("coalesced", "uncoalesced"):
        out[side]["throughput_ratio"] = (
            out[side]["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else None
        )
        out[side]["p50_ratio"] = out[side]["p50_ms"] / raw["p50_ms"] if raw["p50_ms"] else None
        out[side]["p99_ratio"] = out[side]["p99_ms"] / raw["p99_ms"] if raw["p99_ms"] else None
    return out


async def w_coalesce(db: Database, engine: str, quick: bool, seconds: float) -> list[dict[str, Any]]:
    repos = await fresh(db, "coal")
    stored = list(agent_stream(200 if quick else 2000))
    await repos.agents.create_many(stored, ordered=False)
    ids = [a.id for a in stored]
    results = []
    plan = [("point_reads", 1.0, c) for c in ((1, 10) if quick else (1, 50, 200))]
    plan += [("mixed", 0.80, c) for c in ((10,) if quick else (50, 200))]
    for name, reads, clients in plan:
        row = await concurrent(db, repos, ids, clients, reads, seconds)
        row.update(workload=f"{name}_c{clients}", engine=engine)
        results.append(row)
        print(_line(row), flush=True)
    await drop(db)
    return results


# ---------------------------------------------------------------------------- bulk


async def w_bulk(db: Database, engine: str, quick: bool, rounds: int) -> list[dict[str, Any]]:
    n = 1000 if quick else 10_000
    raw_chunk = 50 if engine == "mem" else 500
    configs: dict[str, Callable[[Repositories], Awaitable[int]]] = {
        "raw": lambda repos: raw_insert(db, n, raw_chunk),
        "ordered": lambda repos: repos.agents.create_many(agent_stream(n)),
        "unordered": lambda repos: repos.agents.create_many(agent_stream(n), ordered=False),
        "unordered_500": lambda repos: repos.agents.create_many(
            agent_stream(n), chunk_size=500, ordered=False
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in configs}
    cpu: dict[str, list[float]] = {k: [] for k in configs}
    for r in range(rounds):
        names = list(configs) if r % 2 == 0 else list(reversed(configs))
        for name in names:
            repos = await fresh(db, f"bulk_{name}")
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            written = await configs[name](repos)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if written != n:
                raise RuntimeError(f"{name} wrote {written} of {n}")
            await drop(db)
    raw = statistics.median(times["raw"])
    row: dict[str, Any] = {"workload": "create_many", "engine": engine, "rows": n, "raw_chunk": raw_chunk}
    for name in configs:
        m = statistics.median(times[name])
        row[name] = {
            "rows_per_s": n / m,
            "median_s": m,
            "samples_s": times[name],
            "cpu_us_per_row": statistics.median(cpu[name]) / n * 1e6,
            "speedup_vs_raw": raw / m,
        }
    print(_line(row), flush=True)
    return [row]


async def raw_insert(db: Database, n: int, chunk: int) -> int:
    client, written = db.client, 0
    stream = agent_stream(n)
    while part := list(itertools.islice(stream, chunk)):
        rows = [{**raw_content(a), "id": RecordID("agent", a.id)} for a in part]
        raw_result(await client.query_raw("INSERT INTO agent $rows RETURN NONE", {"rows": rows}))
        written += len(rows)
    return written


# ---------------------------------------------------------------------------- report


def _line(row: dict[str, Any]) -> str:
    if row["workload"] == "create_many":
        parts = [
            f"{k} {row[k]['rows_per_s']:,.0f} rows/s ({row[k]['speedup_vs_raw']:.2f}x)"
            for k in row
            if isinstance(row[k], dict)
        ]
        return f"{row['engine']:9s} create_many x{row['rows']}: " + ", ".join(parts)
    c, u, r = row["coalesced"], row["uncoalesced"], row["raw"]
    return (
        f"{row['engine']:9s} {row['workload']:16s} coalesced {c['ops_per_s']:7,.0f} ops/s "
        f"p50 {c['p50_ms']:.2f} p99 {c['p99_ms']:.2f} ms ({c['throughput_ratio']:.2f}x raw) "
        f"| uncoalesced {u['ops_per_s']:7,.0f} ({u['throughput_ratio']:.2f}x) "
        f"| raw {r['ops_per_s']:7,.0f} p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} ms"
    )


def markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| workload | engine | coalesced (ops/s, p50 / p99) | uncoalesced | raw SDK "
        "| throughput vs raw | p99 vs raw |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row["workload"] == "create_many":
            continue
        c, u, r = row["coalesced"], row["uncoalesced"], row["raw"]
        out.append(
            f"| {row['workload']} | {row['engine']} "
            f"| {c['ops_per_s']:,.0f}, {c['p50_ms']:.2f} / {c['p99_ms']:.2f} ms "
            f"| {u['ops_per_s']:,.0f}, {u['p50_ms']:.2f} / {u['p99_ms']:.2f} ms "
            f"| {r['ops_per_s']:,.0f}, {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms "
            f"| {c['throughput_ratio']:.2f}x (off: {u['throughput_ratio']:.2f}x) | {c['p99_ratio']:.2f}x |"
        )
    bulk = [row for row in rows if row["workload"] == "create_many"]
    if bulk:
        out += ["", "| create_many | engine | rows/s | vs raw | CPU µs/row |", "|---|---|---|---|---|"]
        for row in bulk:
            for k in ("raw", "ordered", "unordered", "unordered_500"):
                v = row[k]
                out.append(
                    f"| {k} x{row['rows']} | {row['engine']} | {v['rows_per_s']:,.0f} "
                    f"| {v['speedup_vs_raw']:.2f}x "
                    f"| {v['cpu_us_per_row']:.0f} |"
                )
    return "\n".join(out)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    only = set(args.only.split(",")) if args.only else {"coalesce", "bulk"}
    for engine in args.engines.split(","):
        async with open_engine(engine) as db:
            if "coalesce" in only:
                rows += await w_coalesce(db, engine, args.quick, args.seconds or (0.4 if args.quick else 4.0))
            if "bulk" in only:
                rows += await w_bulk(db, engine, args.quick, 2 if args.quick else 3)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--only", default="")
    parser.add_argument("--seconds", type=float, default=0.0, help="per side and client count")
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    started = time.time()
    rows = asyncio.run(run(args))
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"bench-bulk-{stamp}.json"
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load0,
        "load_after": os.getloadavg()[0],
        "seconds": round(time.time() - started, 1),
    }
    path.write_text(json.dumps({"machine": meta, "results": rows}, indent=2, default=str))
    print(markdown(rows))
    print(f"\n{meta} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
