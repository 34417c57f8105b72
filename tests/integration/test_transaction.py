"""Buffered transactions on the real engine: one request, atomic, real causes, conflict retry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings

from agentical_repo import (
    AlreadyExistsError,
    ConflictError,
    Database,
    DatabaseSettings,
    NotFoundError,
    Repositories,
    TransactionError,
    ValidationError,
)
from agentical_repo.models import Agent, AgentStatus, Tool
from agentical_repo.surql.statement import Statement
from agentical_repo.transaction import MAX_TRANSACTION_SIZE, Queued, Transaction, TransactionState

EngineUrl = tuple[str, "str | None", "str | None"]


def stmt(text: str, op: str = "QUERY", table: str | None = None, **vars: object) -> Statement:
    return Statement(text, vars, operation=op, table=table)


def spy_texts(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the text of every request sent on the (real) client; nothing is faked."""
    sent: list[str] = []
    real = db.client.query_raw

    async def recording(text: str, vars: dict[str, Any] | None = None) -> Any:
        sent.append(text)
        return await real(text, vars)

    monkeypatch.setattr(db.client, "query_raw", recording)
    return sent


async def table_ids(db: Database, table: str) -> list[Any]:
    return list((await db.query(f"SELECT VALUE id FROM {table} ORDER BY id"))[0])


# --------------------------------------------------------------------------- one request, results


