"""A deterministic sharded writer: same elements -> byte-identical files.

Beam's file sinks write elements in whatever order bundles arrive, which
differs between runs and runners. Training results (seeded shuffles, gensim
with one worker) depend on that order, so here each element goes to a shard
chosen by the fingerprint of its key and each shard is sorted by key before
it is written. Gzip headers carry no name or time. A shard larger than
``SPILL_BYTES`` is sorted the way a database sorts what does not fit in
memory: sorted runs spill to temporary files and are merged while the shard
is written, so no worker holds a whole shard.
"""

from __future__ import annotations

import contextlib
import gzip
import heapq
import pickle
import tempfile
from typing import IO, Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.preprocess.examples import tfrecord_frame
from workflow.preprocess.records import fingerprint

LINES, TFRECORD = "lines", "tfrecord"
SPILL_BYTES = 64 << 20  # of keys and payloads held in memory while a shard is sorted
Item = tuple[str, bytes]  # (sort key, payload)


def sorted_items(parts: Iterable[list[Item]], spill_bytes: int = SPILL_BYTES) -> Iterator[Item]:
    """Every item of ``parts`` in sorted order, with about ``spill_bytes`` of them in memory at a time."""
    with contextlib.ExitStack() as stack:
        runs: list[IO[bytes]] = []
        buffer: list[Item] = []
        size = 0
        for part in parts:
            for item in part:
                buffer.append(item)
                size += len(item[0]) + len(item[1])
                if size >= spill_bytes:
                    runs.append(_spill(sorted(buffer), stack.enter_context(tempfile.TemporaryFile())))
                    buffer, size = [], 0
        buffer.sort()
        yield from heapq.merge(*map(_read_run, runs), buffer)


def _spill(items: list[Item], run: IO[bytes]) -> IO[bytes]:
    for item in items:
        pickle.dump(item, run, protocol=pickle.HIGHEST_PROTOCOL)
    run.seek(0)
    return run


def _read_run(run: IO[bytes]) -> Iterator[Item]:
    while True:
        try:
            yield pickle.load(run)
        except EOFError:
            return


def shard_path(prefix: str, shard: int, suffix: str) -> str:
    return f"{prefix}-{shard:05d}{suffix}"


class _WriteShard(beam.DoFn):
    def __init__(self, prefix: str, suffix: str, record_format: str, compress: bool):
        self._prefix, self._suffix = prefix, suffix
        self._record_format, self._compress = record_format, compress

    def process(self, shard_parts: tuple[int, Iterable[list[Item]]]) -> Iterator[int]:
        shard, parts = shard_parts
        frame = tfrecord_frame if self._record_format == TFRECORD else (lambda payload: payload + b"\n")
        path = shard_path(self._prefix, shard, self._suffix)
        written = 0
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            sink = gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6, mtime=0, filename="") if self._compress else handle
            for _, payload in sorted_items(parts):
                sink.write(frame(payload))
                written += 1
            if self._compress:
                sink.close()
        yield written


class WriteSortedShards(beam.PTransform):
    """Batches ``[(sort_key, payload bytes)]`` -> ``<prefix>-NNNNN<suffix>`` files.

    Outputs one record count per shard written (sum them for the total).
    Shards that receive no element are not written, so readers glob the prefix.
    """

    def __init__(self, prefix: str, suffix: str, num_shards: int, record_format: str = LINES, compress: bool = False):
        super().__init__()
        self._prefix, self._suffix, self._num_shards = prefix, suffix, num_shards
        self._record_format, self._compress = record_format, compress

    def expand(self, batches: beam.PCollection) -> beam.PCollection[int]:
        num_shards = self._num_shards

        def by_shard(batch: list[Item]) -> Iterator[tuple[int, list[Item]]]:
            parts: dict[int, list] = {}
            for item in batch:
                parts.setdefault(int(fingerprint(item[0]) * num_shards), []).append(item)
            return iter(parts.items())

        return (
            batches
            | "AssignShards" >> beam.FlatMap(by_shard)
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteShard(self._prefix, self._suffix, self._record_format, self._compress))
        )
