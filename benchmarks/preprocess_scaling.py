"""Benchmark: does ``wf-preprocess`` scale with the corpus? The same reviews 1x, 2x, 4x, as JSONL files with fresh ids.

For each factor k the archive's reviews are written k times (copy c gets ids
``c-<split>/<label>/<name>``): ``train.jsonl`` (k x 25,000 labelled reviews),
``test.jsonl`` (k x 25,000) and ``unsup.txt`` (k x 50,000 lines), one file each,
so the job reads them in blocks (``preprocess.read_block_mb``). The job runs
from process start; a sampler reads the peak resident memory (``VmHWM``) of
the job and of every process it starts, twice a second. Linear scaling means
wall time / k stays flat; memory that does not grow with the corpus means the
largest process's peak stays flat. The corpus files are written before the
clock starts and are not part of any figure.

    python benchmarks/preprocess_scaling.py --archive ../shared/data/aclImdb_v1.tar.gz --factors 1 2 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

SPLITS = ("train", "test")


def reviews(archive: str) -> list[tuple[str, str, str, str]]:
    """``(split, label, name, text)`` of every review in the archive (text on one line)."""
    found = []
    with tarfile.open(archive, "r|*") as members:
        for member in members:
            parts = member.name.split("/")
            if member.isfile() and len(parts) >= 3 and parts[-3] in SPLITS and parts[-2] in ("pos", "neg", "unsup"):
                text = members.extractfile(member).read().decode("utf-8", errors="replace")
                found.append((parts[-3], parts[-2], parts[-1][:-4], " ".join(text.split())))
    return found


def write_corpus(folder: Path, corpus: list[tuple[str, str, str, str]], factor: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"train": folder / "train.jsonl", "test": folder / "test.jsonl", "unsup": folder / "unsup.txt"}
    handles = {name: open(path, "w", encoding="utf-8") for name, path in paths.items()}
    try:
        for copy in range(factor):
            for split, label, name, text in corpus:
                if label == "unsup":
                    handles["unsup"].write(text + "\n")
                else:
                    handles[split].write(json.dumps({"id": f"{copy}-{split}/{label}/{name}", "text": text, "label": label}) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return paths


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_job(paths: dict[str, Path], workdir: Path) -> dict:
    command = [sys.executable, "-c", "from workflow.cli import preprocess; preprocess()", "data=jsonl", f"data.path={paths['train']}",
               f"data.splits.test={paths['test']}", f"data.unlabelled=[{paths['unsup']}]", "data.id_field=id", f"workdir={workdir}"]
    peaks: dict[int, float] = {}
    started = time.perf_counter()
    log_path = workdir.parent / "wf-preprocess.log"
    log = open(log_path, "wb")  # the job's output, for when it fails
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in descendants(process.pid):
                peak = peak_rss_mb(pid)
                if peak is not None:
                    peaks[pid] = max(peaks.get(pid, 0.0), peak)
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = process.wait()
    log.close()
    if status != 0:
        raise SystemExit(f"wf-preprocess failed (its output: {log_path}): {' '.join(command)}")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    stats = json.loads((workdir / "preprocess" / "stats.json").read_text())
    tokens = sum(row["tokens"] for row in stats["splits"].values())
    return {
        "wall_s": round(seconds, 1),
        "records": stats["totals"]["records_read"],
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds),
        "processes": len(peaks),
        "peak_rss_mb_largest_process": round(max(peaks.values())),
        "peak_rss_mb_per_process": sorted(round(value) for value in peaks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default="../shared/data/aclImdb_v1.tar.gz")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--folder", default=None, help="where the corpora and workdirs go (default: a temporary folder)")
    args = parser.parse_args()

    corpus = reviews(args.archive)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(args.folder or temporary)
        results = {}
        for factor in args.factors:
            paths = write_corpus(root / f"x{factor}", corpus, factor)
            workdir = root / f"x{factor}" / "work"
            shutil.rmtree(workdir, ignore_errors=True)  # a finished workdir of an earlier run would be nothing to measure
            result = run_job(paths, workdir)
            result["wall_s_per_1x"] = round(result["wall_s"] / factor, 1)
            results[f"{factor}x"] = result
            print(f"{factor}x: {json.dumps(result)}", file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
