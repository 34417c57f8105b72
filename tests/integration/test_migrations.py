"""The migration runner against the real engine: order, atomicity, checksums, concurrency."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from pathlib import Path

import pytest

from agentical_repo import (
    AlreadyExistsError,
    Database,
    DatabaseSettings,
    DatabaseUnavailableError,
    QueryError,
    RepositoryError,
    ValidationError,
    migrations,
)
from agentical_repo.migrations import MigrationReport, split_statements
from agentical_repo.surql.queries import migrations as migration_queries

FILE_1 = """-- the first file
DEFINE TABLE widget SCHEMAFULL;
DEFINE FIELD name ON widget TYPE string;
DEFINE INDEX widget_name ON widget FIELDS name UNIQUE;
"""
FILE_2 = """DEFINE FIELD size ON widget TYPE int DEFAULT 1;
DEFINE TABLE gadget SCHEMAFULL;
DEFINE FIELD label ON gadget TYPE string;
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


async def tables(db: Database) -> set[str]:
    info = (await db.query("INFO FOR DB"))[0]
    return set(info["tables"])


async def records(db: Database) -> list[dict[str, object]]:
    rows = await db.query("SELECT * FROM _migration ORDER BY name")
    return list(rows[0])


# ---------------------------------------------------------------- splitting


def test_split_keeps_blocks_strings_and_line_numbers() -> None:
    sql = (
        "-- header; not a statement\n"
        "DEFINE FUNCTION fn::a() { LET $x = 1; RETURN $x; };\n"
        "/* a; comment */ CREATE a SET s = 'a;b';  -- trailing; comment\n"
        "\n"
        "DEFINE EVENT e ON t WHEN true THEN { CREATE f; CREATE g };\n"
        "DEFINE TABLE t"
    )
    parts = split_statements(sql)
    assert [p.text for p in parts] == [
        "DEFINE FUNCTION fn::a() { LET $x = 1; RETURN $x; }",
        "CREATE a SET s = 'a;b'",
        "DEFINE EVENT e ON t WHEN true THEN { CREATE f; CREATE g }",
        "DEFINE TABLE t",
    ]
    assert [p.line for p in parts] == [2, 3, 5, 6]


def test_the_packaged_or_checkout_schema_is_discovered_in_order() -> None:
    files = migrations.discover()
    assert files, "schema directory is empty"
    assert [f.version for f in files] == sorted(f.version for f in files)
    assert files[0].name.startswith("0001_")
    for f in files:
        assert f.checksum == hashlib.sha256(f.path.read_bytes()).hexdigest()


def test_discover_refuses_misnamed_and_duplicate_files(tmp_path: Path) -> None:
    write(tmp_path / "a", {"1_bad.surql": "DEFINE TABLE x;"})
    with pytest.raises(ValidationError, match=r"NNNN_name\.surql"):
        migrations.discover(tmp_path / "a")
    write(tmp_path / "b", {"0001_x.surql": "DEFINE TABLE x;", "0001_y.surql": "DEFINE TABLE y;"})
    with pytest.raises(ValidationError, match="used twice"):
        migrations.discover(tmp_path / "b")
    with pytest.raises(ValidationError, match="not found"):
        migrations.discover(tmp_path / "nope")


# ---------------------------------------------------------------- apply


async def test_files_apply_in_order_and_are_recorded(bare_db: Database, tmp_path: Path) -> None:
    d = write(tmp_path, {"0002_gadget.surql": FILE_2, "0001_widget.surql": FILE_1})
    report = await migrations.apply(bare_db, d)
    assert report.applied == ["0001_widget.surql", "0002_gadget.surql"]
    assert {"widget", "gadget", "_migration"} <= await tables(bare_db)
    rows = await records(bare_db)
    assert [r["name"] for r in rows] == ["0001_widget.surql", "0002_gadget.surql"]
    for row, text in zip(rows, (FILE_1, FILE_2), strict=True):
        assert row["checksum"] == hashlib.sha256(text.encode()).hexdigest()
        assert isinstance(row["applied_at"], datetime)
        assert isinstance(row["duration_ms"], float)
        assert row["duration_ms"] >= 0
        assert report.durations_ms[str(row["name"])] == row["duration_ms"]
    assert rows[0]["applied_at"] <= rows[1]["applied_at"]  # type: ignore[operator]


