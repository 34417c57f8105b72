"""The read cache knows who is asking (issue 10, item 7).

``get_by_id`` on a cached repository (tools, playbooks) keeps what the system
connection read. Once the same ``Database`` is signed in as an end user
(``signin_user``), those entries must not be served to it: tools are closed to end
users, so the answer is ``None``, as the database says. Reads made as the end user
are not cached either (what an end user may see changes with their rights), and the
system's cache is used again once the connection is back to system rights.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from integration.security.end_users import PASSWORDS, EndUsers, open_world

from agentical_repo import Repositories
from agentical_repo.access import signin_user
from agentical_repo.models import Playbook, Tool
from agentical_repo.repositories import CacheConfig


@pytest_asyncio.fixture(loop_scope="session")
async def world() -> AsyncIterator[EndUsers]:
    async with open_world() as w:
        yield w


async def test_cached_system_reads_are_not_served_to_an_end_user(world: EndUsers) -> None:
    repos = Repositories(world.db, cache=CacheConfig(ttl=300))
    tool = await repos.tools.create(Tool(name="search", category="web"))
    playbook = await repos.playbooks.create(Playbook(name="deploy"))
    assert await repos.tools.get_by_id(tool.id) is not None  # cached with system rights
    assert await repos.playbooks.get_by_id(playbook.id) is not None
    assert tool.id in repos.caches["tools"]

    await signin_user(world.db, "a@example.com", PASSWORDS["a"])
    assert world.db.end_user == world.rid("a")
    with world.db.count_requests() as sent:
        assert await repos.tools.get_by_id(tool.id) is None
        assert await repos.playbooks.get_by_id(playbook.id) is None
    assert sent.count == 2  # asked the database, as the end user
    hits = repos.caches["tools"].hits

    # back to system rights: the cache serves again
    await world.as_admin()
    assert world.db.end_user is None
    with world.db.count_requests() as sent:
        assert (await repos.tools.get(tool.id)).name == "search"
    assert sent.count == 0
    assert repos.caches["tools"].hits == hits + 1


async def test_reads_made_as_an_end_user_are_not_cached(world: EndUsers) -> None:
    repos = Repositories(world.db, cache=CacheConfig(ttl=300))
    tool = await repos.tools.create(Tool(name="calc", category="math"))
    await world.as_user("a")
    assert await repos.tools.get_by_id(tool.id) is None
    assert len(repos.caches["tools"]) == 0
    await world.as_admin()
    with world.db.count_requests() as sent:
        assert await repos.tools.get_by_id(tool.id) is not None
    assert sent.count == 1
