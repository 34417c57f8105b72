"""The ws:// path: the SDK's real WebSocket client against the embedded engine behind a
loopback bridge (``tests/ws_bridge``), with faults injected at the socket.

Everything here is measured on an *embedded engine behind a loopback bridge*, not on a
SurrealDB server: the RPC layer answering is the embedded engine's (so no live queries,
no client-side ``begin``/``commit``), the socket, the framing, the SDK's ws client,
sessions and authentication are real.

Promises proven on this path (each also holds on the embedded path, see
``test_connection_faults.py``):

* a socket that died while idle (server restart, closed underneath) is reopened with
  sign-in and namespace before the next request, never silently reused anonymously;
* a read whose socket dropped before it was answered is re-sent and succeeds;
* a write whose socket dropped after sending is not re-sent (``DatabaseUnavailableError``,
  ``maybe_sent``), whether or not the engine applied it;
* a transaction whose answer was lost raises ``CommitUnknownError`` and is applied
  exactly once; a hung one raises it at ``query_timeout``;
* a slow answer inside the timeout is just slow; a hung read times out at ``query_timeout``;
* the bridge behaves like ``surreal start --user root --pass root``: anonymous sockets
  are refused, one session per socket, frames bounded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import surrealdb
import websockets
from surrealdb import Null
from surrealdb.cbor import dumps, loads
from websockets.typing import Subprotocol
from ws_bridge import LABEL, Bridge

from agentical_repo import (
    CommitUnknownError,
    ConflictError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    Repositories,
    Statement,
)
from agentical_repo.access import signin_user
from agentical_repo.models import Agent, Tool, User

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(loop_scope="session")
async def bridge() -> AsyncIterator[Bridge]:
    async with Bridge() as b:
        yield b


def ws_settings(bridge: Bridge, **kw: Any) -> DatabaseSettings:
    fields: dict[str, Any] = {
        "url": bridge.url,
        "username": "root",
        "password": "root",
        "namespace": "ws",
        "database": f"t_{uuid.uuid4().hex}",
        "query_timeout": 2.0,
        "connect_timeout": 2.0,
        "max_retries": 3,
        "retry_base_delay": 0.01,
        **kw,
    }
    return DatabaseSettings.model_validate(fields)


@pytest_asyncio.fixture(loop_scope="session")
async def ws_db(bridge: Bridge) -> AsyncIterator[Database]:
    db = Database(ws_settings(bridge))
    await db.connect()
    await db.apply_schema()
    yield db
    await db.close()


def creates(batch: str, n: int = 3) -> list[Statement]:
    return [
        Statement(
            "CREATE agent CONTENT { name: $n, agent_type: 'ws' }",
            {"n": f"{batch}-{i}"},
            operation="CREATE",
            table="agent",
        )
        for i in range(n)
    ]


# ------------------------------------------------------------------ the bridge itself


def test_results_are_labelled_as_the_bridge_not_a_server() -> None:
    assert LABEL == "embedded engine behind a loopback bridge"


async def test_anonymous_socket_is_refused_and_root_can_sign_in(bridge: Bridge) -> None:
    anonymous = surrealdb.AsyncSurreal(bridge.url)
    await anonymous.connect()
    try:
        await anonymous.use("ws", "anon")
        with pytest.raises(surrealdb.SurrealError, match=r"(?i)not allowed|permission"):
            await anonymous.query("CREATE agent SET name = 'x'")
        with pytest.raises(surrealdb.SurrealError):
            await anonymous.signin({"username": "root", "password": "wrong"})
        await anonymous.signin({"username": "root", "password": "root"})
        assert await anonymous.query("RETURN 1") in (1, [1])
    finally:
        await anonymous.close()


async def test_one_engine_session_per_socket(bridge: Bridge) -> None:
    """Signing in on one socket does not authenticate another; closing detaches its sessions."""
    signed = surrealdb.AsyncSurreal(bridge.url)
    other = surrealdb.AsyncSurreal(bridge.url)
    await signed.connect()
    await other.connect()
    try:
        await signed.signin({"username": "root", "password": "root"})
        await signed.use("ws", "s")
        await other.use("ws", "s")
        assert await signed.query("RETURN 2") in (2, [2])
        with pytest.raises(surrealdb.SurrealError, match=r"(?i)not allowed|permission"):
            await other.query("CREATE agent SET name = 'x'")
        # ``sessions`` would list every socket's engine session: the bridge refuses it
        async with websockets.connect(bridge.url, subprotocols=[Subprotocol("cbor")]) as raw:
            await raw.send(dumps({"id": "1", "method": "sessions"}))
            frame = await raw.recv()
        assert isinstance(frame, bytes)
        reply = loads(frame)
        assert reply["error"]["message"] == "Method not allowed"
    finally:
        await signed.close()
        await other.close()
    for _ in range(100):
        if bridge.open_sockets == 0:
            break
        await asyncio.sleep(0.01)
    sessions = (await bridge._call(None, "sessions"))["result"]
    assert len(sessions) == 1, "only the owner session is left once both sockets closed"


async def test_frames_are_bounded(bridge: Bridge) -> None:
    small = Bridge(max_frame=64 * 1024)
    async with small:
        db = Database(ws_settings(small, max_retries=0, require_schema=False))
        await db.connect()
        try:
            assert await db.query("RETURN $v", {"v": "x" * 1000}) == ["x" * 1000]
            with pytest.raises(DatabaseUnavailableError):
                await db.query("RETURN $v", {"v": "x" * 100_000})
            # the refused frame closed only that socket: the next request reconnects
            assert await db.query("RETURN 1") == [1]
        finally:
            await db.close()


async def test_null_and_none_cross_the_bridge_unchanged(ws_db: Database) -> None:
    """The bridge forwards the client's bytes: NULL stays NULL, NONE stays NONE."""
    stored = await ws_db.query(
        "CREATE ws_nulls:1 CONTENT { d: $d } RETURN VALUE d", {"d": {"null": Null, "none": None}}
    )
    assert stored == [[{"null": Null}]]


