"""``BaseRepository`` pinned exactly, for the mutation gate (group ``repositories``).

Each test asserts what a changed line of ``agentical_repo/repositories/base.py`` would
change: exact results and their order, exact error messages, codes and contexts,
request counts, what reaches the engine. All on the real engine (``db``/``repos``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from integration.faults import LosesSecondAnswer
from logfire.testing import CaptureLogfire, get_collected_metrics
from surrealdb import RecordID

from agentical_repo import (
    AccessDeniedError,
    AgenticalError,
    AlreadyExistsError,
    BulkWriteError,
    ConflictError,
    Database,
    NotFoundError,
    PaginationParams,
    Repositories,
    RepositoryError,
    TransactionError,
    ValidationError,
)
from agentical_repo import changes as change_feed
from agentical_repo.models import Agent, Tool
from agentical_repo.repositories.base import MAX_CHUNK_SIZE, _undecodable
from agentical_repo.repositories.cache import CacheConfig

FIX = "fix or delete it by id (update/delete do not need to read it)"


def tool_cache_counter(capfire: CaptureLogfire) -> Callable[[str], int]:
    """The total of a cache metric recorded for the ``tool`` table."""
    metrics = {m["name"]: m for m in get_collected_metrics(capfire.metrics_reader)}

    def total(name: str) -> int:
        points = metrics[name]["data"]["data_points"]
        return sum(p["value"] for p in points if p["attributes"].get("db.collection.name") == "tool")

    return total


def agent(name: str = "a", **kw: Any) -> Agent:
    return Agent(name=name, agent_type=kw.pop("agent_type", "t"), **kw)


def tool(name: str, **kw: Any) -> Tool:
    return Tool(name=name, category=kw.pop("category", "c"), **kw)


def deep(levels: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return out


@pytest.fixture
def cached(db: Database) -> Repositories:
    return Repositories(db, cache=CacheConfig(maxsize=100, ttl=60))


@pytest.fixture
def texts(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The text and variables of every request sent (the real client still answers each)."""
    sent: list[tuple[str, dict[str, Any]]] = []
    real = db.client.query_raw

    async def recording(text: str, vars: dict[str, Any] | None = None) -> Any:
        sent.append((text, dict(vars or {})))
        return await real(text, vars)

    monkeypatch.setattr(db.client, "query_raw", recording)
    return sent


# --------------------------------------------------------------------------- bind


async def test_bind_is_a_copy_of_the_same_class_queuing_in_the_transaction(
    db: Database, cached: Repositories
) -> None:
    tools = cached.tools
    async with db.transaction() as tx:
        bound = tools.bind(tx)
        assert type(bound) is type(tools)
        assert bound.db is db
        assert bound.tx is tx
        assert bound.cache is tools.cache
        assert bound.cache is not None
        assert bound.in_transaction is True
        await bound.create(tool("queued"))
        assert await tools.count() == 0  # queued, not sent
    assert [t.name for t in await tools.list()] == ["queued"]
    assert tools.in_transaction is False


# --------------------------------------------------------------------------- rows that cannot be read


def test_bad_row_names_table_and_id_never_a_value(repos: Repositories) -> None:
    key = uuid.uuid4()
    for row in (RecordID("agent", key), {"id": RecordID("agent", key), "name": "secret"}):
        err = repos.agents._bad_row(row, "is odd")
        assert err.message == f"stored agent row {key} is odd; {FIX}"
        assert err.code == "undecodable_row"
        assert err.context == {"table": "agent", "id": str(key)}
    unknown: list[Any] = [{"name": "secret"}, {"id": "agent:1"}, "secret", None]
    for odd in unknown:
        err = repos.agents._bad_row(odd, "is odd")
        assert err.message == f"stored agent row (unknown id) is odd; {FIX}"
        assert err.context == {"table": "agent", "id": None}


def test_decode_failures_name_the_fields_or_the_model(repos: Repositories) -> None:
    key = uuid.uuid4()
    row = {"id": RecordID("agent", key), "name": 5, "agent_type": "t", "status": "nope"}
    with pytest.raises(RepositoryError) as info:
        repos.agents._decode(row)
    assert info.value.message == f"stored agent row {key} fails Agent validation (name, status); {FIX}"
    with pytest.raises(RepositoryError) as info:
        repos.agents._decode(RecordID("agent", key))
    assert info.value.message == f"stored agent row {key} is not a Agent row; {FIX}"
    assert info.value.context == {"table": "agent", "id": str(key)}


def test_undecodable_means_the_code_or_the_phrase() -> None:
    assert _undecodable(RepositoryError("x", code="reply_undecodable"))
    assert _undecodable(RepositoryError("the reply could not be decoded here", code="query_failed"))
    assert not _undecodable(RepositoryError("the reply could not be parsed", code="query_failed"))


async def test_a_row_the_client_cannot_decode_is_named_by_id(bare_db: Database) -> None:
    """Without the depth rule (no schema), a row nested 700 levels breaks every read including it."""
    repos = Repositories(bare_db)
    ids = sorted(uuid.uuid4() for _ in range(3))
    for key in ids:
        await bare_db.query("CREATE $id SET x = 1 RETURN NONE", {"id": RecordID("agent", key)})
    bad = ids[1]
    path = ".".join(["config"] + ["a"] * 700)
    await bare_db.query(f"UPDATE $id SET {path} = 1 RETURN NONE", {"id": RecordID("agent", bad)})
    for read in (
        lambda: repos.agents.get_by_id(bad),
        lambda: repos.agents._select_all({}, None),
        lambda: repos.agents.list(pagination=PaginationParams(order_by=("id",))),
    ):
        with bare_db.count_requests() as c, pytest.raises(RepositoryError) as info:
            await read()
        assert info.value.message == f"stored agent row {bad} cannot be decoded (nested too deeply?); {FIX}"
        assert info.value.code == "undecodable_row"
        assert info.value.context == {"table": "agent", "id": str(bad)}
        assert c.count >= 3  # the read, its ids, then the rows one by one up to the bad one


# --------------------------------------------------------------------------- get_many


