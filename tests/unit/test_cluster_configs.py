"""The cluster configs and deployment files agree with each other and with what is installed.

A Beam SDK image, job server or engine version that drifts from the
installed apache-beam or from wf-cluster's versions makes a cluster job fail
at submission (or worse, at the first bundle); these tests fail first. The
clusters themselves run in tests/integration/test_engines.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import apache_beam as beam
import pytest
import yaml
from apache_beam.options.pipeline_options import FlinkRunnerOptions

from tests.conftest import typed
from workflow.engines import versions
from workflow.engines.cli import local_cluster
from workflow.engines.endpoints import worker_command
from workflow.preprocess.options import pipeline_options, runner_description

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
MAVEN = ROOT / "workflow" / "engines" / "maven"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "beam-cluster.yaml").read_text())


def test_the_worker_image_is_beams_sdk_image_of_the_installed_beam_and_python():
    base = re.search(r"^FROM (\S+)$", (DOCKER / "Dockerfile.beam-worker").read_text(), re.MULTILINE).group(1)
    assert base == f"apache/beam_python{sys.version_info.major}.{sys.version_info.minor}_sdk:{beam.__version__}"


def test_the_compose_file_runs_wf_clusters_engine_versions_and_job_servers():
    services = compose()["services"]
    assert services["flink-jobmanager"]["image"] == services["flink-taskmanager"]["image"] == f"flink:{versions.FLINK}-scala_{versions.SCALA}-java17"
    assert services["spark-master"]["image"] == services["spark-worker"]["image"] == f"apache/spark:{versions.SPARK}-java17"
    for engine in ("flink", "spark"):
        build = services[f"{engine}-job-server"]["build"]
        assert build["dockerfile"] == "docker/Dockerfile.beam-job-server" and build["args"] == {"ENGINE": engine}
    arguments = dict(re.findall(r"^ARG (\w+)=(\S+)$", (DOCKER / "Dockerfile.beam-job-server").read_text(), re.MULTILINE))
    assert arguments == {"ENGINE": "flink", "BEAM_VERSION": versions.BEAM_JOB_SERVER, "FLINK_MINOR": versions.FLINK_MINOR,
                         "SPARK_VERSION": versions.SPARK}
    assert versions.FLINK.startswith(versions.FLINK_MINOR + ".") and versions.FLINK_MINOR in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS


@pytest.mark.parametrize("engine, worker", [("flink", "flink-taskmanager"), ("spark", "spark-worker")])
def test_the_compose_file_runs_a_worker_pool_beside_each_worker(engine, worker):
    """EXTERNAL (not LOOPBACK: that runs every DoFn in the submitting process), at the sidecar's address."""
    pool = compose()["services"][f"{engine}-worker-pool"]
    assert pool["network_mode"] == f"service:{worker}" and pool["command"] == ["--worker_pool"]


def test_every_pom_takes_the_versions_the_fetch_step_sets():
    """A property the pom uses but fetch.py does not set would reach Maven as a literal ${...}."""
    set_by_fetch = {"flink-job-server": {"beam.version", "flink.minor"}, "flink-runner-lib": {"beam.version", "flink.minor"},
                    "spark-job-server": {"beam.version", "spark.version"}}
    for pom in MAVEN.glob("*.pom.xml"):
        used = set(re.findall(r"\$\{([\w.]+)\}", pom.read_text())) - {"project.build.directory"}
        assert used == set_by_fetch[pom.name.removesuffix(".pom.xml")], pom.name


@pytest.mark.parametrize("engine, master", [("flink", "flink_master"), ("spark", "spark_master_url")])
def test_the_engine_configs_reach_the_local_cluster_with_sdk_workers_the_task_managers_start(make_config, engine, master):
    """The defaults are the endpoints of `wf-cluster <engine> up`, and a PROCESS environment: each TaskManager or
    executor starts the SDK workers (wf-beam-worker) as its own children."""
    config = typed(make_config(f"beam={engine}"))
    assert local_cluster(engine, versions.Installed(Path("/unused"))).beam_options().items() <= dict(config.beam.options).items()
    options = pipeline_options(config.beam.options).get_all_options()
    assert options["environment_type"] == "PROCESS" and options[master] == config.beam.options[master]
    assert int(options["environment_cache_millis"]) > 0, "SDK workers are kept between a job's stages"
    assert runner_description(config.beam).startswith(f"{config.beam.runner} (job_endpoint localhost:")


def test_the_sdk_worker_command_is_the_console_script_beside_this_python():
    command = json.loads(worker_command())["command"]
    assert Path(command).name == "wf-beam-worker" and Path(command).exists()
