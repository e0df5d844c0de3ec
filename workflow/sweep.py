"""wf-run's training sweep: one Hydra multirun of ``wf-train``, so Hydra's launcher plugins distribute it.

``sweep.vectors x sweep.label_budgets x sweep.ngrams x sweep.modes x sweep.seeds`` becomes (``embedding.ngrams=...``
when ``sweep.ngrams`` is set)::

    wf-train -m <wf-run's other overrides> embedding.vectors=null,'/data/glove.txt' trainer.label_budget=null,250 \
        embedding.mode=frozen,finetune,random seed=0,1,2

in a child process. A launcher chosen for wf-run (``hydra/launcher=joblib``,
``hydra/launcher=submitit_slurm``, with its ``hydra.launcher.*`` settings) is
handed on; without one, Hydra's basic launcher runs the jobs one after the
other. Every job trains in a process of its own (``processes.py``) and writes
its log to ``<sweep dir>/<run name>/train.log``; a job that fails is recorded
by Hydra and the others go on. wf-run reads the outcome from the run folders
(a finished run has ``metrics.json``), so it works the same whoever launched it;
:func:`run_names` names them in the order of the jobs, from the same axes.

Under a launcher of its own (jobs side by side) the jobs show their progress
as lines (``terminal.progress=lines``), unless wf-run was told otherwise: bars
of parallel jobs would be drawn over each other.

Without a launcher, and when the strategy needs nothing set at process start
(no logical devices, one worker), wf-run trains the jobs itself, one after the
other, in its own process (:func:`train_here`): each job's config is the
composed one with the job's values set, each logs to the same
``<sweep dir>/<run name>/train.log``, and a failed job is logged and the next
one runs. This saves a Python, Hydra and TensorFlow start per job and for the
sweep (about a quarter of the bundled sample's run), and a job's result is the
same as in a process of its own (every layer is seeded from the run's seed:
tests/integration/test_workflow_run.py).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import logging
import os
import subprocess
import sys
from typing import Any, Iterator

from omegaconf import DictConfig, OmegaConf

from workflow import config_checks
from workflow.config import Config, StrategyKind
from workflow.errors import user_error
from workflow.resolvers import ngram_modes, vector_sources

log = logging.getLogger(__name__)

# wf-run overrides that the sweep itself sets, per job.
SWEPT = ("sweep.", "sweep=", "seed=", "embedding.mode=", "trainer.label_budget=", "embedding.vectors=")
NGRAMS = "embedding.ngrams="  # swept too when sweep.ngrams is set
LAUNCHER = ("hydra/launcher=", "hydra.launcher.")
SEQUENTIAL_LAUNCHER = "hydra/launcher=basic"  # Hydra's default: one job after the other
PROGRESS = "terminal.progress="
JOB_LOG = "train.log"


def axes(config: Config) -> list[tuple[str, list[Any]]]:
    """The swept keys and their values, outermost first: Hydra's basic sweeper crosses them in this order, the order of the jobs.

    ``embedding.ngrams`` is an axis only when ``sweep.ngrams`` names its values; otherwise every job has wf-run's.
    """
    ngrams = [("embedding.ngrams", [mode.value for mode in ngram_modes(config)])] if config.sweep.ngrams is not None else []
    return [("embedding.vectors", vector_sources(config)), ("trainer.label_budget", list(config.sweep.label_budgets)), *ngrams,
            ("embedding.mode", [mode.value for mode in config.sweep.modes]), ("seed", list(config.sweep.seeds))]


def jobs(config: Config) -> list[dict[str, Any]]:
    """Every job's swept values (``{"embedding.vectors": None, "trainer.label_budget": 250, ...}``), in the order of the jobs."""
    keys = [key for key, _ in axes(config)]
    return [dict(zip(keys, values)) for values in itertools.product(*(values for _, values in axes(config)))]


def job_config(cfg: DictConfig, job: dict[str, Any]) -> DictConfig:
    """wf-run's composed config with one job's swept values set."""
    one = copy.deepcopy(cfg)
    for key, value in job.items():
        OmegaConf.update(one, key, value, merge=False)
    return one


def run_names(cfg: DictConfig, config: Config) -> list[str]:
    """The run folder of every job, in the order of the jobs, as ``trainer.run_name`` names it with the job's values."""
    return [job_config(cfg, job).trainer.run_name for job in jobs(config)]


