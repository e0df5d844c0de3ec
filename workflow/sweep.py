"""wf-run's training sweep: its jobs trained one after the other here, or one Hydra multirun of ``wf-train``, so that
Hydra's launcher plugins distribute it.

The jobs are the sweep's axes crossed (training/identity.py ``sweep_axes``:
``sweep.vectors x sweep.label_budgets x sweep.ngrams x sweep.modes x sweep.seeds``),
each job's config wf-run's with the job's values (``identity.job_config``),
each job's run folder named by ``identity.run_name``.

Without a launcher, and when the strategy needs nothing set at process start
(no logical devices, one worker), wf-run trains the jobs itself, one after the
other, in its own process (:func:`train_here`): each logs to
``<sweep dir>/<run name>/train.log``, and a failed job is logged and the next
one runs. This saves a Python, Hydra and TensorFlow start per job and for the
sweep (about a quarter of the bundled sample's run), and a job's result is the
same as in a process of its own (every layer is seeded from the run's seed:
tests/integration/test_workflow_run.py).

With a launcher (``hydra/launcher=joblib``, ``hydra/launcher=submitit_slurm``,
with its ``hydra.launcher.*`` settings), or a strategy that needs a fresh
process, the sweep is one multirun (:func:`multirun_arguments`)::

    wf-train -m <wf-run's other overrides> embedding.vectors=null,'/data/glove.txt' trainer.label_budget=null,250 \
        embedding.mode=frozen,finetune,random seed=0,1,2

in a child process. wf-run's overrides are read with Hydra's own override
parser: those of a swept setting (and of the ``sweep`` group) give way to the
sweep's values, and only the launcher's Hydra overrides are handed on. Every
job trains in a process of its own (``processes.py``) and writes its log to
the same ``<sweep dir>/<run name>/train.log``; a job that fails is recorded
by Hydra and the others go on. Under a launcher of its own (jobs side by
side) the jobs show their progress as lines (``terminal.progress=lines``),
unless wf-run was told otherwise: bars of parallel jobs would be drawn over
each other.

Either way wf-run reads the outcome from the run folders (a finished run has
metrics.json: training/output.py), so it works the same whoever launched it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from typing import Any, Iterator

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override

from workflow import config_checks
from workflow.config import Config, StrategyKind
from workflow.errors import user_error
from workflow.training import identity

log = logging.getLogger(__name__)

SWEEP_GROUP = "sweep"  # wf-run's sweep settings: the jobs' values, not a setting of any job
LAUNCHER_GROUP = "hydra/launcher"
LAUNCHER_SETTINGS = "hydra.launcher."
BASIC_LAUNCHER = "basic"  # Hydra's default: one job after the other
PROGRESS = "terminal.progress"
JOB_LOG = "train.log"


def _value(value: Any) -> str:
    """One swept value as an override value: null, a number, an enum's name, or a path quoted (commas, spaces and '=' stay
    part of it)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    return str(getattr(value, "value", value))


def sweep_overrides(config: Config) -> list[str]:
    """``embedding.vectors=...``, ``trainer.label_budget=...``, ``embedding.mode=...``, ``seed=...``: the sweep's axes, in order."""
    return [f"{key}={','.join(_value(value) for value in values)}" for key, values in identity.sweep_axes(config)]


def _parsed(overrides: list[str]) -> list[Override]:
    return OverridesParser.create().parse_overrides(overrides)


def _launcher(hydra_overrides: list[str]) -> list[Override]:
    """The overrides of wf-run's Hydra settings that choose and configure a launcher."""
    return [override for override in _parsed(hydra_overrides)
            if override.key_or_group == LAUNCHER_GROUP or override.key_or_group.startswith(LAUNCHER_SETTINGS)]


def _side_by_side(launcher: list[Override]) -> bool:
    """Whether the launcher runs jobs at the same time (any but Hydra's basic one)."""
    return any(not (override.key_or_group == LAUNCHER_GROUP and override.value() == BASIC_LAUNCHER) for override in launcher)


def multirun_arguments(config: Config, task_overrides: list[str], hydra_overrides: list[str], sweep_dir: str) -> list[str]:
    """The ``wf-train -m`` argument list: wf-run's overrides less the swept ones, the sweep, the launcher, the job folders."""
    swept = {key for key, _ in identity.sweep_axes(config)}
    kept = [override for override in _parsed(task_overrides)
            if override.key_or_group not in swept and override.key_or_group.split(".")[0] != SWEEP_GROUP]
    launcher = _launcher(hydra_overrides)
    told = any(override.key_or_group == PROGRESS for override in kept)
    lines = [f"{PROGRESS}=lines"] if _side_by_side(launcher) and not told else []
    return ["-m", *(override.input_line for override in kept), *sweep_overrides(config), *(override.input_line for override in launcher),
            *lines, f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=${run_name:}", "hydra.job.name=train"]


def job_log(sweep_dir: str, run_name: str) -> str:
    return os.path.join(sweep_dir, run_name, JOB_LOG)


def trains_here(config: Config, hydra_overrides: list[str]) -> bool:
    """Whether wf-run trains the sweep in its own process: no launcher named (Hydra's basic one would run the jobs one
    after the other anyway) and a strategy that needs nothing set before TensorFlow starts (logical devices, a cluster)."""
    return (not _side_by_side(_launcher(hydra_overrides)) and config.strategy.logical_devices == 0
            and config.strategy.kind is not StrategyKind.multiworker)


def train_here(config: Config, sweep_dir: str) -> None:
    """Train every job of the sweep in this process, one after the other; a job that fails is logged, the next one runs."""
    import keras

    from workflow.training import stage

    for job in identity.sweep_jobs(config):
        one = identity.job_config(config, job)
        name = identity.run_name(one)
        with _logging_to(job_log(sweep_dir, name)):
            log.info("training %s in this process (%s)", name, " ".join(f"{key}={_value(value)}" for key, value in job.items()))
            try:
                config_checks.validate(one)
                stage.run(one)
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
