"""Golden text of ``surql.queries.migrations``: the runner's bookkeeping statements, no I/O."""

from __future__ import annotations

import pytest

from agentical_repo.errors import ValidationError
from agentical_repo.surql.queries import migrations
from agentical_repo.surql.statement import Statement, compose

from ._golden import check

NAME = "0007_secret_name.surql"
CHECKSUM = "c0ffee" * 10

GUARD = (
    "LET $_migration_t0 = time::now();\n"
    "IF (SELECT VALUE id FROM _migration WHERE name = $migration_name LIMIT 1) "
    "{ THROW { agentical: 6, table: '_migration' } }"
)
RECORD = (
    "CREATE ONLY type::record('_migration', $migration_name) CONTENT { "
    "name: $migration_name, checksum: $migration_checksum, "
    "duration_ms: duration::nanos(time::now() - $_migration_t0) / 1000000.0 }"
)


def test_bootstrap_defines_the_table_idempotently() -> None:
    statements = migrations.bootstrap()
    assert [s.text for s in statements] == [
        "DEFINE TABLE IF NOT EXISTS _migration SCHEMAFULL",
        "DEFINE FIELD IF NOT EXISTS name ON _migration TYPE string",
        "DEFINE FIELD IF NOT EXISTS checksum ON _migration TYPE string",
        "DEFINE FIELD IF NOT EXISTS applied_at ON _migration TYPE datetime VALUE time::now() READONLY",
        "DEFINE FIELD IF NOT EXISTS duration_ms ON _migration TYPE option<float>",
        "DEFINE INDEX IF NOT EXISTS _migration_name ON _migration FIELDS name UNIQUE",
    ]
    assert all((s.operation, s.table, s.count, s.vars) == ("DEFINE", "_migration", 1, {}) for s in statements)


def test_guard_is_two_statements_and_throws_exists() -> None:
    guard = migrations.guard(NAME)
    assert guard.text == GUARD
    assert guard.vars == {"migration_name": NAME}
    # LET + IF: two results come back, and the statement index of what follows counts them
    assert (guard.operation, guard.table, guard.count) == ("MIGRATE", "_migration", 2)


def test_record() -> None:
    check(
        migrations.record(NAME, CHECKSUM),
        RECORD,
        {"migration_name": NAME, "migration_checksum": CHECKSUM},
        operation="MIGRATE",
        table="_migration",
    )


def test_file_transaction_wraps_the_body_and_shares_the_name() -> None:
    body = [Statement("DEFINE TABLE widget SCHEMAFULL", operation="MIGRATE")]
    statements = migrations.file_transaction(NAME, CHECKSUM, body)
    assert statements[1] is body[0]
    composed = compose(statements, wrap_transaction=True)
    assert composed.statement.text == (
        f"BEGIN TRANSACTION;\n{GUARD};\nDEFINE TABLE widget SCHEMAFULL;\n{RECORD};\nCOMMIT TRANSACTION;"
    )
    assert composed.statement.vars == {"migration_name": NAME, "migration_checksum": CHECKSUM}
    assert composed.counts == (2, 1, 1)


def test_reads() -> None:
    check(
        migrations.applied(),
        "SELECT name, checksum, applied_at, duration_ms FROM _migration",
        {},
        operation="SELECT",
        table="_migration",
    )
    info = migrations.info_for_db()
    assert (info.text, info.vars, info.operation, info.count) == ("INFO FOR DB", {}, "INFO", 1)


def test_info_for_tables_is_one_request_with_one_result_per_table() -> None:
    statement = migrations.info_for_tables(["agent", "value", "odd`name"])
    assert statement.text == "INFO FOR TABLE `agent`;\nINFO FOR TABLE `value`;\nINFO FOR TABLE `oddname`"
    assert (statement.operation, statement.count, statement.vars) == ("INFO", 3, {})


def test_drop_database_takes_only_an_identifier() -> None:
    statement = migrations.drop_database("_verify_0123abcd")
    assert (statement.text, statement.operation) == ("REMOVE DATABASE IF EXISTS _verify_0123abcd", "REMOVE")
    with pytest.raises(ValidationError):
        migrations.drop_database("x; REMOVE NAMESPACE prod")
