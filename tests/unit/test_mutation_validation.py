"""``validation`` pinned where mutation testing found it loosely asserted: enum lookups
through Optional/Annotated/unions, object keys at any depth, Decimal range both sides,
update key paths, bool and enum refusals, nested models counted as objects."""

from __future__ import annotations

import decimal
import enum
from typing import Annotated, Any, Optional, Union

import pytest
from pydantic import BaseModel
from strict_errors import refuses

from agentical_repo.validation import (
    DECIMAL_MAX,
    DECIMAL_MAX_SCALE,
    check_object_keys,
    check_update_path,
    enum_value,
    field_enum,
    nesting_depth,
    require_bool,
    scalar_problem,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Shape(enum.Enum):
    ROUND = "round"


class Model(BaseModel):
    plain: Color
    optional: Color | None = None
    old_optional: Optional[Color] = None  # noqa: UP045 (the typing spelling is a different origin)
    union: Union[int, Color] = 1  # noqa: UP007
    annotated: Annotated[Color, "meta"] = Color.RED
    nested: Annotated[Color | None, "meta"] = None
    first_enum_wins: Shape | Color = Shape.ROUND
    number: int = 0
    text: str | None = None


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("plain", Color),
        ("optional", Color),
        ("old_optional", Color),
        ("union", Color),
        ("annotated", Color),
        ("nested", Color),
        ("first_enum_wins", Shape),
        ("number", None),
        ("text", None),
        ("missing", None),
    ],
)
def test_field_enum_unwraps_optional_annotated_and_unions(path: str, kind: type[enum.Enum] | None) -> None:
    assert field_enum(Model, path) is kind


def test_field_enum_of_something_without_fields() -> None:
    assert field_enum(object(), "plain") is None


def test_enum_value_refusal_lists_the_members() -> None:
    assert enum_value(Color, "red") is Color.RED
    assert enum_value(Color, Color.BLUE) is Color.BLUE
    refuses(lambda: enum_value(Color, "green"), "status", "status must be one of red, blue")
    refuses(lambda: enum_value(Color, ["red"], "color"), "color", "color must be one of red, blue")


@pytest.mark.parametrize("value", [True, False])
def test_require_bool_accepts_bools(value: bool) -> None:
    assert require_bool(value, "flag") is value


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_require_bool_refuses_anything_else(value: object) -> None:
    refuses(lambda: require_bool(value, "flag"), "flag", "flag must be a bool")


def test_object_keys_must_be_strings_at_any_depth() -> None:
    check_object_keys({"a": [{"b": (1, {"c": 2})}]}, "config")
    message = "config keys must be strings"
    refuses(lambda: check_object_keys({1: "x"}, "config"), "config", message)
    refuses(lambda: check_object_keys({"a": [{"b": {2: 1}}]}, "config"), "config", message)
    refuses(lambda: check_object_keys([({"a": {None: 1}},)], "config"), "config", message)


def test_object_keys_check_bounds_the_nesting() -> None:
    deep: Any = 1
    for _ in range(33):
        deep = {"k": deep}
    err = refuses(lambda: check_object_keys(deep, "config"), "config")
    assert err.message == "config is nested too deeply (more than 32 levels)"


def test_decimal_range_both_sides() -> None:
    assert scalar_problem(decimal.Decimal(DECIMAL_MAX)) is None
    assert scalar_problem(decimal.Decimal(-DECIMAL_MAX)) is None
    assert scalar_problem(decimal.Decimal(1).scaleb(-DECIMAL_MAX_SCALE)) is None
    outside = (
        "holds a Decimal outside the database's decimal range (at most 28 digits after the point, "
        "magnitude below 2**96)"
    )
    assert scalar_problem(decimal.Decimal(DECIMAL_MAX + 1)) == outside
    assert scalar_problem(decimal.Decimal(1).scaleb(-DECIMAL_MAX_SCALE - 1)) == outside
    assert scalar_problem(decimal.Decimal("NaN")) == "holds a NaN or infinite number"
    assert scalar_problem(decimal.Decimal("-Infinity")) == "holds a NaN or infinite number"


def test_update_paths_count_their_key_segments() -> None:
    value: Any = 1
    for _ in range(30):
        value = [value]
    check_update_path("config.a.b", value)  # 2 + 30 = 32 levels
    refuses(
        lambda: check_update_path("config.a.b", [value]),
        "updates",
        "updates is nested too deeply (more than 32 levels, its key path included)",
    )
    check_update_path("config", [[value]])  # 32 levels, no key path
    refuses(lambda: check_update_path("config", [[[value]]], "changes"), "changes")
    err = refuses(lambda: check_update_path("config.a", {1: "x"}), "updates")
    assert err.message == "updates keys must be strings"


class Inner(BaseModel):
    items: list[int] = []


class Outer(BaseModel):
    inner: Inner = Inner()
    tag: str = "t"


def test_nested_models_count_as_objects() -> None:
    assert nesting_depth(Outer()) == 3  # Outer, Inner, the list
    assert nesting_depth({"m": Outer(inner=Inner(items=[1]))}) == 4
