"""Cycle refusal under forced overlap: concurrent transactions that only together close a cycle.

Each round runs two (or three) transactions at once; every one holds its engine
transaction open with a ``SLEEP`` after its checks, so they all check the graph before
any of them commits (snapshot isolation: none sees the others' edges). Without the
guard rows that is write skew, and the control tests show it happening: every round
commits a cycle. With the repository's checks, 0 rounds may commit one, on both
embedded engines, for both ways an edge is checked:

* edges between existing tasks: the ancestor traversal and guard rows of ``add_dependency``;
* edges touching tasks created in the same transaction: the in-Python check at commit,
  plus the engine check appended when an existing task was made to wait for a new one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, Repositories, Statement, ValidationError
from agentical_repo.models import Task
from agentical_repo.transaction import Transaction

pytestmark = pytest.mark.slow

ROUNDS = 8
HOLD = Statement("SLEEP 40ms", {}, operation="QUERY")

# The control: the same ancestor check, without guard rows (what write skew defeats).
UNGUARDED = (
    "{ LET $_anc = array::union([$t], $t.{1..255+collect}<-depends_on<-task);"
    " IF $d INSIDE $_anc { THROW 'cycle' };"
    " RELATE $t->depends_on->$d; }"
)


def unguarded(task: uuid.UUID, dep: uuid.UUID) -> Statement:
    return Statement(
        UNGUARDED,
        {"t": RecordID("task", task), "d": RecordID("task", dep)},
        operation="RELATE",
        table="depends_on",
    )


def plain_relate(task: uuid.UUID, dep: uuid.UUID) -> Statement:
    return Statement(
        "RELATE $t->depends_on->$d",
        {"t": RecordID("task", task), "d": RecordID("task", dep)},
        operation="RELATE",
        table="depends_on",
    )


def buffered(tx: Repositories) -> Transaction:
    """The transaction behind ``repos.transaction()``'s container."""
    assert tx.tx is not None
    return tx.tx


@pytest_asyncio.fixture(params=["mem", "surrealkv"], loop_scope="session")
async def odb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = "mem://" if request.param == "mem" else f"surrealkv://{tmp_path / 'kv'}"
    settings = DatabaseSettings(
        url=url,
        namespace="overlap",
        database="main",
        max_retries=20,
        retry_base_delay=0.005,
        retry_max_delay=0.2,
    )
    async with Database(settings) as db:
        await db.apply_schema()
        yield db


async def in_cycle(db: Database, ids: list[uuid.UUID]) -> bool:
    """Whether any of ``ids`` reaches itself over ``depends_on``."""
    rows = await db.query(
        "RETURN $ids.filter(|$t| $t INSIDE $t.{1..50+collect}->depends_on->task)",
        {"ids": [RecordID("task", i) for i in ids]},
    )
    return bool(rows[0])


async def race(*txs: Callable[[], Awaitable[None]]) -> list[BaseException | None]:
    outcome = await asyncio.gather(*(t() for t in txs), return_exceptions=True)
    for r in outcome:
        if isinstance(r, BaseException) and not (isinstance(r, ValidationError) and r.code == "cycle"):
            raise r
    return [r if isinstance(r, BaseException) else None for r in outcome]


async def existing(repos: Repositories, *titles: str) -> list[uuid.UUID]:
    return [(await repos.tasks.create(Task(title=t))).id for t in titles]


# ----------------------------------------------------------------- existing tasks


async def test_existing_tasks_opposite_edges_overlapping(odb: Database) -> None:
    repos = Repositories(odb)
    cycles = retried = 0
    for _ in range(ROUNDS):
        a, b = await existing(repos, "a", "b")

        def edge(x: uuid.UUID, y: uuid.UUID) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                async with repos.transaction() as tx:
                    await tx.tasks.add_dependency(x, y)
                    buffered(tx).add(HOLD)

            return run

        with odb.count_requests() as sent:
            outcome = await race(edge(a, b), edge(b, a))
        retried += sent.count - 2
        assert sum(r is None for r in outcome) == 1, outcome
        cycles += await in_cycle(odb, [a, b])
    assert cycles == 0
    assert retried >= ROUNDS, "the guard rows must have made the overlapping transactions conflict"


async def test_existing_tasks_three_cycle_overlapping(odb: Database) -> None:
    """Three edges on existing chains, each closing a cycle only with both others."""
    repos = Repositories(odb)
    cycles = 0
    for _ in range(ROUNDS):
        a, a2, b, b2, c, c2 = await existing(repos, "a", "a2", "b", "b2", "c", "c2")
        for x, y in ((a, a2), (b, b2), (c, c2)):  # a waits for a2, ...
            await repos.tasks.add_dependency(x, y)

        def edge(x: uuid.UUID, y: uuid.UUID) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                async with repos.transaction() as tx:
                    await tx.tasks.add_dependency(x, y)
                    buffered(tx).add(HOLD)

            return run

        # a2 -> b, b2 -> c, c2 -> a: a -> a2 -> b -> b2 -> c -> c2 -> a
        outcome = await race(edge(a2, b), edge(b2, c), edge(c2, a))
        assert sum(r is not None for r in outcome) == 1, outcome
        cycles += await in_cycle(odb, [a, b, c])
    assert cycles == 0


