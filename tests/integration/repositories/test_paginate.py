"""Keyset pagination on the real engine: never a skipped or repeated row.

``paginate()`` orders by (sort keys…, id) and continues strictly after the last
row of the previous page, so duplicate sort values, descending order, nested
keys, filters and concurrent inserts/deletes must all be handled exactly.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from surrealdb import RecordID

from agentical_repo import Page, PaginationParams, Repositories, ValidationError
from agentical_repo.models import Agent, Tool
from agentical_repo.pagination import MAX_CURSOR_LENGTH, encode_cursor
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


# --------------------------------------------------------------------------- null and missing keys

SECRET = "s3cr3t-PAGER-VALUE-41c7"


async def engine_order(repos: Repositories, order_sql: str) -> list[uuid.UUID]:
    """The ids in the engine's own ``ORDER BY`` (the order every walk must reproduce)."""
    listing = await repos.db.query(f"SELECT VALUE id FROM agent ORDER BY {order_sql}")
    return [rid.id for rid in listing[0]]


async def test_stored_null_sort_key_pages_like_the_engine_orders(repos: Repositories) -> None:
    """A key stored as null (not missing) used to crash cursor encoding with a raw TypeError.

    Documented order: ascending puts rows without the key first, then nulls, then values;
    descending is the exact reverse. No row is skipped or repeated at any page size.
    """
    nulls = [Agent(name=f"z{i}", agent_type="t", config={"rank": None}) for i in range(5)]
    missing = [Agent(name=f"m{i}", agent_type="t", config={}) for i in range(4)]
    valued = [Agent(name=f"v{i}", agent_type="t", config={"rank": i % 3}) for i in range(6)]
    await repos.agents.create_many(nulls + missing + valued)
    every = {a.id for a in nulls + missing + valued}
    for order, order_sql in (
        (["config.rank"], "config.rank, id"),
        (["-config.rank"], "config.rank DESC, id DESC"),
        (["config.rank", "-name"], "config.rank, name DESC, id"),
        (["-config.rank", "name"], "config.rank DESC, name, id DESC"),
    ):
        expected = await engine_order(repos, order_sql)
        for limit in (1, 2, 4, 5, 9, 16):
            seen, _ = await walk(repos, limit=limit, order_by=order)
            assert_exactly_once(seen, every)
            assert [a.id for a in seen] == expected, (order, limit)
    seen, _ = await walk(repos, limit=3, order_by="config.rank")
    groups = [
        "missing" if "rank" not in a.config else "null" if a.config["rank"] is None else "value" for a in seen
    ]
    assert groups == ["missing"] * 4 + ["null"] * 5 + ["value"] * 6
    seen, _ = await walk(repos, limit=3, order_by="-config.rank")
    groups = [
        "missing" if "rank" not in a.config else "null" if a.config["rank"] is None else "value" for a in seen
    ]
    assert groups == ["value"] * 6 + ["null"] * 5 + ["missing"] * 4


async def test_page_ending_on_a_null_key_continues(repos: Repositories) -> None:
    """The cursor row itself holds null: the next page starts right after it."""
    rows = [Agent(name=f"n{i}", agent_type="t", config={"rank": None}) for i in range(3)]
    rows += [Agent(name=f"v{i}", agent_type="t", config={"rank": i}) for i in range(3)]
    await repos.agents.create_many(rows)
    first = await repos.agents.paginate(limit=3, order_by="config.rank")
    assert all(a.config["rank"] is None for a in first)
    assert first.next_cursor is not None
    second = await repos.agents.paginate(limit=3, after=first.next_cursor, order_by="config.rank")
    assert [a.config["rank"] for a in second] == [0, 1, 2]
    assert second.next_cursor is None


# --------------------------------------------------------------------------- paginate branches


async def test_default_limit_is_50(repos: Repositories) -> None:
    await repos.agents.create_many(Agent(name=f"d{i:02d}", agent_type="t") for i in range(51))
    page = await repos.agents.paginate(order_by="name")
    assert len(page) == 50
    assert page.next_cursor is not None
    rest = await repos.agents.paginate(after=page.next_cursor, order_by="name")
    assert [a.name for a in rest] == ["d50"]
    assert rest.next_cursor is None


@pytest.mark.parametrize(
    ("order_by", "order_sql"),
    [
        (("id",), "id"),
        (("-id",), "id DESC"),
        (("name", "id"), "name, id"),
        (("name", "-id"), "name, id DESC"),
        (("-name", "id"), "name DESC, id"),
        (("-name", "-id", "agent_type"), "name DESC, id DESC"),  # keys after the unique id change nothing
        (("id", "name"), "id"),
    ],
)
async def test_explicit_id_in_order_by_is_honoured(
    repos: Repositories, order_by: tuple[str, ...], order_sql: str
) -> None:
    rows = await seed(repos, 23)
    expected = await engine_order(repos, order_sql)
    for limit in (1, 4, 23):
        seen, _ = await walk(repos, limit=limit, order_by=order_by)
        assert_exactly_once(seen, {r.id for r in rows})
        assert [a.id for a in seen] == expected, (order_by, limit)


