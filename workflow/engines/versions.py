"""The engine versions this project runs, where they are installed, and what is downloaded to install them.

Beam's job servers are Java programs of their own Beam version; the Python
SDK that submits (apache-beam in pyproject.toml) talks to them over the Job
API and the Fn API, which are versioned protocols. The job servers here are
Beam 2.62.0: the newest Beam whose Flink and Spark runner modules resolve
with their whole dependency closure from the Maven repository these machines
reach (Beam's prebuilt job-server jars are not served there at any version;
2.70.0's runner closure misses beam-runners-java-job-service). They are
built from those runner modules (maven/*.pom.xml). The tests prove that the
2.77 SDK through these job servers writes the same bytes as the in-process
runner.

Flink 1.19 is the newest Flink whose Beam 2.62 runner module is served
(``beam-runners-flink-1.20:2.62.0`` is not), and Beam 2.77's SDK lists it
(``FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS``); Spark 3.5 is the newest
Spark 3 line. Both come from their Python
distributions: ``apache-flink`` (bin/ and conf/) with
``apache-flink-libraries`` (lib/, opt/, plugins/), and ``pyspark``'s source
distribution (bin/, sbin/, jars/).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BEAM_JOB_SERVER = "2.62.0"
FLINK = "1.19.3"
FLINK_MINOR = "1.19"  # Beam's runner module: beam-runners-flink-<minor>
SPARK = "3.5.7"
SCALA = "2.12"  # of pyspark's jars and of spark-core_2.12 in the job server

CACHE_ENV = "WF_ENGINES_HOME"
DEFAULT_CACHE = Path("~/.cache/embedding-workflow/engines")


@dataclass(frozen=True)
class Download:
    """One file taken from the Python package registry, checked against its SHA-256 before pip unpacks it."""

    requirement: str
    file_name: str
    sha256: str
    platform_wheel: bool = False  # a wheel of one platform, taken for its platform-independent files (bin/, conf/)


FLINK_DOWNLOADS = (
    Download(f"apache-flink=={FLINK}",
             f"apache_flink-{FLINK}-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
             "ff572c6ffa3867c21b8a455aefb50c53c91973fd0408df594ca26cb0a7bebc77", platform_wheel=True),
    Download(f"apache-flink-libraries=={FLINK}", f"apache-flink-libraries-{FLINK}.tar.gz",
             "4a58e3a1fb7d83340bc96b6c080624c6d792d69fae5d294b96224775204a9c60"),
)
SPARK_DOWNLOADS = (
    Download(f"pyspark=={SPARK}", f"pyspark-{SPARK}.tar.gz", "80e36514e0c5c126d35a26adf4f405cd4a69de96a8ea8a3c1e9a65fce2fb4eaa"),
)


def cache_root() -> Path:
    """Where engines are installed: ``$WF_ENGINES_HOME``, or ``~/.cache/embedding-workflow/engines``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


@dataclass(frozen=True)
class Installed:
    """The paths of the installed engines under one cache root."""

    root: Path

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def flink_home(self) -> Path:
        return self.root / f"flink-{FLINK}"

    @property
    def spark_home(self) -> Path:
        return self.root / f"spark-{SPARK}"

    @property
    def flink_job_server(self) -> Path:
        return self.root / f"beam-{BEAM_JOB_SERVER}" / f"beam-flink-{FLINK_MINOR}-job-server.jar"

    @property
    def flink_runner_lib(self) -> Path:
        """Beam's Flink runner without Flink, for the TaskManagers' classpath (maven/flink-runner-lib.pom.xml says why)."""
        return self.root / f"beam-{BEAM_JOB_SERVER}" / f"beam-flink-{FLINK_MINOR}-runner-lib.jar"

    @property
    def spark_job_server(self) -> Path:
        return self.root / f"beam-{BEAM_JOB_SERVER}" / f"beam-spark-{SPARK}-job-server.jar"

    @property
    def clusters(self) -> Path:
        """Each running cluster's configuration, logs and process record: ``clusters/<engine>/``."""
        return self.root / "clusters"

    def engine_files(self, engine: str) -> list[Path]:
        """What ``wf-cluster fetch <engine>`` installs: the engine home's completion marker, then the jars."""
        if engine == "flink":
            return [self.flink_home / COMPLETE, self.flink_job_server, self.flink_runner_lib]
        return [self.spark_home / COMPLETE, self.spark_job_server]

    def missing(self, engine: str) -> list[Path]:
        """What ``wf-cluster fetch <engine>`` has not installed yet."""
        return [path for path in self.engine_files(engine) if not path.exists()]


COMPLETE = ".complete"  # written last into an engine home: a home without it is an interrupted fetch
