"""Run the preprocessing stage: staging folder, Beam job, stats check, manifest last."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import platform
import time

import apache_beam as beam

from workflow import __version__
from workflow.artifacts import (
    TRAINING_SIDE,
    PreprocessLayout,
    file_sha256,
    read_json,
    stage_dir,
    staged_output,
    write_json,
)
from workflow.config import Config
from workflow.preprocess.options import pipeline_setup
from workflow.preprocess.pipeline import ALL_SPLITS, EmptyCorpusError, build_pipeline
from workflow.preprocess.readers import input_files

STAGE = "preprocess"
log = logging.getLogger(__name__)


def describe_inputs(config: Config) -> dict:
    """The input files' count, size and a fingerprint of (path, size, mtime); InputError if none."""
    files = sorted((meta.path, meta.size_in_bytes, int(meta.last_updated_in_seconds)) for meta in input_files(config.data))
    return {
        "format": config.data.format.value,
        "path": config.data.path,
        "unlabelled": list(config.data.unlabelled),
        "files": len(files),
        "bytes": sum(size for _, size, _ in files),
        "fingerprint": hashlib.sha256(repr(files).encode()).hexdigest(),
    }


def run(config: Config, resolved_config: dict) -> dict:
    """Run the Beam job into ``<workdir>/preprocess``; returns the manifest."""
    started = time.time()
    inputs = describe_inputs(config)
    final_dir = stage_dir(config.workdir, STAGE)
    runner, options = pipeline_setup(config.beam)
    runner_name = type(runner).__name__ if not isinstance(runner, str) else runner
    log.info(
        "preprocess: %d input file(s), %.1f MB, runner %s (%s, %d workers) -> %s",
        inputs["files"], inputs["bytes"] / 1e6, runner_name, config.beam.running_mode.value, config.beam.num_workers, final_dir,
    )
    with staged_output(final_dir) as staging:
        layout = PreprocessLayout(staging)
        pipeline_started = time.time()
        with beam.Pipeline(runner=runner, options=options) as pipeline:
            build_pipeline(pipeline, config, layout)
        pipeline_seconds = time.time() - pipeline_started
        stats = read_json(layout.stats)
        training_docs = sum(stats["splits"][split]["records_written"] for split in TRAINING_SIDE)
        if training_docs == 0:
            raise EmptyCorpusError(f"empty corpus: no training-side document in {config.data.path!r}")
        manifest = {
            "stage": STAGE,
            "config": resolved_config,
            "inputs": inputs,
            "counts": {**stats["totals"], "vocabulary_size": stats["vocabulary_size"]},
            "outputs": {"vocab_sha256": file_sha256(layout.vocab)},
            "tokenizer": dataclasses.asdict(config.preprocess.tokenizer),  # what the exported model must reproduce
            "durations_s": {"pipeline": round(pipeline_seconds, 2), "total": round(time.time() - started, 2)},
            "runner": runner_name,
            "versions": {"workflow": __version__, "python": platform.python_version(), "apache_beam": beam.__version__},
        }
        write_json(layout.manifest, manifest)
    log_summary(stats, final_dir, manifest["durations_s"]["total"])
    return manifest


def log_summary(stats: dict, final_dir: str, seconds: float) -> None:
    """A readable table of the split counts (the same numbers as stats.json)."""
    log.info("%-10s %9s %9s %9s %11s %8s %6s", "split", "read", "written", "rejected", "tokens", "oov", "p50")
    for split in ALL_SPLITS:
        row = stats["splits"][split]
        log.info(
            "%-10s %9d %9d %9d %11d %7.2f%% %6s",
            split, row["records_read"], row["records_written"], row["records_rejected"], row.get("tokens", 0),
            100 * row.get("oov_rate", 0.0), row.get("length", {}).get("p50", "-"),
        )
    totals = stats["totals"]
    log.info(
        "read %d = written %d + rejected %d; vocabulary %d tokens; %.1f s -> %s",
        totals["records_read"], totals["records_written"], totals["records_rejected"], stats["vocabulary_size"], seconds, final_dir,
    )
