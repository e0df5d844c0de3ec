"""Stop a test session's engine cluster when the session ends, however it ends.

A cluster's processes lead sessions of their own so that they outlive the
command that starts them (``wf-cluster up``). A test session stops its
clusters in a fixture's teardown, which never runs when pytest is killed
(SIGKILL, a CI job cancelled): the JVMs would run on. So the session also
starts a watchdog process that blocks reading a pipe only the session holds
open. The kernel closes that pipe when the session ends, normally or not; the
watchdog then stops whatever the cluster's record still lists (nothing, after
a normal teardown) and exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# Waits for end-of-file on standard input, then stops the processes recorded in argv[1] (workflow/engines/daemons.py).
WATCHDOG = ("import sys; from pathlib import Path; from workflow.engines import daemons; sys.stdin.buffer.read(); "
            "daemons.stop(list(daemons.load(Path(sys.argv[1]))[0].values()))")
EXIT_TIMEOUT_S = 60  # the watchdog's own stop: SIGTERM, a grace period, SIGKILL


@contextmanager
def stopped_when_this_process_ends(record: Path) -> Iterator[None]:
    """Within the block, the processes ``record`` lists are stopped once this process ends, even by SIGKILL.

    On leaving the block normally, the watchdog is released and waited for (the block's own teardown has stopped
    the processes by then, so it finds nothing to stop). Its output goes to ``watchdog.log`` beside ``record``.
    Not covered: a process started in the instant between its start and its record (daemons.start, then save)."""
    read_end, write_end = os.pipe()
    try:
        with open(record.with_name("watchdog.log"), "ab") as log:
            # The write end is close-on-exec, and the project starts processes by exec (multiprocessing's "spawn"):
            # no other child holds it, so the pipe closes when this process ends.
            watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(record)], stdin=read_end, stdout=log, stderr=log,
                                        start_new_session=True)
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    try:
        yield
    finally:
        os.close(write_end)
        try:
            watchdog.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            raise
