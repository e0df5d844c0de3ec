"""Beam's portable runner on this machine: a Job API service and an SDK worker pool.

``beam=portable`` submits the pipeline through Beam's Job API, the protocol
the Flink, Spark and Dataflow runners speak, to the job service that ships
with Beam (``local_job_service_main``). Its workers are not threads of this
process: the job service asks an EXTERNAL worker pool
(``worker_pool_main``, the same program a Python worker-pool sidecar runs
beside a Flink or Spark task manager) to start SDK worker processes, which
receive the pickled DoFns over gRPC. What this proves and what it does not is
in README ("Running on a cluster").

When ``beam.options`` names no ``job_endpoint`` (or, for an EXTERNAL
environment, no ``environment_config``), :func:`local_services` starts the
missing service for the length of the job and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO, Iterator

import grpc

JOB_SERVICE = "apache_beam.runners.portability.local_job_service_main"
WORKER_POOL = "apache_beam.runners.worker.worker_pool_main"
START_TIMEOUT_S = 60


@contextlib.contextmanager
def local_services(options: dict, log_file: str | None) -> Iterator[dict]:
    """``options`` with a ``job_endpoint`` and an ``environment_config`` of services started here when missing.

    The services write to ``log_file`` (None: discarded) and are stopped,
    with every SDK worker they started, when the block exits.
    """
    options = dict(options)
    options.setdefault("environment_type", "EXTERNAL")
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(open(log_file or os.devnull, "ab"))
        if options["environment_type"] == "EXTERNAL" and not options.get("environment_config"):
            port = free_port()
            stack.enter_context(_service([WORKER_POOL, f"--service_port={port}"], f"localhost:{port}", output))
            options["environment_config"] = f"localhost:{port}"
        if not options.get("job_endpoint"):
            port_file = os.path.join(stack.enter_context(tempfile.TemporaryDirectory(prefix="wf-job-service-")), "port")
            service = stack.enter_context(_service([JOB_SERVICE, "--port=0", f"--port_file={port_file}"], None, output))
            options["job_endpoint"] = f"localhost:{_read_port(port_file, service)}"
            _wait_until_serving(options["job_endpoint"], service)
        yield options


@contextlib.contextmanager
def _service(module_and_args: list[str], address: str | None, output: IO[bytes]) -> Iterator[subprocess.Popen]:
    """A Beam service module in its own process group (its SDK workers too), killed on exit."""
    # The worker pool starts SDK workers as ``python -c ...``: this interpreter must come first on PATH.
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    process = subprocess.Popen([sys.executable, "-m", *module_and_args], stdout=output, stderr=output, env=env, start_new_session=True)
    try:
        if address is not None:
            _wait_until_serving(address, process)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _read_port(port_file: str, process: subprocess.Popen) -> int:
    """The port the job service writes once it listens (it picks a free one)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not os.path.exists(port_file):
        _check_alive(process)
        if time.monotonic() > deadline:
            raise RuntimeError(f"Beam's job service wrote no port within {START_TIMEOUT_S} s")
        time.sleep(0.05)
    with open(port_file) as handle:
        return int(handle.read())


def _wait_until_serving(address: str, process: subprocess.Popen) -> None:
    """Block until a gRPC server answers at ``address``; RuntimeError when its process died or it never does."""
    with grpc.insecure_channel(address) as channel:
        ready = grpc.channel_ready_future(channel)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                ready.result(timeout=0.5)
                return
            except grpc.FutureTimeoutError:
                _check_alive(process)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no Beam service answered at {address} within {START_TIMEOUT_S} s") from None


def _check_alive(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"{' '.join(process.args[2:4])} exited with status {process.returncode}; see the stage log")


def free_port() -> int:
    """A TCP port nothing listens on now (the worker pool needs one named)."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]
