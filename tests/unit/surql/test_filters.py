"""Filter dicts → WHERE text, pagination params, keyset cursors."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime

from agentical_repo.errors import ValidationError
from agentical_repo.pagination import Page, PaginationParams, decode_cursor, encode_cursor
from agentical_repo.surql.filters import (
    LOOKUPS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_KEYS,
    And,
    Between,
    Compare,
    Contains,
    In,
    IsNull,
    Not,
    Or,
    Text,
    compile_filters,
    keyset_condition,
    normalize_order,
    parse_filters,
    split_key,
)

U = uuid.UUID("00000000-0000-0000-0000-0000000000c3")
PRESENT = "{f} != NONE AND {f} != NULL"


def where(filters: dict[str, object], **kw: object) -> tuple[str, dict[str, object]]:
    frag = compile_filters(filters, **kw)  # type: ignore[arg-type]
    assert frag is not None
    return frag.text, dict(frag.vars)


def present(f: str) -> str:
    return PRESENT.format(f=f)


# --------------------------------------------------------------------------- every lookup


@pytest.mark.parametrize(
    ("key", "value", "text", "vars"),
    [
        ("status", "active", "status = $status", {"status": "active"}),
        ("status__eq", "active", "status = $status", {"status": "active"}),
        ("status__ne", "active", "status != $status", {"status": "active"}),
        ("priority__gt", 3, f"({present('priority')} AND priority > $priority)", {"priority": 3}),
        ("priority__gte", 3, f"({present('priority')} AND priority >= $priority)", {"priority": 3}),
        ("priority__lt", 3, f"({present('priority')} AND priority < $priority)", {"priority": 3}),
        ("priority__lte", 3, f"({present('priority')} AND priority <= $priority)", {"priority": 3}),
        ("status__in", ["a", "b"], "status INSIDE $status", {"status": ["a", "b"]}),
        ("status__in", ("a",), "status INSIDE $status", {"status": ["a"]}),
        ("status__in", [], "status INSIDE $status", {"status": []}),
        ("status__not_in", {"a"}, "status NOTINSIDE $status", {"status": ["a"]}),
        ("tags__contains", "x", "tags CONTAINS $tags", {"tags": "x"}),
        ("tags__contains_any", ["x", "y"], "tags CONTAINSANY $tags", {"tags": ["x", "y"]}),
        ("tags__contains_all", ["x", "y"], "tags CONTAINSALL $tags", {"tags": ["x", "y"]}),
        (
            "name__startswith",
            "ab",
            f"({present('name')} AND string::starts_with(<string>name, $name))",
            {"name": "ab"},
        ),
        (
            "name__endswith",
            "ab",
            f"({present('name')} AND string::ends_with(<string>name, $name))",
            {"name": "ab"},
        ),
        (
            "name__icontains",
            "AbÇ",
            f"({present('name')} AND string::contains(string::lowercase(<string>name), $name))",
            {"name": "abç"},
        ),
        ("description__isnull", True, "(description = NONE OR description = NULL)", {}),
        ("description__isnull", False, f"({present('description')})", {}),
        ("description", None, "(description = NONE OR description = NULL)", {}),
        ("description__eq", None, "(description = NONE OR description = NULL)", {}),
        ("description__ne", None, f"({present('description')})", {}),
        (
            "priority__between",
            (1, 5),
            f"({present('priority')} AND priority >= $priority AND priority <= $priority_1)",
            {"priority": 1, "priority_1": 5},
        ),
    ],
)
def test_lookup_text(key: str, value: object, text: str, vars: dict[str, object]) -> None:
    assert where({key: value}) == (text, vars)


def test_every_design_lookup_is_supported() -> None:
    design = "eq ne gt gte lt lte in not_in contains contains_any contains_all startswith endswith icontains"
    assert set(LOOKUPS) == {*design.split(), "isnull", "between"}


def test_dotted_nested_keys() -> None:
    text, vars = where({"config.model__startswith": "gpt", "config.value": 1, "state.a.b__isnull": True})
    assert text == (
        f"({present('config.model')} AND string::starts_with(<string>config.model, $config_model)) "
        "AND config.`value` = $config_value AND (state.a.b = NONE OR state.a.b = NULL)"
    )
    assert vars == {"config_model": "gpt", "config_value": 1}


def test_reserved_field_names_are_quoted() -> None:
    assert where({"value__gt": 1})[0] == f"({present('`value`')} AND `value` > $value_v)"
    assert where({"in": 1}) == ("`in` = $in", {"in": 1})


def test_several_keys_join_with_and_and_repeat_names_get_suffixes() -> None:
    text, vars = where({"priority__gte": 1, "priority__lte": 9, "status": "x"})
    assert text == (
        f"({present('priority')} AND priority >= $priority) AND "
        f"({present('priority')} AND priority <= $priority_1) AND status = $status"
    )
    assert vars == {"priority": 1, "priority_1": 9, "status": "x"}


def test_no_filters() -> None:
    assert compile_filters(None) is None
    assert compile_filters({}) is None


def test_values_are_normalised() -> None:
    class Colour(enum.Enum):
        RED = "red"

    moment = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    _, vars = where(
        {
            "a": Colour.RED,
            "b__in": (Colour.RED, 1),
            "c": {"k": [Colour.RED, (1, 2)]},
            "d": U,
            "e": moment,
            "f": dt.date(2024, 1, 1),
            "g": RecordID("agent", U),
            "h": 1.5,
            "i": False,
            "j": Decimal("2.50"),
            "k": b"\x00\xff",
        }
    )
    assert vars == {
        "a": "red",
        "b": ["red", 1],
        "c": {"k": ["red", [1, 2]]},
        "d": U,
        "e": moment,
        "f": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),  # a date is its midnight UTC
        "g": RecordID("agent", U),
        "h": 1.5,
        "i": False,
        "j": Decimal("2.50"),
        "k": b"\x00\xff",
    }


def test_convert_callback_sees_each_value() -> None:
    seen: list[tuple[str, object]] = []

    def convert(path: str, value: object) -> object:
        seen.append((path, value))
        return RecordID("agent", value) if path == "agent_id" and isinstance(value, uuid.UUID) else value

    _, vars = where({"agent_id": U, "agent_id__in": [U], "name": "x"}, convert=convert)
    assert vars == {"agent_id": RecordID("agent", U), "agent_id_1": [RecordID("agent", U)], "name": "x"}
    assert seen == [("agent_id", U), ("agent_id", U), ("name", "x")]


# --------------------------------------------------------------------------- refusals


def test_unknown_lookup() -> None:
    with pytest.raises(ValidationError, match="unknown lookup 'like'") as info:
        compile_filters({"name__like": "x"})
    assert info.value.context == {"argument": "filters"}
    with pytest.raises(ValidationError, match="unknown lookup"):
        compile_filters({"name__": "x"})


@pytest.mark.parametrize("key", ["", "__eq", "a b", "a;b", "a.", ".a", "a-b__eq", "a..b", "1a", "x) OR (1"])
def test_bad_key_syntax(key: str) -> None:
    with pytest.raises(ValidationError) as info:
        compile_filters({key: 1})
    assert info.value.context["argument"] in ("filter field", "filters")


def test_non_string_key() -> None:
    with pytest.raises(ValidationError) as info:
        compile_filters({1: "x"})  # type: ignore[dict-item]
    assert info.value.context == {"argument": "filters"}


def test_unknown_field_with_field_ok() -> None:
    ok = {"name", "config.model"}.__contains__
    assert where({"config.model": "x"}, field_ok=ok)[0] == "config.model = $config_model"
    with pytest.raises(ValidationError, match="unknown filter field 'password'") as info:
        compile_filters({"password__startswith": "a"}, field_ok=ok)
    assert info.value.context == {"argument": "filters"}


def test_filters_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError) as info:
        compile_filters([("a", 1)])  # type: ignore[arg-type]
    assert info.value.context == {"argument": "filters"}


def test_too_many_keys() -> None:
    with pytest.raises(ValidationError, match="too many"):
        compile_filters({f"f{i}": i for i in range(MAX_FILTER_KEYS + 1)})
    assert compile_filters({f"f{i}": i for i in range(MAX_FILTER_KEYS)}) is not None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("status__in", "ab"),
        ("status__in", b"ab"),
        ("status__in", {"a": 1}),
        ("status__in", 5),
        ("status__in", None),
        ("status__not_in", "ab"),
        ("tags__contains_any", "x"),
        ("tags__contains_all", 3),
        ("status__in", (x for x in "ab")),
        ("status__in", list(range(10_001))),
        ("priority__between", (1,)),
        ("priority__between", (1, 2, 3)),
        ("priority__between", "12"),
        ("priority__between", {1, 2}),
        ("priority__between", 5),
        ("description__isnull", "yes"),
        ("description__isnull", 1),
        ("description__isnull", None),
        ("name__startswith", 5),
        ("name__endswith", None),
        ("name__icontains", ["a"]),
        ("status", object()),
        ("status", Decimal("NaN")),
        ("status", Decimal("1e100")),
        ("status", Decimal("1e-29")),
        ("priority", 2**63),
        ("priority__in", [1, -(2**63) - 1]),
        ("priority__gt", float("inf")),
        ("priority__between", (0, float("-inf"))),
        ("status", dt.time(1, 2)),
        ("status", 1j),
        ("config", {1: "x"}),
        ("status", dt.timedelta(seconds=1)),
        ("priority__gt", float("nan")),
        ("status__in", [1, float("nan")]),
        ("config", {"k": object()}),
        ("config", {"k": {"nan": float("nan")}}),
    ],
)
def test_wrong_value_shapes_name_the_argument(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        compile_filters({key: value})
    path = key.split("__")[0]
    assert info.value.context == {"argument": path}
    assert path in str(info.value)


def test_too_deep_value_refused() -> None:
    value: object = 1
    for _ in range(40):
        value = [value]
    with pytest.raises(ValidationError, match=r"nested too deeply \(more than 32 levels\)"):
        compile_filters({"config": value})


def test_refused_value_is_not_echoed() -> None:
    secret = "hunter2-secret"
    with pytest.raises(ValidationError) as info:
        compile_filters({"name__startswith": [secret]})
    assert secret not in str(info.value)


def test_split_key() -> None:
    assert split_key("a") == ("a", "eq")
    assert split_key("a__b__gte") == ("a__b", "gte")
    assert split_key("config.model__in") == ("config.model", "in")


# --------------------------------------------------------------------------- filter objects and groups


def test_parse_builds_frozen_objects_once() -> None:
    node = parse_filters(
        {
            "status": "a",
            "priority__between": (1, 5),
            "tags__contains_any": ["x"],
            "title__icontains": "AB",
            "description": None,
            "status__not_in": ["b"],
        }
    )
    assert node == And(
        (
            Compare("status", "eq", "a"),
            Between("priority", 1, 5),
            Contains("tags", "contains_any", ("x",)),
            Text("title", "icontains", "ab"),
            IsNull("description", True),
            In("status", ("b",), negate=True),
        )
    )
    assert parse_filters({"status": "a"}) == Compare("status", "eq", "a")
    assert parse_filters({}) is None
    with pytest.raises(AttributeError):
        node.items = ()  # type: ignore[misc]


def test_or_group() -> None:
    text, vars = where({"$or": [{"status": "a"}, {"priority__gt": 3}]})
    assert text == f"(status = $status OR ({present('priority')} AND priority > $priority))"
    assert vars == {"status": "a", "priority": 3}


def test_or_of_several_keys_groups_each_member() -> None:
    text, vars = where({"$or": [{"status": "a", "priority": 1}, {"status": "b"}], "title": "t"})
    assert text == "((status = $status AND priority = $priority) OR status = $status_1) AND title = $title"
    assert vars == {"status": "a", "priority": 1, "status_1": "b", "title": "t"}


def test_not_group() -> None:
    assert where({"$not": {"status": "a"}}) == ("!(status = $status)", {"status": "a"})
    assert where({"$not": {"name__startswith": "x"}})[0] == (
        f"!({present('name')} AND string::starts_with(<string>name, $name))"
    )
    assert (
        where({"$not": {"status": "a", "priority": 2}})[0] == "!(status = $status AND priority = $priority)"
    )
    assert where({"$not": {"$or": [{"status": "a"}, {"status": "b"}]}})[0] == (
        "!(status = $status OR status = $status_1)"
    )
    assert where({"$not": {"description__isnull": True}})[0] == "!(description = NONE OR description = NULL)"


def test_and_group_and_nesting() -> None:
    assert where({"$and": [{"status": "a"}]}) == ("status = $status", {"status": "a"})
    text, vars = where(
        {"$and": [{"status": "a"}, {"$or": [{"priority__in": [1, 2]}, {"$not": {"tags__contains": "x"}}]}]}
    )
    assert text == "status = $status AND (priority INSIDE $priority OR !(tags CONTAINS $tags))"
    assert vars == {"status": "a", "priority": [1, 2], "tags": "x"}
    assert parse_filters({"$or": [{"a": 1}, {"b": 2}]}) == Or((Compare("a", "eq", 1), Compare("b", "eq", 2)))
    assert parse_filters({"$not": {"a": 1}}) == Not(Compare("a", "eq", 1))


def test_group_members_are_checked_like_top_level_keys() -> None:
    ok = {"name", "status"}.__contains__
    with pytest.raises(ValidationError, match="unknown filter field 'password'") as info:
        compile_filters({"$or": [{"name": "x"}, {"$not": {"password": "x"}}]}, field_ok=ok)
    assert info.value.context == {"argument": "filters"}
    with pytest.raises(ValidationError, match="unknown lookup"):
        compile_filters({"$or": [{"name__like": "x"}]})
    with pytest.raises(ValidationError) as info:
        compile_filters({"$not": {"status__in": "ab"}})
    assert info.value.context == {"argument": "status"}
    seen: list[str] = []

    def convert(path: str, value: object) -> object:
        seen.append(path)
        return value

    compile_filters({"$or": [{"a": 1}, {"b": 2}], "c": 3}, convert=convert)
    assert seen == ["a", "b", "c"]


@pytest.mark.parametrize(
    "filters",
    [
        {"$or": []},
        {"$or": {"a": 1}},
        {"$or": "a"},
        {"$or": [{}]},
        {"$or": [{"a": 1}, []]},
        {"$or": [{"a": 1}, None]},
        {"$and": ()},
        {"$not": {}},
        {"$not": [{"a": 1}]},
        {"$not": None},
        {"$nor": [{"a": 1}]},
        {"$where": "1"},
        {"$": 1},
    ],
)
def test_malformed_groups_are_refused(filters: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        compile_filters(filters)
    assert info.value.context == {"argument": "filters"}


def test_group_depth_is_bounded() -> None:
    def nested(depth: int) -> dict[str, object]:
        out: dict[str, object] = {"a": 1}
        for _ in range(depth):
            out = {"$not": out}
        return out

    assert compile_filters(nested(MAX_FILTER_DEPTH)) is not None
    with pytest.raises(ValidationError, match="nested too deeply") as info:
        compile_filters(nested(MAX_FILTER_DEPTH + 1))
    assert info.value.context == {"argument": "filters"}


def test_keys_are_counted_over_all_groups() -> None:
    half = MAX_FILTER_KEYS // 2
    ok = {"$or": [{f"a{i}": i for i in range(half)}, {f"b{i}": i for i in range(half - 1)}]}
    assert compile_filters(ok) is not None
    too_many = {"$or": [{f"a{i}": i for i in range(half)}, {f"b{i}": i for i in range(half)}]}
    with pytest.raises(ValidationError, match="too many"):
        compile_filters(too_many)


def test_group_values_never_enter_text() -> None:
    evil = "x') OR true OR ('"
    text, vars = where({"$or": [{"name": evil}], "$not": {"name__startswith": evil}})
    assert evil not in text
    assert list(vars.values()) == [evil, evil]


# --------------------------------------------------------------------------- PaginationParams


def test_pagination_defaults() -> None:
    p = PaginationParams()
    assert (p.limit, p.offset, p.order_by) == (50, 0, ("-created_at",))


@pytest.mark.parametrize("limit", [1, 1000])
def test_pagination_limit_bounds_accepted(limit: int) -> None:
    assert PaginationParams(limit=limit).limit == limit


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 1001}, {"limit": -1}, {"offset": -1}, {"page": 2}, {"limit": "x"}]
)
def test_pagination_bounds_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        PaginationParams(**kwargs)
    assert info.value.context == {"argument": next(iter(kwargs)) if "page" not in kwargs else "pagination"}


def test_pagination_is_a_value_error_for_callers() -> None:
    # pydantic's ValidationError is a ValueError, like ours: callers catching ValueError get both.
    with pytest.raises(ValueError):
        PaginationParams(limit=0)


def test_pagination_order_by_string_or_tuple() -> None:
    assert PaginationParams(order_by="name").order_by == ("name",)
    assert PaginationParams(order_by=("-priority", "name")).order_by == ("-priority", "name")
    assert PaginationParams(order_by=["a", "b"]).order_by == ("a", "b")
    assert PaginationParams(offset=10**9).offset == 10**9


def test_pagination_is_frozen() -> None:
    p = PaginationParams()
    with pytest.raises(PydanticValidationError):
        p.limit = 5  # type: ignore[misc]


def test_page_iterates_items() -> None:
    page = Page[int](items=[1, 2], next_cursor="c")
    assert list(page) == [1, 2]
    assert len(page) == 2
    assert Page[int](items=[]).next_cursor is None


# --------------------------------------------------------------------------- ordering and cursors


def test_normalize_order() -> None:
    assert normalize_order("-created_at") == [("created_at", True)]
    assert normalize_order(["name", "+priority", "-config.model"]) == [
        ("name", False),
        ("priority", False),
        ("config.model", True),
    ]


@pytest.mark.parametrize("bad", [["a b"], [""], ["-"], [None], 5, ["a"] * 9, ["x;y"]])
def test_normalize_order_refusals(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_order(bad)  # type: ignore[arg-type]
    assert info.value.context["argument"] in ("order_by", "order_by field")


def test_normalize_order_field_ok() -> None:
    with pytest.raises(ValidationError, match="unknown order_by field 'secret'"):
        normalize_order(["secret"], field_ok=lambda p: p == "name")


ORDER = [("created_at", True), ("priority", False), ("id", False)]


def test_cursor_round_trip_with_nanoseconds_uuid_and_record() -> None:
    moment = PreciseDatetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC, nanosecond=789)
    values = [moment, 3, RecordID("agent", U)]
    cursor = encode_cursor(ORDER, values)
    assert "=" not in cursor
    assert "+" not in cursor
    assert "/" not in cursor
    out = decode_cursor(cursor, ORDER)
    assert out[0] == moment
    assert isinstance(out[0], PreciseDatetime)
    assert out[0].nanosecond == 789
    assert out[0].tzinfo is not None
    assert out[0].utcoffset() == dt.timedelta(0)
    assert out[1] == 3
    assert out[2] == RecordID("agent", U)
    assert isinstance(out[2].id, uuid.UUID)


def test_cursor_round_trip_plain_values() -> None:
    order = [("name", False), ("score", True), ("ref", False), ("when", False), ("id", False)]
    values = ["zoë 'x'", 1.5, U, dt.datetime(2020, 1, 1, 12, 0), None]
    assert decode_cursor(encode_cursor(order, values), order) == values


def test_cursor_of_another_ordering_refused() -> None:
    cursor = encode_cursor(ORDER, [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 1, RecordID("agent", U)])
    for other in (
        [("created_at", False), ("priority", False), ("id", False)],
        [("name", True), ("priority", False), ("id", False)],
        ORDER[:2],
    ):
        with pytest.raises(ValidationError, match="different ordering") as info:
            decode_cursor(cursor, other)
        assert info.value.context == {"argument": "after"}


def _raw_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a" * 8193,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _raw_cursor([1, 2]),
        _raw_cursor({"o": [["id", False]]}),
        _raw_cursor({"o": [["id", False]], "v": [{"x": 1}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"u": "nope"}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"u": 1}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"t": "yesterday"}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"t": "2024-01-01T00:00:00", "ns": 5000}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"t": "2024-01-01T00:00:00", "ns": [1]}]}),
        _raw_cursor({"o": [["id", False]], "v": [{"r": ["agent"]}]}),
        _raw_cursor({"o": 5, "v": [1]}),
        base64.urlsafe_b64encode(b"[" * 6000).decode(),
    ],
)
def test_tampered_cursor_refused(cursor: str) -> None:
    with pytest.raises(ValidationError) as info:
        decode_cursor(cursor, [("id", False)])
    assert info.value.context == {"argument": "after"}


def test_cursor_must_be_a_string() -> None:
    with pytest.raises(ValidationError):
        decode_cursor(None, [("id", False)])  # type: ignore[arg-type]


def test_flipped_byte_cursor_never_crashes() -> None:
    cursor = encode_cursor(ORDER, [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 1, RecordID("agent", U)])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(cursor)):
        for ch in "A_z0":
            if cursor[i] == ch:
                continue
            tampered = cursor[:i] + ch + cursor[i + 1 :]
            assert all(c in alphabet for c in tampered)
            with contextlib.suppress(ValidationError):
                decode_cursor(tampered, ORDER)


def test_keyset_condition_mixed_directions() -> None:
    frag = keyset_condition(ORDER, ["T", 3, "ID"])
    assert frag.text == (
        "((created_at < $k_created_at) OR "
        "(created_at = $k_created_at AND priority > $k_priority) OR "
        "(created_at = $k_created_at AND priority = $k_priority AND id > $k_id))"
    )
    assert frag.vars == {"k_created_at": "T", "k_priority": 3, "k_id": "ID"}


def test_keyset_condition_nested_and_reserved_paths() -> None:
    frag = keyset_condition([("config.value", False), ("id", True)], [1, 2])
    assert frag.text == (
        "((config.`value` > $k_config_value) OR (config.`value` = $k_config_value AND id < $k_id))"
    )
    assert frag.vars == {"k_config_value": 1, "k_id": 2}


def test_keyset_condition_needs_one_value_per_key() -> None:
    with pytest.raises(ValueError):
        keyset_condition(ORDER, [1])


def test_cursor_refuses_list_values() -> None:
    """Keyset pages order only by scalar values: an array sort value is refused both ways."""
    edge = [RecordID("agent", U), RecordID("tool", U)]
    order = [("in_out", False), ("id", False)]
    with pytest.raises(ValidationError, match="object or array") as info:
        encode_cursor(order, [edge, RecordID("uses", U)])
    assert info.value.context == {"argument": "order_by"}
    with pytest.raises(ValidationError, match="invalid cursor"):
        decode_cursor(_raw_cursor({"o": [list(o) for o in order], "v": [[1, 2], {"u": str(U)}]}), order)
