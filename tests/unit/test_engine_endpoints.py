"""Before a job goes to Flink or Spark: a job server, master or task slots that are not there is one line, not a wait."""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import sys
import threading
from concurrent import futures
from typing import Iterator

import grpc
import pytest

from tests.conftest import typed
from workflow.engines.daemons import free_port
from workflow.engines.endpoints import check_reachable, on_this_machine
from workflow.errors import ConfigError
from workflow.preprocess.options import check_paths_reach_workers


@contextlib.contextmanager
def grpc_server() -> Iterator[str]:
    """Some gRPC server on a free port: the job endpoint answers."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("localhost:0")
    server.start()
    try:
        yield f"localhost:{port}"
    finally:
        server.stop(None)


@contextlib.contextmanager
def flink_rest(overview: dict) -> Iterator[str]:
    """An HTTP server that answers Flink's /overview with ``overview``."""

    class Overview(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler's name
            body = json.dumps(overview).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("localhost", 0), Overview)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"localhost:{server.server_port}"
    finally:
        server.shutdown()


def test_wf_preprocess_names_the_job_endpoint_that_does_not_answer_in_one_line(tmp_path):
    port = free_port()
    process = subprocess.run(
        [sys.executable, "-c", "from workflow.cli import preprocess; preprocess()", "beam=flink", f"beam.options.job_endpoint=localhost:{port}",
         f"workdir={tmp_path / 'work'}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2, process.stderr[-2000:]
    assert process.stderr.strip().splitlines()[-1] == (
        f"error: beam.options.job_endpoint=localhost:{port}: no Beam job server answers there within 5 s "
        "(start the local one with `wf-cluster flink up`)")
    assert not (tmp_path / "work" / "preprocess").exists()


def test_a_flink_master_that_does_not_answer_is_named():
    with grpc_server() as job_endpoint:
        port = free_port()
        with pytest.raises(ConfigError, match=rf"^beam\.options\.flink_master=localhost:{port}: Flink's REST endpoint does not answer there"):
            check_reachable("FlinkRunner", {"job_endpoint": job_endpoint, "flink_master": f"localhost:{port}", "parallelism": 2})


def test_fewer_task_slots_than_the_parallelism_is_refused_instead_of_waiting_for_slots():
    with grpc_server() as job_endpoint, flink_rest({"taskmanagers": 1, "slots-total": 1}) as master:
        with pytest.raises(ConfigError, match=r"Flink has 1 TaskManager\(s\) with 1 task slot\(s\), the job asks for beam\.options\.parallelism=2"):
            check_reachable("FlinkRunner", {"job_endpoint": job_endpoint, "flink_master": master, "parallelism": 2})
        check_reachable("FlinkRunner", {"job_endpoint": job_endpoint, "flink_master": master, "parallelism": 1})


def test_a_spark_master_that_does_not_answer_is_named():
    with grpc_server() as job_endpoint:
        port = free_port()
        with pytest.raises(ConfigError, match=rf"^beam\.options\.spark_master_url=spark://localhost:{port}: no Spark master answers there"):
            check_reachable("SparkRunner", {"job_endpoint": job_endpoint, "spark_master_url": f"spark://localhost:{port}"})


@pytest.mark.parametrize("options, local", [
    ({"job_endpoint": "localhost:8099", "flink_master": "localhost:8081"}, True),
    ({"job_endpoint": "127.0.0.1:8099", "flink_master": "http://localhost:8081"}, True),
    ({"job_endpoint": "flink-job-server:8099", "flink_master": "localhost:8081"}, False),
    ({"job_endpoint": "localhost:8099", "flink_master": "flink-jobmanager:8081"}, False),
    ({"job_endpoint": "localhost:8099"}, False),
])
def test_an_engine_is_on_this_machine_only_when_its_job_server_and_master_are(options, local):
    assert on_this_machine("FlinkRunner", options) is local


@pytest.mark.parametrize("engine", ["flink", "spark"])
def test_the_local_clusters_defaults_take_local_paths_and_a_remote_job_server_does_not(make_config, engine):
    check_paths_reach_workers(typed(make_config(f"beam={engine}", "data.path=/data/corpus.tar.gz")))  # its workers are on this machine
    with pytest.raises(ConfigError, match=r"beam\.shared_workdir=true"):
        check_paths_reach_workers(typed(make_config(f"beam={engine}", "beam.options.job_endpoint=jobs:8099", "data.path=/data/corpus.tar.gz")))
