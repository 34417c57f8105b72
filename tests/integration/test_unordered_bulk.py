"""``create_many(..., ordered=False)``: two chunks in flight, failing rows isolated and reported.

Like MongoDB's unordered inserts: a bad row fails alone, every other row is
written, and ``BulkWriteError`` says exactly how many rows were committed and which
rows (index in the input, id, error) were not.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from integration.faults import LosesSecondAnswer

from agentical_repo import (
    AlreadyExistsError,
    BulkWriteError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    PaginationParams,
    Repositories,
    ValidationError,
)
from agentical_repo.models import Agent, Tool


def tool(name: str) -> Tool:
    return Tool(name=name, category="c")


async def stored_names(repos: Repositories) -> list[str]:
    tools = await repos.tools.list(pagination=PaginationParams(limit=1000, order_by=("name",)))
    return [t.name for t in tools]


async def test_unordered_writes_every_row(repos: Repositories) -> None:
    n = await repos.agents.create_many(
        (Agent(name=f"a{i}", agent_type="t") for i in range(23)), chunk_size=5, ordered=False
    )
    assert n == 23
    assert await repos.agents.count() == 23


async def test_a_bad_row_fails_alone_and_is_reported_by_index_and_id(repos: Repositories) -> None:
    existing = await repos.tools.create(tool("gen-0012"))
    rows = [tool(f"gen-{i:04d}") for i in range(30)]
    dup_id = await repos.tools.create(tool("other"))
    rows[3] = Tool(id=dup_id.id, name="dup-id", category="c")  # duplicate id in chunk 0
    with pytest.raises(BulkWriteError) as info:
        await repos.tools.create_many(rows, chunk_size=5, ordered=False)
    err = info.value
    # index 3: duplicate id; index 12: duplicate unique name (chunk 2); everything else written
    assert [(i, key) for i, key, _ in err.failures] == [(3, dup_id.id), (12, rows[12].id)]
    assert all(isinstance(e, AlreadyExistsError) for _, _, e in err.failures)
    assert err.committed == 28
    assert err.context["committed"] == 28
    assert [f["index"] for f in err.context["failed"]] == [3, 12]
    assert err.context["failed"][0]["id"] == str(dup_id.id)
    assert err.context["failed"][0]["code"] == "already_exists"
    assert err.unknown == []
    assert err.context["aborted"] is False
    assert "2 of 30 rows failed" in str(err)
    assert "28 rows were committed" in str(err)
    names = await stored_names(repos)
    expected = sorted({f"gen-{i:04d}" for i in range(30) if i != 3} | {"other"})
    assert names == expected
    assert await repos.tools.count() == 28 + 2  # + the two created before
    assert existing.id not in {r.id for r in rows}


async def test_a_refused_chunk_costs_one_more_request(db: Database, repos: Repositories) -> None:
    await repos.tools.create(tool("t-07"))
    with db.count_requests() as sent, pytest.raises(BulkWriteError):
        await repos.tools.create_many([tool(f"t-{i:02d}") for i in range(15)], chunk_size=5, ordered=False)
    assert sent.count == 3 + 1  # three chunks, then chunk 1 row by row in one request
    assert await repos.tools.count() == 15


async def test_an_entry_that_is_not_an_entity_is_a_failed_row(repos: Repositories) -> None:
    rows: list[Any] = [tool("x0"), "not a tool", tool("x2"), Agent(name="a", agent_type="t")]
    with pytest.raises(BulkWriteError) as info:
        await repos.tools.create_many(rows, chunk_size=2, ordered=False)
    assert [(i, type(e)) for i, _, e in info.value.failures] == [(1, ValidationError), (3, ValidationError)]
    assert info.value.failures[0][1] is None
    assert info.value.committed == 2
    assert await stored_names(repos) == ["x0", "x2"]


async def test_two_chunks_are_in_flight(db: Database, repos: Repositories) -> None:
    """A proxy in front of the real connection records how many requests overlap."""
    client = db.client
    state = {"now": 0, "max": 0}

    class Counting:
        async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            try:
                await asyncio.sleep(0.01)  # make the overlap observable
                return await client.query_raw(text, vars)
            finally:
                state["now"] -= 1

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

    db._client = Counting()
    try:
        await repos.agents.create_many(
            [Agent(name=f"a{i}", agent_type="t") for i in range(40)], chunk_size=5, ordered=False
        )
        unordered = state["max"]
        state["max"] = 0
        await repos.agents.create_many([Agent(name=f"b{i}", agent_type="t") for i in range(40)], chunk_size=5)
        ordered = state["max"]
    finally:
        db._client = client
    assert unordered == 2
    assert ordered == 1
    assert await repos.agents.count() == 80


async def test_ordered_is_the_default_and_stops_at_the_failing_chunk(repos: Repositories) -> None:
    await repos.tools.create(tool("o-07"))
    with pytest.raises(AlreadyExistsError) as info:
        await repos.tools.create_many([tool(f"o-{i:02d}") for i in range(15)], chunk_size=5)
    assert info.value.context["committed"] == 5
    assert await repos.tools.count() == 6


async def test_ordered_must_be_a_bool(db: Database, repos: Repositories) -> None:
    with db.count_requests() as sent, pytest.raises(ValidationError) as info:
        await repos.tools.create_many([tool("z")], ordered="no")  # type: ignore[arg-type]
    assert info.value.context["argument"] == "ordered"
    assert sent.count == 0


async def test_in_a_transaction_unordered_is_atomic_like_ordered(repos: Repositories) -> None:
    await repos.tools.create(tool("tx-3"))
    with pytest.raises(AlreadyExistsError):
        async with repos.transaction() as tx:
            await tx.tools.create_many([tool(f"tx-{i}") for i in range(6)], chunk_size=2, ordered=False)
    assert await stored_names(repos) == ["tx-3"]
    async with repos.transaction() as tx:
        await tx.tools.create_many([tool(f"ok-{i}") for i in range(4)], chunk_size=2, ordered=False)
    assert len(await stored_names(repos)) == 5


async def test_unordered_on_an_empty_input(repos: Repositories) -> None:
    assert await repos.agents.create_many([], ordered=False) == 0
    assert await repos.agents.create_many(iter(()), ordered=False) == 0


async def test_every_failed_row_is_named_when_all_fail(repos: Repositories) -> None:
    first = [tool(f"d-{i}") for i in range(4)]
    await repos.tools.create_many(first)
    again = [Tool(id=t.id, name=f"e-{i}", category="c") for i, t in enumerate(first)]
    with pytest.raises(BulkWriteError) as info:
        await repos.tools.create_many(again, chunk_size=3, ordered=False)
    assert [key for _, key, _ in info.value.failures] == [t.id for t in first]
    assert info.value.committed == 0
    assert isinstance(info.value.failures[0][1], uuid.UUID)


async def test_a_lost_connection_stops_and_reports_rows_of_unknown_fate(tmp_path: Path) -> None:
    db = Database(
        DatabaseSettings(
            url=f"surrealkv://{tmp_path / 'kv'}", namespace="bulk", database="main", max_retries=0
        )
    )
    await db.connect()
    try:
        await db.apply_schema()
        db._client = LosesSecondAnswer(db.client)
        repos = Repositories(db)
        rows = [Agent(name=f"a{i}", agent_type="t") for i in range(40)]
        with pytest.raises(BulkWriteError) as info:
            await repos.agents.create_many(rows, chunk_size=5, ordered=False)
        err = info.value
        assert err.context["aborted"] is True
        assert set(range(5, 10)) <= set(err.unknown)  # chunk 1 was sent; its answer was lost
        assert isinstance(err.__cause__, DatabaseUnavailableError)
        stored = {a.id for a in await repos.agents.list(pagination=PaginationParams(limit=100))}
        failed = {i for i, _, _ in err.failures}
        unknown = set(err.unknown)
        confirmed = [i for i, r in enumerate(rows) if r.id in stored and i not in unknown]
        assert len(confirmed) == err.committed  # exactly the committed rows, beyond the unknown ones
        assert not any(rows[i].id in stored for i in failed)
        # chunk 0 may have been in flight too when the connection was closed: then its
        # fate is unknown as well; either way nothing was sent after the failure was seen
        assert err.committed + len(unknown) + len(failed) <= 15
        assert len(stored) < 40
    finally:
        await db.close()
