"""``Statement``: SurrealQL as parts (literal text and bound ``Var``s), named at render time.

Every query this package sends is a ``Statement``. Its text never contains a
value: values are ``Var`` parts, and a ``Var`` gets its ``$name`` only when the
request is rendered, from the one ``ParamStore`` of that request. So composing
statements (a batch, a whole transaction) is concatenation: linear in the
number of parts, with no renaming pass and no re-lexing of generated text, and
two statements that both bind an ``$id`` can never read each other's value.

Query text is written with ``sql()``: a literal template whose ``{slot}``s take
a ``Var`` (a bound value), an ``Sql`` (a nested fragment) or an ``Ident`` (a
validated identifier). A plain ``str`` is refused, so a value can never be
formatted into the text by accident.

Raw text from callers and migrations (``Statement(text, vars)``) is lexed once,
at construction, into the same parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import ValidationError
from ..validation import check_sendable
from .idents import is_identifier, quote
from .lexer import PARAM_RE, count_statements, ends_in_line_comment, segments

__all__ = [
    "PROTECTED_PARAMS",
    "Composed",
    "Ident",
    "ParamStore",
    "Sql",
    "Statement",
    "Var",
    "compose",
    "ident",
    "sql",
]

# Parameters the engine defines itself: never bindable, never generated.
PROTECTED_PARAMS = frozenset(
    {
        "auth",
        "token",
        "session",
        "access",
        "before",
        "after",
        "value",
        "this",
        "parent",
        "event",
        "input",
        "reference",
        "request",
    }
)

_MAX_HINT = 64


class Var:
    """A bound value waiting for its parameter name.

    Identity matters: the same ``Var`` used twice in a request renders the same
    ``$name``; two ``Var``s with the same hint get different names.
    """

    __slots__ = ("hint", "value")

    def __init__(self, value: Any, hint: str = "v") -> None:
        self.value = value
        self.hint = hint

    def __repr__(self) -> str:
        return f"Var(<{type(self.value).__name__}>, {self.hint!r})"  # never the value


class Ident:
    """A validated identifier or dotted field path, rendered quoted where reserved."""

    __slots__ = ("text",)

    def __init__(self, path: str) -> None:
        self.text = quote(path)

    def __repr__(self) -> str:
        return f"Ident({self.text!r})"


def ident(path: str) -> Ident:
    """Shorthand for ``Ident(path)``: refuses anything but ``^[A-Za-z_][A-Za-z0-9_]*`` segments."""
    return Ident(path)


Part = str | Var


class Sql:
    """An immutable sequence of literal text and ``Var`` parts."""

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[Part] = ()) -> None:
        self.parts: tuple[Part, ...] = tuple(parts)

    @classmethod
    def raw(cls, text: str, vars: Mapping[str, Any] | None = None) -> Sql:
        """Lex caller-written text once: each ``$name`` of ``vars`` in code becomes one ``Var``."""
        if not vars:
            return cls((text,))
        by_name = {name: Var(value, name) for name, value in vars.items()}
        parts: list[Part] = []
        buf: list[str] = []
        for is_code, chunk in segments(text):
            if not is_code:
                buf.append(chunk)
                continue
            pos = 0
            for m in PARAM_RE.finditer(chunk):
                found = by_name.get(m.group(1))
                if found is None:
                    continue
                buf.append(chunk[pos : m.start()])
                parts.append("".join(buf))
                buf.clear()
                parts.append(found)
                pos = m.end()
            buf.append(chunk[pos:])
        parts.append("".join(buf))
        unused = [v for v in by_name.values() if not any(p is v for p in parts)]
        return cls(parts).bind_unused(unused)

    def bind_unused(self, unused: Sequence[Var]) -> Sql:
        """Keep vars the text does not mention (they are still sent, as the caller asked)."""
        if not unused:
            return self
        return Sql((*self.parts, *(_Unmentioned(v) for v in unused)))

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql((*self.parts, other))
        return Sql((*self.parts, *other.parts))

    def __radd__(self, other: str) -> Sql:
        return Sql((other, *self.parts))

    def __bool__(self) -> bool:
        return any(isinstance(p, Var) or (isinstance(p, str) and p.strip()) for p in self.parts)

    @staticmethod
    def join(separator: str, items: Iterable[Sql | Var | Ident | str]) -> Sql:
        """``items`` joined by the literal ``separator`` (str items must be literal SurrealQL)."""
        parts: list[Part] = []
        for i, item in enumerate(items):
            if i:
                parts.append(separator)
            parts.extend(_slot_parts(item, "join", allow_str=True))
        return Sql(parts)

    def render(self, store: ParamStore) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, _Unmentioned):
                store.name(part.var)
            else:
                out.append("$" + store.name(part))
        return "".join(out)

    @property
    def text(self) -> str:
        return self.render(ParamStore())

    @property
    def vars(self) -> dict[str, Any]:
        store = ParamStore()
        self.render(store)
        return store.vars

    def __repr__(self) -> str:
        return f"Sql({self.text!r})"


class _Unmentioned(Var):
    """Marks a caller's var that its text never references: bound, not rendered."""

    __slots__ = ("var",)

    def __init__(self, var: Var) -> None:
        super().__init__(var.value, var.hint)
        self.var = var