def _quoted(path: str | None) -> str:
    """A source as a Hydra override value: null, or the path quoted (commas, spaces and '=' stay part of it)."""
    if path is None:
        return "null"
    return "'" + path.replace("'", "\\'") + "'"


def _value(key: str, value: Any) -> str:
    """One swept value as an override value."""
    if key == "embedding.vectors":
        return _quoted(value)
    return "null" if value is None else str(value)


def sweep_overrides(config: Config) -> list[str]:
    """``embedding.vectors=...``, ``trainer.label_budget=...``, ``embedding.mode=...``, ``seed=...``: :func:`axes`, in its order."""
    return [f"{key}={','.join(_value(key, value) for value in values)}" for key, values in axes(config)]


def multirun_arguments(config: Config, task_overrides: list[str], hydra_overrides: list[str], sweep_dir: str) -> list[str]:
    """The ``wf-train -m`` argument list: wf-run's overrides less the swept ones, the sweep, the launcher, the job folders."""
    swept = SWEPT + ((NGRAMS,) if config.sweep.ngrams is not None else ())
    kept = [override for override in task_overrides if not override.lstrip("+~").startswith(swept)]
    launcher = [override for override in hydra_overrides if override.startswith(LAUNCHER)]
    side_by_side = any(override != SEQUENTIAL_LAUNCHER for override in launcher)
    told = any(override.lstrip("+~").startswith(PROGRESS) for override in kept)
    lines = [f"{PROGRESS}lines"] if side_by_side and not told else []
    return ["-m", *kept, *sweep_overrides(config), *launcher, *lines,
            f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=${trainer.run_name}", "hydra.job.name=train"]


def job_log(sweep_dir: str, run_name: str) -> str:
    return os.path.join(sweep_dir, run_name, JOB_LOG)


def trains_here(config: Config, hydra_overrides: list[str]) -> bool:
    """Whether wf-run trains the sweep in its own process: no launcher named (Hydra's basic one would run the jobs one
    after the other anyway) and a strategy that needs nothing set before TensorFlow starts (logical devices, a cluster)."""
    launcher = [override for override in hydra_overrides if override.startswith(LAUNCHER) and override != SEQUENTIAL_LAUNCHER]
    return not launcher and config.strategy.logical_devices == 0 and config.strategy.kind is not StrategyKind.multiworker


def train_here(cfg: DictConfig, config: Config, sweep_dir: str) -> None:
    """Train every job of the sweep in this process, one after the other; a job that fails is logged, the next one runs."""
    import keras

    from workflow.training import stage

    for job in jobs(config):
        one = job_config(cfg, job)
        name = one.trainer.run_name
        with _logging_to(job_log(sweep_dir, name)):
            log.info("training %s in this process (%s)", name, " ".join(f"{key}={value}" for key, value in job.items()))
            try:
                config_checks.validate(one)
                stage.run(OmegaConf.to_object(one), OmegaConf.to_container(one, resolve=True, enum_to_str=True))
            except Exception as error:  # noqa: BLE001 - one job's failure is its own: logged, and the sweep goes on
                found = user_error(error)
                if found is None:
                    log.exception("training %s failed", name)
                else:
                    log.error("error: %s", found)
            finally:
                keras.backend.clear_session()  # the next job's model starts from a clean graph and frees this one's


@contextlib.contextmanager
def _logging_to(path: str) -> Iterator[None]:
    """Point this process's log file (Hydra's ``file`` handler) at ``path`` for the block, as a job process would log."""
    handlers = [handler for handler in logging.getLogger().handlers if isinstance(handler, logging.FileHandler)]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    streams = [open(path, "a", encoding="utf-8") for _ in handlers]
    previous = [handler.setStream(stream) for handler, stream in zip(handlers, streams)]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream).close()


def launch(config: Config, task_overrides: list[str], hydra_overrides: list[str], sweep_dir: str, log_file: str) -> int:
    """Run the sweep; Hydra's exit status (non-zero when a job failed).

    The jobs' progress (lines or bars) comes to this process's standard output; Hydra's
    own lines (conf/config.yaml sends them to standard error) and its error report of a
    failed job go to ``log_file``.
    """
    arguments = multirun_arguments(config, task_overrides, hydra_overrides, sweep_dir)
    log.info("training sweep: wf-train %s", " ".join(arguments))
    with open(log_file, "ab") as errors:
        process = subprocess.run([sys.executable, "-c", "from workflow.cli import train; train()", *arguments], stderr=errors, check=False)
    return process.returncode
