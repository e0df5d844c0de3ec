"""Training jobs in fresh processes.

TensorFlow keeps devices, memory and graph state for the life of a process,
and fixes its logical devices and cluster when it starts; a fresh ``spawn``
process per training job keeps sweep jobs independent of each other, and one
that fails (or dies) cannot take the others with it.
"""

from __future__ import annotations

import logging
import logging.config
import multiprocessing
import os
import sys

from workflow import stderr
from workflow.config import Config
from workflow.console import show_steps
from workflow.errors import USER_ERROR_EXIT, user_error
from workflow.training.devices import sweep_job_gpus
from workflow.training.identity import run_name


class TrainingJobFailed(RuntimeError):
    """A training job's process exited with a non-zero status (its log says why)."""


def _child(config: Config, log_file: str, logging_config: dict) -> None:
    logging.config.dictConfig(logging_config)  # the sweep job's own (conf/config.yaml's hydra.job_logging): same terminal, same log file
    stderr.drop_beam_import_notice()
    show_steps(config.terminal.steps)
    name = run_name(config)
    logging.getLogger(__name__).info("training %s in process %d", name, os.getpid())
    stderr.import_tensorflow_quietly(log_file)
    try:
        from workflow.training import stage

        stage.run(config)
    except Exception as error:  # noqa: BLE001 - a user error is one line; anything else is logged in full
        found = user_error(error)
        if found is None:
            logging.getLogger(__name__).exception("training %s failed", name)
            sys.exit(1)
        logging.getLogger(__name__).error("error: %s", found)
        sys.exit(USER_ERROR_EXIT)


def train_in_fresh_process(config: Config, log_file: str, logging_config: dict) -> int:
    """Run one training job in a spawned process that logs as ``logging_config`` says (a ``logging.config.dictConfig``
    whose file handler writes ``log_file``); its exit code."""
    if multiprocessing.get_start_method(allow_none=True) not in (None, *multiprocessing.get_all_start_methods()):
        # joblib's loky workers (hydra/launcher=joblib) set a start method of their own, which a spawned
        # child is told to set too and cannot: it knows only the standard ones.
        multiprocessing.set_start_method("spawn", force=True)
    process = multiprocessing.get_context("spawn").Process(target=_child, args=(config, log_file, logging_config))
    with sweep_job_gpus() as start:  # jobs side by side on one machine: GPUs of their own (training/devices.py)
        start(process)
        process.join()
    return process.exitcode if process.exitcode >= 0 else 128 - process.exitcode  # killed by signal N: 128 + N, as a shell says


def train_or_raise(config: Config, log_file: str, logging_config: dict) -> None:
    """:func:`train_in_fresh_process`; TrainingJobFailed when it does not exit 0."""
    exit_code = train_in_fresh_process(config, log_file, logging_config)
    if exit_code != 0:
        raise TrainingJobFailed(f"training {run_name(config)} exited with status {exit_code}; its log: {log_file}")
