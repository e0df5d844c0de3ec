"""``wf-run``: every stage in order, each skipped when it says it is up to date.

The orchestrator knows no stage's rules: it asks each stage for its cache
key (``stage.key(config)``, declared beside the stage's code) and for the key
its manifest recorded (``stage.recorded_key(workdir)``), and runs the stage,
with that key, only when the two differ. Training jobs
(``sweep.label_budgets`` x ``sweep.modes`` x ``sweep.seeds``) each run in a fresh process with a log of
their own; a job that finishes with the same key is re-used by the job
itself. A failed job does not stop the others: the report covers the runs
that finished and lists the failed ones, and the command exits 1 at the end.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from types import ModuleType

from omegaconf import DictConfig, OmegaConf

from workflow.artifacts import RunLayout, run_dir, stage_dir
from workflow.caching import why_outdated
from workflow.config import Config
from workflow.processes import train_in_fresh_process

log = logging.getLogger(__name__)


def bring_up_to_date(name: str, stage: ModuleType, config: Config, resolved: dict, **run_options) -> None:
    """Run ``stage`` unless its manifest records the key it has now; say which, and why.

    The key is computed once (it hashes every input file) and handed to the run.
    """
    stage_key = stage.key(config)
    why = why_outdated(stage.recorded_key(config.workdir), stage_key)
    if why is None:
        log.info("%s: up to date (its manifest records this key), skipped", name)
        return
    log.info("%s: runs (%s)", name, why)
    stage.run(config, resolved, stage_key=stage_key, **run_options)


def training_jobs(cfg: DictConfig, config: Config) -> list[tuple[Config, dict]]:
    """One (typed, resolved) config per label budget x mode x seed; run names follow ``trainer.run_name``."""
    jobs = []
    for budget in config.sweep.label_budgets:
        for mode in config.sweep.modes:
            for seed in config.sweep.seeds:
                job = copy.deepcopy(cfg)
                job.embedding.mode, job.seed, job.trainer.label_budget = mode.value, seed, budget
                jobs.append((OmegaConf.to_object(job), OmegaConf.to_container(job, resolve=True, enum_to_str=True)))
    return jobs


def run(cfg: DictConfig, config: Config, resolved: dict, log_file: str) -> int:
    """The whole workflow for ``config.workdir``; the exit status (1 when a training job failed)."""
    from workflow.embeddings import stage as word2vec_stage
    from workflow.preprocess import stage as preprocess_stage
    from workflow.report import stage as report_stage

    started = time.time()
    bring_up_to_date("preprocess", preprocess_stage, config, resolved, log_file=log_file)
    bring_up_to_date("word2vec", word2vec_stage, config, resolved)
    if word2vec_stage.refresh_quality(config):
        log.info("word2vec: quality settings changed, quality.json re-evaluated (vectors kept)")

    jobs = training_jobs(cfg, config)
    failed = []
    for number, (job, job_resolved) in enumerate(jobs, start=1):
        name = job.trainer.run_name
        job_log = os.path.join(os.path.dirname(log_file), f"{name}.log")
        log.info("training %d/%d: %s (log: %s)", number, len(jobs), name, job_log)
        exit_code = train_in_fresh_process(job, job_resolved, job_log)
        if exit_code != 0:
            failed.append({"run": name, "exit_code": exit_code, "log": job_log})
            log.error("training %s failed (exit %d); its log: %s. The other jobs go on.", name, exit_code, job_log)

    finished = [run_dir(config.workdir, job.trainer.run_name) for job, _ in jobs]
    finished = [folder for folder in finished if os.path.exists(RunLayout(folder).metrics)]
    report = os.path.join(stage_dir(config.workdir, "report"), "results.md")
    if finished:
        if not config.report.runs:  # report on this sweep's runs, not on everything in <workdir>/runs
            config.report.runs = finished
        report_stage.run(config, resolved, failed=failed)
    log.info("workflow done in %.0f s: %d of %d training jobs finished", time.time() - started, len(finished), len(jobs))
    if finished:
        print(f"\nReport:      {report}\nTensorBoard: tensorboard --logdir {config.workdir}   (curves; projector: run report/projector)")
    for job in failed:
        print(f"Failed:      {job['run']} (exit {job['exit_code']}): {job['log']}")
    return 1 if failed else 0
