"""App migration tracks beside the packaged schema: own numbering and checksums, recorded by name.

An application keeps its tables in directories of its own (``Track("notes", dir)``);
``apply``/``status``/``verify`` and the CLI cover every track, the packaged one first.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import scalar

from agentical_repo import Database, ValidationError, migrations
from agentical_repo.cli import EXIT_DRIFT, EXIT_OK, main
from agentical_repo.migrations import PACKAGED_TRACK, Track

NOTES = {
    # references agent (packaged track): only works when the packaged track ran first
    "0001_notes.surql": (
        "DEFINE TABLE note SCHEMAFULL;\n"
        "DEFINE FIELD agent_id ON note TYPE option<record<agent>>;\n"
        "DEFINE FIELD text ON note TYPE string;\n"
    ),
    "0002_note_index.surql": "DEFINE INDEX note_agent ON note FIELDS agent_id;\n",
}
BILLING = {
    # the same number as the packaged 0001_core and the notes track's 0001: numbering is per track
    "0001_core.surql": "DEFINE TABLE invoice SCHEMAFULL;\nDEFINE FIELD total ON invoice TYPE int;\n",
}


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def tracks(tmp_path: Path) -> list[Track]:
    return [
        Track("notes", write(tmp_path / "notes", NOTES)),
        Track("billing", write(tmp_path / "billing", BILLING)),
    ]


def packaged() -> list[str]:
    return [f.name for f in migrations.discover()]


async def recorded(db: Database) -> list[str]:
    rows: list[dict[str, Any]] = await scalar(db, "SELECT name FROM _migration")
    return sorted(str(row["name"]) for row in rows)


async def test_packaged_track_first_then_app_tracks_in_order(bare_db: Database, tracks: list[Track]) -> None:
    report = await bare_db.apply_schema(tracks=tracks)
    expected = [
        *packaged(),
        "notes/0001_notes.surql",
        "notes/0002_note_index.surql",
        "billing/0001_core.surql",
    ]
    assert report.applied == expected
    assert await recorded(bare_db) == sorted(expected)
    # the app's tables exist beside ours, and the reference to the packaged table works
    await bare_db.query("CREATE note SET text = 'x'; CREATE invoice SET total = 3")
    again = await bare_db.apply_schema(tracks=tracks)
    assert again.applied == []
    assert again.skipped == expected


async def test_status_covers_every_track(bare_db: Database, tracks: list[Track]) -> None:
    before = await migrations.status(bare_db, tracks=tracks)
    assert before.pending == [
        *packaged(),
        "notes/0001_notes.surql",
        "notes/0002_note_index.surql",
        "billing/0001_core.surql",
    ]
    await bare_db.apply_schema(tracks=tracks[:1])
    st = await migrations.status(bare_db, tracks=tracks)
    assert st.pending == ["billing/0001_core.surql"]
    by_track = {m.name: m.track for m in st.migrations}
    assert by_track["0001_core.surql"] == PACKAGED_TRACK
    assert by_track["notes/0001_notes.surql"] == "notes"
    assert by_track["billing/0001_core.surql"] == "billing"
    # the packaged track alone does not report the app's records as missing
    alone = await migrations.status(bare_db)
    assert alone.ok
    assert alone.applied == packaged()


async def test_a_changed_app_file_is_refused_and_nothing_applied(
    bare_db: Database, tracks: list[Track]
) -> None:
    await bare_db.apply_schema(tracks=tracks[:1])
    notes_dir = tracks[0].directory
    (notes_dir / "0001_notes.surql").write_text(NOTES["0001_notes.surql"] + "-- edited\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        await bare_db.apply_schema(tracks=tracks)
    assert info.value.code == "migration_changed"
    assert info.value.context["file"] == "notes/0001_notes.surql"
    assert "notes/0001_notes.surql" in str(info.value)
    assert "billing/0001_core.surql" not in await recorded(bare_db), "nothing of another track was applied"
    st = await migrations.status(bare_db, tracks=tracks)
    assert st.changed == ["notes/0001_notes.surql"]


async def test_a_missing_app_file_is_reported_by_name(bare_db: Database, tracks: list[Track]) -> None:
    await bare_db.apply_schema(tracks=tracks)
    (tracks[0].directory / "0002_note_index.surql").unlink()
    st = await migrations.status(bare_db, tracks=tracks)
    assert st.missing == ["notes/0002_note_index.surql"]
    with pytest.raises(ValidationError) as info:
        await bare_db.apply_schema(tracks=tracks)
    assert info.value.code == "migration_missing"


async def test_drift_in_each_track_is_reported_with_its_track(bare_db: Database, tracks: list[Track]) -> None:
    await bare_db.apply_schema(tracks=tracks)
    assert (await migrations.verify(bare_db, tracks=tracks)).ok
    await bare_db.query(
        "REMOVE INDEX agent_name ON agent;"
        "DEFINE FIELD OVERWRITE text ON note TYPE int;"
        "REMOVE TABLE invoice;"
        "DEFINE TABLE stray SCHEMALESS;"
    )
    report = await migrations.verify(bare_db, tracks=tracks)
    found = {(d.kind, d.what, d.name): d.track for d in report.differences}
    assert found[("missing", "index", "agent.agent_name")] == PACKAGED_TRACK
    assert found[("changed", "field", "note.text")] == "notes"
    assert found[("missing", "table", "invoice")] == "billing"
    assert found[("extra", "table", "stray")] is None
    labels = report.labels()
    assert "missing index agent.agent_name" in labels, "the packaged track is the default: no label"
    assert "changed field note.text [notes]: expected" in " ".join(labels)
    assert "missing table invoice [billing]" in labels


async def test_concurrent_appliers_apply_each_file_of_each_track_once(
    bare_db: Database, tracks: list[Track]
) -> None:
    reports = await asyncio.gather(*(bare_db.apply_schema(tracks=tracks) for _ in range(3)))
    applied = sorted(name for r in reports for name in r.applied)
    expected = sorted(
        [*packaged(), "notes/0001_notes.surql", "notes/0002_note_index.surql", "billing/0001_core.surql"]
    )
    assert applied == expected, "each file of each track exactly once"
    assert await recorded(bare_db) == expected


@pytest.mark.parametrize(
    "bad",
    [
        [("Notes", "x")],
        [("agentical", "x")],
        [("", "x")],
        [("a/b", "x")],
        [("notes", "x"), ("notes", "y")],
        [("notes",)],
        ["notes"],
        "notes",
        [("notes", 5)],
    ],
)
async def test_bad_tracks_are_refused_before_io(bare_db: Database, bad: Any) -> None:
    with bare_db.count_requests() as sent, pytest.raises(ValidationError) as info:
        await bare_db.apply_schema(tracks=bad)
    assert sent.count == 0
    assert info.value.context["argument"] in ("track", "tracks")


def test_cli_tracks(tmp_path: Path, tracks: list[Track], capsys: pytest.CaptureFixture[str]) -> None:
    url = f"surrealkv://{tmp_path / 'kv'}"
    args = [f"--track=notes={tracks[0].directory}", "--track", f"billing={tracks[1].directory}"]
    assert main(["schema", "apply", "--url", url, *args]) == EXIT_OK
    out = capsys.readouterr().out
    assert "notes/0002_note_index.surql" in out
    assert "billing/0001_core.surql" in out
    assert main(["schema", "status", "--url", url, *args]) == EXIT_OK
    assert "0 pending" in capsys.readouterr().out
    assert main(["schema", "verify", "--url", url, *args]) == EXIT_OK
    (tracks[1].directory / "0001_core.surql").write_text(
        BILLING["0001_core.surql"] + "-- x\n", encoding="utf-8"
    )
    assert main(["schema", "status", "--url", url, *args]) == EXIT_DRIFT
    assert "1 changed" in capsys.readouterr().out
    assert main(["schema", "apply", "--url", url, "--track", "notes"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err
    assert main(["schema", "apply", "--url", url, "--track", f"notes={tmp_path / 'nowhere'}"]) == 2
