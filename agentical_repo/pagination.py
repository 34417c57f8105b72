"""Pagination values: offset parameters, keyset pages and their opaque cursors.

Plain Python (no SurrealQL): the keyset condition a cursor turns into is written
in ``surql.filters.keyset_condition`` and ``surql.queries.common``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import math
import types
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime
from surrealdb.data.types.null import Null

from .errors import ValidationError
from .validation import MAX_PAGE_LIMIT, fail, is_identifier

__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_OFFSET",
    "Page",
    "PaginationParams",
    "check_keyset_order",
    "check_sort_values",
    "decode_cursor",
    "dig",
    "encode_cursor",
    "keyset_order",
]

T = TypeVar("T")

MAX_CURSOR_LENGTH = 8192


#: The largest offset: the engine's ``START`` is a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1

_PARAM_RULES = {
    "limit": f"must be an integer in 1..{MAX_PAGE_LIMIT}",
    "offset": f"must be an integer in 0..{MAX_OFFSET}",
    "order_by": "must be a field name or a list of field names",
}


class PaginationParams(BaseModel):
    """Offset pagination: ``limit`` 1..1000, ``offset`` ≥ 0, ``order_by`` with ``-`` for descending.

    A bad argument is the library's ``ValidationError`` naming it (never its value);
    ``limit`` and ``offset`` are exact integers (``True``, ``"5"`` and ``5.0`` are refused).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(default=50, ge=1, le=MAX_PAGE_LIMIT, strict=True)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, strict=True)
    order_by: tuple[str, ...] = ("-created_at",)

    if not TYPE_CHECKING:  # the pydantic mypy plugin keeps the typed keyword signature

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except PydanticValidationError as exc:
                raise _params_error(exc) from None

        @classmethod
        def model_validate(cls, *args: Any, **kwargs: Any) -> PaginationParams:
            try:
                return super().model_validate(*args, **kwargs)
            except PydanticValidationError as exc:
                raise _params_error(exc) from None

    @field_validator("order_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


def _params_error(exc: PydanticValidationError) -> ValidationError:
    """The first problem pydantic found, as the library's error naming the argument."""
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ValidationError):  # raised by __init__ when model_validate calls it
            return inner
        loc = err.get("loc") or ()
        argument = loc[0] if loc else None
        if argument in _PARAM_RULES:
            return fail(str(argument), _PARAM_RULES[str(argument)])
    return fail("pagination", "takes only limit, offset and order_by")


class Page(BaseModel, Generic[T]):
    """One keyset page: ``items`` and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def dig(row: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of a row (``None`` when any segment is missing)."""
    value: Any = row
    for seg in path.split("."):
        value = value.get(seg) if isinstance(value, Mapping) else None
    return value


#: The largest and smallest integers the engine stores (signed 64-bit).
_INT_RANGE = (-(2**63), 2**63 - 1)

#: Why a sort value cannot go into a cursor, by kind (never the value itself).
_OBJECT_OR_ARRAY = "an object or array"


def _unsupported(value: Any) -> str | None:
    """Why ``value`` cannot be a keyset sort value (None when it can)."""
    if value is None or value is Null or isinstance(value, bool | str | uuid.UUID | dt.datetime):
        return None
    if isinstance(value, int):
        return None if _INT_RANGE[0] <= value <= _INT_RANGE[1] else "an integer beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "a non-finite number"
    if isinstance(value, decimal.Decimal):
        return None if value.is_finite() else "a non-finite number"
    if isinstance(value, RecordID):
        inner = value.id
        if isinstance(inner, uuid.UUID | str) or (isinstance(inner, int) and not isinstance(inner, bool)):
            return _unsupported(inner)
        return "a record id with a compound key"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return _OBJECT_OR_ARRAY
    return f"a {type(value).__name__} value"


def check_sort_values(rows: Sequence[Mapping[str, Any]], order: Sequence[tuple[str, bool]]) -> None:
    """Refuse a page whose rows hold sort values a cursor cannot carry exactly.

    Objects and arrays (the engine orders them, but a keyset over them is neither
    stable nor expressible in a cursor), durations, geometries, bytes, non-finite
    numbers: the caller learns on the first page, rather than from a cursor that
    a later call rejects or that silently skips rows.
    """
    for path, _ in order:
        for row in rows:
            problem = _unsupported(dig(row, path))
            if problem is not None:
                raise ValidationError(
                    f"order_by field {path!r} holds {problem} in a matching row: keyset pages order "
                    "only by scalar values (strings, numbers, booleans, datetimes, UUIDs, record ids, "
                    "null or missing)",
                    context={"argument": "order_by"},
                )


def _container_annotation(annotation: Any) -> bool:
    for alt in _alternatives(annotation):
        origin = get_origin(alt) or alt
        if isinstance(origin, type) and (
            issubclass(origin, Mapping | list | tuple | set | frozenset | BaseModel)
        ):
            return True
    return False


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    return [alt for alt in _alternatives(annotation) if isinstance(alt, type) and issubclass(alt, BaseModel)]


def _alternatives(annotation: Any) -> list[Any]:
    """The concrete alternatives of an annotation (Annotated and unions unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _alternatives(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [alt for arg in get_args(annotation) for alt in _alternatives(arg)]
    return [annotation]


def keyset_order(order: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """``order`` ending in ``id``: an explicit id key keeps its direction and ends the order
    (keys after a unique key never matter); otherwise id follows the first key's direction."""
    out: list[tuple[str, bool]] = []
    for path, desc in order:
        out.append((path, desc))
        if path == "id":
            return out
    out.append(("id", out[0][1] if out else False))
    return out


