"""SurrealQL statement builders: pure functions from arguments to ``Statement``.

Every value, record id included, becomes a bound parameter; the only text that is
ever interpolated is a validated identifier. Builders know nothing about models
or I/O, so they are cheap to test with golden text and to reuse inside batches
and transactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from surrealdb import RecordID

from ..errors import ValidationError
from .idents import identifier, quote
from .statement import Fragment, Params, Statement

__all__ = [
    "count",
    "create",
    "delete",
    "insert",
    "order_clause",
    "record_id",
    "relate",
    "select",
    "unrelate",
    "update",
    "upsert",
]

Return = Literal["NONE", "BEFORE", "AFTER", "DIFF"]
_RETURNS = ("NONE", "BEFORE", "AFTER", "DIFF")


def _ret(value: str) -> str:
    """``returning`` is pasted into the text, so it is held to the four RETURN forms."""
    if value not in _RETURNS:
        raise ValidationError(
            f"returning must be one of {', '.join(_RETURNS)}", context={"argument": "returning"}
        )
    return value


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


def order_clause(order_by: Sequence[str]) -> str:
    """``["-created_at", "name"]`` → ``ORDER BY created_at DESC, name ASC``."""
    if isinstance(order_by, str):
        order_by = (order_by,)
    parts = []
    for key in order_by:
        if not isinstance(key, str) or not key:
            raise ValidationError("invalid order_by entry", context={"argument": "order_by"})
        desc = key.startswith("-")
        name = key[1:] if desc or key.startswith("+") else key
        parts.append(f"{quote(name)} {'DESC' if desc else 'ASC'}")
    return "ORDER BY " + ", ".join(parts) if parts else ""


def _where(params: Params, where: Fragment | None) -> str:
    if where is None or not where.text:
        return ""
    return "WHERE " + params.embed(where)


def _int(value: int | None, name: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{name} must be an integer in {lo}..{hi}", context={"argument": name})
    return value


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def select(
    table: str,
    *,
    fields: Sequence[str] | None = None,
    where: Fragment | None = None,
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
    params = Params()
    projection = ", ".join(quote(f) for f in fields) if fields else "*"
    if fields:  # the engine refuses ORDER BY a path the projection lacks ("Missing order idiom")
        keys = (order_by,) if isinstance(order_by, str) else order_by
        missing = [k for k in keys if isinstance(k, str) and k.lstrip("+-") not in fields]
        if missing:
            raise ValidationError(
                "every order_by field must also be in fields", context={"argument": "order_by"}
            )
    if omit:
        projection += " OMIT " + ", ".join(quote(f) for f in omit)
    target = table
    if record is not None:
        target = ("ONLY " if only else "") + params.add(record_id(table, record), "id")
    group = ""
    if group_all:
        group = "GROUP ALL"
    elif group_by:
        group = "GROUP BY " + ", ".join(quote(g) for g in group_by)
    lim = _int(limit, "limit", 0, 1_000_000)
    off = _int(start, "start", 0, 10**12)
    text = _join(
        f"SELECT {projection} FROM {target}",
        _where(params, where),
        group,
        order_clause(order_by),
        f"LIMIT {params.add(lim, 'limit')}" if lim is not None else "",
        f"START {params.add(off, 'start')}" if off else "",
        "FETCH " + ", ".join(quote(f) for f in fetch) if fetch else "",
    )
    return Statement(text, params.vars, operation="SELECT", table=table)


def count(table: str, *, where: Fragment | None = None) -> Statement:
    """``SELECT count() AS count FROM table [WHERE …] GROUP ALL`` (one row, or none if empty)."""
    identifier(table, what="table")
    params = Params()
    text = _join(f"SELECT count() AS count FROM {table}", _where(params, where), "GROUP ALL")
    return Statement(text, params.vars, operation="SELECT", table=table)


def create(table: str, id: uuid.UUID | RecordID, content: Mapping[str, Any]) -> Statement:
    """``CREATE ONLY $id CONTENT $content``: fails with AlreadyExists on a duplicate id."""
    params = Params()
    rid = params.add(record_id(table, id), "id")
    body = params.add(dict(content), "content")
    return Statement(f"CREATE ONLY {rid} CONTENT {body}", params.vars, operation="CREATE", table=table)


def insert(table: str, rows: Sequence[Mapping[str, Any]], *, returning: Return = "NONE") -> Statement:
    """``INSERT INTO table $rows``: one statement for many rows (ids inside the rows)."""
    identifier(table, what="table")
    params = Params()
    ref = params.add([dict(r) for r in rows], "rows")
    return Statement(
        f"INSERT INTO {table} {ref} RETURN {_ret(returning)}",
        params.vars,
        operation="INSERT",
        table=table,
        batch_size=len(rows),
    )


def update(
    table: str,
    id: uuid.UUID | RecordID | None = None,
    *,
    merge: Mapping[str, Any] | None = None,
    set: Mapping[str, Any] | None = None,
    increment: Mapping[str, Any] | None = None,
    where: Fragment | None = None,
    returning: Return = "AFTER",
    only: bool = False,
) -> Statement:
    """``UPDATE $id|table MERGE $data`` or ``SET a = $a, n += $n`` ``[WHERE …] RETURN …``.

    ``set`` keys may be dotted paths (nested fields); ``increment`` keys use ``+=``.
    An ``UPDATE`` of a missing record changes nothing and returns no row.
    """
    identifier(table, what="table")
    params = Params()
    target = table if id is None else ("ONLY " if only else "") + params.add(record_id(table, id), "id")
    clause = ""
    if merge is not None and (set or increment):
        raise ValidationError("use either merge or set/increment, not both", context={"argument": "merge"})
    if merge is not None:
        clause = "MERGE " + params.add(dict(merge), "data")
    else:
        assigns = [f"{quote(k)} = {params.add(v, k)}" for k, v in (set or {}).items()]
        assigns += [f"{quote(k)} += {params.add(v, k)}" for k, v in (increment or {}).items()]
        if not assigns:
            raise ValidationError("update needs at least one field", context={"argument": "updates"})
        clause = "SET " + ", ".join(assigns)
    text = _join(f"UPDATE {target}", clause, _where(params, where), f"RETURN {_ret(returning)}")
    return Statement(text, params.vars, operation="UPDATE", table=table)


def upsert(table: str, id: uuid.UUID | RecordID, content: Mapping[str, Any]) -> Statement:
    """``UPSERT ONLY $id CONTENT $content``: create, or replace the stored fields."""
    params = Params()
    rid = params.add(record_id(table, id), "id")
    body = params.add(dict(content), "content")
    return Statement(f"UPSERT ONLY {rid} CONTENT {body}", params.vars, operation="UPSERT", table=table)


def delete(
    table: str,
    id: uuid.UUID | RecordID | None = None,
    *,
    where: Fragment | None = None,
    returning: Return = "BEFORE",
) -> Statement:
    """``DELETE $id|table [WHERE …] RETURN BEFORE``: the rows that existed."""
    identifier(table, what="table")
    params = Params()
    target = table if id is None else params.add(record_id(table, id), "id")
    text = _join(f"DELETE {target}", _where(params, where), f"RETURN {_ret(returning)}")
    return Statement(text, params.vars, operation="DELETE", table=table)


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
    params = Params()
    src = params.add(record_id(from_table, from_id), "in_id")
    dst = params.add(record_id(to_table, to_id), "out_id")
    edge_ref = f"{edge}:[{src}, {dst}]" if deterministic else edge
    text = f"RELATE ONLY {src}->{edge_ref}->{dst}"
    if content:
        text += " CONTENT " + params.add(dict(content), "content")
    text += f" RETURN {_ret(returning)}"
    return Statement(text, params.vars, operation="RELATE", table=edge)


def unrelate(
    edge: str,
    from_table: str,
    from_id: uuid.UUID | RecordID,
    to_table: str,
    to_id: uuid.UUID | RecordID,
) -> Statement:
    """Delete the edge(s) ``in -> edge -> out`` and return what was removed."""
    identifier(edge, what="edge")
    params = Params()
    src = params.add(record_id(from_table, from_id), "in_id")
    dst = params.add(record_id(to_table, to_id), "out_id")
    text = f"DELETE {edge} WHERE in = {src} AND out = {dst} RETURN BEFORE"
    return Statement(text, params.vars, operation="DELETE", table=edge)
