"""Argument checks shared by every layer, run before any I/O.

Each check raises ``ValidationError`` whose message names the argument and the
rule, never the value (a value may be a secret), with
``context={"argument": <name>}``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Annotated, Any, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from surrealdb import Datetime, Duration, Geometry, NullType, RecordID, Table

from .errors import ValidationError

__all__ = [
    "IDENT_RE",
    "MAX_IDENT_LEN",
    "MAX_NESTING",
    "MAX_PAGE_LIMIT",
    "MAX_PAYLOAD_BYTES",
    "MAX_SENDABLE_NESTING",
    "as_uuid",
    "check_nesting",
    "check_object_keys",
    "check_payload",
    "check_sendable",
    "check_update_path",
    "check_value",
    "enum_value",
    "field_enum",
    "is_identifier",
    "nesting_depth",
    "page_limit",
    "require_bool",
    "require_int",
    "require_text",
    "scalar_problem",
]

E = TypeVar("E", bound=enum.Enum)

#: The one identifier rule, per dotted segment of a field path. ``\Z``, not ``$``:
#: ``$`` would also match before a trailing newline.
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_IDENT_LEN = 128

#: The largest page any read returns in one request.
MAX_PAGE_LIMIT = 1000

#: Levels of nesting a bound value of raw SurrealQL may have: the embedded engine refuses
#: to decode a request nested ~90 levels deep (with a raw ``ValueError``).
MAX_SENDABLE_NESTING = 64

#: Levels of objects/arrays one field value may hold (a scalar is 0, ``{}`` is 1), the
#: key path of a dotted update included. The schema's ``fn::nesting_ok`` (migration
#: 0009) enforces the same number in every free-form field, for raw SurrealQL too.
MAX_NESTING = 32


def is_identifier(name: object) -> bool:
    """True for one identifier segment (tables, fields, namespaces) of at most 128 characters."""
    return isinstance(name, str) and len(name) <= MAX_IDENT_LEN and bool(IDENT_RE.match(name))


def fail(argument: str, rule: str) -> ValidationError:
    """The error for ``argument`` breaking ``rule`` (a phrase such as "must be a UUID")."""
    return ValidationError(f"{argument} {rule}", context={"argument": argument})


def as_uuid(value: Any, argument: str = "id", table: str | None = None) -> uuid.UUID:
    """A UUID, its string form, or a ``RecordID`` holding one (of ``table`` when given)."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, RecordID) and isinstance(value.id, uuid.UUID):
        if table is not None and value.table_name != table:
            raise fail(argument, f"must be an id of table {table}")
        return value.id
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise fail(argument, "must be a UUID")


def require_text(value: Any, argument: str, max_length: int = 128) -> str:
    """A non-empty string of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise fail(argument, f"must be a non-empty string of at most {max_length} characters")
    return value


def require_int(value: Any, argument: str, lo: int, hi: int) -> int:
    """An ``int`` (not a ``bool``) in ``lo..hi``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise fail(argument, f"must be an integer in {lo}..{hi}")
    return value


def require_bool(value: Any, argument: str) -> bool:
    """Exactly ``True`` or ``False``: a truthy string such as ``"no"`` is refused."""
    if not isinstance(value, bool):
        raise fail(argument, "must be a bool")
    return value


def page_limit(value: Any, argument: str = "limit") -> int:
    """A page size in ``1..MAX_PAGE_LIMIT``."""
    return require_int(value, argument, 1, MAX_PAGE_LIMIT)


def enum_value(kind: type[E], value: Any, argument: str = "status") -> E:
    """A member of ``kind`` from a member or its value; anything else is refused."""
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(m.value) for m in kind)
        raise fail(argument, f"must be one of {allowed}") from None


# --------------------------------------------------------------------------- values

#: The engine's integers are signed 64-bit; the SDK refuses anything wider (quoting it).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: The engine's decimals: a 96-bit magnitude with at most 28 digits after the point.
DECIMAL_MAX = 2**96 - 1
DECIMAL_MAX_SCALE = 28

# Scalars the SDK encodes as themselves and the engine stores as such. ``bool`` before
# ``int``: it is a subclass. Anything else (``date``, ``time``, ``timedelta``, ``complex``,
# arbitrary objects) has no faithful SurrealDB form and is refused; ``date`` is converted
# only in filters (see ``surql.filters``), where it can mean nothing but its midnight UTC.
_PASS_THROUGH: tuple[type, ...] = (
    uuid.UUID,
    dt.datetime,
    bytes,
    bytearray,
    NullType,
    Table,
    Duration,
    Datetime,
    Geometry,
)


