"""What the wheel ships: the schema inside it, and no demo or benchmark code.

The schema test builds the wheel, installs it into a clean venv and applies from there.

The venv is a plain one (no system or project site-packages), so what runs is only
what the wheel and its declared dependencies provide. It is created without pip
and filled by this interpreter's pip (``pip --python``), which saves the slow
ensurepip step; dependencies come from the configured index (PyPI or its cache).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agentical_repo import migrations

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], *, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTICAL_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _build_wheel(out: Path) -> Path:
    if importlib.util.find_spec("build") is not None:
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)]
    else:  # pip can build it too (the `build` package is in the dev extra)
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    done = _run(cmd, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    wheels = sorted(out.glob("agentical_repo-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel for the module: building it takes seconds."""
    return _build_wheel(tmp_path_factory.mktemp("dist"))


def test_wheel_ships_no_demo_or_benchmark_code(wheel: Path) -> None:
    """The demo and the benchmarks run from the repository (make demo / make bench), never
    from an installation: they are examples of the API and measurement tools, not library."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    modules = [n for n in names if n.endswith(".py")]
    assert "agentical_repo/__init__.py" in modules  # the listing is the real package
    assert "agentical_repo/cli.py" in modules
    offending = [
        n
        for n in names
        if n.split("/", 1)[0] in ("benchmarks", "examples")
        or any(word in n.rsplit("/", 1)[-1].lower() for word in ("bench", "demo"))
    ]
    assert offending == [], offending
    top = {n.split("/", 1)[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"agentical_repo"}
    sections = {
        head: body.split() for head, body in (part.split("]", 1) for part in entry_points.split("[")[1:])
    }
    assert sections == {
        "console_scripts": ["agentical-repo", "=", "agentical_repo.cli:main"],
        "pytest11": ["agentical_repo", "=", "agentical_repo.testing"],
    }


def test_wheel_installs_into_a_clean_venv_and_applies_the_schema(wheel: Path, tmp_path: Path) -> None:

    # the packaged schema is exactly the checkout's schema/ directory
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        packaged = {n.rsplit("/", 1)[1]: zf.read(n) for n in names if n.startswith("agentical_repo/_schema/")}
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    files = migrations.discover(ROOT / "schema")
    assert packaged == {f.name: f.path.read_bytes() for f in files}
    assert "agentical-repo = agentical_repo.cli:main" in entry_points

    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    done = _run([base_python, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    done = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            f"agentical-repo[embedded,cli] @ {wheel.as_uri()}",
        ],
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    # the installed package reads its schema from its own site-packages, not from this checkout
    done = _run(
        [str(python), "-c", "from agentical_repo.migrations import schema_dir; print(schema_dir())"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    installed_dir = Path(done.stdout.strip())
    assert installed_dir.is_relative_to(venv)
    assert installed_dir.name == "_schema"

    script = venv / "bin" / "agentical-repo"
    url = f"surrealkv://{tmp_path / 'db'}"
    done = _run([str(script), "schema", "apply", "--url", url], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for f in files:
        assert f"applied  {f.name}" in done.stdout
    done = _run([str(script), "schema", "status", "--url", url], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{len(files)} applied, 0 pending, 0 changed, 0 missing" in done.stdout
    done = _run([str(python), "-m", "agentical_repo", "schema", "verify", "--url", url], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schema matches" in done.stdout
