"""The SDK pin is what the suite runs, and a test run says what it ran against."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["embedded"]]]


def test_sdk_and_engine_are_pinned_to_the_installed_versions() -> None:
    pins = [r for r in _requirements() if r.name == "surrealdb"]
    assert len(pins) == 2, "the SDK and its embedded extra"
    installed = Version(version("surrealdb"))
    for pin in pins:
        specs = list(pin.specifier)
        assert [s.operator for s in specs] == ["=="], f"{pin} must be an exact pin (a beta series)"
        assert Version(specs[0].version) == installed
    assert Version(version("surrealdb-embedded")) == installed


def test_version_line_names_packages_and_engine() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    result = subprocess.run(
        [sys.executable, "-m", "agentical_repo.testing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert f"surrealdb {version('surrealdb')}" in line
    assert f"surrealdb-embedded {version('surrealdb-embedded')}" in line
    assert "engine at mem://: surrealdb-3." in line


def test_make_test_prints_the_versions_first() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest: install\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recipe[0].strip() == "$(BIN)/python -m agentical_repo.testing"
    assert "pytest" in recipe[1]
