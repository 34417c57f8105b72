"""Short applications on the embedded engine exit with their own code, never an abort.

Without the library's exit barrier, a short script now and then ends in
"thread caused non-unwinding panic. aborting." (SIGABRT, exit 134) after all its work
was done: an engine worker thread is still inside Python when the interpreter
finalizes, CPython ends it with ``pthread_exit``, and the forced unwind through Rust
frames aborts. ``Database.close()`` waits until no engine thread is in Python, and
an ``atexit`` hook does the same for applications that never close.

The children (``exit_child.py``) use the library the ordinary way, with no
``os._exit``: ``mem://`` and ``surrealkv://``; leaving ``async with``, an exception
escaping it, a ``Database`` never closed, and a connect refused after the engine
started. Most children are forked from a few parents that imported the library once
(importing it costs far more than a run), in parallel batches; a few more run as plain
``python exit_child.py`` scripts.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("exit_child.py")
SCENARIOS = ("close", "raise", "open", "refused")
KINDS = ("mem", "kv")
PER_CASE = 27  # 8 cases x 27 = 216 forked runs
BATCHES = 4
EXPECTED = {"close": 0, "raise": 1, "open": 0, "refused": 1}
ABORT_MARKERS = ("non-unwinding panic", "cannot unwind")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICAL_")}
    env["LOGFIRE_IGNORE_NO_CONFIG"] = "1"
    return env


def test_short_applications_never_abort_at_exit(tmp_path: Path) -> None:
    cases = [f"{s}:{k}" for s, k in itertools.product(SCENARIOS, KINDS)] * PER_CASE
    batches = [cases[i::BATCHES] for i in range(BATCHES)]
    parents = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "--fork", str(tmp_path), *batch],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=tmp_path,
        )
        for batch in batches
    ]
    results: list[tuple[str, int]] = []
    stderr = ""
    for parent in parents:
        out, err = parent.communicate(timeout=1800)
        assert parent.returncode == 0, err[-3000:]
        stderr += err
        for line in out.splitlines():
            case, code = line.rsplit(" ", 1)
            results.append((case, int(code)))

    # plain scripts too: one fresh interpreter per run, exactly as a user starts one
    for n, (scenario, kind) in enumerate(itertools.product(SCENARIOS, KINDS)):
        url = "mem://" if kind == "mem" else f"surrealkv://{tmp_path / f'plain{n}'}"
        done = subprocess.run(
            [sys.executable, str(CHILD), url, scenario],
            capture_output=True,
            text=True,
            env=_env(),
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        stderr += done.stderr
        results.append((f"{scenario}:{kind}", done.returncode))

    assert len(results) == len(cases) + len(SCENARIOS) * len(KINDS) >= 200
    aborts = [(case, code) for case, code in results if code in (134, -6)]
    assert not aborts, f"{len(aborts)} of {len(results)} runs aborted at exit: {aborts[:10]}"
    assert not any(marker in stderr for marker in ABORT_MARKERS), stderr[-3000:]
    wrong = [(case, code) for case, code in results if code != EXPECTED[case.split(":")[0]]]
    assert not wrong, f"unexpected exit codes: {wrong[:10]}\n{stderr[-3000:]}"