async def test_each_file_is_one_request_and_a_rerun_applies_nothing(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(tmp_path, {"0001_widget.surql": FILE_1, "0002_gadget.surql": FILE_2})
    with bare_db.count_requests() as c:
        first = await migrations.apply(bare_db, d)
    # bootstrap + INFO FOR DB + SELECT _migration, then exactly one request per file
    assert c.count == 3 + 2
    assert first.applied == ["0001_widget.surql", "0002_gadget.surql"]
    before = await records(bare_db)
    with bare_db.count_requests() as c:
        again = await migrations.apply(bare_db, d)
    assert c.count == 3
    assert again.applied == []
    assert again.skipped == ["0001_widget.surql", "0002_gadget.surql"]
    assert await records(bare_db) == before


async def test_apply_schema_keeps_working_and_returns_a_report(bare_db: Database) -> None:
    report = await bare_db.apply_schema()
    assert isinstance(report, MigrationReport)
    assert report.applied == [f.name for f in migrations.discover()]
    assert (await bare_db.apply_schema()).applied == []
    assert {"agent", "tool", "task", "message"} <= await tables(bare_db)


async def test_a_failing_file_leaves_nothing_and_names_file_and_statement(
    bare_db: Database, tmp_path: Path
) -> None:
    bad = (
        "DEFINE TABLE half SCHEMAFULL;\n"
        "DEFINE FIELD a ON half TYPE string;\n"
        "-- the next index names a field that does not exist\n"
        "DEFINE INDEX half_missing ON half\n    FIELDS nope UNIQUE;\n"
        "DEFINE TABLE never;\n"
    )
    d = write(tmp_path, {"0001_widget.surql": FILE_1, "0002_half.surql": bad})
    with pytest.raises(RepositoryError) as info:
        await migrations.apply(bare_db, d)
    msg = str(info.value)
    assert "0002_half.surql" in msg
    assert "statement 3 of 4" in msg
    assert "line 4" in msg
    assert "DEFINE INDEX half_missing ON half" in msg
    assert "nothing of 0002_half.surql was applied" in msg
    assert "applied in this run: 0001_widget.surql" in msg
    assert info.value.context["file"] == "0002_half.surql"
    assert info.value.context["statement_index"] == 2
    # 0001 committed; nothing of 0002 (not even its first statement, nor its record)
    assert "widget" in await tables(bare_db)
    assert "half" not in await tables(bare_db)
    assert "never" not in await tables(bare_db)
    assert [r["name"] for r in await records(bare_db)] == ["0001_widget.surql"]
    # fix the file: the next run applies it
    write(d, {"0002_half.surql": bad.replace("FIELDS nope", "FIELDS a")})
    assert (await migrations.apply(bare_db, d)).applied == ["0002_half.surql"]


async def test_a_parse_error_is_named_by_statement_too(bare_db: Database, tmp_path: Path) -> None:
    bad = "DEFINE TABLE p SCHEMAFULL;\nDEFINE FIELD x ON p TYPE strin g;\nDEFINE TABLE q;\n"
    d = write(tmp_path, {"0001_parse.surql": bad})
    with pytest.raises(QueryError) as info:
        await migrations.apply(bare_db, d)
    msg = str(info.value)
    assert "0001_parse.surql" in msg
    assert "statement 2 of 3" in msg
    assert "DEFINE FIELD x ON p TYPE strin g" in msg
    assert "p" not in await tables(bare_db)
    assert await records(bare_db) == []


async def test_a_changed_applied_file_is_refused_with_nothing_applied(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(tmp_path, {"0001_widget.surql": FILE_1})
    await migrations.apply(bare_db, d)
    write(
        d,
        {
            "0001_widget.surql": FILE_1 + "DEFINE FIELD extra ON widget TYPE int;\n",
            "0002_gadget.surql": FILE_2,
        },
    )
    with pytest.raises(ValidationError) as info:
        await migrations.apply(bare_db, d)
    assert info.value.code == "migration_changed"
    assert "0001_widget.surql changed after it was applied" in str(info.value)
    assert "nothing was applied" in str(info.value)
    assert "gadget" not in await tables(bare_db)
    assert [r["name"] for r in await records(bare_db)] == ["0001_widget.surql"]


async def test_a_missing_applied_file_is_refused_with_nothing_applied(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(tmp_path, {"0001_widget.surql": FILE_1})
    await migrations.apply(bare_db, d)
    (d / "0001_widget.surql").unlink()
    write(d, {"0002_gadget.surql": FILE_2})
    with pytest.raises(ValidationError) as info:
        await migrations.apply(bare_db, d)
    assert info.value.code == "migration_missing"
    assert "0001_widget.surql" in str(info.value)
    assert "gadget" not in await tables(bare_db)


# ---------------------------------------------------------------- status


async def test_status_reports_applied_pending_changed_missing_and_writes_nothing(
    bare_db: Database, tmp_path: Path
) -> None:
    d = write(tmp_path, {"0001_widget.surql": FILE_1, "0002_gadget.surql": FILE_2})
    fresh = await migrations.status(bare_db, d)
    assert fresh.pending == ["0001_widget.surql", "0002_gadget.surql"]
    assert fresh.applied == []
    assert fresh.ok
    assert "_migration" not in await tables(bare_db)  # status never writes

    await migrations.apply(bare_db, d)
    write(d, {"0003_more.surql": "DEFINE TABLE more;"})
    st = await migrations.status(bare_db, d)
    assert st.applied == ["0001_widget.surql", "0002_gadget.surql"]
    assert st.pending == ["0003_more.surql"]
    by_name = {m.name: m for m in st.migrations}
    assert by_name["0001_widget.surql"].checksum == hashlib.sha256(FILE_1.encode()).hexdigest()
    assert by_name["0001_widget.surql"].applied_checksum == by_name["0001_widget.surql"].checksum
    assert isinstance(by_name["0001_widget.surql"].applied_at, datetime)

    write(d, {"0002_gadget.surql": FILE_2 + "-- edited\n"})
    (d / "0001_widget.surql").unlink()
    st = await migrations.status(bare_db, d)
    assert st.changed == ["0002_gadget.surql"]
    assert st.missing == ["0001_widget.surql"]
    assert not st.ok


# ---------------------------------------------------------------- concurrency


async def test_concurrent_runners_apply_each_file_exactly_once(bare_db: Database, tmp_path: Path) -> None:
    files = {
        f"{i:04d}_t{i}.surql": f"DEFINE TABLE t{i} SCHEMAFULL;\nDEFINE FIELD n ON t{i} TYPE int;\n"
        for i in range(1, 7)
    }
    d = write(tmp_path, files)
    reports = await asyncio.gather(*(migrations.apply(bare_db, d) for _ in range(4)))
    applied = [name for r in reports for name in r.applied]
    assert sorted(applied) == sorted(files), f"each file exactly once, got {applied}"
    for r in reports:
        assert sorted(r.applied + r.skipped) == sorted(files)
    rows = await records(bare_db)
    assert sorted(str(r["name"]) for r in rows) == sorted(files)


async def test_concurrent_runners_of_the_real_schema(bare_db: Database) -> None:
    names = [f.name for f in migrations.discover()]
    reports = await asyncio.gather(bare_db.apply_schema(), bare_db.apply_schema(), bare_db.apply_schema())
    assert sorted(n for r in reports for n in r.applied) == sorted(names)
    assert sorted(str(r["name"]) for r in await records(bare_db)) == sorted(names)


async def test_a_second_handle_on_one_surrealkv_path_is_refused(tmp_path: Path) -> None:
    """The embedded engine locks a surrealkv path: a second runner cannot open it at all,
    so two embedded runners can never interleave; the first one applies everything once."""
    url = f"surrealkv://{tmp_path / 'kv'}"
    first = Database(DatabaseSettings(url=url, namespace="m", database="m", max_retries=0))
    second = Database(DatabaseSettings(url=url, namespace="m", database="m", max_retries=0))
    async with first:
        with pytest.raises(DatabaseUnavailableError, match="locked"):
            await second.connect()
        report = await migrations.apply(first)
        assert report.applied == [f.name for f in migrations.discover()]
    # once the first handle is closed the path opens again, and everything is applied
    async with second:
        again = await migrations.apply(second)
        assert again.applied == []
        assert (await migrations.status(second)).pending == []


async def test_the_guard_refuses_a_recorded_file(bare_db: Database, tmp_path: Path) -> None:
    """A runner that read the status before another committed is stopped by the guard."""
    d = write(tmp_path, {"0001_widget.surql": FILE_1})
    await migrations.apply(bare_db, d)
    f = migrations.discover(d)[0]
    assert await migrations._apply_file(bare_db, f) is None  # recorded: skipped, no error
    with pytest.raises(AlreadyExistsError) as info:
        await bare_db.execute_all(migration_queries.guard(f.name))
    # the guard's structured THROW (it was `kind: 'exists'` text before)
    assert info.value.context["thrown"] == "exists"
    assert info.value.context["table"] == "_migration"


@pytest.mark.parametrize(
    "statement", ["RETURN 1", "COMMIT TRANSACTION", "BEGIN", "USE DB other", "cancel transaction"]
)
async def test_transaction_control_in_a_file_is_refused_before_anything_runs(
    bare_db: Database, tmp_path: Path, statement: str
) -> None:
    d = write(
        tmp_path,
        {
            "0001_widget.surql": FILE_1,
            "0002_bad.surql": f"DEFINE TABLE early;\n{statement};\nDEFINE TABLE late;\n",
        },
    )
    with pytest.raises(ValidationError) as info:
        await migrations.apply(bare_db, d)
    assert info.value.code == "migration_invalid"
    assert "0002_bad.surql: statement 2 (line 2" in str(info.value)
    assert "nothing was applied" in str(info.value)
    # refused up front: not even the valid 0001 before it was applied
    assert "widget" not in await tables(bare_db)
    assert await records(bare_db) == []


async def test_an_empty_file_is_refused(bare_db: Database, tmp_path: Path) -> None:
    d = write(tmp_path, {"0001_empty.surql": "-- nothing here yet\n"})
    with pytest.raises(ValidationError, match="contains no statements"):
        await migrations.apply(bare_db, d)


async def test_a_parse_error_after_multiline_statements_maps_to_the_right_one(
    bare_db: Database, tmp_path: Path
) -> None:
    bad = (
        "DEFINE TABLE p SCHEMAFULL;\n"
        "-- a function with a block\n"
        "DEFINE FUNCTION fn::inc($a: int) {\n    RETURN $a + 1;\n};\n"
        "DEFINE FIELD y ON p\n    TYPE option<strin g>;\n"
        "DEFINE TABLE q;\n"
    )
    d = write(tmp_path, {"0001_parse.surql": bad})
    with pytest.raises(QueryError) as info:
        await migrations.apply(bare_db, d)
    assert "statement 3 of 4 (line 6: 'DEFINE FIELD y ON p')" in str(info.value)
    assert await records(bare_db) == []


@pytest.mark.slow
def test_concurrent_processes_on_one_surrealkv_path_apply_each_file_once(tmp_path: Path) -> None:
    """Three `agentical-repo schema apply` processes at once on one embedded path: the
    engine's lock serialises them (a process that cannot get the lock within its connect
    retries fails with a one-line error, exit 2); every file is applied exactly once."""
    import os
    import subprocess
    import sys

    script = Path(sys.executable).parent / "agentical-repo"
    url = f"surrealkv://{tmp_path / 'db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_DB_")}
    procs = [
        subprocess.Popen(
            [str(script), "schema", "apply", "--url", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    outputs = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    names = [f.name for f in migrations.discover()]
    for code, _out, err in outputs:
        assert code in (0, 2), err
        if code == 2:
            assert err.startswith("error: could not connect")
            assert "locked" in err
    applied_lines = "".join(out for _, out, _ in outputs)
    for name in names:
        assert applied_lines.count(f"applied  {name}") == 1, applied_lines
    assert any(code == 0 for code, _, _ in outputs)
