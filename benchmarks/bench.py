"""``make bench`` (``python benchmarks/bench.py``): the repository layer against the raw SDK.

Why it exists: a data layer earns its place only if it costs almost nothing over
hand-written SDK calls, and wins where batching matters. Every workload therefore
runs twice per round on the same connection and engine: once through the
repositories, once as a careful user would write it by hand with the official SDK
(``AsyncSurreal.query_raw`` with bound ``$vars``, ``RecordID`` ids, status checked,
rows decoded into the same pydantic models where the repository returns models).
Rounds alternate which side goes first (A/B, B/A, ...) so drift in machine load hits
both sides alike; the table reports medians, so one noisy round cannot move it.

What each raw side does is written next to its workload (``Workload.raw_does``) and
lands in the JSON results, so nobody has to guess what was compared.

It lives outside the package (the wheel ships no benchmark code) and imports
``agentical_repo`` like any user would: install the project first (``make install``).

Run: ``python benchmarks/bench.py`` (full, both embedded engines), ``--quick`` (small
sizes), ``--engines mem`` / ``--engines surrealkv``, ``--only create,get_by_id``,
``--report results.json`` (a results file as a Markdown table).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import itertools
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from surrealdb import RecordID
from surrealdb.data.cbor import encode as cbor_encode

from agentical_repo import Database, DatabaseSettings, PaginationParams, Repositories
from agentical_repo.models import Agent, Entity, Task, Tool, Workflow
from agentical_repo.pagination import encode_cursor
from agentical_repo.repositories import base as repositories_base

__all__ = ["WORKLOADS", "main"]

ENGINES = ("mem", "surrealkv")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
NAMESPACE = "bench"

# ---------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """Every size the suite uses; ``--quick`` swaps in the small set (smoke test, < 1 min)."""

    single_ops: int  # ops per side per single-record workload (split over `rounds`)
    rounds: int
    bulk_small: int
    bulk_large: int
    bulk_rounds_small: int
    bulk_rounds_large: int
    dataset: int  # rows behind list/count/page workloads
    depths: tuple[int, ...]
    query_reps: int
    concurrency_clients: tuple[int, ...]
    concurrency_seconds: float  # per side and client count (two alternating rounds)
    sweep_rows: int
    sweep_reps: int
    sweep_chunks: tuple[int, ...]
    memory_rows: tuple[int, int]
    demo_scale: int = 1


FULL = Sizes(
    single_ops=1000,
    rounds=5,
    bulk_small=10_000,
    bulk_large=100_000,
    bulk_rounds_small=3,
    bulk_rounds_large=1,
    dataset=100_000,
    depths=(0, 10_000, 90_000),
    query_reps=10,
    concurrency_clients=(1, 50, 200),
    concurrency_seconds=4.0,
    sweep_rows=2_000,
    sweep_reps=3,
    sweep_chunks=(25, 50, 100, 200, 500, 1000),
    memory_rows=(10_000, 50_000),
)
QUICK = Sizes(
    single_ops=40,
    rounds=2,
    bulk_small=500,
    bulk_large=2_000,
    bulk_rounds_small=2,
    bulk_rounds_large=2,
    dataset=2_000,
    depths=(0, 500, 1_800),
    query_reps=2,
    concurrency_clients=(1, 10),
    concurrency_seconds=0.2,
    sweep_rows=300,
    sweep_reps=1,
    sweep_chunks=(100,),
    memory_rows=(500, 2_000),
    demo_scale=4,
)

# ---------------------------------------------------------------------------- results


@dataclass
class Result:
    """One workload on one engine. Times are seconds per *unit* (see ``unit``)."""

    workload: str
    engine: str
    unit: str  # what one timed sample is: "op", "call", "page", "query", "tx"
    rows_per_unit: int
    repo: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    raw_does: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    @property
    def repo_median(self) -> float | None:
        return statistics.median(self.repo) if self.repo else None

    @property
    def raw_median(self) -> float | None:
        return statistics.median(self.raw) if self.raw else None

    @property
    def ratio(self) -> float | None:
        a, b = self.repo_median, self.raw_median
        return a / b if a is not None and b else None

    @property
    def rows_per_s(self) -> float | None:
        m = self.repo_median
        return self.rows_per_unit / m if m else None

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "engine": self.engine,
            "unit": self.unit,
            "rows_per_unit": self.rows_per_unit,
            "repo_median_s": self.repo_median,
            "raw_median_s": self.raw_median,
            "ratio": self.ratio,
            "repo_rows_per_s": self.rows_per_s,
            "raw_rows_per_s": (self.rows_per_unit / self.raw_median) if self.raw_median else None,
            "repo_samples_s": self.repo,
            "raw_samples_s": self.raw,
            "raw_does": self.raw_does,
            "extra": self.extra,
            "skipped": self.skipped,
        }


# ---------------------------------------------------------------------------- the raw side's codec


def raw_content(entity: Entity) -> dict[str, Any]:
    """What a careful user writes by hand to turn a model into CONTENT for the SDK."""
    data = entity.model_dump(exclude={"id", "created_at", "updated_at"})
    for name, table in type(entity).__references__.items():
        value = data.get(name)
        if value is not None:
            data[name] = RecordID(table, value)
    for name, value in data.items():
        if isinstance(value, Enum):
            data[name] = value.value
    return data


def raw_decode(model: type[Any], row: dict[str, Any]) -> Any:
    """What a careful user writes by hand to turn an SDK row into the model."""
    data = dict(row)
    data["id"] = data["id"].id
    for name in getattr(model, "__references__", {}):
        value = data.get(name)
        if isinstance(value, RecordID):
            data[name] = value.id
    return model.model_validate(data)


def raw_result(response: dict[str, Any]) -> Any:
    """The last statement's result, or raise on any failed statement (what a careful user checks)."""
    if response.get("error"):
        raise RuntimeError(f"raw query failed: {response['error']}")
    entries = response["result"]
    failed = [e for e in entries if e.get("status") != "OK"]
    if failed:
        real = [e for e in failed if "not executed due to a failed transaction" not in str(e.get("result"))]
        raise RuntimeError(f"raw query failed: {(real or failed)[0].get('result')}")
    return entries[-1]["result"] if entries else None