def check_keyset_order(model: type[BaseModel], order: Sequence[tuple[str, bool]]) -> None:
    """Refuse, before any I/O, keyset order keys that name an object- or array-valued field.

    Keys below a free-form dict (``config.rank``) are checked per page by
    ``check_sort_values`` instead: only the rows know what they hold.
    """
    for path, _ in order:
        current: type[BaseModel] | None = model
        segments = path.split(".")
        for i, seg in enumerate(segments):
            field = current.model_fields.get(seg) if current is not None else None
            if field is None:
                break
            if i == len(segments) - 1:
                if _container_annotation(field.annotation):
                    raise ValidationError(
                        f"order_by field {path!r} holds an object or array: keyset pages order only "
                        "by scalar values",
                        context={"argument": "order_by"},
                    )
                break
            nested = _nested_models(field.annotation)
            current = nested[0] if nested else None


def _enc(value: Any) -> Any:
    if value is Null:
        return {"n": 1}
    if isinstance(value, RecordID):
        return {"r": [value.table_name, _enc(value.id)]}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, dt.datetime):
        ns = getattr(value, "nanosecond", 0)
        return {"t": value.isoformat(), "ns": ns}
    if isinstance(value, decimal.Decimal):
        return {"d": str(value)}
    return value


class _BadCursor(Exception):
    """A cursor value that ``encode_cursor`` cannot have written."""


def _dec_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise _BadCursor
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _BadCursor
        return value
    raise _BadCursor


def _dec(value: Any) -> Any:
    if not isinstance(value, dict):
        return _dec_scalar(value)
    keys = set(value)
    if keys == {"n"} and value["n"] == 1:
        return Null
    if keys == {"u"} and isinstance(value["u"], str):
        return uuid.UUID(value["u"])
    if keys == {"d"} and isinstance(value["d"], str):
        number = decimal.Decimal(value["d"])
        if not number.is_finite():
            raise _BadCursor
        return number
    if keys == {"t", "ns"} and isinstance(value["t"], str) and type(value["ns"]) is int:
        base = dt.datetime.fromisoformat(value["t"])
        return PreciseDatetime(
            base.year,
            base.month,
            base.day,
            base.hour,
            base.minute,
            base.second,
            base.microsecond,
            tzinfo=base.tzinfo,
            nanosecond=value["ns"],
        )
    if keys == {"r"} and isinstance(value["r"], list) and len(value["r"]) == 2:
        table, inner = value["r"]
        if not is_identifier(table):
            raise _BadCursor
        key = _dec(inner)
        if not (isinstance(key, uuid.UUID | str) or (isinstance(key, int) and not isinstance(key, bool))):
            raise _BadCursor
        return RecordID(table, key)
    raise _BadCursor


def _refuse_constant(name: str) -> Any:
    raise _BadCursor  # NaN, Infinity, -Infinity: not JSON, never written by encode_cursor


def encode_cursor(order: Sequence[tuple[str, bool]], values: Sequence[Any]) -> str:
    """Opaque cursor: the order it belongs to and the last row's sort values (id last).

    ``ValidationError`` (argument ``order_by``) for a value no cursor can carry
    exactly, or values too long for ``MAX_CURSOR_LENGTH``: the cursor handed out
    is always one ``decode_cursor`` accepts.
    """
    for (path, _), value in zip(order, values, strict=True):
        problem = _unsupported(value)
        if problem is not None:
            raise ValidationError(
                f"order_by field {path!r} holds {problem}: keyset pages order only by scalar values",
                context={"argument": "order_by"},
            )
    payload = {"o": [[p, d] for p, d in order], "v": [_enc(v) for v in values]}
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError(
            f"the sort values of a row are too long for a cursor (at most {MAX_CURSOR_LENGTH:,} "
            "characters): order by shorter fields",
            context={"argument": "order_by"},
        )
    return cursor


def decode_cursor(cursor: str, order: Sequence[tuple[str, bool]]) -> list[Any]:
    """Decode a cursor made by ``encode_cursor`` for the same order, else ``ValidationError``.

    Only what ``encode_cursor`` writes is accepted: 64-bit integers, finite numbers,
    strings, booleans, null/missing and the tagged UUID, datetime, decimal and
    record-id forms. Anything else (huge or non-finite numbers, arrays, unknown
    objects) is refused before it could reach the engine.
    """
    if not isinstance(cursor, str):
        raise ValidationError("invalid cursor: must be a string", context={"argument": "after"})
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError(
            f"invalid cursor: too long (at most {MAX_CURSOR_LENGTH:,} characters)",
            context={"argument": "after"},
        )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw, parse_constant=_refuse_constant)
        if not isinstance(payload, dict) or set(payload) != {"o", "v"}:
            raise _BadCursor
        stored_order, stored_values = payload["o"], payload["v"]
        if not isinstance(stored_order, list) or not isinstance(stored_values, list):
            raise _BadCursor
        values = [_dec(v) for v in stored_values]
        same_order = stored_order == [[p, d] for p, d in order]
    except (_BadCursor, ValueError, TypeError, RecursionError, binascii.Error, decimal.DecimalException):
        raise ValidationError("invalid cursor", context={"argument": "after"}) from None
    if not same_order or len(values) != len(order):
        raise ValidationError("cursor belongs to a different ordering", context={"argument": "after"})
    return values
