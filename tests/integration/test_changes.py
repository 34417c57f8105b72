"""Change streams (issue 14, item 4): ``repo.changes`` / ``repo.watch`` over table CHANGEFEEDs.

On the real engine: events come back in commit order as typed records (deletes carry
the deleted record), a transaction's changes share one versionstamp, ``limit`` cuts
anywhere (even inside a transaction) and the cursor resumes exactly there, a cursor
older than the feed's retention is refused, and concurrent writers on surrealkv://
are all seen exactly once (settled delivery).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from conftest import refused
from integration.security.end_users import open_world

from agentical_repo import AccessDeniedError, Database, DatabaseSettings, Repositories, ValidationError
from agentical_repo.errors import RepositoryError
from agentical_repo.models import Task, TaskStatus, Workflow


async def past_this_millisecond() -> None:
    """Versionstamps count milliseconds: a commit is certainly ordered (deliverable at
    ``settle=0``) once the millisecond it committed in has passed."""
    await asyncio.sleep(0.002)


async def test_feed_keeps_schemafull_and_permissions(db: Database) -> None:
    tables = (await db.query("INFO FOR DB"))[0]["tables"]
    message = tables["message"]
    assert "SCHEMAFULL CHANGEFEED 1w INCLUDE ORIGINAL" in message
    assert "FOR create WHERE user_id = $auth.id AND role = 'user'" in message  # 0007 kept
    assert tables["task"].endswith("SCHEMAFULL CHANGEFEED 1w INCLUDE ORIGINAL PERMISSIONS NONE")
    assert "CHANGEFEED" not in tables["user"]  # a feed would store password hashes


async def test_events_in_commit_order_with_typed_records(repos: Repositories) -> None:
    start = await repos.tasks.change_cursor(settle=0)
    task = await repos.tasks.create(Task(title="write"))
    await repos.tasks.update(task.id, {"priority": 7})
    await repos.tasks.delete(task.id)
    await past_this_millisecond()
    batch = await repos.tasks.changes(start, settle=0)
    assert [e.kind for e in batch.events] == ["create", "update", "delete"]
    assert all(e.id == task.id and isinstance(e.record, Task) for e in batch.events)
    records = [e.record for e in batch.events]
    assert [r.priority for r in records if r] == [0, 7, 7]  # the delete carries the deleted record
    assert [r.version for r in records if r] == [1, 2, 2]
    stamps = [e.versionstamp for e in batch.events]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3
    assert (await repos.tasks.changes(batch.cursor, settle=0)).events == []


async def test_transaction_is_one_versionstamp_and_limit_resumes_inside_it(repos: Repositories) -> None:
    start = await repos.tasks.change_cursor(settle=0)
    tasks = [Task(title=f"t{i}") for i in range(5)]
    async with repos.transaction() as tx:
        for t in tasks:
            await tx.tasks.create(t)
    await repos.tasks.create(Task(title="after"))
    await past_this_millisecond()
    seen = []
    cursor = start
    for _ in range(10):
        batch = await repos.tasks.changes(cursor, limit=2, settle=0)
        seen.extend(batch.events)
        cursor = batch.cursor
        if not batch.events:
            break
    assert [e.record.title for e in seen if e.record] == [t.title for t in tasks] + ["after"]
    assert len({e.versionstamp for e in seen[:5]}) == 1
    assert [e.index for e in seen[:5]] == [0, 1, 2, 3, 4]
    # each event's own cursor resumes right after it
    rest = await repos.tasks.changes(seen[2].cursor, limit=100, settle=0)
    assert [e.id for e in rest.events] == [e.id for e in seen[3:]]


async def test_since_none_replays_the_retained_feed(repos: Repositories) -> None:
    wf = await repos.workflows.create(Workflow(name="w"))
    await past_this_millisecond()
    batch = await repos.workflows.changes(settle=0)
    assert [(e.kind, e.id) for e in batch.events] == [("create", wf.id)]


async def test_settle_holds_back_fresh_changes_without_skipping_them(repos: Repositories) -> None:
    start = await repos.tasks.change_cursor(settle=0)
    await repos.tasks.create(Task(title="fresh"))
    held = await repos.tasks.changes(start, settle=60)
    assert held.events == []
    await past_this_millisecond()
    later = await repos.tasks.changes(held.cursor, settle=0)
    assert [e.record.title for e in later.events if e.record] == ["fresh"]


async def test_cursor_older_than_retention_is_refused(repos: Repositories, db: Database) -> None:
    # retention is configuration: an application migration would run this statement
    await db.query("ALTER TABLE task CHANGEFEED 1s INCLUDE ORIGINAL")
    cursor = await repos.tasks.change_cursor(settle=0)
    await repos.tasks.create(Task(title="gone?"))
    await asyncio.sleep(1.3)
    with pytest.raises(ValidationError) as info:
        await repos.tasks.changes(cursor, settle=0)
    assert info.value.code == "cursor_expired"
    assert info.value.context["argument"] == "since"
    # starting over from the retained feed works
    assert isinstance((await repos.tasks.changes(settle=0)).cursor, str)


async def test_bad_cursors_are_refused_before_io(repos: Repositories, db: Database) -> None:
    cursor = await repos.workflows.change_cursor()
    for bad in ["", "cf1.!!", "nope", cursor]:
        err = await refused(db, lambda b=bad: repos.tasks.changes(b))  # type: ignore[misc]
        assert err.context["argument"] == "since"
    await refused(db, lambda: repos.tasks.changes(limit=0))
    await refused(db, lambda: repos.tasks.changes(settle=-1))


async def test_table_without_feed_and_end_users_get_clear_errors(repos: Repositories) -> None:
    with pytest.raises(RepositoryError) as info:
        await repos.users.changes()
    assert info.value.code == "no_changefeed"
    async with open_world() as world:
        db = await world.as_user("a")
        with db.count_requests() as c, pytest.raises(AccessDeniedError):
            await Repositories(db).messages.changes()
        assert c.count == 0


async def test_watch_follows_live_writes(repos: Repositories) -> None:
    got: list[uuid.UUID] = []
    done = asyncio.Event()

    async def follow() -> None:
        async for event in repos.tasks.watch(poll_interval=0.01, max_interval=0.05, settle=0.05):
            got.append(event.id)
            if len(got) == 3:
                done.set()
                return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.1)
    made = [await repos.tasks.create(Task(title=f"w{i}")) for i in range(3)]
    await asyncio.wait_for(done.wait(), 10)
    await watcher
    assert got == [t.id for t in made]


async def test_concurrent_writers_are_each_seen_once_and_resume_after_reopen(tmp_path: Path) -> None:
    """surrealkv://: 6 writers at once, a watcher following them; then close, reopen, resume."""
    url = f"surrealkv://{tmp_path / 'feed'}"
    settings = DatabaseSettings(url=url, namespace="t", database="feed")
    async with Database(settings) as db:
        await db.apply_schema()
        repos = Repositories(db)
        cursor = await repos.tasks.change_cursor()
        seen: list[uuid.UUID] = []
        total = 6 * 40

        async def writer(w: int) -> None:
            for i in range(40):
                task = await repos.tasks.create(Task(title=f"{w}-{i}"))
                await repos.tasks.set_status(task.id, TaskStatus.RUNNING)

        async def follow() -> None:
            async for event in repos.tasks.watch(cursor, poll_interval=0.01, max_interval=0.05):
                if event.kind == "create":
                    seen.append(event.id)
                if len(seen) == total:
                    return

        watcher = asyncio.create_task(follow())
        await asyncio.gather(*(writer(w) for w in range(6)))
        await asyncio.wait_for(watcher, 30)
        assert len(seen) == len(set(seen)) == total
        resume = (await repos.tasks.changes(cursor, limit=1000)).cursor
    async with Database(settings) as db:
        repos = Repositories(db)
        late = await repos.tasks.create(Task(title="after restart"))
        await asyncio.sleep(0.6)
        batch = await repos.tasks.changes(resume, limit=1000)
        assert [(e.kind, e.id) for e in batch.events if e.kind == "create"] == [("create", late.id)]
