"""Filter dicts → WHERE fragments, ordering, offset and keyset pagination.

A filter dict is the one query language callers get: ``{"status": "active",
"priority__gte": 3, "config.model__startswith": "gpt"}``. Keys are checked
against the model's fields (dotted paths only through dict fields) and lookups
against a fixed table; values are always bound. The result is a ``Fragment``
that any builder can embed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime

from ..errors import ValidationError
from .idents import field_path, quote
from .statement import Fragment, Params

__all__ = [
    "LOOKUPS",
    "Page",
    "PaginationParams",
    "compile_filters",
    "decode_cursor",
    "encode_cursor",
    "keyset_condition",
    "normalize_order",
]

T = TypeVar("T")

LOOKUPS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "contains_any",
    "contains_all",
    "startswith",
    "endswith",
    "icontains",
    "isnull",
    "between",
)
_COMPARE = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_FILTER_KEYS = 64
MAX_IN_VALUES = 10_000

FieldCheck = Callable[[str], bool]
ValueConvert = Callable[[str, Any], Any]


def _plain(value: Any, key: str, depth: int = 0) -> Any:
    """Accept only data values (no arbitrary objects) and normalise enums."""
    if depth > 32:
        raise ValidationError(f"filter value for {key!r} is nested too deeply", context={"argument": key})
    if value is None or isinstance(value, bool | int | str | uuid.UUID | dt.datetime | dt.date | RecordID):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ValidationError(f"filter value for {key!r} is NaN", context={"argument": key})
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, key, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, key, depth + 1) for k, v in value.items()}
    raise ValidationError(
        f"unsupported filter value type {type(value).__name__} for {key!r}",
        context={"argument": key},
    )


def split_key(key: str) -> tuple[str, str]:
    """``"priority__gte"`` → ``("priority", "gte")``; no suffix means ``eq``."""
    if not isinstance(key, str):
        raise ValidationError("filter keys must be strings", context={"argument": "filters"})
    path, sep, op = key.rpartition("__")
    if not sep:
        return key, "eq"
    if op not in LOOKUPS:
        raise ValidationError(
            f"unknown lookup {op[:32]!r} in filter key; expected one of {', '.join(LOOKUPS)}",
            context={"argument": "filters"},
        )
    return path, op


def compile_filters(
    filters: Mapping[str, Any] | None,
    *,
    field_ok: FieldCheck | None = None,
    convert: ValueConvert | None = None,
) -> Fragment | None:
    """Compile a filter dict into a WHERE fragment (``None`` when there is nothing to filter).

    ``field_ok(path)`` decides whether a dotted path is a real field; ``convert(path,
    value)`` turns a value into its stored form (e.g. a UUID into a RecordID).
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise ValidationError("filters must be a dict", context={"argument": "filters"})
    if len(filters) > MAX_FILTER_KEYS:
        raise ValidationError(
            f"too many filter keys (max {MAX_FILTER_KEYS})", context={"argument": "filters"}
        )
    params = Params()
    clauses: list[str] = []
    for key, raw in filters.items():
        path, op = split_key(key)
        field_path(path, what="filter field")
        if field_ok is not None and not field_ok(path):
            raise ValidationError(f"unknown filter field {path!r}", context={"argument": "filters"})
        clauses.append(_clause(params, path, op, raw, convert))
    if not clauses:
        return None
    return Fragment(" AND ".join(clauses), params.vars)


def _clause(params: Params, path: str, op: str, raw: Any, convert: ValueConvert | None) -> str:
    f = quote(path)
    hint = path.replace(".", "_")

    def bind(value: Any) -> str:
        value = _plain(value, path)
        if convert is not None:
            value = convert(path, value)
        return params.add(value, hint)

    def bind_list(value: Any, *, min_len: int = 0) -> str:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | set | frozenset):
            raise ValidationError(f"lookup {op} on {path!r} needs a list", context={"argument": path})
        items = list(value)
        if len(items) > MAX_IN_VALUES or len(items) < min_len:
            raise ValidationError(f"lookup {op} on {path!r}: bad list length", context={"argument": path})
        items = [_plain(v, path) for v in items]
        if convert is not None:
            items = [convert(path, v) for v in items]
        return params.add(items, hint)

    # A missing field (NONE) and a stored null (NULL, e.g. {"k": None} in a dict field) both
    # mean "no value": isnull/eq None match either, and no ordering or string lookup matches
    # them (the engine would order NONE < NULL < numbers < strings, and cast them to 'NONE').
    present = f"{f} != NONE AND {f} != NULL"
    if (op in ("eq", "ne") and raw is None) or op == "isnull":
        if op == "isnull" and not isinstance(raw, bool):
            raise ValidationError(
                f"lookup isnull on {path!r} needs true or false", context={"argument": path}
            )
        wants_null = raw if op == "isnull" else op == "eq"
        return f"({f} = NONE OR {f} = NULL)" if wants_null else f"({present})"
    if op in ("eq", "ne"):
        return f"{f} {_COMPARE[op]} {bind(raw)}"
    if op in _COMPARE:
        return f"({present} AND {f} {_COMPARE[op]} {bind(raw)})"
    if op == "in":
        return f"{f} INSIDE {bind_list(raw)}"
    if op == "not_in":
        return f"{f} NOTINSIDE {bind_list(raw)}"
    if op == "contains":
        return f"{f} CONTAINS {bind(raw)}"
    if op == "contains_any":
        return f"{f} CONTAINSANY {bind_list(raw)}"
    if op == "contains_all":
        return f"{f} CONTAINSALL {bind_list(raw)}"
    if op in ("startswith", "endswith", "icontains"):
        if not isinstance(raw, str):
            raise ValidationError(f"lookup {op} on {path!r} needs a string", context={"argument": path})
        if op == "icontains":
            needle = params.add(raw.lower(), hint)
            return f"({present} AND string::contains(string::lowercase(<string>{f}), {needle}))"
        fn = "starts_with" if op == "startswith" else "ends_with"
        return f"({present} AND string::{fn}(<string>{f}, {params.add(raw, hint)}))"
    if op == "between":
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or len(raw) != 2:
            raise ValidationError(f"lookup between on {path!r} needs (low, high)", context={"argument": path})
        return f"({present} AND {f} >= {bind(raw[0])} AND {f} <= {bind(raw[1])})"
    raise AssertionError(op)  # pragma: no cover - split_key guards the lookup names


