"""Where other code's standard error goes: Beam SDK workers and TensorFlow's C++ start-up lines.

The FnApiRunner's multi-process mode (and a local worker pool) starts SDK
worker processes that inherit this process's standard error and log every
bundle at INFO; TensorFlow's C++ runtime prints absl lines ("oneDNN custom
operations are on", "All log messages before absl::InitializeLog()") when it
loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. Pointing file descriptor 2 at a
log file while they start sends their lines there; the progress output,
which Hydra's console handler writes to standard output, stays on the terminal.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Iterator


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
