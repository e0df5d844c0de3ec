"""``wf-run``: every stage in order, skipping the ones whose manifest says they are up to date.

A stage is up to date when its manifest exists (it finished) and records the
same config sections and the same inputs as now:

* preprocess: ``data`` and ``preprocess`` sections, and the input files' (path, size, mtime) fingerprint;
* word2vec: ``word2vec``, ``embedding.vectors``/``vectors_format``, and the vocab.tsv hash it was built from;
* each training run: its identity (config, vocab.tsv and matrix hashes, global batch); see training/stage.py;
* the report always runs (seconds).

So changing ``word2vec.vector_size`` re-runs word2vec and, through the matrix
hash, every training run, but not preprocessing.
"""

from __future__ import annotations

import copy
import logging
import os
import time

from omegaconf import DictConfig, OmegaConf

from workflow.artifacts import file_sha256, read_manifest, run_dir, stage_dir
from workflow.config import Config
from workflow.processes import train_in_fresh_process

log = logging.getLogger(__name__)


def preprocess_is_current(config: Config, resolved: dict) -> str | None:
    """None when the preprocessing output matches; otherwise why it must run."""
    from workflow.preprocess.stage import describe_inputs

    manifest = read_manifest(stage_dir(config.workdir, "preprocess"))
    if manifest is None:
        return "no finished output"
    for section in ("data", "preprocess"):
        if manifest["config"].get(section) != resolved[section]:
            return f"the {section} config changed"
    if manifest["inputs"]["fingerprint"] != describe_inputs(config)["fingerprint"]:
        return "the input files changed"
    if manifest.get("tokenizer") != resolved["preprocess"]["tokenizer"]:
        return "its manifest does not record this tokenizer"
    return None


def word2vec_is_current(config: Config, resolved: dict) -> str | None:
    manifest = read_manifest(stage_dir(config.workdir, "word2vec"))
    preprocess = read_manifest(stage_dir(config.workdir, "preprocess"))
    if manifest is None:
        return "no finished output"
    if manifest["config"].get("word2vec") != resolved["word2vec"]:
        return "the word2vec config changed"
    recorded = manifest["config"].get("embedding", {})
    for key in ("vectors", "vectors_format"):
        if recorded.get(key) != resolved["embedding"][key]:
            return f"embedding.{key} changed"
    if manifest["inputs"]["vocab_sha256"] != preprocess["outputs"]["vocab_sha256"]:
        return "the vocabulary changed"
    vectors = manifest["inputs"]["vectors"]
    if vectors["kind"] == "import" and vectors["sha256"] != file_sha256(config.embedding.vectors):
        return "the imported vectors file changed"
    return None


def run_or_skip(name: str, why: str | None, stage_run, config: Config, resolved: dict) -> None:
    if why is None:
        log.info("%s: up to date (its manifest matches the config and inputs), skipped", name)
        return
    log.info("%s: runs (%s)", name, why)
    stage_run(config, resolved)


def training_jobs(cfg: DictConfig, config: Config) -> list[tuple[Config, dict]]:
    """One (typed, resolved) config per mode x seed, each in its own run folder."""
    jobs = []
    for mode in config.sweep.modes:
        for seed in config.sweep.seeds:
            job = copy.deepcopy(cfg)
            job.embedding.mode, job.seed = mode.value, seed
            job.trainer.run_name, job.trainer.replace_stale_run = f"{mode.value}-seed{seed}", True
            jobs.append((OmegaConf.to_object(job), OmegaConf.to_container(job, resolve=True, enum_to_str=True)))
    return jobs


def run(cfg: DictConfig, config: Config, resolved: dict, log_file: str) -> None:
    """The whole workflow for ``config.workdir``."""
    from workflow.embeddings import stage as word2vec_stage
    from workflow.preprocess import stage as preprocess_stage

    started = time.time()
    run_or_skip("preprocess", preprocess_is_current(config, resolved), preprocess_stage.run, config, resolved)
    run_or_skip("word2vec", word2vec_is_current(config, resolved), word2vec_stage.run, config, resolved)
    jobs = training_jobs(cfg, config)
    for number, (job, job_resolved) in enumerate(jobs, start=1):
        log.info("training %d/%d: %s", number, len(jobs), job.trainer.run_name)
        train_in_fresh_process(job, job_resolved, log_file)  # skips by itself when the run already finished

    from workflow.report import stage as report_stage

    if not config.report.runs:  # report on this sweep's runs, not on everything in <workdir>/runs
        config.report.runs = [run_dir(config.workdir, job.trainer.run_name) for job, _ in jobs]
    report_stage.run(config, resolved)
    report = os.path.join(stage_dir(config.workdir, "report"), "results.md")
    log.info("workflow done in %.0f s", time.time() - started)
    print(f"\nReport:      {report}\nTensorBoard: tensorboard --logdir {config.workdir}   (curves; projector: run report/projector)")
