"""``wf-beam-worker``: a Beam Python SDK worker for ``environment_type=PROCESS``, started by each Flink TaskManager or Spark executor.

Beam's PROCESS environment runs a command on the worker machine with
``--id=<worker id> --provision_endpoint=<host:port>``; the command must do
what the Python SDK container's boot program does before it runs the SDK
harness: ask the provision service for the job's options and endpoints,
fetch the staged files, and start ``sdk_worker_main`` with them in its
environment. This is that program, for the Python this package is installed
in (its console script runs that interpreter), so the SDK workers of a local
cluster are children of their TaskManager, as on a cluster whose workers run
Beam's SDK containers.

It installs nothing: a job that stages packages (``requirements_file``,
``extra_package``...) is refused, as is one submitted with another
apache-beam version than this Python has (the version is in the file
``submission_environment_dependencies.txt`` that Beam's stager adds to every
job). Every wait is bounded: a worker that cannot start exits with one line
naming the endpoint, so the runner fails the job instead of waiting for it.
That line goes to standard error (the runner discards it unless it logs at
DEBUG) and to the file ``$WF_BEAM_WORKER_LOG`` names, when set (the clusters
of ``wf-cluster`` set it to their log folder).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

CALL_TIMEOUT_S = 60  # for the provision service and each staged file
LOG_ENV = "WF_BEAM_WORKER_LOG"
# Staged by Beam's stager for every job; the pip freeze of the submitting environment.
SUBMISSION_DEPENDENCIES = "submission_environment_dependencies.txt"
PICKLED_MAIN_SESSION = "pickled_main_session"  # --save_main_session: read by sdk_worker_main from <semi-persistent dir>/staged/
USABLE_AS_STAGED = (SUBMISSION_DEPENDENCIES, PICKLED_MAIN_SESSION)
NOT_STARTED_EXIT = 3


class WorkerNotStarted(RuntimeError):
    """Why this SDK worker cannot run the job; one line."""


def main() -> None:
    """Boot one SDK worker and run it in this process until the runner ends it."""
    parser = argparse.ArgumentParser(description="Beam Python SDK worker for a PROCESS environment")
    parser.add_argument("--id", required=True, help="the worker id the runner gave")
    parser.add_argument("--provision_endpoint", required=True, help="host:port of the runner's provision service")
    arguments, _ = parser.parse_known_args()
    try:
        environment = worker_environment(arguments.id, arguments.provision_endpoint)
    except WorkerNotStarted as error:
        report(f"wf-beam-worker {arguments.id}: {error}")
        sys.exit(NOT_STARTED_EXIT)
    os.environ.update(environment)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)


def report(line: str) -> None:
    """One line on standard error and, when ``$WF_BEAM_WORKER_LOG`` names a file, appended there with the time and pid."""
    print(line, file=sys.stderr, flush=True)
    log_file = os.environ.get(LOG_ENV)
    if log_file:
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} pid {os.getpid()} {line}\n")


def worker_environment(worker_id: str, provision_endpoint: str) -> dict[str, str]:
    """The variables ``sdk_worker_main`` reads, from the provision service at ``provision_endpoint``; its staged files fetched."""
    import grpc
    from google.protobuf import json_format, text_format

    from apache_beam.portability.api import beam_artifact_api_pb2_grpc, beam_provision_api_pb2, beam_provision_api_pb2_grpc

    try:
        with grpc.insecure_channel(provision_endpoint) as channel:
            grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT_S)
            info = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel).GetProvisionInfo(
                beam_provision_api_pb2.GetProvisionInfoRequest(), metadata=[("worker_id", worker_id)], timeout=CALL_TIMEOUT_S).info
    except (grpc.FutureTimeoutError, grpc.RpcError) as error:
        raise WorkerNotStarted(f"no Beam provision service answered at {provision_endpoint} within {CALL_TIMEOUT_S} s "
                               f"({_grpc_reason(error)})") from None
    semi_persistent = tempfile.mkdtemp(prefix=f"beam-worker-{worker_id}-")  # under $TMPDIR: a wf-cluster cluster's own folder
    staged = Path(semi_persistent) / "staged"
    staged.mkdir()
    try:
        with grpc.insecure_channel(info.artifact_endpoint.url) as channel:
            grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT_S)
            retrieval = beam_artifact_api_pb2_grpc.ArtifactRetrievalServiceStub(channel)
            for name, data in staged_files(retrieval, info.dependencies, worker_id):
                (staged / name).write_bytes(data)
    except (grpc.FutureTimeoutError, grpc.RpcError) as error:
        raise WorkerNotStarted(f"the staged files could not be fetched from {info.artifact_endpoint.url} ({_grpc_reason(error)})") from None
    check_beam_version(staged / SUBMISSION_DEPENDENCIES)
    environment = {
        "WORKER_ID": worker_id,
        "PIPELINE_OPTIONS": json_format.MessageToJson(info.pipeline_options),
        "LOGGING_API_SERVICE_DESCRIPTOR": text_format.MessageToString(info.logging_endpoint),
        "CONTROL_API_SERVICE_DESCRIPTOR": text_format.MessageToString(info.control_endpoint),
        "RUNNER_CAPABILITIES": " ".join(info.runner_capabilities),
        "SEMI_PERSISTENT_DIRECTORY": semi_persistent,
    }
    if info.HasField("status_endpoint"):
        environment["STATUS_API_SERVICE_DESCRIPTOR"] = text_format.MessageToString(info.status_endpoint)
    return environment


def staged_files(retrieval: Any, dependencies: Iterable[Any], worker_id: str) -> Iterator[tuple[str, bytes]]:
    """``(staged name, bytes)`` of each file the job staged; WorkerNotStarted for one this worker would have to install."""
    from apache_beam.portability.api import beam_artifact_api_pb2, beam_runner_api_pb2

    for artifact in dependencies:
        name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(artifact.role_payload).staged_name
        if name not in USABLE_AS_STAGED:
            raise WorkerNotStarted(f"the job stages {name!r} to install on its workers; this worker runs the job in {sys.executable} "
                                   "and installs nothing: install what the job needs into that Python instead")
        chunks = retrieval.GetArtifact(beam_artifact_api_pb2.GetArtifactRequest(artifact=artifact), metadata=[("worker_id", worker_id)],
                                       timeout=CALL_TIMEOUT_S)
        yield name, b"".join(chunk.data for chunk in chunks)


def check_beam_version(dependencies_file: Path) -> None:
    """WorkerNotStarted when the job was submitted with another apache-beam than this Python has (no file: nothing to compare)."""
    from importlib.metadata import version

    if not dependencies_file.exists():
        return
    # The stager writes pip freeze's output as the repr of its bytes: b'...apache-beam==2.77.0\n...'.
    submitted = re.search(r"apache[-_]beam==([^\s\\']+)", dependencies_file.read_text(errors="replace"))
    installed = version("apache-beam")
    if submitted and submitted.group(1) != installed:
        raise WorkerNotStarted(f"the job was submitted with apache-beam {submitted.group(1)}, but {sys.executable} has {installed}: "
                               "install the submitter's version on the workers")


def _grpc_reason(error: Exception) -> str:
    """``UNAVAILABLE: ...`` of a failed call; a channel that never became ready has no code."""
    code = getattr(error, "code", None)
    return f"{code().name}: {error.details()}" if callable(code) else "no connection"
