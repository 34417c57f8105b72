"""The pytest plugin (``agentical_repo.testing``), run the way a user's suite runs it.

Each test writes a small suite into a temporary directory and runs pytest on it in a
child process, so the plugin is loaded through its ``pytest11`` entry point exactly as
it is for an installed package, not imported by our own conftest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

USER_SUITE = """
import pytest
from agentical_repo import Database, Repositories
from agentical_repo.models import Agent

SEEN: list[str] = []


async def test_fresh_database_with_schema(agentical_db: Database, agentical_repos: Repositories) -> None:
    assert await agentical_repos.agents.count() == 0
    await agentical_repos.agents.create(Agent(name="a", agent_type="llm"))
    assert await agentical_repos.agents.count() == 1
    SEEN.append(agentical_db.database)


async def test_next_test_sees_none_of_it(agentical_repos: Repositories) -> None:
    assert await agentical_repos.agents.count() == 0
    SEEN.append(agentical_repos.db.database)
    assert len(set(SEEN)) == 2, "each test gets its own database"


async def test_bare_database_has_no_schema(agentical_bare_db: Database) -> None:
    rows = await agentical_bare_db.query("INFO FOR DB")
    assert rows[-1]["tables"] == {}
"""

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user_suite.py").write_text(USER_SUITE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(INI, encoding="utf-8")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    child_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_plugin_gives_each_test_a_fresh_database(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_plugin_follows_the_url_option(tmp_path: Path) -> None:
    store = tmp_path / "kv"
    result = _run(tmp_path, f"--agentical-url=surrealkv://{store}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert store.exists(), "the fixtures ran on the store the option named"


def test_plugin_follows_the_environment(tmp_path: Path) -> None:
    store = tmp_path / "kv-env"
    result = _run(tmp_path, env={"AGENTICAL_TEST_DB_URL": f"surrealkv://{store}"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert store.exists()


def test_plugin_can_be_disabled(tmp_path: Path) -> None:
    result = _run(tmp_path, "-p", "no:agentical_repo")
    assert result.returncode != 0
    assert "fixture 'agentical_db' not found" in result.stdout


TRACK_SUITE = """
from agentical_repo import Database


async def test_app_track_applied_after_ours(agentical_db: Database) -> None:
    rows = await agentical_db.query("CREATE note SET text = 'x'; SELECT VALUE name FROM _migration")
    assert "notes/0001_notes.surql" in rows[-1]
"""


def test_plugin_applies_app_tracks_from_the_ini(tmp_path: Path) -> None:
    track = tmp_path / "migrations"
    track.mkdir()
    (track / "0001_notes.surql").write_text(
        "DEFINE TABLE note SCHEMAFULL;\n"
        "DEFINE FIELD text ON note TYPE string;\n"
        "DEFINE FIELD agent_id ON note TYPE option<record<agent>>;\n",
        encoding="utf-8",
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_track.py").write_text(TRACK_SUITE, encoding="utf-8")
    (suite / "pytest.ini").write_text(INI + f"agentical_schema_dirs =\n    notes={track}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
