"""Connection faults: closed connections, dead servers, hung servers, lost commits.

Faults are injected around a *real* engine, never instead of one: the connection is
closed behind the ``Database``'s back, a port with no server (or a server that never
answers) is dialled, or the SDK connection is wrapped in ``FaultyClient``, which
forwards every call to the real embedded connection and fails at a chosen moment
(before sending, after the engine has answered, or by never answering).

Promises proven here:
* a closed connection is reopened before the next call, reads and not-yet-sent
  writes succeed within the retry budget;
* an unreachable or silent server gives ``DatabaseUnavailableError`` promptly, and no
  call waits past its timeout;
* a transaction whose commit outcome is unknown raises ``CommitUnknownError`` and is
  never re-sent (it is applied exactly once); a plain write in the same situation is
  not retried either.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import surrealdb

from agentical_repo import (
    CommitUnknownError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    Repositories,
    Statement,
)
from agentical_repo.models import Agent

pytestmark = pytest.mark.slow


class FaultyClient:
    """Delegates to a real SDK connection; ``mode`` decides how ``query_raw`` fails once.

    * ``"before"``: raise a transport error without sending (the engine never sees it);
    * ``"after"``: send to the real engine, then raise as if the answer was lost;
    * ``"hang"``: never answer.
    """

    def __init__(self, real: Any, mode: str, *, times: int = 1) -> None:
        self.real = real
        self.mode = mode
        self.remaining = times
        self.sent = 0

    async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
        if self.remaining <= 0:
            return await self.real.query_raw(text, vars)
        self.remaining -= 1
        if self.mode == "before":
            raise surrealdb.TransportError("connection reset by peer")
        if self.mode == "hang":
            await asyncio.Event().wait()
        self.sent += 1
        await self.real.query_raw(text, vars)
        raise surrealdb.TransportError("connection reset by peer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class DyingClient(FaultyClient):
    """A connection that is going away: every request fails after a random short delay."""

    def __init__(self, real: Any) -> None:
        super().__init__(real, "before", times=10**6)

    async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
        await asyncio.sleep(random.uniform(0, 0.06))
        raise surrealdb.TransportError("connection reset by peer")


@pytest_asyncio.fixture(loop_scope="session")
async def kv_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A file-backed database (data survives reconnects), schema applied, fast retries."""
    settings = DatabaseSettings(
        url=f"surrealkv://{tmp_path / 'kv'}",
        namespace="faults",
        database="main",
        query_timeout=2.0,
        connect_timeout=2.0,
        max_retries=3,
        retry_base_delay=0.01,
    )
    db = Database(settings)
    await db.connect()
    await db.apply_schema()
    yield db
    await db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ closed behind our back


async def test_connection_closed_behind_our_back_reconnects_for_reads_and_writes(kv_db: Database) -> None:
    repos = Repositories(kv_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))

    await kv_db.client.close()  # the SDK connection dies; Database does not know
    start = time.perf_counter()
    with kv_db.count_requests() as c:
        assert await repos.agents.get(agent.id) == agent
    assert c.count == 2, "one refused attempt, one after reconnecting"
    assert time.perf_counter() - start < 2

    await kv_db.client.close()
    second = await repos.agents.create(Agent(name="b", agent_type="t"))  # not yet sent: safe to resend
    assert await repos.agents.count() == 2
    assert (await repos.agents.get(second.id)).name == "b"

    await kv_db.client.close()
    results = await kv_db.run_transaction(_batch_statements("after-close"))
    assert len(results) == 3
    assert await repos.agents.count({"name__startswith": "after-close"}) == 3


