"""Redaction bounds, both sides: a bound leaf of 3+ characters is cut out, 2 is kept.

``errors.redact`` replaces every string leaf (and every non-identifier key) of the
bound values that is at least 3 characters long, walking at most 8 levels of
containers below the value. Each side of each limit is pinned here.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentical_repo.errors import redact

R = "<redacted>"


def test_three_character_value_is_redacted() -> None:
    assert redact("value xyz here", [{"f": "xyz"}]) == f"value {R} here"


def test_two_character_value_is_kept() -> None:
    # too short to be told apart from the words of a message
    assert redact("value xy here", [{"f": "xy"}]) == "value xy here"


def test_top_level_string_values_follow_the_same_limit() -> None:
    assert redact("a qqq b", ["qqq"]) == f"a {R} b"
    assert redact("a qq b", ["qq"]) == "a qq b"


def test_three_character_non_identifier_key_is_redacted() -> None:
    assert redact("key a-b seen", [{"a-b": 1}]) == f"key {R} seen"


def test_two_character_non_identifier_key_is_kept() -> None:
    assert redact("key a- seen", [{"a-": 1}]) == "key a- seen"


def test_identifier_keys_are_structure_not_values() -> None:
    assert redact("field status seen", [{"status": 1}]) == "field status seen"


def test_longest_leaf_is_replaced_first() -> None:
    assert redact("abcdef", [["abc", "abcdef"]]) == R


def nested_leaf(depth: int, leaf: str) -> Any:
    """``leaf`` inside ``depth`` levels of containers (dicts and lists alternating)."""
    value: Any = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize("depth", [0, 1, 7, 8])
def test_leaves_down_to_depth_8_are_redacted(depth: int) -> None:
    assert redact("got zzzsecret", [nested_leaf(depth, "zzzsecret")]) == f"got {R}"


def test_leaf_below_depth_8_is_not_walked() -> None:
    assert redact("got zzzsecret", [nested_leaf(9, "zzzsecret")]) == "got zzzsecret"


def test_keys_are_walked_to_the_same_depth() -> None:
    at_limit: Any = {"k-1": 0}
    for _ in range(8):
        at_limit = {"n": at_limit}
    # the key sits in a dict 8 levels below the value: the dict itself is at depth 8
    assert redact("key k-1", [at_limit]) == f"key {R}"
    assert redact("key k-1", [{"n": at_limit}]) == "key k-1"


def test_no_values_leaves_the_message_alone() -> None:
    assert redact("plain text", []) == "plain text"
    assert redact("plain text", [{"a": 1, "b": None}]) == "plain text"
