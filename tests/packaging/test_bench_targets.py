"""``benchmarks/targets.py`` turns bench results into the Performance II target table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[2]


def _write(directory: Path, name: str, results: list[dict[str, Any]]) -> None:
    (directory / name).write_text(json.dumps({"machine": {}, "results": results}), encoding="utf-8")


def test_targets_use_the_latest_measurement_of_each_workload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = load_script(ROOT / "benchmarks" / "targets.py", "bench_targets")
    monkeypatch.setattr(targets, "RESULTS_DIR", tmp_path)
    reads = {"throughput_ratio": 2.5, "p99_ratio": 0.4, "p50_ratio": 1.05}
    _write(
        tmp_path,
        "bench-bulk-20260101T000000Z.json",
        [
            {"workload": "point_reads_c50", "engine": "mem", "coalesced": {**reads, "throughput_ratio": 1.0}},
            {
                "workload": "create_many",
                "engine": "surrealkv",
                "unordered": {"speedup_vs_raw": 1.7},
                "ordered": {"speedup_vs_raw": 0.9},
            },
        ],
    )
    _write(
        tmp_path,
        "bench-bulk-20260102T000000Z.json",
        [{"workload": "point_reads_c50", "engine": "mem", "coalesced": reads}],
    )
    _write(
        tmp_path,
        "bench-20260102T000000Z.json",
        [{"workload": "transaction_wf_50", "engine": "mem", "ratio": 1.2}],
    )
    table = {
        row[0]: row
        for row in targets.rows(
            targets._newest("bench-*.json", exclude="bulk"), targets._newest("bench-bulk-*.json")
        )
    }
    assert table["50 clients point reads (mem)"][2:] == ("2.50x ops/s, p99 0.40x raw", "met")
    assert table["workflow + 50 tasks + 49 edges, one tx (mem)"][2:] == ("1.20x raw time", "met")
    assert table["create_many unordered (surrealkv)"][3] == "met"
    assert table["create_many ordered (surrealkv)"][3] == "missed"
    assert table["200 clients mixed 80/15/5 (mem)"][2:] == ("not measured", "-")
    assert targets.main([]) == 0