async def test_cursor_with_a_plain_uuid_as_last_value(repos: Repositories) -> None:
    """A cursor may carry the id as a bare UUID: it is bound to this table and continues there."""
    rows = await seed(repos, 20)
    expected = await engine_order(repos, "name, id")
    pivot = next(a for a in rows if a.id == expected[7])
    cursor = encode_cursor([("name", False), ("id", False)], [pivot.name, pivot.id])
    page = await repos.agents.paginate(limit=50, after=cursor, order_by="name")
    assert [a.id for a in page] == expected[8:]
    # the same with a string uuid
    cursor = encode_cursor([("name", False), ("id", False)], [pivot.name, str(pivot.id)])
    page = await repos.agents.paginate(limit=50, after=cursor, order_by="name")
    assert [a.id for a in page] == expected[8:]


async def test_paginate_errors_never_echo_values(repos: Repositories) -> None:
    await seed(repos, 4)
    order = [("name", False), ("id", False)]
    bad_cursors = [
        SECRET,
        encode_cursor([("agent_type", False), ("id", False)], [SECRET, uuid.uuid4()]),
        encode_cursor(order, [SECRET, RecordID("tool", uuid.uuid4())]),
        encode_cursor(order, [SECRET, SECRET]),
        _raw_cursor({"o": order, "v": [SECRET, {"u": SECRET}]}),
        _raw_cursor({"o": order, "v": [{SECRET: 1}, {"u": str(uuid.uuid4())}]}),
        _raw_cursor({"o": [[SECRET, False], ["id", False]], "v": [1, {"u": str(uuid.uuid4())}]}),
    ]
    for cursor in bad_cursors:
        with repos.db.count_requests() as c, pytest.raises(ValidationError) as info:
            await repos.agents.paginate(limit=3, after=cursor, order_by="name")
        assert c.count == 0
        assert info.value.context == {"argument": "after"}
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value.context)
    # order keys are identifiers, echoed (quoted, at most 64 characters) by design; values never
    for order_by in (["nope"], ["-nope"], "config", "state"):
        with pytest.raises(ValidationError) as info:
            await repos.agents.paginate(limit=3, order_by=order_by)
        assert info.value.context == {"argument": "order_by"}


# --------------------------------------------------------------------------- object / array keys


@pytest.mark.parametrize(
    ("repo", "order_by"),
    [
        ("agents", "config"),
        ("agents", "-state"),
        ("agents", ("name", "config")),
        ("tools", "capabilities"),
        ("playbooks", "tags"),
    ],
)
async def test_keyset_order_on_object_or_array_fields_refused_before_io(
    repos: Repositories, repo: str, order_by: str | tuple[str, ...]
) -> None:
    repository = getattr(repos, repo)
    with repos.db.count_requests() as c, pytest.raises(ValidationError, match="object or array") as info:
        await repository.paginate(limit=3, order_by=order_by)
    assert c.count == 0
    assert info.value.context == {"argument": "order_by"}


@pytest.mark.parametrize("stored", [{"tier": "gold"}, ["gold", "x"]])
async def test_keyset_order_on_a_key_holding_objects_or_arrays_refused(
    repos: Repositories, stored: Any
) -> None:
    """A free-form key (config.meta) may hold objects in some rows: refused on the first page,
    rather than handing out a cursor the next call rejects or that skips rows."""
    await repos.agents.create_many(
        Agent(name=f"o{i}", agent_type="t", config={"meta": stored}) for i in range(4)
    )
    await repos.agents.create_many(
        Agent(name=f"s{i}", agent_type="t", config={"meta": f"s{i}"}) for i in range(2)
    )
    for order_by in ("config.meta", "-config.meta"):
        with pytest.raises(ValidationError, match="object or array") as info:
            await repos.agents.paginate(limit=2, order_by=order_by)
        assert info.value.context == {"argument": "order_by"}
    # scalar keys beside them still page
    seen, _ = await walk(repos, limit=2, order_by="name")
    assert len(seen) == 6


async def test_cursor_naming_another_tables_id_is_refused(repos: Repositories) -> None:
    await repos.tools.create_many(Tool(name=f"t{i}", category="c") for i in range(4))
    await seed(repos, 6)
    tool_page = await repos.tools.paginate(limit=2, order_by="name")
    assert tool_page.next_cursor is not None
    with repos.db.count_requests() as c, pytest.raises(ValidationError, match="agent") as info:
        await repos.agents.paginate(limit=50, after=tool_page.next_cursor, order_by="name")
    assert c.count == 0
    assert info.value.context == {"argument": "after"}


# --------------------------------------------------------------------------- cursor values


def _raw_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


RANK_ORDER = [["config.rank", False], ["id", False]]