@pytest.mark.parametrize("ids", ["abc", b"ab", {"a": 1}, 5, None])
async def test_get_many_refuses_a_non_iterable_before_io(repos: Repositories, ids: Any) -> None:
    with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
        await repos.agents.get_many(ids)
    assert c.count == 0
    assert info.value.message == "ids must be an iterable of ids"
    assert info.value.context == {"argument": "ids"}


async def test_get_many_refuses_a_bad_id_naming_ids(repos: Repositories) -> None:
    with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
        await repos.agents.get_many([uuid.uuid4(), "nope"])
    assert c.count == 0
    assert info.value.message == "ids must be a UUID"
    assert info.value.context == {"argument": "ids"}


async def test_get_many_in_the_order_asked_once_each_missing_left_out(repos: Repositories) -> None:
    a = await repos.agents.create(agent("a"))
    b = await repos.agents.create(agent("b"))
    with repos.db.count_requests() as c:
        ids: list[Any] = [b.id, uuid.uuid4(), str(a.id), RecordID("agent", b.id)]
        got = await repos.agents.get_many(ids)
    assert got == [b, a]
    assert c.count == 1
    with repos.db.count_requests() as c:
        assert await repos.agents.get_many([]) == []
        assert await repos.agents.get_many(iter(())) == []
    assert c.count == 0
    assert await repos.agents.get_many([uuid.uuid4()]) == []


async def test_get_many_bound_is_5000_ids_repeats_included(repos: Repositories) -> None:
    """5,001 ids with a repeat used to be cut to 5,000 silently, dropping the last distinct id."""
    ids = [uuid.uuid4() for _ in range(MAX_CHUNK_SIZE + 1)]
    with repos.db.count_requests() as c:
        assert await repos.agents.get_many(ids[:MAX_CHUNK_SIZE]) == []
        assert await repos.agents.get_many(ids[: MAX_CHUNK_SIZE - 10] + ids[:10]) == []
    assert c.count == 2
    for over in (ids, [*ids[: MAX_CHUNK_SIZE - 1], ids[0], ids[-1]], iter(ids + ids)):
        with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
            await repos.agents.get_many(over)
        assert c.count == 0
        assert info.value.message == "ids must hold at most 5000 ids"
        assert info.value.context == {"argument": "ids"}


async def test_get_many_in_a_transaction_is_refused(db: Database, repos: Repositories) -> None:
    async with db.transaction() as tx:
        with pytest.raises(TransactionError, match="reads are not possible inside a buffered transaction"):
            await repos.agents.bind(tx).get_many([uuid.uuid4()])


async def test_get_many_reads_through_and_fills_the_cache(
    db: Database, cached: Repositories, capfire: CaptureLogfire
) -> None:
    t1 = await cached.tools.create(tool("t1"))
    t2 = await cached.tools.create(tool("t2"))
    cache = cached.tools.cache
    assert cache is not None
    assert await cached.tools.get_by_id(t1.id) == t1  # miss, then cached
    with db.count_requests() as c:
        assert await cached.tools.get_many([t2.id, t1.id, uuid.uuid4()]) == [t2, t1]
    assert c.count == 1  # t2 and the unknown id
    assert (cache.hits, cache.misses) == (1, 3)
    assert t2.id in cache
    with db.count_requests() as c:
        assert await cached.tools.get_many([t1.id, t2.id]) == [t1, t2]
    assert c.count == 0
    assert (cache.hits, cache.misses) == (3, 3)
    total = tool_cache_counter(capfire)
    assert total("agentical.cache.hits") == 3
    assert total("agentical.cache.misses") == 3


