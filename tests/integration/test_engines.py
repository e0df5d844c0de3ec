"""The preprocessing job on a real Flink cluster and a real Spark cluster, against the in-process FnApiRunner.

Each cluster is started once for the session by the code behind
``wf-cluster flink|spark up`` (workflow/engines/), on free ports in a
temporary folder, and stopped at the end, every process group killed, also
when a test fails or pytest itself is killed (tests/cluster_watchdog.py). The
job goes through Beam's job server; its Python DoFns run in SDK worker
processes that the TaskManagers / Spark executors start
(``environment_type=PROCESS``). The tests skip only where the engines were
not installed (``wf-cluster fetch``; CI installs them).
"""

from __future__ import annotations

import glob
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.cluster_watchdog import stopped_when_this_process_ends
from tests.conftest import synthetic_reviews, typed, write_aclimdb_archive
from tests.integration.test_preprocess_stage import example_paths, same_files
from workflow.artifacts import read_json
from workflow.engines.cluster import RECORD, LocalCluster
from workflow.engines.flink import FlinkCluster, FlinkPorts
from workflow.engines.spark import SparkCluster, SparkPorts
from workflow.engines.versions import Installed, cache_root
from workflow.preprocess import stage
from workflow.preprocess.job_metrics import OUTCOMES
from workflow.preprocess.layout import PreprocessLayout

pytestmark = pytest.mark.slow
JOB_TIMEOUT_S = 600  # a job that neither finishes nor fails within this is a hang: the test fails
KILL_EVENT_TIMEOUT_S = 300


@pytest.fixture(scope="session", params=["flink", "spark"])
def cluster_session(request, tmp_path_factory) -> Iterator[LocalCluster]:
    """One cluster per engine for the session; pytest runs the tests of one engine, stops it, then starts the other."""
    engine = request.param
    installed = Installed(cache_root())
    if installed.missing(engine):
        pytest.skip(f"{engine} is not installed here ({installed.missing(engine)[0]} is missing): run `wf-cluster fetch {engine}`")
    folder = tmp_path_factory.mktemp(f"{engine}-cluster")
    running = FlinkCluster(installed, folder, FlinkPorts.free()) if engine == "flink" else SparkCluster(installed, folder, SparkPorts.free())
    with stopped_when_this_process_ends(folder / RECORD):  # pytest killed: no teardown runs
        try:
            running.up()
            yield running
        finally:
            running.down()


@pytest.fixture
def cluster(cluster_session) -> LocalCluster:
    """The session's cluster with every process running (a test may have killed a worker)."""
    cluster_session.up()
    return cluster_session


def engine_overrides(cluster: LocalCluster) -> list[str]:
    return [f"beam={cluster.engine}", *(f"beam.options.{key}={value}" for key, value in cluster.beam_options().items())]


def write_csv_corpus(folder: Path) -> Path:
    """Two training CSV files (two read tasks) and a test file; one row without text, rejected. Returns the train glob."""
    folder.mkdir()
    reviews = list(synthetic_reviews(12, 4, 0, seed=5).items())
    for name, part in (("train-a.csv", reviews[:12]), ("train-b.csv", reviews[12:24]), ("test.csv", reviews[24:])):
        lines = [f"{Path(path).stem},{text.decode()},{'pos' if '/pos/' in path else 'neg'}" for path, text in part]
        (folder / name).write_text("id,text,label\n" + "\n".join(lines) + ("\nempty,,pos" if name == "train-b.csv" else "") + "\n")
    return folder / "train-*.csv"


def run_stage(make_config, *overrides: str) -> tuple[PreprocessLayout, dict]:
    config = typed(make_config(*overrides))
    manifest = stage.run(config)
    return PreprocessLayout(str(Path(config.workdir) / "preprocess")), manifest


def assert_counters_equal_stats(layout: PreprocessLayout, manifest: dict) -> None:
    """The Beam counters read back from the engine's job equal stats.json, split by split."""
    stats = read_json(layout.stats)["splits"]
    expected = {f"{split}_records_{outcome}": row[f"records_{outcome}"] for split, row in stats.items() for outcome in OUTCOMES
                if row[f"records_{outcome}"]}
    assert manifest["beam_counters"] == expected


