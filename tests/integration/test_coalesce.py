"""Request coalescing: concurrent point reads and single creates of a table share requests.

The first call of a burst is sent at once; the calls arriving while it is in flight
go out together as one ``SELECT * FROM $ids`` (one ``INSERT``). Results, errors,
spans, the request counter, the read cache and transactions must look exactly as
if every call had been sent on its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from logfire.testing import CaptureLogfire
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)
from surrealdb import RecordID

from agentical_repo import (
    AlreadyExistsError,
    Database,
    NotFoundError,
    Repositories,
    TransactionError,
    ValidationError,
)
from agentical_repo.coalesce import IN_FLIGHT, KINDS, REQUEST_ID_ATTRIBUTE, SIZE_ATTRIBUTE
from agentical_repo.models import Agent, Tool
from agentical_repo.repositories.cache import CacheConfig


@pytest.fixture(autouse=True)
def one_in_flight(db: Database) -> Iterator[None]:
    """One request per lane in flight: the first call of a burst alone, the rest together."""
    db.coalescer.in_flight = 1
    yield
    db.coalescer.in_flight = IN_FLIGHT


async def stored_agents(repos: Repositories, n: int) -> list[Agent]:
    agents = [Agent(name=f"a{i}", agent_type="t", config={"i": i}) for i in range(n)]
    await repos.agents.create_many(agents)
    return [await repos.agents.get(a.id) for a in agents]


async def test_concurrent_point_reads_share_one_request(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 20)
    missing = [uuid.uuid4() for _ in range(5)]
    ids = [a.id for a in agents] + missing + [agents[0].id, agents[3].id]  # repeats too
    with db.count_requests() as sent:
        got = await asyncio.gather(*(repos.agents.get_by_id(i) for i in ids))
    assert sent.count == 2  # the first read alone, the 26 that arrived meanwhile together
    by_id = {a.id: a for a in agents}
    assert list(got) == [by_id.get(i) for i in ids]
    assert got[0] is not got[-2]  # a repeated id still gives every caller its own model


async def test_off_switch_sends_every_call(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 6)
    db.coalescer.enabled = False
    try:
        with db.count_requests() as sent:
            got = await asyncio.gather(*(repos.agents.get_by_id(a.id) for a in agents))
    finally:
        db.coalescer.enabled = True
    assert sent.count == 6
    assert list(got) == agents


async def test_get_raises_not_found_for_its_own_caller_only(repos: Repositories) -> None:
    agents = await stored_agents(repos, 3)
    ghost = uuid.uuid4()
    results = await asyncio.gather(
        *(repos.agents.get(i) for i in [agents[0].id, ghost, agents[1].id, agents[2].id]),
        return_exceptions=True,
    )
    assert results[0] == agents[0]
    assert results[2] == agents[1]
    assert results[3] == agents[2]
    assert isinstance(results[1], NotFoundError)
    assert results[1].context["id"] == str(ghost)


async def test_reads_of_different_tables_are_separate_requests(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 4)
    tools = [Tool(name=f"t{i}", category="c") for i in range(4)]
    await repos.tools.create_many(tools)
    with db.count_requests() as sent:
        got = await asyncio.gather(
            *(repos.agents.get_by_id(a.id) for a in agents), *(repos.tools.get_by_id(t.id) for t in tools)
        )
    assert sent.count == 4  # per table: one alone, one batch
    assert [g.id for g in got if g is not None] == [a.id for a in agents] + [t.id for t in tools]


async def test_concurrent_creates_share_one_insert(db: Database, repos: Repositories) -> None:
    agents = [Agent(name=f"c{i}", agent_type="t") for i in range(25)]
    with db.count_requests() as sent:
        created = await asyncio.gather(*(repos.agents.create(a) for a in agents))
    assert sent.count == 2
    assert [c.id for c in created] == [a.id for a in agents]
    for c in created:
        assert c == await repos.agents.get(c.id)  # what create returned is what was stored
        assert c.version == 1
        assert c.created_at is not None


async def test_a_failing_create_fails_only_its_own_caller(db: Database, repos: Repositories) -> None:
    taken = await repos.tools.create(Tool(name="taken", category="c"))
    tools = [Tool(name=f"n{i}", category="c") for i in range(10)]
    tools[4] = Tool(name="taken", category="c")  # unique name
    tools[7] = Tool(id=taken.id, name="other", category="c")  # duplicate id
    first = Tool(name="first", category="c")
    results = await asyncio.gather(
        repos.tools.create(first), *(repos.tools.create(t) for t in tools), return_exceptions=True
    )
    assert isinstance(results[5], AlreadyExistsError)
    assert isinstance(results[8], AlreadyExistsError)
    ok = [r for i, r in enumerate(results) if i not in (5, 8)]
    assert all(isinstance(r, Tool) for r in ok)
    assert await repos.tools.count() == 1 + 1 + 8
    # the same errors as a lone create gives
    with pytest.raises(AlreadyExistsError) as lone:
        await repos.tools.create(Tool(name="taken", category="c"))
    assert type(results[5]) is type(lone.value)
    assert results[5].code == lone.value.code


async def test_identities_are_never_batched_together(db: Database, repos: Repositories) -> None:
    """Calls queued under one identity never go out with calls of another.

    A proxy in front of the real connection holds the first read in flight while
    calls queue; the identity marker (``db.end_user``, set by ``signin_user``) changes
    in between.
    """
    agents = await stored_agents(repos, 8)
    client = db.client
    release = asyncio.Event()
    texts: list[tuple[str, Any]] = []

    class Slow:
        async def query_raw(self, text: str, vars: dict[str, Any] | None = None) -> Any:
            texts.append((text, db.end_user))
            if len(texts) == 1:
                await release.wait()
            return await client.query_raw(text, vars)

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

    end_user = RecordID("user", uuid.uuid4())
    db._client = Slow()
    try:
        first = asyncio.ensure_future(repos.agents.get_by_id(agents[0].id))
        await asyncio.sleep(0.01)
        as_system = [asyncio.ensure_future(repos.agents.get_by_id(a.id)) for a in agents[1:4]]
        await asyncio.sleep(0.01)
        db.end_user = end_user  # what signin_user sets
        as_user = [asyncio.ensure_future(repos.agents.get_by_id(a.id)) for a in agents[4:8]]
        await asyncio.sleep(0.01)
        release.set()
        got = await asyncio.gather(first, *as_system, *as_user)
    finally:
        db._client = client
        db.end_user = None
    assert [g.id for g in got if g is not None] == [a.id for a in agents]
    # the user's calls have a lane of their own (the first alone, the other three together);
    # the system calls queued as system were sent one by one once the identity changed
    batched = [(t, who) for t, who in texts if "$ids" in t]
    assert len(batched) == 1
    assert batched[0][1] == end_user
    assert len(texts) == 1 + (1 + 1) + 3


async def test_waiting_callers_have_their_own_spans_tied_to_the_shared_request(
    capfire: CaptureLogfire, repos: Repositories
) -> None:
    agents = await stored_agents(repos, 6)
    capfire.exporter.clear()
    await asyncio.gather(*(repos.agents.get_by_id(a.id) for a in agents))
    spans = [s for s in capfire.exporter.exported_spans_as_dict() if s["name"] == "SELECT agent"]
    shared = [s for s in spans if SIZE_ATTRIBUTE in s["attributes"]]
    waiting = [s for s in spans if REQUEST_ID_ATTRIBUTE in s["attributes"] and s not in shared]
    assert len(shared) == 1
    assert shared[0]["attributes"][SIZE_ATTRIBUTE] == 5
    assert len(waiting) == 5  # one span per waiting caller
    rid = shared[0]["attributes"][REQUEST_ID_ATTRIBUTE]
    assert all(s["attributes"][REQUEST_ID_ATTRIBUTE] == rid for s in waiting)
    assert len(spans) == 1 + 1 + 5  # the lone first read, the shared request, the waiters


async def test_transactions_are_not_coalesced(db: Database, repos: Repositories) -> None:
    agents = [Agent(name=f"x{i}", agent_type="t") for i in range(5)]
    with db.count_requests() as sent:
        async with repos.transaction() as tx:
            await asyncio.gather(*(tx.agents.create(a) for a in agents))
            with pytest.raises(TransactionError):
                await tx.agents.get_by_id(agents[0].id)
    assert sent.count == 1  # the commit only
    assert await repos.agents.count() == 5


async def test_read_cache_keeps_its_meaning(db: Database) -> None:
    cached = Repositories(db, cache=CacheConfig(maxsize=100, ttl=60))
    tools = [Tool(name=f"k{i}", category="c") for i in range(6)]
    await cached.tools.create_many(tools)
    await cached.tools.get_by_id(tools[0].id)  # cached
    with db.count_requests() as sent:
        got = await asyncio.gather(*(cached.tools.get_by_id(t.id) for t in tools))
    assert sent.count == 2  # tools[0] from the cache; one alone, four together
    assert [g.id for g in got if g is not None] == [t.id for t in tools]
    with db.count_requests() as again:
        await asyncio.gather(*(cached.tools.get_by_id(t.id) for t in tools))
    assert again.count == 0  # every read was stored in the cache
    await cached.tools.update(tools[1].id, {"available": False})
    fresh = await cached.tools.get_by_id(tools[1].id)
    assert fresh is not None
    assert fresh.available is False


async def test_get_many(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 5)
    ghost = uuid.uuid4()
    with db.count_requests() as sent:
        got = await repos.agents.get_many([agents[3].id, ghost, agents[0].id, str(agents[3].id)])
    assert sent.count == 1
    assert got == [agents[3], agents[0]]
    assert await repos.agents.get_many([]) == []
    foreign: Any = RecordID("tool", agents[0].id)  # deliberately outside IdLike
    with pytest.raises(ValidationError) as info:
        await repos.agents.get_many([foreign])
    assert info.value.context["argument"] == "ids"
    with pytest.raises(ValidationError):
        await repos.agents.get_many("not a list")


async def test_get_many_joins_concurrent_point_reads(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 8)
    with db.count_requests() as sent:
        one, many, other = await asyncio.gather(
            repos.agents.get_by_id(agents[0].id),
            repos.agents.get_many([a.id for a in agents[1:6]]),
            repos.agents.get_by_id(agents[7].id),
        )
    assert sent.count == 2
    assert one == agents[0]
    assert many == agents[1:6]
    assert other == agents[7]


async def test_a_cancelled_waiter_does_not_disturb_the_others(repos: Repositories) -> None:
    agents = await stored_agents(repos, 5)
    tasks = [asyncio.ensure_future(repos.agents.get_by_id(a.id)) for a in agents]
    await asyncio.sleep(0)
    tasks[2].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    assert [d for i, d in enumerate(done) if i != 2] == [a for i, a in enumerate(agents) if i != 2]


async def test_with_the_default_slots_the_first_calls_go_alone(db: Database, repos: Repositories) -> None:
    db.coalescer.in_flight = IN_FLIGHT
    agents = await stored_agents(repos, IN_FLIGHT + 10)
    with db.count_requests() as sent:
        got = await asyncio.gather(*(repos.agents.get_by_id(a.id) for a in agents))
    assert sent.count == IN_FLIGHT + 1
    assert list(got) == agents


async def test_concurrent_updates_and_deletes_share_a_request(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 12)
    ghost = uuid.uuid4()
    with db.count_requests() as sent:
        results = await asyncio.gather(
            *(repos.agents.update(a.id, {"description": f"d{i}"}) for i, a in enumerate(agents[:8])),
            repos.agents.update(ghost, {"description": "x"}),
            return_exceptions=True,
        )
    # one alone, the rest together; two ids sharing a record-lock stripe wait for each other
    assert sent.count < 9
    for i, (a, r) in enumerate(zip(agents[:8], results, strict=False)):
        assert isinstance(r, Agent)
        assert r.description == f"d{i}"
        assert r.version == a.version + 1
        assert r == await repos.agents.get(a.id)
    assert isinstance(results[8], NotFoundError)
    with db.count_requests() as sent:
        deleted = await asyncio.gather(
            *(repos.agents.delete(i) for i in [a.id for a in agents[8:]] + [ghost])
        )
    assert sent.count == 2
    assert deleted == [True, True, True, True, False]
    assert await repos.agents.count() == 8


async def test_kinds_choose_the_lanes(db: Database, repos: Repositories) -> None:
    agents = await stored_agents(repos, 5)
    db.coalescer.kinds = frozenset({"create", "write"})
    try:
        with db.count_requests() as sent:
            await asyncio.gather(*(repos.agents.get_by_id(a.id) for a in agents))
    finally:
        db.coalescer.kinds = KINDS
    assert sent.count == 5
