"""Where other code's standard error goes: Beam SDK workers and TensorFlow's C++ start-up lines.

The FnApiRunner's multi-process mode (and a local worker pool) starts SDK
worker processes that inherit this process's standard error and log every
bundle at INFO; TensorFlow's C++ runtime prints absl lines ("oneDNN custom
operations are on", "All log messages before absl::InitializeLog()") when it
loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. Pointing file descriptor 2 at a
log file while they start sends their lines there; the progress output,
which Hydra's console handler writes to standard output, stays on the terminal.
The file is fed through a pipe that never refuses a write (:func:`stderr_to`).

And one line Apache Beam logs when it is imported (:data:`BEAM_IMPORT_NOTICE`),
dropped by a filter that each command's process installs when it starts
(:func:`drop_beam_import_notice`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
from typing import Iterator

# Every ``import apache_beam`` runs apache_beam/io/gcp/internal/clients/bigquery/__init__.py, which, without the
# apache-beam[gcp] extra (this workflow reads no BigQuery), calls ``logging.warning("apitools not found, and bigquery
# client libraries are not available despite the import not raising an ImportError.")``: a warning on the *root*
# logger, so no logger level can silence it without silencing every warning. The workflow imports Beam only where a
# pipeline or a store's filesystem is used, after Hydra has configured logging (or, in a training job's process, after
# processes.py has), so the import itself is not one place: a filter on the root logger that drops this one record is,
# and it survives logging configuration (dictConfig and basicConfig replace a logger's handlers, not its filters).
# workflow/cli.py and workflow/processes.py install it where every command and every training job's process starts.
BEAM_IMPORT_NOTICE = "apitools not found, and bigquery client libraries are not available"


def _not_beam_import_notice(record: logging.LogRecord) -> bool:
    return not (record.name == "root" and isinstance(record.msg, str) and record.msg.startswith(BEAM_IMPORT_NOTICE))


def drop_beam_import_notice() -> None:
    """Drop :data:`BEAM_IMPORT_NOTICE` from this process's log (idempotent): before anything imports Beam."""
    root = logging.getLogger()
    if _not_beam_import_notice not in root.filters:
        root.addFilter(_not_beam_import_notice)


@contextlib.contextmanager
def stderr_to(log_file: str | None) -> Iterator[None]:
    """Inside the block, this process and the processes it starts write their standard error to ``log_file``
    (appended; None: unchanged).

    Through a pipe, never the file itself: a thread of this process copies what arrives to the file and drops what
    the file refuses. A write to standard error then never fails, whatever the log file's disk: a Beam SDK worker
    whose bundle fails prints the traceback to standard error before it reports the failure, and when that print
    raised (``ENOSPC``: the log on a full disk) the report was never sent and the job waited for it forever. The
    thread reads until every process holding the pipe has exited or closed it, so no writer ever blocks.
    """
    if log_file is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    copier = threading.Thread(target=_copy, args=(read_end, log_file), name=f"stderr to {log_file}", daemon=True)
    copier.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # this process's copy of the write end goes: the copier ends once the children's copies go too
        os.close(saved)


def _copy(read_end: int, log_file: str) -> None:
    """Copy a pipe to ``log_file`` until every writer has closed it; what the file cannot take is dropped."""
    try:
        target = open(log_file, "ab", buffering=0)
    except OSError:
        target = None
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            if target is None:
                continue
            try:
                target.write(chunk)
            except OSError:
                pass  # a full or vanished log: the line is lost, the writer is not blocked
    if target is not None:
        try:
            target.close()
        except OSError:
            pass


def import_tensorflow_quietly(log_file: str = os.devnull) -> None:
    """Import TensorFlow with its C++ start-up lines sent to ``log_file`` (later C++ warnings still show)."""
    with stderr_to(log_file):
        importlib.import_module("tensorflow")
