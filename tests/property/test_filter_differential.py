"""Differential test of the filter language: repository results == a plain-Python evaluation.

Hypothesis generates a dataset of tasks (optional fields left out, nested ``input``
dicts whose keys may be missing, ``None`` (stored as NULL) or hold ints, strings and
lists) and a filter dict using every lookup, nested keys, ordering and offset
pagination. ``reference`` evaluates the same filter in Python with the semantics
the library promises:

* a missing value (NONE) or a null (NULL) never satisfies a comparison, a string
  lookup or a containment lookup; ``isnull``/``eq None`` match both, ``ne``/``not_in``
  match them (like Python's ``None != x``);
* equality is type-strict (``1`` is not ``True``), numbers compare across int/float;
* ``contains`` is substring on strings and membership on lists;
* ordering is by the order keys then ``id`` as the tie-break (in the direction of the
  last key for ``list``, of the first key for keyset ``paginate``);
* groups nest: ``$and``/``$or`` hold when all/any of their filter dicts hold, ``$not``
  when its filter dict does not (so a missing value, failing a comparison, passes
  the comparison's ``$not``); the keys of one dict are ANDed.

Values are drawn so that ordered comparisons only meet values of one type (the
engine orders across types — NONE < NULL < bool < number < string — where Python
raises), and strings are ASCII so case folding is the same on both sides.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentical_repo import Database, PaginationParams, Repositories
from agentical_repo.models import Task, TaskStatus

pytestmark = pytest.mark.slow

EXAMPLES = 150
MISSING = object()

letters = st.text(alphabet="abcABC xyz", min_size=0, max_size=5)
nested_int = st.one_of(st.just(MISSING), st.none(), st.integers(-5, 5))
nested_str = st.one_of(st.just(MISSING), st.none(), letters)
nested_list = st.one_of(
    st.just(MISSING), st.none(), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3)
)


@st.composite
def task_rows(draw: st.DrawFn) -> dict[str, Any]:
    inp: dict[str, Any] = {}
    for key, strat in (("n", nested_int), ("s", nested_str), ("tags", nested_list)):
        value = draw(strat)
        if value is not MISSING:
            inp[key] = value
    if draw(st.booleans()):
        inp["deep"] = {"k": draw(st.integers(0, 3))}
    return {
        "title": draw(st.text(alphabet="abcABC", min_size=1, max_size=4)),
        "description": draw(st.one_of(st.none(), letters)),
        "status": draw(st.sampled_from(list(TaskStatus))),
        "priority": draw(st.integers(-3, 3)),
        "input": inp,
    }


# (path, kind) pairs the generator may filter on; kind picks comparable values
PATHS = {
    "title": "str",
    "description": "str",
    "status": "status",
    "priority": "int",
    "input.n": "int",
    "input.s": "str",
    "input.tags": "list",
    "input.deep.k": "int",
}
LOOKUPS_BY_KIND = {
    "int": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "isnull", "between"],
    "str": [
        "eq",
        "ne",
        "gt",
        "lt",
        "in",
        "not_in",
        "contains",
        "startswith",
        "endswith",
        "icontains",
        "isnull",
    ],
    "status": ["eq", "ne", "in", "not_in"],
    "list": ["contains", "contains_any", "contains_all", "isnull"],
}


def value_for(kind: str, lookup: str) -> st.SearchStrategy[Any]:
    scalar: st.SearchStrategy[Any] = {
        "int": st.integers(-4, 4),
        "str": letters,
        "status": st.sampled_from([s.value for s in TaskStatus]),
        "list": st.sampled_from(["a", "b", "c", "d"]),
    }[kind]
    if lookup == "isnull":
        return st.booleans()
    if lookup in ("in", "not_in", "contains_any", "contains_all"):
        return st.lists(scalar, min_size=1, max_size=3)
    if lookup == "between":
        return st.tuples(scalar, scalar)
    if lookup in ("eq", "ne") and kind != "status":
        return st.one_of(st.none(), scalar)
    return scalar


@st.composite
def filter_dicts(draw: st.DrawFn, min_size: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(sorted(PATHS)), min_size=min_size, max_size=3, unique=True)):
        kind = PATHS[path]
        lookup = draw(st.sampled_from(LOOKUPS_BY_KIND[kind]))
        out[f"{path}__{lookup}"] = draw(value_for(kind, lookup))
    return out


def _groups(members: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    member_lists = st.lists(members, min_size=1, max_size=3)
    return st.one_of(
        member_lists.map(lambda fs: {"$or": fs}),
        member_lists.map(lambda fs: {"$and": fs}),
        members.map(lambda f: {"$not": f}),
        st.tuples(members, filter_dicts(min_size=1)).map(lambda t: {**t[1], "$or": [t[0], t[1]]}),
    )


#: Filter dicts with $and / $or / $not groups nested up to three deep, beside plain keys.
grouped_filters = st.recursive(filter_dicts(min_size=1), _groups, max_leaves=6)


def dig(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for seg in path.split("."):
        if not isinstance(value, dict) or seg not in value:
            return MISSING
        value = value[seg]
    return value


def same(a: Any, b: Any) -> bool:
    """SurrealDB equality: type-strict between bool and numbers."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def matches(value: Any, lookup: str, arg: Any) -> bool:
    absent = value is MISSING or value is None
    if lookup == "isnull":
        return absent if arg else not absent
    if lookup in ("eq", "ne"):
        equal = absent if arg is None else (not absent and same(value, arg))
        return equal if lookup == "eq" else not equal
    if lookup == "not_in":
        return absent or not any(same(value, a) for a in arg)
    if absent:
        return False
    if lookup == "in":
        return any(same(value, a) for a in arg)
    if lookup in ("gt", "gte", "lt", "lte"):
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "gt": lambda x, y: x > y,
            "gte": lambda x, y: x >= y,
            "lt": lambda x, y: x < y,
            "lte": lambda x, y: x <= y,
        }
        return ops[lookup](value, arg)
    if lookup == "between":
        return bool(arg[0] <= value <= arg[1])
    if lookup == "contains":
        return arg in value
    if lookup == "contains_any":
        return any(a in value for a in arg)
    if lookup == "contains_all":
        return all(a in value for a in arg)
    if lookup == "startswith":
        return bool(value.startswith(arg))
    if lookup == "endswith":
        return bool(value.endswith(arg))
    if lookup == "icontains":
        return arg.lower() in value.lower()
    raise AssertionError(lookup)


