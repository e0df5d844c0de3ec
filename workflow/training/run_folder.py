"""Which run folder a training job uses, and what happens to one that is already there.

``<workdir>/runs/<run_name>/identity.json`` (written first) holds the run's
cache key; ``metrics.json`` (written last) marks it finished. For a folder
that already exists:

* same key, finished: the result is re-used, nothing is trained;
* same key, unfinished: training resumes from its last checkpoint;
* another key, unfinished: discarded (a partial run of another configuration
  holds no result), and said so;
* another key, finished: **kept where it is** while the new run trains beside
  it, in ``<workdir>/runs/.<run_name>.next-<key digest>/`` (resumable like any
  run folder). Only once the new run has finished does the old one move to
  ``<workdir>/kept-runs/<run_name>-<UTC time>/`` and the new one take its
  name, said so (:func:`publish_run`). A new run that fails (a diverged
  training, an interrupted one) leaves the finished run where it was; one
  stopped between the two renames of :func:`publish_run` takes the name the
  next time its configuration runs. A finished result is never deleted.

Only the chief writes, and it holds the folder's writer lock
(``<workdir>/runs/.locks/<run_name>.lock``, workflow/locks.py) from this
decision to the end of the run: a second job with the same run name waits,
saying for whom, then re-uses the finished run (or resumes an interrupted
one). With several workers every worker reads the chief's folder (the
workdir is shared), so they all take the same branch.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import shutil
import time
from typing import NamedTuple

from workflow import locks
from workflow.artifacts import read_json, write_json_atomic
from workflow.config import Config
from workflow.training.identity import why_retrain
from workflow.training.layout import RunLayout

log = logging.getLogger(__name__)
KEPT_RUNS = "kept-runs"


class RunFolder(NamedTuple):
    """Where a run trains (``layout``), the folder that carries its name (``final``), and, when it trains beside a
    finished run of another configuration, why that one is replaced (``replaces``)."""

    layout: RunLayout
    final: RunLayout
    replaces: str | None = None


def kept_run_dir(layout: RunLayout) -> str:
    runs_dir, name = os.path.split(layout.root.rstrip("/"))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return os.path.join(os.path.dirname(runs_dir), KEPT_RUNS, f"{name}-{stamp}")


def next_run_dir(final: RunLayout, key: dict) -> str:
    """``<runs>/.<run name>.next-<digest of key>``: where a run of ``key`` trains beside a finished run of another key."""
    runs_dir, name = os.path.split(final.root.rstrip("/"))
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(runs_dir, f".{name}.next-{digest}")


def open_run_folder(final: RunLayout, key: dict, config: Config, chief: bool, held: contextlib.ExitStack) -> tuple[RunFolder, bool]:
    """``(the folder to train in, False)``, or ``(its folder, True)`` when a finished run with this key (computed from
    ``config``; identity.py) is there.

    ``held``: the caller's stack for the run's life; the chief's writer lock on the folder joins it.
    """
    if chief:
        held.enter_context(locks.exclusive(final.root))
    if os.path.exists(final.identity):
        why = why_retrain(read_json(final.identity).get("key"), key, config)
        finished = os.path.exists(final.metrics)
        if why is None:
            return RunFolder(final, final), finished
        if finished:
            return _beside(final, key, why, chief)
        if chief:
            shutil.rmtree(final.root)
            log.warning("%s held an unfinished run of another configuration (%s): discarded", final.root, why)
    elif chief and _take_name(RunFolder(RunLayout(next_run_dir(final, key)), final)):
        return RunFolder(final, final), True
    if chief:
        _prepare(final, key)
    return RunFolder(final, final), False


def _take_name(folder: RunFolder) -> bool:
    """Whether a finished run of this key waited beside the name and now takes it: :func:`publish_run` had moved the
    old run to kept-runs and stopped before the second rename, leaving the name empty."""
    if not os.path.exists(folder.layout.metrics):
        return False
    if os.path.exists(folder.final.root):
        shutil.rmtree(folder.final.root)  # no identity.json: a folder nothing was trained in
    os.replace(folder.layout.root, folder.final.root)
    log.warning("%s: the finished run that trained beside it takes the name (the last run stopped before it did)", folder.final.root)
    return True


def _beside(final: RunLayout, key: dict, why: str, chief: bool) -> tuple[RunFolder, bool]:
    """The folder a run of ``key`` trains in while ``final`` holds a finished run of another key."""
    folder = RunFolder(RunLayout(next_run_dir(final, key)), final, why)
    if chief:
        runs_dir, name = os.path.split(final.root.rstrip("/"))
        for other in sorted(glob.glob(os.path.join(runs_dir, f".{glob.escape(name)}.next-*"))):
            if other != folder.layout.root:
                _set_aside(RunLayout(other), "a run of another configuration, trained beside the finished one")
        if os.path.exists(folder.layout.metrics):  # finished, then stopped before it took the name
            publish_run(folder)
            return RunFolder(final, final), True
        _prepare(folder.layout, key)
        log.info("%s: the finished run there, of another configuration (%s), stays until this run finishes in %s",
                 final.root, why, folder.layout.root)
    return folder, False


def _prepare(layout: RunLayout, key: dict) -> None:
    os.makedirs(layout.root, exist_ok=True)
    if not os.path.exists(layout.identity):
        write_json_atomic(layout.identity, {"key": key})


def _set_aside(layout: RunLayout, what: str) -> None:
    """Keep a finished run in kept-runs, discard an unfinished one."""
    if os.path.exists(layout.metrics):
        target = kept_run_dir(layout)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(layout.root, target)
        log.warning("%s, %s, had finished: kept, moved to %s", layout.root, what, target)
    else:
        shutil.rmtree(layout.root)
        log.warning("%s, %s, had not finished: discarded", layout.root, what)


def publish_run(folder: RunFolder) -> None:
    """A run that finished beside a finished run of another configuration takes its name; the other one is kept.

    Two renames under the run's lock: the old run to ``<workdir>/kept-runs/``, then the new one to the run's name
    (between them the name holds no run: a reader sees no result rather than half of one). Nothing to do for a run
    that trained under its own name.
    """
    if folder.layout.root == folder.final.root:
        return
    target = kept_run_dir(folder.final)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(folder.final.root, target)
    os.replace(folder.layout.root, folder.final.root)
    log.warning("%s holds a finished run of another configuration (%s): kept, moved to %s", folder.final.root, folder.replaces, target)
