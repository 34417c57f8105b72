"""Every documented bound of the query layer, tested on both sides of the exact limit.

Filters (``in`` lists of 10,000 values, 64 keys, groups nested 8 deep, 8 order keys),
identifiers (128 characters; echoed in a message up to 64), parameter-name hints (64
characters) and the builder's ``limit``/``start`` ranges. Each refusal is asserted with
its exact ``context["argument"]``.
"""

from __future__ import annotations

from typing import Any

import pytest
from strict_errors import refuses

from agentical_repo.surql import builder
from agentical_repo.surql.filters import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_KEYS,
    MAX_IN_VALUES,
    MAX_ORDER_KEYS,
    compile_filters,
    normalize_order,
)
from agentical_repo.surql.idents import MAX_IDENT_LEN, field_path, identifier, is_identifier
from agentical_repo.surql.statement import ParamStore, Var

# ----------------------------------------------------------------------------- documented values


def test_documented_values() -> None:
    """docs/filters.md: 64 keys, 10,000 values; groups nest 8 deep; 8 order keys; 128-char names."""
    assert (MAX_FILTER_KEYS, MAX_IN_VALUES, MAX_FILTER_DEPTH, MAX_ORDER_KEYS) == (64, 10_000, 8, 8)
    assert MAX_IDENT_LEN == 128


# ----------------------------------------------------------------------------- in / not_in lists


@pytest.mark.parametrize("op", ["in", "not_in", "contains_any", "contains_all"])
def test_list_lookup_takes_exactly_max_in_values(op: str) -> None:
    cond = compile_filters({f"n__{op}": list(range(MAX_IN_VALUES))})
    assert cond is not None
    [bound] = cond.vars.values()
    assert list(bound) == list(range(MAX_IN_VALUES))


@pytest.mark.parametrize("op", ["in", "not_in", "contains_any", "contains_all"])
def test_list_lookup_refuses_one_more_than_max_in_values(op: str) -> None:
    refuses(
        lambda: compile_filters({f"n__{op}": list(range(MAX_IN_VALUES + 1))}),
        "n",
        f"lookup {op} on 'n': bad list length",
    )


# ----------------------------------------------------------------------------- filter keys


def flat(n: int) -> dict[str, Any]:
    return {f"k{i}": i for i in range(n)}


def test_filter_takes_exactly_max_keys() -> None:
    cond = compile_filters(flat(MAX_FILTER_KEYS))
    assert cond is not None
    assert len(cond.vars) == MAX_FILTER_KEYS


def test_filter_refuses_one_key_more() -> None:
    refuses(lambda: compile_filters(flat(MAX_FILTER_KEYS + 1)), "filters", "too many filter keys (max 64)")


def test_keys_inside_groups_count_towards_the_limit() -> None:
    # one "$and" key plus 63 keys inside it: 64 in all
    assert compile_filters({"$and": [flat(MAX_FILTER_KEYS - 1)]}) is not None
    refuses(
        lambda: compile_filters({"$and": [flat(MAX_FILTER_KEYS)]}),
        "filters",
        "too many filter keys (max 64)",
    )
    # spread over two members and the top level
    half = MAX_FILTER_KEYS // 2
    ok = {"$or": [flat(half - 1), {f"j{i}": i for i in range(half - 1)}], "z": 1}
    assert len(ok) + (half - 1) + (half - 1) == MAX_FILTER_KEYS
    assert compile_filters(ok) is not None
    over = {"$or": [flat(half), {f"j{i}": i for i in range(half - 1)}], "z": 1}
    refuses(lambda: compile_filters(over), "filters", "too many filter keys (max 64)")


# ----------------------------------------------------------------------------- group depth


def nested(depth: int) -> dict[str, Any]:
    """``depth`` groups nested inside each other around one leaf."""
    node: dict[str, Any] = {"n": 1}
    for i in range(depth):
        node = {"$not": node} if i % 2 else {"$and": [node]}
    return node


def test_groups_nest_exactly_max_depth() -> None:
    cond = compile_filters(nested(MAX_FILTER_DEPTH))
    assert cond is not None
    assert list(cond.vars.values()) == [1]


