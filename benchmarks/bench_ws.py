"""``make bench`` (ws part): throughput and p99 over ws:// per ``pool_size`` and client count.

What it measures: ``clients`` concurrent tasks, each calling
``repos.agents.list({"name": …})`` (one filtered read of one row of 200, one round trip)
back to back on one ``Database`` with ``pool_size`` 1, 2 or 4, through the SDK's real
WebSocket client. The other end is the *embedded engine behind a loopback bridge*
(``tests/ws_bridge``, started here as a separate process, the way a server would be):
its frames are handled by Python, so the numbers
say how the client side and the pool behave, not what a SurrealDB server sustains.
Not ``agents.get``: concurrent point reads of one table are coalesced into one request
(``agentical_repo.coalesce``), which would measure the coalescer, not the connections.

Each configuration runs ``--rounds`` times (default 3, each round starting at another
configuration); the table shows medians.

Run: ``python benchmarks/bench_ws.py`` (``--quick`` for a smoke run,
``--pools 1,4 --clients 1,50``, ``--json out.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import Agent

__all__ = ["Result", "main"]

ROOT = Path(__file__).resolve().parents[1]
LABEL = "embedded engine behind a loopback bridge"


@dataclass
class Result:
    pool_size: int
    clients: int
    ops: int
    seconds: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float


async def start_bridge() -> tuple[asyncio.subprocess.Process, str]:
    """The bridge in its own process; returns it and its ws:// URL."""
    port_file = Path(tempfile.mkdtemp(prefix="bench-ws-")) / "port"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ws_bridge", "--port-file", str(port_file), env=env, cwd=str(ROOT)
    )
    for _ in range(600):
        if port_file.exists() and port_file.read_text():
            return proc, f"ws://127.0.0.1:{port_file.read_text()}/rpc"
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("the ws bridge did not start")


async def run_one(url: str, pool_size: int, clients: int, ops: int, rows: int) -> Result:
    settings = DatabaseSettings(
        url=url,
        username="root",
        password="root",
        namespace="bench",
        database=f"ws_{uuid.uuid4().hex}",
        pool_size=pool_size,
        query_timeout=60,
    )
    async with Database(settings) as db:
        await db.apply_schema()
        repos = Repositories(db)
        await repos.agents.create_many(Agent(name=f"a{i}", agent_type="bench") for i in range(rows))
        names = [f"a{i}" for i in range(rows)]
        rng = random.Random(7)
        latencies: list[float] = []
        per_client = max(1, ops // clients)

        async def client() -> None:
            for _ in range(per_client):
                start = time.perf_counter()
                found = await repos.agents.list({"name": rng.choice(names)})
                assert len(found) == 1
                latencies.append(time.perf_counter() - start)

        # warm every connection (the first query on a new socket also learns that the
        # engine has no query_stream)
        await asyncio.gather(*(repos.agents.list({"name": "a0"}) for _ in range(pool_size * 4)))
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return Result(
        pool_size=pool_size,
        clients=clients,
        ops=n,
        seconds=round(elapsed, 3),
        ops_per_s=round(n / elapsed, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 2),
        p99_ms=round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2),
    )


def table(results: list[Result]) -> str:
    lines = [
        f"ws:// through the {LABEL}: agents.list by name (one row), concurrent clients",
        "",
        "| pool_size | clients | ops/round | ops/s | p50 ms | p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.pool_size} | {r.clients} | {r.ops} | {r.ops_per_s:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} |"
        )
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> list[Result]:
    pools = [int(p) for p in args.pools.split(",")]
    client_counts = [int(c) for c in args.clients.split(",")]
    ops = 400 if args.quick else args.ops
    rounds = 1 if args.quick else args.rounds
    configs = [(pool_size, clients) for clients in client_counts for pool_size in pools]
    proc, url = await start_bridge()
    runs: dict[tuple[int, int], list[Result]] = {c: [] for c in configs}
    try:
        for round_no in range(rounds):
            # each round starts at another configuration, so machine-load drift hits all alike
            shift = round_no % len(configs)
            for pool_size, clients in configs[shift:] + configs[:shift]:
                total = max(ops, clients * 4)
                result = await run_one(url, pool_size, clients, total, rows=200)
                runs[(pool_size, clients)].append(result)
                print(
                    f"round {round_no + 1}: pool_size={pool_size} clients={clients}: "
                    f"{result.ops_per_s:.0f} ops/s, p99 {result.p99_ms:.2f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        proc.terminate()
        await proc.wait()
    return [median_of(runs[c]) for c in configs]


def median_of(results: list[Result]) -> Result:
    """The per-field median over rounds (one noisy round cannot move the table)."""
    first = results[0]
    return Result(
        pool_size=first.pool_size,
        clients=first.clients,
        ops=first.ops,
        seconds=round(statistics.median(r.seconds for r in results), 3),
        ops_per_s=round(statistics.median(r.ops_per_s for r in results), 1),
        p50_ms=round(statistics.median(r.p50_ms for r in results), 2),
        p99_ms=round(statistics.median(r.p99_ms for r in results), 2),
    )


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few operations (a smoke run)")
    parser.add_argument("--ops", type=int, default=4000, help="operations per configuration")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration (median reported)")
    parser.add_argument("--pools", default="1,2,4")
    parser.add_argument("--clients", default="1,50,200")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    results = asyncio.run(amain(args))
    print(table(results))
    print(f"\n{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(
            json.dumps({"label": LABEL, "results": [asdict(r) for r in results]}, indent=2) + "\n"
        )
    return results


if __name__ == "__main__":
    main()