async def test_transport_error_before_sending_a_read_is_retried(kv_db: Database) -> None:
    repos = Repositories(kv_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    kv_db._client = FaultyClient(kv_db.client, "before")
    with kv_db.count_requests() as c:
        assert await repos.agents.get(agent.id) == agent
    assert c.count == 2, "the failed attempt, then one on a fresh connection"


async def test_persistent_fault_exhausts_the_retry_budget_promptly(kv_db: Database) -> None:
    kv_db._client = FaultyClient(kv_db.client, "before", times=10**6)
    kv_db._open = _failing_open  # type: ignore[method-assign]  # every reconnect fails too
    start = time.perf_counter()
    with pytest.raises(DatabaseUnavailableError), kv_db.count_requests() as c:
        await Repositories(kv_db).agents.count()
    assert time.perf_counter() - start < 3
    assert c.count <= kv_db.settings.max_retries + 1


async def _failing_open() -> None:
    raise DatabaseUnavailableError("could not connect (injected)")


# ------------------------------------------------------------------ servers that are gone or silent


async def test_no_server_gives_database_unavailable_promptly() -> None:
    settings = DatabaseSettings(
        url=f"ws://127.0.0.1:{free_port()}/rpc",
        connect_timeout=1.0,
        max_retries=2,
        retry_base_delay=0.01,
    )
    start = time.perf_counter()
    with pytest.raises(DatabaseUnavailableError) as info:
        async with Database(settings):
            pass
    assert time.perf_counter() - start < 5
    assert "127.0.0.1" in str(info.value)


async def test_silent_server_times_out_on_connect() -> None:
    """A TCP server that accepts and never answers the WebSocket handshake."""
    clients: list[asyncio.StreamWriter] = []

    async def swallow(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        clients.append(w)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = DatabaseSettings(
        url=f"ws://127.0.0.1:{port}/rpc", connect_timeout=0.5, max_retries=1, retry_base_delay=0.01
    )
    start = time.perf_counter()
    try:
        with pytest.raises(DatabaseUnavailableError, match="within"):
            async with Database(settings):
                pass
    finally:
        server.close()
        for w in clients:
            w.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5 * 2 + 1.5, elapsed


async def test_hung_query_raises_at_its_timeout(kv_db: Database) -> None:
    kv_db.settings = kv_db.settings.model_copy(update={"query_timeout": 0.3})
    kv_db._client = FaultyClient(kv_db.client, "hang")
    start = time.perf_counter()
    with pytest.raises(DatabaseUnavailableError) as info:
        await Repositories(kv_db).agents.count()
    assert info.value.code == "timeout"
    assert 0.25 < time.perf_counter() - start < 1.5


# ------------------------------------------------------------------ unknown commit outcome


def _batch_statements(batch: str) -> list[Statement]:
    return [
        Statement(
            "CREATE agent CONTENT { name: $n, agent_type: 'fault' }",
            {"n": f"{batch}-{i}"},
            operation="CREATE",
            table="agent",
        )
        for i in range(3)
    ]


async def test_lost_answer_after_commit_is_commit_unknown_and_never_resent(kv_db: Database) -> None:
    faulty = FaultyClient(kv_db.client, "after")
    kv_db._client = faulty
    batch = uuid.uuid4().hex
    with pytest.raises(CommitUnknownError) as info, kv_db.count_requests() as c:
        await kv_db.run_transaction(_batch_statements(batch))
    assert c.count == 1, "a transaction with an unknown outcome must not be re-sent"
    assert faulty.sent == 1
    assert "unknown" in str(info.value)
    # it did commit, exactly once: the caller can find out, the library did not guess
    repos = Repositories(kv_db)
    assert await repos.agents.count({"name__startswith": batch}) == 3


async def test_hung_commit_is_commit_unknown(kv_db: Database) -> None:
    kv_db.settings = kv_db.settings.model_copy(update={"query_timeout": 0.3})
    kv_db._client = FaultyClient(kv_db.client, "hang")
    start = time.perf_counter()
    with pytest.raises(CommitUnknownError), kv_db.count_requests() as c:
        await kv_db.run_transaction(_batch_statements("hung"))
    assert c.count == 1
    assert time.perf_counter() - start < 1.5


async def test_transaction_that_could_not_be_sent_is_unavailable_not_unknown(kv_db: Database) -> None:
    """Refused before sending (closed, and reconnecting fails): plainly unavailable, nothing applied."""
    await kv_db.client.close()
    real_open = kv_db._open
    kv_db._open = _failing_open  # type: ignore[method-assign]
    with pytest.raises(DatabaseUnavailableError) as info:
        await kv_db.run_transaction(_batch_statements("never-sent"))
    assert not isinstance(info.value, CommitUnknownError)
    kv_db._open = real_open  # type: ignore[method-assign]
    assert await Repositories(kv_db).agents.count({"name__startswith": "never-sent"}) == 0


async def test_lost_answer_to_a_single_write_is_not_retried(kv_db: Database) -> None:
    kv_db._client = FaultyClient(kv_db.client, "after")
    repos = Repositories(kv_db)
    agent = Agent(name="once", agent_type="t")
    with pytest.raises(DatabaseUnavailableError), kv_db.count_requests() as c:
        await repos.agents.create(agent)
    assert c.count == 1
    assert await repos.agents.count({"name": "once"}) == 1


async def test_transaction_api_reports_commit_unknown(kv_db: Database) -> None:
    """The buffered ``repos.transaction()`` path surfaces the same error."""
    kv_db._client = FaultyClient(kv_db.client, "after")
    repos = Repositories(kv_db)

    async def two_creates() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="tx1", agent_type="t"))
            await tx.agents.create(Agent(name="tx2", agent_type="t"))

    with pytest.raises(CommitUnknownError):
        await two_creates()
    assert await repos.agents.count({"name__in": ["tx1", "tx2"]}) == 2


async def test_many_in_flight_calls_survive_one_dead_connection(kv_db: Database) -> None:
    """50 concurrent reads on a connection that died: all succeed after one reconnect.

    A late failure from the dead connection must not close the new one another call
    has just opened (that would make the calls thrash through their retry budgets).
    """
    repos = Repositories(kv_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    opened = 0
    real_open = kv_db._open

    async def counting_open() -> None:
        nonlocal opened
        opened += 1
        await real_open()

    kv_db._open = counting_open  # type: ignore[method-assign]
    # every call in flight on the old connection fails, at different moments (0-60 ms)
    kv_db._client = DyingClient(kv_db.client)
    results = await asyncio.gather(*(repos.agents.get(agent.id) for _ in range(50)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert opened == 1, f"{opened} reconnects for one dead connection"
