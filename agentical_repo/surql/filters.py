"""Filter dicts → frozen filter objects → WHERE conditions; ordering and keyset conditions.

A filter dict is the one query language callers get::

    {"status": "active", "priority__gte": 3, "config.model__startswith": "gpt",
     "$or": [{"agent_id": a}, {"agent_id__isnull": True}],
     "$not": {"title__icontains": "draft"}}

``parse_filters`` reads it once: keys are checked against the model's fields
(dotted paths only through dict fields), lookups against a fixed table, values
normalised and converted to their stored form. The result is a tree of small
frozen objects (``Compare``, ``In``, ``IsNull``, ``Between``, ``Contains``,
``Text``, ``And``, ``Or``, ``Not``) that render themselves into an ``Sql``
condition whose values are ``Var``s, named only when the request is rendered.

Groups use the spelling of Mongo-style filters: ``"$and"`` and ``"$or"`` take a
non-empty list of non-empty filter dicts, ``"$not"`` one non-empty filter dict;
the keys of one dict are ANDed, as at the top level.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from surrealdb import RecordID

from ..errors import ValidationError
from ..validation import check_nesting, scalar_problem
from .idents import field_path
from .statement import Ident, Sql, Var, ident, sql

__all__ = [
    "GROUPS",
    "LOOKUPS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_KEYS",
    "And",
    "Between",
    "Compare",
    "Contains",
    "Filter",
    "In",
    "IsNull",
    "Not",
    "Or",
    "Text",
    "compile_filters",
    "conjoin",
    "keyset_condition",
    "normalize_order",
    "parse_filters",
    "split_key",
    "split_order",
]

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
GROUPS = ("$and", "$or", "$not")
_COMPARE = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_CONTAINS = {"contains": "CONTAINS", "contains_any": "CONTAINSANY", "contains_all": "CONTAINSALL"}
#: Keys in one filter, counted over every nested group.
MAX_FILTER_KEYS = 64
#: Groups nested inside groups.
MAX_FILTER_DEPTH = 8
MAX_IN_VALUES = 10_000
MAX_ORDER_KEYS = 8

FieldCheck = Callable[[str], bool]
ValueConvert = Callable[[str, Any], Any]


# --------------------------------------------------------------------------- filter objects


def _present(f: Ident) -> Sql:
    # A missing field (NONE) and a stored null (NULL, e.g. {"k": None} in a dict field) both
    # mean "no value": isnull/eq None match either, and no ordering or string lookup matches
    # them (the engine would order NONE < NULL < numbers < strings, and cast them to 'NONE').
    return sql("{f} != NONE AND {f} != NULL", f=f)


class Filter:
    """A condition that renders itself as SurrealQL with bound values."""

    __slots__ = ()

    #: True when ``to_sql()`` is one parenthesised unit (so ``!`` can prefix it as it is).
    wrapped: ClassVar[bool] = True

    def to_sql(self) -> Sql:
        raise NotImplementedError

    def operand(self) -> Sql:
        """The condition as an operand of AND / OR."""
        return self.to_sql()

    def parenthesised(self) -> Sql:
        rendered = self.to_sql()
        return rendered if self.wrapped else sql("({c})", c=rendered)


@dataclass(frozen=True, slots=True)
class Compare(Filter):
    """``path <op> value`` for eq ne gt gte lt lte; an ordering never matches a missing value."""

    path: str
    op: str
    value: Any

    @property
    def wrapped(self) -> bool:  # type: ignore[override]
        return self.op not in ("eq", "ne")

    def to_sql(self) -> Sql:
        f = ident(self.path)
        v = Var(self.value, self.path)
        if self.op in ("eq", "ne"):
            return sql(f"{{f}} {_COMPARE[self.op]} {{v}}", f=f, v=v)
        return sql(f"({{p}} AND {{f}} {_COMPARE[self.op]} {{v}})", p=_present(f), f=f, v=v)


@dataclass(frozen=True, slots=True)
class IsNull(Filter):
    """``path`` is missing or NULL (``null=True``), or holds a value (``null=False``)."""

    path: str
    null: bool = True

    def to_sql(self) -> Sql:
        f = ident(self.path)
        if self.null:
            return sql("({f} = NONE OR {f} = NULL)", f=f)
        return sql("({p})", p=_present(f))


@dataclass(frozen=True, slots=True)
class In(Filter):
    """``path INSIDE values`` (``NOTINSIDE`` when ``negate``)."""

    path: str
    values: tuple[Any, ...]
    negate: bool = False

    wrapped: ClassVar[bool] = False

    def to_sql(self) -> Sql:
        op = "NOTINSIDE" if self.negate else "INSIDE"
        return sql(f"{{f}} {op} {{v}}", f=ident(self.path), v=Var(list(self.values), self.path))


@dataclass(frozen=True, slots=True)
class Between(Filter):
    """``low <= path <= high`` (a missing value never matches)."""

    path: str
    low: Any
    high: Any

    def to_sql(self) -> Sql:
        f = ident(self.path)
        return sql(
            "({p} AND {f} >= {lo} AND {f} <= {hi})",
            p=_present(f),
            f=f,
            lo=Var(self.low, self.path),
            hi=Var(self.high, self.path),
        )


@dataclass(frozen=True, slots=True)
class Contains(Filter):
    """``path CONTAINS value`` / ``CONTAINSANY values`` / ``CONTAINSALL values``."""

    path: str
    op: str
    value: Any

    wrapped: ClassVar[bool] = False

    def to_sql(self) -> Sql:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return sql(f"{{f}} {_CONTAINS[self.op]} {{v}}", f=ident(self.path), v=Var(value, self.path))


@dataclass(frozen=True, slots=True)
class Text(Filter):
    """startswith / endswith / icontains (``value`` already lower-cased) on the string form."""

    path: str
    op: str
    value: str

    def to_sql(self) -> Sql:
        f = ident(self.path)
        v = Var(self.value, self.path)
        if self.op == "icontains":
            return sql(
                "({p} AND string::contains(string::lowercase(<string>{f}), {v}))", p=_present(f), f=f, v=v
            )
        fn = "starts_with" if self.op == "startswith" else "ends_with"
        return sql(f"({{p}} AND string::{fn}(<string>{{f}}, {{v}}))", p=_present(f), f=f, v=v)


@dataclass(frozen=True, slots=True)
class And(Filter):
    """Every item holds (the keys of one filter dict)."""

    items: tuple[Filter, ...]

    wrapped: ClassVar[bool] = False

    def to_sql(self) -> Sql:
        return Sql.join(" AND ", [item.operand() for item in self.items])

    def operand(self) -> Sql:
        return sql("({c})", c=self.to_sql())


@dataclass(frozen=True, slots=True)
class Or(Filter):
    """At least one item holds."""

    items: tuple[Filter, ...]

    def to_sql(self) -> Sql:
        return sql("({c})", c=Sql.join(" OR ", [item.operand() for item in self.items]))


@dataclass(frozen=True, slots=True)
class Not(Filter):
    """The item does not hold (a missing value makes a comparison false, so NOT makes it true)."""

    item: Filter

    def to_sql(self) -> Sql:
        return sql("!{c}", c=self.item.parenthesised())


# --------------------------------------------------------------------------- parsing


def _plain(value: Any, key: str) -> Any:
    """A filter value in the form it is bound: only data values, checked before any I/O.

    Enums become their value, tuples and sets lists, a ``date`` (not a datetime) its
    midnight UTC, so ``created_at__gte=date(2024, 1, 1)`` means what it says. Every
    scalar must be storable (``validation.scalar_problem``: 64-bit integers, finite
    numbers, no ``time``/``timedelta``/``complex``/arbitrary objects) and the value
    at most ``MAX_NESTING`` levels deep. The error names the field, never the value.
    """
    check_nesting(value, key)
    return _plain_checked(value, key)


def _plain_checked(value: Any, key: str) -> Any:
    if value is None or isinstance(value, str | bool | uuid.UUID | dt.datetime | RecordID):
        if isinstance(value, RecordID):
            _scalar(value, key)
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain_checked(v, key) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(
                    f"filter value for {key!r}: object keys must be strings", context={"argument": key}
                )
            out[k] = _plain_checked(v, key)
        return out
    _scalar(value, key)
    return bytes(value) if isinstance(value, bytearray) else value


def _scalar(value: Any, key: str) -> None:
    problem = scalar_problem(value)
    if problem is not None:
        raise ValidationError(f"filter value for {key!r} {problem}", context={"argument": key})


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


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, context={"argument": "filters"})


class _Parser:
    __slots__ = ("convert", "field_ok", "keys")

    def __init__(self, field_ok: FieldCheck | None, convert: ValueConvert | None) -> None:
        self.field_ok = field_ok
        self.convert = convert
        self.keys = 0

    def dict_(self, filters: Mapping[Any, Any], depth: int) -> Filter | None:
        self.keys += len(filters)
        if self.keys > MAX_FILTER_KEYS:
            raise _refuse(f"too many filter keys (max {MAX_FILTER_KEYS})")
        items: list[Filter] = []
        for key, raw in filters.items():
            if isinstance(key, str) and key.startswith("$"):
                items.append(self.group(key, raw, depth + 1))
                continue
            path, op = split_key(key)
            field_path(path, what="filter field")
            if self.field_ok is not None and not self.field_ok(path):
                raise _refuse(f"unknown filter field {path!r}")
            items.append(self.leaf(path, op, raw))
        if not items:
            return None
        return items[0] if len(items) == 1 else And(tuple(items))

    def member(self, key: str, raw: Any, depth: int) -> Filter:
        if not isinstance(raw, Mapping) or not raw:
            raise _refuse(f"{key} takes non-empty filter dicts")
        node = self.dict_(raw, depth)
        assert node is not None  # a non-empty dict yields a node or raises
        return node

    def group(self, key: str, raw: Any, depth: int) -> Filter:
        if key not in GROUPS:
            raise _refuse(f"unknown filter group {key[:32]!r}; expected one of {', '.join(GROUPS)}")
        if depth > MAX_FILTER_DEPTH:
            raise _refuse(f"filter groups are nested too deeply (max {MAX_FILTER_DEPTH})")
        if key == "$not":
            return Not(self.member(key, raw, depth))
        if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, list | tuple) or not raw:
            raise _refuse(f"{key} takes a non-empty list of filter dicts")
        members = tuple(self.member(key, item, depth) for item in raw)
        if key == "$and":
            return members[0] if len(members) == 1 else And(members)
        return Or(members)

    def value(self, path: str, value: Any) -> Any:
        value = _plain(value, path)
        return value if self.convert is None else self.convert(path, value)

    def values(self, path: str, op: str, value: Any) -> tuple[Any, ...]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | set | frozenset):
            raise ValidationError(f"lookup {op} on {path!r} needs a list", context={"argument": path})
        items = list(value)
        if len(items) > MAX_IN_VALUES:
            raise ValidationError(f"lookup {op} on {path!r}: bad list length", context={"argument": path})
        items = [_plain(v, path) for v in items]
        if self.convert is not None:
            items = [self.convert(path, v) for v in items]
        return tuple(items)

    def leaf(self, path: str, op: str, raw: Any) -> Filter:
        if (op in ("eq", "ne") and raw is None) or op == "isnull":
            if op == "isnull" and not isinstance(raw, bool):
                raise ValidationError(
                    f"lookup isnull on {path!r} needs true or false", context={"argument": path}
                )
            return IsNull(path, raw if op == "isnull" else op == "eq")
        if op in _COMPARE:
            return Compare(path, op, self.value(path, raw))
        if op in ("in", "not_in"):
            return In(path, self.values(path, op, raw), negate=op == "not_in")
        if op == "contains":
            return Contains(path, op, self.value(path, raw))
        if op in _CONTAINS:
            return Contains(path, op, self.values(path, op, raw))
        if op in ("startswith", "endswith", "icontains"):
            if not isinstance(raw, str):
                raise ValidationError(f"lookup {op} on {path!r} needs a string", context={"argument": path})
            return Text(path, op, raw.lower() if op == "icontains" else raw)
        if op == "between":
            if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or len(raw) != 2:
                raise ValidationError(
                    f"lookup between on {path!r} needs (low, high)", context={"argument": path}
                )
            return Between(path, self.value(path, raw[0]), self.value(path, raw[1]))
        raise AssertionError(op)  # pragma: no cover - split_key guards the lookup names


def parse_filters(
    filters: Mapping[str, Any] | None,
    *,
    field_ok: FieldCheck | None = None,
    convert: ValueConvert | None = None,
) -> Filter | None:
    """Read a filter dict once into a filter object (``None`` when there is nothing to filter).

    ``field_ok(path)`` decides whether a dotted path is a real field; ``convert(path,
    value)`` turns a value into its stored form (e.g. a UUID into a RecordID).
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise _refuse("filters must be a dict")
    if len(filters) > MAX_FILTER_KEYS:
        raise _refuse(f"too many filter keys (max {MAX_FILTER_KEYS})")
    return _Parser(field_ok, convert).dict_(filters, 0)


