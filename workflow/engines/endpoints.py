"""Before a job goes to Flink or Spark: are the job server and the engine there, and which command boots an SDK worker.

Beam's portable runner would otherwise wait: for a job server that is not
up (gRPC retries), or for task slots that no TaskManager offers (Flink's
slot request timeout, minutes). Each check is one line that names the
option, the endpoint and the command that starts the local cluster.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from workflow.engines import daemons
from workflow.errors import ConfigError

ANSWER_TIMEOUT_S = 5
ENGINES = {"FlinkRunner": "flink", "SparkRunner": "spark"}
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def host_and_port(address: str) -> tuple[str, int | None]:
    """``("localhost", 8081)`` of ``localhost:8081``, ``http://localhost:8081`` or ``spark://localhost:7077``."""
    parsed = urlparse(address if "://" in address else f"//{address}")
    return parsed.hostname or "", parsed.port


def master_option(runner: str) -> str:
    """The option that names the engine's master: ``flink_master`` or ``spark_master_url``."""
    return "flink_master" if runner == "FlinkRunner" else "spark_master_url"


def on_this_machine(runner: str, options: Mapping[str, Any]) -> bool:
    """True when the job server and the engine's master are named on loopback addresses.

    A master listening on localhost only takes workers of this machine, so
    every worker sees this machine's files (the cluster ``wf-cluster`` starts).
    """
    addresses = [options.get("job_endpoint"), options.get(master_option(runner))]
    return all(address and host_and_port(str(address))[0] in LOOPBACK for address in addresses)


def check_reachable(runner: str, options: Mapping[str, Any]) -> None:
    """ConfigError, one line, when the job server or the engine named in ``options`` does not answer."""
    engine = ENGINES[runner]
    start = f"start the local one with `wf-cluster {engine} up`"
    job_endpoint = options.get("job_endpoint")
    if job_endpoint and not _grpc_answers(str(job_endpoint)):
        raise ConfigError(f"beam.options.job_endpoint={job_endpoint}: no Beam job server answers there within {ANSWER_TIMEOUT_S} s ({start})")
    master = options.get(master_option(runner))
    if not master or str(master).startswith("["):  # Flink's [local] / [auto]: the job server decides
        return
    key = f"beam.options.{master_option(runner)}={master}"
    if runner == "SparkRunner":
        host, port = host_and_port(str(master))
        if port is None or not daemons.port_open(host, port):
            raise ConfigError(f"{key}: no Spark master answers there ({start})")
        return
    url = str(master) if "://" in str(master) else f"http://{master}"
    overview = daemons.get_json(f"{url}/overview", timeout_s=ANSWER_TIMEOUT_S)
    if overview is None:
        raise ConfigError(f"{key}: Flink's REST endpoint does not answer there ({start})")
    parallelism = int(options.get("parallelism") or 1)
    if overview.get("slots-total", 0) < parallelism:
        raise ConfigError(f"{key}: Flink has {overview.get('taskmanagers', 0)} TaskManager(s) with {overview.get('slots-total', 0)} task slot(s), "
                          f"the job asks for beam.options.parallelism={parallelism}: it would wait for slots (`wf-cluster {engine} up` "
                          "starts missing TaskManagers)")


def _grpc_answers(address: str) -> bool:
    import grpc

    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=ANSWER_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            return False
    return True


def worker_command() -> str:
    """The ``environment_config`` of a PROCESS environment: this installation's ``wf-beam-worker`` (it runs this Python)."""
    beside = Path(sys.executable).with_name("wf-beam-worker")
    found = str(beside) if beside.exists() else shutil.which("wf-beam-worker")
    if found is None:
        raise ConfigError(f"beam.options.environment_config: no wf-beam-worker beside {sys.executable} or on PATH; install this package "
                          "(pip install .) or name the SDK worker command")
    return json.dumps({"command": found})
