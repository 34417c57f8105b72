"""A small SurrealQL lexer for text this package did not generate.

Statements built by ``surql`` carry their values as ``Var`` parts and never need
lexing. Raw text does: the ``Database.query`` escape hatch, migration files, and
callers' own ``Statement(text, vars)``. For those, this module finds the code
between strings and comments, counts top-level statements, and locates
``$param`` references, so raw text can be turned into parts once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

__all__ = [
    "PARAM_RE",
    "count_statements",
    "ends_in_line_comment",
    "rename_params",
    "segments",
    "statement_keywords",
]

PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def segments(text: str) -> Iterator[tuple[bool, str]]:
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


def ends_in_line_comment(text: str) -> bool:
    """True when the text's last piece is a ``--``/``//``/``#`` comment (it swallows a joining ``;``)."""
    last = ""
    for is_code, chunk in segments(text):
        last = "" if is_code else chunk
    return last.startswith(("--", "//", "#"))


def _count(text: str) -> int:
    depth, count, pending = 0, 0, False
    for is_code, chunk in segments(text):
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


# Callers tend to send the same few raw texts again and again: remember recent counts.
_count_cached = lru_cache(maxsize=1024)(_count)


def count_statements(text: str) -> int:
    """Count top-level statements: ``;`` outside strings, comments, braces and brackets."""
    return _count_cached(text)


def rename_params(text: str, mapping: dict[str, str]) -> str:
    """Rename ``$old`` to ``$new`` in the code parts of ``text`` only."""
    if not mapping:
        return text
    out: list[str] = []
    for is_code, chunk in segments(text):
        if is_code:
            chunk = PARAM_RE.sub(lambda m: "$" + mapping.get(m.group(1), m.group(1)), chunk)
        out.append(chunk)
    return "".join(out)


# One code token: a word (keyword or identifier), a $param, a number, or one other character.
_TOKEN_RE = re.compile(r"\$[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|\S")

# What may come right before a statement: the start, ";", an opening brace or parenthesis
# (a block or a subquery), or THEN/ELSE of an IF.
_STATEMENT_OPENERS = frozenset({None, ";", "{", "(", "THEN", "ELSE"})


def statement_keywords(text: str, keyword: str) -> Iterator[int]:
    """Offsets in ``text`` where ``keyword`` starts a statement, at any nesting depth.

    Only code counts: strings, comments and quoted identifiers (backticks, ``⟨…⟩``) are
    skipped. A statement starts at the beginning, after ``;``, ``{``, ``(``, ``THEN`` or
    ``ELSE``; so the same word used as a clause (``CREATE … RETURN NONE``), a field
    (``SET return = 1``, ``a.return``), a parameter (``$return``) or an object key
    (``{ return: 1 }``) is not reported. Case-insensitive, like SurrealQL keywords.
    """
    word = keyword.upper()
    previous: str | None = None
    pending: int | None = None  # offset of a candidate waiting to see the next token
    offset = 0
    for is_code, chunk in segments(text):
        if not is_code:
            if not chunk.startswith(("--", "//", "#", "/*")):  # a string or quoted identifier
                if pending is not None:
                    yield pending
                    pending = None
                previous = "'"
            offset += len(chunk)
            continue
        for m in _TOKEN_RE.finditer(chunk):
            upper = m.group().upper()
            if pending is not None:
                if upper != ":":  # ``{ return: 1 }`` is an object key, not a statement
                    yield pending
                pending = None
            if upper == word and previous in _STATEMENT_OPENERS:
                pending = offset + m.start()
            previous = upper
        offset += len(chunk)
    if pending is not None:
        yield pending
