"""A test session killed with SIGKILL still stops its cluster's processes (tests/cluster_watchdog.py).

A stand-in session records one daemon (``sleep``, in a session of its own, as
a JVM of the cluster) and is killed; the daemon must end. The test waits on
the daemon's pidfd, bounded, and never sleeps.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from workflow.engines.cluster import RECORD

# The stand-in session: under the watchdog, start and record a daemon, print its pid, then block until killed.
SESSION = """
import sys
from pathlib import Path
from tests.cluster_watchdog import stopped_when_this_process_ends
from workflow.engines import daemons
folder = Path(sys.argv[1])
with stopped_when_this_process_ends(folder / "{record}"):
    daemon = daemons.start("sleeper", ["sleep", "600"], {{}}, folder / "sleeper.log", folder)
    daemons.save(folder / "{record}", {{"sleeper": daemon}}, {{}})
    print(daemon.pid, flush=True)
    sys.stdin.read()
""".format(record=RECORD)
TIMEOUT_S = 60
REPOSITORY = Path(__file__).resolve().parents[2]  # where `tests` imports from


def test_the_recorded_processes_stop_when_the_session_is_killed(tmp_path):
    with subprocess.Popen([sys.executable, "-c", SESSION, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, cwd=REPOSITORY) as session:
        daemon_pid = int(session.stdout.readline())
        daemon_exit = os.pidfd_open(daemon_pid)
        try:
            assert not select.select([daemon_exit], [], [], 0)[0], "the daemon ended before its session was killed"
            session.send_signal(signal.SIGKILL)  # no teardown runs in the session
            session.wait(timeout=TIMEOUT_S)
            ended = bool(select.select([daemon_exit], [], [], TIMEOUT_S)[0])
        finally:
            if not select.select([daemon_exit], [], [], 0)[0]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(daemon_pid, signal.SIGKILL)
            os.close(daemon_exit)
    assert ended, f"the recorded daemon (pid {daemon_pid}) still runs {TIMEOUT_S} s after its session was killed"