async def test_control_existing_tasks_without_guards_commit_cycles(odb: Database) -> None:
    """The same overlap with the check but no guard rows: both commit, a cycle every round."""
    repos = Repositories(odb)
    cycles = 0
    for _ in range(ROUNDS):
        a, b = await existing(repos, "a", "b")

        def edge(x: uuid.UUID, y: uuid.UUID) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await odb.run_transaction([unguarded(x, y), HOLD])

            return run

        outcome = await race(edge(a, b), edge(b, a))
        assert outcome == [None, None]
        cycles += await in_cycle(odb, [a, b])
    assert cycles == ROUNDS


# ----------------------------------------------------------------- tasks created in the transaction


def new_tasks_tx(
    repos: Repositories, a: Task, b: Task, x: uuid.UUID, y: uuid.UUID
) -> Callable[[], Awaitable[None]]:
    """Create a and b; a -> b, b -> x (from new tasks) and y -> a (into a new task)."""

    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.tasks.create(a)
            await tx.tasks.create(b)
            await tx.tasks.add_dependency(a.id, b.id)
            await tx.tasks.add_dependency(b.id, x)
            await tx.tasks.add_dependency(y, a.id)
            buffered(tx).add(HOLD)

    return run


def new_tasks_control_tx(
    repos: Repositories, a: Task, b: Task, x: uuid.UUID, y: uuid.UUID
) -> Callable[[], Awaitable[None]]:
    """The same writes, with the check but without guard rows."""

    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.tasks.create(a)
            await tx.tasks.create(b)
            buffered(tx).add(plain_relate(a.id, b.id))
            buffered(tx).add(plain_relate(b.id, x))
            buffered(tx).add(unguarded(y, a.id))
            buffered(tx).add(HOLD)

    return run


def existing_edge_tx(repos: Repositories, x: uuid.UUID, y: uuid.UUID) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.tasks.add_dependency(x, y)
            buffered(tx).add(HOLD)

    return run


def existing_edge_control_tx(db: Database, x: uuid.UUID, y: uuid.UUID) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await db.run_transaction([unguarded(x, y), HOLD])

    return run


async def test_created_tasks_overlapping_an_existing_edge(odb: Database) -> None:
    """T1 creates a, b with a -> b (checked in Python), b -> x and y -> a (an existing task
    now waits for a new one); T2 relates the existing x -> y. Only together: a -> b -> x
    -> y -> a. One of them commits, the other is refused after its retry."""
    repos = Repositories(odb)
    cycles = retried = 0
    for _ in range(ROUNDS):
        x, y = await existing(repos, "x", "y")
        a, b = Task(title="a"), Task(title="b")
        with odb.count_requests() as sent:
            outcome = await race(new_tasks_tx(repos, a, b, x, y), existing_edge_tx(repos, x, y))
        retried += sent.count - 2
        assert sum(r is not None for r in outcome) == 1, outcome
        cycles += await in_cycle(odb, [x, y])
        if outcome[0] is not None:  # the refused transaction wrote nothing
            assert await repos.tasks.get_by_id(a.id) is None
    assert cycles == 0
    assert retried >= ROUNDS, "the guard rows must have made the overlapping transactions conflict"


async def test_control_created_tasks_without_guards_commit_cycles(odb: Database) -> None:
    repos = Repositories(odb)
    cycles = 0
    for _ in range(ROUNDS):
        x, y = await existing(repos, "x", "y")
        a, b = Task(title="a"), Task(title="b")
        outcome = await race(new_tasks_control_tx(repos, a, b, x, y), existing_edge_control_tx(odb, x, y))
        assert outcome == [None, None]
        cycles += await in_cycle(odb, [x, y])
    assert cycles == ROUNDS


async def test_created_task_chains_on_shared_existing_tasks_all_commit(odb: Database) -> None:
    """New tasks that only wait for existing ones cannot be on a cycle: concurrent
    transactions doing that never conflict with each other, and all commit."""
    repos = Repositories(odb)
    base = await existing(repos, "base1", "base2")

    async def chain(k: int) -> list[Task]:
        tasks = [Task(title=f"c{k}-{i}") for i in range(10)]
        async with repos.transaction() as tx:
            await tx.tasks.create_many(tasks)
            for i in range(1, len(tasks)):
                await tx.tasks.add_dependency(tasks[i].id, tasks[i - 1].id)
            await tx.tasks.add_dependency(tasks[0].id, base[k % 2])
            buffered(tx).add(HOLD)
        return tasks

    with odb.count_requests() as sent:
        chains = await asyncio.gather(*(chain(k) for k in range(6)))
    assert sent.count == 6, "no conflict, no retry"
    for tasks in chains:
        deps = await repos.tasks.get_dependencies(tasks[-1].id, recursive=True)
        assert len(deps) == 10
    rows: list[Any] = await odb.query("SELECT * FROM task_graph_guard")
    assert rows[0] == [], "edges from new tasks write no guard rows"
