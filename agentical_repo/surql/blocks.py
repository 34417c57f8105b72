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
    "object_path_guard",
    "permitted_write",
    "require_record",
    "throw",
    "version_guard",
    "versioned_update",
]

#: ``reason`` of the INVALID THROW raised when a dotted update key runs through a
#: stored value that is not an object (the engine would store nothing and say OK).
NOT_AN_OBJECT = "not_an_object"


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


def permitted_write(write: Sql, table: str) -> Sql:
    """``write`` (a ``CREATE ONLY`` / ``UPSERT ONLY``), aborting with ``ACCESS_DENIED`` on NONE.

    On a record-access connection a write the table's PERMISSIONS refuse is not
    an error: the engine answers NONE and goes on. Inside a transaction that
    would commit every other statement; the THROW aborts them all instead. The
    block's value is the written record.
    """
    return block(
        [
            sql("LET $_new = ({w})", w=write),
            sql("IF $_new = NONE { {t} }", t=throw(ThrowCode.ACCESS_DENIED, table=table)),
            Sql(("$_new",)),
        ]
    )


def object_path_guard(path: str, value: Var, table: str) -> Sql:
    """``value`` for ``SET <path> = …``, or an INVALID ``not_an_object`` THROW.

    ``SET config.model.x = 1`` where ``config.model`` holds a string (or an array)
    stores nothing and reports success; every proper prefix of ``path`` must hold
    an object, NONE or NULL (those two become an object). The payload names the
    path as identifier literals, never the stored value.
    """
    segments = path.split(".")
    prefixes = [".".join(segments[:i]) for i in range(1, len(segments))]
    checks = [
        sql(
            "(type::is_none({p}) OR type::is_null({p}) OR type::is_object({p}))",
            p=ident(prefix),
        )
        for prefix in prefixes
    ]
    where = Sql((("[" + ", ".join(literal_ident(seg).text for seg in segments) + "]"),))
    fail = throw(ThrowCode.INVALID, reason=NOT_AN_OBJECT, table=table, path=where)
    return sql("(IF {ok} THEN {v} ELSE { {fail} } END)", ok=Sql.join(" AND ", checks), v=value, fail=fail)