def scalar_problem(value: Any) -> str | None:
    """``None`` when ``value`` is a scalar the engine stores faithfully, else the broken rule.

    The rule is a phrase ("holds an integer outside the signed 64-bit range") that
    never contains the value: error messages, spans and logs may quote it.
    """
    if value is None or isinstance(value, str | bool):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else "holds an integer outside the signed 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else "holds a NaN or infinite number"
    if isinstance(value, decimal.Decimal):
        return _decimal_problem(value)
    if isinstance(value, RecordID):
        return _key_problem(value.id)
    if isinstance(value, _PASS_THROUGH):
        return None
    if isinstance(value, dt.date):
        return "holds a date: store a datetime, or the ISO date as a string"
    if isinstance(value, enum.Enum):
        return scalar_problem(value.value)
    return f"holds a value of unsupported type {type(value).__name__}"


def _key_problem(key: Any) -> str | None:
    """The problem of a record id's key: a scalar, or an array/object of them (composite)."""
    if not isinstance(key, Mapping | list | tuple):
        return scalar_problem(key)
    if nesting_depth(key) > MAX_NESTING:
        return f"holds a record id nested too deeply (more than {MAX_NESTING} levels)"
    stack: list[Any] = [key]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            stack.extend(item.values() if isinstance(item, Mapping) else item)
        else:
            problem = scalar_problem(item)
            if problem is not None:
                return problem
    return None


def _decimal_problem(value: decimal.Decimal) -> str | None:
    if not value.is_finite():
        return "holds a NaN or infinite number"
    exponent = value.as_tuple().exponent
    if value.copy_abs() > DECIMAL_MAX or (isinstance(exponent, int) and exponent < -DECIMAL_MAX_SCALE):
        return (
            f"holds a Decimal outside the database's decimal range (at most {DECIMAL_MAX_SCALE} "
            "digits after the point, magnitude below 2**96)"
        )
    return None


