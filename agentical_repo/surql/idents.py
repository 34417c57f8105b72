"""Identifier validation and quoting.

Identifiers (tables, fields, dotted paths) are the only caller-influenced text
that ever enters a SurrealQL string, so they are held to ``^[A-Za-z_][A-Za-z0-9_]*$``
per dotted segment. Anything else is refused with ``ValidationError`` before a
query is even built.
"""

from __future__ import annotations

from ..errors import ValidationError
from ..validation import IDENT_RE, MAX_IDENT_LEN, is_identifier

__all__ = ["IDENT_RE", "MAX_IDENT_LEN", "RESERVED", "field_path", "identifier", "is_identifier", "quote"]


# Words that are SurrealQL keywords in expression position; a field with such a
# name is written in backticks so it is read as a field, never as syntax.
RESERVED = frozenset(
    {
        "and",
        "or",
        "not",
        "is",
        "in",
        "inside",
        "outside",
        "contains",
        "containsall",
        "containsany",
        "containsnone",
        "containsnot",
        "allinside",
        "anyinside",
        "noneinside",
        "none",
        "null",
        "true",
        "false",
        "select",
        "from",
        "where",
        "value",
        "values",
        "only",
        "order",
        "by",
        "group",
        "limit",
        "start",
        "fetch",
        "return",
        "set",
        "content",
        "merge",
        "patch",
        "replace",
        "unset",
        "create",
        "update",
        "upsert",
        "delete",
        "relate",
        "insert",
        "into",
        "let",
        "if",
        "else",
        "then",
        "end",
        "for",
        "begin",
        "commit",
        "cancel",
        "transaction",
        "define",
        "remove",
        "info",
        "use",
        "throw",
        "break",
        "continue",
        "sleep",
        "show",
        "live",
        "kill",
        "explain",
        "split",
        "timeout",
        "parallel",
        "with",
        "index",
        "noindex",
        "omit",
        "as",
        "asc",
        "desc",
        "collate",
        "numeric",
        "before",
        "after",
        "diff",
        "all",
        "out",
        "at",
        "table",
    }
)


def identifier(name: object, *, what: str = "identifier") -> str:
    """Return ``name`` if it is one valid identifier segment, else raise ``ValidationError``."""
    if not is_identifier(name):
        shown = name if isinstance(name, str) and len(name) <= 64 else type(name).__name__
        raise ValidationError(
            f"invalid {what} {shown!r}: must match ^[A-Za-z_][A-Za-z0-9_]*$",
            context={"argument": what},
        )
    assert isinstance(name, str)
    return name


def field_path(path: object, *, what: str = "field") -> str:
    """Validate a dotted field path (``config.model``) segment by segment."""
    if not isinstance(path, str) or not path:
        raise ValidationError(f"invalid {what}: expected a non-empty string", context={"argument": what})
    for segment in path.split("."):
        if not is_identifier(segment):
            shown = path if len(path) <= 64 else path[:61] + "..."
            raise ValidationError(
                f"invalid {what} {shown!r}: each dotted segment must match ^[A-Za-z_][A-Za-z0-9_]*$",
                context={"argument": what},
            )
    return path


def quote(path: str) -> str:
    """Render a validated (dotted) path, backtick-quoting reserved segments."""
    segments = field_path(path).split(".")
    return ".".join(f"`{seg}`" if seg.lower() in RESERVED else seg for seg in segments)
