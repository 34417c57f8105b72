"""The ``agentical-repo`` command: exit codes and output on ``mem://`` and ``surrealkv://``.

Each CLI call opens its own connection, and a ``mem://`` URL is a fresh empty
database per connection: so the multi-call scenarios (apply, then status, then
verify) run on a ``surrealkv://`` path in ``tmp_path``, and the ``mem://`` checks
either stand alone or call the command functions with the shared test database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from agentical_repo import Database, DatabaseSettings, migrations
from agentical_repo.cli import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, _schema_status, _schema_verify, main


def kv(tmp_path: Path) -> str:
    return f"surrealkv://{tmp_path / 'db'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _on(url: str, text: str) -> None:
    async with Database(DatabaseSettings(url=url)) as db:
        await db.query(text)


# ---------------------------------------------------------------- surrealkv://


def test_apply_status_verify_on_surrealkv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = kv(tmp_path)
    names = [f.name for f in migrations.discover()]

    code, out, _ = run(capsys, "schema", "apply", "--url", url)
    assert code == EXIT_OK
    for name in names:
        assert f"applied  {name}" in out
    assert f"{len(names)} file(s) applied" in out

    code, out, _ = run(capsys, "schema", "apply", "--url", url)
    assert code == EXIT_OK
    assert "nothing to apply" in out

    code, out, _ = run(capsys, "schema", "status", "--url", url)
    assert code == EXIT_OK
    assert f"{len(names)} applied, 0 pending, 0 changed, 0 missing" in out

    code, out, _ = run(capsys, "schema", "verify", "--url", url)
    assert code == EXIT_OK
    assert "schema matches" in out

    # drift: each difference printed by name, exit 1
    asyncio.run(
        _on(
            url,
            "REMOVE INDEX tool_name ON tool; DEFINE TABLE stray;"
            "DEFINE FIELD OVERWRITE name ON agent TYPE int;",
        )
    )
    code, out, _ = run(capsys, "schema", "verify", "--url", url)
    assert code == EXIT_DRIFT
    assert "missing index tool.tool_name" in out
    assert "extra table stray" in out
    assert "changed field agent.name" in out
    assert "3 difference(s)" in out
    code, again, _ = run(capsys, "schema", "verify", "--url", url, "--scratch", "embedded")
    assert code == EXIT_DRIFT
    assert again == out
    assert run(capsys, "schema", "verify", "--url", url, "--scratch", "nowhere")[0] == EXIT_ERROR


def test_url_defaults_to_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTICAL_DB_URL", kv(tmp_path))
    assert run(capsys, "schema", "apply")[0] == EXIT_OK
    code, out, _ = run(capsys, "schema", "status")
    assert code == EXIT_OK
    assert str(tmp_path) in out
    assert "0 pending" in out


def test_changed_or_missing_files_status_1_apply_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = kv(tmp_path)
    d = tmp_path / "schema"
    d.mkdir()
    (d / "0001_w.surql").write_text("DEFINE TABLE w SCHEMAFULL;\n", encoding="utf-8")
    assert run(capsys, "schema", "apply", "--url", url, "--dir", str(d))[0] == EXIT_OK
    (d / "0001_w.surql").write_text("DEFINE TABLE w SCHEMALESS;\n", encoding="utf-8")

    code, out, _ = run(capsys, "schema", "status", "--url", url, "--dir", str(d))
    assert code == EXIT_DRIFT
    assert "changed" in out
    code, out, err = run(capsys, "schema", "apply", "--url", url, "--dir", str(d))
    assert code == EXIT_ERROR
    assert err.startswith("error: migration 0001_w.surql changed after it was applied")
    assert err.count("\n") == 1
    assert "Traceback" not in err + out


def test_a_failing_migration_is_one_line_naming_file_and_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "schema"
    d.mkdir()
    (d / "0001_bad.surql").write_text(
        "DEFINE TABLE b SCHEMAFULL;\nDEFINE INDEX b_x ON b FIELDS x;\n", encoding="utf-8"
    )
    code, _out, err = run(capsys, "schema", "apply", "--url", kv(tmp_path), "--dir", str(d))
    assert code == EXIT_ERROR
    assert "0001_bad.surql" in err
    assert "statement 2 of 2" in err
    assert "DEFINE INDEX b_x ON b FIELDS x" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_status_and_verify_never_create_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "typo"
    for action in ("status", "verify"):
        code, out, err = run(capsys, "schema", action, "--url", f"surrealkv://{store}")
        assert code == EXIT_ERROR
        assert err == (
            f"error: no store at {store}: `schema {action}` only reads and does not create one "
            "(check --url, or run `agentical-repo schema apply` first)\n"
        )
        assert out == ""
        assert not store.exists()
    # an existing store without the schema: status reads it, everything pending
    asyncio.run(_on(f"surrealkv://{store}", "RETURN 1"))
    code, out, err = run(capsys, "schema", "status", "--url", f"surrealkv://{store}")
    assert code == EXIT_OK
    assert f"0 applied, {len(migrations.discover())} pending" in out


def test_an_empty_dir_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = kv(tmp_path)
    code, out, err = run(capsys, "schema", "apply", "--url", url, "--dir", "")
    assert code == EXIT_OK
    assert err == "warning: --dir is empty; using the packaged schema\n"
    assert f"{len(migrations.discover())} file(s) applied" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(capsys, "schema", "status", "--url", url, "--dir", str(empty))
    assert err.startswith(f"warning: --dir {empty} holds no .surql files\n")
    assert code == EXIT_DRIFT  # every applied file is missing from that directory
    assert "missing" in out


def test_bad_urls_are_actionable_and_never_quote_a_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where an empty surrealkv:// path would put a store
    secret = "hunter2-marker"
    code, out, err = run(capsys, "schema", "apply", "--url", f"ws://root:{secret}@db.example:8000/rpc")
    assert code == EXIT_ERROR
    assert "must not contain credentials" in err
    assert "AGENTICAL_DB_USERNAME / AGENTICAL_DB_PASSWORD" in err
    code, _, err2 = run(capsys, "schema", "status", "--url", f"wss//root:{secret}@db.example/rpc")  # typo
    assert code == EXIT_ERROR
    assert err2.startswith("error: invalid url")
    code, _, err3 = run(capsys, "schema", "apply", "--url", "surrealkv://")
    assert code == EXIT_ERROR
    assert "surrealkv:// needs the path of the store" in err3
    assert secret not in out + err + err2 + err3
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- mem://


def test_exit_codes_on_mem(capsys: pytest.CaptureFixture[str]) -> None:
    names = [f.name for f in migrations.discover()]
    code, out, _ = run(capsys, "schema", "apply", "--url", "mem://")
    assert code == EXIT_OK
    assert f"{len(names)} file(s) applied" in out
    # every mem:// connection is a new empty database: everything pending, all drift
    code, out, _ = run(capsys, "schema", "status", "--url", "mem://")
    assert code == EXIT_OK
    assert f"{len(names)} pending" in out
    code, out, _ = run(capsys, "schema", "verify", "--url", "mem://")
    assert code == EXIT_DRIFT
    assert "missing table agent" in out
    assert "pending migrations" in out


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200, highlight=False, soft_wrap=True), buf


async def test_status_and_verify_commands_on_a_shared_mem_database(db: Database) -> None:
    args = argparse.Namespace(dir=None)
    console, buf = _console()
    assert await _schema_status(db, args, console) == EXIT_OK
    assert "0 pending, 0 changed, 0 missing" in buf.getvalue()

    console, buf = _console()
    assert await _schema_verify(db, args, console) == EXIT_OK
    assert "schema matches" in buf.getvalue()

    await db.query("REMOVE INDEX tool_name ON tool; DEFINE FIELD OVERWRITE name ON agent TYPE int")
    console, buf = _console()
    assert await _schema_verify(db, args, console) == EXIT_DRIFT
    text = buf.getvalue()
    assert "missing index tool.tool_name" in text
    assert "changed field agent.name: expected `DEFINE FIELD name ON agent TYPE string" in text


# ---------------------------------------------------------------- errors and usage


def test_errors_are_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "schema", "verify", "--url", "bogus://nowhere")
    assert code == EXIT_ERROR
    assert err.startswith("error: invalid url")
    assert err.count("\n") == 1
    code, _, err = run(capsys, "schema", "apply", "--url", kv(tmp_path), "--dir", str(tmp_path / "none"))
    assert code == EXIT_ERROR
    assert err.startswith("error: schema directory not found")
    assert "Traceback" not in err


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    from agentical_repo import ValidationError

    with pytest.raises(ValidationError, match="schema directory not found"):
        main(["--debug", "schema", "apply", "--url", kv(tmp_path), "--dir", str(tmp_path / "none")])
    with pytest.raises(ValidationError):
        main(["schema", "apply", "--debug", "--url", kv(tmp_path), "--dir", str(tmp_path / "none")])


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == EXIT_ERROR
    assert main(["nonsense"]) == EXIT_ERROR
    assert main(["--help"]) == EXIT_OK
    assert "schema" in capsys.readouterr().out


def test_only_schema_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo and the benchmarks live in examples/ and benchmarks/, not in the installed command."""
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "schema" in out
    assert "demo" not in out
    assert "bench" not in out
    for command in ("demo", "bench"):
        code, _, err = run(capsys, command)
        assert code == EXIT_ERROR
        assert f"invalid choice: '{command}'" in err


