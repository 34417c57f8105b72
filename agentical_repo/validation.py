"""Argument checks shared by every layer, run before any I/O.

Each check raises ``ValidationError`` whose message names the argument and the
rule, never the value (a value may be a secret), with
``context={"argument": <name>}``.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from surrealdb import RecordID

from .errors import ValidationError

__all__ = [
    "IDENT_RE",
    "MAX_IDENT_LEN",
    "MAX_PAGE_LIMIT",
    "as_uuid",
    "check_object_keys",
    "enum_value",
    "is_identifier",
    "page_limit",
    "require_bool",
    "require_int",
    "require_text",
]

E = TypeVar("E", bound=enum.Enum)

#: The one identifier rule, per dotted segment of a field path. ``\Z``, not ``$``:
#: ``$`` would also match before a trailing newline.
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_IDENT_LEN = 128

#: The largest page any read returns in one request.
MAX_PAGE_LIMIT = 1000


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


def check_object_keys(value: Any, argument: str) -> None:
    """Free-form objects are stored as SurrealDB objects, whose keys are strings."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise fail(argument, "keys must be strings")
            check_object_keys(item, argument)
    elif isinstance(value, list | tuple):
        for item in value:
            check_object_keys(item, argument)