def holds(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, arg in filters.items():
        if key == "$or":
            ok = any(holds(row, f) for f in arg)
        elif key == "$and":
            ok = all(holds(row, f) for f in arg)
        elif key == "$not":
            ok = not holds(row, arg)
        else:
            path, _, lookup = key.rpartition("__")
            ok = matches(dig(row, path), lookup, arg)
        if not ok:
            return False
    return True


def reference(rows: list[dict[str, Any]], filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in rows if holds(row, filters)]


def ordered(
    rows: list[dict[str, Any]], order_by: tuple[str, ...], *, id_desc: bool = False
) -> list[dict[str, Any]]:
    result = sorted(rows, key=lambda r: r["id"], reverse=id_desc)  # the id tie-break
    for key in reversed(order_by):
        desc = key.startswith("-")
        path = key.lstrip("-")
        result.sort(key=lambda r, p=path: dig(r, p), reverse=desc)  # type: ignore[misc]
    return result


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories(db)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dataset=st.lists(task_rows(), min_size=0, max_size=12),
    filters=st.one_of(filter_dicts(), grouped_filters),
    order_by=st.lists(
        st.sampled_from(["priority", "-priority", "title", "-title", "status", "-status"]),
        max_size=2,
        unique_by=lambda k: k.lstrip("-"),
    ),
    limit=st.integers(1, 6),
    offset=st.integers(0, 8),
)
async def test_repository_filters_equal_python_reference(
    db: Database,
    repos: Repositories,
    dataset: list[dict[str, Any]],
    filters: dict[str, Any],
    order_by: list[str],
    limit: int,
    offset: int,
) -> None:
    await repos.tasks.delete_many(None, all=True)
    rows: list[dict[str, Any]] = []
    for data in dataset:
        task = Task(id=uuid.uuid4(), **data)
        await repos.tasks.create(task)
        rows.append({"id": task.id, **data, "status": task.status.value})
    expected = reference(rows, filters)

    got = await repos.tasks.list(filters, PaginationParams(limit=1000, order_by=("priority",)))
    assert sorted(t.id for t in got) == sorted(r["id"] for r in expected), filters
    assert await repos.tasks.count(filters) == len(expected)
    assert await repos.tasks.exists(filters) == bool(expected)

    page = PaginationParams(limit=limit, offset=offset, order_by=tuple(order_by))
    got_page = await repos.tasks.list(filters, page)
    # list breaks ties by id in the direction of the last order key (so one-direction orders
    # can stream an index)
    list_id_desc = bool(order_by) and order_by[-1].startswith("-")
    want_page = ordered(expected, tuple(order_by), id_desc=list_id_desc)[offset : offset + limit]
    assert [t.id for t in got_page] == [r["id"] for r in want_page], (filters, order_by)

    # keyset pagination walks the same ordering without gaps or repeats
    keyset_order = tuple(order_by) or ("priority",)
    walked: list[uuid.UUID] = []
    cursor = None
    for _ in range(20):
        p = await repos.tasks.paginate(filters, limit=limit, after=cursor, order_by=keyset_order)
        walked.extend(t.id for t in p.items)
        cursor = p.next_cursor
        if cursor is None:
            break
    # keyset pagination breaks ties by id in the direction of the first key
    want = ordered(expected, keyset_order, id_desc=keyset_order[0].startswith("-"))
    assert walked == [r["id"] for r in want], (filters, keyset_order)
