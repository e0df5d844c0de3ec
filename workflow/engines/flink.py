"""A standalone Flink cluster on this machine: a JobManager, two TaskManagers (separate JVMs, one slot each), Beam's job server.

Started with Flink's own scripts (``bin/jobmanager.sh start-foreground``,
``bin/taskmanager.sh start-foreground``) from the distribution that
``wf-cluster fetch flink`` assembled, with a ``config.yaml`` of this
cluster's: the distribution's (its Java 17 module options) with the memory
and the JVMs sized for a small machine, the ports, and the folders. Each TaskManager has
a fixed resource id, so that one started again after it was lost takes its
old place. A job's Python DoFns run in SDK workers that each TaskManager
starts as its children (``environment_type=PROCESS``, ``wf-beam-worker``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflow.engines import daemons
from workflow.engines.cluster import SMALL_JVM, WORKERS, LocalCluster, Process
from workflow.engines.versions import Installed

# Sized for a 2-core machine where other work runs too; a lost TaskManager is noticed within seconds.
SETTINGS: dict[str, Any] = {
    "jobmanager.memory.process.size": "1024m",
    "taskmanager.memory.process.size": "1280m",
    "taskmanager.memory.managed.fraction": 0.1,  # Beam's batch operators need heap more than Flink's managed memory
    "taskmanager.memory.network.min": "128m",  # the job's many operators share one slot: each exchange takes network buffers
    "taskmanager.memory.network.max": "128m",
    "taskmanager.numberOfTaskSlots": 1,
    "parallelism.default": WORKERS,
    "heartbeat.interval": 2000,
    "heartbeat.timeout": 10000,
    "restart-strategy.type": "none",  # a lost TaskManager fails the job; nothing of it is published (the stage stages its output)
    # Beam's runner (and its dependencies) from lib/'s runner-lib jar, not from each job's jar, which is the job server's and holds
    # the same classes: SDK workers are then kept between a job's stages (environment_cache_millis).
    "classloader.resolve-order": "parent-first",
}

# The job server logs through SLF4J's simple logger (maven/flink-job-server.pom.xml): with times, as Flink's own logs.
SIMPLE_LOGGER_TIMES = ["-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS"]


@dataclass(frozen=True)
class FlinkPorts:
    """Flink's REST endpoint (the web UI and job submission), the JobManager's RPC port, the Beam job server's Job API port."""

    rest: int = 8081
    rpc: int = 6123
    job: int = 8099

    @classmethod
    def free(cls) -> "FlinkPorts":
        return cls(daemons.free_port(), daemons.free_port(), daemons.free_port())


class FlinkCluster(LocalCluster):
    """``wf-cluster flink up``: see the module docstring."""

    engine = "flink"

    def __init__(self, installed: Installed, folder: Path, ports: FlinkPorts = FlinkPorts()):
        super().__init__(installed, folder, ports.job)
        self.ports = ports
        self._stale: dict[str, str] = {}  # TaskManager id -> the registration of its killed process, still listed

    @property
    def rest_url(self) -> str:
        return f"http://localhost:{self.ports.rest}"

    def processes(self) -> dict[str, Process]:
        bin_dir = self.installed.flink_home / "bin"
        environment = (("FLINK_CONF_DIR", str(self.folder / "conf")), ("FLINK_LIB_DIR", str(self.folder / "lib")),
                       ("FLINK_LOG_DIR", str(self.log_dir)), ("FLINK_PID_DIR", str(self.folder / "tmp")))
        processes = {"jobmanager": Process([str(bin_dir / "jobmanager.sh"), "start-foreground"], self.ports.rest, environment)}
        for number in range(1, WORKERS + 1):
            processes[f"taskmanager-{number}"] = Process(
                [str(bin_dir / "taskmanager.sh"), "start-foreground", f"-Dtaskmanager.resource-id=taskmanager-{number}"], None, environment)
        processes["job-server"] = Process(self.job_server_command(self.installed.flink_job_server, SIMPLE_LOGGER_TIMES + SMALL_JVM,
                                                                  [f"--flink-master=localhost:{self.ports.rest}"]), self.ports.job)
        return processes

    def write_config(self) -> None:
        """conf/: the distribution's files, and its config.yaml with :data:`SETTINGS`, this cluster's ports and folders;
        lib/: links to the distribution's jars and to Beam's runner-lib jar."""
        lib = self.folder / "lib"
        shutil.rmtree(lib, ignore_errors=True)
        lib.mkdir()
        for jar in [*(self.installed.flink_home / "lib").glob("*.jar"), self.installed.flink_runner_lib]:
            (lib / jar.name).symlink_to(jar)
        conf = self.folder / "conf"
        for source in (self.installed.flink_home / "conf").iterdir():
            if source.name != "config.yaml":
                shutil.copyfile(source, conf / source.name)
        config = yaml.safe_load((self.installed.flink_home / "conf" / "config.yaml").read_text())
        settings = {
            **SETTINGS,
            "jobmanager.rpc.address": "localhost", "jobmanager.bind-host": "localhost", "jobmanager.rpc.port": self.ports.rpc,
            "taskmanager.host": "localhost", "taskmanager.bind-host": "localhost",
            "rest.address": "localhost", "rest.bind-address": "localhost", "rest.port": self.ports.rest,
            "io.tmp.dirs": str(self.folder / "tmp"),
        }
        module_options = config.get("env", {}).get("java", {}).get("opts", {}).get("all", "")  # the distribution's, for Java 17
        settings["env.java.opts.all"] = " ".join([module_options, *SMALL_JVM]).strip()
        for key, value in settings.items():
            _set_nested(config, key.split("."), value)
        (conf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def before_start(self, names: list[str]) -> None:
        """The JobManager lists a killed TaskManager until its heartbeat times out (``heartbeat.timeout``): the
        registrations of those about to start again are stale, and :meth:`workers_ready` waits for new ones."""
        listed = daemons.get_json(f"{self.rest_url}/taskmanagers") or {}
        self._stale = {manager["id"]: manager["path"] for manager in listed.get("taskmanagers", []) if manager["id"] in names and manager.get("path")}

    def workers_ready(self) -> str | None:
        """``"2 TaskManagers, 2 slots (2 free)"`` once both TaskManagers of this cluster are registered (each by the
        process running now: not a stale registration of one killed before :meth:`up`)."""
        listed = daemons.get_json(f"{self.rest_url}/taskmanagers")
        ours = {f"taskmanager-{number}" for number in range(1, WORKERS + 1)}
        managers = [manager for manager in (listed or {}).get("taskmanagers", [])
                    if manager["id"] in ours and manager.get("path") != self._stale.get(manager["id"])]
        if {manager["id"] for manager in managers} != ours or not all(manager["slotsNumber"] for manager in managers):
            return None  # not all registered, or their slots not reported yet
        slots = sum(manager["slotsNumber"] for manager in managers)
        free = sum(manager["freeSlots"] for manager in managers)
        return f"{len(managers)} TaskManagers, {slots} slots ({free} free), web UI {self.rest_url}"

    def beam_options(self) -> dict[str, str]:
        return {"job_endpoint": self.job_endpoint, "flink_master": f"localhost:{self.ports.rest}"}


def _set_nested(config: dict, keys: list[str], value: Any) -> None:
    """``config[a][b][c] = value`` for the key ``a.b.c`` of Flink's nested config.yaml (a flat ``a.b.c`` entry is replaced)."""
    config.pop(".".join(keys), None)
    for key in keys[:-1]:
        config = config.setdefault(key, {})
    config[keys[-1]] = value