@pytest.mark.parametrize(
    "value",
    [
        2**63,
        -(2**63) - 1,
        10**40,
        float("inf"),
        float("-inf"),
        float("nan"),
        [1, 2],
        {"x": 1},
        {"u": 1},
        {"d": "NaN"},
        {"t": "2024-01-01T00:00:00", "ns": 10**30},
        {"r": ["tool", 1.5]},
        {"n": 2},
    ],
    ids=repr,
)
async def test_cursor_with_huge_non_finite_or_unsupported_values_refused(
    repos: Repositories, value: Any
) -> None:
    cursor = _raw_cursor({"o": RANK_ORDER, "v": [value, {"u": str(uuid.uuid4())}]})
    with repos.db.count_requests() as c, pytest.raises(ValidationError, match="cursor") as info:
        await repos.agents.paginate(limit=3, after=cursor, order_by="config.rank")
    assert c.count == 0
    assert info.value.context == {"argument": "after"}


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 1.5e300, -0.0, True, "", None])
async def test_cursor_with_extreme_but_valid_values_accepted(repos: Repositories, value: Any) -> None:
    await seed(repos, 3)
    cursor = encode_cursor([("config.rank", False), ("id", False)], [value, uuid.uuid4()])
    page = await repos.agents.paginate(limit=3, after=cursor, order_by="config.rank")
    assert len(page) <= 3


def _cursor_of_length(length: int) -> str:
    """A well-formed cursor of exactly ``length`` characters (padded in a string value)."""
    order = [("name", False), ("id", False)]
    pivot = uuid.UUID(int=0)
    base = len(encode_cursor(order, ["", pivot]))
    approx = (length - base) * 3 // 4  # 4 base64 characters per 3 bytes
    for pad in range(max(0, approx - 8), approx + 8):
        cursor = encode_cursor(order, ["~" * pad, pivot])
        if len(cursor) == length:
            return cursor
    raise AssertionError(f"no cursor of length {length}")


async def test_cursor_length_limit_exact_bound(repos: Repositories) -> None:
    await seed(repos, 3)
    at_limit = _cursor_of_length(MAX_CURSOR_LENGTH)
    page = await repos.agents.paginate(limit=3, after=at_limit, order_by="name")
    assert page.items == []  # every name sorts before "~~~…": nothing after the cursor
    over = at_limit + "A"
    assert len(over) == MAX_CURSOR_LENGTH + 1
    with repos.db.count_requests() as c, pytest.raises(ValidationError, match="too long") as info:
        await repos.agents.paginate(limit=3, after=over, order_by="name")
    assert c.count == 0
    assert info.value.context == {"argument": "after"}


async def test_sort_value_of_an_unsupported_type_is_refused_not_crashed(repos: Repositories) -> None:
    """A raw-SurrealQL write may leave a duration under a free-form key: no raw TypeError."""
    rows = [Agent(name=f"u{i}", agent_type="t", config={"rank": i}) for i in range(3)]
    await repos.agents.create_many(rows)
    await repos.db.query("UPDATE agent SET config.rank = 1d")
    with pytest.raises(ValidationError, match="order_by") as info:
        await repos.agents.paginate(limit=1, order_by="config.rank")
    assert info.value.context == {"argument": "order_by"}


# --------------------------------------------------------------------------- PaginationParams


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": SECRET}, "limit"),
        ({"limit": 5.0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
        ({"offset": SECRET}, "offset"),
        ({"order_by": 5}, "order_by"),
        ({"order_by": [SECRET, 1]}, "order_by"),
        ({"order_by": None}, "order_by"),
        ({SECRET: 1}, "pagination"),
    ],
    ids=repr,
)
def test_pagination_params_errors_are_the_librarys(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValidationError) as info:
        PaginationParams(**kwargs)
    assert type(info.value) is ValidationError
    assert info.value.context == {"argument": argument}
    assert argument in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("kwargs", [{"limit": 1}, {"limit": 1000}, {"offset": 0}, {"offset": 2**63 - 1}])
def test_pagination_params_bounds_accepted(kwargs: dict[str, Any]) -> None:
    params = PaginationParams(**kwargs)
    assert all(getattr(params, k) == v for k, v in kwargs.items())


async def test_list_honours_descending_id_and_stops_at_id(repos: Repositories) -> None:
    await seed(repos, 12)
    expected = await engine_order(repos, "id DESC")
    got = await repos.agents.list(pagination=PaginationParams(limit=100, order_by=("-id",)))
    assert [a.id for a in got] == expected
    got = await repos.agents.list(pagination=PaginationParams(limit=100, order_by=("-id", "name")))
    assert [a.id for a in got] == expected


def test_pagination_params_model_validate_errors_are_the_librarys() -> None:
    with pytest.raises(ValidationError) as info:
        PaginationParams.model_validate({"limit": 0, "order_by": SECRET})
    assert type(info.value) is ValidationError
    assert info.value.context == {"argument": "limit"}
    assert PaginationParams.model_validate({"limit": 7}).limit == 7
