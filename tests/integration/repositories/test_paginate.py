"""Keyset pagination on the real engine: never a skipped or repeated row.

``paginate()`` orders by (sort keys…, id) and continues strictly after the last
row of the previous page, so duplicate sort values, descending order, nested
keys, filters and concurrent inserts/deletes must all be handled exactly.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from agentical_repo import Page, Repositories, ValidationError
from agentical_repo.models import Agent, Tool
from agentical_repo.repositories.base import dig


async def walk(
    repos: Repositories,
    *,
    limit: int,
    order_by: Sequence[str] | str,
    filters: dict[str, Any] | None = None,
) -> tuple[list[Agent], int]:
    """All rows, page by page; returns (rows, number of pages)."""
    seen: list[Agent] = []
    after: str | None = None
    pages = 0
    while True:
        page: Page[Agent] = await repos.agents.paginate(filters, limit=limit, after=after, order_by=order_by)
        pages += 1
        assert len(page.items) <= limit
        seen += page.items
        after = page.next_cursor
        if after is None:
            return seen, pages
        assert len(page.items) == limit  # only the last page may be short
        assert pages < 10_000


def keys(agent: Agent, order: Sequence[str]) -> tuple[Any, ...]:
    row = agent.model_dump()
    return tuple(dig(row, p.lstrip("-")) for p in order)


def assert_exactly_once(seen: list[Agent], expected_ids: set[uuid.UUID]) -> None:
    ids = [a.id for a in seen]
    assert len(ids) == len(set(ids)), "a row was repeated"
    assert set(ids) == expected_ids, "a row was skipped (or an unexpected one seen)"


def assert_sorted(seen: list[Agent], key: str, descending: bool) -> None:
    values = [keys(a, [key])[0] for a in seen]
    assert values == sorted(values, reverse=descending)


async def seed(repos: Repositories, n: int, *, distinct_types: int = 4, seed_value: int = 7) -> list[Agent]:
    rnd = random.Random(seed_value)
    rows = [
        Agent(
            name=f"a{rnd.randrange(6)}",  # heavy duplication of the sort key
            agent_type=f"type{i % distinct_types}",
            config={"rank": rnd.randrange(3), "meta": {"tier": rnd.choice(["gold", "silver"])}},
        )
        for i in range(n)
    ]
    assert await repos.agents.create_many(rows, chunk_size=40) == n
    return rows


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
async def test_duplicate_sort_values_ascending(repos: Repositories, limit: int) -> None:
    rows = await seed(repos, 60)
    seen, pages = await walk(repos, limit=limit, order_by="name")
    assert_exactly_once(seen, {r.id for r in rows})
    assert_sorted(seen, "name", descending=False)
    assert pages == -(-60 // limit)  # a full last page ends the walk: no empty extra page
    # within equal names, ids are in one consistent order (the tie-breaker), same as the engine's
    listing = await repos.db.query("SELECT VALUE id FROM agent ORDER BY name, id")
    assert [a.id for a in seen] == [rid.id for rid in listing[0]]


@pytest.mark.parametrize("limit", [1, 4, 9])
async def test_duplicate_sort_values_descending(repos: Repositories, limit: int) -> None:
    rows = await seed(repos, 45)
    seen, _ = await walk(repos, limit=limit, order_by=["-name"])
    assert_exactly_once(seen, {r.id for r in rows})
    assert_sorted(seen, "name", descending=True)
    listing = await repos.db.query("SELECT VALUE id FROM agent ORDER BY name DESC, id DESC")
    assert [a.id for a in seen] == [rid.id for rid in listing[0]]


async def test_several_keys_mixed_directions(repos: Repositories) -> None:
    rows = await seed(repos, 50)
    order = ["agent_type", "-name"]
    seen, _ = await walk(repos, limit=6, order_by=order)
    assert_exactly_once(seen, {r.id for r in rows})
    pairs = [(a.agent_type, a.name) for a in seen]
    # ascending type, then descending name inside each type
    for (t1, n1), (t2, n2) in itertools.pairwise(pairs):
        assert t1 < t2 or (t1 == t2 and n1 >= n2)


async def test_nested_keys(repos: Repositories) -> None:
    rows = await seed(repos, 40)
    seen, _ = await walk(repos, limit=5, order_by=["config.rank"])
    assert_exactly_once(seen, {r.id for r in rows})
    assert [a.config["rank"] for a in seen] == sorted(r.config["rank"] for r in rows)
    seen, _ = await walk(repos, limit=4, order_by=["-config.meta.tier", "config.rank"])
    assert_exactly_once(seen, {r.id for r in rows})
    tiers = [a.config["meta"]["tier"] for a in seen]
    assert tiers == sorted(tiers, reverse=True)


async def test_nested_key_missing_on_some_rows(repos: Repositories) -> None:
    """Rows without the key (NONE) sort first; pages that end on such a row still continue."""
    with_rank = [Agent(name=f"r{i}", agent_type="t", config={"rank": i % 3}) for i in range(10)]
    without = [Agent(name=f"n{i}", agent_type="t", config={}) for i in range(7)]
    await repos.agents.create_many(with_rank + without)
    for order in (["config.rank"], ["-config.rank"]):
        for limit in (1, 2, 3, 5):
            seen, _ = await walk(repos, limit=limit, order_by=order)
            assert_exactly_once(seen, {r.id for r in with_rank + without})


async def test_filters_combine_with_the_cursor(repos: Repositories) -> None:
    rows = await seed(repos, 60)
    filters = {"agent_type__in": ["type1", "type3"], "config.rank__gte": 1}
    seen, _ = await walk(repos, limit=4, order_by=["name"], filters=filters)
    expected = {r.id for r in rows if r.agent_type in ("type1", "type3") and r.config["rank"] >= 1}
    assert expected
    assert_exactly_once(seen, expected)


async def test_default_order_is_newest_first_over_datetimes(repos: Repositories) -> None:
    """created_at values microseconds apart: the cursor must carry the datetime exactly (ns)."""
    rows = await seed(repos, 30)
    seen, _ = await walk(repos, limit=4, order_by=("-created_at",))
    assert_exactly_once(seen, {r.id for r in rows})
    created = [a.created_at for a in seen]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]


async def test_inserts_and_deletes_between_pages(repos: Repositories) -> None:
    """Seen rows never repeat; rows ahead of the cursor are seen; deleted rows ahead are not."""
    first = [Agent(name=f"m{i:03d}", agent_type="t") for i in range(0, 100, 2)]  # m000, m002, ... m098
    await repos.agents.create_many(first)
    page = await repos.agents.paginate(limit=10, order_by="name")
    seen = list(page.items)
    assert [a.name for a in seen] == [f"m{i:03d}" for i in range(0, 20, 2)]

    # rows behind the cursor (never to be seen) and ahead of it (must be seen)
    behind = [Agent(name=f"m{i:03d}", agent_type="t") for i in (1, 5, 17)]
    ahead = [Agent(name=f"m{i:03d}", agent_type="t") for i in (19, 41, 99)]
    await repos.agents.create_many(behind + ahead)
    # delete the cursor row itself and a row still ahead
    assert await repos.agents.delete(seen[-1].id)
    gone_ahead = next(a for a in first if a.name == "m050")
    assert await repos.agents.delete(gone_ahead.id)
    # a row behind the cursor renamed to sort ahead of it is seen (once) at its new place
    moved = seen[0]
    await repos.agents.update(moved.id, {"name": "m060x"})

    after = page.next_cursor
    while after is not None:
        page = await repos.agents.paginate(limit=7, after=after, order_by="name")
        seen += page.items
        after = page.next_cursor
        # churn while paging: insert behind, delete far ahead
        await repos.agents.create(Agent(name="a-behind", agent_type="t"))

    names = [a.name for a in seen]
    ids = [a.id for a in seen]
    assert len(ids) - 1 == len(set(ids))  # only the moved row appears twice (old and new name)
    assert names.count("m060x") == 1
    for row in ahead:
        assert row.name in names
    for row in behind:
        assert row.name not in names
    assert "m050" not in names
    assert "a-behind" not in names
    assert names[10:] == sorted(names[10:])
    expected_tail = sorted(
        {a.name for a in first[10:] if a.name != "m050"} | {a.name for a in ahead} | {"m060x"}
    )
    assert names[10:] == expected_tail


async def test_last_page_has_no_cursor_and_empty_table(repos: Repositories) -> None:
    page = await repos.agents.paginate(limit=5)
    assert page.items == []
    assert page.next_cursor is None
    await repos.agents.create_many(Agent(name=f"x{i}", agent_type="t") for i in range(5))
    page = await repos.agents.paginate(limit=5)
    assert len(page) == 5
    assert page.next_cursor is None  # exactly full: no empty extra page
    assert [a.name for a in page] == [a.name for a in page.items]


async def test_cursor_from_another_ordering_is_refused(repos: Repositories) -> None:
    await seed(repos, 10)
    page = await repos.agents.paginate(limit=3, order_by="name")
    assert page.next_cursor is not None
    with repos.db.count_requests() as c:
        for other in ("-name", ["name", "agent_type"], "agent_type", ("-created_at",)):
            with pytest.raises(ValidationError, match="different ordering"):
                await repos.agents.paginate(limit=3, after=page.next_cursor, order_by=other)
        for junk in ("", "!!!", page.next_cursor[:-4], "e30", "x" * 9000):
            with pytest.raises(ValidationError, match="cursor"):
                await repos.agents.paginate(limit=3, after=junk, order_by="name")
    assert c.count == 0


async def test_cursor_does_not_cross_tables(repos: Repositories) -> None:
    """A Tool cursor (same ordering) must not address agent rows: the id is re-bound to the table."""
    await repos.tools.create_many(Tool(name=f"t{i}", category="c") for i in range(4))
    await seed(repos, 6)
    tool_page = await repos.tools.paginate(limit=2, order_by="name")
    assert tool_page.next_cursor is not None
    # same order keys (name, id): the cursor decodes; it must not fail or leak tool rows
    page = await repos.agents.paginate(limit=50, after=tool_page.next_cursor, order_by="name")
    assert all(isinstance(a, Agent) for a in page.items)
