"""Bulk writes stay correct despite two SurrealDB 3.2.4 engine faults.

1. ``DELETE/UPDATE t WHERE field INSIDE $list`` matches nothing when ``field`` leads a
   composite index (a SELECT with the same condition finds the rows).
2. ``UPDATE t SET f = … WHERE f …`` over an index on ``f`` revisits moved rows forever.

``update_many``/``delete_many`` select the ids first; these tests fail (or time out)
if they go back to a plain ``UPDATE/DELETE … WHERE``.
"""

from __future__ import annotations

import asyncio

from agentical_repo import Database, Repositories
from agentical_repo.models import Playbook, Task


async def test_delete_many_with_in_on_composite_index_leading_field(repos: Repositories) -> None:
    # playbook has UNIQUE (name, version): name leads a composite index
    for name in ("alpha", "beta", "gamma"):
        await repos.playbooks.create(Playbook(name=name, version=1, definition={}))
        await repos.playbooks.create(Playbook(name=name, version=2, definition={}))
    assert await repos.playbooks.delete_many({"name__in": ["alpha", "gamma"]}) == 4
    assert sorted(p.name for p in await repos.playbooks.list()) == ["beta", "beta"]


async def test_update_many_with_in_on_composite_index_leading_field(repos: Repositories) -> None:
    for name in ("alpha", "beta"):
        await repos.playbooks.create(Playbook(name=name, version=1, definition={}))
    changed = await repos.playbooks.update_many({"name__in": ["alpha"]}, {"description": "x"})
    assert changed == 1
    assert (await repos.playbooks.get_version("alpha", 1)).description == "x"  # type: ignore[union-attr]


async def test_update_many_changing_the_indexed_field_it_filters_on_terminates(
    db: Database, repos: Repositories
) -> None:
    # task.priority is not indexed by default; index it the way an application might
    await db.query("DEFINE INDEX task_priority_probe ON task FIELDS priority")
    await repos.tasks.create_many(Task(title=f"t{i}", priority=i) for i in range(20))
    changed = await asyncio.wait_for(
        repos.tasks.update_many({"priority__gte": 10}, {"priority": 500}), timeout=10
    )
    assert changed == 10
    assert await repos.tasks.count({"priority": 500}) == 10
