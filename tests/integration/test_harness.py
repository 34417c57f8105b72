"""The test harness itself: isolation between tests, engine selection, container mode.

The fixtures live in ``tests/conftest.py``; these tests prove what the rest of
the suite relies on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import conftest

from agentical_repo import Database, Repositories
from agentical_repo.models import Agent

ROOT = Path(__file__).resolve().parents[2]
_previous: dict[str, Any] = {}


async def test_isolation_first_writes(db: Database, repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="left-behind", agent_type="t"))
    _previous.update(database=db.database, agent_id=agent.id)
    assert await repos.agents.count() == 1


async def test_isolation_second_sees_nothing_of_the_first(db: Database, repos: Repositories) -> None:
    assert _previous, "test_isolation_first_writes must run first (file order)"
    assert db.database != _previous["database"]
    assert await repos.agents.count() == 0
    assert await repos.agents.get_by_id(_previous["agent_id"]) is None
    # the first test's data was really written: it is still in its own database
    mine = db.database
    await db.use("test", _previous["database"])
    try:
        assert (await repos.agents.get(_previous["agent_id"])).name == "left-behind"
    finally:
        await db.use("test", mine)
    assert await repos.agents.count() == 0


async def test_db_has_the_schema_and_bare_db_has_none(db: Database) -> None:
    tables = (await db.query("INFO FOR DB"))[0]["tables"]
    assert {"agent", "tool", "workflow", "task", "playbook", "user", "message"} <= set(tables)
    mine = db.database
    await db.use("test", f"bare_check_{mine}")  # any other database starts empty
    try:
        assert (await db.query("INFO FOR DB"))[0]["tables"] == {}
    finally:
        await db.use("test", mine)
    assert "agent" in (await db.query("INFO FOR DB"))[0]["tables"]


async def test_bare_db_fixture_is_empty(bare_db: Database) -> None:
    assert (await bare_db.query("INFO FOR DB"))[0]["tables"] == {}


async def test_engine_answers(engine: Database) -> None:
    """Also the target of the subprocess runs below: the engine is the one the environment chose."""
    expected = os.environ.get("AGENTICAL_TEST_DB_URL") or "mem://"
    if os.environ.get("AGENTICAL_TEST_CONTAINER") != "1":
        assert engine.settings.url == expected
    assert await engine.query("RETURN 1 + 1") == [2]


def _docker_socket_answers() -> bool:
    """Independent check: is a Docker engine listening (unix socket or DOCKER_HOST tcp)?"""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(host.removeprefix("unix://"))
        elif host.startswith("tcp://"):
            addr, _, port = host.removeprefix("tcp://").partition(":")
            socket.create_connection((addr, int(port or 2375)), timeout=1).close()
        else:
            return False
    except OSError:
        return False
    return True


def test_docker_unavailable_reason_matches_reality() -> None:
    reason = conftest._docker_unavailable_reason()
    if _docker_socket_answers():
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith("Docker is not available here (")
        assert len(reason) < 200


def _pytest(env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_TEST_")}
    env.update(env_extra)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{Path(__file__)}::test_engine_answers",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            f"--basetemp={tmp_path / 'bt'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_container_mode_runs_only_where_docker_exists(tmp_path: Path) -> None:
    done = _pytest({"AGENTICAL_TEST_CONTAINER": "1"}, tmp_path)
    if _docker_socket_answers():
        assert "1 passed" in done.stdout, done.stdout[-3000:]
    else:
        assert "1 skipped" in done.stdout, done.stdout[-3000:]
        assert "container mode requested but Docker is not available here" in done.stdout
        assert done.returncode == 0


def test_db_url_environment_selects_the_engine(tmp_path: Path) -> None:
    done = _pytest({"AGENTICAL_TEST_DB_URL": f"surrealkv://{tmp_path / 'kv'}"}, tmp_path)
    assert "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "kv").exists()  # the file engine was really used
