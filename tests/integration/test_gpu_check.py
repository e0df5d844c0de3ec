"""benchmarks/gpu_check.py's smoke run (what it does without a GPU): a section that fails loses no other figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # worker processes, logical devices or trainings

ROOT = Path(__file__).parents[2]
SECTIONS = {"row_gathers", "single", "mirrored_one_device", "all_devices", "sparse_vs_dense_reduce", "bilstm_odd_evaluation",
            "single_nondeterministic", "host_scatter_fallback", "dense_crossover"}


def gpu_check(output: Path, *arguments: str) -> dict:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke", "--output", str(output), *arguments], cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    return json.loads(output.read_text())


def test_a_failing_section_keeps_its_traceback_and_every_other_sections_figures(tmp_path):
    report = gpu_check(tmp_path / "check.json", "--fail", "single")
    sections = report["sections"]
    assert set(sections) == SECTIONS
    assert sections["single"]["status"] == "failed" and "fails on purpose" in sections["single"]["traceback"]
    assert sections["host_scatter_fallback"]["status"] == "skipped", "a CPU's scatters never leave the host"
    assert all(record["status"] == "ok" for name, record in sections.items() if name not in ("single", "host_scatter_fallback"))
    result = {name: record.get("result") for name, record in sections.items()}
    assert result["row_gathers"] == {"replicas": 2, "resource_gathers": 6, "whole_table_reads": 0, "ok": True}  # 3 gathers a replica
    variants = [result["mirrored_one_device"], *result["all_devices"], *result["single_nondeterministic"]]
    assert [(v["update"], v["precision"], v["replicas"], v["deterministic"]) for v in variants] == [
        ("lazy", "float32", 1, True), ("lazy", "float32", 2, True), ("lazy", "mixed_bfloat16", 1, False)]
    assert all(v["ms_per_step"] > 0 and v["examples_per_s"] > 0 and v["peak_memory_mb"] is None for v in variants)
    assert [table["rows"] for table in result["sparse_vs_dense_reduce"]["tables"]] == [1_000, 4_000]
    assert all(table["sparse_ms"] > 0 and table["dense_ms"] > 0 for table in result["sparse_vs_dense_reduce"]["tables"])
    evaluation = result["bilstm_odd_evaluation"]
    assert evaluation["ok"] and evaluation["replicas"] == 2 and [split["size"] for split in evaluation["splits"]] == [1, 33]
    crossover = result["dense_crossover"]
    assert crossover["rows"] == [1_000, 4_000] and len(crossover["dense_ms_per_step"]) == 2 and crossover["lazy_ms_per_step"] > 0
    environment = report["environment"]
    assert environment["memory_growth"] == "true" and environment["scatter_determinism_disabled"] == "1"
    assert isinstance(environment["tensor_float_32"], bool) and report["estimate_seconds"] > 0
    assert report["summary"]["mirrored_one_device_cost"] is None, "its other side (single) failed"


def test_sections_the_time_budget_does_not_reach_are_recorded_as_skipped(tmp_path):
    report = gpu_check(tmp_path / "check.json", "--budget-minutes", "0")
    assert {name: record["status"] for name, record in report["sections"].items()} == dict.fromkeys(SECTIONS, "skipped")
