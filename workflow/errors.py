"""Errors that are the user's to fix, and how a command reports them.

Each one carries a message that names the file, record or config key at
fault; the entry points print it as one line (``error: ...``) and exit 2
instead of showing a traceback. This module imports nothing heavy, so that the
entry points, the orchestrator and the child processes can all use it
without loading Beam, gensim or TensorFlow.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value that composes but cannot work; the message names the key."""


class InputError(ValueError):
    """An input that cannot be read at all; the message names the path."""


class EmptyCorpusError(ValueError):
    """The corpus has no training-side document: nothing to build a vocabulary from."""


class ContractError(ValueError):
    """A stage's input is missing or was built from something else; the message names both."""


class VectorsError(ValueError):
    """A word-vectors file that cannot be imported; the message names the file and line."""


USER_ERRORS = (ConfigError, InputError, EmptyCorpusError, ContractError, VectorsError)
USER_ERROR_EXIT = 2


def user_error(error: BaseException) -> BaseException | None:
    """The user-facing error behind ``error``, also when a Beam worker raised it.

    Beam re-raises worker exceptions wrapped (and, across processes, only as
    text), so both the exception chain and the message are searched.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, USER_ERRORS):
            return seen
        text = str(seen)
        for kind in USER_ERRORS:
            marker = f"{kind.__name__}: "
            if marker in text:
                return kind(text.split(marker, 1)[1].splitlines()[0].split(" [while running")[0])
        seen = seen.__cause__ or seen.__context__
    return None
