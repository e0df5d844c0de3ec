"""Training jobs in fresh processes.

TensorFlow keeps devices, memory and graph state for the life of a process,
and fixes its logical devices and cluster when it starts; a fresh ``spawn``
process per training job keeps sweep jobs independent of each other.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys

from workflow.config import Config

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's
QUIET_LOGGERS = ("absl", "tensorflow", "apache_beam", "gensim")  # as in conf/config.yaml's job_logging


def train_job(config: Config, resolved: dict) -> dict:
    """One training job in this process."""
    from workflow.training import stage

    return stage.run(config, resolved)


def _child(config: Config, resolved: dict, log_file: str) -> None:
    from workflow.cli import user_error  # the same one-line treatment of user errors as the entry points

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT,
                        handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(log_file)], force=True)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        train_job(config, resolved)
    except Exception as error:  # noqa: BLE001
        found = user_error(error)
        if found is None:
            raise
        print(f"error: {found}", file=sys.stderr)
        sys.exit(2)


def train_in_fresh_process(config: Config, resolved: dict, log_file: str) -> None:
    """Run one training job in a spawned process that logs to ``log_file``; exit with its status on failure."""
    process = multiprocessing.get_context("spawn").Process(target=_child, args=(config, resolved, log_file))
    process.start()
    process.join()
    if process.exitcode != 0:
        sys.exit(process.exitcode if process.exitcode > 0 else 1)
