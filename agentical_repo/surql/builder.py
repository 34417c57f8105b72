"""SurrealQL statement builders: pure functions from arguments to ``Statement``.

Every value, record id included, becomes a bound ``Var``; the only text that is
ever interpolated is a validated identifier. Builders know nothing about models
or I/O, so they are cheap to test with golden text and to reuse inside batches
and transactions. A ``where`` is an ``Sql`` condition (e.g. from
``filters.compile_filters``); its vars and the builder's are named together when
the request is rendered, so they never clash.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from surrealdb import RecordID

from ..errors import ValidationError
from .blocks import object_path_guard
from .filters import split_order
from .idents import identifier
from .statement import Sql, Statement, Var, ident, sql

__all__ = [
    "assignments",
    "count",
    "create",
    "delete",
    "insert",
    "order_clause",
    "order_sql",
    "record_id",
    "relate",
    "returning_clause",
    "select",
    "unrelate",
    "update",
    "upsert",
]

Return = Literal["NONE", "BEFORE", "AFTER", "DIFF"]
_RETURNS = ("NONE", "BEFORE", "AFTER", "DIFF")


def returning_clause(value: str) -> Sql:
    """``RETURN <form>``; ``returning`` is pasted into the text, so it is held to the four forms."""
    if value not in _RETURNS:
        raise ValidationError(
            f"returning must be one of {', '.join(_RETURNS)}", context={"argument": "returning"}
        )
    return Sql((f"RETURN {value}",))


def record_id(table: str, value: uuid.UUID | str | RecordID) -> RecordID:
    """Bindable record id ``table:u'<uuid>'``; strings must parse as UUIDs."""
    identifier(table, what="table")
    if isinstance(value, RecordID):
        if value.table_name != table:
            raise ValidationError(
                f"record id belongs to another table (expected {table})", context={"argument": "id"}
            )
        return value
    if isinstance(value, str):
        try:
            value = uuid.UUID(value)
        except ValueError:
            raise ValidationError("invalid id: expected a UUID", context={"argument": "id"}) from None
    if not isinstance(value, uuid.UUID):
        raise ValidationError(
            f"invalid id: expected a UUID, got {type(value).__name__}", context={"argument": "id"}
        )
    return RecordID(table, value)


def order_sql(order_by: Sequence[str] | str) -> Sql:
    """``["-created_at", "name"]`` → ``ORDER BY created_at DESC, name ASC`` (empty: no clause)."""
    if isinstance(order_by, str):
        order_by = (order_by,)
    keys: list[Sql] = []
    for key in order_by:
        try:
            path, desc = split_order(key)
        except ValidationError:
            raise ValidationError("invalid order_by entry", context={"argument": "order_by"}) from None
        keys.append(sql("{f} DESC" if desc else "{f} ASC", f=ident(path)))
    return sql("ORDER BY {keys}", keys=Sql.join(", ", keys)) if keys else Sql()


def order_clause(order_by: Sequence[str] | str) -> str:
    """``order_sql`` as text (it holds identifiers only)."""
    return order_sql(order_by).text


def assignments(
    set: Mapping[str, Any] | None = None,
    increment: Mapping[str, Any] | None = None,
    *,
    guard_table: str | None = None,
) -> Sql:
    """``a = $a, config.model = $config_model, n += $n``: keys are validated (dotted) paths.

    With ``guard_table`` each dotted ``set`` key's value goes through
    ``blocks.object_path_guard``: a key that runs through a stored scalar aborts
    the statement instead of being silently dropped by the engine.
    """
    items = [
        sql(
            "{f} = {v}",
            f=ident(k),
            v=object_path_guard(k, Var(v, k), guard_table) if guard_table and "." in k else Var(v, k),
        )
        for k, v in (set or {}).items()
    ]
    items += [sql("{f} += {v}", f=ident(k), v=Var(v, k)) for k, v in (increment or {}).items()]
    return Sql.join(", ", items)


def _table(name: str, what: str = "table") -> Sql:
    """A validated table (or edge) name, as the text it is."""
    return Sql((identifier(name, what=what),))


def _idents(paths: Sequence[str]) -> Sql:
    return Sql.join(", ", [ident(p) for p in paths])


def _int(value: int | None, name: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{name} must be an integer in {lo}..{hi}", context={"argument": name})
    return value


def _clauses(*parts: Sql | None) -> Sql:
    """Non-empty clauses joined by one space."""
    return Sql.join(" ", [p for p in parts if p])


def _where(where: Sql | None) -> Sql | None:
    return sql("WHERE {c}", c=where) if where else None


def _target(table: str, id: uuid.UUID | RecordID | None, only: bool) -> Sql:
    if id is None:
        return _table(table)
    ref = Var(record_id(table, id), "id")
    return sql("ONLY {id}", id=ref) if only else sql("{id}", id=ref)


def select(
    table: str,
    *,
    fields: Sequence[str] | None = None,
    where: Sql | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
    start: int | None = None,
    fetch: Sequence[str] = (),
    group_by: Sequence[str] = (),
    group_all: bool = False,
    record: uuid.UUID | RecordID | None = None,
    only: bool = False,
    omit: Sequence[str] = (),
) -> Statement:
    """``SELECT … FROM table|$id [WHERE] [GROUP] [ORDER BY] [LIMIT] [START] [FETCH]``."""
    identifier(table, what="table")
    projection = _idents(fields) if fields else Sql(("*",))
    if fields:  # the engine refuses ORDER BY a path the projection lacks ("Missing order idiom")
        keys = (order_by,) if isinstance(order_by, str) else order_by
        missing = [k for k in keys if isinstance(k, str) and k.lstrip("+-") not in fields]
        if missing:
            raise ValidationError(
                "every order_by field must also be in fields", context={"argument": "order_by"}
            )
    if omit:
        projection = sql("{p} OMIT {o}", p=projection, o=_idents(omit))
    target = _target(table, record, only) if record is not None else _table(table)
    group = None
    if group_all:
        group = Sql(("GROUP ALL",))
    elif group_by:
        group = sql("GROUP BY {g}", g=_idents(group_by))
    lim = _int(limit, "limit", 0, 1_000_000)
    off = _int(start, "start", 0, 10**12)
    text = _clauses(
        sql("SELECT {p} FROM {t}", p=projection, t=target),
        _where(where),
        group,
        order_sql(order_by),
        sql("LIMIT {v}", v=Var(lim, "limit")) if lim is not None else None,
        sql("START {v}", v=Var(off, "start")) if off else None,
        sql("FETCH {f}", f=_idents(fetch)) if fetch else None,
    )
    return Statement(text, operation="SELECT", table=table)


def count(table: str, *, where: Sql | None = None) -> Statement:
    """``SELECT count() AS count FROM table [WHERE …] GROUP ALL`` (one row, or none if empty)."""
    identifier(table, what="table")
    text = _clauses(Sql((f"SELECT count() AS count FROM {table}",)), _where(where), Sql(("GROUP ALL",)))
    return Statement(text, operation="SELECT", table=table)


def create(table: str, id: uuid.UUID | RecordID, content: Mapping[str, Any]) -> Statement:
    """``CREATE ONLY $id CONTENT $content``: fails with AlreadyExists on a duplicate id."""
    text = sql(
        "CREATE ONLY {id} CONTENT {content}",
        id=Var(record_id(table, id), "id"),
        content=Var(dict(content), "content"),
    )
    return Statement(text, operation="CREATE", table=table)


def insert(table: str, rows: Sequence[Mapping[str, Any]], *, returning: Return = "NONE") -> Statement:
    """``INSERT INTO table $rows``: one statement for many rows (ids inside the rows)."""
    text = sql(
        "INSERT INTO {t} {rows} {ret}",
        t=_table(table),
        rows=Var([dict(r) for r in rows], "rows"),
        ret=returning_clause(returning),
    )
    return Statement(text, operation="INSERT", table=table, batch_size=len(rows))


def update(
    table: str,
    id: uuid.UUID | RecordID | None = None,
    *,
    merge: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    increment: Mapping[str, Any] | None = None,
    where: Sql | None = None,
    returning: Return = "AFTER",
    only: bool = False,
) -> Statement:
    """``UPDATE $id|table MERGE $data`` or ``SET a = $a, n += $n`` ``[WHERE …] RETURN …``.

    ``set`` keys may be dotted paths (nested fields); ``increment`` keys use ``+=``.
    An ``UPDATE`` of a missing record changes nothing and returns no row.
    """
    identifier(table, what="table")
    target = _target(table, id, only)
    if merge is not None and (set or increment):
        raise ValidationError("use either merge or set/increment, not both", context={"argument": "merge"})
    if merge is not None:
        clause = sql("MERGE {data}", data=Var(dict(merge), "data"))
    else:
        if not set and not increment:
            raise ValidationError("update needs at least one field", context={"argument": "updates"})
        clause = sql("SET {a}", a=assignments(set, increment))
    ret = returning_clause(returning)
    text = _clauses(sql("UPDATE {t}", t=target), clause, _where(where), ret)
    return Statement(text, operation="UPDATE", table=table)


def upsert(table: str, id: uuid.UUID | RecordID, content: Mapping[str, Any]) -> Statement:
    """``UPSERT ONLY $id CONTENT $content``: create, or replace the stored fields."""
    text = sql(
        "UPSERT ONLY {id} CONTENT {content}",
        id=Var(record_id(table, id), "id"),
        content=Var(dict(content), "content"),
    )
    return Statement(text, operation="UPSERT", table=table)


def delete(
    table: str,
    id: uuid.UUID | RecordID | None = None,
    *,
    where: Sql | None = None,
    returning: Return = "BEFORE",
) -> Statement:
    """``DELETE $id|table [WHERE …] RETURN BEFORE``: the rows that existed."""
    identifier(table, what="table")
    target = _target(table, id, False)
    ret = returning_clause(returning)
    text = _clauses(sql("DELETE {t}", t=target), _where(where), ret)
    return Statement(text, operation="DELETE", table=table)


def relate(
    edge: str,
    from_table: str,
    from_id: uuid.UUID | RecordID,
    to_table: str,
    to_id: uuid.UUID | RecordID,
    content: Mapping[str, Any] | None = None,
    *,
    deterministic: bool = True,
    returning: Return = "AFTER",
) -> Statement:
    """``RELATE $in->edge:[$in, $out]->$out [CONTENT $c]``.

    With ``deterministic`` the edge id is ``[in, out]``: re-relating the same pair
    overwrites the one edge instead of adding a second.
    """
    identifier(edge, what="edge")
    src = Var(record_id(from_table, from_id), "in_id")
    dst = Var(record_id(to_table, to_id), "out_id")
    ret = returning_clause(returning)
    e = Sql((edge,))
    edge_ref = sql("{e}:[{src}, {dst}]", e=e, src=src, dst=dst) if deterministic else sql("{e}", e=e)
    text = sql("RELATE ONLY {src}->{edge}->{dst}", src=src, edge=edge_ref, dst=dst)
    if content:
        text = sql("{t} CONTENT {c}", t=text, c=Var(dict(content), "content"))
    return Statement(sql("{t} {ret}", t=text, ret=ret), operation="RELATE", table=edge)


def unrelate(
    edge: str,
    from_table: str,
    from_id: uuid.UUID | RecordID,
    to_table: str,
    to_id: uuid.UUID | RecordID,
) -> Statement:
    """Delete the edge(s) ``in -> edge -> out`` and return what was removed."""
    text = sql(
        "DELETE {e} WHERE in = {src} AND out = {dst} RETURN BEFORE",
        e=_table(edge, "edge"),
        src=Var(record_id(from_table, from_id), "in_id"),
        dst=Var(record_id(to_table, to_id), "out_id"),
    )
    return Statement(text, operation="DELETE", table=edge)
