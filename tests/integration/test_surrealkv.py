"""The embedded ``surrealkv://`` engine: data written through the package survives close/reopen.

Each test builds its own ``Database`` on a file store in ``tmp_path`` (never the
shared fixture connection).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentical_repo import (
    AlreadyExistsError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    Repositories,
)
from agentical_repo.models import Agent, AgentStatus, Tool


def kv_settings(path: Path) -> DatabaseSettings:
    return DatabaseSettings(url=f"surrealkv://{path}", namespace="kvtest", database="main")


async def test_data_persists_across_close_and_reopen(tmp_path: Path) -> None:
    store = tmp_path / "store"
    agent = Agent(name="persistent-agent", agent_type="llm", config={"model": {"name": "m"}})
    async with Database(kv_settings(store)) as db:
        report = await db.apply_schema()
        assert report is not None
        repos = Repositories(db)
        created = await repos.agents.create(agent)
        await repos.tools.create_many(Tool(name=f"tool-{i}", category="c") for i in range(25))
        await repos.agents.update(agent.id, {"status": AgentStatus.ACTIVE})
    assert not db.connected
    assert store.exists()

    async with Database(kv_settings(store)) as db:
        repos = Repositories(db)
        again = await repos.agents.get(agent.id)
        assert again.name == "persistent-agent"
        assert again.status is AgentStatus.ACTIVE
        assert again.version == 2
        assert again.created_at == created.created_at
        assert again.config == {"model": {"name": "m"}}
        assert await repos.tools.count() == 25
        # re-applying the schema on an existing store is idempotent and keeps the data
        await db.apply_schema()
        assert await repos.tools.count() == 25


async def test_reconnect_after_close_keeps_data_on_a_file_store(tmp_path: Path) -> None:
    """The same ``Database`` object, reopened with connect(), sees what it wrote."""
    db = Database(kv_settings(tmp_path / "store2"))
    await db.connect()
    try:
        await db.query("CREATE kv:1 SET v = 'kept'")
        await db.close()
        await db.connect()  # a closed Database reopens only explicitly (test_lifecycle.py)
        with db.count_requests() as c:
            assert await db.query("SELECT VALUE v FROM kv:1") == [["kept"]]
        assert c.count == 1
    finally:
        await db.close()


async def test_transactions_are_atomic_on_a_file_store(tmp_path: Path) -> None:
    store = tmp_path / "store3"
    async with Database(kv_settings(store)) as db:
        await db.apply_schema()
        repos = Repositories(db)
        existing = await repos.tools.create(Tool(name="dup", category="c"))

        async def fresh_then_duplicate() -> None:
            async with repos.transaction() as tx:
                await tx.tools.create(Tool(name="fresh", category="c"))
                await tx.tools.create(Tool(name="dup", category="c"))

        with pytest.raises(AlreadyExistsError):
            await fresh_then_duplicate()
    async with Database(kv_settings(store)) as db:
        names = [t.name for t in await Repositories(db).tools.list()]
        assert names == [existing.name]


async def test_a_file_store_open_elsewhere_fails_fast_as_unavailable(tmp_path: Path) -> None:
    """surrealkv holds a lock on its directory: a second open is refused at once, not hung."""
    settings = kv_settings(tmp_path / "locked").model_copy(update={"max_retries": 1, "connect_timeout": 2.0})
    async with Database(settings):
        second = Database(settings)
        start = time.perf_counter()
        with pytest.raises(DatabaseUnavailableError) as info:
            await second.connect()
        assert time.perf_counter() - start < 2.0
        assert "surrealkv://" in str(info.value)
        assert not second.connected
    async with Database(settings) as again:  # released on close: opens fine now
        assert await again.query("RETURN 1") == [1]
