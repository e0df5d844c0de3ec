"""benchmarks/gpu_check.py's smoke run (what it does without a GPU): one JSON file with every section filled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_smoke_run_writes_every_measurement(tmp_path):
    output = tmp_path / "check.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke", "--output", str(output)], cwd=ROOT,
                   check=True, capture_output=True, timeout=180)
    report = json.loads(output.read_text())
    assert report["smoke"] and len(report["devices"]) == 2 and report["scatter_determinism_disabled"] == "1"
    variants = report["single"] + report["all_gpus"]
    assert {(v["update"], v["deterministic"], v["precision"]) for v in report["single"]} == {
        ("lazy", True, "float32"), ("lazy", False, "mixed_bfloat16"), ("dense", True, "float32"), ("lazy", True, "mixed_float16")}
    assert [v["replicas"] for v in variants] == [1, 1, 1, 1, 2]
    assert all(v["examples_per_s"] > 0 and v["ms_per_step"] > 0 and "peak_memory_mb" in v for v in variants)
    evaluation = report["bilstm_odd_evaluation"]
    assert evaluation["ok"] and evaluation["replicas"] == 2 and [split["size"] for split in evaluation["splits"]] == [1, 33]
    crossover = report["dense_crossover"]
    assert len(crossover["dense_ms_per_step"]) == len(crossover["rows"]) == 2 and crossover["lazy_ms_per_step"] > 0
    assert "crossover_rows" in crossover and "peak_memory_mb" in report and report["host_scatter_fallback"] is None
