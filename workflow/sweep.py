"""wf-run's training sweep: one Hydra multirun of ``wf-train``, so Hydra's launcher plugins distribute it.

``sweep.vectors x sweep.label_budgets x sweep.modes x sweep.seeds`` becomes::

    wf-train -m <wf-run's other overrides> embedding.vectors=null,'/data/glove.txt' trainer.label_budget=null,250 \
        embedding.mode=frozen,finetune,random seed=0,1,2

in a child process. A launcher chosen for wf-run (``hydra/launcher=joblib``,
``hydra/launcher=submitit_slurm``, with its ``hydra.launcher.*`` settings) is
handed on; without one, Hydra's basic launcher runs the jobs one after the
other. Every job trains in a process of its own (``processes.py``) and writes
its log to ``<sweep dir>/<run name>/train.log``; a job that fails is recorded
by Hydra and the others go on. wf-run reads the outcome from the run folders
(a finished run has ``metrics.json``), so it works the same whoever launched it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from workflow.config import Config

log = logging.getLogger(__name__)

# wf-run overrides that the sweep itself sets, per job.
SWEPT = ("sweep.", "sweep=", "seed=", "embedding.mode=", "trainer.label_budget=", "embedding.vectors=")
LAUNCHER = ("hydra/launcher=", "hydra.launcher.")
JOB_LOG = "train.log"


def vector_sources(config: Config) -> list[str | None]:
    """The vector sources the sweep compares: ``sweep.vectors``, or ``embedding.vectors`` alone (None: word2vec on the corpus)."""
    return list(config.sweep.vectors) if config.sweep.vectors is not None else [config.embedding.vectors]


def _quoted(path: str | None) -> str:
    """A source as a Hydra override value: null, or the path quoted (commas, spaces and '=' stay part of it)."""
    if path is None:
        return "null"
    return "'" + path.replace("'", "\\'") + "'"


def sweep_overrides(config: Config) -> list[str]:
    """``embedding.vectors=...``, ``trainer.label_budget=...``, ``embedding.mode=...``, ``seed=...``: in this order, the order of the jobs."""
    sources = ",".join(_quoted(path) for path in vector_sources(config))
    budgets = ",".join("null" if budget is None else str(budget) for budget in config.sweep.label_budgets)
    modes = ",".join(mode.value for mode in config.sweep.modes)
    seeds = ",".join(str(seed) for seed in config.sweep.seeds)
    return [f"embedding.vectors={sources}", f"trainer.label_budget={budgets}", f"embedding.mode={modes}", f"seed={seeds}"]


def multirun_arguments(config: Config, task_overrides: list[str], hydra_overrides: list[str], sweep_dir: str) -> list[str]:
    """The ``wf-train -m`` argument list: wf-run's overrides less the swept ones, the sweep, the launcher, the job folders."""
    kept = [override for override in task_overrides if not override.lstrip("+~").startswith(SWEPT)]
    launcher = [override for override in hydra_overrides if override.startswith(LAUNCHER)]
    return ["-m", *kept, *sweep_overrides(config), *launcher,
            f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=${trainer.run_name}", "hydra.job.name=train"]


def job_log(sweep_dir: str, run_name: str) -> str:
    return os.path.join(sweep_dir, run_name, JOB_LOG)


def launch(config: Config, task_overrides: list[str], hydra_overrides: list[str], sweep_dir: str, log_file: str) -> int:
    """Run the sweep; Hydra's exit status (non-zero when a job failed).

    The jobs' progress lines come to this process's standard output; Hydra's
    own error report of a failed job goes to ``log_file``.
    """
    arguments = multirun_arguments(config, task_overrides, hydra_overrides, sweep_dir)
    log.info("training sweep: wf-train %s", " ".join(arguments))
    with open(log_file, "ab") as errors:
        process = subprocess.run([sys.executable, "-c", "from workflow.cli import train; train()", *arguments], stderr=errors, check=False)
    return process.returncode
