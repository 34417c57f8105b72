"""The connection pool (``pool_size``), measured through the loopback ws bridge.

All of it runs on an *embedded engine behind a loopback bridge* (``tests/ws_bridge``):
the SDK's real ws client, one engine session per socket, and the bridge's count of
query frames per socket shows which connection each request took.

Promises proven here:
* ``pool_size = 1`` (the default) keeps one connection;
* concurrent requests spread over the connections, least busy first;
* an end user's requests, and everything inside ``db.pinned()``, stay on one connection;
  a transaction is one request, so one connection;
* a dead connection is replaced and reads in flight on it do not fail;
* embedded URLs refuse ``pool_size > 1``;
* pool metrics (used/idle connections, waiting requests, wait time, max) and span
  attributes are emitted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import pytest_asyncio
from conftest import load_script
from logfire.testing import CaptureLogfire, get_collected_metrics
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)
from ws_bridge import Bridge

from agentical_repo import Database, DatabaseSettings, Repositories, Statement
from agentical_repo.access import signin_user
from agentical_repo.models import Agent, User

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(loop_scope="session")
async def bridge() -> AsyncIterator[Bridge]:
    async with Bridge() as b:
        yield b


def settings(bridge: Bridge, **kw: Any) -> DatabaseSettings:
    fields: dict[str, Any] = {
        "url": bridge.url,
        "username": "root",
        "password": "root",
        "namespace": "pool",
        "database": f"t_{uuid.uuid4().hex}",
        "query_timeout": 3.0,
        "connect_timeout": 3.0,
        "retry_base_delay": 0.01,
        **kw,
    }
    return DatabaseSettings.model_validate(fields)


@pytest_asyncio.fixture(loop_scope="session")
async def pooled(bridge: Bridge) -> AsyncIterator[Database]:
    db = Database(settings(bridge, pool_size=3))
    await db.connect()
    await db.apply_schema()
    yield db
    await db.close()


def delta(before: dict[int, int], after: dict[int, int]) -> dict[int, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


async def test_pool_size_one_keeps_one_connection(bridge: Bridge) -> None:
    async with Database(settings(bridge)) as db:
        assert db.pool is None
        await asyncio.gather(*(db.query("RETURN 1") for _ in range(30)))
    assert bridge.stats.sockets_opened == 1


async def test_concurrent_requests_go_to_the_least_busy_connection(bridge: Bridge, pooled: Database) -> None:
    assert pooled.pool is not None
    assert bridge.stats.sockets_opened == 3
    repos = Repositories(pooled)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    bridge.faults.add("slow", contains="SELECT", delay=0.1, times=30)
    before = dict(bridge.stats.queries_by_socket)
    # filtered reads: concurrent point reads (get) would be coalesced into fewer requests
    calls = [asyncio.ensure_future(repos.agents.list({"name": agent.name})) for _ in range(30)]
    await asyncio.sleep(0.05)
    busy = pooled.pool.stats()
    assert all(r == [agent] for r in await asyncio.gather(*calls))
    spread = delta(before, bridge.stats.queries_by_socket)
    assert sorted(spread.values()) == [10, 10, 10], spread
    assert (busy.open, busy.in_use, busy.idle) == (3, 3, 0)
    after = pooled.pool.stats()
    assert (after.in_use, after.idle) == (0, 3)


async def test_sequential_requests_stay_on_the_primary(bridge: Bridge, pooled: Database) -> None:
    """Least busy, ties to the primary: an idle pool sends one caller's requests on one socket."""
    before = dict(bridge.stats.queries_by_socket)
    for _ in range(10):
        await pooled.query("RETURN 1")
    assert delta(before, bridge.stats.queries_by_socket) == {1: 10}


