"""Migrations tell the truth: RETURN anywhere is refused up front; failures say what was applied.

The engine ends a ``BEGIN … COMMIT`` transaction at a RETURN statement run inside it,
nested too: what ran before it commits, the rest (and the file's ``_migration`` record)
never runs. A file with ``{ RETURN 1 }`` used to be half applied, reported as "nothing
from this file was applied", and could never be applied afterwards (its first
definitions existed already). Now such a file is refused before anything is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentical_repo import Database, RepositoryError, TransactionError, ValidationError, migrations
from agentical_repo.migrations import MigrationFile, split_statements
from agentical_repo.surql.lexer import statement_keywords

FIRST = "DEFINE TABLE first SCHEMAFULL;\nDEFINE FIELD name ON first TYPE string;\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


async def tables(db: Database) -> set[str]:
    return set((await db.query("INFO FOR DB"))[0]["tables"])


async def recorded(db: Database) -> list[str]:
    if "_migration" not in await tables(db):
        return []
    return sorted((await db.query("SELECT VALUE name FROM _migration"))[0])


# each runs a RETURN inside the file's transaction (measured on the engine: the statements
# after it never run); line 3 of the file holds the RETURN
NESTED_RETURNS = {
    "block": "{\n    RETURN 1\n}",
    "if branch": "IF true {\n    RETURN 1\n}",
    "else branch": "IF false { CREATE early:1 }\nELSE { return 2 }",
    "let subquery": "LET $x =\n    (RETURN 1)",
    "let block": "LET $x = {\n    LET $y = 1; RETURN $y\n}",
    "for body": "FOR $i IN [1, 2] {\n    RETURN $i\n}",
    "select subquery": "SELECT * FROM\n    (RETURN [1])",
    "if then": "IF true THEN\n    RETURN 1 END",
    "after a comment": "{ -- a comment; RETURN 0\n    /* x */ RETURN 1\n}",
}


@pytest.mark.parametrize("form", NESTED_RETURNS.values(), ids=NESTED_RETURNS.keys())
async def test_a_nested_return_is_refused_before_anything_is_sent(
    bare_db: Database, tmp_path: Path, form: str
) -> None:
    bad = f"DEFINE TABLE early;\n{form};\nDEFINE TABLE late;\n"
    d = write(tmp_path, {"0001_first.surql": FIRST, "0002_bad.surql": bad})
    with pytest.raises(ValidationError) as info:
        await migrations.apply(bare_db, d)
    msg = str(info.value)
    assert info.value.code == "migration_invalid"
    assert "0002_bad.surql: statement 2 (line 2" in msg
    assert "contains a RETURN statement (line 3)" in msg
    assert "nothing was applied" in msg
    assert info.value.context == {"file": "0002_bad.surql", "statement_index": 1, "line": 3}
    # refused up front: not even the valid 0001 before it, nor 0002's first statement
    assert {"first", "early", "late"}.isdisjoint(await tables(bare_db))
    assert await recorded(bare_db) == []
    # written without RETURN, the same file applies, wholly, and is recorded
    write(d, {"0002_bad.surql": "DEFINE TABLE early;\nLET $x = 1;\nDEFINE TABLE late;\n"})
    report = await migrations.apply(bare_db, d)
    assert report.applied == ["0001_first.surql", "0002_bad.surql"]
    assert {"first", "early", "late"} <= await tables(bare_db)


# RETURN that does not end the file's transaction: inside definitions (their bodies run
# later, outside it), as a clause, as a name, in strings and comments
ALLOWED = (
    "DEFINE FUNCTION fn::inc($a: int) {\n    IF $a > 10 { RETURN $a };\n    RETURN $a + 1;\n};\n"
    "DEFINE FIELD doubled ON first VALUE { RETURN 2 } DEFAULT (RETURN 1);\n"
    "DEFINE EVENT audit ON first WHEN true THEN { RETURN 1 };\n"
    "DEFINE PARAM $limit VALUE { RETURN 5 };\n"
    "CREATE first:1 SET name = 'RETURN 1' RETURN NONE;\n"
    "UPDATE first:1 SET name = 'x' RETURN AFTER;\n"
    "CREATE first:2 CONTENT { name: 'y' } RETURN id;  -- a trailing RETURN 1 comment\n"
    "CREATE first:3 SET name = <string> fn::inc(1);\n"
    "DEFINE TABLE last;\n"
)


async def test_return_inside_definitions_clauses_names_and_strings_is_applied(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(tmp_path, {"0001_first.surql": FIRST, "0002_allowed.surql": ALLOWED})
    report = await migrations.apply(bare_db, d)
    assert report.applied == ["0001_first.surql", "0002_allowed.surql"]
    # every statement ran, the last one included
    assert "last" in await tables(bare_db)
    names = (await bare_db.query("SELECT VALUE name FROM first ORDER BY id"))[0]
    assert names == ["x", "y", "2"]
    assert await recorded(bare_db) == ["0001_first.surql", "0002_allowed.surql"]


def test_the_lexer_finds_return_statements_only() -> None:
    def found(text: str) -> list[int]:
        return list(statement_keywords(text, "RETURN"))

    assert found("RETURN 1") == [0]
    assert found("{ return 1 }") == [2]
    assert found("LET $x = (RETURN 1)") == [10]
    assert found("IF x THEN RETURN 1 END") == [10]
    assert found("IF x { a } ELSE { RETURN 2 }") == [18]
    assert found("CREATE t SET a = 1 RETURN NONE") == []
    assert found("CREATE t CONTENT { a: 1 } RETURN AFTER") == []
    assert found("UPDATE t SET return = 1, a.return = 2") == []
    assert found("CREATE t CONTENT { return: 1 }") == []
    assert found("LET $return = 1; SELECT * FROM `return`, ⟨return⟩") == []
    assert found("CREATE t SET a = 'RETURN 1', b = \"{ RETURN 1 }\"") == []
    assert found("-- RETURN 1\n/* { RETURN 1 } */ # RETURN\nCREATE t:return") == []
    assert found("{ /* c */ RETURN 1 }") == [10]


# ---------------------------------------------------------------- failures say what was applied


FAILING = (
    "DEFINE TABLE third SCHEMAFULL;\n"
    "DEFINE FIELD a ON third TYPE string;\n"
    "-- the index names a field that does not exist\n"
    "\n"
    "\n"
    "\n"
    "DEFINE INDEX third_nope ON third FIELDS nope;\n"
)


async def test_a_failure_names_the_files_applied_before_it_and_nothing_of_its_own(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(
        tmp_path,
        {
            "0001_first.surql": FIRST,
            "0002_second.surql": "DEFINE TABLE second;\n",
            "0003_third.surql": FAILING,
            "0004_fourth.surql": "DEFINE TABLE fourth;\n",
        },
    )
    with pytest.raises(RepositoryError) as info:
        await migrations.apply(bare_db, d)
    msg = str(info.value)
    assert msg.startswith("migration 0003_third.surql failed at statement 3 of 3 (line 7: 'DEFINE INDEX")
    assert "nothing of 0003_third.surql was applied" in msg
    assert "applied in this run: 0001_first.surql, 0002_second.surql" in msg
    assert "0003_third.surql and the files after it are still pending" in msg
    assert "nothing from this file" not in msg
    assert info.value.context["applied"] == ["0001_first.surql", "0002_second.surql"]
    assert info.value.context["file"] == "0003_third.surql"
    assert await recorded(bare_db) == ["0001_first.surql", "0002_second.surql"]
    assert {"third", "fourth"}.isdisjoint(await tables(bare_db))

    # the next run applies nothing before failing again, and says so
    with pytest.raises(RepositoryError) as again:
        await migrations.apply(bare_db, d)
    assert "no file was applied in this run" in str(again.value)
    assert again.value.context["applied"] == []


def test_a_transaction_the_engine_ended_early_is_reported_as_possibly_partial(tmp_path: Path) -> None:
    """Should a RETURN ever get past the check, the report must not claim nothing was applied."""
    path = tmp_path / "0002_x.surql"
    text = "DEFINE TABLE a;\nDEFINE TABLE b;\n"
    f = MigrationFile(2, path.name, path, text, "0" * 64)
    ended = TransactionError(
        "the transaction ended early: the engine answered 3 of 6 statements",
        context={"answered": 3, "expected": 6},
    )
    error = migrations._file_error(ended, f, split_statements(text), None, ["0001_first.surql"])
    assert isinstance(error, TransactionError)
    assert error.code == "migration_partial"
    msg = str(error)
    assert "part of 0002_x.surql may have been applied" in msg
    assert "not recorded in _migration" in msg
    assert "applied in this run: 0001_first.surql" in msg
    assert "nothing of" not in msg