def nesting_depth(value: Any, limit: int = MAX_NESTING) -> int:
    """Levels of objects/arrays in ``value`` (a scalar is 0, ``{}`` is 1), counted up to ``limit + 1``.

    Iterative, so a value nested far beyond Python's recursion limit is measured,
    not crashed on; it stops as soon as the count passes ``limit``.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str | bytes):
            continue
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple | set | frozenset):
            children = item
        elif isinstance(item, BaseModel):  # a nested model is stored as an object
            children = _model_values(item)
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def check_nesting(value: Any, argument: str, prefix: int = 0) -> None:
    """Refuse a value nested more than ``MAX_NESTING`` levels (``prefix`` levels above it).

    ``prefix`` counts the key-path segments a value is written under: ``config.a.b = v``
    stores ``v`` two objects below ``config``, so the field's depth is 2 + depth(v).
    """
    if prefix + nesting_depth(value, MAX_NESTING - prefix) > MAX_NESTING:
        where = ", its key path included" if prefix else ""
        raise fail(argument, f"is nested too deeply (more than {MAX_NESTING} levels{where})")


def check_value(value: Any, argument: str, prefix: int = 0) -> None:
    """Refuse a field value the database cannot store faithfully, before it is encoded.

    At most ``MAX_NESTING`` levels (``prefix`` levels above it, see ``check_nesting``),
    string object keys, and every scalar passing ``scalar_problem``. Iterative: any
    depth is measured, never recursed into. The error names ``argument``, never the
    value.
    """
    check_nesting(value, argument, prefix)
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bool) or item is None:
            continue
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise fail(argument, "keys must be strings")
                stack.append(child)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, BaseModel):
            stack.extend(_model_values(item))
        else:
            problem = scalar_problem(item)
            if problem is not None:
                raise fail(argument, problem)


def _model_values(model: BaseModel) -> list[Any]:
    return [getattr(model, name) for name in type(model).model_fields]


def check_update_path(key: str, value: Any, argument: str = "updates") -> None:
    """An update's value within ``MAX_NESTING`` levels of its field, the key's segments counted.

    Below a dotted key the value is free-form, so it must also be storable
    (``check_value``); a top-level value is first validated by its field's type.
    """
    if "." in key:
        check_value(value, argument, key.count("."))
    else:
        check_nesting(value, argument)


def field_enum(model: Any, path: str) -> type[enum.Enum] | None:
    """The ``Enum`` a model's top-level field holds (``Optional``/``Annotated`` unwrapped), if any.

    Filters check their values against it, as updates do: a value no member has is
    refused instead of silently matching nothing.
    """
    field = getattr(model, "model_fields", {}).get(path)
    return None if field is None else _enum_in(field.annotation)


def _enum_in(annotation: Any) -> type[enum.Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated or origin is Union or origin is UnionType:
        for arg in get_args(annotation):
            found = _enum_in(arg)
            if found is not None:
                return found
    return None


def check_object_keys(value: Any, argument: str) -> None:
    """Free-form objects are stored as SurrealDB objects, whose keys are strings.

    Also bounds the nesting (the walk is iterative, so any depth is measured safely).
    """
    check_nesting(value, argument)
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise fail(argument, "keys must be strings")
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def check_sendable(values: Mapping[str, Any], argument: str = "vars") -> None:
    """Refuse bound values of raw SurrealQL that cannot be sent, before any I/O.

    Raw text may bind anything SurrealDB has (NaN and infinities included), but not
    what the SDK cannot encode or the engine cannot decode: integers beyond 64 bits,
    ``date``/``time``/``timedelta``/``complex``/arbitrary objects, out-of-range
    Decimals, non-string object keys, values nested more than ``MAX_SENDABLE_NESTING``
    levels (deeper than ``MAX_NESTING`` is still sendable: the schema's ASSERTs judge
    what is stored).
    Left to the SDK, those raise raw ``ValueError``/``TypeError`` whose text quotes the
    value. The error names the parameter, never the value.
    """
    for name, value in values.items():
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, str | bytes | float):
                continue
            if isinstance(item, Mapping | list | tuple | set | frozenset):
                if depth >= MAX_SENDABLE_NESTING:
                    raise fail(
                        argument, f"${name} is nested too deeply (more than {MAX_SENDABLE_NESTING} levels)"
                    )
                if isinstance(item, Mapping):
                    if not all(isinstance(k, str) for k in item):
                        raise fail(argument, f"${name} has an object key that is not a string")
                    item = item.values()
                stack.extend((child, depth + 1) for child in item)
                continue
            problem = scalar_problem(item)
            if problem is not None:
                raise fail(argument, f"${name} {problem}")


# --------------------------------------------------------------------------- write payloads

# Upper bounds for the values of one write, checked before it is sent. The engine takes
# any size (a 100 MB dict field went through, slowly); the SDK's CBOR encoder overflows
# Python's recursion limit ~150 levels deep and its decoder fails to read back a record
# nested a few hundred levels deep, so one such row would break every read of its table.
# The schema refuses the same depth in every free-form field (schema/0009_document_depth.surql).
MAX_PAYLOAD_BYTES = 16 * 2**20


def check_payload(vars: Mapping[str, Any]) -> None:
    """Refuse a write whose bound values are too large, too deeply nested, or not storable.

    Counts string/bytes lengths, key lengths and 8 bytes per other scalar; depth is
    counted per field value (a scalar is 0, ``{}`` 1), so it means what the schema's
    ``fn::nesting_ok`` means; each scalar must pass ``scalar_problem``. The error
    names the field (the top-level key of a record body, else the parameter), never
    a value.
    """
    budget = MAX_PAYLOAD_BYTES
    for name, value in vars.items():
        if type(value) is dict and name in ("content", "data"):
            for key, item in value.items():
                budget = _payload_budget(item, budget, name, key)
        elif type(value) is list and name == "rows":  # a bulk INSERT: a list of record bodies
            for row in value:
                for key, item in row.items() if type(row) is dict else ((None, row),):
                    budget = _payload_budget(item, budget, name, key)
        else:
            budget = _payload_budget(value, budget, name, None)


def _payload_budget(value: Any, budget: int, name: str, key: Any) -> int:
    kind = type(value)
    if kind is str:  # the common case, first
        budget -= len(value)
        if budget < 0:
            _payload_error(f"makes the write larger than {MAX_PAYLOAD_BYTES // 2**20} MiB", name, key)
        return budget
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            budget -= len(item)
        elif kind is dict or isinstance(item, Mapping):
            if depth >= MAX_NESTING:
                _payload_error(f"is nested too deeply (more than {MAX_NESTING} levels)", name, key)
            for k, child in item.items():
                if type(k) is not str:
                    _payload_error("has an object key that is not a string", name, key)
                budget -= len(k)
                stack.append((child, depth + 1))
        elif kind is list or isinstance(item, list | tuple | set | frozenset):
            if depth >= MAX_NESTING:
                _payload_error(f"is nested too deeply (more than {MAX_NESTING} levels)", name, key)
            stack.extend((child, depth + 1) for child in item)
        else:
            if not (
                kind is bool
                or (kind is int and INT64_MIN <= item <= INT64_MAX)
                or (kind is float and math.isfinite(item))
            ):
                problem = scalar_problem(item)
                if problem is not None:
                    _payload_error(problem, name, key)
            budget -= len(item) if isinstance(item, bytearray) else 8
        if budget < 0:
            _payload_error(f"makes the write larger than {MAX_PAYLOAD_BYTES // 2**20} MiB", name, key)
    return budget


def _payload_error(problem: str, name: str, key: Any) -> NoReturn:
    # a record body's top-level keys are field names; anything else is reported by parameter
    field = key if isinstance(key, str) and IDENT_RE.match(key) else name
    raise ValidationError(f"value of {field[:64]!r} {problem}", context={"argument": field[:64]})