# A slot is ``{name}`` with an identifier inside; any other brace is literal SurrealQL.
_SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@lru_cache(maxsize=2048)
def _template(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a template into literals and slot names: ``lits[0] slot[0] lits[1] …``."""
    literals: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _SLOT_RE.finditer(template):
        literals.append(template[pos : m.start()])
        names.append(m.group(1))
        pos = m.end()
    literals.append(template[pos:])
    return tuple(literals), tuple(names)


def _slot_parts(value: object, name: str, *, allow_str: bool = False) -> tuple[Part, ...]:
    if isinstance(value, Var):
        return (value,)
    if isinstance(value, Sql):
        return value.parts
    if isinstance(value, Ident):
        return (value.text,)
    if isinstance(value, Statement):
        return value.sql.parts
    if allow_str and isinstance(value, str):
        return (value,)
    raise TypeError(
        f"slot {{{name}}} takes a Var, Sql or Ident, not {type(value).__name__}: "
        "values are bound with Var(...), identifiers wrapped in ident(...)"
    )


def sql(template: str, /, **slots: Var | Sql | Ident | Statement) -> Sql:
    """Fill a literal SurrealQL template's ``{slot}``s; each slot must be given exactly once.

    >>> sql("SELECT * FROM {id}", id=Var(1, "id")).text
    'SELECT * FROM $id'
    """
    literals, names = _template(template)
    missing = [n for n in names if n not in slots]
    if missing:
        raise TypeError(f"template slot(s) not given: {', '.join(missing)}")
    extra = set(slots) - set(names)
    if extra:
        raise TypeError(f"template has no slot(s): {', '.join(sorted(extra))}")
    parts: list[Part] = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        parts.extend(_slot_parts(slots[name], name))
        parts.append(literal)
    return Sql(parts)


class ParamStore:
    """The parameter names and values of one request.

    Names come from each ``Var``'s hint (``id``, ``id_1``, …), in O(1) per var.
    Names starting with ``_`` are left to templates' own ``LET $_x`` locals.
    """

    __slots__ = ("_names", "_next", "vars")

    def __init__(self) -> None:
        self.vars: dict[str, Any] = {}
        self._names: dict[int, tuple[Var, str]] = {}
        self._next: dict[str, int] = {}

    def name(self, var: Var) -> str:
        known = self._names.get(id(var))
        if known is not None and known[0] is var:
            return known[1]
        base = _base_name(var.hint)
        i = self._next.get(base, 0)
        name = base if i == 0 else f"{base}_{i}"
        while name in self.vars:  # only when a hint itself ends in _N: rare, and bounded
            i += 1
            name = f"{base}_{i}"
        self._next[base] = i + 1
        self.vars[name] = var.value
        self._names[id(var)] = (var, name)
        return name


@lru_cache(maxsize=1024)
def _base_name(hint: str) -> str:
    base = hint.replace(".", "_").lstrip("_")[:_MAX_HINT]
    if not is_identifier(base):
        return "v"
    return f"{base}_v" if base in PROTECTED_PARAMS else base


class Statement:
    """One statement's worth of SurrealQL (maybe a ``{ … }`` block) with its bound values.

    ``operation`` and ``table`` describe it for telemetry (``db.operation.name``,
    ``db.collection.name``); ``count`` is the number of top-level SurrealQL
    statements (results come back one per each): 1 for everything ``surql``
    builds, counted by the lexer for raw text.
    """

    __slots__ = ("_rendered", "batch_size", "count", "operation", "sql", "table")

    def __init__(
        self,
        text: str | Sql,
        vars: Mapping[str, Any] | None = None,
        operation: str = "QUERY",
        table: str | None = None,
        batch_size: int | None = None,
        *,
        count: int | None = None,
    ) -> None:
        if isinstance(text, Sql):
            if vars:
                raise TypeError("an Sql statement carries its own Vars; pass no vars")
            self.sql = text
            self.count = 1 if count is None else count
        else:
            _check_names(vars or {})
            check_sendable(vars or {})
            raw = text.strip().rstrip(";")
            if ends_in_line_comment(raw):
                raw += "\n"  # else a joining ";" (and what follows) would be commented out
            self.sql = Sql.raw(raw, vars)
            self.count = count_statements(text) if count is None else count
        self.operation = operation
        self.table = table
        self.batch_size = batch_size
        self._rendered: tuple[str, dict[str, Any]] | None = None

    def _standalone(self) -> tuple[str, dict[str, Any]]:
        if self._rendered is None:
            store = ParamStore()
            text = self.sql.render(store)
            self._rendered = (text, store.vars)
        return self._rendered

    @property
    def text(self) -> str:
        return self._standalone()[0]

    @property
    def vars(self) -> dict[str, Any]:
        return self._standalone()[1]

    def render(self, store: ParamStore) -> str:
        """This statement's text with its vars named in ``store`` (shared by a whole request)."""
        return self.sql.render(store)

    def __repr__(self) -> str:
        return f"Statement({self.text!r}, operation={self.operation!r}, table={self.table!r})"


def _check_names(vars: Mapping[str, Any]) -> None:
    for name in vars:
        if not isinstance(name, str) or not PARAM_RE.fullmatch("$" + name):
            raise ValidationError("invalid parameter name", context={"argument": "vars"})
        if name in PROTECTED_PARAMS:
            raise ValidationError(
                f"parameter name ${name} is reserved by the engine", context={"argument": "vars"}
            )


@dataclass(frozen=True, slots=True)
class Composed:
    """Several statements joined into one request; ``counts[i]`` = results of statement i."""

    statement: Statement
    counts: tuple[int, ...]

    def split(self, results: Sequence[Any]) -> list[list[Any]]:
        """Split a flat list of per-statement results back into one list per input statement."""
        out: list[list[Any]] = []
        pos = 0
        for n in self.counts:
            out.append(list(results[pos : pos + n]))
            pos += n
        return out


def compose(statements: Sequence[Statement], *, wrap_transaction: bool = False) -> Composed:
    """Join statements into one request: one parameter store, linear in the total parts.

    With ``wrap_transaction`` the text is ``BEGIN TRANSACTION; …; COMMIT TRANSACTION;``
    and the counts exclude the BEGIN/COMMIT entries (callers strip those first).
    """
    parts: list[Part] = ["BEGIN TRANSACTION;\n"] if wrap_transaction else []
    counts: list[int] = []
    tables: list[str] = []
    ops: set[str] = set()
    for i, st in enumerate(statements):
        if i:
            parts.append(";\n")
        parts.extend(st.sql.parts)
        counts.append(st.count)
        ops.add(st.operation)
        if st.table and st.table not in tables:
            tables.append(st.table)
    if wrap_transaction:
        parts.append(";\nCOMMIT TRANSACTION;")
    operation = ops.pop() if len(ops) == 1 else "BATCH"
    table = tables[0] if len(tables) == 1 else None
    joined = Statement(
        Sql(parts),
        operation=operation,
        table=table,
        batch_size=len(statements),
        count=sum(counts) + (2 if wrap_transaction else 0),
    )
    return Composed(joined, tuple(counts))
