"""``wf-cluster``: install Flink and Spark once, and bring a local cluster of either up and down.

    wf-cluster fetch [flink|spark|all]     install into $WF_ENGINES_HOME (~/.cache/embedding-workflow/engines)
    wf-cluster flink up|down|status        a JobManager, two TaskManagers, Beam's job server on localhost:8099
    wf-cluster spark up|down|status        a master, two workers, Beam's job server on localhost:8199

``up`` returns once the cluster answers; the cluster keeps running until
``down`` (its processes, logs and configuration are in
``$WF_ENGINES_HOME/clusters/<engine>``). ``conf/beam/flink.yaml`` and
``spark.yaml`` point ``wf-preprocess beam=flink|spark`` at these endpoints.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from workflow.engines import fetch
from workflow.engines.cluster import LocalCluster
from workflow.engines.daemons import ClusterError
from workflow.engines.flink import FlinkCluster
from workflow.engines.spark import SparkCluster
from workflow.engines.versions import BEAM_JOB_SERVER, FLINK, SPARK, Installed, cache_root

FAILED_EXIT = 1


def local_cluster(engine: str, installed: Installed) -> LocalCluster:
    """The cluster ``wf-cluster <engine>`` manages, in ``<engine cache>/clusters/<engine>``, on the default ports."""
    folder = installed.clusters / engine
    return FlinkCluster(installed, folder) if engine == "flink" else SparkCluster(installed, folder)


def argument_parser() -> argparse.ArgumentParser:
    """``wf-cluster``'s arguments (tests/unit/test_documented_commands.py parses the documented commands with it)."""
    parser = argparse.ArgumentParser(prog="wf-cluster", description="Install Flink and Spark once, and bring a local cluster of either up "
                                                                     "and down.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_command = commands.add_parser("fetch", help=f"install Flink {FLINK}, Spark {SPARK} and Beam {BEAM_JOB_SERVER}'s job servers")
    fetch_command.add_argument("engine", nargs="?", choices=("flink", "spark", "all"), default="all")
    for engine in fetch.ENGINES:
        command = commands.add_parser(engine, help=f"a local {engine.capitalize()} cluster")
        command.add_argument("action", choices=("up", "down", "status"),
                             help="up: start what is not running and wait until it answers; down: stop every process; status: what runs")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = argument_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    installed = Installed(cache_root())
    try:
        if arguments.command == "fetch":
            for engine in fetch.ENGINES if arguments.engine == "all" else (arguments.engine,):
                fetch.fetch(engine, installed)
                print(f"{engine}: installed in {installed.root}")
        else:
            print("\n".join(run_action(local_cluster(arguments.command, installed), arguments.action)))
    except (ClusterError, fetch.FetchError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(FAILED_EXIT)


def run_action(cluster: LocalCluster, action: str) -> list[str]:
    """What ``up``, ``down`` or ``status`` does to ``cluster``, and the lines it prints."""
    if action == "up":
        print(f"{cluster.engine}: starting what is not running, then waiting for its workers and the job server (logs: {cluster.log_dir})",
              flush=True)
        started = time.monotonic()
        state = cluster.up()
        options = " ".join(f"beam.options.{key}={value}" for key, value in cluster.beam_options().items())
        return [f"{cluster.engine}: up in {time.monotonic() - started:.0f} s: {state}; Beam job server at {cluster.job_endpoint}",
                f"submit with: wf-preprocess beam={cluster.engine} ...   (the defaults of conf/beam/{cluster.engine}.yaml: {options})"]
    if action == "down":
        stopped = cluster.down()
        return [f"{cluster.engine}: stopped {', '.join(stopped)}" if stopped else f"{cluster.engine}: nothing was running"]
    return cluster.status()


if __name__ == "__main__":
    main()
