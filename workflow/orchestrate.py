"""``wf-run``: every stage in order, each skipped when it says it is up to date.

The orchestrator knows no stage's rules: it asks each stage for its cache
key (``stage.key(config)``, declared beside the stage's code) and for the key
its manifest recorded (``stage.recorded_key(config)``), and runs the stage,
with that key, only when the two differ, holding the lock of the stage's
folder (``stage.folder(config)``) from the comparison to the publish, so that
concurrent runs on one workdir (two commands, or a Hydra launcher's parallel
jobs) make each output once; the embedding stage once per vector
source (``sweep.vectors``, or ``embedding.vectors``). The training jobs
(sources x ``sweep.label_budgets`` x ``sweep.modes`` x ``sweep.seeds``) are one Hydra
multirun of ``wf-train`` (``sweep.py``), each job in a process of its own with a
log of its own, launched by whichever Hydra launcher wf-run was given; a job
that finds its run finished with the same key re-uses it. A failed job does
not stop the others: the report covers the runs that finished and lists the
failed ones, and the command exits 1 at the end.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from types import ModuleType

from omegaconf import DictConfig

from workflow import locks, sweep
from workflow.artifacts import RunLayout, run_dir, stage_dir
from workflow.caching import why_outdated
from workflow.config import Config

log = logging.getLogger(__name__)


def bring_up_to_date(name: str, stage: ModuleType, config: Config, resolved: dict, always: bool = False, **run_options) -> None:
    """Run ``stage`` unless its manifest records the key it has now; say which, and why.

    One critical section: the writer lock of the stage's folder (``stage.folder(config)``,
    workflow/locks.py) is held from the key check to the publish, so a second run of the
    same stage waits, saying for whom, then finds the stage up to date and skips it.
    ``always`` (wf-preprocess, wf-word2vec: a stage asked for by name) runs it even when
    up to date, unless this call waited for the writer that just brought it up to date.
    The key is computed once (it hashes every input file) and handed to the run.
    """
    with locks.exclusive(stage.folder(config)) as waited:
        stage_key = stage.key(config)
        why = why_outdated(stage.recorded_key(config), stage_key)
        if why is None and (waited or not always):
            log.info("%s: up to date (its manifest records this key%s), skipped", name, "; written by the run it waited for" if waited else "")
            return
        log.info("%s: runs (%s)", name, why or "asked for by name")
        stage.run(config, resolved, stage_key=stage_key, **run_options)


def with_vectors(config: Config, vectors: str | None) -> Config:
    """``config`` with ``embedding.vectors`` set to one of the sweep's sources."""
    one = copy.deepcopy(config)
    one.embedding.vectors = vectors
    return one


def run_names(cfg: DictConfig, config: Config) -> list[str]:
    """The run folder of every training job (source x label budget x mode x seed), as ``trainer.run_name`` names it."""
    names = []
    for vectors in sweep.vector_sources(config):
        for budget in config.sweep.label_budgets:
            for mode in config.sweep.modes:
                for seed in config.sweep.seeds:
                    job = copy.deepcopy(cfg)
                    job.embedding.vectors, job.embedding.mode, job.seed, job.trainer.label_budget = vectors, mode.value, seed, budget
                    names.append(job.trainer.run_name)
    return names


def run(cfg: DictConfig, config: Config, resolved: dict, log_file: str, task_overrides: list[str], hydra_overrides: list[str]) -> int:
    """The whole workflow for ``config.workdir``; the exit status (1 when a training job failed).

    ``task_overrides`` and ``hydra_overrides``: wf-run's command line, which the training sweep inherits.
    """
    from workflow.embeddings import stage as word2vec_stage
    from workflow.preprocess import stage as preprocess_stage
    from workflow.report import stage as report_stage

    started = time.time()
    bring_up_to_date("preprocess", preprocess_stage, config, resolved, log_file=log_file)
    for vectors in sweep.vector_sources(config):
        source = with_vectors(config, vectors)
        name = "word2vec" if vectors is None else f"vectors {vectors}"
        bring_up_to_date(name, word2vec_stage, source, resolved)
        if word2vec_stage.refresh_quality(source):
            log.info("%s: quality settings changed, quality.json re-evaluated (vectors kept)", name)

    names = run_names(cfg, config)
    sweep_dir = os.path.join(os.path.dirname(log_file), "train")
    log.info("training %d job(s); their logs: %s/<run name>/%s", len(names), sweep_dir, sweep.JOB_LOG)
    status = sweep.launch(config, task_overrides, hydra_overrides, sweep_dir, log_file)
    if status != 0:
        log.error("the training sweep exited with status %d; Hydra's account of it: %s", status, log_file)
    finished, failed = [], []
    for name in names:
        folder = run_dir(config.workdir, name)
        if os.path.exists(RunLayout(folder).metrics):
            finished.append(folder)
        else:
            failed.append({"run": name, "log": sweep.job_log(sweep_dir, name)})
            log.error("training %s did not finish; its log: %s", name, failed[-1]["log"])

    report = os.path.join(stage_dir(config.workdir, "report"), "results.md")
    if finished:
        if not config.report.runs:  # report on this sweep's runs, not on everything in <workdir>/runs
            config.report.runs = finished
        report_stage.run(config, resolved, failed=failed)
    log.info("workflow done in %.0f s: %d of %d training jobs finished", time.time() - started, len(finished), len(names))
    if finished:
        print(f"\nReport:      {report}\nTensorBoard: tensorboard --logdir {config.workdir}   (curves; projector: run report/projector)")
    for job in failed:
        print(f"Failed:      {job['run']}: {job['log']}")
    return 1 if failed else 0
