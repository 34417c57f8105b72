"""Pagination values: offset parameters, keyset pages and their opaque cursors.

Plain Python (no SurrealQL): the keyset condition a cursor turns into is written
in ``surql.filters.keyset_condition`` and ``surql.queries.common``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from surrealdb import RecordID
from surrealdb.data.types.datetime import PreciseDatetime

from .errors import ValidationError

__all__ = ["MAX_CURSOR_LENGTH", "Page", "PaginationParams", "decode_cursor", "dig", "encode_cursor"]

T = TypeVar("T")

MAX_CURSOR_LENGTH = 8192


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
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
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
