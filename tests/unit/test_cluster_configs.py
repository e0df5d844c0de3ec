"""The cluster deployment files agree with what is installed: no engine runs here, so these are lint checks.

A Beam SDK image, job server or Flink version that drifts from the installed
apache-beam makes a cluster job fail at submission (or worse, at the first
bundle); these tests fail first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import apache_beam as beam
import pytest
import yaml
from apache_beam.options.pipeline_options import FlinkRunnerOptions
from omegaconf.errors import MissingMandatoryValue
from omegaconf import OmegaConf

from tests.conftest import typed
from workflow.preprocess.options import pipeline_options

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def beam_images(compose: dict) -> dict[str, str]:
    """service -> image, for the services that run a Beam image."""
    return {name: service["image"] for name, service in compose["services"].items() if service.get("image", "").startswith("apache/beam")}


def test_the_worker_image_is_beams_sdk_image_of_the_installed_beam_and_python():
    base = re.search(r"^FROM (\S+)$", (DOCKER / "Dockerfile.beam-worker").read_text(), re.MULTILINE).group(1)
    assert base == f"apache/beam_python{sys.version_info.major}.{sys.version_info.minor}_sdk:{beam.__version__}"


def test_the_job_servers_are_of_the_installed_beam_and_a_supported_flink():
    compose = yaml.safe_load((DOCKER / "beam-cluster.yaml").read_text())
    images = beam_images(compose)
    assert set(images) == {"flink-job-server", "spark-job-server"}
    for image in images.values():
        assert image.endswith(f":{beam.__version__}"), image
    flink_version = re.match(r"apache/beam_flink(\d+\.\d+)_job_server", images["flink-job-server"]).group(1)
    assert flink_version in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS
    assert compose["services"]["flink-jobmanager"]["image"].startswith(f"flink:{flink_version}")


@pytest.mark.parametrize("engine, worker", [("flink", "flink-taskmanager"), ("spark", "spark-worker")])
def test_cluster_configs_run_the_python_code_in_the_worker_pool_beside_each_worker(make_config, engine, worker):
    """EXTERNAL (not LOOPBACK: that runs every DoFn in the submitting process), at the sidecar's address."""
    compose = yaml.safe_load((DOCKER / "beam-cluster.yaml").read_text())
    pool = compose["services"][f"{engine}-worker-pool"]
    assert pool["network_mode"] == f"service:{worker}" and pool["command"] == ["--worker_pool"]

    with pytest.raises(MissingMandatoryValue, match="job_endpoint"):
        OmegaConf.to_container(make_config(f"beam={engine}").beam, resolve=True, throw_on_missing=True)
    config = typed(make_config(f"beam={engine}", f"beam.options.job_endpoint={engine}-job-server:8099"))
    options = pipeline_options(config.beam.options).get_all_options()
    assert options["environment_type"] == "EXTERNAL" and options["environment_config"] == "localhost:50000"
