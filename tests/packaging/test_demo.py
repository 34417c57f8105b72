"""``make demo`` (``examples/demo.py``) end to end on a surrealkv:// path: seed, reuse, reset.

The demo is a script outside the package, so it is loaded from its file (no install,
no ``sys.path`` change) and, where the entry point itself matters, run as
``python examples/demo.py`` in a subprocess, exactly as ``make demo`` runs it.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_script
from rich.console import Console
from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, migrations
from agentical_repo.cli import main as cli_main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "demo.py"


demo = load_script(SCRIPT, "agentical_examples_demo")
AGENTS, MARKER_ID, TOOLS, WORKFLOWS = demo.AGENTS, demo.MARKER_ID, demo.TOOLS, demo.WORKFLOWS

TITLES = ("Agent tools", "Ready tasks", "Workflow metrics", "Message search", "Playbooks (latest version)")


def kv(tmp_path: Path) -> str:
    return f"surrealkv://{tmp_path / 'demo'}"


async def _counts(url: str) -> dict[str, int]:
    async with Database(DatabaseSettings(url=url)) as db:
        rows = await db.query(
            "RETURN count(SELECT id FROM agent); RETURN count(SELECT id FROM tool);"
            "RETURN count(SELECT id FROM task); RETURN count(SELECT id FROM uses);"
            "RETURN count(SELECT id FROM depends_on); RETURN count(SELECT id FROM playbook);"
            "RETURN count(SELECT id FROM message); RETURN count(SELECT id FROM workflow_execution);"
        )
        names = ("agent", "tool", "task", "uses", "depends_on", "playbook", "message", "workflow_execution")
        return dict(zip(names, (int(r) for r in rows), strict=True))


async def _query(url: str, text: str) -> list[object]:
    async with Database(DatabaseSettings(url=url)) as db:
        return await db.query(text, {"marker": RecordID("message", MARKER_ID)})


def run_script(*args: str) -> str:
    """``python examples/demo.py ARGS`` from the repository root, as ``make demo`` runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_DB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stderr == ""  # no warning, no traceback
    return done.stdout


def test_demo_runs_twice_reuses_then_resets(tmp_path: Path) -> None:
    url = kv(tmp_path)
    first = run_script("--url", url)
    assert "no demo data yet: seeding a new workspace" in first
    assert "seeded" in first
    for title in TITLES:
        assert title in first
    assert "demo done (seeded)" in first
    assert "skipped" not in first  # every headline method exists
    counts = asyncio.run(_counts(url))
    assert counts["agent"] == len(AGENTS)
    assert counts["tool"] == len(TOOLS)
    assert counts["task"] == sum(len(w[3]) for w in WORKFLOWS)
    assert counts["uses"] == sum(len(a[4]) for a in AGENTS)
    assert counts["depends_on"] == sum(len(t[4]) for w in WORKFLOWS for t in w[3])

    second = run_script("--url", url)
    assert "demo data found: reusing it" in second
    assert "seeding" not in second
    for title in TITLES:
        assert title in second
    assert "demo done (reused)" in second
    assert asyncio.run(_counts(url)) == counts  # nothing duplicated

    third = run_script("--url", url, "--reset")
    assert "resetting demo data (--reset): deleted" in third
    assert "demo done (reset)" in third
    assert asyncio.run(_counts(url)) == counts  # same workspace again, not twice

    # the demo leaves the schema exactly as the files define it
    assert cli_main(["schema", "verify", "--url", url]) == 0


def test_demo_tables_show_the_headline_query_results(tmp_path: Path) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=250, highlight=False, soft_wrap=True)
    assert asyncio.run(demo.run_demo(DatabaseSettings(url=kv(tmp_path)), console=console)) == 0
    out = buf.getvalue()
    # agent -> uses -> tool
    assert "Researcher" in out
    assert "vector_search, web_search" in out
    # ready tasks: pending with every dependency completed; not the blocked ones
    assert "Analyse quarter-over-quarter trends" in out
    assert "Scan competitor announcements" in out
    assert "Roll back the last deploy" in out
    assert "Draft the report" not in out.split("Ready tasks")[1].split("Workflow metrics")[0]
    # metrics: 4 runs, 3 completed
    assert "completed 3, failed 1" in out
    assert "75%" in out
    # search, best match first
    assert "rollback of the checkout deploy" in out
    # playbook versions: the latest of three
    assert "page → collect logs → rollback → mitigate → postmortem" in out


def test_an_interrupted_seed_is_detected_and_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = kv(tmp_path)
    assert demo.main(["--url", url]) == 0
    capsys.readouterr()
    asyncio.run(_query(url, "DELETE $marker"))  # as if the seed had stopped before its end
    assert demo.main(["--url", url]) == 0
    out = capsys.readouterr().out
    assert "resetting demo data (an incomplete earlier seed was found)" in out
    assert asyncio.run(_counts(url))["agent"] == len(AGENTS)


def test_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--url", "bogus://nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "url" in err
    assert err.count("\n") == 1


async def test_demo_applies_the_schema_first(tmp_path: Path) -> None:
    buf = io.StringIO()
    settings = DatabaseSettings(url=kv(tmp_path))
    await demo.run_demo(settings, console=Console(file=buf, width=200))
    async with Database(settings) as db:
        assert (await migrations.status(db)).pending == []
