"""Shared SurrealQL blocks: the guards every read-modify-write needs, written once.

A guarded write is one ``{ … }`` block (one statement, one engine transaction):
it loads the record, aborts with a structured ``THROW`` when a precondition
fails, then writes. The THROW payload is ``{ agentical: <ThrowCode>, … }`` with
value-free fields; ``errors.error_from_entry`` decodes it into the error
hierarchy. Template locals are named ``$_x`` so they never meet a bound
parameter (``ParamStore`` never generates a leading underscore).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ThrowCode
from .idents import identifier
from .statement import Ident, Sql, Var, ident, sql

__all__ = [
    "block",
    "literal_ident",
    "load_current",
    "require_record",
    "throw",
    "version_guard",
    "versioned_update",
]


def literal_ident(name: str) -> Sql:
    """An identifier as a SurrealQL string literal (``'agent'``): validated, so never a value."""
    return Sql((f"'{identifier(name)}'",))


def throw(code: ThrowCode, **fields: Var | Sql | Ident | str) -> Sql:
    """``THROW { agentical: <code>, field: … }``; a ``str`` field is an identifier literal."""
    parts: list[Sql] = [Sql((f"agentical: {int(code)}",))]
    for key, value in fields.items():
        rendered = literal_ident(value) if isinstance(value, str) else value
        parts.append(sql(f"{identifier(key)}: {{v}}", v=rendered))
    return sql("THROW { {fields} }", fields=Sql.join(", ", parts))


def block(lines: Sequence[Sql]) -> Sql:
    """``{ line; line; … }``: one statement (one result), atomic in the engine."""
    return sql("{\n  {body}\n}", body=Sql.join(";\n  ", lines))


def require_record(ref: Var | Sql, table: str) -> Sql:
    """Abort with ``NOT_FOUND`` naming ``table`` unless the record ``ref`` exists."""
    return sql("IF !record::exists({ref}) { {t} }", ref=ref, t=throw(ThrowCode.NOT_FOUND, table=table))


def load_current(ref: Var | Sql, table: str, fields: Sequence[str] = ()) -> Sql:
    """``LET $_cur`` = the record (or some of its fields); ``NOT_FOUND`` when it is missing."""
    projection = Sql.join(", ", [ident(f) for f in fields]) if fields else Sql(("*",))
    return sql(
        "LET $_cur = (SELECT {projection} FROM ONLY {ref});\n  IF $_cur = NONE { {t} }",
        projection=projection,
        ref=ref,
        t=throw(ThrowCode.NOT_FOUND, table=table),
    )


def version_guard(table: str, lock_field: str, expected: Var) -> Sql:
    """Abort with ``STALE_VERSION`` unless ``$_cur.<lock_field>`` equals ``expected``."""
    return sql(
        "IF $_cur.{lock} != {expected} { {t} }",
        lock=ident(lock_field),
        expected=expected,
        t=throw(ThrowCode.STALE_VERSION, table=table),
    )


def versioned_update(
    ref: Var,
    table: str,
    assignments: Sql,
    *,
    lock_field: str | None,
    expected_version: Var | None = None,
) -> Sql:
    """Load, check existence (and ``expected_version``), then ``UPDATE ONLY ref SET … RETURN AFTER``.

    ``assignments`` are the SET clause's ``field = $v, …``; with a ``lock_field``
    the block also bumps it, from the value read in the same engine transaction.
    (A ``MERGE`` cannot be combined with SET: write that block from
    ``load_current`` + ``version_guard``.)
    """
    lines = [load_current(ref, table, (lock_field,) if lock_field else ())]
    if expected_version is not None:
        if lock_field is None:
            raise ValueError(f"{table} has no version field")
        lines.append(version_guard(table, lock_field, expected_version))
    if lock_field is not None:
        assignments = sql("{a}, {lock} = $_cur.{lock} + 1", a=assignments, lock=ident(lock_field))
    lines.append(sql("UPDATE ONLY {ref} SET {a} RETURN AFTER", ref=ref, a=assignments))
    return block(lines)
