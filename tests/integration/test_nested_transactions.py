"""Nested transaction blocks join the enclosing transaction: one commit, all or nothing.

An inner ``repos.transaction()`` (on the outer container or on the transaction's own
container) used to open a second transaction that committed on its own when the inner
block ended, and survived the failure of the outer block. Now it joins: nothing is sent
when the inner block ends, and the outermost block commits everything once, or nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from agentical_repo import AlreadyExistsError, Database, Repositories, TransactionError
from agentical_repo.models import Agent, Tool
from agentical_repo.surql.statement import Statement
from agentical_repo.transaction import Queued, Transaction, TransactionState

Opener = Callable[[Repositories, Repositories], AbstractAsyncContextManager[Repositories]]

# the two ways to open an inner block: on the outer container, or on the transaction's one
INNER: dict[str, Opener] = {
    "outer container": lambda repos, tx: repos.transaction(),
    "tx container": lambda repos, tx: tx.transaction(),
}


async def agent_names(repos: Repositories) -> list[str]:
    return sorted(a.name for a in await repos.agents.list())


@pytest.mark.parametrize("opener", INNER.values(), ids=INNER.keys())
async def test_an_inner_block_joins_the_outer_one_and_commits_once(
    repos: Repositories, opener: Opener
) -> None:
    with repos.db.count_requests() as sent:
        async with repos.transaction() as tx:
            first = await tx.agents.create(Agent(name="outer", agent_type="t"))
            async with opener(repos, tx) as inner:
                assert inner.tx is tx.tx  # the same transaction, not a second one
                second = await inner.agents.create(Agent(name="inner", agent_type="t"))
            assert sent.count == 0  # the inner block's end sent nothing
            third = await tx.tools.create(Tool(name="after", category="c"))
    assert sent.count == 1  # one BEGIN … COMMIT for all three
    assert isinstance(second, Queued)
    assert first.result().name == "outer"  # type: ignore[attr-defined]
    assert second.result().name == "inner"
    assert third.result().name == "after"  # type: ignore[attr-defined]
    assert await agent_names(repos) == ["inner", "outer"]


@pytest.mark.parametrize("opener", INNER.values(), ids=INNER.keys())
async def test_a_failing_outer_statement_rolls_back_the_inner_block_too(
    repos: Repositories, opener: Opener
) -> None:
    """The bug: the inner block committed on its own and survived the outer failure."""
    taken = await repos.tools.create(Tool(name="taken", category="c"))

    async def run() -> None:
        async with repos.transaction() as tx:
            async with opener(repos, tx) as inner:
                await inner.agents.create(Agent(name="inner", agent_type="t"))
            await tx.tools.create(Tool(id=taken.id, name="dup", category="c"))  # fails at commit

    with pytest.raises(AlreadyExistsError):
        await run()
    assert await agent_names(repos) == []


@pytest.mark.parametrize("opener", INNER.values(), ids=INNER.keys())
async def test_an_exception_in_the_outer_block_sends_nothing_of_the_inner_one(
    repos: Repositories, opener: Opener
) -> None:
    async def run() -> None:
        async with repos.transaction() as tx:
            async with opener(repos, tx) as inner:
                await inner.agents.create(Agent(name="inner", agent_type="t"))
            raise RuntimeError("changed my mind")

    with repos.db.count_requests() as sent, pytest.raises(RuntimeError):
        await run()
    assert sent.count == 0
    assert await agent_names(repos) == []


@pytest.mark.parametrize("opener", INNER.values(), ids=INNER.keys())
async def test_an_inner_failure_caught_inside_the_outer_block_still_discards_everything(
    repos: Repositories, opener: Opener
) -> None:
    handles: list[Repositories] = []

    async def run() -> None:
        async with repos.transaction() as tx:
            handles.append(tx)
            await tx.agents.create(Agent(name="outer", agent_type="t"))
            try:
                async with opener(repos, tx) as inner:
                    await inner.agents.create(Agent(name="inner", agent_type="t"))
                    raise KeyError("inner step failed")
            except KeyError:
                pass  # the caller swallows it: committing "outer" alone would be half the work
            with pytest.raises(TransactionError, match="inner transaction block raised KeyError"):
                await tx.agents.create(Agent(name="later", agent_type="t"))

    with repos.db.count_requests() as sent, pytest.raises(TransactionError) as info:
        await run()
    assert info.value.code == "transaction_abandoned"
    assert "nothing of the enclosing transaction is committed" in str(info.value)
    assert sent.count == 0
    [tx] = handles
    assert tx.tx is not None
    assert tx.tx.state is TransactionState.DISCARDED
    assert await agent_names(repos) == []


async def test_blocks_nest_several_levels_deep(repos: Repositories) -> None:
    with repos.db.count_requests() as sent:
        async with repos.transaction() as a, a.transaction() as b, repos.transaction() as c:
            async with b.transaction() as d:
                await d.agents.create(Agent(name="deep", agent_type="t"))
            assert c.tx is a.tx
    assert sent.count == 1
    assert await agent_names(repos) == ["deep"]


async def test_an_inner_block_cannot_commit_early_or_set_its_own_size(repos: Repositories) -> None:
    async with repos.transaction() as tx:
        async with tx.transaction() as inner:
            assert inner.tx is not None
            with pytest.raises(TransactionError, match="commits when the outermost block ends"):
                await inner.tx.commit()
        with pytest.raises(TransactionError, match="max_size belongs to the outermost"):
            async with repos.transaction(max_size=5):
                pass
        await tx.agents.create(Agent(name="kept", agent_type="t"))
    assert await agent_names(repos) == ["kept"]


async def test_a_raw_transaction_inside_a_block_is_refused_not_committed_alone(
    repos: Repositories, db: Database
) -> None:
    raws: list[Transaction] = []

    async def run() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="outer", agent_type="t"))
            async with db.transaction() as raw:
                raws.append(raw)
                raw.add(Statement("CREATE kv:1 SET v = 1", operation="CREATE", table="kv"))

    with db.count_requests() as sent, pytest.raises(TransactionError) as info:
        await run()
    assert info.value.code == "nested_transaction"
    assert "would commit on its own" in str(info.value)
    assert sent.count == 0
    assert raws[0].state is TransactionState.DISCARDED
    assert await agent_names(repos) == []


async def test_tasks_started_inside_a_block_join_it(repos: Repositories) -> None:
    async def add(name: str) -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name=name, agent_type="t"))

    with repos.db.count_requests() as sent:
        async with repos.transaction():
            await asyncio.gather(add("a"), add("b"), add("c"))
    assert sent.count == 1
    assert await agent_names(repos) == ["a", "b", "c"]


async def test_independent_tasks_keep_independent_transactions(repos: Repositories) -> None:
    """Only blocks in the same task (or its children) join: concurrent callers never do."""
    taken = await repos.tools.create(Tool(name="taken", category="c"))
    both = asyncio.Event()
    arrived = 0

    async def together() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both.set()
        await both.wait()  # both blocks are open at the same time

    async def good() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="good", agent_type="t"))
            await together()

    async def bad() -> None:
        async with repos.transaction() as tx:
            await tx.agents.create(Agent(name="bad", agent_type="t"))
            await tx.tools.create(Tool(id=taken.id, name="dup", category="c"))
            await together()

    results = await asyncio.gather(
        asyncio.ensure_future(good()), asyncio.ensure_future(bad()), return_exceptions=True
    )
    assert results[0] is None
    assert isinstance(results[1], AlreadyExistsError)
    assert await agent_names(repos) == ["good"]


async def test_a_block_after_the_outer_one_ended_is_a_new_transaction(repos: Repositories) -> None:
    async with repos.transaction() as first:
        await first.agents.create(Agent(name="first", agent_type="t"))
    async with first.transaction() as second:  # the container outlived its block
        assert second.tx is not first.tx
        await second.agents.create(Agent(name="second", agent_type="t"))
    assert first.tx is not None
    assert first.tx.state is TransactionState.COMMITTED
    assert await agent_names(repos) == ["first", "second"]
