"""Benchmark: the preprocessing job on a local Flink or Spark cluster beside the in-process FnApiRunner, outputs compared.

Starts a cluster with the code behind ``wf-cluster <engine> up`` (free
ports, its own folder), then runs ``wf-preprocess`` on the same corpus
in-process and on the engine, alternating, ``--repeats`` times each, every
run from process start into a fresh workdir. For every run: wall time and the
peak resident memory (``VmHWM``) of each process of the command; for the
engine runs also of each cluster process (JobManager, TaskManagers or Spark
master and workers, the job server, and the SDK workers and executors they
start), sampled twice a second. Then: whether every output file (vocab.tsv,
stats.json, each TFRecord and corpus shard, the rejections) has the same
SHA-256 in both manifests, and, for Flink, where the engine run's time went,
read from the job server's and the cluster's logs.

    python benchmarks/engine_benchmark.py --archive /data/aclImdb_v1.tar.gz --engine flink --folder /tmp/engine-bench
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from process_memory import descendants, peak_rss_mb, run_sampled

from workflow.engines.cluster import LocalCluster
from workflow.engines.flink import FlinkCluster, FlinkPorts
from workflow.engines.spark import SparkCluster, SparkPorts
from workflow.engines.versions import Installed, cache_root
from workflow.preprocess.output import PreprocessOutput


def cluster_peaks(cluster: LocalCluster, done: threading.Event, peaks: dict[str, float]) -> None:
    """Sample the peak RSS (MB) of each cluster process and of everything it started, by name, until ``done``."""
    while not done.is_set():
        for name, daemon in cluster.running().items():
            for pid in descendants(daemon.pid):
                peak = peak_rss_mb(pid)
                if peak is not None:
                    key = name if pid == daemon.pid else f"{name} child {pid}"
                    peaks[key] = max(peaks.get(key, 0.0), peak)
        done.wait(0.5)


def run_job(command: list[str], log: Path, cluster: LocalCluster | None) -> tuple[float, list[int], dict[str, float]]:
    """Wall seconds, the command's process peaks and the cluster's (empty in-process)."""
    peaks: dict[str, float] = {}
    done = threading.Event()
    sampler = threading.Thread(target=cluster_peaks, args=(cluster, done, peaks), daemon=True) if cluster else None
    if sampler:
        sampler.start()
    try:
        seconds, command_peaks = run_sampled(command, log)
    finally:
        done.set()
        if sampler:
            sampler.join()
    return seconds, command_peaks, peaks


def output_digests(workdir: Path) -> dict[str, str]:
    """``{file: sha256}`` of every output the stage's manifest lists."""
    manifest = PreprocessOutput(str(workdir)).manifest
    return {name: entry["sha256"] for name, entry in manifest["outputs"]["files"].items()}


def flink_phases(log_dir: Path) -> dict[str, float]:
    """Seconds between the job server's and the TaskManagers' log events of the last job (Flink's log times)."""
    def times(pattern: str, files: list[Path]) -> list[datetime]:
        found = []
        for path in files:
            for line in path.read_text(errors="replace").splitlines():
                if re.search(pattern, line):
                    found.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"))
        return sorted(found)

    job_server = [log_dir / "job-server.log"]
    task_managers = sorted(log_dir.glob("flink-*-taskexecutor-*.log"))
    staged = times(r"Staging artifacts for job", job_server)[-1]
    translating = times(r"Translating pipeline to Flink program", job_server)[-1]
    submitted = times(r"Successfully submitted job", job_server)[-1]
    finished = times(r"Execution finished in", job_server)[-1]
    harness = [moment for moment in times(r"sdk_worker_main.py:\d+ .*Python sdk harness starting", task_managers) if moment > submitted]
    return {
        "staging and invoking (job server)": (translating - staged).total_seconds(),
        "translation and submission to Flink (incl. the job jar)": (submitted - translating).total_seconds(),
        "until the first SDK worker serves (Flink schedules, TaskManager starts wf-beam-worker)": (harness[0] - submitted).total_seconds(),
        "the job after that, to Flink's FINISHED": (finished - harness[0]).total_seconds(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", required=True, help="aclImdb_v1.tar.gz")
    parser.add_argument("--engine", choices=("flink", "spark"), default="flink")
    parser.add_argument("--folder", required=True, help="workdirs, logs and the cluster's folder go here")
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args()
    folder = Path(arguments.folder)
    folder.mkdir(parents=True, exist_ok=True)
    installed = Installed(cache_root())
    cluster_folder = folder / f"{arguments.engine}-cluster"
    cluster = (FlinkCluster(installed, cluster_folder, FlinkPorts.free()) if arguments.engine == "flink"
               else SparkCluster(installed, cluster_folder, SparkPorts.free()))
    started = time.perf_counter()
    print(f"{arguments.engine}: {cluster.up()}, up in {time.perf_counter() - started:.1f} s", flush=True)
    wf_preprocess = [sys.executable, "-c", "from workflow.cli import preprocess; preprocess()", "data=imdb", f"data.path={arguments.archive}"]
    engine = [f"beam={arguments.engine}", *(f"beam.options.{key}={value}" for key, value in cluster.beam_options().items())]
    walls: dict[str, list[float]] = {"in-process": [], arguments.engine: []}
    try:
        for repeat in range(arguments.repeats):
            for runner, overrides in (("in-process", []), (arguments.engine, engine)):
                workdir = folder / f"{runner}-{repeat}"
                subprocess.run(["rm", "-rf", str(workdir)], check=True)
                seconds, command_peaks, peaks = run_job([*wf_preprocess, f"workdir={workdir}", *overrides], folder / f"{runner}-{repeat}.log",
                                                        cluster if overrides else None)
                walls[runner].append(seconds)
                print(f"{runner} run {repeat}: {seconds:.1f} s; wf-preprocess processes' peak RSS (MB): {command_peaks}", flush=True)
                for name, peak in sorted(peaks.items()):
                    print(f"  {name}: {peak:.0f} MB")
            same = output_digests(folder / f"in-process-{repeat}") == output_digests(folder / f"{arguments.engine}-{repeat}")
            print(f"outputs identical (every file's SHA-256 in the manifests): {same}", flush=True)
        if arguments.engine == "flink":
            for phase, seconds in flink_phases(cluster.log_dir).items():
                print(f"  {phase}: {seconds:.1f} s")
    finally:
        cluster.down()
    for runner, values in walls.items():
        print(f"{runner}: median {statistics.median(values):.1f} s of {[round(value, 1) for value in values]}")


if __name__ == "__main__":
    main()
