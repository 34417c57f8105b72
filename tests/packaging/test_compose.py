"""docker-compose.yml: the pinned server, its healthcheck and volume, and the tikv profile.

The YAML is checked structurally everywhere (pyyaml); ``docker compose config``
validates both profiles where the compose plugin exists and is skipped, with the
reason, where it does not (it needs no engine, only the plugin).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="pyyaml is needed to parse docker-compose.yml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
IMAGE = "surrealdb/surrealdb:v3.2.4"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_surrealdb_service_is_pinned_on_surrealkv_in_a_named_volume(compose: dict[str, Any]) -> None:
    svc = compose["services"]["surrealdb"]
    assert svc["image"] == IMAGE
    assert "profiles" not in svc  # the default service: `docker compose up surrealdb`
    command = svc["command"]
    assert command[0] == "start"
    storage = command[-1]
    assert storage.startswith("surrealkv:/data/")
    volume, _, target = svc["volumes"][0].partition(":")
    assert target == "/data"
    assert volume in compose["volumes"]  # a named volume, not a bind mount
    assert svc["ports"] == ["${SURREALDB_PORT:-8000}:8000"]


def test_credentials_come_from_the_environment_with_defaults(compose: dict[str, Any]) -> None:
    for name in ("surrealdb", "surrealdb-tikv"):
        command = compose["services"][name]["command"]
        assert command[command.index("--user") + 1] == "${AGENTICAL_DB_USERNAME:-root}"
        assert command[command.index("--pass") + 1] == "${AGENTICAL_DB_PASSWORD:-root}"


def test_healthcheck_uses_the_surreal_binary(compose: dict[str, Any]) -> None:
    for name in ("surrealdb", "surrealdb-tikv"):
        check = compose["services"][name]["healthcheck"]
        assert check["test"] == ["CMD", "/surreal", "isready", "--endpoint", "http://localhost:8000"]
        assert check["retries"] >= 3


def test_tikv_profile_runs_pd_tikv_and_a_surrealdb_on_tikv(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("pd", "tikv", "surrealdb-tikv"):
        assert services[name]["profiles"] == ["tikv"], name
    assert services["pd"]["image"].startswith("pingcap/pd:v")
    assert services["tikv"]["image"].startswith("pingcap/tikv:v")
    assert "--pd=pd:2379" in services["tikv"]["command"]
    assert "--client-urls=http://0.0.0.0:2379" in services["pd"]["command"]
    node = services["surrealdb-tikv"]
    assert node["image"] == IMAGE
    assert node["command"][0] == "start"
    assert node["command"][-1] == "tikv://pd:2379"
    assert set(node["depends_on"]) == {"pd", "tikv"}
    assert node["ports"][0].endswith(":8000")
    assert node["ports"][0] != services["surrealdb"]["ports"][0]  # both can run at once


def _compose_plugin() -> str | None:
    """None when `docker compose` works here, else the reason it does not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    done = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        first = (done.stderr or done.stdout).strip().splitlines()[:1]
        return f"the docker compose plugin is not installed ({first[0] if first else 'no output'})"
    return None


@pytest.mark.parametrize("profile", [None, "tikv"])
def test_docker_compose_config_validates(profile: str | None) -> None:
    reason = _compose_plugin()
    if reason:
        pytest.skip(f"cannot validate with `docker compose config`: {reason}")
    cmd = ["docker", "compose", "-f", str(COMPOSE)]
    if profile:
        cmd += ["--profile", profile]
    done = subprocess.run([*cmd, "config", "--quiet"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    services = subprocess.run([*cmd, "config", "--services"], capture_output=True, text=True, timeout=60)
    names = set(services.stdout.split())
    assert "surrealdb" in names
    if profile == "tikv":
        assert {"pd", "tikv", "surrealdb-tikv"} <= names