async def test_transaction_is_one_begin_commit_request(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = spy_texts(db, monkeypatch)
    with db.count_requests() as c:
        async with db.transaction() as tx:
            first = tx.add(stmt("CREATE ONLY kv:1 SET v = $v RETURN VALUE v", "CREATE", "kv", v=10))
            second = tx.add(
                stmt("CREATE ONLY kv:2 SET v = $v RETURN VALUE v", "CREATE", "kv", v=20), lambda r: r * 2
            )
            third = tx.add(stmt("LET $s = (SELECT VALUE v FROM kv); RETURN math::sum($s)"))
            assert len(tx) == 3
            assert c.count == 0  # nothing sent while queueing
            with pytest.raises(TransactionError, match="only after commit"):
                first.result()
    assert c.count == 1
    assert len(sent) == 1
    assert sent[0].startswith("BEGIN TRANSACTION;")
    assert sent[0].rstrip().endswith("COMMIT TRANSACTION;")
    assert tx.state is TransactionState.COMMITTED
    # results are available after commit, decoded
    assert (first.result(), second.result(), third.result()) == (10, 40, 30)
    assert tx.results == [10, 40, 30]
    assert isinstance(first, Queued)
    assert "committed" in repr(first)


async def test_explicit_commit_returns_results_and_runs_callbacks(db: Database) -> None:
    tx = db.transaction()
    tx.add(stmt("RETURN $a + $b", a=1, b=2))
    called: list[str] = []
    tx.on_commit(lambda: called.append("done"))
    assert len(tx.statements) == 1
    assert await tx.commit() == [3]
    assert called == ["done"]


async def test_empty_transaction_sends_nothing(db: Database) -> None:
    with db.count_requests() as c:
        async with db.transaction() as tx:
            pass
        assert await db.run_transaction([]) == []
    assert c.count == 0
    assert tx.state is TransactionState.COMMITTED
    assert tx.results == []


async def test_a_committed_transaction_cannot_be_used_again(db: Database) -> None:
    async with db.transaction() as tx:
        tx.add(stmt("CREATE kv:1", "CREATE", "kv"))
    with db.count_requests() as c:
        with pytest.raises(TransactionError, match="committed"):
            tx.add(stmt("CREATE kv:2", "CREATE", "kv"))
        with pytest.raises(TransactionError, match="committed"):
            await tx.commit()
    assert c.count == 0
    assert await table_ids(db, "kv") == [_rid("kv", 1)]


def _rid(table: str, key: str | int) -> Any:
    from surrealdb import RecordID

    return RecordID(table, key)


# --------------------------------------------------------------------------- failures


async def _commit(db: Database, *statements: Statement) -> Transaction:
    async with db.transaction() as tx:
        for s in statements:
            tx.add(s)
    return tx


async def test_duplicate_id_names_statement_and_writes_nothing(db: Database) -> None:
    await db.query("CREATE kv:taken")
    tx = db.transaction()
    tx.add(stmt("CREATE kv:new1", "CREATE", "kv"))
    tx.add(stmt("CREATE kv:taken", "CREATE", "kv"))
    tx.add(stmt("CREATE kv:new2", "CREATE", "kv"))
    with db.count_requests() as c, pytest.raises(AlreadyExistsError) as info:
        await tx.commit()
    assert c.count == 1
    err = info.value
    assert err.context["statement_index"] == 1
    assert "transaction statement #1" in str(err)
    assert "already exists" in str(err)
    assert "not executed" not in str(err).lower()
    assert tx.state is TransactionState.FAILED
    with pytest.raises(TransactionError, match="failed"):
        Queued(tx, 0).result()
    assert await table_ids(db, "kv") == [_rid("kv", "taken")]


async def test_schema_violation_is_a_validation_error_and_writes_nothing(repos: Repositories) -> None:
    db = repos.db
    agent = Agent(name="ok", agent_type="t")
    create_ok = stmt(
        "CREATE agent SET name = 'first', agent_type = 't'", "CREATE", "agent"
    )  # valid, must be rolled back
    bad = stmt(
        "CREATE agent SET name = 'x', agent_type = 't', status = $s", "CREATE", "agent", s="no-such-status"
    )
    with pytest.raises(ValidationError) as info:
        await _commit(db, create_ok, bad)
    assert info.value.context["statement_index"] == 1
    assert "no-such-status" not in str(info.value)
    assert await repos.agents.count() == 0
    # a typed write through the repository inside the same kind of block
    await repos.agents.create(agent)
    with pytest.raises(ValidationError):
        await _commit(db, stmt("UPDATE agent SET version = 'not-an-int'", "UPDATE", "agent"))
    assert (await repos.agents.get(agent.id)).version == 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("not_found", NotFoundError),
        ("stale_version", ConflictError),
        ("conflict", ConflictError),
        ("exists", AlreadyExistsError),
        ("validation", ValidationError),
        ("cycle", ValidationError),
        ("something_else", TransactionError),
    ],
)
async def test_thrown_kinds_are_mapped_and_nothing_is_written(
    db: Database, kind: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        await _commit(
            db,
            stmt("CREATE kv:1", "CREATE", "kv"),
            stmt("CREATE kv:2", "CREATE", "kv"),
            stmt("IF true { THROW { kind: $k } }", k=kind),
        )
    assert info.value.context["statement_index"] == 2  # type: ignore[attr-defined]
    assert "not executed" not in str(info.value).lower()
    with pytest.raises(Exception, match="does not exist"):
        await table_ids(db, "kv")  # the table was never created: the whole block rolled back


async def test_failing_statement_in_a_multi_statement_entry_maps_to_its_index(db: Database) -> None:
    """Statement #1 has three SurrealQL statements; its failing third one still names #1."""
    await db.query("CREATE kv:x")
    with pytest.raises(AlreadyExistsError) as info:
        await _commit(
            db,
            stmt("CREATE kv:a", "CREATE", "kv"),
            stmt("LET $q = 1; CREATE kv:b; CREATE kv:x", "CREATE", "kv"),
            stmt("CREATE kv:c", "CREATE", "kv"),
        )
    assert info.value.context["statement_index"] == 1
    assert await table_ids(db, "kv") == [_rid("kv", "x")]


async def test_exception_in_block_sends_nothing_and_writes_nothing(repos: Repositories) -> None:
    db = repos.db

    async def fail_inside() -> Transaction:
        async with db.transaction() as tx:
            tx.add(stmt("CREATE kv:1", "CREATE", "kv"))
            raise RuntimeError("caller changed its mind")
        return tx  # pragma: no cover

    with db.count_requests() as c, pytest.raises(RuntimeError):
        await fail_inside()
    assert c.count == 0

    async def fail_inside_repos() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="never", agent_type="t"))
            raise KeyError("boom")

    with db.count_requests() as c, pytest.raises(KeyError):
        await fail_inside_repos()
    assert c.count == 0
    assert await repos.agents.count() == 0


async def test_discarded_transaction_refuses_more_work(db: Database) -> None:
    tx = db.transaction()
    tx.add(stmt("CREATE kv:1"))
    tx.discard()
    assert len(tx) == 0
    with pytest.raises(TransactionError, match="discarded"):
        tx.add(stmt("CREATE kv:2"))
    with pytest.raises(TransactionError, match="discarded"):
        await tx.commit()


# --------------------------------------------------------------------------- conflicts


def durable_settings(engine_url: EngineUrl, tmp_path: Path, **kw: Any) -> DatabaseSettings:
    """``surrealkv://`` instead of ``mem://`` for exact counts: mem:// loses updates (surrealdb#7473)."""
    url, user, password = engine_url
    if url.startswith(("mem://", "memory://")):
        url, user, password = f"surrealkv://{tmp_path / 'kv'}", None, None
    # raw counter/log tables of the test's own, not the library's schema
    settings = make_settings(url, user, password, require_schema=False, **kw)
    return settings.model_copy(update={"database": f"tx_{uuid.uuid4().hex}"})


