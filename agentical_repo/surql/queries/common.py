"""The statements every ``BaseRepository`` sends: CRUD, query, keyset pages, bulk writes.

Pure functions: validated identifiers, ``RecordID``s, bound values and ``Sql``
conditions in, ``Statement`` out. The hottest two (``get_record``,
``create_record``) are one fixed template each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from surrealdb import RecordID

from ...errors import ThrowCode
from .. import builder
from ..blocks import block, permitted_write, throw, versioned_update
from ..filters import conjoin, keyset_condition
from ..idents import identifier
from ..statement import Sql, Statement, Var, ident, sql

__all__ = [
    "any_record",
    "count_records",
    "create_record",
    "create_record_checked",
    "delete_matching",
    "delete_record",
    "find_one",
    "get_record",
    "get_records",
    "guarded_update",
    "ids_of",
    "insert_records",
    "insert_returning",
    "keyset_page",
    "keyset_ties_then_rest",
    "list_records",
    "select_all",
    "update_matching",
    "update_record",
    "upsert_record",
    "upsert_record_checked",
]


def get_record(table: str, rid: RecordID) -> Statement:
    """``SELECT * FROM $id``: the record, or no row."""
    return Statement(sql("SELECT * FROM {id}", id=Var(rid, "id")), operation="SELECT", table=table)


def get_records(table: str, rids: Sequence[RecordID]) -> Statement:
    """``SELECT * FROM $ids``: the records that exist among ``rids`` (missing ones give no row).

    Many point reads in one request: ``get_many``, and coalesced ``get_by_id`` calls.
    """
    text = sql("SELECT * FROM {ids}", ids=Var(list(rids), "ids"))
    return Statement(text, operation="SELECT", table=table, batch_size=len(rids))


def create_record(table: str, rid: RecordID, content: Mapping[str, Any]) -> Statement:
    """``CREATE ONLY $id CONTENT $content``: a duplicate id fails with AlreadyExists."""
    text = sql("CREATE ONLY {id} CONTENT {content}", id=Var(rid, "id"), content=Var(content, "content"))
    return Statement(text, operation="CREATE", table=table)


def create_record_checked(table: str, rid: RecordID, content: Mapping[str, Any]) -> Statement:
    """``create_record`` that aborts with ACCESS_DENIED when PERMISSIONS refuse it (NONE).

    For transactions: there a refused create must abort every other statement,
    and the answer is only looked at after commit. (A single create's NONE is
    turned into ``AccessDeniedError`` by the repository, so it keeps the plain
    template.)
    """
    write = sql("CREATE ONLY {id} CONTENT {content}", id=Var(rid, "id"), content=Var(content, "content"))
    return Statement(permitted_write(write, table), operation="CREATE", table=table)


def _bump(data: Mapping[str, Any], lock_field: str | None, table: str) -> Sql:
    """``a = $a, …`` (dotted keys guarded) plus ``version += 1`` when the table has a lock field."""
    assigns = builder.assignments(data, guard_table=table)
    if lock_field is None:
        return assigns
    return sql("{a}, {lock} += 1", a=assigns, lock=ident(lock_field))


def update_record(table: str, rid: RecordID, data: Mapping[str, Any], lock_field: str | None) -> Statement:
    """``UPDATE ONLY $id SET … RETURN AFTER``: a missing record comes back as NONE (never created).

    One statement, no existence block: for a plain update outside a transaction,
    where NONE can be turned into ``NotFoundError`` after the fact.
    """
    text = sql("UPDATE ONLY {id} SET {a} RETURN AFTER", id=Var(rid, "id"), a=_bump(data, lock_field, table))
    return Statement(text, operation="UPDATE", table=table)


def guarded_update(
    table: str,
    rid: RecordID,
    data: Mapping[str, Any],
    lock_field: str | None,
    expected_version: int | None = None,
) -> Statement:
    """One block: NOT_FOUND unless the record exists, STALE_VERSION unless its version matches.

    Needed inside a transaction (the THROW aborts the whole transaction) and for
    ``expected_version`` checks; the lock field is bumped from the value read.
    """
    expected = None if expected_version is None else Var(expected_version, "expected_version")
    assigns = builder.assignments(data, guard_table=table)
    text = versioned_update(Var(rid, "id"), table, assigns, lock_field=lock_field, expected_version=expected)
    return Statement(text, operation="UPDATE", table=table)


def upsert_record(table: str, rid: RecordID, content: Mapping[str, Any]) -> Statement:
    """``UPSERT ONLY $id CONTENT $content``."""
    return builder.upsert(table, rid, content)


def upsert_record_checked(table: str, rid: RecordID, content: Mapping[str, Any]) -> Statement:
    """``upsert_record`` that aborts with ACCESS_DENIED when PERMISSIONS refuse it (for transactions)."""
    return Statement(
        permitted_write(builder.upsert(table, rid, content).sql, table), operation="UPSERT", table=table
    )


def delete_record(table: str, rid: RecordID) -> Statement:
    """``DELETE $id RETURN VALUE $before.id``: the id of the row that existed (none if it did not).

    Only the id comes back: a stored row that cannot be decoded must still be deletable.
    """
    text = sql("DELETE {id} RETURN VALUE $before.id", id=Var(rid, "id"))
    return Statement(text, operation="DELETE", table=table)


def list_records(
    table: str, where: Sql | None, order_by: Sequence[str], limit: int, offset: int
) -> Statement:
    """One offset page: ``SELECT * … [WHERE] ORDER BY … LIMIT $limit [START $start]``."""
    return builder.select(table, where=where, order_by=order_by, limit=limit, start=offset)


def select_all(table: str, where: Sql | None, order_by: Sequence[str]) -> Statement:
    """Every matching row, ordered (no LIMIT: for lookups whose result is bounded by the data)."""
    return builder.select(table, where=where, order_by=order_by)


def find_one(table: str, where: Sql | None) -> Statement:
    """The first matching row."""
    return builder.select(table, where=where, limit=1)


def count_records(table: str, where: Sql | None) -> Statement:
    """``SELECT count() AS count … GROUP ALL``: one row, or none when nothing matches."""
    return builder.count(table, where=where)


def any_record(table: str, where: Sql | None) -> Statement:
    """The id of one matching row (an existence check that reads one index entry)."""
    return builder.select(table, fields=["id"], where=where, limit=1)


def keyset_page(
    table: str, where: Sql | None, order: Sequence[tuple[str, bool]], values: Sequence[Any], limit: int
) -> Statement:
    """The rows after ``values`` in ``order`` (ids last), ``limit`` of them, in that order.

    With two keys (sort key, id) and a non-null cursor value, two index-streamed
    selects (``keyset_ties_then_rest``); otherwise one select with the row-value
    comparison written out as ORs.
    """
    if len(order) == 2 and values[0] is not None:
        return keyset_ties_then_rest(table, where, order, values, limit)
    return builder.select(
        table,
        where=conjoin(where, keyset_condition(order, values)),
        order_by=[("-" if d else "") + p for p, d in order],
        limit=limit,
    )


def keyset_ties_then_rest(
    table: str, where: Sql | None, order: Sequence[tuple[str, bool]], values: Sequence[Any], limit: int
) -> Statement:
    """The page after (v, id) in (key, id) order as two index-streamed queries, concatenated.

    ``key < v OR (key = v AND id < id0)`` makes the engine union-scan the index and
    sort everything after the cursor; even with an implied ``key <= v`` range the
    residual OR filter stops the LIMIT from reaching the index scan. Asked as "the
    rest of v's ties" then "everything past v", each part streams the index and stops
    after ``limit`` rows: the same cost at any depth.
    """
    (key, desc), (_, id_desc) = order
    value = Var(values[0], "k_" + key)
    rid = Var(values[1], "k_id")
    lim = Var(limit, "limit")
    scope = Sql() if where is None else sql("({w}) AND ", w=where)
    cmp = "<" if desc else ">"
    id_cmp = "<" if id_desc else ">"
    ordering = builder.order_sql([("-" if d else "") + p for p, d in order])
    head = sql(
        "SELECT * FROM {t} WHERE {scope}{key}",
        t=Sql((identifier(table, what="table"),)),
        scope=scope,
        key=ident(key),
    )
    ties = sql(
        f"{{head}} = {{v}} AND id {id_cmp} {{rid}} {{o}} LIMIT {{lim}}",
        head=head,
        v=value,
        rid=rid,
        o=ordering,
        lim=lim,
    )
    rest = sql(f"{{head}} {cmp} {{v}} {{o}} LIMIT {{lim}}", head=head, v=value, o=ordering, lim=lim)
    text = sql(
        "RETURN array::slice(array::concat(({ties}), ({rest})), 0, {lim})", ties=ties, rest=rest, lim=lim
    )
    return Statement(text, operation="SELECT", table=table)


def _matching_ids(table: str, where: Sql | None) -> Sql:
    """``LET $_ids = (SELECT VALUE id FROM table [WHERE …])``: bulk writes select first.

    Two engine faults (SurrealDB 3.2.4) make ``UPDATE/DELETE table WHERE …`` unsafe:
    a condition ``field INSIDE $list`` on the first field of a composite index
    matches nothing in a write (SELECT finds the rows), and an UPDATE that changes
    the very field its WHERE scans by index revisits the moved rows forever.
    Materialising the ids with a SELECT (inside one block, so one statement and one
    engine transaction) avoids both.
    """
    select = sql("SELECT VALUE id FROM {t}", t=Sql((identifier(table, what="table"),)))
    if where is not None:
        select = sql("{s} WHERE {w}", s=select, w=where)
    return sql("LET $_ids = ({s})", s=select)


def update_matching(
    table: str, where: Sql | None, data: Mapping[str, Any], lock_field: str | None
) -> Statement:
    """Update every matching record (ids materialised first); returns the changed ids."""
    text = sql(
        "{ {ids}; UPDATE $_ids SET {a} RETURN VALUE id }",
        ids=_matching_ids(table, where),
        a=_bump(data, lock_field, table),
    )
    return Statement(text, operation="UPDATE", table=table)


def delete_matching(table: str, where: Sql | None) -> Statement:
    """Delete every matching record (ids materialised first); returns the deleted ids."""
    text = sql("{ {ids}; DELETE $_ids RETURN VALUE $before.id }", ids=_matching_ids(table, where))
    return Statement(text, operation="DELETE", table=table)


def insert_records(table: str, rows: Sequence[Mapping[str, Any]]) -> Statement:
    """One chunk of records in one INSERT; the block's value is the number inserted.

    On a record-access connection the engine skips rows the table's PERMISSIONS
    refuse and answers OK: a count short of the rows sent aborts the whole chunk
    (one statement, one engine transaction) with ACCESS_DENIED, so a chunk is
    written whole or not at all.
    """
    t = Sql((identifier(table, what="table"),))
    insert = sql("INSERT INTO {t} {rows} RETURN VALUE id", t=t, rows=Var([dict(r) for r in rows], "rows"))
    text = block(
        [
            sql("LET $_ids = ({insert})", insert=insert),
            sql(
                "IF array::len($_ids) != {n} { {deny} }",
                n=Var(len(rows), "n"),
                deny=throw(ThrowCode.ACCESS_DENIED, table=table),
            ),
            Sql(("array::len($_ids)",)),
        ]
    )
    return Statement(text, operation="INSERT", table=table, batch_size=len(rows))


def insert_returning(table: str, rows: Sequence[Mapping[str, Any]]) -> Statement:
    """``INSERT INTO table $rows``: the stored rows (ids inside the rows), for coalesced creates.

    One statement, one engine transaction: a row the engine refuses fails them all (the
    caller then creates each row on its own); a row PERMISSIONS skip is missing from
    the answer.
    """
    t = Sql((identifier(table, what="table"),))
    text = sql("INSERT INTO {t} {rows}", t=t, rows=Var([dict(r) for r in rows], "rows"))
    return Statement(text, operation="INSERT", table=table, batch_size=len(rows))


def ids_of(statement: Statement) -> Statement:
    """The ids of the rows ``statement`` (a row-returning read) returns, in its order.

    ``{ LET $_rows = (…); $_rows.id }``: the rows stay inside the engine, so this
    answers even when one row cannot be decoded by the client.
    """
    text = block([sql("LET $_rows = ({s})", s=statement.sql), Sql(("$_rows.id",))])
    return Statement(text, operation="SELECT", table=statement.table)
