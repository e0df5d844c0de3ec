"""A standalone Spark cluster on this machine: a master, two workers of one core each, Beam's job server (the Spark driver).

Started with Spark's own launcher (``bin/spark-class``) from the jars of
pyspark's distribution that ``wf-cluster fetch spark`` unpacked. Beam's
Spark job server runs each job's driver in its own JVM, so it carries the
same Spark version (maven/spark-job-server.pom.xml) and is started with
Spark's Java 17 module options; the executors' settings are its system
properties. A job's Python DoFns run in SDK workers that each executor
starts as its children (``environment_type=PROCESS``, ``wf-beam-worker``).
Two workers rather than one worker of two cores: an executor lost with its
worker leaves the other to retry its tasks on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workflow.engines import daemons
from workflow.engines.cluster import SMALL_JVM, WORKERS, LocalCluster, Process
from workflow.engines.versions import Installed

# What Spark's launcher passes to a driver JVM on Java 17 (JavaModuleOptions); the job server is the driver.
JAVA_MODULE_OPTIONS = ["-XX:+IgnoreUnrecognizedVMOptions", "-Djdk.reflect.useDirectMethodHandle=false"] + [
    f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util", "java.util.concurrent",
        "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch", "sun.nio.cs", "sun.security.action", "sun.util.calendar")]
DRIVER_SETTINGS = {
    "spark.executor.memory": "512m",
    "spark.executor.extraJavaOptions": " ".join(SMALL_JVM),  # Spark puts its Java 17 module options before these
    "spark.executor.cores": "1",
    "spark.ui.enabled": "false",  # the driver's web UI (port 4040): the master's UI lists the jobs
}
DAEMON_MEMORY = "512m"  # master and worker JVMs: they only schedule


@dataclass(frozen=True)
class SparkPorts:
    """The master's RPC port (``spark://localhost:<master>``) and web UI, the Beam job server's Job API port, the workers' ports."""

    master: int = 7077
    web_ui: int = 8080
    job: int = 8199
    workers: tuple[int, ...] = tuple(7078 + number for number in range(WORKERS))  # each worker's RPC port

    @classmethod
    def free(cls) -> "SparkPorts":
        return cls(daemons.free_port(), daemons.free_port(), daemons.free_port(), tuple(daemons.free_port() for _ in range(WORKERS)))


class SparkCluster(LocalCluster):
    """``wf-cluster spark up``: see the module docstring."""

    engine = "spark"

    def __init__(self, installed: Installed, folder: Path, ports: SparkPorts = SparkPorts()):
        super().__init__(installed, folder, ports.job)
        self.ports = ports

    @property
    def master_url(self) -> str:
        return f"spark://localhost:{self.ports.master}"

    def processes(self) -> dict[str, Process]:
        spark_class = str(self.installed.spark_home / "bin" / "spark-class")
        environment = (("SPARK_HOME", str(self.installed.spark_home)), ("SPARK_CONF_DIR", str(self.folder / "conf")),
                       ("SPARK_LOG_DIR", str(self.log_dir)), ("SPARK_LOCAL_DIRS", str(self.folder / "tmp")),
                       ("SPARK_DAEMON_MEMORY", DAEMON_MEMORY), ("SPARK_DAEMON_JAVA_OPTS", " ".join(SMALL_JVM)))
        processes = {"master": Process([spark_class, "org.apache.spark.deploy.master.Master", "--host", "localhost",
                                        "--port", str(self.ports.master), "--webui-port", str(self.ports.web_ui)], self.ports.master, environment)}
        for number, port in enumerate(self.ports.workers, start=1):
            processes[f"worker-{number}"] = Process(
                [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "localhost", "--port", str(port), "--webui-port", "0",
                 "--cores", "1", "--memory", "1g", "--work-dir", str(self.folder / "tmp" / f"worker-{number}"), self.master_url], port, environment)
        settings = [f"-D{key}={value}" for key, value in {**DRIVER_SETTINGS, "spark.local.dir": str(self.folder / "tmp")}.items()]
        processes["job-server"] = Process(self.job_server_command(self.installed.spark_job_server, JAVA_MODULE_OPTIONS + SMALL_JVM + settings,
                                                                  [f"--spark-master-url={self.master_url}"]), self.ports.job)
        return processes

    def write_config(self) -> None:
        """conf/ stays empty: Spark's defaults, with this cluster's ports and folders on the command lines."""
        (self.folder / "conf").mkdir(exist_ok=True)

    def workers_ready(self) -> str | None:
        """``"2 workers (2 cores)"`` once both workers of this cluster are registered and alive at the master."""
        state = daemons.get_json(f"http://localhost:{self.ports.web_ui}/json/")
        alive = [worker for worker in (state or {}).get("workers", []) if worker["state"] == "ALIVE" and worker["port"] in self.ports.workers]
        if len({worker["port"] for worker in alive}) < WORKERS:
            return None
        return f"{len(alive)} workers ({sum(worker['cores'] for worker in alive)} cores), web UI http://localhost:{self.ports.web_ui}"

    def beam_options(self) -> dict[str, str]:
        return {"job_endpoint": self.job_endpoint, "spark_master_url": self.master_url}