async def test_get_many_does_not_cache_a_row_read_while_an_eviction_happened(
    db: Database, cached: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    t1 = await cached.tools.create(tool("t1"))
    cache = cached.tools.cache
    assert cache is not None
    real = db.client.query_raw

    async def evicting(text: str, vars: dict[str, Any] | None = None) -> Any:
        cache.pop(uuid.uuid4())  # a write elsewhere evicts while the read is in flight
        return await real(text, vars)

    monkeypatch.setattr(db.client, "query_raw", evicting)
    assert await cached.tools.get_many([t1.id]) == [t1]
    monkeypatch.undo()
    assert t1.id not in cache
    with db.count_requests() as c:
        assert await cached.tools.get_many([t1.id]) == [t1]
    assert c.count == 1
    assert t1.id in cache


async def test_concurrent_get_many_calls_share_requests(repos: Repositories, capfire: CaptureLogfire) -> None:
    rows = [await repos.agents.create(agent(f"c{i}")) for i in range(12)]
    capfire.exporter.clear()
    with repos.db.count_requests() as c:
        got = await asyncio.gather(*(repos.agents.get_many([r.id]) for r in rows))
    assert got == [[r] for r in rows]
    assert c.count < 12  # the calls beyond the lane's in-flight slots went out together
    spans = [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]
    assert len(spans) > c.count  # the waiting calls have spans of their own
    assert {s["name"] for s in spans} == {"SELECT agent"}


async def test_get_many_reads_at_most_one_id_past_the_bound(repos: Repositories) -> None:
    ids = [uuid.uuid4() for _ in range(MAX_CHUNK_SIZE + 1)]

    def source() -> Iterator[uuid.UUID]:
        yield from ids
        raise AssertionError("read past the bound")

    with pytest.raises(ValidationError) as info:
        await repos.agents.get_many(source())
    assert info.value.message == "ids must hold at most 5000 ids"


# --------------------------------------------------------------------------- _select_all


async def test_select_all_returns_every_match_in_lookup_order(repos: Repositories) -> None:
    names = [f"s{i:02d}" for i in range(55)]
    for n in reversed(names):
        await repos.agents.create(agent(n, agent_type="rule"))
    await repos.agents.create(agent("other", agent_type="llm"))
    got = await repos.agents._select_all({"agent_type": "rule"}, None)
    assert [a.name for a in got] == names  # all 55 (not a 50-row page), by name
    page = await repos.agents._select_all(
        {"agent_type": "rule"}, PaginationParams(limit=2, offset=1, order_by=("-name",))
    )
    assert [a.name for a in page] == ["s53", "s52"]
    page = await repos.agents._select_all(
        {"agent_type": "rule"}, PaginationParams(limit=2, order_by=("name",))
    )
    assert [a.name for a in page] == ["s00", "s01"]  # "other" (llm) sorts first but does not match


# --------------------------------------------------------------------------- unordered create_many


async def test_unordered_refuses_bad_rows_by_index_and_writes_the_rest(repos: Repositories) -> None:
    good = [agent(f"u{i}") for i in range(5)]
    too_deep = agent("deep", config=deep(40))
    rows: list[Any] = [good[0], "junk", good[1], too_deep, good[2], good[3], good[4]]
    with repos.db.count_requests() as c, pytest.raises(BulkWriteError) as info:
        await repos.agents.create_many(rows, chunk_size=2, ordered=False)
    err = info.value
    assert [(i, key) for i, key, _ in err.failures] == [(1, None), (3, too_deep.id)]
    assert [e.message for _, _, e in err.failures] == [
        "entities must be a Agent, got str",
        "config is nested too deeply (more than 32 levels)",
    ]
    assert err.committed == 5
    assert "2 of 7 rows failed" in err.message
    assert c.count == 4  # chunks of 2 inputs: 1 + 1 + 2 + 1 good rows
    stored = await repos.agents._select_all({}, None)
    assert sorted(a.id for a in stored) == sorted(a.id for a in good)


async def test_unordered_writes_every_row_with_its_own_id(repos: Repositories) -> None:
    rows = [agent(f"w{i:02d}") for i in range(11)]
    with repos.db.count_requests() as c:
        assert await repos.agents.create_many(iter(rows), chunk_size=3, ordered=False) == 11
    assert c.count == 4
    stored = await repos.agents._select_all({}, None)
    assert [(a.id, a.name) for a in stored] == [(a.id, a.name) for a in rows]


# --------------------------------------------------------------------------- change feed


async def _past_this_millisecond() -> None:
    await asyncio.sleep(0.002)


async def test_changes_passes_since_limit_and_settle(repos: Repositories) -> None:
    from agentical_repo.models import Task

    await repos.tasks.create(Task(title="before"))
    await _past_this_millisecond()
    start = await repos.tasks.change_cursor(settle=0)
    await repos.tasks.create_many([Task(title=f"t{i}") for i in range(102)], chunk_size=200)
    await _past_this_millisecond()
    batch = await repos.tasks.changes(start, limit=2, settle=0)
    assert [e.record.title for e in batch.events if e.record] == ["t0", "t1"]
    batch = await repos.tasks.changes(start, settle=0)
    assert len(batch.events) == 100  # the default limit
    assert batch.events[0].record is not None
    assert batch.events[0].record.title == "t0"
    rest = await repos.tasks.changes(batch.cursor, settle=0)
    assert [e.record.title for e in rest.events if e.record] == ["t100", "t101"]
    # the default settle (0.5 s) holds back what committed just now
    fresh = await repos.tasks.change_cursor(settle=0)
    await repos.tasks.create(Task(title="fresh"))
    await _past_this_millisecond()
    assert (await repos.tasks.changes(fresh)).events == []
    assert len((await repos.tasks.changes(fresh, settle=0)).events) == 1


async def test_change_cursor_honours_settle(repos: Repositories) -> None:
    from agentical_repo.models import Task

    settled = await repos.tasks.change_cursor()  # default settle: 0.5 s behind
    await repos.tasks.create(Task(title="x"))
    await _past_this_millisecond()
    now = await repos.tasks.change_cursor(settle=0)
    assert len((await repos.tasks.changes(settled, settle=0)).events) == 1
    assert (await repos.tasks.changes(now, settle=0)).events == []


async def test_watch_passes_its_arguments(repos: Repositories, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentical_repo.models import Task

    delays: list[float] = []
    waited = asyncio.Event()
    enough = [8]

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) >= enough[0]:
            waited.set()
        await asyncio.sleep(0)

    defaults = change_feed.watch.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "sleep", no_wait)
    start = await repos.tasks.change_cursor(settle=0)
    await repos.tasks.create_many([Task(title=f"w{i}") for i in range(101)], chunk_size=200)
    await _past_this_millisecond()
    stream: Any = repos.tasks.watch(start, settle=0)
    with repos.db.count_requests() as c:
        titles = [(await next_event(stream)).record.title for _ in range(101)]
    assert titles == [f"w{i}" for i in range(101)]
    assert c.count == 2  # a full page of 100 (no wait), then the last one
    assert delays == []
    # idle: waits from poll_interval doubling up to max_interval
    idle = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(waited.wait(), 10)
    waited.clear()
    idle.cancel()
    with pytest.raises(asyncio.CancelledError):
        await idle
    assert delays[:8] == [0.05, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    await stream.aclose()
    # from now on (since=None), with the given limit, intervals and settle
    delays.clear()
    enough[0] = 1
    stream = repos.tasks.watch(limit=1, poll_interval=0.5, max_interval=0.75, settle=0)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(waited.wait(), 10)
    await repos.tasks.create_many([Task(title="n1"), Task(title="n2")])
    await _past_this_millisecond()
    event = await asyncio.wait_for(first, 10)
    assert event.record is not None
    assert event.record.title == "n1"
    assert delays[:2] == [0.5, 0.75]
    await stream.aclose()
    # an explicit limit: pages of 2
    stream = repos.tasks.watch(start, limit=2, settle=0)
    with repos.db.count_requests() as c:
        assert [(await next_event(stream)).record.title for _ in range(3)] == ["w0", "w1", "w2"]
    assert c.count == 2
    await stream.aclose()


async def next_event(stream: Any) -> Any:
    return await asyncio.wait_for(anext(stream), 10)


# --------------------------------------------------------------------------- errors, exactly


def test_argument_helpers_name_the_argument(repos: Repositories) -> None:
    key = uuid.uuid4()
    assert repos.agents._rid(str(key)) == RecordID("agent", key)
    for call, argument, message in (
        (lambda: repos.agents._rid("nope"), "id", "id must be a UUID"),
        (lambda: repos.agents._rid(RecordID("tool", key)), "id", "id must be an id of table agent"),
        (lambda: repos.agents._key("nope"), "id", "id must be a UUID"),
        (lambda: repos.agents._rid("nope", "after"), "after", "after must be a UUID"),
    ):
        with pytest.raises(ValidationError) as info:
            call()
        assert (info.value.message, info.value.context) == (message, {"argument": argument})


def test_none_from_a_write_or_a_lookup_is_an_error_naming_the_table(repos: Repositories) -> None:
    with pytest.raises(AccessDeniedError) as denied:
        repos.agents._decode_written(None)
    assert denied.value.message == "agent: the write was refused by the table's permissions"
    assert denied.value.context == {"table": "agent"}
    with pytest.raises(NotFoundError) as missing:
        repos.agents._decode_found(None)
    assert missing.value.message == "agent not found"
    assert missing.value.context == {"table": "agent"}


async def test_missing_and_stale_updates_name_the_record(repos: Repositories) -> None:
    missing = uuid.uuid4()
    for expected in (None, 1):
        with pytest.raises(NotFoundError) as info:
            await repos.agents.update(missing, {"name": "x"}, expected_version=expected)
        assert info.value.message == "agent not found"
        assert info.value.context == {"table": "agent", "id": str(missing)}
    with pytest.raises(NotFoundError) as info:
        await repos.agents.get(str(missing))
    assert info.value.message == "agent not found"
    assert info.value.context == {"table": "agent", "id": str(missing)}
    a = await repos.agents.create(agent())
    await repos.agents.update(a.id, {"name": "b"})
    with pytest.raises(ConflictError) as stale:
        await repos.agents.update(a.id, {"name": "c"}, expected_version=1)
    assert stale.value.message == "agent was modified concurrently: expected_version is stale"
    assert stale.value.code == "stale_version"
    assert stale.value.context == {"table": "agent", "id": str(a.id), "expected_version": 1}


async def test_update_argument_errors_exactly(repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    bad_updates: list[Any] = [{}, ["name"], None]
    for updates in bad_updates:
        with pytest.raises(ValidationError) as info:
            await repos.agents.update(a.id, updates)
        assert info.value.message == "updates must be a non-empty dict"
        assert info.value.context == {"argument": "updates"}
    with pytest.raises(ValidationError) as info:
        await repos.agents.update(a.id, {"nope": 1})
    assert info.value.context == {"argument": "updates"}
    assert "nope" in info.value.message
    for bad in ("1", True, 1.0):
        with pytest.raises(ValidationError) as info:
            await repos.agents.update(a.id, {"name": "x"}, expected_version=bad)  # type: ignore[arg-type]
        assert info.value.message == "expected_version must be an int"
        assert info.value.context == {"argument": "expected_version"}
    from agentical_repo.models import ToolUsage
    from agentical_repo.repositories.base import BaseRepository

    class Usages(BaseRepository[ToolUsage]):
        model = ToolUsage

    with pytest.raises(ValidationError) as info:
        await Usages(repos.db).update(uuid.uuid4(), {"success": False}, expected_version=1)
    assert info.value.message == "ToolUsage has no version field; expected_version is not supported"
    assert info.value.context == {"argument": "expected_version"}


async def test_query_argument_errors_exactly(repos: Repositories) -> None:
    with pytest.raises(ValidationError) as info:
        await repos.agents.list(pagination={"limit": 5})  # type: ignore[arg-type]
    assert info.value.message == "pagination must be a PaginationParams"
    assert info.value.context == {"argument": "pagination"}
    flags: Any = ("yes", 1)
    calls: list[Callable[[], Awaitable[int]]] = [
        lambda: repos.agents.delete_many({}, all=flags[0]),
        lambda: repos.agents.update_many({"name": "a"}, {"name": "b"}, all=flags[1]),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as info:
            await call()
        assert info.value.message == "all must be True or False"
        assert info.value.context == {"argument": "all"}
    with pytest.raises(ValidationError) as info:
        await repos.agents.delete_many("name")  # type: ignore[arg-type]
    assert info.value.message == "filters must be a dict"
    assert info.value.context == {"argument": "filters"}
    for op, call in (
        ("update_many", lambda: repos.agents.update_many({}, {"name": "b"})),
        ("delete_many", lambda: repos.agents.delete_many(None)),
    ):
        with pytest.raises(ValidationError) as info:
            await call()
        assert (
            info.value.message == f"{op} with empty filters would touch every agent; pass all=True to mean it"
        )
        assert info.value.context == {"argument": "filters"}


async def test_update_many_through_a_scalar_names_the_table(repos: Repositories) -> None:
    await repos.agents.create(agent("a", config={"model": "gpt"}))
    with pytest.raises(ValidationError) as info:
        await repos.agents.update_many({"name": "a"}, {"config.model.x": 1})
    assert info.value.code == "not_an_object"
    assert info.value.context == {"argument": "updates", "table": "agent", "key": "config.model.x"}


async def test_ordered_create_many_failure_reports_the_committed_rows(repos: Repositories) -> None:
    await repos.agents.create(agent("x", id=uuid.UUID(int=7)))
    rows = [agent(f"r{i}") for i in range(5)] + [agent("dup", id=uuid.UUID(int=7))]
    with pytest.raises(AlreadyExistsError) as info:
        await repos.agents.create_many(rows, chunk_size=2)
    assert info.value.context["committed"] == 4
    assert info.value.message.endswith(" (4 rows of earlier chunks were committed)")
    assert info.value.args == (info.value.message,)


# --------------------------------------------------------------------------- filters in stored form


async def test_filters_on_id_and_references_are_record_ids(repos: Repositories) -> None:
    from agentical_repo.models import Task

    a = await repos.agents.create(agent("a"))
    b = await repos.agents.create(agent("b"))
    for value in (a.id, str(a.id), RecordID("agent", a.id)):
        assert [x.name for x in await repos.agents.list({"id": value})] == ["a"]
    assert [x.name for x in await repos.agents.list({"id__in": [str(b.id)]})] == ["b"]
    t = await repos.tasks.create(Task(title="t", agent_id=a.id))
    await repos.tasks.create(Task(title="u", agent_id=b.id))
    await repos.tasks.create(Task(title="v"))
    for value in (a.id, str(a.id)):
        assert [x.id for x in await repos.tasks.list({"agent_id": value})] == [t.id]
    assert [x.title for x in await repos.tasks.list({"agent_id": None})] == ["v"]
    with pytest.raises(ValidationError) as info:
        await repos.tasks.list({"agent_id": "nope"})
    assert (info.value.message, info.value.context) == ("agent_id must be a UUID", {"argument": "agent_id"})
    with pytest.raises(ValidationError) as info:
        await repos.agents.list({"id": "nope"})
    assert (info.value.message, info.value.context) == ("id must be a UUID", {"argument": "id"})


async def test_enum_filters_refuse_unknown_values_naming_the_field(repos: Repositories) -> None:
    with repos.db.count_requests() as c:
        with pytest.raises(ValidationError) as info:
            await repos.messages.list({"role": "weird"})
        assert info.value.context == {"argument": "role"}
        assert info.value.message.startswith("role must be one of")
        with pytest.raises(ValidationError) as info:
            await repos.agents.count({"status": "weird"})
        assert info.value.context == {"argument": "status"}
    assert c.count == 0
    await repos.agents.create(agent("busy", status="busy"))
    assert await repos.agents.count({"status": "busy"}) == 1
    assert await repos.agents.count({"status": None}) == 0


# --------------------------------------------------------------------------- order, limits, statements


async def test_list_breaks_ties_by_id_in_the_last_keys_direction(repos: Repositories) -> None:
    rows = [await repos.agents.create(agent("same")) for _ in range(4)]
    ids = sorted(r.id for r in rows)
    got = await repos.agents.list(pagination=PaginationParams(order_by=("name",)))
    assert [a.id for a in got] == ids
    got = await repos.agents.list(pagination=PaginationParams(order_by=("-name",)))
    assert [a.id for a in got] == ids[::-1]
    got = await repos.agents.list(pagination=PaginationParams(order_by=("-agent_type", "name")))
    assert [a.id for a in got] == ids
    got = await repos.agents.list(pagination=PaginationParams(limit=2, order_by=("name",)))
    assert [a.id for a in got] == ids[:2]


async def test_list_and_paginate_statements(
    repos: Repositories, texts: list[tuple[str, dict[str, Any]]]
) -> None:
    await repos.agents.create(agent("a"))
    texts.clear()
    await repos.agents.list(pagination=PaginationParams(limit=3, order_by=("-id", "name")))
    await repos.agents.list(pagination=PaginationParams(limit=3, order_by=("id",)))
    await repos.agents.list(pagination=PaginationParams(limit=3, order_by=("name",)))
    await repos.agents.list(pagination=PaginationParams(limit=3, offset=4, order_by=("-name", "agent_type")))
    await repos.agents.paginate(limit=3, order_by="name")
    assert texts == [
        ("SELECT * FROM agent ORDER BY id DESC LIMIT $limit", {"limit": 3}),
        ("SELECT * FROM agent ORDER BY id ASC LIMIT $limit", {"limit": 3}),
        ("SELECT * FROM agent ORDER BY name ASC, id ASC LIMIT $limit", {"limit": 3}),
        (
            "SELECT * FROM agent ORDER BY name DESC, agent_type ASC, id ASC LIMIT $limit START $start",
            {"limit": 3, "start": 4},
        ),
        ("SELECT * FROM agent ORDER BY name ASC, id ASC LIMIT $limit", {"limit": 4}),
    ]


async def test_plain_and_guarded_update_statements(
    db: Database, repos: Repositories, texts: list[tuple[str, dict[str, Any]]]
) -> None:
    a = await repos.agents.create(agent())
    texts.clear()
    await repos.agents.update(a.id, {"name": "b"})
    assert [t for t, _ in texts] == ["UPDATE ONLY $id SET name = $name, version += 1 RETURN AFTER"]
    texts.clear()
    await repos.agents.upsert(a.model_copy(update={"name": "c"}))
    assert [t for t, _ in texts] == ["UPSERT ONLY $id CONTENT $content"]
    texts.clear()
    async with db.transaction() as tx:
        bound = repos.agents.bind(tx)
        await bound.update(a.id, {"name": "d"})
        await bound.upsert(a.model_copy(update={"name": "e"}))
    [(text, _)] = texts
    assert "IF $_cur = NONE { THROW { agentical: 1, table: 'agent' } };" in text
    assert "IF $_new = NONE { THROW { agentical: 8, table: 'agent' } };" in text


# --------------------------------------------------------------------------- transactions


async def test_writes_in_a_transaction_are_queued_and_decoded_at_commit(
    db: Database, repos: Repositories
) -> None:
    a = await repos.agents.create(agent("a"))
    gone = await repos.agents.create(agent("gone"))
    async with db.transaction() as tx:
        bound = repos.agents.bind(tx)
        created = await bound.create(agent("new", description="d"))
        updated = await bound.update(a.id, {"name": "renamed"})
        versioned = await bound.update(a.id, {"description": "v"}, expected_version=2)
        upserted = await bound.upsert(agent("up"))
        deleted = await bound.delete(gone.id)
        assert await repos.agents.count() == 2  # nothing sent yet
    new = created.result()  # type: ignore[attr-defined]
    assert isinstance(new, Agent)
    assert (new.name, new.description, new.version) == ("new", "d", 1)
    assert updated.result().name == "renamed"  # type: ignore[attr-defined]
    assert versioned.result().version == 3  # type: ignore[attr-defined]
    assert upserted.result().name == "up"  # type: ignore[attr-defined]
    assert deleted.result() is True  # type: ignore[attr-defined]
    assert await repos.agents.get(new.id) == new


async def test_a_missing_record_aborts_the_whole_transaction(db: Database, repos: Repositories) -> None:
    async def create_then_update_missing() -> None:
        async with db.transaction() as tx:
            bound = repos.agents.bind(tx)
            await bound.create(agent("never"))
            await bound.update(uuid.uuid4(), {"name": "x"})

    with pytest.raises(NotFoundError):
        await create_then_update_missing()
    assert await repos.agents.count() == 0


async def test_reads_in_a_transaction_are_refused_even_when_cached(
    db: Database, cached: Repositories
) -> None:
    t = await cached.tools.create(tool("t"))
    assert await cached.tools.get_by_id(t.id) == t  # now cached
    async with db.transaction() as tx:
        bound = cached.tools.bind(tx)
        for read in (lambda: bound.get_by_id(t.id), lambda: bound.get_many([t.id]), lambda: bound.get(t.id)):
            with pytest.raises(TransactionError) as info:
                await read()
            assert info.value.message == (
                "ToolRepository: reads are not possible inside a buffered transaction (statements run "
                "only at commit); read before or after the transaction"
            )
        await bound.update(t.id, {"description": "in tx"})
        assert t.id in cached.tools.cache  # type: ignore[operator]  # evicted only at commit
    assert t.id not in cached.tools.cache  # type: ignore[operator]
    assert (await cached.tools.get(t.id)).description == "in tx"


# --------------------------------------------------------------------------- the read cache


async def test_get_by_id_hits_misses_and_metrics(
    db: Database, cached: Repositories, capfire: CaptureLogfire
) -> None:
    t = await cached.tools.create(tool("t"))
    with db.count_requests() as c:
        assert await cached.tools.get_by_id(t.id) == t
        assert await cached.tools.get_by_id(str(t.id)) == t
        assert await cached.tools.get_by_id(t.id) == t
        assert await cached.tools.get_by_id(uuid.uuid4()) is None
    assert c.count == 2
    total = tool_cache_counter(capfire)
    assert total("agentical.cache.hits") == 2
    assert total("agentical.cache.misses") == 2


async def test_get_by_id_does_not_cache_a_row_read_while_an_eviction_happened(
    db: Database, cached: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = await cached.tools.create(tool("t"))
    cache = cached.tools.cache
    assert cache is not None
    real = db.client.query_raw

    async def evicting(text: str, vars: dict[str, Any] | None = None) -> Any:
        cache.pop(uuid.uuid4())
        return await real(text, vars)

    monkeypatch.setattr(db.client, "query_raw", evicting)
    assert await cached.tools.get_by_id(t.id) == t
    monkeypatch.undo()
    assert t.id not in cache


async def test_each_write_evicts_only_what_it_touched(db: Database, cached: Repositories) -> None:
    t1 = await cached.tools.create(tool("t1"))
    t2 = await cached.tools.create(tool("t2"))
    cache = cached.tools.cache
    assert cache is not None

    async def warm() -> None:
        await cached.tools.get_many([t1.id, t2.id])
        assert (t1.id in cache, t2.id in cache) == (True, True)

    await warm()
    assert (await cached.tools.update(t1.id, {"description": "u"})).description == "u"
    assert (t1.id in cache, t2.id in cache) == (False, True)
    assert (await cached.tools.get(t1.id)).description == "u"
    await warm()
    await cached.tools.upsert(t1.model_copy(update={"description": "v"}))
    assert (t1.id in cache, t2.id in cache) == (False, True)
    await warm()
    assert await cached.tools.delete(t1.id) is True
    assert (t1.id in cache, t2.id in cache) == (False, True)
    assert await cached.tools.get_by_id(t1.id) is None
    await cached.tools.get_many([t2.id])
    assert await cached.tools.update_many({"name": "t2"}, {"description": "w"}) == 1
    assert t2.id not in cache
    await cached.tools.get_many([t2.id])
    assert await cached.tools.delete_many({"name": "t2"}) == 1
    assert len(cache) == 0


# --------------------------------------------------------------------------- coalescing and locks


async def test_concurrent_point_calls_share_requests(repos: Repositories) -> None:
    rows = [agent(f"p{i}") for i in range(10)]
    with repos.db.count_requests() as c:
        created = await asyncio.gather(*(repos.agents.create(r) for r in rows))
    assert [x.id for x in created] == [r.id for r in rows]
    assert c.count < 10
    assert [x.name for x in await repos.agents._select_all({}, None)] == [r.name for r in rows]
    with repos.db.count_requests() as c:
        got = await asyncio.gather(*(repos.agents.get_by_id(r.id) for r in rows))
    assert got == created
    assert c.count < 10
    with repos.db.count_requests() as c:
        updated = await asyncio.gather(*(repos.agents.update(r.id, {"description": r.name}) for r in rows))
    assert [u.description for u in updated] == [r.name for r in rows]
    assert c.count < 10
    with repos.db.count_requests() as c:
        assert await asyncio.gather(*(repos.agents.delete(r.id) for r in rows)) == [True] * 10
    assert c.count < 10
    assert await repos.agents.count() == 0


async def test_record_writes_without_batch_are_sent_one_by_one(repos: Repositories) -> None:
    from agentical_repo.surql.queries import common

    rows = [await repos.agents.create(agent(f"l{i}")) for i in range(16)]

    def delete(a: Agent) -> Any:
        return common.delete_record("agent", RecordID("agent", a.id))

    with repos.db.count_requests() as c:  # more at once than a lane has slots (4): none waits for a batch
        await asyncio.gather(*(repos.agents._locked_write(a.id, delete(a), bool) for a in rows[:8]))
        await asyncio.gather(*(repos.agents._versioned_write(a.id, delete(a), bool, None) for a in rows[8:]))
    assert c.count == 16
    assert await repos.agents.count() == 0


async def test_versioned_writes_hold_the_record_lock(db: Database, repos: Repositories) -> None:
    a = await repos.agents.create(agent())
    async with db.record_lock("agent", a.id):
        pending = asyncio.ensure_future(repos.agents.update(a.id, {"name": "later"}))
        await asyncio.sleep(0.05)
        assert not pending.done()
        assert (await repos.agents.get(a.id)).name == "a"
    assert (await pending).name == "later"


async def test_upserts_are_never_batched(repos: Repositories) -> None:
    rows = [agent(f"u{i}") for i in range(8)]
    with repos.db.count_requests() as c:
        stored = await asyncio.gather(*(repos.agents.upsert(r) for r in rows))
    assert c.count == 8
    assert [s.id for s in stored] == [r.id for r in rows]


async def test_each_table_has_its_own_lanes(repos: Repositories) -> None:
    agents = [await repos.agents.create(agent(f"a{i}")) for i in range(4)]
    tools = [await repos.tools.create(tool(f"t{i}")) for i in range(4)]
    with repos.db.count_requests() as c:
        got = await asyncio.gather(
            *(repos.agents.get_by_id(a.id) for a in agents), *(repos.tools.get_by_id(t.id) for t in tools)
        )
    assert got == [*agents, *tools]
    assert c.count == 8  # four in flight per table: nothing waited
    with repos.db.count_requests() as c:
        many = await asyncio.gather(
            *(repos.agents.get_many([a.id]) for a in agents), *(repos.tools.get_many([t.id]) for t in tools)
        )
    assert many == [[x] for x in [*agents, *tools]]
    assert c.count == 8
    with repos.db.count_requests() as c:
        await asyncio.gather(
            *(repos.agents.update(a.id, {"description": "x"}) for a in agents),
            *(repos.tools.update(t.id, {"description": "x"}) for t in tools),
        )
    assert c.count == 8
    with repos.db.count_requests() as c:
        await asyncio.gather(
            *(repos.agents.create(agent(f"n{i}")) for i in range(4)),
            *(repos.tools.create(tool(f"n{i}")) for i in range(4)),
        )
    assert c.count == 8


async def test_create_many_argument_bounds_and_errors(repos: Repositories) -> None:
    with repos.db.count_requests() as c:
        assert await repos.agents.create_many([agent("a"), agent("b")], chunk_size=1) == 2
    assert c.count == 2
    with repos.db.count_requests() as c:
        assert await repos.agents.create_many([agent("c"), agent("d")], chunk_size=5000) == 2
    assert c.count == 1
    many: Any = repos.agents.create_many
    for call, argument, message in (
        (lambda: repos.agents.create_many([], chunk_size=0), "chunk_size", "chunk_size must be in 1..5000"),
        (
            lambda: repos.agents.create_many([], chunk_size=5001),
            "chunk_size",
            "chunk_size must be in 1..5000",
        ),
        (lambda: many([], chunk_size=2.0), "chunk_size", "chunk_size must be in 1..5000"),
        (lambda: many("ab"), "entities", "entities must be an iterable of models"),
        (lambda: many({}), "entities", "entities must be an iterable of models"),
        (lambda: many(b"ab"), "entities", "entities must be an iterable of models"),
        (lambda: many([], ordered=1), "ordered", "ordered must be True or False"),
        (lambda: many([], ordered=None), "ordered", "ordered must be True or False"),
    ):
        with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
            await call()
        assert c.count == 0
        assert (info.value.message, info.value.context) == (message, {"argument": argument})


async def test_keyset_page_asks_for_one_row_more(
    repos: Repositories, texts: list[tuple[str, dict[str, Any]]]
) -> None:
    await repos.agents.create_many(agent(f"k{i}") for i in range(5))
    first = await repos.agents.paginate(limit=2, order_by="name")
    texts.clear()
    second = await repos.agents.paginate(limit=2, after=first.next_cursor, order_by="name")
    assert [a.name for a in second] == ["k2", "k3"]
    [(_, variables)] = texts
    assert variables["limit"] == 3


async def test_unordered_checks_each_row_on_its_own(repos: Repositories) -> None:
    """Depth is counted per field (32 levels below config pass), as for a single create."""
    at_limit = agent("limit", config=deep(31))
    other_model = tool("not an agent")
    rows: list[Any] = [at_limit, other_model]
    with pytest.raises(BulkWriteError) as info:
        await repos.agents.create_many(rows, ordered=False)
    assert [(i, key) for i, key, _ in info.value.failures] == [(1, None)]  # a Tool's id is not an agent's
    assert info.value.committed == 1
    assert (await repos.agents.get(at_limit.id)).config == deep(31)


async def test_unordered_stops_and_reports_when_the_connection_fails() -> None:
    from agentical_repo import DatabaseSettings

    db = Database(DatabaseSettings(url="mem://", namespace="bulk", database="lost", max_retries=0))
    await db.connect()
    try:
        await db.apply_schema()
        lossy = LosesSecondAnswer(db.client)
        db._client = lossy
        repos = Repositories(db)
        with pytest.raises(BulkWriteError) as info:
            await repos.agents.create_many([agent(f"a{i}") for i in range(40)], chunk_size=5, ordered=False)
        assert info.value.context["aborted"] is True
        assert "the rest was not sent" in info.value.message
        assert lossy.calls < 8  # not every chunk was sent
    finally:
        await db.close()


def test_not_an_object_rewrites_only_the_blocks_throw() -> None:
    from agentical_repo.repositories.base import _not_an_object
    from agentical_repo.surql import blocks

    key = uuid.uuid4()
    thrown = ValidationError("x", context={"reason": blocks.NOT_AN_OBJECT, "path": ["config", "a"]})
    err = _not_an_object(thrown, "agent", key)
    assert err.code == "not_an_object"
    assert err.message == (
        "updates: 'config.a' reaches into a stored value that is not an object; nothing was written"
    )
    assert err.context == {"argument": "updates", "table": "agent", "key": "config.a", "id": str(key)}
    assert _not_an_object(thrown, "agent").context == {
        "argument": "updates",
        "table": "agent",
        "key": "config.a",
    }
    for other in (
        ValidationError("x", context={"reason": "other", "path": ["config", "a"]}),
        ValidationError("x", context={"reason": blocks.NOT_AN_OBJECT, "path": "config.a"}),
        ValidationError("x", context={"reason": blocks.NOT_AN_OBJECT}),
        ValidationError("x"),
    ):
        assert _not_an_object(other, "agent", key) is other


async def test_an_undecodable_reply_of_any_select_names_the_row(
    bare_db: Database, capfire: CaptureLogfire
) -> None:
    """ONLY (one id, not a list), rows of another table first, values without ids."""
    from agentical_repo.surql.statement import Statement, Var, sql

    repos = Repositories(bare_db)
    bad = uuid.uuid4()
    foreign = RecordID("tool", uuid.uuid4())
    await bare_db.query("CREATE $id SET x = 1 RETURN NONE", {"id": foreign})
    await bare_db.query("CREATE $id SET x = 1 RETURN NONE", {"id": RecordID("agent", bad)})
    path = ".".join(["config"] + ["a"] * 700)
    await bare_db.query(f"UPDATE $id SET {path} = 1 RETURN NONE", {"id": RecordID("agent", bad)})
    only = sql("SELECT * FROM ONLY {id}", id=Var(RecordID("agent", bad), "id"))
    mixed = sql("SELECT * FROM {ids}", ids=Var([foreign, RecordID("agent", bad)], "ids"))
    for text in (only, mixed):
        capfire.exporter.clear()
        with pytest.raises(RepositoryError) as info:
            await repos.agents._read(Statement(text, operation="SELECT", table="agent"))
        assert info.value.context == {"table": "agent", "id": str(bad)}
        spans = [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]
        assert [s["name"] for s in spans] == ["SELECT agent"] * 3  # the read, its ids, the row alone
    values = Statement(sql("SELECT VALUE config FROM agent"), operation="SELECT", table="agent")
    with pytest.raises(AgenticalError) as raised:
        await repos.agents._read(values)
    assert raised.value.code != "undecodable_row"  # no row to blame: the reply's own error
    # only a SELECT of this repository's own table is looked into: anything else fails as it is
    for operation, table in (("SELECT", "tool"), ("RETURN", "agent")):
        other = Statement(sql("SELECT * FROM agent"), operation=operation, table=table)
        with bare_db.count_requests() as c, pytest.raises(AgenticalError) as raised:
            await repos.agents._read(other)
        assert c.count == 1
        assert raised.value.code == "reply_undecodable"


async def test_every_read_is_a_span_of_its_table(repos: Repositories, capfire: CaptureLogfire) -> None:
    a = await repos.agents.create(agent("a"))
    await repos.agents.create(agent("b"))
    capfire.exporter.clear()
    await repos.agents.get_by_id(a.id)
    await repos.agents.get_many([a.id])
    await repos.agents.list()
    await repos.agents.find_one({"name": "a"})
    await repos.agents.count()
    await repos.agents.exists({"name": "a"})
    await repos.agents._select_all({}, None)
    page = await repos.agents.paginate(limit=1, order_by="name")
    await repos.agents.paginate(limit=1, after=page.next_cursor, order_by="name")
    spans = [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]
    assert len(spans) == 9
    assert {(s["name"], s["attributes"]["db.collection.name"]) for s in spans} == {("SELECT agent", "agent")}


async def test_create_many_names_the_bad_entity(repos: Repositories) -> None:
    not_a_uuid: Any = "not-a-uuid"
    constructed = Agent.model_construct(id=not_a_uuid, name="x", agent_type="t")
    for bad, message in (
        ("junk", "entities must be a Agent, got str"),
        (constructed, "entities must have a UUID id"),
    ):
        rows: list[Any] = [agent("a"), bad]
        with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
            await repos.agents.create_many(rows)
        assert c.count == 0
        assert info.value.message == f"{message} (0 rows of earlier chunks were committed)"
        assert info.value.context == {"argument": "entities", "committed": 0}


async def test_create_many_failing_while_a_chunk_is_in_flight_waits_for_it(repos: Repositories) -> None:
    rows: list[Any] = [agent(f"f{i}") for i in range(10)] + ["junk"]
    with pytest.raises(ValidationError) as info:
        await repos.agents.create_many(rows, chunk_size=5)
    assert (
        info.value.message == "entities must be a Agent, got str (10 rows of earlier chunks were committed)"
    )
    assert info.value.context["committed"] == 10
    assert await repos.agents.count() == 10
    # the chunk in flight fails too: the error raised is still the one that stopped the loop
    taken = await repos.agents.create(agent("taken"))
    rows = [agent("g0"), agent("dup", id=taken.id), "junk"]
    with pytest.raises(ValidationError) as info:
        await repos.agents.create_many(rows, chunk_size=2)
    assert info.value.context["committed"] == 0
    assert await repos.agents.count() == 11


async def test_create_many_reports_committed_rows_only_outside_a_transaction(
    db: Database, repos: Repositories
) -> None:
    rows: list[Any] = [agent("a"), "junk"]
    with pytest.raises(ValidationError) as info:
        async with db.transaction() as tx:
            await repos.agents.bind(tx).create_many(rows, chunk_size=1)
    assert info.value.message == "entities must be a Agent, got str"
    assert info.value.context == {"argument": "entities"}

    def broken() -> Iterator[Agent]:
        yield agent("b")
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match=r"^source failed$"):
        await repos.agents.create_many(broken(), chunk_size=1)
    assert [a.name for a in await repos.agents._select_all({}, None)] == ["b"]


async def test_create_many_in_a_transaction_queues_every_chunk(db: Database, repos: Repositories) -> None:
    async with db.transaction() as tx:
        assert await repos.agents.bind(tx).create_many([agent(f"t{i}") for i in range(3)], chunk_size=2) == 3
        assert await repos.agents.count() == 0
    assert tx.results == [None, None]  # one INSERT per chunk, nothing to decode
    assert [a.name for a in await repos.agents._select_all({}, None)] == ["t0", "t1", "t2"]


async def test_single_writes_name_the_entity_argument(repos: Repositories) -> None:
    not_a_uuid: Any = "not-a-uuid"
    constructed = Agent.model_construct(id=not_a_uuid, name="x", agent_type="t")
    wrong: Any = tool("t")
    cases: list[tuple[Callable[[], Awaitable[Agent]], str]] = [
        (lambda: repos.agents.create(wrong), "entity must be a Agent, got Tool"),
        (lambda: repos.agents.upsert(wrong), "entity must be a Agent, got Tool"),
        (lambda: repos.agents.create(constructed), "entity must have a UUID id"),
        (lambda: repos.agents.upsert(constructed), "entity must have a UUID id"),
    ]
    for call, message in cases:
        with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
            await call()
        assert c.count == 0
        assert (info.value.message, info.value.context) == (message, {"argument": "entity"})