def compile_filters(
    filters: Mapping[str, Any] | None,
    *,
    field_ok: FieldCheck | None = None,
    convert: ValueConvert | None = None,
) -> Sql | None:
    """A filter dict as a WHERE condition (``None`` when there is nothing to filter)."""
    node = parse_filters(filters, field_ok=field_ok, convert=convert)
    return None if node is None else node.to_sql()


def conjoin(left: Sql | None, right: Sql) -> Sql:
    """``(left) AND right``: a caller's condition narrowed by one of ours."""
    return right if left is None else sql("({l}) AND {r}", l=left, r=right)


# --------------------------------------------------------------------------- ordering


def split_order(key: object) -> tuple[str, bool]:
    """``"-created_at"`` → ``("created_at", True)``; ``+``/no prefix is ascending."""
    if not isinstance(key, str) or not key:
        raise ValidationError("order_by entries must be field names", context={"argument": "order_by"})
    desc = key.startswith("-")
    path = key[1:] if desc or key.startswith("+") else key
    return field_path(path, what="order_by field"), desc


def normalize_order(
    order_by: Sequence[str] | str, field_ok: FieldCheck | None = None
) -> list[tuple[str, bool]]:
    """Validate ``order_by`` → ``[(path, descending)]`` (max 8 keys)."""
    if isinstance(order_by, str):
        order_by = (order_by,)
    if not isinstance(order_by, Sequence) or len(order_by) > MAX_ORDER_KEYS:
        raise ValidationError(
            "order_by must be a list of up to 8 field names", context={"argument": "order_by"}
        )
    out: list[tuple[str, bool]] = []
    for key in order_by:
        path, desc = split_order(key)
        if field_ok is not None and not field_ok(path):
            raise ValidationError(f"unknown order_by field {path!r}", context={"argument": "order_by"})
        out.append((path, desc))
    return out


def keyset_condition(order: Sequence[tuple[str, bool]], values: Sequence[Any]) -> Sql:
    """Rows strictly after ``values`` in ``order``: ``(a > $a) OR (a = $a AND b > $b) …``."""
    refs = [Var(v, "k_" + p) for (p, _), v in zip(order, values, strict=True)]
    ors: list[Sql] = []
    for i, (path, desc) in enumerate(order):
        eqs = [sql("{f} = {v}", f=ident(order[j][0]), v=refs[j]) for j in range(i)]
        eqs.append(sql(f"{{f}} {'<' if desc else '>'} {{v}}", f=ident(path), v=refs[i]))
        ors.append(sql("({c})", c=Sql.join(" AND ", eqs)))
    return sql("({c})", c=Sql.join(" OR ", ors))
