"""``agentical_repo.pagination`` pinned exactly, for the mutation gate (group ``repositories``).

Cursors byte for byte, every accepted and refused sort value with its exact message,
every decoded value with its exact type, the keyset order and the annotation walk.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel
from strict_errors import refuses
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime
from surrealdb.data.types.null import Null

from agentical_repo.pagination import (
    MAX_CURSOR_LENGTH,
    Page,
    PaginationParams,
    check_keyset_order,
    check_sort_values,
    decode_cursor,
    dig,
    encode_cursor,
    keyset_order,
)

ORDER = [("k", False), ("id", True)]
U = uuid.UUID("12345678-1234-5678-1234-567812345678")
STAMP = PreciseDatetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC, nanosecond=789)
SCALARS = "keyset pages order only by scalar values"
ROW_RULE = (
    "keyset pages order only by scalar values (strings, numbers, booleans, datetimes, UUIDs, "
    "record ids, null or missing)"
)


def raw(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def text_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unpadded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# --------------------------------------------------------------------------- PaginationParams / Page / dig


def test_params_refuse_what_is_not_a_mapping_as_pagination() -> None:
    refuses(
        lambda: PaginationParams.model_validate(5),
        "pagination",
        "pagination takes only limit, offset and order_by",
    )
    params: Any = PaginationParams
    refuses(lambda: params(other=1), "pagination", "pagination takes only limit, offset and order_by")
    refuses(lambda: params(offset="1"), "offset", "offset must be an integer in 0..9223372036854775807")
    refuses(
        lambda: PaginationParams(order_by=5),
        "order_by",
        "order_by must be a field name or a list of field names",
    )


def test_page_iterates_its_items() -> None:
    page = Page[int](items=[3, 1, 2], next_cursor="c")
    assert list(page) == [3, 1, 2]
    assert len(page) == 3


def test_dig_follows_dotted_paths_only_through_objects() -> None:
    row = {"a": {"b": {"c": 3}}, "a.b": 9, "s": 5, "l": [1]}
    assert dig(row, "a.b.c") == 3
    assert dig(row, "a.b") == {"c": 3}
    assert dig(row, "s.x") is None
    assert dig(row, "l.0") is None
    assert dig(row, "a.x.c") is None
    assert dig(row, "nope") is None
    assert dig({"a b": 1}, "a b") == 1


# --------------------------------------------------------------------------- keyset order


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ([], [("id", False)]),
        ([("a", True)], [("a", True), ("id", True)]),
        ([("a", False)], [("a", False), ("id", False)]),
        ([("a", True), ("b", False)], [("a", True), ("b", False), ("id", True)]),
        ([("a", False), ("id", True), ("b", False)], [("a", False), ("id", True)]),
        ([("id", True), ("a", False)], [("id", True)]),
    ],
)
def test_keyset_order_ends_in_id(order: list[tuple[str, bool]], expected: list[tuple[str, bool]]) -> None:
    assert keyset_order(order) == expected


class Inner(BaseModel):
    tags: list[str] = []
    meta: dict[str, int] = {}
    rank: int = 0


class Outer(BaseModel):
    n: int = 0
    kind: Literal["a", "b"] = "a"
    when: dt.datetime | None = None
    tags: list[int] = []
    pair: tuple[int, int] = (0, 0)
    bag: set[int] = set()
    frozen: frozenset[int] = frozenset()
    mapping: Mapping[str, int] = {}
    plain: dict[str, Any] = {}
    sub: Inner = Inner()
    inner: Inner | None = None
    old_style: Optional[Inner] = None  # noqa: UP045  (typing.Union, not types.UnionType)
    maybe_list: Optional[list[int]] = None  # noqa: UP045
    noted: Annotated[Inner | None, "doc"] = None
    noted_list: Annotated[list[int], "doc"] = []
    noted_in_union: Annotated[list[int], "doc"] | None = None  # Annotated kept only inside a union
    model_noted_in_union: Annotated[Inner, "doc"] | None = None
    scalar_first: int | Inner = 0
    lit_first: Literal["x"] | Inner = "x"


@pytest.mark.parametrize(
    "path",
    [
        "tags",
        "pair",
        "bag",
        "frozen",
        "mapping",
        "plain",
        "sub",
        "inner",
        "maybe_list",
        "noted_list",
        "noted_in_union",
        "model_noted_in_union.tags",
        "sub.tags",
        "inner.tags",
        "inner.meta",
        "old_style.tags",
        "noted.tags",
        "scalar_first.tags",
        "lit_first.meta",
    ],
)
def test_keyset_keys_holding_objects_or_arrays_are_refused(path: str) -> None:
    for order in ([(path, False)], [("n", False), (path, True)], [("unknown", False), (path, False)]):
        refuses(
            lambda order=order: check_keyset_order(Outer, order),  # type: ignore[misc]
            "order_by",
            f"order_by field {path!r} holds an object or array: {SCALARS}",
        )


@pytest.mark.parametrize(
    "path",
    [
        "n",
        "model_noted_in_union.rank",
        "kind",
        "when",
        "id",
        "unknown",
        "unknown.x",
        "n.x",
        "inner.rank",
        "inner.rank.x",
        "sub.nope",
        "plain.x",
    ],
)
def test_keyset_keys_of_scalars_or_unknown_fields_pass(path: str) -> None:
    check_keyset_order(Outer, [(path, False), ("id", False)])


# --------------------------------------------------------------------------- sort values


ACCEPTED = [
    None,
    Null,
    True,
    False,
    "",
    "s",
    0,
    5,
    2**63 - 1,
    -(2**63),
    1.5,
    -0.0,
    decimal.Decimal("1.50"),
    U,
    STAMP,
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    RecordID("agent", U),
    RecordID("agent", "s"),
    RecordID("agent", 5),
    RecordID("agent", 2**63 - 1),
]

REFUSED = [
    (2**63, "an integer beyond 64 bits"),
    (-(2**63) - 1, "an integer beyond 64 bits"),
    (float("inf"), "a non-finite number"),
    (float("nan"), "a non-finite number"),
    (decimal.Decimal("NaN"), "a non-finite number"),
    (decimal.Decimal("-Infinity"), "a non-finite number"),
    (RecordID("agent", 2**63), "an integer beyond 64 bits"),
    (RecordID("agent", [1, 2]), "a record id with a compound key"),
    (RecordID("agent", {"a": 1}), "a record id with a compound key"),
    ({"a": 1}, "an object or array"),
    ([1], "an object or array"),
    ((1,), "an object or array"),
    ({1}, "an object or array"),
    (frozenset({1}), "an object or array"),
    (dt.timedelta(days=1), "a timedelta value"),
    (b"x", "a bytes value"),
    (dt.date(2024, 1, 1), "a date value"),
]


@pytest.mark.parametrize("value", ACCEPTED, ids=repr)
def test_scalar_sort_values_are_accepted(value: Any) -> None:
    check_sort_values([{"k": {"x": value}}, {"k": {}}], [("k.x", False), ("id", False)])
    assert decode_cursor(encode_cursor(ORDER, [value, U]), ORDER) == [value, U]


@pytest.mark.parametrize(("value", "problem"), REFUSED, ids=repr)
def test_other_sort_values_are_refused_naming_the_kind(value: Any, problem: str) -> None:
    rows = [{"k": {"x": 1}, "z": 1}, {"k": {"x": value}, "z": 2}]
    refuses(
        lambda: check_sort_values(rows, [("z", False), ("k.x", False)]),
        "order_by",
        f"order_by field 'k.x' holds {problem} in a matching row: {ROW_RULE}",
    )
    refuses(
        lambda: encode_cursor([("k.x", False), ("id", False)], [value, U]),
        "order_by",
        f"order_by field 'k.x' holds {problem}: {SCALARS}",
    )


def test_encode_needs_one_value_per_key() -> None:
    with pytest.raises(ValueError, match="zip"):
        encode_cursor(ORDER, ["only one"])
    with pytest.raises(ValueError, match="zip"):
        encode_cursor(ORDER, ["a", U, "extra"])


# --------------------------------------------------------------------------- cursor format


def test_cursor_is_the_compact_json_in_unpadded_urlsafe_base64() -> None:
    values: list[Any] = [
        None,
        Null,
        RecordID("agent", U),
        U,
        STAMP,
        dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC),
    ]
    values += [decimal.Decimal("1.50"), "x?>a", 7]
    order = [(f"k{i}", i % 2 == 0) for i in range(len(values) - 1)] + [("id", False)]
    cursor = encode_cursor(order, values)
    text = (
        '{"o":[["k0",true],["k1",false],["k2",true],["k3",false],["k4",true],["k5",false],["k6",true],'
        '["k7",false],["id",false]],"v":[null,{"n":1},{"r":["agent",{"u":"' + str(U) + '"}]},'
        '{"u":"' + str(U) + '"},{"t":"2024-01-02T03:04:05.000006+00:00","ns":789},'
        '{"t":"2024-01-01T00:00:00+00:00","ns":0},{"d":"1.50"},"x?>a",7]}'
    )
    assert cursor == unpadded(text.encode())
    assert len(text) % 3 != 0  # the padding was there to strip
    assert "=" not in cursor
    assert "_" in cursor or "-" in cursor  # the URL-safe alphabet
    decoded = decode_cursor(cursor, order)
    assert decoded == values
    assert decoded[1] is Null
    assert isinstance(decoded[4], PreciseDatetime)
    assert (decoded[4].nanosecond, decoded[4].tzinfo) == (789, dt.UTC)
    assert isinstance(decoded[6], decimal.Decimal)
    assert str(decoded[6]) == "1.50"


@pytest.mark.parametrize("n", range(12))
def test_cursors_of_every_padding_round_trip(n: int) -> None:
    assert decode_cursor(encode_cursor(ORDER, ["x" * n, U]), ORDER) == ["x" * n, U]


def test_cursor_length_bound_on_both_sides() -> None:
    head = '{"o":[["k",false],["id",true]],"v":["'
    tail = '",7]}'
    fill = 6144 - len(head) - len(tail)  # 6144 bytes are exactly 8192 base64 characters
    at_limit = encode_cursor(ORDER, ["n" * fill, 7])
    assert len(at_limit) == MAX_CURSOR_LENGTH
    assert decode_cursor(at_limit, ORDER) == ["n" * fill, 7]
    refuses(
        lambda: encode_cursor(ORDER, ["n" * (fill + 1), 7]),
        "order_by",
        "the sort values of a row are too long for a cursor (at most 8,192 characters): "
        "order by shorter fields",
    )
    refuses(
        lambda: decode_cursor(at_limit + "A", ORDER),
        "after",
        "invalid cursor: too long (at most 8,192 characters)",
    )


# --------------------------------------------------------------------------- decoding


DECODED = [
    ({"n": 1}, Null),
    ({"u": str(U)}, U),
    ({"d": "-0.10"}, decimal.Decimal("-0.10")),
    ({"r": ["agent", {"u": str(U)}]}, RecordID("agent", U)),
    ({"r": ["agent", "s"]}, RecordID("agent", "s")),
    ({"r": ["agent", -5]}, RecordID("agent", -5)),
    (None, None),
    (True, True),
    ("s", "s"),
    (2**63 - 1, 2**63 - 1),
    (-(2**63), -(2**63)),
    (0, 0),
    (1.5, 1.5),
]


@pytest.mark.parametrize(("stored", "value"), DECODED, ids=repr)
def test_decode_gives_back_exact_values(stored: Any, value: Any) -> None:
    decoded = decode_cursor(raw({"o": [["k", False], ["id", True]], "v": [stored, 7]}), ORDER)
    assert decoded == [value, 7]
    assert type(decoded[0]) is type(value)
    if isinstance(value, RecordID):
        assert (decoded[0].table_name, decoded[0].id) == (value.table_name, value.id)


def test_decode_gives_back_a_precise_datetime() -> None:
    stored = {"t": "2024-01-02T03:04:05.000006+02:00", "ns": 789}
    [stamp, _] = decode_cursor(raw({"o": [["k", False], ["id", True]], "v": [stored, 7]}), ORDER)
    assert isinstance(stamp, PreciseDatetime)
    fields = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second, stamp.microsecond)
    assert fields == (2024, 1, 2, 3, 4, 5, 6)
    assert stamp.tzinfo == dt.timezone(dt.timedelta(hours=2))
    assert stamp.nanosecond == 789


BAD_VALUES = [
    {"n": 2},
    {"n": 1, "x": 1},
    {"u": 5},
    {"u": str(U), "x": 1},
    {"u": "not a uuid"},
    {"d": 5},
    {"d": "NaN"},
    {"d": "Infinity"},
    {"d": "x"},
    {"t": 5, "ns": 1},
    {"t": "2024-01-01T00:00:00", "ns": "1"},
    {"t": "2024-01-01T00:00:00", "ns": 1.0},
    {"t": "2024-01-01T00:00:00", "ns": True},
    {"t": "2024-01-01T00:00:00"},
    {"t": "not a time", "ns": 1},
    {"r": ["agent"]},
    {"r": ["agent", "a", "b"]},
    {"r": "agent"},
    {"r": ["bad table!", "x"]},
    {"r": [5, "x"]},
    {"r": ["agent", 1.5]},
    {"r": ["agent", True]},
    {"r": ["agent", None]},
    {"r": ["agent", {"n": 1}]},
    {"r": ["agent", [1]]},
    {"x": 1},
    {},
    [1],
    2**63,
    -(2**63) - 1,
]


@pytest.mark.parametrize("stored", BAD_VALUES, ids=repr)
def test_decode_refuses_what_encode_cannot_write(stored: Any) -> None:
    cursor = raw({"o": [["k", False], ["id", True]], "v": [stored, 7]})
    refuses(lambda: decode_cursor(cursor, ORDER), "after", "invalid cursor")


@pytest.mark.parametrize(
    "text",
    [
        '{"o":[["k",false],["id",true]],"v":[NaN,7]}',
        '{"o":[["k",false],["id",true]],"v":[1e400,7]}',
        '{"o":[[NaN,false],["id",true]],"v":[1,7]}',
        '{"o":[["k",false],["id",true]],"v":[-Infinity,7]}',
        '{"o":[["k",false],["id",true]],"v":[1,7],"x":1}',
        '{"o":[["k",false],["id",true]]}',
        '{"v":[1,7]}',
        '{"o":"k","v":[1,7]}',
        '{"o":[["k",false],["id",true]],"v":{"a":1,"b":2}}',
        '[["k",false],["id",true]]',
        '"o"',
        "not json",
    ],
)
def test_decode_refuses_malformed_payloads(text: str) -> None:
    refuses(lambda: decode_cursor(text_cursor(text), ORDER), "after", "invalid cursor")


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "YQ", "a"])
def test_decode_refuses_what_is_not_a_cursor(cursor: str) -> None:
    refuses(lambda: decode_cursor(cursor, ORDER), "after", "invalid cursor")


@pytest.mark.parametrize("cursor", [None, 5, b"e30", ["e30"]])
def test_decode_refuses_a_non_string(cursor: Any) -> None:
    refuses(lambda: decode_cursor(cursor, ORDER), "after", "invalid cursor: must be a string")


@pytest.mark.parametrize(
    "payload",
    [
        {"o": [["k", True], ["id", True]], "v": [1, 7]},
        {"o": [["k", False]], "v": [1, 7]},
        {"o": [["k", False], ["id", True]], "v": [1]},
        {"o": [["k", False], ["id", True]], "v": [1, 7, 8]},
        {"o": [["k", False], ["id", True], ["x", False]], "v": [1, 7, 8]},
        {"o": [], "v": []},
    ],
)
def test_decode_refuses_a_cursor_of_another_ordering(payload: Any) -> None:
    refuses(lambda: decode_cursor(raw(payload), ORDER), "after", "cursor belongs to a different ordering")
