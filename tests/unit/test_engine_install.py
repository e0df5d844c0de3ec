"""wf-cluster's install step repeats cheaply and never leaves half an install; its processes stop with their children."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from workflow.engines import daemons, fetch
from workflow.engines.cluster import LocalCluster, Process
from workflow.engines.versions import COMPLETE, Download, Installed


def test_a_download_with_the_pinned_bytes_is_not_fetched_again_and_other_bytes_are(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(fetch, "_pip_download", lambda download, folder: fetched.append(download.requirement))
    (tmp_path / "engine-1.0.tar.gz").write_bytes(b"the pinned bytes")
    pinned = Download("engine==1.0", "engine-1.0.tar.gz", hashlib.sha256(b"the pinned bytes").hexdigest())
    assert fetch.downloaded((pinned,), tmp_path) == [tmp_path / "engine-1.0.tar.gz"] and fetched == []
    (tmp_path / "engine-1.0.tar.gz").write_bytes(b"other bytes")
    fetch.downloaded((pinned,), tmp_path)
    assert fetched == ["engine==1.0"], "pip (which checks the pinned hash) is asked again"


def test_a_job_server_jar_is_built_once_per_pom_and_versions(tmp_path, monkeypatch):
    builds = []

    def maven(command: list[str], what: str, log_file: Path | None = None) -> None:
        build = Path(command[command.index("-f") + 1]).parent
        (build / "target").mkdir()
        (build / "target" / "beam-spark-job-server.jar").write_bytes(b"jar")
        builds.append([word for word in command if word.startswith("-D")])

    monkeypatch.setattr(fetch, "_run", maven)
    jar = tmp_path / "beam" / "spark.jar"
    for _ in range(2):
        fetch.build_jar("spark-job-server", jar, {"beam.version": "2.62.0", "spark.version": "3.5.7"}, Installed(tmp_path))
    assert builds == [["-Dbeam.version=2.62.0", "-Dspark.version=3.5.7"]] and jar.read_bytes() == b"jar"
    fetch.build_jar("spark-job-server", jar, {"beam.version": "2.62.0", "spark.version": "3.5.8"}, Installed(tmp_path))
    assert len(builds) == 2, "other versions: built again"


def test_an_interrupted_assembly_leaves_no_engine_home(tmp_path):
    home = tmp_path / "flink-1.19.3"

    def interrupted(partial: Path) -> None:
        (partial / "lib").mkdir()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch.assemble(home, interrupted)
    assert list(tmp_path.iterdir()) == [], "neither the home nor its partial folder"
    fetch.assemble(home, lambda partial: (partial / "lib").mkdir())
    assert (home / COMPLETE).exists() and (home / "lib").is_dir()
    fetch.assemble(home, lambda partial: pytest.fail("a complete home is not assembled again"))


def test_stopping_a_process_stops_the_children_it_started(tmp_path):
    daemon = daemons.start("worker", ["sh", "-c", "sleep 600 & sleep 600"], {"PATH": "/usr/bin:/bin"}, tmp_path / "worker.log", tmp_path)
    daemons.save(tmp_path / "processes.json", {"worker": daemon}, {"beam_options": {}})
    recorded, _ = daemons.load(tmp_path / "processes.json")
    assert recorded == {"worker": daemon} and daemon.alive()
    daemons.stop(list(recorded.values()))
    assert not daemon.alive() and not daemon.group_alive()
    states = subprocess.run(["ps", "-o", "stat=", "-g", str(daemon.pid)], capture_output=True, text=True).stdout.split()
    assert all(state.startswith("Z") for state in states), "the child sleep went with its group (at most not reaped yet)"


class ExitingMaster(LocalCluster):
    """A cluster whose master starts a child and exits: ``up`` must fail naming it, and leave the child stopped."""

    engine = "flink"

    def processes(self) -> dict[str, Process]:
        return {"master": Process(["sh", "-c", f"sleep 600 & echo $! > {self.folder / 'child.pid'}; echo started; exit 3"])}

    def write_config(self) -> None:
        pass

    def workers_ready(self) -> str | None:
        return None

    def beam_options(self) -> dict[str, str]:
        return {}


def test_an_up_that_fails_names_the_process_and_its_log_and_leaves_nothing_running(tmp_path):
    installed = Installed(tmp_path / "engines")
    for path in installed.engine_files("flink"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    cluster = ExitingMaster(installed, tmp_path / "cluster", job_port=daemons.free_port())
    with pytest.raises(daemons.ClusterError, match=r"^master exited while waiting for flink with its 2 workers; its log: .*master\.log\n  started"):
        cluster.up(timeout_s=60)
    child = int((tmp_path / "cluster" / "child.pid").read_text())
    assert daemons.process_start_time(child) is None, "the master's child was stopped with it"
    assert cluster.running() == {} and cluster.status()[0].startswith("flink: not running")
