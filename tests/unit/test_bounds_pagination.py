"""Pagination bounds, both sides: cursor length 8,192, page limit 1..1000, offset 0..2^63-1.

Each refusal is asserted with its exact ``context["argument"]``.
"""

from __future__ import annotations

import pytest
from strict_errors import refuses

from agentical_repo.pagination import (
    MAX_CURSOR_LENGTH,
    MAX_OFFSET,
    PaginationParams,
    decode_cursor,
    encode_cursor,
)
from agentical_repo.validation import MAX_PAGE_LIMIT, page_limit

ORDER = [("name", False), ("id", False)]


def test_documented_values() -> None:
    assert (MAX_CURSOR_LENGTH, MAX_PAGE_LIMIT, MAX_OFFSET) == (8192, 1000, 2**63 - 1)


def cursor_of_length(length: int) -> tuple[str, str]:
    """(cursor, name) where ``encode_cursor`` gives exactly ``length`` characters."""
    for n in range(length):
        name = "n" * n
        cursor = encode_cursor(ORDER, [name, 7])
        if len(cursor) == length:
            return cursor, name
        if len(cursor) > length:
            break
    raise AssertionError(f"no cursor of length {length}")


def test_cursor_of_exactly_max_length_round_trips() -> None:
    cursor, name = cursor_of_length(MAX_CURSOR_LENGTH)
    assert decode_cursor(cursor, ORDER) == [name, 7]


def test_cursor_one_character_longer_is_refused_before_decoding() -> None:
    cursor, _ = cursor_of_length(MAX_CURSOR_LENGTH)
    refuses(
        lambda: decode_cursor(cursor + "A", ORDER),
        "after",
        "invalid cursor: too long (at most 8,192 characters)",
    )


def test_sort_values_too_long_for_a_cursor_are_refused_when_encoding() -> None:
    _, name = cursor_of_length(MAX_CURSOR_LENGTH)
    refuses(lambda: encode_cursor(ORDER, [name + "nnn", 7]), "order_by")


@pytest.mark.parametrize("limit", [1, MAX_PAGE_LIMIT])
def test_page_limit_accepted_at_both_ends(limit: int) -> None:
    assert page_limit(limit) == limit
    assert PaginationParams(limit=limit).limit == limit


@pytest.mark.parametrize("limit", [0, MAX_PAGE_LIMIT + 1])
def test_page_limit_refused_just_outside(limit: int) -> None:
    message = "limit must be an integer in 1..1000"
    refuses(lambda: page_limit(limit), "limit", message)
    refuses(lambda: PaginationParams(limit=limit), "limit", message)


def test_page_limit_names_the_callers_argument() -> None:
    refuses(lambda: page_limit(0, "last_n"), "last_n", "last_n must be an integer in 1..1000")


def test_offset_range_both_ends() -> None:
    assert PaginationParams(offset=0).offset == 0
    assert PaginationParams(offset=MAX_OFFSET).offset == MAX_OFFSET
    refuses(lambda: PaginationParams(offset=-1), "offset")
    refuses(lambda: PaginationParams(offset=MAX_OFFSET + 1), "offset")
