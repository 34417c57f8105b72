"""Change feeds never pass a write this process may still be committing.

A versionstamp is taken while a transaction commits, so a long commit becomes visible
after later, faster commits with higher stamps. ``settle`` alone (a delay) covers
commits shorter than it; the write horizon (``agentical_repo/write_horizon.py``)
covers every commit of this process however long it takes, which on an embedded
engine is every commit there is.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from agentical_repo import Database, Repositories
from agentical_repo.models import Task
from agentical_repo.write_horizon import WriteHorizon


async def test_a_write_in_flight_holds_delivery_back_until_it_is_answered(
    db: Database, repos: Repositories
) -> None:
    start = await repos.tasks.change_cursor(settle=0)
    token = db.write_horizon.begin()  # a write of this process that has not answered yet
    await asyncio.sleep(0.002)
    task = await repos.tasks.create(Task(title="after the slow one"))
    await asyncio.sleep(0.002)
    held = await repos.tasks.changes(start, settle=0)
    assert held.events == []
    # the cursor stays before the write in flight: nothing it commits can be skipped
    assert held.cursor == start or (await repos.tasks.changes(held.cursor, settle=0)).events == []
    db.write_horizon.end(token)
    await asyncio.sleep(0.002)
    later = await repos.tasks.changes(held.cursor, settle=0)
    assert [(e.kind, e.id) for e in later.events] == [("create", task.id)]


async def test_a_long_commit_overtaken_by_later_ones_is_still_delivered(
    db: Database, repos: Repositories
) -> None:
    """One 1,000-row INSERT commits seconds after small writes that started later.

    Without the horizon, a watcher at ``settle=0`` moves past the big commit's stamp
    while it is still committing and never delivers its rows.
    """
    cursor = await repos.tasks.change_cursor(settle=0)
    big = [{"id": uuid.uuid4(), "title": f"bulk {i}"} for i in range(1_000)]
    small: list[uuid.UUID] = []
    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def bulk() -> None:
        rows = [{"title": r["title"], "id": repos.tasks._rid(r["id"])} for r in big]
        await db.query("INSERT INTO task $rows RETURN NONE", {"rows": rows})

    async def trickle() -> None:
        while not done.is_set():
            small.append((await repos.tasks.create(Task(title="small"))).id)
            await asyncio.sleep(0.005)

    async def follow() -> None:
        nonlocal cursor
        quiet_since = None
        while True:
            batch = await repos.tasks.changes(cursor, limit=1000, settle=0)
            cursor = batch.cursor
            seen.extend(e.id for e in batch.events if e.kind == "create")
            if batch.events:
                quiet_since = None
            elif done.is_set():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.3:
                    return
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(follow())
    writer = asyncio.create_task(trickle())
    await asyncio.sleep(0.05)
    await bulk()
    done.set()
    await writer
    await asyncio.wait_for(watcher, 120)
    assert len(small) > 5
    assert len(seen) == len(set(seen))
    assert set(seen) == {r["id"] for r in big} | set(small)


def test_horizon_is_the_oldest_write_open_or_held() -> None:
    now = [100.0]
    horizon = WriteHorizon(clock=lambda: now[0])
    assert horizon.oldest() is None
    first = horizon.begin()
    now[0] = 101.0
    second = horizon.begin()
    assert horizon.oldest() == 100.0
    horizon.end(first)
    assert horizon.oldest() == 101.0
    now[0] = 102.0
    horizon.hold(second, 5.0)  # fate unknown: it may still commit
    assert (horizon.oldest(), len(horizon)) == (101.0, 1)
    now[0] = 106.9
    assert horizon.oldest() == 101.0
    now[0] = 107.0
    assert (horizon.oldest(), len(horizon)) == (None, 0)
    horizon.end(second)  # ending a token twice is harmless
    horizon.hold(first, 1.0)  # and so is holding one already ended
    assert horizon.oldest() is None
