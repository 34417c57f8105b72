"""``make bench`` (``benchmarks/bench.py``) with ``--quick`` runs end to end and writes complete JSON.

Runs the real suite (small sizes) on the embedded engines: every workload must
produce repository and raw medians and a ratio, so a workload that silently stops
measuring one side fails here rather than in the published table.

The bench is a script outside the package: it is loaded from its file (no install,
no ``sys.path`` change), and run as ``python benchmarks/bench.py`` in a subprocess
where the entry point itself matters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench.py"


bench = load_script(SCRIPT, "agentical_benchmarks_bench")
WORKLOADS, main = bench.WORKLOADS, bench.main


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/bench.py ARGS`` from the repository root, as ``make bench`` runs it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


# workloads that compare the two sides (the rest are measurements of one side)
COMPARED = {
    "create",
    "get_by_id",
    "update",
    "delete",
    "create_many_small",
    "create_many_large",
    "list_filtered",
    "count_filtered",
    "count_status",
    "page_offset_0",
    "page_offset_500",
    "page_offset_1800",
    "page_keyset_0",
    "page_keyset_500",
    "page_keyset_1800",
    "get_tools",
    "get_ready_tasks",
    "get_workflow_graph",
    "get_agent_metrics",
    "get_workflow_metrics",
    "transaction_wf_50",
    "transaction_edges_existing_49",
    "concurrent_reads_c1",
    "concurrent_reads_c10",
    "concurrent_mixed_c1",
    "concurrent_mixed_c10",
}
CONCURRENT = sorted(n for n in COMPARED if n.startswith("concurrent_"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_quick_run_writes_every_workload(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "quick.json"
    # CPU time of this process (the embedded engine's threads included), not wall time:
    # a loaded CI machine stretched the wall time of one run from about 30 s to 91 s
    started = time.process_time()
    assert main(["--quick", "--engines", "mem", "--no-progress", "--output", str(out)]) == 0
    elapsed = time.process_time() - started
    data = load(out)

    assert data["meta"]["quick"] is True
    assert set(data["meta"]["workloads"]) == set(WORKLOADS)
    assert data["meta"]["machine"]["cpus"]
    assert len(data["meta"]["loadavg_before"]) == 3
    results = {r["workload"]: r for r in data["results"]}
    assert not [r for r in data["results"] if r["skipped"]], "no workload may be skipped"

    missing = COMPARED - set(results)
    assert not missing, missing
    for name in COMPARED:
        r = results[name]
        assert r["engine"] == "mem"
        assert r["repo_median_s"] > 0, name
        assert r["raw_median_s"] > 0, name
        assert r["ratio"] > 0, name
        assert len(r["repo_samples_s"]) >= 2, name
        assert len(r["raw_samples_s"]) >= 2, name
        assert r["raw_does"], name

    for name in CONCURRENT:  # each mix at each client count, both sides, with p50/p99
        conc = results[name]["extra"]
        assert conc["throughput_ratio"] > 0, name
        for side in ("repo", "raw"):
            assert conc[side]["ops"] > 0
            assert conc[side]["p99_ms"] >= conc[side]["p50_ms"] > 0
            assert conc[side]["errors"] == 0
    sweep = results["chunk_sweep"]["extra"]["sweep"]
    assert {e["form"] for e in sweep} == {"insert", "for_create", "insert_schemaless"}
    assert results["chunk_sweep"]["extra"]["client_only_rows_per_s"] > 0
    assert all(e["rows_per_s"] > 0 for e in sweep)
    peaks = results["create_many_memory"]["extra"]["tracemalloc_peak_mib"]
    assert len(peaks) == 2
    assert all(v > 0 for v in peaks.values())

    printed = capsys.readouterr().out
    assert "ratio" in printed
    assert "get_by_id" in printed
    assert "concurrent_reads (10 clients)" in printed
    assert elapsed < 60, f"the quick run took {elapsed:.0f} s of CPU"


def test_quick_run_on_surrealkv_and_only(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "kv.json"
    assert (
        main(
            [
                "--quick",
                "--engines",
                "surrealkv",
                "--only",
                "get_by_id",
                "--no-progress",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    data = load(out)
    assert data["meta"]["workloads"] == ["single"]
    names = {r["workload"] for r in data["results"]}
    assert names == {"create", "get_by_id", "update", "delete"}
    assert all(r["engine"] == "surrealkv" and r["ratio"] > 0 for r in data["results"])
    capsys.readouterr()
    assert main(["--report", str(out)]) == 0  # the published table comes from a results file
    report = capsys.readouterr().out
    assert "| get_by_id | surrealkv |" in report
    assert "load average" in report

    # the same through the script, as `make bench BENCH_ARGS="--report ..."` runs it
    done = run_script("--report", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == report


def test_script_help_and_usage_errors() -> None:
    done = run_script("--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--quick" in done.stdout
    assert "--only" in done.stdout
    done = run_script("--only", "nonsense", "--no-progress")
    assert done.returncode != 0
    assert "unknown workload 'nonsense'" in done.stderr
