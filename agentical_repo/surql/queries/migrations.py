"""The migration runner's own statements: the ``_migration`` table and schema introspection.

The ``.surql`` files themselves are raw text (``Statement(text)``, lexed once);
what is here is the bookkeeping around them:

* ``bootstrap``: the ``_migration`` table, idempotent, sent as one transaction so
  two runners bootstrapping at once meet as a retryable conflict instead of a
  half-defined table;
* ``file_transaction``: one file as ``guard``, the file's statements, ``record``,
  so a file is applied and recorded together or not at all;
* ``applied``, ``info_for_db``, ``info_for_tables``: what ``status`` and drift
  detection read; ``drop_database``: removes drift's scratch database.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import ThrowCode
from .. import blocks
from ..statement import Sql, Statement, Var, ident, sql

__all__ = [
    "MIGRATION_TABLE",
    "applied",
    "bootstrap",
    "drop_database",
    "file_transaction",
    "guard",
    "info_for_db",
    "info_for_tables",
    "record",
]

MIGRATION_TABLE = "_migration"

_BOOTSTRAP = (
    "DEFINE TABLE IF NOT EXISTS _migration SCHEMAFULL",
    "DEFINE FIELD IF NOT EXISTS name ON _migration TYPE string",
    "DEFINE FIELD IF NOT EXISTS checksum ON _migration TYPE string",
    "DEFINE FIELD IF NOT EXISTS applied_at ON _migration TYPE datetime VALUE time::now() READONLY",
    "DEFINE FIELD IF NOT EXISTS duration_ms ON _migration TYPE option<float>",
    "DEFINE INDEX IF NOT EXISTS _migration_name ON _migration FIELDS name UNIQUE",
)


def bootstrap() -> list[Statement]:
    """The ``_migration`` table, its fields and its unique name index (``IF NOT EXISTS``)."""
    return [Statement(sql(text), operation="DEFINE", table=MIGRATION_TABLE) for text in _BOOTSTRAP]


def _guard(name: Var) -> Statement:
    # Two top-level statements: $_migration_t0 must outlive them, since the record
    # (the transaction's last statement) reads it to compute duration_ms.
    text = sql(
        "LET $_migration_t0 = time::now();\n"
        "IF (SELECT VALUE id FROM _migration WHERE name = {name} LIMIT 1) { {t} }",
        name=name,
        t=blocks.throw(ThrowCode.EXISTS, table=MIGRATION_TABLE),
    )
    return Statement(text, operation="MIGRATE", table=MIGRATION_TABLE, count=2)


def _record(name: Var, checksum: Var) -> Statement:
    text = sql(
        "CREATE ONLY type::record('_migration', {name}) CONTENT { "
        "name: {name}, checksum: {checksum}, "
        "duration_ms: duration::nanos(time::now() - $_migration_t0) / 1000000.0 }",
        name=name,
        checksum=checksum,
    )
    return Statement(text, operation="MIGRATE", table=MIGRATION_TABLE)


def guard(name: str) -> Statement:
    """Statement 0 of a file's transaction: ``EXISTS`` (table ``_migration``) when ``name`` is
    recorded already, so a runner that read the status before another committed stops; it
    also starts the clock ``record`` reads."""
    return _guard(Var(name, "migration_name"))


def record(name: str, checksum: str) -> Statement:
    """The last statement of a file's transaction: the ``_migration`` record (id = file name),
    with the engine time since ``guard`` as ``duration_ms``. Needs ``guard`` earlier in the
    same transaction."""
    return _record(Var(name, "migration_name"), Var(checksum, "migration_checksum"))


def file_transaction(name: str, checksum: str, body: Sequence[Statement]) -> list[Statement]:
    """``guard``, the file's statements, ``record``: the statements of one file's transaction.

    The guard and the record share the one ``$migration_name``.
    """
    ref = Var(name, "migration_name")
    return [_guard(ref), *body, _record(ref, Var(checksum, "migration_checksum"))]


def applied() -> Statement:
    """Every ``_migration`` record: name, checksum, when and how long."""
    text = sql("SELECT name, checksum, applied_at, duration_ms FROM _migration")
    return Statement(text, operation="SELECT", table=MIGRATION_TABLE)


def info_for_db() -> Statement:
    """The current database's definitions (tables, accesses, analyzers, functions, …)."""
    return Statement(sql("INFO FOR DB"), operation="INFO")


def _table_name(name: str) -> Sql:
    # Table names come from INFO FOR DB (the schema's own), not from a caller; a schema may
    # define a table whose name needs quoting, so every name is written in backticks.
    return Sql((f"`{name.replace('`', '')}`",))


def info_for_tables(tables: Sequence[str]) -> Statement:
    """``INFO FOR TABLE`` of each table, one result per table, in order (one request)."""
    text = Sql.join(";\n", [sql("INFO FOR TABLE {t}", t=_table_name(t)) for t in tables])
    return Statement(text, operation="INFO", count=len(tables))


def drop_database(name: str) -> Statement:
    """Remove the database ``name`` (an identifier) if it exists: drift's scratch database."""
    return Statement(sql("REMOVE DATABASE IF EXISTS {db}", db=ident(name)), operation="REMOVE")