# ------------------------------------------------------------------ reconnects


async def test_socket_dropped_while_idle_is_reopened_with_signin(bridge: Bridge, ws_db: Database) -> None:
    repos = Repositories(ws_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    opened = bridge.stats.sockets_opened
    assert await bridge.drop_all() == 1  # the "server" restarts; the data stays
    await asyncio.sleep(0.05)
    assert await repos.agents.get(agent.id) == agent
    # a write after the drop was never sent: it is sent once on the new connection
    await bridge.drop_all()
    await asyncio.sleep(0.05)
    await repos.agents.create(Agent(name="b", agent_type="t"))
    assert await repos.agents.count() == 2
    assert bridge.stats.sockets_opened == opened + 2


async def test_connection_closed_underneath_is_not_reused_anonymously(ws_db: Database) -> None:
    """The SDK's ws client reconnects by itself on the next request, as an anonymous
    session; the Database must reopen it (sign in, select ns/db) instead."""
    await ws_db.client.close()
    assert await ws_db.query("RETURN 1") == [1]
    assert await Repositories(ws_db).agents.count() == 0


async def test_read_whose_socket_dropped_is_resent(bridge: Bridge, ws_db: Database) -> None:
    repos = Repositories(ws_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    fault = bridge.faults.add("drop", contains="SELECT")
    with ws_db.count_requests() as c:
        assert await repos.agents.get(agent.id) == agent
    assert fault.hits == 1
    assert c.count == 2


async def test_many_in_flight_reads_survive_a_dropped_socket(bridge: Bridge, ws_db: Database) -> None:
    repos = Repositories(ws_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    bridge.faults.add("slow", contains="SELECT", delay=0.05, times=40)
    # filtered reads: concurrent point reads (get) would be coalesced into one request
    calls = [asyncio.ensure_future(repos.agents.list({"name": agent.name})) for _ in range(40)]
    await asyncio.sleep(0.02)
    await bridge.drop_all()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r == [agent] for r in results)


# ------------------------------------------------------------------ lost answers and commit-unknown


async def test_write_whose_socket_dropped_before_the_engine_saw_it_is_not_resent(
    bridge: Bridge, ws_db: Database
) -> None:
    """The client cannot tell "dropped before" from "dropped after": it must not re-send."""
    repos = Repositories(ws_db)
    bridge.faults.add("drop", contains="CREATE")
    with pytest.raises(DatabaseUnavailableError) as info, ws_db.count_requests() as c:
        await repos.agents.create(Agent(name="never", agent_type="t"))
    assert c.count == 1
    assert info.value.context.get("maybe_sent") is True
    assert await repos.agents.count({"name": "never"}) == 0


async def test_write_whose_answer_was_lost_is_applied_once_and_not_resent(
    bridge: Bridge, ws_db: Database
) -> None:
    repos = Repositories(ws_db)
    bridge.faults.add("drop_after", contains="CREATE")
    with pytest.raises(DatabaseUnavailableError) as info, ws_db.count_requests() as c:
        await repos.agents.create(Agent(name="once", agent_type="t"))
    assert c.count == 1
    assert info.value.context.get("maybe_sent") is True
    assert await repos.agents.count({"name": "once"}) == 1


async def test_transaction_whose_answer_was_lost_is_commit_unknown(bridge: Bridge, ws_db: Database) -> None:
    batch = uuid.uuid4().hex
    fault = bridge.faults.add("drop_after", contains="BEGIN TRANSACTION")
    with pytest.raises(CommitUnknownError) as info, ws_db.count_requests() as c:
        await ws_db.run_transaction(creates(batch))
    assert fault.hits == 1
    assert c.count == 1, "a transaction with an unknown outcome is never re-sent"
    assert "unknown" in str(info.value)
    assert await Repositories(ws_db).agents.count({"name__startswith": batch}) == 3


async def test_repos_transaction_dropped_before_the_engine_is_commit_unknown_and_absent(
    bridge: Bridge, ws_db: Database
) -> None:
    repos = Repositories(ws_db)
    bridge.faults.add("drop", contains="BEGIN TRANSACTION")

    async def two_creates() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="tx1", agent_type="t"))
            await tx.agents.create(Agent(name="tx2", agent_type="t"))

    with pytest.raises(CommitUnknownError):
        await two_creates()
    assert await repos.agents.count({"name__in": ["tx1", "tx2"]}) == 0