def test_a_csv_corpus_on_the_engine_writes_the_in_process_bytes_and_counts(cluster, make_config, tmp_path):
    corpus = write_csv_corpus(tmp_path / "csv")
    data = ("data=csv", f"data.path={corpus}", f"data.splits.test={corpus.parent / 'test.csv'}", "data.id_field=id", "preprocess.min_count=1")
    in_process, _ = run_stage(make_config, *data, f"workdir={tmp_path / 'in-process'}")
    on_engine, manifest = run_stage(make_config, *data, f"workdir={tmp_path / cluster.engine}", *engine_overrides(cluster))
    same_files(in_process.root, on_engine.root)
    assert len(example_paths(on_engine, "train")) == 2, "one example file per read task: both tasks ran"
    assert read_json(on_engine.stats)["splits"]["train"]["records_rejected"] == 1
    assert_counters_equal_stats(on_engine, manifest)
    assert manifest["runner"] == {"flink": "FlinkRunner", "spark": "SparkRunner"}[cluster.engine]


class StageInThread(threading.Thread):
    """``stage.run`` in a thread, keeping what it returned or raised."""

    def __init__(self, config):
        super().__init__(daemon=True)
        self.config, self.manifest, self.error = config, None, None

    def run(self) -> None:
        try:
            self.manifest = stage.run(self.config)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            self.error = error


def first_staged_file(workdir: Path, job: StageInThread) -> Path:
    """Wait for the job's SDK workers to write their first corpus file into the staging folder (the job is then mid-way)."""
    deadline = time.monotonic() + KILL_EVENT_TIMEOUT_S
    while time.monotonic() < deadline and job.is_alive():
        found = glob.glob(str(workdir / ".preprocess.staging-*" / "corpus" / "*.txt"))
        if found:
            return Path(found[0])
        time.sleep(0.05)
    raise AssertionError(f"no corpus file was staged before the job ended or {KILL_EVENT_TIMEOUT_S} s passed (error: {job.error})")


def test_a_worker_lost_mid_job_never_leaves_output_that_looks_finished(cluster, make_config, tmp_path):
    """Flink (no restart strategy) fails the job; Spark retries the lost executor's tasks on the other worker.
    Either way nothing half-written is published, and the output that is published equals the in-process run's."""
    archive = write_aclimdb_archive(tmp_path / "corpus.tar.gz", synthetic_reviews(30, 10, 20, seed=7))
    data = (f"data.path={archive}", "preprocess.min_count=1")
    in_process, _ = run_stage(make_config, *data, f"workdir={tmp_path / 'in-process'}")
    workdir = tmp_path / cluster.engine
    job = StageInThread(typed(make_config(*data, f"workdir={workdir}", *engine_overrides(cluster))))
    job.start()
    first_staged_file(workdir, job)
    lost = "taskmanager-2" if cluster.engine == "flink" else "worker-2"
    cluster.kill(lost)
    killed_mid_job = job.is_alive()
    job.join(JOB_TIMEOUT_S)
    assert not job.is_alive(), f"the job neither finished nor failed within {JOB_TIMEOUT_S} s of losing {lost}"
    assert killed_mid_job, "the job had finished before the kill: nothing was tested"
    published = workdir / "preprocess"
    if cluster.engine == "flink":
        assert job.error is not None and "FAILED" in str(job.error), job.error
        assert not published.exists() and not list(workdir.rglob("manifest.json")), "a failed job publishes nothing"
        cluster.up()  # the TaskManager back
        layout, manifest = run_stage(make_config, *data, f"workdir={workdir}", *engine_overrides(cluster))
    else:
        assert job.error is None, job.error
        layout, manifest = PreprocessLayout(str(published)), job.manifest
    same_files(in_process.root, layout.root)
    assert_counters_equal_stats(layout, manifest)
    assert not glob.glob(str(workdir / ".preprocess.staging-*")), "no staging folder is left behind"