# --------------------------------------------------------------------------- pagination


class PaginationParams(BaseModel):
    """Offset pagination: ``limit`` 1..1000, ``offset`` ≥ 0, ``order_by`` with ``-`` for descending."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    order_by: tuple[str, ...] = ("-created_at",)

    @field_validator("order_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class Page(BaseModel, Generic[T]):
    """One keyset page: ``items`` and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None = None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def normalize_order(
    order_by: Sequence[str] | str, field_ok: FieldCheck | None = None
) -> list[tuple[str, bool]]:
    """Validate ``order_by`` → ``[(path, descending)]`` (max 8 keys)."""
    if isinstance(order_by, str):
        order_by = (order_by,)
    if not isinstance(order_by, Sequence) or len(order_by) > 8:
        raise ValidationError(
            "order_by must be a list of up to 8 field names", context={"argument": "order_by"}
        )
    out: list[tuple[str, bool]] = []
    for key in order_by:
        if not isinstance(key, str) or not key:
            raise ValidationError("order_by entries must be field names", context={"argument": "order_by"})
        desc = key.startswith("-")
        path = key[1:] if desc or key.startswith("+") else key
        field_path(path, what="order_by field")
        if field_ok is not None and not field_ok(path):
            raise ValidationError(f"unknown order_by field {path!r}", context={"argument": "order_by"})
        out.append((path, desc))
    return out


def _enc(value: Any) -> Any:
    if isinstance(value, RecordID):
        return {"r": [value.table_name, _enc(value.id)]}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, dt.datetime):
        ns = getattr(value, "nanosecond", 0)
        return {"t": value.isoformat(), "ns": ns}
    if isinstance(value, list):
        return [_enc(v) for v in value]
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if "u" in value:
            return uuid.UUID(value["u"])
        if "t" in value:
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
                nanosecond=int(value.get("ns", 0)),
            )
        if "r" in value:
            table, inner = value["r"]
            return RecordID(table, _dec(inner))
        raise ValueError("bad cursor value")
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def encode_cursor(order: Sequence[tuple[str, bool]], values: Sequence[Any]) -> str:
    """Opaque cursor: the order it belongs to and the last row's sort values (id last)."""
    payload = {"o": [[p, d] for p, d in order], "v": [_enc(v) for v in values]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: Sequence[tuple[str, bool]]) -> list[Any]:
    """Decode a cursor made by ``encode_cursor`` for the same order, else ``ValidationError``."""
    if not isinstance(cursor, str) or len(cursor) > 8192:
        raise ValidationError("invalid cursor", context={"argument": "after"})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        values = [_dec(v) for v in payload["v"]]
        same_order = [tuple(x) for x in payload["o"]] == [tuple(x) for x in order]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, binascii.Error):
        raise ValidationError("invalid cursor", context={"argument": "after"}) from None
    if not same_order or len(values) != len(order):
        raise ValidationError("cursor belongs to a different ordering", context={"argument": "after"})
    return values


def keyset_condition(order: Sequence[tuple[str, bool]], values: Sequence[Any]) -> Fragment:
    """Rows strictly after ``values`` in ``order``: ``(a > $a) OR (a = $a AND b > $b) …``."""
    params = Params()
    refs = [params.add(v, "k_" + p.replace(".", "_")) for (p, _), v in zip(order, values, strict=True)]
    ors: list[str] = []
    for i, (path, desc) in enumerate(order):
        eqs = [f"{quote(order[j][0])} = {refs[j]}" for j in range(i)]
        eqs.append(f"{quote(path)} {'<' if desc else '>'} {refs[i]}")
        ors.append("(" + " AND ".join(eqs) + ")")
    return Fragment("(" + " OR ".join(ors) + ")", params.vars)
