"""Benchmark: the whole ``wf-preprocess`` job against a plain-Python vocabulary count.

The baseline is what one would write without Beam: one process streams the same
archive, tokenises the training side (train + unsup) with the same tokenizer and
counts with ``collections.Counter``. The job does more (it also tokenises test,
writes TFRecords, the corpus and stats); the target is job <= 1.5x baseline wall
time. Runs alternate and medians are compared, since this machine is noisy. The
peak RSS of every process of the job (the driver and each SDK worker) is sampled
from /proc (process_memory.py).

    python benchmarks/preprocess_benchmark.py --archive ../shared/data/aclImdb_v1.tar.gz
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from process_memory import run_sampled

from workflow.preprocess.output import PreprocessOutput
from workflow.text import Tokenizer


def baseline(archive: str) -> tuple[float, int]:
    """Seconds and training-side token count of a single-process Counter over the archive."""
    started = time.perf_counter()
    tokenizer, counts = Tokenizer(), collections.Counter()
    with tarfile.open(archive, "r|*") as members:
        for member in members:
            parts = member.name.split("/")
            if member.isfile() and len(parts) >= 3 and parts[-3] == "train" and parts[-2] in ("pos", "neg", "unsup"):
                counts.update(tokenizer(members.extractfile(member).read().decode("utf-8")))
    return time.perf_counter() - started, sum(counts.values())


def job(archive: str, workdir: str, extra: list[str]) -> tuple[float, list[int]]:
    """Wall seconds of the whole job and the peak RSS (MB) of each of its processes (the driver and every SDK worker)."""
    command = [sys.executable, "-m", "workflow.cli", "data=imdb", f"data.path={archive}", f"workdir={workdir}", *extra]
    return run_sampled(command, Path(workdir) / "wf-preprocess.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default="../shared/data/aclImdb_v1.tar.gz")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for the job, e.g. beam.running_mode=in_memory")
    args = parser.parse_args()

    baseline_seconds, job_seconds, job_peaks = [], [], []
    with tempfile.TemporaryDirectory() as workdir:
        for repeat in range(args.repeats):
            seconds, tokens = baseline(args.archive)
            baseline_seconds.append(seconds)
            job_s, peaks = job(args.archive, workdir, args.overrides)
            job_seconds.append(job_s)
            job_peaks.append(peaks)
            print(f"run {repeat + 1}: baseline {seconds:.1f} s, job {job_s:.1f} s (ratio {job_s / seconds:.2f}), "
                  f"job processes' peak RSS {peaks} MB", file=sys.stderr)
        stats = PreprocessOutput(workdir).stats()
    job_median, baseline_median = statistics.median(job_seconds), statistics.median(baseline_seconds)
    all_tokens = sum(row["tokens"] for row in stats["splits"].values())
    result = {
        "baseline_s": round(baseline_median, 2),
        "job_s": round(job_median, 2),
        "ratio": round(job_median / baseline_median, 2),
        "round_ratios": [round(job_s / base_s, 2) for job_s, base_s in zip(job_seconds, baseline_seconds)],
        "training_tokens": tokens,
        "all_tokens": all_tokens,
        "job_tokens_per_s": round(all_tokens / job_median),
        "baseline_tokens_per_s": round(tokens / baseline_median),
        "baseline_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "job_peak_rss_mb_per_process": [max(column) for column in zip(*job_peaks)],
        "overrides": args.overrides,
        "repeats": args.repeats,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
