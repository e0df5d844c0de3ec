"""Long-running processes of a local cluster: each in a process group of its own, recorded so that a later command stops it.

A cluster outlives the command that starts it (``wf-cluster flink up``
returns once the cluster answers), so its processes are recorded in
``processes.json`` in the cluster's folder: name, pid and the kernel's start
time of that pid, which tells a live process of ours from an unrelated one
that got the same pid later. Each process leads a new session, so its
children (a TaskManager's SDK workers, a Spark worker's executors) are in its
process group and are stopped with it: SIGTERM to the group, SIGKILL to what
is left after a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

STOP_GRACE_S = 10
KILL_WAIT_S = 5  # SIGKILL is delivered at once, but a process takes a moment to go
POLL_S = 0.25
T = TypeVar("T")


class ClusterError(RuntimeError):
    """A cluster that cannot start or does not answer; one line naming the process, endpoint or log."""


@dataclass(frozen=True)
class Daemon:
    """A started process: its name in the cluster, pid (= its process group), kernel start time and log file."""

    name: str
    pid: int
    start_time: str
    log: str

    def alive(self) -> bool:
        """True while this very process runs (not a later one with the same pid, not a zombie)."""
        return process_start_time(self.pid) == self.start_time

    def group_alive(self) -> bool:
        """True while any process of its group runs (the leader, or children it left)."""
        return _group_members(self.pid) > 0

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process group, if it is still ours."""
        if self.alive() or (process_start_time(self.pid) is None and self.group_alive()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat); None when no such process runs or it is a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def _group_members(pgid: int) -> int:
    """How many live processes are in process group ``pgid``."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                count += fields[2] == str(pgid) and fields[0] != "Z"
    return count


def start(name: str, command: list[str], env: dict[str, str], log: Path, cwd: Path) -> Daemon:
    """Start ``command`` in a new session with its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                   start_new_session=True)
    _CHILDREN[process.pid] = process
    return Daemon(name, process.pid, process_start_time(process.pid) or "", str(log))


# Processes started by this Python process, so that it reaps those it stops (a test session stopping its clusters);
# those of a command that exits (wf-cluster up) outlive it and are reaped by init.
_CHILDREN: dict[int, subprocess.Popen] = {}


def stop(daemons: list[Daemon], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every group, then SIGKILL what still runs after ``grace_s``; returns once every group is gone."""
    for daemon in daemons:
        daemon.signal_group(signal.SIGTERM)
    if not _gone(daemons, grace_s):
        for daemon in daemons:
            daemon.signal_group(signal.SIGKILL)
        _gone(daemons, KILL_WAIT_S)


def _gone(daemons: list[Daemon], timeout_s: float) -> bool:
    """Wait until no process of these groups runs (reaping those this process started); False if some still do."""
    deadline = time.monotonic() + timeout_s
    while True:
        _reap()
        if not any(daemon.group_alive() for daemon in daemons):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)


def kill(daemon: Daemon) -> None:
    """SIGKILL the whole group at once: a machine or container lost, with every process on it."""
    daemon.signal_group(signal.SIGKILL)
    _gone([daemon], KILL_WAIT_S)


def _reap() -> None:
    for pid, process in list(_CHILDREN.items()):
        if process.poll() is not None:
            del _CHILDREN[pid]


def save(path: Path, daemons: dict[str, Daemon], extra: dict[str, Any]) -> None:
    """Record the cluster's processes (and ``extra``: its endpoints) in ``path``, atomically."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"processes": {name: asdict(d) for name, d in daemons.items()}, **extra}, indent=2) + "\n")
    os.replace(temporary, path)


def load(path: Path) -> tuple[dict[str, Daemon], dict[str, Any]]:
    """The processes and extras :func:`save` recorded; empty when nothing was."""
    if not path.exists():
        return {}, {}
    recorded = json.loads(path.read_text())
    daemons = {name: Daemon(**fields) for name, fields in recorded.pop("processes").items()}
    return daemons, recorded


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections at ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def get_json(url: str, timeout_s: float = 2) -> Any | None:
    """The JSON an HTTP endpoint answers; None when it does not answer (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for(what: str, probe: Callable[[], T | None], daemons: list[Daemon], timeout_s: float) -> T:
    """Poll ``probe`` until it returns a value; ClusterError naming ``what`` when a daemon dies first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        for daemon in daemons:
            if not daemon.alive():
                raise ClusterError(f"{daemon.name} exited while waiting for {what}; its log: {daemon.log}\n{tail(Path(daemon.log))}")
        if time.monotonic() > deadline:
            raise ClusterError(f"no {what} within {timeout_s:.0f} s; logs in {Path(daemons[0].log).parent}")
        time.sleep(POLL_S)


def tail(path: Path, lines: int = 10) -> str:
    """The last lines of a log, indented, for an error message."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return "  (no log)"
    return "\n".join(f"  {line}" for line in text)