def test_groups_refuse_one_level_deeper() -> None:
    refuses(
        lambda: compile_filters(nested(MAX_FILTER_DEPTH + 1)),
        "filters",
        "filter groups are nested too deeply (max 8)",
    )


# ----------------------------------------------------------------------------- order keys


def test_order_takes_exactly_max_order_keys() -> None:
    keys = [f"f{i}" for i in range(MAX_ORDER_KEYS)]
    assert normalize_order(keys) == [(k, False) for k in keys]


def test_order_refuses_one_key_more() -> None:
    refuses(lambda: normalize_order([f"f{i}" for i in range(MAX_ORDER_KEYS + 1)]), "order_by")


# ----------------------------------------------------------------------------- identifiers


def test_identifier_length_limit_both_sides() -> None:
    assert identifier("a" * MAX_IDENT_LEN) == "a" * MAX_IDENT_LEN
    assert is_identifier("a" * MAX_IDENT_LEN)
    assert not is_identifier("a" * (MAX_IDENT_LEN + 1))
    refuses(lambda: identifier("a" * (MAX_IDENT_LEN + 1), what="table"), "table")
    assert field_path(".".join(["a" * MAX_IDENT_LEN] * 2)) == ".".join(["a" * MAX_IDENT_LEN] * 2)
    refuses(lambda: field_path("a." + "b" * (MAX_IDENT_LEN + 1)), "field")


def test_invalid_identifier_is_echoed_up_to_64_characters() -> None:
    at_limit = "-" * 64
    err = refuses(lambda: identifier(at_limit), "identifier")
    assert err.message == f"invalid identifier {at_limit!r}: must match ^[A-Za-z_][A-Za-z0-9_]*$"
    over = "-" * 65
    err = refuses(lambda: identifier(over), "identifier")
    assert err.message == "invalid identifier 'str': must match ^[A-Za-z_][A-Za-z0-9_]*$"


def test_invalid_field_path_is_echoed_up_to_64_characters() -> None:
    at_limit = "a." + "-" * 62
    assert len(at_limit) == 64
    err = refuses(lambda: field_path(at_limit), "field")
    assert err.message == (
        f"invalid field {at_limit!r}: each dotted segment must match ^[A-Za-z_][A-Za-z0-9_]*$"
    )
    over = at_limit + "-"
    err = refuses(lambda: field_path(over), "field")
    assert err.message == (
        f"invalid field {over[:61] + '...'!r}: each dotted segment must match ^[A-Za-z_][A-Za-z0-9_]*$"
    )


def test_field_path_default_argument_is_field() -> None:
    refuses(lambda: field_path(""), "field", "invalid field: expected a non-empty string")
    refuses(lambda: field_path(5), "field", "invalid field: expected a non-empty string")
    refuses(lambda: field_path("", what="order_by field"), "order_by field")


# ----------------------------------------------------------------------------- parameter names


def test_parameter_names_keep_64_characters_of_a_hint() -> None:
    store = ParamStore()
    assert store.name(Var(1, "h" * 64)) == "h" * 64
    assert store.name(Var(2, "g" * 65)) == "g" * 64
    assert store.name(Var(3, "g" * 70)) == "g" * 64 + "_1"


# ----------------------------------------------------------------------------- builder ranges


@pytest.mark.parametrize("limit", [0, 1_000_000])
def test_select_limit_range_accepted_at_both_ends(limit: int) -> None:
    assert builder.select("agent", limit=limit).vars == {"limit": limit}


@pytest.mark.parametrize("limit", [-1, 1_000_001])
def test_select_limit_refused_just_outside(limit: int) -> None:
    refuses(lambda: builder.select("agent", limit=limit), "limit", "limit must be an integer in 0..1000000")


def test_select_start_range_both_ends() -> None:
    assert builder.select("agent", start=10**12).vars == {"start": 10**12}
    assert builder.select("agent", start=0).vars == {}  # START 0 is no clause
    refuses(lambda: builder.select("agent", start=10**12 + 1), "start")
    refuses(lambda: builder.select("agent", start=-1), "start")
