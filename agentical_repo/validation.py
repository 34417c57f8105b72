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
from typing import Any, NoReturn, TypeVar

from surrealdb import RecordID

from .errors import ValidationError

__all__ = [
    "IDENT_RE",
    "MAX_IDENT_LEN",
    "MAX_NESTING",
    "MAX_PAGE_LIMIT",
    "MAX_PAYLOAD_BYTES",
    "as_uuid",
    "check_object_keys",
    "check_payload",
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


# --------------------------------------------------------------------------- write payloads

# Upper bounds for the values of one write, checked before it is sent. The engine takes
# any size (a 100 MB dict field went through, slowly) and the SDK's CBOR encoder
# overflows Python's recursion limit on a value nested ~150 levels deep.
MAX_PAYLOAD_BYTES = 16 * 2**20
MAX_NESTING = 32


def check_payload(vars: Mapping[str, Any]) -> None:
    """Refuse a write whose bound values are too large or too deeply nested.

    Counts string/bytes lengths, key lengths and 8 bytes per other scalar. The error
    names the field (the top-level key of a record body, else the parameter), never
    a value.
    """
    budget = MAX_PAYLOAD_BYTES
    for name, value in vars.items():
        if type(value) is dict and name in ("content", "data"):
            for key, item in value.items():
                budget = _payload_budget(item, 1, budget, name, key)
        elif type(value) is list and name == "rows":  # a bulk INSERT: a list of record bodies
            for row in value:
                for key, item in row.items() if type(row) is dict else ((None, row),):
                    budget = _payload_budget(item, 2, budget, name, key)
        else:
            budget = _payload_budget(value, 0, budget, name, None)


def _payload_budget(value: Any, depth: int, budget: int, name: str, key: Any) -> int:
    kind = type(value)
    if kind is str or kind is bytes:
        budget -= len(value)
    elif kind is dict or kind is list or isinstance(value, Mapping | list | tuple | set | frozenset):
        if depth >= MAX_NESTING:
            _payload_error(f"is nested more than {MAX_NESTING} levels deep", name, key)
        if isinstance(value, Mapping):
            for k, item in value.items():
                budget -= len(k) if type(k) is str else 8
                budget = _payload_budget(item, depth + 1, budget, name, key)
        else:
            for item in value:
                budget = _payload_budget(item, depth + 1, budget, name, key)
    else:
        budget -= 8
    if budget < 0:
        _payload_error(f"makes the write larger than {MAX_PAYLOAD_BYTES // 2**20} MiB", name, key)
    return budget


def _payload_error(problem: str, name: str, key: Any) -> NoReturn:
    # a record body's top-level keys are field names; anything else is reported by parameter
    field = key if isinstance(key, str) and IDENT_RE.match(key) else name
    raise ValidationError(f"value of {field[:64]!r} {problem}", context={"argument": field[:64]})