# ---------------------------------------------------------------- the installed command


def test_console_script_and_python_m(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "agentical-repo"
    assert script.exists(), "console script not installed (pip install -e .)"
    url = kv(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_DB_")}
    done = subprocess.run(
        [str(script), "schema", "apply", "--url", url], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "file(s) applied" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "agentical_repo", "schema", "status", "--url", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert ", 0 pending, 0 changed, 0 missing" in done.stdout
    assert done.stderr == ""  # no logfire warning or anything else
    done = subprocess.run(
        [str(script), "schema", "verify", "--url", "bogus://x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid url")
    assert "Traceback" not in done.stderr


def test_python_m_entry_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy

    url = kv(tmp_path)
    monkeypatch.setattr(
        sys, "argv", ["agentical_repo", "schema", "apply", "--url", url, "--namespace", "ops"]
    )
    # the package's pytest plugin (entry point) puts the whole package under pytest's
    # assertion rewriter, whose loader cannot serve runpy; import __main__ the plain way
    plain = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]
    monkeypatch.setattr(sys, "meta_path", plain)
    with pytest.raises(SystemExit) as done:
        runpy.run_module("agentical_repo", run_name="__main__")
    assert done.value.code == 0
    assert "(ops/main)" in capsys.readouterr().out
    code, out, _ = run(capsys, "schema", "status", "--url", url, "--namespace", "ops", "--database", "main")
    assert code == EXIT_OK
    assert ", 0 pending" in out
    code, out, _ = run(capsys, "schema", "status", "--url", url, "--namespace", "other")
    assert code == EXIT_OK
    n = len(migrations.discover())
    assert f"0 applied, {n} pending" in out  # another namespace: nothing applied there
    assert run(capsys, "schema", "status", "--url", url, "--namespace", "bad name")[0] == EXIT_ERROR


@pytest.mark.slow
def test_the_command_never_aborts_at_exit(tmp_path: Path) -> None:
    """The command ends like any Python program (no ``os._exit``); the library's exit
    barrier keeps the embedded engine from aborting the interpreter's shutdown
    (many more runs: tests/integration/test_clean_exit.py)."""
    script = Path(sys.executable).parent / "agentical-repo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_DB_")}
    codes = []
    for i in range(12):
        url = f"surrealkv://{tmp_path / f'db{i}'}"
        done = subprocess.run(
            [str(script), "schema", "apply", "--url", url],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert "file(s) applied" in done.stdout
        codes.append(done.returncode)
    assert codes == [0] * 12
