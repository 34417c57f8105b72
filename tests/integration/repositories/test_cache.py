"""The opt-in read cache of ``get_by_id`` (tools, playbooks), against the real engine.

Every claim about requests is proven with ``db.count_requests()``; the hit/miss
metrics are read back from logfire's ``capfire`` fixture.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from logfire.testing import CaptureLogfire, get_collected_metrics

from agentical_repo import Database, Repositories, ValidationError
from agentical_repo.models import Playbook, Tool
from agentical_repo.repositories.cache import CacheConfig, ReadCache


def make_tool(name: str = "search", **kw: Any) -> Tool:
    return Tool(name=name, category="web", **kw)


@pytest.fixture
def cached(db: Database) -> Repositories:
    return Repositories(db, cache=CacheConfig(maxsize=100, ttl=60))


async def warm(repos: Repositories, tool: Tool) -> None:
    await repos.tools.create(tool)
    assert await repos.tools.get_by_id(tool.id) is not None  # miss: now cached


async def requests_for_get(db: Database, repos: Repositories, tool: Tool) -> tuple[int, Tool | None]:
    with db.count_requests() as counter:
        got = await repos.tools.get_by_id(tool.id)
    return counter.count, got


async def test_off_by_default_every_get_is_a_request(db: Database, repos: Repositories) -> None:
    assert repos.tools.cache is None
    assert repos.caches == {}
    tool = make_tool()
    await repos.tools.create(tool)
    await repos.tools.get_by_id(tool.id)
    count, got = await requests_for_get(db, repos, tool)
    assert count == 1
    assert got is not None
    assert got.id == tool.id


async def test_hit_makes_no_request_and_returns_the_same_data(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="first")
    await cached.tools.create(tool)
    with db.count_requests() as first:
        miss = await cached.tools.get_by_id(tool.id)
    with db.count_requests() as second:
        hit = await cached.tools.get_by_id(str(tool.id))  # the string form of the id hits too
    assert first.count == 1
    assert second.count == 0
    assert hit == miss
    cache = cached.caches["tools"]
    assert (cache.hits, cache.misses) == (1, 1)


async def test_hit_and_miss_metrics(db: Database, cached: Repositories, capfire: CaptureLogfire) -> None:
    tool = make_tool()
    await cached.tools.create(tool)
    await cached.tools.get_by_id(tool.id)  # miss
    await cached.tools.get_by_id(tool.id)  # hit
    await cached.tools.get_by_id(tool.id)  # hit
    metrics = {m["name"]: m for m in get_collected_metrics(capfire.metrics_reader)}

    def total(name: str) -> int:
        points = metrics[name]["data"]["data_points"]
        return sum(p["value"] for p in points if p["attributes"].get("db.collection.name") == "tool")

    assert total("agentical.cache.hits") == 2
    assert total("agentical.cache.misses") == 1


async def test_not_found_is_not_cached(db: Database, cached: Repositories) -> None:
    tool = make_tool()
    assert await cached.tools.get_by_id(tool.id) is None
    await cached.tools.create(tool)
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is not None


async def test_returned_models_are_copies(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="original")
    await warm(cached, tool)
    first = await cached.tools.get_by_id(tool.id)
    assert first is not None
    first.description = "changed by the caller"
    again = await cached.tools.get_by_id(tool.id)
    assert again is not None
    assert again.description == "original"


async def test_update_invalidates(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="old")
    await warm(cached, tool)
    await cached.tools.update(tool.id, {"description": "new"})
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is not None
    assert got.description == "new"


async def test_delete_invalidates(db: Database, cached: Repositories) -> None:
    tool = make_tool()
    await warm(cached, tool)
    assert await cached.tools.delete(tool.id) is True
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is None


async def test_upsert_invalidates(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="old")
    await warm(cached, tool)
    await cached.tools.upsert(tool.model_copy(update={"description": "upserted"}))
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is not None
    assert got.description == "upserted"


async def test_update_many_and_delete_many_invalidate(db: Database, cached: Repositories) -> None:
    a, b = make_tool("a"), make_tool("b")
    await warm(cached, a)
    await warm(cached, b)
    assert await cached.tools.update_many({"category": "web"}, {"available": False}) == 2
    count, got = await requests_for_get(db, cached, a)
    assert count == 1
    assert got is not None
    assert got.available is False
    await cached.tools.get_by_id(b.id)  # cached again
    assert await cached.tools.delete_many({"name": "b"}) == 1
    count, got = await requests_for_get(db, cached, b)
    assert count == 1
    assert got is None


async def test_track_usage_invalidates(db: Database, cached: Repositories) -> None:
    tool = make_tool()
    await warm(cached, tool)
    await cached.tools.track_usage(tool.id, {"success": True, "duration_ms": 3.0})
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is not None
    assert got.usage_count == 1


async def test_committed_transaction_invalidates(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="before")
    await warm(cached, tool)
    async with cached.transaction() as tx:
        await tx.tools.update(tool.id, {"description": "in tx"})
        # queued, not sent: the cache still serves the committed value without a request
        with db.count_requests() as inside:
            assert (await cached.tools.get_by_id(tool.id)).description == "before"  # type: ignore[union-attr]
        assert inside.count == 0
    count, got = await requests_for_get(db, cached, tool)
    assert count == 1
    assert got is not None
    assert got.description == "in tx"


async def test_discarded_transaction_keeps_the_cache(db: Database, cached: Repositories) -> None:
    tool = make_tool(description="kept")
    await warm(cached, tool)

    async def abandon() -> None:
        async with cached.transaction() as tx:
            await tx.tools.update(tool.id, {"description": "never written"})
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError):
        await abandon()
    count, got = await requests_for_get(db, cached, tool)
    assert count == 0  # nothing was written, so the cached value is still right
    assert got is not None
    assert got.description == "kept"
    # and the database agrees
    fresh = await Repositories(db).tools.get_by_id(tool.id)
    assert fresh is not None
    assert fresh.description == "kept"


async def test_playbooks_are_cached_too(db: Database, cached: Repositories) -> None:
    playbook = Playbook(name="deploy", definition={"steps": []})
    await cached.playbooks.create(playbook)
    await cached.playbooks.get_by_id(playbook.id)
    with db.count_requests() as counter:
        assert await cached.playbooks.get_by_id(playbook.id) is not None
    assert counter.count == 0
    assert cached.agents.cache is None  # write-heavy repositories are never cached


async def test_ttl_expiry(db: Database) -> None:
    repos = Repositories(db, cache=CacheConfig(maxsize=10, ttl=0.2))
    tool = make_tool()
    await warm(repos, tool)
    count, _ = await requests_for_get(db, repos, tool)
    assert count == 0
    await asyncio.sleep(0.3)
    count, got = await requests_for_get(db, repos, tool)
    assert count == 1
    assert got is not None


async def test_size_bound_evicts_least_recently_used(db: Database) -> None:
    repos = Repositories(db, cache=CacheConfig(maxsize=2, ttl=60))
    tools = [make_tool(f"t{i}") for i in range(3)]
    for t in tools:
        await warm(repos, t)
    cache = repos.caches["tools"]
    assert len(cache) == 2
    assert tools[0].id not in cache
    assert tools[2].id in cache
    count, _ = await requests_for_get(db, repos, tools[0])
    assert count == 1


async def test_read_racing_a_write_is_not_cached() -> None:
    """A value read before an eviction must not be stored after it (stale for a whole TTL)."""
    cache = ReadCache(CacheConfig(maxsize=10, ttl=60))
    tool = make_tool()
    epoch = cache.epoch  # get_by_id notes the epoch, then reads from the database ...
    cache.pop(tool.id)  # ... while an update of the same record evicts it
    assert cache.put(tool.id, tool, epoch=epoch) is False
    assert tool.id not in cache
    assert cache.put(tool.id, tool, epoch=cache.epoch) is True


async def test_bad_configuration_is_refused(db: Database) -> None:
    with pytest.raises(ValidationError):
        Repositories(db, cache=CacheConfig(), cached=["agents"])
    with pytest.raises(ValidationError):
        CacheConfig(maxsize=0)
    with pytest.raises(ValidationError):
        CacheConfig(ttl=-1)