async def test_hung_transaction_is_commit_unknown_at_its_timeout(bridge: Bridge) -> None:
    db = Database(ws_settings(bridge, query_timeout=0.4))
    await db.connect()
    await db.apply_schema()
    try:
        batch = uuid.uuid4().hex
        bridge.faults.add("hang_after", contains="BEGIN TRANSACTION")
        start = time.perf_counter()
        with pytest.raises(CommitUnknownError):
            await db.run_transaction(creates(batch))
        assert 0.35 < time.perf_counter() - start < 2.0
        assert await Repositories(db).agents.count({"name__startswith": batch}) == 3
    finally:
        await db.close()


# ------------------------------------------------------------------ timeouts


async def test_hung_read_times_out_at_query_timeout(bridge: Bridge) -> None:
    db = Database(ws_settings(bridge, query_timeout=0.3))
    await db.connect()
    await db.apply_schema()
    try:
        bridge.faults.add("hang", contains="SELECT")
        start = time.perf_counter()
        with pytest.raises(DatabaseUnavailableError) as info:
            await Repositories(db).agents.count()
        assert info.value.code == "timeout"
        assert 0.25 < time.perf_counter() - start < 1.5
        # the connection is still usable: the hung request did not wedge it
        assert await Repositories(db).agents.count() == 0
    finally:
        await db.close()


async def test_slow_answer_inside_the_timeout_is_just_slow(bridge: Bridge, ws_db: Database) -> None:
    bridge.faults.add("slow", contains="SELECT", delay=0.3)
    start = time.perf_counter()
    assert await Repositories(ws_db).agents.count() == 0
    assert time.perf_counter() - start >= 0.3


# ------------------------------------------------------------------ conflicts, counters, record access


async def test_stale_expected_version_is_a_conflict(ws_db: Database) -> None:
    repos = Repositories(ws_db)
    agent = await repos.agents.create(Agent(name="v", agent_type="t"))
    await repos.agents.update(agent.id, {"description": "one"}, expected_version=agent.version)
    with pytest.raises(ConflictError):
        await repos.agents.update(agent.id, {"description": "two"}, expected_version=agent.version)


async def test_concurrent_counter_updates_are_exact(ws_db: Database) -> None:
    repos = Repositories(ws_db)
    tool = await repos.tools.create(Tool(name=f"t-{uuid.uuid4().hex[:8]}", category="c"))
    await asyncio.gather(*(repos.tools.track_usage(tool.id, {"success": True}) for _ in range(30)))
    assert (await repos.tools.get(tool.id)).usage_count == 30


async def test_end_user_sign_in_over_ws_sees_only_their_rows(bridge: Bridge, ws_db: Database) -> None:
    repos = Repositories(ws_db)
    alice = await repos.users.create_user(User(username="alice", email="alice@example.com"), "pw-alice-1")
    await repos.users.create_user(User(username="bob", email="bob@example.com"), "pw-bob-1")
    user_db = Database(ws_settings(bridge, username=None, password=None, database=ws_db.database))
    try:
        await signin_user(user_db, "alice@example.com", "pw-alice-1")
        assert user_db.end_user is not None
        visible = await Repositories(user_db).users.list()
        assert [u.id for u in visible] == [alice.id]
        # a dropped socket comes back as the same user, never as root or anonymous
        await bridge.drop_all()
        await asyncio.sleep(0.05)
        assert [u.id for u in await Repositories(user_db).users.list()] == [alice.id]
    finally:
        await user_db.close()


# ------------------------------------------------------------------ what the engine refuses behind the bridge


async def test_engine_refuses_client_side_transactions_behind_the_bridge(bridge: Bridge) -> None:
    """Canary for interactive transactions: the embedded engine's RPC layer answers
    ``begin`` with "Method not allowed", so ``repos.interactive()`` cannot be proven
    here (docs/transports.md). When this starts failing, the engine accepts them."""
    client = surrealdb.AsyncSurreal(bridge.url)
    await client.connect()
    try:
        await client.signin({"username": "root", "password": "root"})
        await client.use("ws", "txn")
        with pytest.raises(surrealdb.SurrealError, match="Method not allowed"):
            await client.begin()
    finally:
        await client.close()


async def test_engine_refuses_live_queries_behind_the_bridge(bridge: Bridge) -> None:
    client = surrealdb.AsyncSurreal(bridge.url)
    await client.connect()
    try:
        await client.signin({"username": "root", "password": "root"})
        await client.use("ws", "live")
        with pytest.raises(surrealdb.SurrealError):
            await client.live("agent")
    finally:
        await client.close()
