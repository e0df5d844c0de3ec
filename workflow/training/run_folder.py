"""Which run folder a training job uses, and what happens to one that is already there.

``<workdir>/runs/<run_name>/identity.json`` (written first) holds the run's
cache key; ``metrics.json`` (written last) marks it finished. For a folder
that already exists:

* same key, finished: the result is re-used, nothing is trained;
* same key, unfinished: training resumes from its last checkpoint;
* another key, unfinished: discarded (a partial run of another configuration
  holds no result), and said so;
* another key, finished: **kept**, moved to ``<workdir>/kept-runs/<run_name>-<UTC time>/``,
  and said so. A finished result is never deleted.

Only the chief writes, and it holds the folder's writer lock
(``<workdir>/runs/.locks/<run_name>.lock``, workflow/locks.py) from this
decision to the end of the run: a second job with the same run name waits,
saying for whom, then re-uses the finished run (or resumes an interrupted
one). With several workers every worker reads the chief's folder (the
workdir is shared), so they all take the same branch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time

from workflow import locks
from workflow.artifacts import read_json, write_json_atomic
from workflow.caching import why_outdated
from workflow.training.layout import RunLayout

log = logging.getLogger(__name__)
KEPT_RUNS = "kept-runs"


def kept_run_dir(layout: RunLayout) -> str:
    runs_dir, name = os.path.split(layout.root.rstrip("/"))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return os.path.join(os.path.dirname(runs_dir), KEPT_RUNS, f"{name}-{stamp}")


def open_run_folder(layout: RunLayout, key: dict, chief: bool, held: contextlib.ExitStack) -> dict | None:
    """The metrics of a finished run with this key, or None after making ``layout`` this run's folder.

    ``held``: the caller's stack for the run's life; the chief's writer lock on the folder joins it.
    """
    if chief:
        held.enter_context(locks.exclusive(layout.root))
    if os.path.exists(layout.identity):
        why = why_outdated(read_json(layout.identity).get("key"), key)
        finished = os.path.exists(layout.metrics)
        if why is None:
            return read_json(layout.metrics) if finished else None
        if chief and finished:
            target = kept_run_dir(layout)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(layout.root, target)
            log.warning("%s holds a finished run of another configuration (%s): kept, moved to %s", layout.root, why, target)
        elif chief:
            shutil.rmtree(layout.root)
            log.warning("%s held an unfinished run of another configuration (%s): discarded", layout.root, why)
    if chief:
        os.makedirs(layout.root, exist_ok=True)
        if not os.path.exists(layout.identity):
            write_json_atomic(layout.identity, {"key": key})
    return None