def _rows(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------- environment


class Env:
    """One embedded engine: the ``Database`` under test and its SDK client for the raw side."""

    def __init__(self, engine: str, url: str, db: Database) -> None:
        self.engine = engine
        self.url = url
        self.db = db
        self.datasets: dict[int, tuple[str, list[uuid.UUID]]] = {}
        self._names: list[str] = []

    @property
    def client(self) -> Any:
        return self.db.client

    async def fresh(self, label: str) -> Repositories:
        """Switch to a new, empty database with the project's schema; return its repositories."""
        name = f"{label}_{uuid.uuid4().hex[:8]}"
        await self.db.use(NAMESPACE, name)
        await self.db.apply_schema()
        self._names.append(name)
        return Repositories(self.db)

    async def use(self, name: str) -> Repositories:
        await self.db.use(NAMESPACE, name)
        return Repositories(self.db)

    async def drop_others(self, keep: Iterable[str] = ()) -> None:
        """Remove scratch databases (mem:// keeps them in RAM) except those in ``keep``."""
        keep = set(keep) | {n for n, _ in self.datasets.values()} | {self.db.database}
        for name in [n for n in self._names if n not in keep]:
            with contextlib.suppress(Exception):
                await self.client.query_raw(f"REMOVE DATABASE IF EXISTS {name}", {})
            self._names.remove(name)


@contextlib.asynccontextmanager
async def open_engine(engine: str) -> AsyncIterator[Env]:
    tmp: str | None = None
    if engine == "mem":
        url = "mem://"
    elif engine == "surrealkv":
        tmp = tempfile.mkdtemp(prefix="agentical-bench-")
        url = f"surrealkv://{tmp}/db"
    else:
        raise SystemExit(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    db = Database(DatabaseSettings(url=url, namespace=NAMESPACE, database="boot", query_timeout=600))
    await db.connect()
    try:
        yield Env(engine, url, db)
    finally:
        await db.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- helpers


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def agent_stream(n: int, start: int = 0) -> Iterator[Agent]:
    """A generator of agents: 500 agent types, each spread over the five statuses."""
    statuses = ("active", "idle", "busy", "error", "disabled")
    for i in range(start, start + n):
        yield Agent(
            name=f"agent {i:07d}",
            agent_type=f"type-{i % 500}",
            status=statuses[(i // 500) % 5],
            config={"model": "m-1", "i": i},
        )


async def seed_agents(env: Env, n: int) -> list[uuid.UUID]:
    """Write ``n`` agents by hand (untimed setup), two chunks in flight."""
    ids: list[uuid.UUID] = []
    sem = asyncio.Semaphore(2)
    chunk_size = _raw_chunk(env.engine)

    async def send(chunk: list[Agent]) -> None:
        rows = [{**raw_content(a), "id": RecordID("agent", a.id)} for a in chunk]
        async with sem:
            raw_result(await env.client.query_raw("INSERT INTO agent $rows RETURN NONE", {"rows": rows}))

    pending: list[Awaitable[None]] = []
    for chunk in batched(agent_stream(n), chunk_size):
        ids.extend(t.id for t in chunk)
        pending.append(send(chunk))
        if len(pending) >= 4:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    return ids


async def ab(
    rounds: int,
    repo: Callable[[int], Awaitable[float]],
    raw: Callable[[int], Awaitable[float]],
    result: Result,
) -> None:
    """Alternate sides per round (repo/raw, raw/repo, ...); each call returns seconds per unit."""
    for r in range(rounds):
        sides = [(repo, result.repo), (raw, result.raw)]
        if r % 2:
            sides.reverse()
        for fn, out in sides:
            gc.collect()
            out.append(await fn(r))


def timed_ops(ops: Sequence[Callable[[], Awaitable[Any]]]) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        start = time.perf_counter()
        for op in ops:
            await op()
        return (time.perf_counter() - start) / len(ops)

    return run


def repeat(fn: Callable[[], Awaitable[Any]], reps: int) -> Callable[[int], Awaitable[float]]:
    """A round for ``ab``: the median of ``reps`` timed calls of ``fn``."""

    async def run(_r: int) -> float:
        return await median_call(fn, reps)

    return run


async def median_call(fn: Callable[[], Awaitable[Any]], reps: int, budget: float = 1.0) -> float:
    """Median of up to ``reps`` timed calls, stopping early once ``budget`` seconds are spent
    (an offset page at depth 90k takes a second or more: a few samples say enough)."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    for _ in range(reps):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
        if start + times[-1] > deadline:
            break
    return statistics.median(times)


# ---------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    name: str
    run: Callable[[Env, Sizes], Awaitable[list[Result]]]
    raw_does: str
    engines: tuple[str, ...] = ENGINES


async def w_single(env: Env, sz: Sizes) -> list[Result]:
    """create / get_by_id / update / delete, one record per request."""
    per_round = max(sz.single_ops // sz.rounds, 1)
    results = {
        name: Result(name, env.engine, "op", 1, raw_does=RAW_DOES[name])
        for name in ("create", "get_by_id", "update", "delete")
    }
    repos = await env.fresh("single")
    c = env.client

    async def raw_create(a: Agent) -> Agent:
        out = raw_result(
            await c.query_raw(
                "CREATE ONLY $id CONTENT $content", {"id": RecordID("agent", a.id), "content": raw_content(a)}
            )
        )
        return raw_decode(Agent, out)  # type: ignore[no-any-return]

    async def raw_get(i: uuid.UUID) -> Agent | None:
        out = raw_result(await c.query_raw("SELECT * FROM ONLY $id", {"id": RecordID("agent", i)}))
        return None if out is None else raw_decode(Agent, out)

    async def raw_update(i: uuid.UUID, n: int) -> Agent:
        out = raw_result(
            await c.query_raw(
                "UPDATE ONLY $id SET name = $name, description = $description, version += 1 RETURN AFTER",
                {"id": RecordID("agent", i), "name": f"renamed {n}", "description": f"d{n}"},
            )
        )
        if out is None:
            raise LookupError("agent not found")
        return raw_decode(Agent, out)  # type: ignore[no-any-return]

    async def raw_delete(i: uuid.UUID) -> bool:
        out = raw_result(await c.query_raw("DELETE $id RETURN BEFORE", {"id": RecordID("agent", i)}))
        return bool(out)

    ids: dict[str, list[uuid.UUID]] = {"repo": [], "raw": []}

    def creator(side: str) -> Callable[[int], Awaitable[float]]:
        async def run(_r: int) -> float:
            agents = list(agent_stream(per_round))
            ids[side].extend(a.id for a in agents)
            fn = repos.agents.create if side == "repo" else raw_create
            return await timed_ops([functools.partial(fn, a) for a in agents])()

        return run

    await ab(sz.rounds, creator("repo"), creator("raw"), results["create"])
    every = ids["repo"] + ids["raw"]

    def getter(side: str) -> Callable[[int], Awaitable[float]]:
        async def run(r: int) -> float:
            chosen = random.Random(r).sample(every, min(per_round, len(every)))
            fn = repos.agents.get_by_id if side == "repo" else raw_get
            return await timed_ops([functools.partial(fn, i) for i in chosen])()

        return run

    await ab(sz.rounds, getter("repo"), getter("raw"), results["get_by_id"])

    def updater(side: str) -> Callable[[int], Awaitable[float]]:
        async def run(r: int) -> float:
            chosen = random.Random(100 + r).sample(every, min(per_round, len(every)))
            if side == "repo":
                ops = [
                    lambda i=i, n=n: repos.agents.update(i, {"name": f"renamed {n}", "description": f"d{n}"})
                    for n, i in enumerate(chosen)
                ]
            else:
                ops = [lambda i=i, n=n: raw_update(i, n) for n, i in enumerate(chosen)]
            return await timed_ops(ops)()

        return run

    await ab(sz.rounds, updater("repo"), updater("raw"), results["update"])

    # every side deletes rows it has not touched before: split the ids per round and side
    pool = list(every)
    random.Random(7).shuffle(pool)
    slices = iter(batched(pool, max(len(pool) // (2 * sz.rounds), 1)))

    def deleter(side: str) -> Callable[[int], Awaitable[float]]:
        async def run(_r: int) -> float:
            chosen = next(slices)
            fn = repos.agents.delete if side == "repo" else raw_delete
            return await timed_ops([functools.partial(fn, i) for i in chosen])()

        return run

    await ab(sz.rounds, deleter("repo"), deleter("raw"), results["delete"])
    await env.drop_others()
    return list(results.values())


async def _create_many(env: Env, sz: Sizes, n: int, rounds: int, name: str, keep: bool) -> list[Result]:
    result = Result(name, env.engine, "call", n, raw_does=RAW_DOES["create_many"])
    chunk = _raw_chunk(env.engine)
    kept: tuple[str, list[uuid.UUID]] | None = None

    def side(which: str) -> Callable[[int], Awaitable[float]]:
        async def run(_r: int) -> float:
            nonlocal kept
            repos = await env.fresh(f"cm_{which}")
            stream = agent_stream(n)
            rss0 = _rss_mb()
            start = time.perf_counter()
            if which == "repo":
                created = await repos.agents.create_many(stream)
            else:
                created = 0
                for part in batched(stream, chunk):
                    rows = [{**raw_content(a), "id": RecordID("agent", a.id)} for a in part]
                    raw_result(
                        await env.client.query_raw("INSERT INTO agent $rows RETURN NONE", {"rows": rows})
                    )
                    created += len(rows)
            elapsed = time.perf_counter() - start
            result.extra.setdefault(f"{which}_rss_growth_mb", []).append(round(_rss_mb() - rss0, 1))
            if created != n:
                raise RuntimeError(f"{which} create_many wrote {created} of {n}")
            if which == "repo" and keep:
                kept = (env.db.database, [])
            return elapsed

        return run

    await ab(rounds, side("repo"), side("raw"), result)
    result.extra["raw_chunk_size"] = chunk
    if kept is not None:
        env.datasets[n] = kept
    await env.drop_others()
    return [result]


def _raw_chunk(engine: str) -> int:
    """The raw side uses the chunk the sweep found best for a plain sequential INSERT loop."""
    return 50 if engine == "mem" else 500


def _rss_mb() -> float:
    """Peak RSS of this process so far (MiB); grows only, so deltas show new peaks."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


async def w_create_many_small(env: Env, sz: Sizes) -> list[Result]:
    return await _create_many(env, sz, sz.bulk_small, sz.bulk_rounds_small, "create_many_small", False)


async def w_create_many_large(env: Env, sz: Sizes) -> list[Result]:
    return await _create_many(env, sz, sz.bulk_large, sz.bulk_rounds_large, "create_many_large", True)


async def dataset(env: Env, sz: Sizes) -> tuple[Repositories, list[uuid.UUID]]:
    """The ``sz.dataset``-row task table (kept from create_many_large when that ran)."""
    if sz.dataset in env.datasets:
        name, wf_ids = env.datasets[sz.dataset]
        return await env.use(name), wf_ids
    repos = await env.fresh("dataset")
    await seed_agents(env, sz.dataset)
    env.datasets[sz.dataset] = (env.db.database, [])
    return repos, []


async def w_queries(env: Env, sz: Sizes) -> list[Result]:
    """Filtered page of 50 and filtered counts over the dataset (agents)."""
    repos, _ = await dataset(env, sz)
    c = env.client
    out: list[Result] = []

    page = Result("list_filtered", env.engine, "page", 50, raw_does=RAW_DOES["list_filtered"])
    filters = {"agent_type": "type-7", "status__in": ["idle", "busy"]}
    pagination = PaginationParams(limit=50, order_by=("name",))
    page_text = (
        "SELECT * FROM agent WHERE agent_type = $type AND status IN $statuses "
        "ORDER BY name ASC, id ASC LIMIT $limit"
    )
    page_vars = {"type": "type-7", "statuses": ["idle", "busy"], "limit": 50}

    async def raw_page() -> list[Agent]:
        rows = raw_result(await c.query_raw(page_text, page_vars))
        return [raw_decode(Agent, r) for r in rows]

    a, b = await repos.agents.list(filters, pagination), await raw_page()
    _same([x.id for x in a], [x.id for x in b], "list_filtered")
    page.extra["page_rows"] = len(a)
    page.extra["matching_rows"] = await repos.agents.count(filters)
    await ab(
        sz.rounds,
        lambda _r: median_call(lambda: repos.agents.list(filters, pagination), sz.query_reps),
        lambda _r: median_call(raw_page, sz.query_reps),
        page,
    )
    out.append(page)

    for name, flt, text, vars in (
        (
            "count_filtered",
            {"agent_type": "type-7", "status__in": ["idle", "busy"]},
            "SELECT count() AS count FROM agent WHERE agent_type = $type AND status IN $statuses GROUP ALL",
            {"type": "type-7", "statuses": ["idle", "busy"]},
        ),
        (
            "count_status",
            {"status": "active"},
            "SELECT count() AS count FROM agent WHERE status = $status GROUP ALL",
            {"status": "active"},
        ),
    ):
        res = Result(name, env.engine, "query", 1, raw_does=RAW_DOES[name])

        async def raw_count(text: str = text, vars: dict[str, Any] = vars) -> int:
            rows = _rows(raw_result(await c.query_raw(text, vars)))
            return int(rows[0]["count"]) if rows else 0

        n_repo, n_raw = await repos.agents.count(flt), await raw_count()
        _same([n_repo], [n_raw], name)
        res.extra["count"] = n_repo
        await ab(
            sz.rounds,
            repeat(functools.partial(repos.agents.count, flt), sz.query_reps),
            repeat(raw_count, sz.query_reps),
            res,
        )
        out.append(res)
    return out


async def w_pages(env: Env, sz: Sizes) -> list[Result]:
    """Offset vs keyset pages at several depths, newest first (the default order)."""
    repos, _ = await dataset(env, sz)
    c = env.client
    out: list[Result] = []
    order = [("created_at", True), ("id", True)]
    rounds = min(sz.rounds, 3)  # an offset page at depth 90k takes seconds on surrealkv://
    for depth in sz.depths:
        off = Result(f"page_offset_{_k(depth)}", env.engine, "page", 50, raw_does=RAW_DOES["page_offset"])
        pagination = PaginationParams(limit=50, offset=depth, order_by=("-created_at",))

        async def raw_offset(depth: int = depth) -> list[Agent]:
            text = "SELECT * FROM agent ORDER BY created_at DESC, id DESC LIMIT $limit START $start"
            rows = raw_result(await c.query_raw(text, {"limit": 50, "start": depth}))
            return [raw_decode(Agent, r) for r in rows]

        await ab(
            rounds,
            repeat(functools.partial(repos.agents.list, None, pagination), sz.query_reps),
            repeat(raw_offset, sz.query_reps),
            off,
        )
        out.append(off)

        key = Result(f"page_keyset_{_k(depth)}", env.engine, "page", 50, raw_does=RAW_DOES["page_keyset"])
        after: str | None = None
        anchor: dict[str, Any] | None = None
        if depth:
            rows = _rows(
                raw_result(
                    await c.query_raw(
                        "SELECT created_at, id FROM agent ORDER BY created_at DESC, id DESC LIMIT 1 START $s",
                        {"s": depth - 1},
                    )
                )
            )
            anchor = rows[0]
            after = encode_cursor(order, [anchor["created_at"], anchor["id"]])

        async def raw_keyset(anchor: dict[str, Any] | None = anchor) -> list[Agent]:
            if anchor is None:
                text = "SELECT * FROM agent ORDER BY created_at DESC, id DESC LIMIT $limit"
                vars: dict[str, Any] = {"limit": 51}
            else:
                text = KEYSET_UNION
                vars = {"c": anchor["created_at"], "id": anchor["id"], "limit": 51}
            rows = raw_result(await c.query_raw(text, vars))
            return [raw_decode(Agent, r) for r in rows[:50]]

        if anchor is not None:
            # evidence for the statement form: the same page with the classic keyset conditions
            form_vars = {"c": anchor["created_at"], "id": anchor["id"]}
            for label, text in KEYSET_FORMS.items():

                async def form(text: str = text, vars: dict[str, Any] = form_vars) -> Any:
                    return raw_result(await c.query_raw(text, vars))

                key.extra[f"{label}_form_median_s"] = await median_call(form, sz.query_reps)
        a, b = await repos.agents.paginate(limit=50, after=after), await raw_keyset()
        _same([x.id for x in a.items], [x.id for x in b], key.workload)
        await ab(
            rounds,
            repeat(functools.partial(repos.agents.paginate, limit=50, after=after), sz.query_reps),
            repeat(raw_keyset, sz.query_reps),
            key,
        )
        out.append(key)
    return out


KEYSET_UNION = (
    "RETURN array::slice(array::concat("
    "(SELECT * FROM agent WHERE created_at = $c AND id < $id "
    "ORDER BY created_at DESC, id DESC LIMIT $limit), "
    "(SELECT * FROM agent WHERE created_at < $c ORDER BY created_at DESC, id DESC LIMIT $limit)), 0, $limit)"
)
KEYSET_FORMS = {
    "or_only": "SELECT * FROM agent WHERE created_at < $c OR (created_at = $c AND id < $id) "
    "ORDER BY created_at DESC, id DESC LIMIT 51",
    "range_and_or": "SELECT * FROM agent WHERE created_at <= $c AND (created_at < $c OR "
    "(created_at = $c AND id < $id)) ORDER BY created_at DESC, id DESC LIMIT 51",
}


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _same(a: Sequence[Any], b: Sequence[Any], what: str) -> None:
    if list(a) != list(b):
        raise RuntimeError(f"{what}: repository and raw side disagree ({len(a)} vs {len(b)} results)")


class _Recorder:
    """Wraps the SDK client for one call to capture the request(s) a repository method sends."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
        self.calls.append((text, dict(vars or {})))
        return await self.inner.query_raw(text, vars)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def record_requests(
    db: Database, call: Callable[[], Awaitable[Any]]
) -> list[tuple[str, dict[str, Any]]]:
    recorder = _Recorder(db.client)
    real = db._client
    db._client = recorder
    try:
        await call()
    finally:
        db._client = real
    return recorder.calls


async def demo_workspace(env: Env, scale: int = 1) -> dict[str, Any]:
    """A demo-sized workspace: 10 agents, 30 tools, 5 workflows x 20 tasks with dependencies.

    ``scale`` > 1 divides the counts (the quick smoke run), keeping every kind of row.
    """
    repos = await env.fresh("demo")
    tools = [Tool(name=f"tool-{i}", category=f"cat-{i % 4}") for i in range(30 // scale)]
    agents = [Agent(name=f"agent-{i}", agent_type="worker") for i in range(max(10 // scale, 2))]
    await repos.tools.create_many(tools)
    await repos.agents.create_many(agents)
    for i, agent in enumerate(agents):
        for j in range(6):
            await repos.agents.add_tool(agent.id, tools[(i * 3 + j) % len(tools)].id)
    workflows = [Workflow(name=f"wf-{i}") for i in range(max(5 // scale, 3))]
    await repos.workflows.create_many(workflows)
    tasks_by_wf: dict[uuid.UUID, list[Task]] = {}
    for w in workflows:
        ts = [Task(title=f"{w.name}-t{k}", priority=k % 5) for k in range(20 // scale)]
        await repos.tasks.create_many(ts)
        for pos, t in enumerate(ts):
            await repos.workflows.add_task(w.id, t.id, position=pos)
            await repos.tasks.assign(t.id, agents[pos % len(agents)].id)
        for k in range(1, len(ts)):
            await repos.tasks.add_dependency(ts[k].id, ts[(k - 1) // 2].id)  # a binary tree
        for k in range(min(7, len(ts) // 3)):
            await repos.tasks.update(ts[k].id, {"status": "completed"})
        for _ in range(10):
            ex = await repos.workflows.start_execution(w.id)
            await repos.workflows.finish_execution(ex.id, "completed", result={"ok": True})
        tasks_by_wf[w.id] = ts
    for tool in tools[:10]:
        for k in range(5):
            await repos.tools.track_usage(
                tool.id, {"agent_id": agents[k % len(agents)].id, "success": k != 0, "duration_ms": 10.0}
            )
    return {"repos": repos, "agents": agents, "tools": tools, "workflows": workflows}


async def w_graph(env: Env, sz: Sizes) -> list[Result]:
    """Graph and metrics reads on a demo-sized workspace (each one request)."""
    ws = await demo_workspace(env, 1 if sz.demo_scale <= 1 else sz.demo_scale)
    repos: Repositories = ws["repos"]
    agent, workflow = ws["agents"][0], ws["workflows"][2]
    calls: list[tuple[str, Callable[[], Awaitable[Any]], type[Any] | None]] = [
        ("get_tools", lambda: repos.agents.get_tools(agent.id), Tool),
        ("get_ready_tasks", lambda: repos.tasks.get_ready_tasks(workflow.id), Task),
        ("get_workflow_graph", lambda: repos.workflows.get_workflow_graph(workflow.id), None),
        ("get_agent_metrics", lambda: repos.agents.get_agent_metrics(agent.id), None),
        ("get_workflow_metrics", lambda: repos.workflows.get_workflow_metrics(workflow.id), None),
    ]
    out: list[Result] = []
    reps = max(sz.query_reps * 5, 10)
    for name, call, model in calls:
        res = Result(name, env.engine, "query", 1, raw_does=RAW_DOES["graph"])
        requests = await record_requests(env.db, call)
        if len(requests) != 1:
            res.extra["requests"] = len(requests)

        async def raw(requests: list[tuple[str, dict[str, Any]]] = requests, model: Any = model) -> Any:
            last: Any = None
            for text, vars in requests:
                last = raw_result(await env.client.query_raw(text, vars))
            if model is not None:
                return [raw_decode(model, r) for r in _rows(last)]
            return last

        value = await call()
        res.extra["result_rows"] = len(value) if isinstance(value, list) else 1
        await ab(
            sz.rounds,
            repeat(call, reps),
            repeat(raw, reps),
            res,
        )
        out.append(res)
    await env.drop_others()
    return out


async def w_transaction(env: Env, sz: Sizes) -> list[Result]:
    """One workflow + 50 tasks (has_task edges by the schema's event) + 49 depends_on edges, one request."""
    await env.fresh("tx")
    repos = Repositories(env.db)
    res = Result("transaction_wf_50", env.engine, "tx", 100, raw_does=RAW_DOES["transaction"])
    reps = max(sz.query_reps, 3)

    def build() -> tuple[Workflow, list[Task]]:
        wf = Workflow(name="tx workflow")
        return wf, [Task(title=f"tx task {k}", priority=k % 10, workflow_id=wf.id) for k in range(50)]

    async def repo_tx(edges: bool = True) -> None:
        wf, tasks = build()
        with env.db.count_requests() as counter:
            async with repos.transaction() as tx:
                await tx.workflows.create(wf)
                for t in tasks:
                    await tx.tasks.create(t)
                for k in range(1, len(tasks) if edges else 0):
                    await tx.tasks.add_dependency(tasks[k].id, tasks[k - 1].id)
        if counter.count != 1:
            raise RuntimeError(f"transaction took {counter.count} requests")

    async def raw_tx() -> None:
        wf, tasks = build()
        lines = ["BEGIN TRANSACTION;", "CREATE ONLY $wf CONTENT $wf_content;"]
        vars: dict[str, Any] = {"wf": RecordID("workflow", wf.id), "wf_content": raw_content(wf)}
        for k, t in enumerate(tasks):
            vars[f"t{k}"] = RecordID("task", t.id)
            vars[f"c{k}"] = raw_content(t)
            lines.append(f"CREATE ONLY $t{k} CONTENT $c{k};")
        for k in range(1, len(tasks)):
            lines.append(f"RELATE $t{k}->depends_on->$t{k - 1};")
        lines.append("COMMIT TRANSACTION;")
        raw_result(await env.client.query_raw("\n".join(lines), vars))

    await repo_tx()
    await raw_tx()
    edges = _rows(raw_result(await env.client.query_raw("SELECT count() AS n FROM has_task GROUP ALL", {})))
    res.extra["has_task_edges_after_warmup"] = edges[0]["n"] if edges else 0
    await ab(sz.rounds, lambda _r: median_call(repo_tx, reps), lambda _r: median_call(raw_tx, reps), res)
    # where the time goes: the same transaction without the 49 add_dependency calls
    res.extra["repo_without_dependencies_median_s"] = await median_call(
        functools.partial(repo_tx, False), reps
    )

    # the other path: 49 edges between tasks that already exist (ancestor check + guard rows
    # per edge in the engine), as a chain built from its head
    existing = Result("transaction_edges_existing_49", env.engine, "tx", 49, raw_does=RAW_DOES["tx_existing"])

    async def stored_chain() -> list[Task]:
        tasks = [Task(title=f"chain {k}") for k in range(50)]
        await repos.tasks.create_many(tasks)
        return tasks

    def edges_side(which: str) -> Callable[[int], Awaitable[float]]:
        async def once() -> float:
            tasks = await stored_chain()  # untimed
            start = time.perf_counter()
            if which == "repo":
                async with repos.transaction() as tx:
                    for k in range(1, len(tasks)):
                        await tx.tasks.add_dependency(tasks[k].id, tasks[k - 1].id)
            else:
                vars = {f"t{k}": RecordID("task", t.id) for k, t in enumerate(tasks)}
                lines = ["BEGIN TRANSACTION;"]
                lines += [f"RELATE $t{k}->depends_on->$t{k - 1};" for k in range(1, len(tasks))]
                lines.append("COMMIT TRANSACTION;")
                raw_result(await env.client.query_raw("\n".join(lines), vars))
            return time.perf_counter() - start

        async def run(_r: int) -> float:
            return statistics.median([await once() for _ in range(max(reps // 2, 2))])

        return run

    await ab(sz.rounds, edges_side("repo"), edges_side("raw"), existing)
    await env.drop_others()
    return [res, existing]


CONCURRENT_MODES = {"reads": 1.0, "mixed": 0.80}  # share of point reads; the rest 15 % updates, 5 % creates


async def w_concurrent(env: Env, sz: Sizes) -> list[Result]:
    """N clients on one connection for a fixed time: point reads only, and 80/15/5 reads/updates/creates.

    Every client count in ``sz.concurrency_clients`` and both mixes; each side runs two
    alternating rounds of half the time. The row's ratio is repository / raw p50 latency;
    ``extra["throughput_ratio"]`` is repository / raw ops/s (higher is better).
    """
    await env.fresh("conc")
    ids = await seed_agents(env, 2000)
    repos = Repositories(env.db)
    out: list[Result] = []
    for mode, reads in CONCURRENT_MODES.items():
        for clients in sz.concurrency_clients:
            out.append(await _concurrent(env, sz, repos, ids, mode, reads, clients))
    await env.drop_others()
    return out


async def _concurrent(
    env: Env, sz: Sizes, repos: Repositories, ids: list[uuid.UUID], mode: str, reads: float, clients: int
) -> Result:
    c = env.client
    res = Result(f"concurrent_{mode}_c{clients}", env.engine, "op", 1, raw_does=RAW_DOES["concurrent"])

    async def drive(side: str) -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + sz.concurrency_seconds / 2  # two rounds per side

        async def client(k: int) -> None:
            nonlocal errors
            rng = random.Random(k)
            own = ids[k::clients]  # updates touch this client's rows only: no self-made conflicts
            n = 0
            while time.perf_counter() < stop:
                roll = rng.random()
                start = time.perf_counter()
                try:
                    if roll < reads:
                        i = rng.choice(ids)
                        if side == "repo":
                            await repos.agents.get_by_id(i)
                        else:
                            row = raw_result(
                                await c.query_raw("SELECT * FROM ONLY $id", {"id": RecordID("agent", i)})
                            )
                            raw_decode(Agent, row)
                    elif roll < reads + 0.15:
                        i = rng.choice(own)
                        n += 1
                        if side == "repo":
                            await repos.agents.update(i, {"description": f"d{n}"})
                        else:
                            row = raw_result(
                                await c.query_raw(
                                    "UPDATE ONLY $id SET description = $d, version += 1 RETURN AFTER",
                                    {"id": RecordID("agent", i), "d": f"d{n}"},
                                )
                            )
                            raw_decode(Agent, row)
                    else:
                        t = Agent(name=f"c{k}-{n}", agent_type="worker")
                        n += 1
                        if side == "repo":
                            await repos.agents.create(t)
                        else:
                            row = raw_result(
                                await c.query_raw(
                                    "CREATE ONLY $id CONTENT $content",
                                    {"id": RecordID("agent", t.id), "content": raw_content(t)},
                                )
                            )
                            raw_decode(Agent, row)
                except Exception:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(client(k) for k in range(clients)))
        return latencies, errors

    stats: dict[str, dict[str, float]] = {}
    all_latencies: dict[str, list[float]] = {"repo": [], "raw": []}
    all_errors = {"repo": 0, "raw": 0}

    def side(which: str) -> Callable[[int], Awaitable[float]]:
        async def run(_r: int) -> float:
            lat, errors = await drive(which)
            all_latencies[which].extend(lat)
            all_errors[which] += errors
            every = sorted(all_latencies[which])
            stats[which] = {
                "ops": len(every),
                "ops_per_s": len(every) / sz.concurrency_seconds,
                "p50_ms": _pct(every, 50) * 1000,
                "p99_ms": _pct(every, 99) * 1000,
                "errors": all_errors[which],
            }
            return _pct(sorted(lat), 50)

        return run

    await ab(2, side("repo"), side("raw"), res)
    raw_ops = stats["raw"]["ops_per_s"]
    res.extra = {
        "clients": clients,
        "mode": mode,
        "seconds_per_side": sz.concurrency_seconds,
        "throughput_ratio": stats["repo"]["ops_per_s"] / raw_ops if raw_ops else None,
        **{k: v for k, v in stats.items()},
    }
    # rows/s for this workload is throughput, not 1/p50 (many requests are in flight at once)
    res.rows_per_unit = 0
    return res


def _pct(sorted_values: Sequence[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def w_chunk_sweep(env: Env, sz: Sizes) -> list[Result]:
    """Rows/s of INSERT chunks vs ``FOR $r IN $rows { CREATE ... }`` per chunk size, 1 or 2 in flight.

    The data behind ``DEFAULT_CHUNK_SIZE`` in create_many. Each configuration writes
    ``sweep_rows`` agents into a fresh database; the configurations are interleaved
    over ``sweep_reps`` repetitions and the median is reported (a loaded machine moves
    single runs by 2x). Two controls bound what any chunking can reach: the client side
    alone (build + CBOR-encode the rows, nothing sent) and the same INSERT into a
    schemaless table without indexes (the engine without this schema's work).
    """
    forms = {
        "insert": "INSERT INTO agent $rows RETURN NONE",
        "for_create": "FOR $r IN $rows { CREATE $r.id CONTENT $r RETURN NONE }",
        "insert_schemaless": "INSERT INTO plain $rows RETURN NONE",
    }
    configs = [(f, c, k) for f in ("insert", "for_create") for c in sz.sweep_chunks for k in (1, 2)]
    configs.append(("insert_schemaless", 100, 1))
    res = Result("chunk_sweep", env.engine, "config", 0, raw_does="(engine measurement, no repository side)")
    samples: dict[tuple[str, int, int], list[float]] = {c: [] for c in configs}
    client_only: list[float] = []
    for _rep in range(sz.sweep_reps):
        for form, chunk, inflight in configs:
            await env.fresh("sweep")
            table = "plain" if form == "insert_schemaless" else "agent"
            models = list(agent_stream(sz.sweep_rows))
            sem = asyncio.Semaphore(inflight)

            async def send(
                part: list[Agent], text: str = forms[form], sem: asyncio.Semaphore = sem, table: str = table
            ) -> None:
                rows = [{**raw_content(a), "id": RecordID(table, a.id)} for a in part]
                async with sem:
                    raw_result(await env.client.query_raw(text, {"rows": rows}))

            start = time.perf_counter()
            await asyncio.gather(*(send(p) for p in batched(models, chunk)))
            samples[(form, chunk, inflight)].append(sz.sweep_rows / (time.perf_counter() - start))
            await env.drop_others()
        models = list(agent_stream(sz.sweep_rows))
        start = time.perf_counter()
        for part in batched(models, 100):
            cbor_encode({"rows": [{**raw_content(a), "id": RecordID("agent", a.id)} for a in part]})
        client_only.append(sz.sweep_rows / (time.perf_counter() - start))
    summary: list[dict[str, Any]] = [
        {"form": f, "chunk": c, "inflight": k, "rows_per_s": round(statistics.median(v))}
        for (f, c, k), v in samples.items()
    ]
    res.extra["sweep"] = summary
    res.extra["client_only_rows_per_s"] = round(statistics.median(client_only))
    schema_rows = [r for r in summary if r["form"] != "insert_schemaless"]
    best = max(schema_rows, key=lambda r: r["rows_per_s"])
    res.extra["best"] = best
    res.rows_per_unit = best["rows_per_s"]
    res.repo = [1.0]
    return [res]


async def w_memory(env: Env, sz: Sizes) -> list[Result]:
    """Python heap peak (tracemalloc) of create_many over a generator: small vs 5x more rows.

    Bounded memory means the peak depends on the chunk, not on the number of rows.
    The engine's own memory (Rust) is not Python heap and is not counted here.
    """
    res = Result("create_many_memory", env.engine, "call", sz.memory_rows[1], raw_does=RAW_DOES["memory"])
    peaks: dict[str, float] = {}
    for n in sz.memory_rows:
        repos = await env.fresh("mem")
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            await repos.agents.create_many(agent_stream(n))
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        peaks[str(n)] = round(peak / 2**20, 2)
        await env.drop_others()
    res.extra = {"tracemalloc_peak_mib": peaks, "peak_rss_mib": round(_rss_mb(), 1)}
    small, large = (peaks[str(n)] for n in sz.memory_rows)
    res.extra["peak_ratio_large_vs_small"] = round(large / small, 2) if small else None
    res.repo = [large]
    return [res]


RAW_DOES = {
    "create": "CREATE ONLY $id CONTENT $content (hand-built dict), row decoded into Agent",
    "get_by_id": "SELECT * FROM ONLY $id, row decoded into Agent",
    "update": "UPDATE ONLY $id SET name, description, version += 1 RETURN AFTER; None check; decoded "
    "(the repository also runs its not-found check inside one block statement)",
    "delete": "DELETE $id RETURN BEFORE -> bool",
    "create_many": "sequential INSERT INTO agent $rows RETURN NONE over chunks of the generator "
    "(hand-built dicts; chunk 50 on mem://, 500 on surrealkv://)",
    "list_filtered": "SELECT * FROM agent WHERE agent_type = $t AND status IN $s ORDER BY name, id LIMIT 50, "
    "decoded",
    "count_filtered": "SELECT count() FROM agent WHERE agent_type = $t AND status IN $s GROUP ALL",
    "count_status": "SELECT count() FROM agent WHERE status = $s GROUP ALL (a fifth of the table matches)",
    "page_offset": "SELECT * ORDER BY created_at DESC, id DESC LIMIT 50 START depth, decoded",
    "page_keyset": "page 0: SELECT * ORDER BY created_at DESC, id DESC LIMIT 51; deeper: the cursor's "
    "remaining ties and the rows past it as two LIMIT 51 selects, concatenated "
    "(RETURN array::slice(array::concat(...))), decoded",
    "graph": "the exact SurrealQL text and vars the repository sent, via query_raw; entity rows decoded "
    "into the same model, aggregate results left as dicts (measures the layer, not the query)",
    "transaction": "one BEGIN/COMMIT text: CREATE workflow, 50 CREATE task (has_task edges come from the "
    "schema event on both sides), 49 RELATE depends_on without the repository's existence and cycle "
    "checks and guard writes",
    "tx_existing": "one BEGIN/COMMIT text of 49 RELATE depends_on between 50 stored tasks (a chain), without "
    "the repository's existence and cycle checks and guard writes",
    "concurrent": "the same reads (and mix) with the raw statements of get_by_id/update/create above, "
    "the same number of clients on the same connection",
    "memory": "(repository only)",
}

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("chunks", w_chunk_sweep, "INSERT vs FOR/CREATE chunk sweep"),
        Workload("single", w_single, "create / get_by_id / update / delete"),
        Workload("create_many_small", w_create_many_small, RAW_DOES["create_many"]),
        Workload("create_many_large", w_create_many_large, RAW_DOES["create_many"]),
        Workload("queries", w_queries, "filtered page, counts"),
        Workload("pages", w_pages, "offset vs keyset"),
        Workload("graph", w_graph, RAW_DOES["graph"]),
        Workload("transaction", w_transaction, RAW_DOES["transaction"]),
        Workload("concurrent", w_concurrent, RAW_DOES["concurrent"]),
        Workload("memory", w_memory, RAW_DOES["memory"], engines=("mem",)),
    )
}
ALIASES = {
    "create": "single",
    "get_by_id": "single",
    "update": "single",
    "delete": "single",
    "create_many": "create_many_small,create_many_large",
    "list_filtered": "queries",
    "count": "queries",
    "keyset": "pages",
    "offset": "pages",
    "get_tools": "graph",
    "get_ready_tasks": "graph",
    "get_workflow_graph": "graph",
    "metrics": "graph",
    "chunk_sweep": "chunks",
    "concurrent_mixed": "concurrent",
    "concurrent_reads": "concurrent",
}

# ---------------------------------------------------------------------------- output


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table_rows(results: Sequence[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.skipped:
            rows.append([r.workload, r.engine, "skipped", "", "", r.skipped])
            continue
        if r.workload == "chunk_sweep":
            b = r.extra.get("best", {})
            rows.append(
                [
                    r.workload,
                    r.engine,
                    "best:",
                    f"{b.get('form')} x{b.get('chunk')} ({b.get('inflight')} in flight)",
                    "",
                    _fmt_rate(r.rows_per_unit),
                ]
            )
            continue
        if r.workload == "create_many_memory":
            p = r.extra["tracemalloc_peak_mib"]
            rows.append(
                [
                    r.workload,
                    r.engine,
                    "peak heap:",
                    " / ".join(f"{k} rows {v} MiB" for k, v in p.items()),
                    "",
                    "",
                ]
            )
            continue
        if r.workload.startswith("concurrent_"):
            s = r.extra
            ops = s.get("throughput_ratio")
            rows.append(
                [
                    f"concurrent_{s.get('mode', 'mixed')} ({s['clients']} clients)",
                    r.engine,
                    f"p50 {s['repo']['p50_ms']:.2f} ms / p99 {s['repo']['p99_ms']:.2f} ms",
                    f"p50 {s['raw']['p50_ms']:.2f} ms / p99 {s['raw']['p99_ms']:.2f} ms",
                    f"{r.ratio:.2f}x" if r.ratio else "-",
                    f"{s['repo']['ops_per_s']:,.0f} ops/s (raw {s['raw']['ops_per_s']:,.0f}"
                    + (f"; {ops:.2f}x)" if ops else ")"),
                ]
            )
            continue
        rows.append(
            [
                r.workload,
                r.engine,
                _fmt_time(r.repo_median),
                _fmt_time(r.raw_median),
                f"{r.ratio:.2f}x" if r.ratio else "-",
                _fmt_rate(r.rows_per_s),
            ]
        )
    return rows


HEADERS = ["workload", "engine", "repository median", "raw SDK median", "ratio", "rows/s (repo)"]


def print_table(results: Sequence[Result], console: Any) -> None:
    from rich.table import Table

    table = Table(title="agentical-repo vs raw SurrealDB SDK (medians; ratio = repository / raw)")
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("workload", "engine") else "right")
    for row in table_rows(results):
        table.add_row(*row)
    console.print(table)
    sweeps = [r for r in results if r.workload == "chunk_sweep"]
    for r in sweeps:
        t = Table(
            title=f"create_many chunk sweep on {r.engine}: rows/s, median of runs "
            f"(client side alone, nothing sent: {_fmt_rate(r.extra.get('client_only_rows_per_s'))} rows/s)"
        )
        t.add_column("form")
        t.add_column("chunk", justify="right")
        t.add_column("1 in flight", justify="right")
        t.add_column("2 in flight", justify="right")
        by: dict[tuple[str, int], dict[int, int]] = {}
        for e in r.extra["sweep"]:
            by.setdefault((e["form"], e["chunk"]), {})[e["inflight"]] = e["rows_per_s"]
        for (form, chunk), v in by.items():
            t.add_row(form, str(chunk), _fmt_rate(v.get(1)), _fmt_rate(v.get(2)))
        console.print(t)


def results_from_json(data: dict[str, Any]) -> list[Result]:
    """Rebuild results from a JSON file this module wrote (for ``--report``)."""
    out = []
    for r in data["results"]:
        res = Result(r["workload"], r["engine"], r["unit"], r["rows_per_unit"], raw_does=r["raw_does"])
        res.repo, res.raw, res.extra, res.skipped = (
            r["repo_samples_s"],
            r["raw_samples_s"],
            r["extra"],
            r["skipped"],
        )
        out.append(res)
    return out


def markdown_table(results: Sequence[Result]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = round(int(Path("/proc/meminfo").read_text().split()[1]) / 2**20, 1)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": mem,
        "surrealdb_sdk": ver("surrealdb"),
        "surrealdb_embedded": ver("surrealdb-embedded"),
        "pydantic": ver("pydantic"),
        "logfire": ver("logfire"),
    }


# ---------------------------------------------------------------------------- driver


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test, well under a minute)")
    p.add_argument("--engines", default=",".join(ENGINES), help="comma list of: mem, surrealkv")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        help=f"workload(s), comma separated or repeated: {', '.join(WORKLOADS)} "
        f"(aliases: {', '.join(ALIASES)})",
    )
    p.add_argument(
        "--output", type=Path, default=None, help="JSON file (default: benchmarks/results/bench-<time>.json)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--report", type=Path, default=None, help="print a results JSON as a Markdown table; run nothing"
    )
    return p.parse_args(argv)


def selected(only: list[str]) -> list[str]:
    if not only:
        return list(WORKLOADS)
    names: list[str] = []
    for item in ",".join(only).split(","):
        item = item.strip()
        if not item:
            continue
        for name in ALIASES.get(item, item).split(","):
            if name not in WORKLOADS:
                raise SystemExit(
                    f"unknown workload {item!r}; choose from {', '.join([*WORKLOADS, *ALIASES])}"
                )
            if name not in names:
                names.append(name)
    return [n for n in WORKLOADS if n in names]


async def run_suite(
    engines: Sequence[str],
    names: Sequence[str],
    sizes: Sizes,
    progress: Any = None,
    timings: dict[str, float] | None = None,
) -> list[Result]:
    """Every selected workload on every engine, each engine in its own temp dir / memory."""
    timings = {} if timings is None else timings
    results: list[Result] = []
    task = None
    steps = [(e, n) for e in engines for n in names if e in WORKLOADS[n].engines]
    if progress is not None:
        task = progress.add_task("bench", total=len(steps))
    for engine in engines:
        async with open_engine(engine) as env:
            for name in names:
                if engine not in WORKLOADS[name].engines:
                    continue
                if progress is not None:
                    progress.update(task, description=f"{engine}: {name}")
                started = time.perf_counter()
                results.extend(await WORKLOADS[name].run(env, sizes))
                timings[f"{engine}:{name}"] = round(time.perf_counter() - started, 1)
                if progress is not None and not progress.console.is_terminal:
                    # no live bar in a log: one line per finished workload instead
                    progress.console.print(f"{engine}: {name} done in {timings[f'{engine}:{name}']:.1f} s")
                if progress is not None:
                    progress.advance(task)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks (or print a report); returns the process exit code."""
    args = parse_args(argv)
    if args.report is not None:
        data = json.loads(args.report.read_text())
        print(markdown_table(results_from_json(data)))
        meta = data["meta"]
        machine = meta["machine"]
        print(
            f"\n{machine['cpus']} CPUs ({machine['cpu']}), {machine['memory_gib']} GiB, "
            f"Python {machine['python']}, SDK {machine['surrealdb_sdk']}, "
            f"embedded engine {machine['surrealdb_embedded']}; "
            f"{meta['seconds']:.0f} s; load average {meta['loadavg_before'][0]} -> {meta['loadavg_after'][0]}"
        )
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"unknown engine {e!r}; choose from {', '.join(ENGINES)}")
    names = selected(args.only)
    sizes = QUICK if args.quick else FULL

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console() if sys.stdout.isatty() else Console(width=170)  # logs keep whole rows
    load_before = os.getloadavg()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if args.no_progress:
        results = asyncio.run(run_suite(engines, names, sizes, None, timings))
    else:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            results = asyncio.run(run_suite(engines, names, sizes, progress, timings))
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    print_table(results, console)
    meta = {
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "engines": engines,
        "workloads": names,
        "seconds": round(elapsed, 1),
        "workload_seconds": timings,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "machine": machine_info(),
        "chunk_size_default": _default_chunk(),
    }
    output = (
        args.output
        or RESULTS_DIR / f"bench-{'quick-' if args.quick else ''}{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps({"meta": meta, "results": [r.to_json() for r in results]}, indent=2, default=str)
    )
    console.print(
        f"{len(results)} results in {elapsed:.0f} s; load average "
        f"{load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} CPUs; JSON: {output}"
    )
    return 0


def _default_chunk() -> int:
    return repositories_base.DEFAULT_CHUNK_SIZE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