async def test_end_user_requests_stay_on_one_connection(bridge: Bridge, pooled: Database) -> None:
    repos = Repositories(pooled)
    alice = await repos.users.create_user(User(username="alice", email="alice@example.com"), "pw-alice-1")
    await repos.users.create_user(User(username="bob", email="bob@example.com"), "pw-bob-1")
    user_db = Database(settings(bridge, username=None, password=None, database=pooled.database, pool_size=3))
    try:
        await user_db.connect()
        first_socket = bridge.stats.sockets_opened - 2  # the user Database's primary
        await signin_user(user_db, "alice@example.com", "pw-alice-1")
        before = dict(bridge.stats.queries_by_socket)
        bridge.faults.add("slow", contains="SELECT", delay=0.05, times=20)
        results = await asyncio.gather(*(Repositories(user_db).users.list() for _ in range(20)))
        assert all([u.id for u in r] == [alice.id] for r in results)
        assert delta(before, bridge.stats.queries_by_socket) == {first_socket: 20}
    finally:
        await user_db.close()


async def test_pinned_block_and_transactions_stay_on_one_connection(bridge: Bridge, pooled: Database) -> None:
    assert pooled.pool is not None
    bridge.faults.add("slow", contains="RETURN", delay=0.05, times=20)
    before = dict(bridge.stats.queries_by_socket)
    async with pooled.pinned():
        await asyncio.gather(*(pooled.query("RETURN 2") for _ in range(10)))
    assert len(delta(before, bridge.stats.queries_by_socket)) == 1
    # without the pin the same burst spreads
    before = dict(bridge.stats.queries_by_socket)
    await asyncio.gather(*(pooled.query("RETURN 3") for _ in range(10)))
    assert len(delta(before, bridge.stats.queries_by_socket)) == 3
    # a transaction is one request: one frame on one socket
    before = dict(bridge.stats.queries_by_socket)
    statements = [
        Statement("CREATE agent CONTENT { name: $n, agent_type: 'p' }", {"n": f"p{i}"}, "CREATE", "agent")
        for i in range(5)
    ]
    assert len(await pooled.run_transaction(statements)) == 5
    assert sum(delta(before, bridge.stats.queries_by_socket).values()) == 1


async def test_dead_connection_is_replaced_and_reads_in_flight_do_not_fail(
    bridge: Bridge, pooled: Database
) -> None:
    assert pooled.pool is not None
    repos = Repositories(pooled)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    bridge.faults.add("slow", contains="SELECT", delay=0.1, times=30)
    calls = [asyncio.ensure_future(repos.agents.list({"name": agent.name})) for _ in range(30)]
    await asyncio.sleep(0.03)
    assert bridge.drop(2)  # an extra connection dies with 10 reads in flight
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r == [agent] for r in results)
    assert pooled.pool.stats().replaced == 1
    for _ in range(200):  # the replacement is opened in the background
        if len(pooled.pool.extras) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(pooled.pool.extras) == 2
    assert bridge.stats.sockets_opened >= 4  # 3 + the replacement (more if a socket dropped under load)
    # the primary dying too: reopened by the Database while the requests that need it wait
    assert bridge.drop(1)
    await asyncio.sleep(0.05)
    await pooled.query("RETURN 0")  # on the primary (idle pool): finds it dead, reconnects
    assert pooled.pool.stats().peak_waiters >= 1
    assert await repos.agents.get(agent.id) == agent


async def test_a_replacement_that_cannot_open_is_tried_again_later(bridge: Bridge, pooled: Database) -> None:
    pool = pooled.pool
    assert pool is not None
    real_open = pool._opener
    failures = 0

    async def fails_once() -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise ConnectionError("refused (injected)")
        return await real_open()

    pool._opener = fails_once
    assert bridge.drop(3)
    await asyncio.sleep(0.05)
    bridge.faults.add("slow", contains="RETURN", delay=0.05, times=3)
    # the dead connection is found by a request, dropped, and its replacement fails to open
    await asyncio.gather(*(pooled.query("RETURN 5") for _ in range(3)))
    for _ in range(100):
        if failures:
            break
        await asyncio.sleep(0.01)
    assert failures == 1
    assert len(pool.extras) == 1
    # no new attempt before RETRY_OPEN_AFTER; the first request after it opens the replacement
    pool._retry_at = 0.0
    await pooled.query("RETURN 6")
    for _ in range(200):
        if len(pool.extras) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(pool.extras) == 2


