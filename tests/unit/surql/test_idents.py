"""Identifier validation and quoting: the only caller text that may enter SurrealQL."""

from __future__ import annotations

import pytest

from agentical_repo.errors import ValidationError
from agentical_repo.surql.idents import RESERVED, field_path, identifier, is_identifier, quote


@pytest.mark.parametrize("name", ["agent", "_x", "A1", "created_at", "a" * 128, "_"])
def test_valid_identifiers_pass_through(name: str) -> None:
    assert identifier(name) == name
    assert is_identifier(name)


@pytest.mark.parametrize(
    "name",
    ["", "1a", "a-b", "a b", "a.b", "a;b", "a`b", "⟨a⟩", "é", "a\x00", "$a", "a" * 129, "agent:1", "a\n"],
)
def test_invalid_identifiers_refused_naming_the_argument(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        identifier(name, what="table")
    assert info.value.context == {"argument": "table"}
    assert "table" in str(info.value)
    assert not is_identifier(name)


@pytest.mark.parametrize("name", [None, 5, b"agent", ["agent"], object()])
def test_non_string_identifiers_refused_by_type_name(name: object) -> None:
    with pytest.raises(ValidationError) as info:
        identifier(name, what="edge")
    assert info.value.context["argument"] == "edge"
    assert type(name).__name__ in str(info.value)


def test_long_invalid_identifier_is_not_echoed() -> None:
    junk = "x;" * 100
    with pytest.raises(ValidationError) as info:
        identifier(junk)
    assert junk not in str(info.value)
    assert "str" in str(info.value)


@pytest.mark.parametrize("path", ["config", "config.model", "a.b.c", "state._x1"])
def test_field_path_accepts_dotted_identifiers(path: str) -> None:
    assert field_path(path) == path


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "a.1b", "a.b-c", "a.b c", "a.*", "a[0]", "->x"])
def test_field_path_refuses_each_bad_segment(path: str) -> None:
    with pytest.raises(ValidationError) as info:
        field_path(path, what="filter field")
    assert info.value.context == {"argument": "filter field"}


def test_field_path_refuses_non_strings() -> None:
    with pytest.raises(ValidationError, match="non-empty string"):
        field_path(None)
    with pytest.raises(ValidationError):
        field_path(["a"])


def test_field_path_truncates_long_paths_in_message() -> None:
    path = "a." * 60 + "-"
    with pytest.raises(ValidationError) as info:
        field_path(path)
    assert path not in str(info.value)
    assert "..." in str(info.value)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("value", "`value`"),
        ("VALUE", "`VALUE`"),
        ("name", "name"),
        ("config.value", "config.`value`"),
        ("in", "`in`"),
        ("out", "`out`"),
        ("select.from.where", "`select`.`from`.`where`"),
        ("status", "status"),
        ("order_by", "order_by"),
        ("values", "`values`"),
    ],
)
def test_quote_backticks_reserved_segments_only(path: str, expected: str) -> None:
    assert quote(path) == expected


def test_quote_validates_first() -> None:
    with pytest.raises(ValidationError):
        quote("a`b")
    with pytest.raises(ValidationError):
        quote("value; DELETE agent")


def test_reserved_words_are_lowercase_identifiers() -> None:
    assert all(word == word.lower() and is_identifier(word) for word in RESERVED)
    assert {"value", "in", "out", "select", "where", "none", "null"} <= RESERVED
