"""Drift detection: the live schema against a scratch database built from the files."""

from __future__ import annotations

from pathlib import Path

from agentical_repo import Database, migrations
from agentical_repo.migrations import Difference, diff_definitions


async def test_a_clean_schema_has_no_differences(db: Database) -> None:
    report = await migrations.verify(db)
    assert report.ok, report.labels()
    assert report.differences == []
    assert report.pending == []


async def test_a_removed_index_is_reported_by_name(db: Database) -> None:
    await db.query("REMOVE INDEX tool_name ON tool")
    report = await migrations.verify(db)
    assert not report.ok
    assert report.labels() == ["missing index tool.tool_name"]
    diff = report.differences[0]
    assert diff.expected is not None
    assert "UNIQUE" in diff.expected
    assert diff.actual is None


async def test_a_changed_field_type_is_reported_by_name(db: Database) -> None:
    await db.query("DEFINE FIELD OVERWRITE name ON agent TYPE int")
    report = await migrations.verify(db)
    assert [d.label for d in report.differences] == ["field agent.name"]
    diff = report.differences[0]
    assert diff.kind == "changed"
    assert "TYPE string" in str(diff.expected)
    assert "TYPE int" in str(diff.actual)
    assert str(diff).startswith("changed field agent.name: expected `DEFINE FIELD name ON agent TYPE string")


async def test_an_extra_table_is_reported_by_name(db: Database) -> None:
    await db.query("DEFINE TABLE stray SCHEMALESS")
    report = await migrations.verify(db)
    assert report.labels() == ["extra table stray"]


async def test_several_kinds_of_drift_at_once(db: Database) -> None:
    await db.query(
        "REMOVE INDEX tool_name ON tool;"
        "DEFINE FIELD OVERWRITE name ON agent TYPE int;"
        "DEFINE TABLE stray SCHEMALESS;"
        "DEFINE FIELD extra ON agent TYPE option<string>;"
        "DEFINE EVENT audit ON agent WHEN true THEN (CREATE stray);"
        "DEFINE ANALYZER other TOKENIZERS blank;"
    )
    labels = (await migrations.verify(db)).labels()
    assert "missing index tool.tool_name" in labels
    assert any(label.startswith("changed field agent.name:") for label in labels)
    assert "extra table stray" in labels
    assert "extra field agent.extra" in labels
    assert "extra event agent.audit" in labels
    assert "extra analyzer other" in labels
    assert len(labels) == 6


async def test_a_removed_table_reports_the_table_and_its_definitions(db: Database) -> None:
    await db.query("REMOVE TABLE depends_on")
    labels = (await migrations.verify(db)).labels()
    assert "missing table depends_on" in labels
    assert "missing index depends_on.depends_on_pair" in labels
    assert "missing field depends_on.created_at" in labels


async def test_the_migration_table_is_ignored(db: Database) -> None:
    await db.query("DEFINE FIELD note ON _migration TYPE option<string>")
    assert (await migrations.verify(db)).ok


async def test_an_unmigrated_database_reports_pending_files_and_missing_definitions(
    bare_db: Database,
) -> None:
    report = await migrations.verify(bare_db)
    assert report.pending == [f.name for f in migrations.discover()]
    labels = report.labels()
    assert "missing table agent" in labels
    assert "missing analyzer simple" in labels
    assert all(d.kind == "missing" for d in report.differences)


async def test_verify_against_a_custom_directory(bare_db: Database, tmp_path: Path) -> None:
    (tmp_path / "0001_w.surql").write_text(
        "DEFINE TABLE w SCHEMAFULL;\nDEFINE FIELD n ON w TYPE int;\n"
        "DEFINE ACCESS api ON DATABASE TYPE RECORD SIGNIN (SELECT * FROM w) DURATION FOR SESSION 1h;\n",
        encoding="utf-8",
    )
    await migrations.apply(bare_db, tmp_path)
    assert (await migrations.verify(bare_db, tmp_path)).ok  # access keys are random but redacted
    await bare_db.query("REMOVE ACCESS api ON DATABASE")
    assert (await migrations.verify(bare_db, tmp_path)).labels() == ["missing access api"]


def test_diff_definitions_orders_and_classifies() -> None:
    expected = {("table", "a"): "DEFINE TABLE a", ("field", "a.x"): "X int"}
    actual = {("field", "a.x"): "X string", ("table", "b"): "DEFINE TABLE b"}
    diffs = diff_definitions(expected, actual)
    assert diffs == [
        Difference("changed", "field", "a.x", "X int", "X string"),
        Difference("missing", "table", "a", "DEFINE TABLE a", None),
        Difference("extra", "table", "b", None, "DEFINE TABLE b"),
    ]


async def test_every_scratch_mode_finds_the_same_drift(db: Database) -> None:
    await db.query("REMOVE INDEX tool_name ON tool")
    for mode in ("auto", "embedded", "server"):
        report = await migrations.verify(db, scratch=mode)
        assert report.labels() == ["missing index tool.tool_name"], mode
    if not db.settings.is_embedded:  # on a server the temporary scratch database is dropped again
        info = (await db.query("INFO FOR NS"))[0]
        assert not [name for name in info["databases"] if name.startswith("_verify_")]


async def test_verify_refuses_an_unknown_scratch_mode(db: Database) -> None:
    import pytest

    from agentical_repo import ValidationError

    with pytest.raises(ValidationError, match="scratch"):
        await migrations.verify(db, scratch="cloud")  # type: ignore[arg-type]
