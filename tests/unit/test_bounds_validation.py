"""Write-payload and argument bounds of ``validation``, both sides of each exact limit.

One write carries at most 16 MiB (string lengths, key lengths, 8 bytes per other
scalar) and nests objects/arrays at most 32 levels per field value (a scalar is 0,
``{}`` is 1); identifiers are at most 128 characters; page sizes are 1..1000; texts
are bounded by their ``max_length``. Each refusal names its argument exactly.
"""

from __future__ import annotations

from typing import Any

import pytest
from strict_errors import refuses

from agentical_repo.validation import (
    MAX_IDENT_LEN,
    MAX_NESTING,
    MAX_PAGE_LIMIT,
    MAX_PAYLOAD_BYTES,
    check_nesting,
    check_payload,
    is_identifier,
    nesting_depth,
    require_int,
    require_text,
)


def test_documented_values() -> None:
    """docs/security.md: 16 MiB per write, 32 levels per field value."""
    assert (MAX_PAYLOAD_BYTES, MAX_NESTING) == (16 * 2**20, 32)
    assert (MAX_IDENT_LEN, MAX_PAGE_LIMIT) == (128, 1000)


# ----------------------------------------------------------------------------- payload size


def test_payload_of_exactly_16_mib_is_accepted() -> None:
    # the key "name" costs nothing in a record body (it is a field name, not a value)
    check_payload({"content": {"name": "x" * MAX_PAYLOAD_BYTES}})
    # split over two fields and a nested key: 4 + (MAX - 4 - 8) + 8 (an int)
    check_payload({"content": {"a": {"kkkk": "y" * (MAX_PAYLOAD_BYTES - 12)}, "b": 1}})


def test_payload_one_byte_over_is_refused_naming_the_field() -> None:
    refuses(
        lambda: check_payload({"content": {"name": "x" * (MAX_PAYLOAD_BYTES + 1)}}),
        "name",
        "value of 'name' makes the write larger than 16 MiB",
    )
    refuses(
        lambda: check_payload({"content": {"a": {"kkkk": "y" * (MAX_PAYLOAD_BYTES - 11)}, "b": 1}}),
        "b",  # the field that crosses the budget
        "value of 'b' makes the write larger than 16 MiB",
    )


def test_payload_outside_a_record_body_names_the_parameter() -> None:
    check_payload({"v": "z" * MAX_PAYLOAD_BYTES})
    refuses(
        lambda: check_payload({"v": "z" * (MAX_PAYLOAD_BYTES + 1)}),
        "v",
        "value of 'v' makes the write larger than 16 MiB",
    )


# ----------------------------------------------------------------------------- nesting


def nested(levels: int) -> Any:
    """A value of exactly ``levels`` levels (dicts and lists alternating around a scalar)."""
    value: Any = 1
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def test_nesting_depth_counts_levels() -> None:
    assert [nesting_depth(nested(n)) for n in (0, 1, 2, 32)] == [0, 1, 2, 32]
    assert nesting_depth({}) == 1
    assert nesting_depth({"a": [1]}) == 2


def test_field_value_of_exactly_32_levels_is_accepted() -> None:
    check_nesting(nested(MAX_NESTING), "config")
    check_payload({"content": {"config": nested(MAX_NESTING)}})


def test_field_value_of_33_levels_is_refused_naming_the_field() -> None:
    refuses(
        lambda: check_nesting(nested(MAX_NESTING + 1), "config"),
        "config",
        "config is nested too deeply (more than 32 levels)",
    )
    refuses(
        lambda: check_payload({"content": {"config": nested(MAX_NESTING + 1)}}),
        "config",
        "value of 'config' is nested too deeply (more than 32 levels)",
    )


def test_key_path_levels_count_towards_the_limit() -> None:
    # config.a.b = v stores v two objects below config
    check_nesting(nested(MAX_NESTING - 2), "config", prefix=2)
    refuses(
        lambda: check_nesting(nested(MAX_NESTING - 1), "config", prefix=2),
        "config",
        "config is nested too deeply (more than 32 levels, its key path included)",
    )


# ----------------------------------------------------------------------------- arguments


def test_identifier_length_both_sides() -> None:
    assert is_identifier("a" * MAX_IDENT_LEN)
    assert not is_identifier("a" * (MAX_IDENT_LEN + 1))


@pytest.mark.parametrize("length", [1, 128])
def test_text_accepted_at_both_ends(length: int) -> None:
    assert require_text("t" * length, "name") == "t" * length


@pytest.mark.parametrize("value", ["", "t" * 129])
def test_text_refused_just_outside(value: str) -> None:
    refuses(
        lambda: require_text(value, "name"),
        "name",
        "name must be a non-empty string of at most 128 characters",
    )


def test_int_range_accepted_at_both_ends() -> None:
    assert require_int(1, "n", 1, 3) == 1
    assert require_int(3, "n", 1, 3) == 3


@pytest.mark.parametrize("bad", [0, 4, True, 2.0])
def test_int_range_refused_just_outside(bad: object) -> None:
    refuses(lambda: require_int(bad, "n", 1, 3), "n", "n must be an integer in 1..3")
