"""Benchmark: what it costs one worker to hold its part of an aclImdb archive until the stream has ended.

The reader keeps the last copy of a repeated member, as ``tar`` does, so a
worker's reviews wait in a temporary file (as raw member bytes) until the
whole archive has streamed past (aclimdb.read_archive_part). The baseline
yields each review as it streams, the reader's behaviour before: the same
tar pass, the same records, nothing held. Runs alternate and medians are
compared, since this machine is noisy.

    python benchmarks/archive_waiting.py --archive ../shared/data/aclImdb_v1.tar.gz --parts 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.preprocess import tar_stream
from workflow.preprocess.aclimdb import _archive_record, is_review, read_archive_part
from workflow.preprocess.records import RawRecord


def streamed_part(path: str, part: int, parts: int) -> Iterator[RawRecord]:
    """The part's review records as the stream passes them, nothing held (no repeated member handled)."""
    index = -1
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        for member in tar_stream.members(handle):
            if is_review(member.name):
                index += 1
                if index % parts == part:
                    yield _archive_record(path, member.name, member.is_dir, member.read() if member.is_file else None)


def timed(records: Iterator[RawRecord]) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for _ in records)
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default="../shared/data/aclImdb_v1.tar.gz")
    parser.add_argument("--parts", type=int, default=2, help="preprocess.read_parallelism: the worker reads one part of this many")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    streamed, held = [], []
    for _ in range(args.repeats):
        seconds, streamed_count = timed(streamed_part(args.archive, 0, args.parts))
        streamed.append(seconds)
        seconds, held_count = timed(read_archive_part(args.archive, 0, args.parts))
        held.append(seconds)
        assert streamed_count == held_count
    print(f"{held_count} reviews in part 0 of {args.parts}: streamed {statistics.median(streamed):.2f} s, "
          f"held until the stream ends {statistics.median(held):.2f} s (x{statistics.median(held) / statistics.median(streamed):.2f}); "
          f"runs: {[round(s, 2) for s in streamed]} vs {[round(s, 2) for s in held]}")


if __name__ == "__main__":
    main()
