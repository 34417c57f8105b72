"""``Statement``: SurrealQL text plus the variables it binds, and their composition.

Every query this package sends is a ``Statement``. Its text refers to values only
as ``$name`` parameters; the values travel separately in ``vars``. Composing
several statements into one request (a batch or a transaction) renames clashing
parameters so that two statements binding ``$id`` can never read each other's
value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import ValidationError
from .idents import identifier

__all__ = ["Composed", "Fragment", "Params", "Statement", "compose", "count_statements"]

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

# Parameters the engine defines itself: never renamed, never bindable.
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


def _segments(text: str) -> Iterator[tuple[bool, str]]:
    """Split ``text`` into (is_code, chunk) pieces; strings and comments are not code."""
    i, n, start = 0, len(text), 0
    while i < n:
        c = text[i]
        if c in "'\"`⟨":
            close = "⟩" if c == "⟨" else c
            if start < i:
                yield True, text[start:i]
            j = i + 1
            while j < n and text[j] != close:
                j += 2 if text[j] == "\\" else 1
            yield False, text[i : j + 1]
            i = start = j + 1
            continue
        if text.startswith(("--", "//"), i) or c == "#":
            if start < i:
                yield True, text[start:i]
            j = text.find("\n", i)
            j = n if j < 0 else j
            yield False, text[i:j]
            i = start = j
            continue
        if text.startswith("/*", i):
            if start < i:
                yield True, text[start:i]
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            yield False, text[i:j]
            i = start = j
            continue
        i += 1
    if start < n:
        yield True, text[start:]


def _ends_in_line_comment(text: str) -> bool:
    last = ""
    for is_code, chunk in _segments(text):
        last = "" if is_code else chunk
    return last.startswith(("--", "//", "#"))


def count_statements(text: str) -> int:
    """Count top-level statements: ``;`` outside strings, comments, braces and brackets."""
    depth, count, pending = 0, 0, False
    for is_code, chunk in _segments(text):
        if not is_code:
            pending = pending or chunk[0] in "'\"`⟨"  # a string is a statement, a comment is not
            continue
        for ch in chunk:
            if ch in "({[":
                depth += 1
                pending = True
            elif ch in ")}]":
                depth -= 1
            elif ch == ";" and depth == 0:
                if pending:
                    count += 1
                pending = False
            elif not ch.isspace():
                pending = True
    return count + (1 if pending else 0)


# Repositories send the same few texts over and over (only the vars change), and
# scanning a text costs ~13 µs per request: remember the counts of recent texts.
_count_cached = lru_cache(maxsize=1024)(count_statements)


def rename_params(text: str, mapping: Mapping[str, str]) -> str:
    """Rename ``$old`` to ``$new`` in the code parts of ``text`` only."""
    if not mapping:
        return text
    out: list[str] = []
    for is_code, chunk in _segments(text):
        if is_code:
            chunk = _PARAM_RE.sub(lambda m: "$" + mapping.get(m.group(1), m.group(1)), chunk)
        out.append(chunk)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Fragment:
    """A piece of SurrealQL (e.g. a WHERE condition) with its own bound values."""

    text: str
    vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Statement:
    """One request's worth of SurrealQL with its bound variables.

    ``operation`` and ``table`` describe the statement for telemetry
    (``db.operation.name``, ``db.collection.name``); ``count`` is the number of
    top-level SurrealQL statements in ``text`` (results come back one per each).
    """

    text: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    operation: str = "QUERY"
    table: str | None = None
    batch_size: int | None = None

    def __post_init__(self) -> None:
        for name in self.vars:
            if not isinstance(name, str) or not _PARAM_RE.fullmatch("$" + name):
                raise ValidationError("invalid parameter name", context={"argument": "vars"})
            if name in PROTECTED_PARAMS:
                raise ValidationError(
                    f"parameter name ${name} is reserved by the engine",
                    context={"argument": "vars"},
                )

    @property
    def count(self) -> int:
        return _count_cached(self.text)

    def with_vars_renamed(self, mapping: Mapping[str, str]) -> Statement:
        return Statement(
            text=rename_params(self.text, mapping),
            vars={mapping.get(k, k): v for k, v in self.vars.items()},
            operation=self.operation,
            table=self.table,
            batch_size=self.batch_size,
        )


class Params:
    """Allocates collision-free parameter names while a statement is built."""

    def __init__(self) -> None:
        self.vars: dict[str, Any] = {}

    def add(self, value: Any, hint: str = "v") -> str:
        """Bind ``value`` and return its ``$name`` reference."""
        base = hint.replace(".", "_")[:64]  # a long valid dotted path must not make an invalid name
        base = identifier(base, what="parameter") if base else "v"
        if base in PROTECTED_PARAMS:
            base = f"{base}_v"
        name, i = base, 0
        while name in self.vars:
            i += 1
            name = f"{base}_{i}"
        self.vars[name] = value
        return "$" + name

    def embed(self, fragment: Fragment) -> str:
        """Merge a fragment's vars, renaming any that clash; return its rewritten text."""
        mapping: dict[str, str] = {}
        for key, value in fragment.vars.items():
            ref = self.add(value, key)
            if ref[1:] != key:
                mapping[key] = ref[1:]
        return rename_params(fragment.text, mapping)


@dataclass(frozen=True, slots=True)
class Composed:
    """Several statements joined into one text; ``counts[i]`` = results of statement i."""

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
    """Join statements into one request, renaming parameters so none collide.

    With ``wrap_transaction`` the text is ``BEGIN TRANSACTION; …; COMMIT TRANSACTION;``
    and the counts exclude the BEGIN/COMMIT entries (callers strip those first).
    """
    params = Params()
    parts: list[str] = []
    counts: list[int] = []
    tables: list[str] = []
    for st in statements:
        text = params.embed(Fragment(st.text.strip().rstrip(";"), st.vars))
        if _ends_in_line_comment(text):
            text += "\n"  # else the joining ";" and the next statement would be commented out
        parts.append(text)
        counts.append(st.count)
        if st.table and st.table not in tables:
            tables.append(st.table)
    body = ";\n".join(parts)
    if wrap_transaction:
        body = f"BEGIN TRANSACTION;\n{body};\nCOMMIT TRANSACTION;"
    ops = {st.operation for st in statements}
    operation = ops.pop() if len(ops) == 1 else "BATCH"
    table = tables[0] if len(tables) == 1 else None
    return Composed(
        Statement(body, params.vars, operation=operation, table=table, batch_size=len(statements)),
        tuple(counts),
    )
