"""Errors that are the user's to fix, and how a command reports them.

Each one carries a message that names the file, record or config key at
fault; the entry points print it as one line (``error: ...``) and exit 2
instead of showing a traceback (which goes to the log file). An ``OSError``
of the storage (a full disk, a permission, a read-only filesystem) is the
user's to fix too, and is reported the same way (:class:`StorageError`).
This module imports nothing heavy, so that the entry points, the
orchestrator and the child processes can all use it without loading Beam,
gensim or TensorFlow.
"""

from __future__ import annotations

import errno
import logging
import re

# What the user can fix of a failed read or write: a full disk or quota, a read-only filesystem, a permission.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
_ERRNO_TEXT = re.compile(r"\b\w*Error: \[Errno (\d+)\] ([^\[\n]+?)(?:: '([^'\n]+)')?(?: \[while running|$|\n)")


class ConfigError(ValueError):
    """A config value that composes but cannot work; the message names the key."""


class MissingValueError(ConfigError):
    """A value the config must be given on the command line (``data.path`` of data=imdb, beam=dataflow's project)."""


class InputError(ValueError):
    """An input that cannot be read at all; the message names the path."""


class EmptyCorpusError(ValueError):
    """The corpus has no training-side document: nothing to build a vocabulary from."""


class ContractError(ValueError):
    """A stage's input is missing or was built from something else; the message names both."""


class VectorsError(ValueError):
    """A word-vectors file that cannot be imported; the message names the file and line."""


class StorageError(ValueError):
    """A file or folder that cannot be written or read for a reason of the storage (a full disk, a permission, a
    read-only filesystem); the message names the path and the cause."""


class DivergedError(ValueError):
    """A training whose loss or weights stopped being finite; the message names the epoch and the learning rate."""


USER_ERRORS = (ConfigError, InputError, EmptyCorpusError, ContractError, VectorsError, StorageError, DivergedError)
USER_ERROR_EXIT = 2


def output_error(error: OSError, where: str) -> StorageError:
    """A failed write as one line: the file (``where`` when the error names none: a write's ENOSPC does not) and the cause."""
    return StorageError(f"cannot write {error.filename or where}: {error.strerror or error}")


def _storage_error(error: BaseException) -> StorageError | None:
    """A storage OSError (:data:`STORAGE_ERRNOS`) as a StorageError naming its path; None for any other error."""
    if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
        return StorageError(f"{error.filename}: {error.strerror}" if error.filename else f"{error.strerror} (errno {error.errno})")
    match = _ERRNO_TEXT.search(str(error))  # raised in a Beam worker: only its text crossed over
    if match and int(match.group(1)) in STORAGE_ERRNOS:
        return StorageError(f"{match.group(3)}: {match.group(2)}" if match.group(3) else f"{match.group(2)} (errno {match.group(1)})")
    return None


def user_error(error: BaseException) -> BaseException | None:
    """The user-facing error behind ``error``, also when a Beam worker raised it.

    Beam re-raises worker exceptions wrapped (and, across processes, only as
    text), so both the exception chain and the message are searched.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, USER_ERRORS):  # Beam adds " [while running '<step>']" to the message of what a step raised
            return seen if " [while running" not in str(seen) else type(seen)(str(seen).split(" [while running")[0])
        text = str(seen)
        for kind in USER_ERRORS:
            marker = f"{kind.__name__}: "
            if marker in text:
                return kind(text.split(marker, 1)[1].splitlines()[0].split(" [while running")[0])
        seen = seen.__cause__ or seen.__context__
    seen = error
    while seen is not None:  # no user error in the chain: a storage error anywhere in it is the user's to fix too
        found = _storage_error(seen)
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    return None


def log_traceback(error: BaseException) -> None:
    """``error``'s traceback into the log files only (the file handlers of the root logger): the terminal has its one line."""
    record = logging.LogRecord("workflow", logging.ERROR, __file__, 0, "error: %s", (error,), (type(error), error, error.__traceback__))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
