"""What a local Flink or Spark cluster has in common: its folder, its processes, up, down and status.

A cluster lives in one folder (``<engine cache>/clusters/<engine>`` for
``wf-cluster``, a temporary one for the tests)::

    conf/            the engine's configuration, written by ``up``
    log/             one log per process, and beam-worker.log (SDK workers that could not start)
    tmp/             TMPDIR of every process: spill files, SDK workers' staged files
    artifacts/       what the job server keeps of each submitted job
    processes.json   the running processes and the endpoints (daemons.py)

``up`` starts each process that is not running (so it also brings a lost
worker back) and returns once the engine lists every worker and the job
server accepts connections; ``down`` stops every process group it recorded.
"""

from __future__ import annotations

import os
import shutil
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from workflow.engines import daemons
from workflow.engines.daemons import ClusterError, Daemon
from workflow.engines.sdk_worker import LOG_ENV
from workflow.engines.versions import Installed

START_TIMEOUT_S = 300  # JVMs on a loaded 2-core machine: the Flink cluster takes about a minute there
WORKERS = 2  # TaskManagers of one slot / Spark workers of one core: parallelism 2
JOB_SERVER_HEAP = "-Xmx768m"
# Every JVM of a local cluster compiles with C1 only and collects with one thread: on a small machine C2's compiler
# threads and parallel GC threads compete with the SDK workers for the cores (a third less CPU for the test jobs).
SMALL_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
RECORD = "processes.json"


@dataclass(frozen=True)
class Process:
    """A process of the cluster, as started: its command and the TCP port that must be free before it starts (None: none)."""

    command: list[str]
    port: int | None = None
    env: tuple[tuple[str, str], ...] = ()


class LocalCluster(ABC):
    """One engine's processes on this machine: the engine's master, its workers, and Beam's job server."""

    engine: str  # "flink" or "spark": the name of ``wf-cluster <engine>`` and of the cache entries

    def __init__(self, installed: Installed, folder: Path, job_port: int):
        self.installed, self.folder, self.job_port = installed, folder, job_port

    # ------------------------------------------------------------------ what each engine says

    @abstractmethod
    def processes(self) -> dict[str, Process]:
        """Every process of the cluster by name, in the order they start."""

    @abstractmethod
    def write_config(self) -> None:
        """Write the engine's configuration into ``conf/`` (each ``up``: it names this cluster's ports and folders)."""

    @abstractmethod
    def workers_ready(self) -> str | None:
        """A description of the engine's state when every worker is registered (``"2 TaskManagers, 2 slots"``), else None."""

    def before_start(self, names: list[str]) -> None:
        """Called by :meth:`up` before it starts the processes ``names`` (a worker killed earlier, say); nothing by default."""

    @abstractmethod
    def beam_options(self) -> dict[str, str]:
        """The ``beam.options`` that point a job at this cluster (its job endpoint and master)."""

    # ------------------------------------------------------------------ shared

    @property
    def job_endpoint(self) -> str:
        return f"localhost:{self.job_port}"

    @property
    def log_dir(self) -> Path:
        return self.folder / "log"

    def environment(self) -> dict[str, str]:
        """Every process's environment: this Python first on PATH (SDK workers run it), TMPDIR and logs in the folder."""
        return {
            **os.environ,
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
            "TMPDIR": str(self.folder / "tmp"),
            LOG_ENV: str(self.log_dir / "beam-worker.log"),
        }

    def job_server_command(self, jar: Path, jvm_options: list[str], arguments: list[str]) -> list[str]:
        """Beam's job server from ``jar``: the Job API on ``job_port``, artifact and expansion services on free ports."""
        return ["java", JOB_SERVER_HEAP, *jvm_options, "-jar", str(jar), "--job-host=localhost", f"--job-port={self.job_port}",
                "--artifact-port=0", "--expansion-port=0", f"--artifacts-dir={self.folder / 'artifacts'}", *arguments]

    def running(self) -> dict[str, Daemon]:
        """The recorded processes that still run."""
        recorded, _ = daemons.load(self.folder / RECORD)
        return {name: daemon for name, daemon in recorded.items() if daemon.alive()}

    def up(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Start every process that is not running and wait until the cluster answers; the engine's state, for a status line."""
        missing = self.installed.missing(self.engine)
        if missing:
            raise ClusterError(f"{self.engine} is not installed ({missing[0]} is missing): run `wf-cluster fetch {self.engine}` first")
        for folder in ("conf", "log", "tmp", "artifacts"):
            (self.folder / folder).mkdir(parents=True, exist_ok=True)
        recorded, _ = daemons.load(self.folder / RECORD)
        running = {name: daemon for name, daemon in recorded.items() if daemon.alive()}
        daemons.stop([daemon for name, daemon in recorded.items() if name not in running], grace_s=2)  # what a dead one left
        to_start = {name: process for name, process in self.processes().items() if name not in running}
        for name, process in to_start.items():
            if process.port is not None and daemons.port_open("localhost", process.port):
                raise ClusterError(f"port {process.port} on localhost is taken by another program: {self.engine} {name} cannot start there")
        if to_start:
            self.write_config()
            self.before_start(list(to_start))
        environment = self.environment()
        started: dict[str, Daemon] = {}
        try:
            for name, process in to_start.items():
                started[name] = running[name] = daemons.start(name, process.command, {**environment, **dict(process.env)},
                                                              self.log_dir / f"{name}.log", self.folder)
                daemons.save(self.folder / RECORD, running, {"beam_options": self.beam_options()})
            watched = list(running.values())
            state = daemons.wait_for(f"{self.engine} with its {WORKERS} workers", self.workers_ready, watched, timeout_s)
            daemons.wait_for(f"Beam job server at {self.job_endpoint}", lambda: daemons.port_open("localhost", self.job_port), watched,
                             timeout_s)
        except BaseException:  # an up that did not finish leaves nothing of its own running
            daemons.stop(list(started.values()))
            daemons.save(self.folder / RECORD, {name: daemon for name, daemon in running.items() if name not in started},
                         {"beam_options": self.beam_options()})
            raise
        return state

    def down(self) -> list[str]:
        """Stop every recorded process group (also those whose leader died); the names stopped."""
        recorded, _ = daemons.load(self.folder / RECORD)
        daemons.stop(list(recorded.values()))
        (self.folder / RECORD).unlink(missing_ok=True)
        shutil.rmtree(self.folder / "tmp", ignore_errors=True)
        return list(recorded)

    def kill(self, name: str) -> None:
        """SIGKILL process ``name`` with its children at once, as when its machine is lost."""
        daemons.kill(self.running()[name])

    def status(self) -> list[str]:
        """Lines for ``wf-cluster <engine> status``: each process, the engine's state, where the logs are."""
        recorded, extra = daemons.load(self.folder / RECORD)
        if not recorded:
            return [f"{self.engine}: not running (start it with `wf-cluster {self.engine} up`)"]
        lines = [f"{name:<14} pid {daemon.pid:<8} {'running' if daemon.alive() else 'NOT RUNNING'}" for name, daemon in recorded.items()]
        state = self.workers_ready()
        serving = daemons.port_open("localhost", self.job_port)
        lines.append(f"{self.engine}: {state or f'not every worker is registered (expected {WORKERS})'}; "
                     f"job server at {self.job_endpoint} {'answers' if serving else 'does NOT answer'}")
        lines.append("beam.options: " + " ".join(f"{key}={value}" for key, value in extra.get("beam_options", {}).items()))
        lines.append(f"logs: {self.log_dir}")
        return lines