async def test_switching_database_switches_every_connection(bridge: Bridge, pooled: Database) -> None:
    await pooled.use("pool", f"t_{uuid.uuid4().hex}")
    bridge.faults.add("slow", contains="RETURN", delay=0.05, times=9)
    results = await asyncio.gather(*(pooled.query("RETURN session::db()") for _ in range(9)))
    assert {r[0] for r in results} == {pooled.database}


@pytest.mark.parametrize("url", ["mem://", "surrealkv://.data/pool-refused"])
def test_embedded_urls_refuse_a_pool(url: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="one connection"):
        DatabaseSettings(url=url, pool_size=2)
    assert DatabaseSettings(url=url, pool_size=1).pool_size == 1


async def test_pool_metrics_and_span_attributes(
    capfire: CaptureLogfire, bridge: Bridge, pooled: Database
) -> None:
    assert pooled.pool is not None
    capfire.exporter.clear()
    bridge.faults.add("slow", contains="RETURN", delay=0.05, times=6)
    await asyncio.gather(*(pooled.query("RETURN 4") for _ in range(6)))
    metrics = {m["name"]: m for m in get_collected_metrics(capfire.metrics_reader)}
    for name in (
        "db.client.connection.count",
        "db.client.connection.pending_requests",
        "db.client.connection.wait_time",
        "db.client.connection.max",
    ):
        assert name in metrics, sorted(metrics)
    pool_name = pooled.pool.name
    counts = {
        p["attributes"]["db.client.connection.state"]: p["value"]
        for p in metrics["db.client.connection.count"]["data"]["data_points"]
        if p["attributes"]["db.client.connection.pool.name"] == pool_name
    }
    assert counts == {"used": 0, "idle": 3}  # the last value, after the burst
    [maximum] = [
        p["value"]
        for p in metrics["db.client.connection.max"]["data"]["data_points"]
        if p["attributes"]["db.client.connection.pool.name"] == pool_name
    ]
    assert maximum == 3
    waits = metrics["db.client.connection.wait_time"]["data"]["data_points"]
    assert (
        sum(p["count"] for p in waits if p["attributes"]["db.client.connection.pool.name"] == pool_name) >= 6
    )
    spans = [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]
    assert len(spans) == 6
    assert {s["attributes"]["db.client.connection.pool.name"] for s in spans} == {pool_name}
    assert {s["attributes"]["agentical.pool.connection"] for s in spans} == {0, 1, 2}
    assert max(s["attributes"]["agentical.pool.in_flight"] for s in spans) == 2


BENCH_WS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ws.py"


async def test_bench_ws_measures_a_pool_configuration(bridge: Bridge) -> None:
    """``make bench``'s ws workload runs and reports what it measured (smoke size)."""
    bench = load_script(BENCH_WS, "bench_ws")
    result = await bench.run_one(bridge.url, 2, 5, 20, rows=10)
    assert (result.pool_size, result.clients, result.ops) == (2, 5, 20)
    assert 0 < result.p50_ms <= result.p99_ms
    assert "loopback bridge" in bench.table([result])


async def test_an_extra_that_lost_its_sign_in_is_replaced_and_the_request_re_sent(
    bridge: Bridge, pooled: Database
) -> None:
    """The SDK reconnects a dead socket by itself as an anonymous session; the engine then
    refuses every request on it. That refusal applied nothing, so the request is re-sent on
    another connection and the anonymous one is replaced (here the session is made
    anonymous directly, which is what the SDK's silent reconnect leaves behind)."""
    pool = pooled.pool
    assert pool is not None
    repos = Repositories(pooled)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    for _ in range(200):
        if len(pool.extras) == 2:
            break
        await asyncio.sleep(0.01)
    victim = pool.extras[0]
    await victim.client.invalidate()
    replaced = pool.stats().replaced
    # reads only while the anonymous connection is being replaced: a write in flight on it
    # when it is closed would be of unknown fate (never re-sent), by design
    results = await asyncio.gather(
        *(repos.agents.list({"name": agent.name}) for _ in range(20)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r == [agent] for r in results)
    assert pool.stats().replaced > replaced
    assert victim not in pool.extras
    for i in range(5):
        await repos.agents.create(Agent(name=f"w{i}", agent_type="t"))
    assert await repos.agents.count() == 6, "each write applied exactly once"
