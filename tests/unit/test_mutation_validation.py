"""``validation`` pinned where mutation testing found it loosely asserted: enum lookups
through Optional/Annotated/unions, object keys at any depth, Decimal range both sides,
update key paths, bool and enum refusals, nested models counted as objects; UUIDs and
record ids of a table, composite record keys, every walk going on past strings and
stopping at its limit, raw-SurrealQL values, and write payloads (record bodies, rows,
any mapping or sequence, depth per kind, bytearray sizes, long field names)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Optional, Union

import pytest
from pydantic import BaseModel
from strict_errors import refuses
from surrealdb import RecordID

from agentical_repo.validation import (
    DECIMAL_MAX,
    DECIMAL_MAX_SCALE,
    MAX_NESTING,
    MAX_PAYLOAD_BYTES,
    MAX_SENDABLE_NESTING,
    as_uuid,
    check_nesting,
    check_object_keys,
    check_payload,
    check_sendable,
    check_update_path,
    check_value,
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


# ----------------------------------------------------------------------------- ids


def test_as_uuid_refusals_name_the_argument_and_the_rule() -> None:
    fixed = uuid.uuid4()
    assert as_uuid(str(fixed)) == fixed
    refuses(lambda: as_uuid("not-a-uuid"), "id", "id must be a UUID")
    refuses(lambda: as_uuid(42, "task_id"), "task_id", "task_id must be a UUID")


def test_as_uuid_checks_the_table_of_a_record_id() -> None:
    fixed = uuid.uuid4()
    assert as_uuid(RecordID("task", fixed), "task_id", "task") == fixed
    assert as_uuid(RecordID("agent", fixed), "task_id") == fixed  # no table asked for: any table
    refuses(
        lambda: as_uuid(RecordID("agent", fixed), "task_id", "task"),
        "task_id",
        "task_id must be an id of table task",
    )


# ----------------------------------------------------------------------------- scalars

INT_RANGE = "holds an integer outside the signed 64-bit range"
NAN = "holds a NaN or infinite number"


class Big(enum.Enum):
    FINE = 7
    HUGE = 2**64


def test_scalar_problem_phrases() -> None:
    assert scalar_problem(math.nan) == NAN
    assert scalar_problem(-math.inf) == NAN
    assert scalar_problem(1.5) is None
    assert (
        scalar_problem(dt.date(2024, 1, 2)) == "holds a date: store a datetime, or the ISO date as a string"
    )
    assert scalar_problem(1j) == "holds a value of unsupported type complex"
    assert scalar_problem(dt.timedelta(1)) == "holds a value of unsupported type timedelta"


def test_scalar_problem_of_an_enum_is_that_of_its_value() -> None:
    assert scalar_problem(Big.FINE) is None
    assert scalar_problem(Big.HUGE) == INT_RANGE


def test_record_id_keys_scalar_and_composite() -> None:
    assert scalar_problem(RecordID("t", 7)) is None
    assert scalar_problem(RecordID("t", 2**64)) == INT_RANGE
    assert scalar_problem(RecordID("t", [1, "a", {"b": 2}])) is None
    assert scalar_problem(RecordID("t", ("a", 1))) is None
    # a bad scalar anywhere in a composite key, before or after good ones, inside an object
    assert scalar_problem(RecordID("t", [2**64, 1])) == INT_RANGE
    assert scalar_problem(RecordID("t", [1, 2**64])) == INT_RANGE
    assert scalar_problem(RecordID("t", ["a", {"b": math.nan}])) == NAN
    assert scalar_problem(RecordID("t", {"b": [dt.time(1)]})) == "holds a value of unsupported type time"


def record_key(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_record_id_key_depth_both_sides() -> None:
    assert scalar_problem(RecordID("t", record_key(MAX_NESTING))) is None
    assert (
        scalar_problem(RecordID("t", record_key(MAX_NESTING + 1)))
        == "holds a record id nested too deeply (more than 32 levels)"
    )


# ----------------------------------------------------------------------------- nesting walks


def test_nesting_depth_goes_on_past_strings_and_scalars() -> None:
    # the last item is popped first: a string or scalar must not end the walk
    assert nesting_depth([[1], "a"]) == 2
    assert nesting_depth([[1], b"a"]) == 2
    assert nesting_depth([[1], 5]) == 2
    assert nesting_depth({"a": {"b": 1}, "c": None}) == 2


class Probe(Mapping[str, Any]):
    """An empty object that records whether the walk read it."""

    def __init__(self) -> None:
        self.read = False

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        self.read = True
        return iter(())

    def __len__(self) -> int:
        return 0


def test_check_nesting_stops_at_the_limit_left_by_the_key_path() -> None:
    # config.a.b = v: v may hold 30 levels; the walk stops at the 31st, never reading below
    probe = Probe()
    value: Any = probe  # level 31
    for _ in range(30):
        value = {"k": value}
    refuses(
        lambda: check_nesting(value, "config", prefix=2),
        "config",
        "config is nested too deeply (more than 32 levels, its key path included)",
    )
    assert not probe.read
    # without a key path the same value fits, and is read to the bottom
    check_nesting(value, "config")
    assert probe.read


def test_check_value_without_a_key_path_allows_32_levels() -> None:
    check_value(record_key(MAX_NESTING), "config")
    refuses(
        lambda: check_value(record_key(MAX_NESTING + 1), "config"),
        "config",
        "config is nested too deeply (more than 32 levels)",
    )


def test_check_value_checks_every_scalar() -> None:
    check_value({"a": ["x", True, None, 1, 1.5, {"b": (2, frozenset({3}))}]}, "config")
    refuses(lambda: check_value({"a": 2**64}, "config"), "config", f"config {INT_RANGE}")
    # the string is popped first: it must not end the walk
    refuses(lambda: check_value([2**64, "a"], "config"), "config", f"config {INT_RANGE}")
    refuses(lambda: check_value([2**64, None], "config"), "config", f"config {INT_RANGE}")
    refuses(lambda: check_value([math.nan, True], "config"), "config", f"config {NAN}")


class Holder(BaseModel):
    when: Any = None


def test_check_value_reads_nested_models() -> None:
    check_value({"m": Holder(when="2024-01-02")}, "config")
    refuses(
        lambda: check_value({"m": Holder(when=dt.date(2024, 1, 2))}, "config"),
        "config",
        "config holds a date: store a datetime, or the ISO date as a string",
    )
    refuses(lambda: check_value([Holder(when=2**64)], "config"), "config", f"config {INT_RANGE}")


class Bag(BaseModel):
    colors: list[Color] = []
    by_name: dict[str, Color] = {}


@pytest.mark.parametrize("path", ["colors", "by_name"])
def test_field_enum_does_not_look_inside_containers(path: str) -> None:
    assert field_enum(Bag, path) is None


# ----------------------------------------------------------------------------- raw SurrealQL values


def test_check_sendable_checks_past_strings_and_floats() -> None:
    check_sendable({"v": ["a", b"b", 1.5, math.nan, None, 1]})
    refuses(lambda: check_sendable({"v": [2**64, "a"]}), "vars", f"vars $v {INT_RANGE}")
    refuses(lambda: check_sendable({"v": [2**64, 1.5]}, "params"), "params", f"params $v {INT_RANGE}")


def test_check_sendable_depth_and_key_messages() -> None:
    value: Any = 1
    for _ in range(MAX_SENDABLE_NESTING + 1):
        value = [value]
    refuses(
        lambda: check_sendable({"v": value}), "vars", "vars $v is nested too deeply (more than 64 levels)"
    )
    refuses(
        lambda: check_sendable({"w": {"a": {1: "x"}}}),
        "vars",
        "vars $w has an object key that is not a string",
    )
    refuses(
        lambda: check_sendable({"w": [{None: 1}]}, "params"),
        "params",
        "params $w has an object key that is not a string",
    )


# ----------------------------------------------------------------------------- write payloads

DEEP = "is nested too deeply (more than 32 levels)"
NOT_STRING_KEY = "has an object key that is not a string"


def lists(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def dicts(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize("body", ["content", "data"])
def test_payload_record_bodies_are_reported_by_field(body: str) -> None:
    refuses(lambda: check_payload({body: {"n": 2**64}}), "n", f"value of 'n' {INT_RANGE}")
    # a key that is no field name is reported by the parameter
    refuses(lambda: check_payload({body: {"a b": 2**64}}), body, f"value of {body!r} {INT_RANGE}")


def test_payload_other_dicts_are_reported_by_parameter() -> None:
    refuses(lambda: check_payload({"vars": {"n": 2**64}}), "vars", f"value of 'vars' {INT_RANGE}")


def test_payload_rows_are_record_bodies() -> None:
    refuses(lambda: check_payload({"rows": [{"a": 1}, {"n": 2**64}]}), "n", f"value of 'n' {INT_RANGE}")
    refuses(lambda: check_payload({"rows": [{"a b": 2**64}]}), "rows", f"value of 'rows' {INT_RANGE}")
    # a row that is not an object is one value of the parameter
    check_payload({"rows": ["x", 1]})
    refuses(lambda: check_payload({"rows": [1, 2**64]}), "rows", f"value of 'rows' {INT_RANGE}")
    # a list under another name is one value
    refuses(lambda: check_payload({"tags": [{"n": 2**64}]}), "tags", f"value of 'tags' {INT_RANGE}")


def test_payload_scalar_problems_name_the_field() -> None:
    refuses(lambda: check_payload({"v": 2**64}), "v", f"value of 'v' {INT_RANGE}")
    refuses(lambda: check_payload({"v": [math.inf]}), "v", f"value of 'v' {NAN}")
    refuses(
        lambda: check_payload({"content": {"n": [1j]}}),
        "n",
        "value of 'n' holds a value of unsupported type complex",
    )
    check_payload({"v": [True, 2**63 - 1, -(2**63), 0.5, None, b"x", bytearray(b"y")]})
    refuses(lambda: check_payload({"v": [2**63]}), "v", f"value of 'v' {INT_RANGE}")
    refuses(lambda: check_payload({"v": [-(2**63) - 1]}), "v", f"value of 'v' {INT_RANGE}")


def test_payload_walks_any_mapping_and_any_sequence() -> None:
    check_payload({"v": MappingProxyType({"a": (1, "b"), "c": frozenset({2})})})
    refuses(lambda: check_payload({"v": MappingProxyType({"a": 2**64})}), "v", f"value of 'v' {INT_RANGE}")
    refuses(lambda: check_payload({"v": ("a", 2**64)}), "v", f"value of 'v' {INT_RANGE}")
    refuses(lambda: check_payload({"v": {2**64}}), "v", f"value of 'v' {INT_RANGE}")


def test_payload_object_keys_must_be_strings() -> None:
    refuses(lambda: check_payload({"v": {1: "x"}}), "v", f"value of 'v' {NOT_STRING_KEY}")
    refuses(
        lambda: check_payload({"content": {"cfg": [{None: 1}]}}), "cfg", f"value of 'cfg' {NOT_STRING_KEY}"
    )


@pytest.mark.parametrize("make", [lists, dicts], ids=["lists", "dicts"])
def test_payload_depth_both_sides_for_each_kind(make: Any) -> None:
    check_payload({"v": make(MAX_NESTING)})
    check_payload({"content": {"cfg": make(MAX_NESTING)}})
    refuses(lambda: check_payload({"v": make(MAX_NESTING + 1)}), "v", f"value of 'v' {DEEP}")
    refuses(
        lambda: check_payload({"content": {"cfg": make(MAX_NESTING + 1)}}), "cfg", f"value of 'cfg' {DEEP}"
    )


def test_payload_counts_bytearrays_by_length() -> None:
    check_payload({"content": {"a": "x" * (MAX_PAYLOAD_BYTES - 10), "b": bytearray(10)}})
    refuses(
        lambda: check_payload({"content": {"a": "x" * (MAX_PAYLOAD_BYTES - 10), "b": bytearray(11)}}),
        "b",
        "value of 'b' makes the write larger than 16 MiB",
    )


def test_payload_error_cuts_a_long_field_name_to_64_characters() -> None:
    name = "f" * 70
    refuses(lambda: check_payload({"content": {name: 2**64}}), "f" * 64, f"value of {'f' * 64!r} {INT_RANGE}")
    refuses(lambda: check_payload({name: 2**64}), "f" * 64, f"value of {'f' * 64!r} {INT_RANGE}")
