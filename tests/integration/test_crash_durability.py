"""Crash durability on ``surrealkv://``: SIGKILL a writer at random points, reopen, check.

A child process (``crash_child.py``) commits transactions in a loop — each one
``ROWS`` rows sharing a batch id plus a marker row — and prints a batch id only
after ``run_transaction`` returned. The parent kills it with SIGKILL at a random
moment (sometimes while it is still opening the store), reopens the same
directory and checks, after every kill:

* every batch the child reported committed is fully there (all rows + marker);
* no batch is partial: whatever is stored of any batch is all of it.

Runs alternate between the default sync mode and ``?sync=every`` (fsync on every
commit). SIGKILL ends the process but not the OS, so this proves that an
acknowledged commit has left the process (WAL written) and that recovery never
exposes half a transaction; surviving power loss additionally needs
``?sync=every``, which only the OS page cache distinguishes and a test here
cannot.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from agentical_repo import Database, DatabaseSettings

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("crash_child.py")
RUNS = 24
ROWS = 5  # keep in step with crash_child.ROWS


async def run_child(url: str, run: int, rng: random.Random) -> tuple[list[str], bool]:
    """Start the writer, kill it at a random point; return (acknowledged batch ids, killed mid-write)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        url,
        str(run),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    early = run % 6 == 5  # now and then kill it while it is still opening the store
    if early:
        await asyncio.sleep(rng.uniform(0.05, 0.6))
    else:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line == b"ready\n", (line, await proc.stderr.read() if proc.stderr else b"")
        await asyncio.sleep(rng.uniform(0.02, 0.5))
    proc.send_signal(signal.SIGKILL)
    out, _err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == -signal.SIGKILL, "the child ended before it was killed"
    lines = out.decode().split("\n")
    complete = lines[:-1]  # the text after the last newline (if any) was not fully written
    batches = [x for x in complete if x and x != "ready"]
    return batches, not early


async def stored_batches(url: str) -> tuple[dict[str, int], set[str]]:
    async with Database(DatabaseSettings(url=url, namespace="crash", database="crash")) as db:
        rows, markers = await db.query(
            "SELECT batch, count() AS n FROM crash_row GROUP BY batch;SELECT VALUE batch FROM crash_marker;"
        )
    return {r["batch"]: r["n"] for r in rows or []}, set(markers or [])


async def test_acknowledged_commits_survive_sigkill_and_none_is_partial(tmp_path: Path) -> None:
    rng = random.Random(0xC0FFEE)
    path = tmp_path / "kv"
    acknowledged: set[str] = set()
    kills = mid_write_kills = 0
    for run in range(RUNS):
        url = f"surrealkv://{path}" + ("?sync=every" if run % 2 else "")
        batches, mid_write = await run_child(url, run, rng)
        kills += 1
        acknowledged.update(batches)

        counts, markers = await stored_batches(f"surrealkv://{path}")
        missing = sorted(b for b in acknowledged if counts.get(b) != ROWS or b not in markers)
        assert not missing, f"run {run}: acknowledged batches lost or partial: {missing[:5]}"
        partial = sorted(b for b in set(counts) | markers if counts.get(b) != ROWS or b not in markers)
        assert not partial, f"run {run}: partial transactions after recovery: {partial[:5]}"
        mid_write_kills += int(mid_write and bool(batches))
    assert kills == RUNS
    assert mid_write_kills >= RUNS // 2, "too few kills landed while the writer was committing"
    print(f"\ncrash durability: {kills} SIGKILLs survived, {len(acknowledged)} acknowledged batches intact")
