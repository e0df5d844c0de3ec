"""Where other code's standard error goes: Beam SDK workers and TensorFlow's C++ start-up lines.

The FnApiRunner's multi-process mode (and a local worker pool) starts SDK
worker processes that inherit this process's standard error and log every
bundle at INFO; TensorFlow's C++ runtime prints absl lines ("oneDNN custom
operations are on", "All log messages before absl::InitializeLog()") when it
loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. Pointing file descriptor 2 at a
log file while they start sends their lines there; the progress output,
which Hydra's console handler writes to standard output, stays on the terminal.

And one line Apache Beam logs when it is imported (:data:`BEAM_IMPORT_NOTICE`),
dropped here, in the one module every command imports before Beam.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from typing import Iterator

# Every ``import apache_beam`` runs apache_beam/io/gcp/internal/clients/bigquery/__init__.py, which, without the
# apache-beam[gcp] extra (this workflow reads no BigQuery), calls ``logging.warning("apitools not found, and bigquery
# client libraries are not available despite the import not raising an ImportError.")``: a warning on the *root*
# logger, so no logger level can silence it without silencing every warning. The workflow imports Beam lazily, from
# many modules, after Hydra has configured logging (or, in a training job's process, after processes.py has), so the
# import itself is not one place either: a filter on the root logger that drops this one record is, and it survives
# logging configuration (dictConfig and basicConfig replace a logger's handlers, not its filters). workflow/cli.py
# and workflow/processes.py, where every command and every training job's process starts, import this module first.
BEAM_IMPORT_NOTICE = "apitools not found, and bigquery client libraries are not available"


def _not_beam_import_notice(record: logging.LogRecord) -> bool:
    return not (record.name == "root" and isinstance(record.msg, str) and record.msg.startswith(BEAM_IMPORT_NOTICE))


logging.getLogger().addFilter(_not_beam_import_notice)


@contextlib.contextmanager
def stderr_to(log_file: str | None) -> Iterator[None]:
    """Inside the block, this process and the processes it starts write their standard error to ``log_file``
    (appended; None: unchanged)."""
    if log_file is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_file, "ab") as target:
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow_quietly(log_file: str = os.devnull) -> None:
    """Import TensorFlow with its C++ start-up lines sent to ``log_file`` (later C++ warnings still show)."""
    with stderr_to(log_file):
        importlib.import_module("tensorflow")
