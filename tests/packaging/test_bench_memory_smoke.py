"""``make bench``'s vector memory part (``benchmarks/bench_memory.py``) runs end to end.

A tiny run (300 messages of dimension 8, both distributions) in a subprocess, as
``make bench`` starts it: every row must carry every column the published table in
docs/performance.md is made of, recall must be measured against brute force (a wide
search over so few vectors finds them all), and each case must have run in its own
process (the resident-set columns depend on it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_memory.py"

bench = load_script(SCRIPT, "agentical_benchmarks_bench_memory")

COLUMNS = {
    "messages",
    "dim",
    "kind",
    "m",
    "efc",
    "ef",
    "recall_at_10",
    "p50_ms",
    "p99_ms",
    "cold_p50_ms",
    "queued_p50_ms",
    "write_rows_per_s",
    "build_rows_per_s",
    "rss_records_mb",
    "rss_graph_mb",
    "raw_vectors_mb",
}


def test_tiny_run_writes_every_column(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    args = ["--sizes", "300", "--dims", "8", "--ef", "10,300", "--m", "8", "--efc", "40", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    cases = [(r["kind"], r["ef"]) for r in rows]
    assert cases == [("random", 10), ("random", 300), ("clustered", 10), ("clustered", 300)]
    for row in rows:
        assert set(row) == COLUMNS
        assert (row["messages"], row["dim"], row["m"], row["efc"]) == (300, 8, 8, 40)
        assert row["raw_vectors_mb"] == 300 * 8 * 4 / 2**20
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        rates = ("cold_p50_ms", "queued_p50_ms", "write_rows_per_s", "build_rows_per_s")
        assert min(row[r] for r in rates) > 0
    wide = [r["recall_at_10"] for r in rows if r["ef"] == 300]
    assert wide == [1.0, 1.0]  # ef = every vector: the graph search is exhaustive
    assert "| 300 | 8 | clustered | 300 | 1.000 |" in done.stdout  # the printed table


def test_clustered_queries_ask_about_the_stored_topics() -> None:
    """A clustered query lies near one of the centres its case's vectors were drawn around."""
    rng = random.Random(7)
    topics = bench.centres(64, rng)
    stored = list(bench.vectors(200, 64, "clustered", rng, topics))
    queries = list(bench.vectors(20, 64, "clustered", rng, topics))
    unit = [bench.normalise(c) for c in topics]
    for q in [*stored, *queries]:
        best = max(sum(a * b for a, b in zip(q, c, strict=True)) for c in unit)
        assert best > 0.8  # cosine to its own topic; another topic scores about 0.4 at most in 64 dimensions
