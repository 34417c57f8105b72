"""Edges of ``surql.filters`` found by mutation testing: exact refusals, single-member
groups, datetimes and record ids as filter values, order-key checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from strict_errors import refuses
from surrealdb import RecordID

from agentical_repo.surql.filters import And, compile_filters, normalize_order, parse_filters, split_order


def test_unknown_group_refusal_is_exact_and_cut_to_32_characters() -> None:
    refuses(
        lambda: compile_filters({"$xor": [{"a": 1}]}),
        "filters",
        "unknown filter group '$xor'; expected one of $and, $or, $not",
    )
    long = "$" + "y" * 40
    refuses(
        lambda: compile_filters({long: [{"a": 1}]}),
        "filters",
        f"unknown filter group {long[:32]!r}; expected one of $and, $or, $not",
    )


def test_group_member_refusals_name_the_group() -> None:
    refuses(lambda: compile_filters({"$not": {}}), "filters", "$not takes non-empty filter dicts")
    refuses(lambda: compile_filters({"$or": [{}]}), "filters", "$or takes non-empty filter dicts")
    refuses(lambda: compile_filters({"$and": [5]}), "filters", "$and takes non-empty filter dicts")


@pytest.mark.parametrize("raw", [[], {"a": 1}, "ab", 5, None])
def test_group_needs_a_non_empty_list(raw: object) -> None:
    message = "$or takes a non-empty list of filter dicts"
    refuses(lambda: compile_filters({"$or": raw}), "filters", message)


def test_single_member_and_is_its_member() -> None:
    cond = compile_filters({"$and": [{"a": 1}]})
    assert cond is not None
    assert cond.text == "a = $a"
    two = compile_filters({"$and": [{"a": 1}, {"b": 2}]})
    assert two is not None
    assert two.text == "a = $a AND b = $b"
    # the parsed form too: one member is that member, not an And of one
    assert not isinstance(parse_filters({"$and": [{"a": 1}]}), And)
    assert isinstance(parse_filters({"$and": [{"a": 1}, {"b": 2}]}), And)


def test_datetime_filter_values_are_bound_unchanged() -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=dt.UTC)
    cond = compile_filters({"created_at__gte": moment})
    assert cond is not None
    assert cond.vars == {"created_at": moment}
    day = compile_filters({"created_at__gte": dt.date(2024, 5, 6)})
    assert day is not None
    assert day.vars == {"created_at": dt.datetime(2024, 5, 6, tzinfo=dt.UTC)}


def test_record_id_filter_values_are_checked_naming_the_field() -> None:
    ok = RecordID("agent", 5)
    cond = compile_filters({"owner": ok})
    assert cond is not None
    assert cond.vars == {"owner": ok}
    bad = RecordID("agent", 2**70)
    message = "filter value for 'owner' holds an integer outside the signed 64-bit range"
    refuses(lambda: compile_filters({"owner": bad}), "owner", message)
    refuses(lambda: compile_filters({"owner__in": [bad]}), "owner", message)
    refuses(lambda: compile_filters({"owner__in": [[bad]]}), "owner", message)


@pytest.mark.parametrize("key", ["", 5, None])
def test_split_order_refusal_is_exact(key: object) -> None:
    refuses(lambda: split_order(key), "order_by", "order_by entries must be field names")


def test_normalize_order_refusals_are_exact() -> None:
    message = "order_by must be a list of up to 8 field names"
    refuses(lambda: normalize_order([f"f{i}" for i in range(9)]), "order_by", message)
    refuses(lambda: normalize_order(5), "order_by", message)  # type: ignore[arg-type]


def test_normalize_order_asks_field_ok_about_the_path() -> None:
    asked: list[Any] = []

    def field_ok(path: str) -> bool:
        asked.append(path)
        return path == "name"

    assert normalize_order(["-name"], field_ok) == [("name", True)]
    refuses(lambda: normalize_order(["name", "+nope"], field_ok), "order_by", "unknown order_by field 'nope'")
    assert asked == ["name", "name", "nope"]


def test_filter_key_and_lookup_refusals_are_exact() -> None:
    from agentical_repo.surql.filters import LOOKUPS

    refuses(lambda: compile_filters([("a", 1)]), "filters", "filters must be a dict")  # type: ignore[arg-type]
    refuses(lambda: compile_filters({5: 1}), "filters", "filter keys must be strings")  # type: ignore[dict-item]
    op = "z" * 40
    refuses(
        lambda: compile_filters({f"a__{op}": 1}),
        "filters",
        f"unknown lookup {op[:32]!r} in filter key; expected one of {', '.join(LOOKUPS)}",
    )


@pytest.mark.parametrize("op", ["in", "not_in", "contains_any", "contains_all"])
def test_list_lookups_name_themselves_when_not_given_a_list(op: str) -> None:
    refuses(lambda: compile_filters({f"a__{op}": 5}), "a", f"lookup {op} on 'a' needs a list")


@pytest.mark.parametrize(
    "filters",
    [{"a__contains": 2**70}, {"a__between": (2**70, 1)}, {"a__between": (1, 2**70)}, {"a__gt": 2**70}],
)
def test_bad_values_of_every_lookup_name_the_field(filters: dict[str, Any]) -> None:
    refuses(
        lambda: compile_filters(filters),
        "a",
        "filter value for 'a' holds an integer outside the signed 64-bit range",
    )


def test_too_deep_filter_value_names_the_field() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    err = refuses(lambda: compile_filters({"a": deep}), "a")
    assert "nested too deeply" in err.message


def test_bytearray_filter_values_are_bound_as_bytes() -> None:
    cond = compile_filters({"b": bytearray(b"xy")})
    assert cond is not None
    [value] = cond.vars.values()
    assert type(value) is bytes
    assert value == b"xy"