INCREMENT = [
    stmt("LET $n = (SELECT VALUE n FROM ONLY counter:1)", "SELECT", "counter"),
    stmt("UPDATE counter:1 SET n = $n + 1", "UPDATE", "counter"),
    stmt("CREATE log SET at = time::now()", "CREATE", "log"),
    # hold the write for 20 ms: concurrent transactions overlap, so all but the first
    # committer get the engine's retryable write conflict (deterministic, not load-dependent)
    stmt("LET $pause = sleep(20ms)"),
]


async def _burst(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[int, list[BaseException]]:
    results = await asyncio.gather(*(fn() for _ in range(n)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    return n - len(failures), failures


async def _counts(db: Database) -> tuple[int, int]:
    n = (await db.query("SELECT VALUE n FROM ONLY counter:1"))[0]
    logs = (await db.query("SELECT count() FROM log GROUP ALL"))[0]
    return n, (logs[0]["count"] if logs else 0)


async def test_conflicts_without_retries_raise_and_commit_nothing(
    engine_url: EngineUrl, tmp_path: Path
) -> None:
    async with Database(durable_settings(engine_url, tmp_path, max_retries=0)) as db:
        await db.query("CREATE counter:1 SET n = 0")
        with db.count_requests() as c:
            ok, failures = await _burst(lambda: db.run_transaction(INCREMENT), 8)
        assert c.count == 8  # one request each, nothing re-sent
        assert failures, "no write conflict among 8 overlapping transactions"
        assert ok >= 1
        for f in failures:
            assert isinstance(f, ConflictError)
            assert f.retryable
            assert f.context["attempts"] == 1
            assert "not executed" not in str(f).lower()
        # every failed transaction committed nothing, including its other statements
        assert await _counts(db) == (ok, ok)


async def test_conflicts_with_retries_all_commit(engine_url: EngineUrl, tmp_path: Path) -> None:
    settings = durable_settings(
        engine_url, tmp_path, max_retries=20, retry_base_delay=0.005, retry_max_delay=0.05
    )
    async with Database(settings) as db:
        await db.query("CREATE counter:1 SET n = 0")
        n = 8
        with db.count_requests() as c:
            ok, failures = await _burst(lambda: db.run_transaction(INCREMENT), n)
        assert failures == []
        assert ok == n
        assert await _counts(db) == (n, n)  # each block applied exactly once
        assert c.count > n  # conflicts happened and were retried (the whole block re-sent)


async def test_retries_exhausted_raise_conflict_error_with_attempts(
    engine_url: EngineUrl, tmp_path: Path
) -> None:
    async with Database(durable_settings(engine_url, tmp_path, max_retries=1, retry_base_delay=0.0)) as db:
        await db.query("CREATE counter:1 SET n = 0")
        ok, failures = await _burst(lambda: db.run_transaction(INCREMENT), 8)
        assert failures, "no transaction exhausted 1 retry among 8 overlapping ones"
        assert all(isinstance(f, ConflictError) and f.context["attempts"] == 2 for f in failures)
        assert all("persisted after 2 attempts" in str(f) for f in failures)
        assert await _counts(db) == (ok, ok)


async def test_unforced_burst_of_transactions_loses_nothing(engine_url: EngineUrl, tmp_path: Path) -> None:
    """200 concurrent quick transactions with retries: each applied exactly once."""
    settings = durable_settings(
        engine_url, tmp_path, max_retries=20, retry_base_delay=0.001, retry_max_delay=0.05
    )
    async with Database(settings) as db:
        await db.query("CREATE counter:1 SET n = 0")
        ok, failures = await _burst(lambda: db.run_transaction(INCREMENT[:3]), 200)
        assert failures == []
        assert ok == 200
        assert await _counts(db) == (200, 200)


# --------------------------------------------------------------------------- Repositories.transaction


async def test_repositories_transaction_queues_writes(repos: Repositories) -> None:
    db = repos.db
    existing = await repos.agents.create(Agent(name="existing", agent_type="t"))
    with db.count_requests() as c:
        async with repos.transaction() as tx:
            assert tx is not repos
            assert tx.tx is not None
            assert tx.agents.in_transaction
            created = await tx.agents.create(Agent(name="new", agent_type="t"))
            updated = await tx.agents.update(existing.id, {"status": AgentStatus.BUSY})
            tool = await tx.tools.create(Tool(name="hammer", category="c"))
            deleted = await tx.agents.delete(uuid.uuid4())
            assert isinstance(created, Queued)
            with pytest.raises(TransactionError, match="only after commit"):
                created.result()
            assert c.count == 0
    assert c.count == 1
    assert created.result().name == "new"
    assert isinstance(created.result(), Agent)
    assert updated.result().status is AgentStatus.BUSY  # type: ignore[attr-defined]
    assert updated.result().version == 2  # type: ignore[attr-defined]
    assert tool.result().name == "hammer"  # type: ignore[attr-defined]
    assert deleted.result() is False  # type: ignore[attr-defined]
    assert await repos.agents.count() == 2
    assert tx.tx is not None
    assert len(tx.tx.results) == 4


async def test_repositories_transaction_reads_raise_clearly(repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    reads: list[Callable[[Repositories], Awaitable[Any]]] = [
        lambda r: r.agents.get(agent.id),
        lambda r: r.agents.get_by_id(agent.id),
        lambda r: r.agents.list(),
        lambda r: r.agents.count(),
        lambda r: r.agents.exists({"name": "a"}),
        lambda r: r.agents.find_one({"name": "a"}),
        lambda r: r.agents.paginate(),
    ]
    for read in reads:
        with repos.db.count_requests() as c:
            async with repos.transaction() as tx:
                with pytest.raises(
                    TransactionError, match="reads are not possible inside a buffered transaction"
                ):
                    await read(tx)
        assert c.count == 0


async def test_repositories_transaction_failure_rolls_back_everything(repos: Repositories) -> None:
    await repos.tools.create(Tool(name="unique-name", category="c"))
    agent = Agent(name="in-tx", agent_type="t")

    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(agent)
            await tx.tools.create(Tool(name="unique-name", category="c"))

    with pytest.raises(AlreadyExistsError) as info:
        await run()
    assert info.value.context["statement_index"] == 1
    assert await repos.agents.get_by_id(agent.id) is None
    assert await repos.tools.count() == 1


# --------------------------------------------------------------------------- size limit


def creates(n: int, start: int = 0) -> list[Statement]:
    return [
        stmt("CREATE type::record('kv', $k) SET v = $k", "CREATE", "kv", k=i) for i in range(start, start + n)
    ]


async def test_a_transaction_over_the_size_limit_is_refused_before_sending(db: Database) -> None:
    """The engine's cost per transaction grows faster than its size: a too-large one would
    time out into CommitUnknownError, so it is refused at commit with nothing sent."""
    await db.query("DEFINE TABLE kv SCHEMALESS")
    tx = db.transaction()

    async def run() -> None:
        async with tx:
            for st in creates(MAX_TRANSACTION_SIZE + 1):
                tx.add(st)
            assert tx.size == MAX_TRANSACTION_SIZE + 1

    with db.count_requests() as sent, pytest.raises(TransactionError) as info:
        await run()
    assert sent.count == 0
    assert info.value.code == "transaction_too_large"
    assert info.value.context == {"size": MAX_TRANSACTION_SIZE + 1, "max_size": MAX_TRANSACTION_SIZE}
    assert f"the limit is {MAX_TRANSACTION_SIZE}" in str(info.value)
    assert "nothing was sent" in str(info.value)
    assert tx.state is TransactionState.DISCARDED
    assert await table_ids(db, "kv") == []


async def test_a_transaction_at_the_size_limit_commits(db: Database) -> None:
    async with db.transaction() as tx:
        for st in creates(MAX_TRANSACTION_SIZE):
            tx.add(st)
    assert tx.state is TransactionState.COMMITTED
    assert (await db.query("SELECT count() FROM kv GROUP ALL"))[0][0]["count"] == MAX_TRANSACTION_SIZE


async def test_rows_of_a_multi_row_insert_count_against_the_limit(repos: Repositories) -> None:
    agents = [Agent(name=f"a{i}", agent_type="t") for i in range(MAX_TRANSACTION_SIZE + 1)]

    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create_many(agents, chunk_size=MAX_TRANSACTION_SIZE + 1)  # one INSERT
            assert tx.tx is not None
            assert len(tx.tx) == 1

    with repos.db.count_requests() as sent, pytest.raises(TransactionError) as info:
        await run()
    assert sent.count == 0
    assert info.value.code == "transaction_too_large"
    assert await repos.agents.count() == 0


async def test_the_limit_counts_every_statement_of_a_multi_statement_text(db: Database) -> None:
    await db.query("DEFINE TABLE kv SCHEMALESS")
    tx = Transaction(db, max_size=3)
    tx.add(stmt("CREATE kv:1; CREATE kv:2"))
    tx.add(stmt("CREATE kv:3; CREATE kv:4"))
    assert tx.size == 4
    with pytest.raises(TransactionError, match="4 writes queued, the limit is 3"):
        await tx.commit()
    assert await table_ids(db, "kv") == []


async def test_max_size_is_per_transaction(repos: Repositories) -> None:
    async def three(max_size: int) -> None:
        async with repos.transaction(max_size=max_size) as tx:
            for name in "abc":
                await tx.agents.create(Agent(name=name, agent_type="t"))

    with pytest.raises(TransactionError, match="the limit is 2"):
        await three(2)
    assert await repos.agents.count() == 0
    await three(3)
    assert await repos.agents.count() == 3


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
async def test_max_size_must_be_a_positive_integer(db: Database, bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Transaction(db, max_size=bad)
    assert info.value.context == {"argument": "max_size"}
