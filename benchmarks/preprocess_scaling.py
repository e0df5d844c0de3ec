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
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from process_memory import run_sampled
from workflow.preprocess.output import PreprocessOutput

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


def run_job(paths: dict[str, Path], workdir: Path) -> dict:
    command = [sys.executable, "-c", "from workflow.cli import preprocess; preprocess()", "data=jsonl", f"data.path={paths['train']}",
               f"data.splits.test={paths['test']}", f"data.unlabelled=[{paths['unsup']}]", "data.id_field=id", f"workdir={workdir}"]
    seconds, peaks = run_sampled(command, workdir.parent / "wf-preprocess.log")  # the job's output, for when it fails
    stats = PreprocessOutput(str(workdir)).stats()
    tokens = sum(row["tokens"] for row in stats["splits"].values())
    return {
        "wall_s": round(seconds, 1),
        "records": stats["totals"]["records_read"],
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds),
        "processes": len(peaks),
        "peak_rss_mb_largest_process": max(peaks),
        "peak_rss_mb_per_process": peaks,
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
