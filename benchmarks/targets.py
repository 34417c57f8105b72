"""``make bench`` part 5: the Performance II targets against what this run measured.

Reads the newest results that ``bench.py`` (``bench-*.json``) and ``bench_bulk.py``
(``bench-bulk-*.json``) wrote to ``benchmarks/results/`` and prints one table: each
target, the measured ratio to the raw SDK in the same run, and whether it was met. A
workload a run skipped (``--only``, ``--engines``) shows as "not measured".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Target:
    workload: str
    target: str
    measure: Callable[[dict[str, Any], dict[str, Any]], tuple[str, bool | None]]


def _newest(pattern: str, exclude: str | None = None) -> dict[str, Any]:
    """Every result of the matching files, newest file first (so the latest measurement of
    each workload wins, even when the newest run measured only part of them)."""
    files = sorted(
        (p for p in RESULTS_DIR.glob(pattern) if exclude is None or exclude not in p.name), reverse=True
    )
    merged: list[dict[str, Any]] = []
    for path in files:
        merged.extend(json.loads(path.read_text(encoding="utf-8")).get("results", []))
    return {"results": merged}


def _find(data: dict[str, Any], workload: str, engine: str) -> dict[str, Any] | None:
    for row in data.get("results", []):
        if row.get("workload") == workload and row.get("engine") == engine:
            found: dict[str, Any] = row
            return found
    return None


def _throughput(
    workload: str, engine: str, goal: float, p99_half: bool = False
) -> Callable[..., tuple[str, bool | None]]:
    def measure(_main: dict[str, Any], bulk: dict[str, Any]) -> tuple[str, bool | None]:
        row = _find(bulk, workload, engine)
        if row is None:
            return "not measured", None
        lib = row["coalesced"]
        text = f"{lib['throughput_ratio']:.2f}x ops/s, p99 {lib['p99_ratio']:.2f}x raw"
        met = lib["throughput_ratio"] >= goal and (not p99_half or lib["p99_ratio"] <= 0.5)
        return text, met

    return measure


def _latency(workload: str, engine: str, goal: float) -> Callable[..., tuple[str, bool | None]]:
    def measure(_main: dict[str, Any], bulk: dict[str, Any]) -> tuple[str, bool | None]:
        row = _find(bulk, workload, engine)
        if row is None:
            return "not measured", None
        ratio = row["coalesced"]["p50_ratio"]
        return f"p50 {ratio:.2f}x raw", ratio <= goal

    return measure


def _transaction(engine: str, goal: float) -> Callable[..., tuple[str, bool | None]]:
    def measure(main: dict[str, Any], _bulk: dict[str, Any]) -> tuple[str, bool | None]:
        row = _find(main, "transaction_wf_50", engine)
        if row is None or row.get("ratio") is None:
            return "not measured", None
        return f"{row['ratio']:.2f}x raw time", row["ratio"] <= goal

    return measure


def _bulk(engine: str, side: str, goal: float) -> Callable[..., tuple[str, bool | None]]:
    def measure(_main: dict[str, Any], bulk: dict[str, Any]) -> tuple[str, bool | None]:
        row = _find(bulk, "create_many", engine)
        if row is None:
            return "not measured", None
        ratio = row[side]["speedup_vs_raw"]
        return f"{ratio:.2f}x raw rows/s", ratio >= goal

    return measure


TARGETS = [
    Target(
        "50 clients point reads (mem)",
        ">= 2.0x, p99 <= half of raw",
        _throughput("point_reads_c50", "mem", 2.0, True),
    ),
    Target(
        "50 clients point reads (surrealkv)",
        ">= 2.0x, p99 <= half of raw",
        _throughput("point_reads_c50", "surrealkv", 2.0, True),
    ),
    Target("200 clients mixed 80/15/5 (mem)", ">= 2.0x", _throughput("mixed_c200", "mem", 2.0)),
    Target("200 clients mixed 80/15/5 (surrealkv)", ">= 2.0x", _throughput("mixed_c200", "surrealkv", 2.0)),
    Target("concurrency 1 get_by_id (mem)", "<= 1.10x", _latency("point_reads_c1", "mem", 1.10)),
    Target("concurrency 1 get_by_id (surrealkv)", "<= 1.10x", _latency("point_reads_c1", "surrealkv", 1.10)),
    Target("workflow + 50 tasks + 49 edges, one tx (mem)", "<= 1.3x", _transaction("mem", 1.3)),
    Target("workflow + 50 tasks + 49 edges, one tx (surrealkv)", "<= 1.3x", _transaction("surrealkv", 1.3)),
    Target("create_many unordered (surrealkv)", ">= 1.6x", _bulk("surrealkv", "unordered", 1.6)),
    Target("create_many ordered (mem)", ">= 1.0x", _bulk("mem", "ordered", 1.0)),
    Target("create_many ordered (surrealkv)", ">= 1.0x", _bulk("surrealkv", "ordered", 1.0)),
]


def rows(main: dict[str, Any], bulk: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for t in TARGETS:
        measured, met = t.measure(main, bulk)
        out.append((t.workload, t.target, measured, "-" if met is None else ("met" if met else "missed")))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.parse_args(argv)
    main_results = _newest("bench-*.json", exclude="bulk")
    bulk_results = _newest("bench-bulk-*.json")
    table = rows(main_results, bulk_results)
    widths = [
        max(len(r[i]) for r in [("workload", "target", "measured", "status"), *table]) for i in range(4)
    ]
    header = ("workload", "target", "measured", "status")
    print("Performance II targets (ratios to the raw SDK in the same run; noisy on a shared machine)")
    for line in (header, tuple("-" * w for w in widths), *table):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
