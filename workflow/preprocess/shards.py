"""A deterministic sharded writer: same elements -> byte-identical files.

Beam's file sinks write elements in whatever order bundles arrive, which
differs between runs and runners. Training results (seeded shuffles, gensim
with one worker) depend on that order, so here each element goes to a shard
chosen by the fingerprint of its key and each shard is sorted by key before
it is written. Gzip headers carry no name or time.
"""

from __future__ import annotations

import gzip
from typing import Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.preprocess.examples import tfrecord_frame
from workflow.preprocess.records import fingerprint

LINES, TFRECORD = "lines", "tfrecord"


def shard_path(prefix: str, shard: int, suffix: str) -> str:
    return f"{prefix}-{shard:05d}{suffix}"


class _WriteShard(beam.DoFn):
    def __init__(self, prefix: str, suffix: str, record_format: str, compress: bool):
        self._prefix, self._suffix = prefix, suffix
        self._record_format, self._compress = record_format, compress

    def process(self, shard_parts: tuple[int, Iterable[list[tuple[str, bytes]]]]) -> Iterator[int]:
        shard, parts = shard_parts
        ordered = sorted(item for part in parts for item in part)
        frame = tfrecord_frame if self._record_format == TFRECORD else (lambda payload: payload + b"\n")
        path = shard_path(self._prefix, shard, self._suffix)
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            sink = gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6, mtime=0, filename="") if self._compress else handle
            for _, payload in ordered:
                sink.write(frame(payload))
            if self._compress:
                sink.close()
        yield len(ordered)


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

        def by_shard(batch: list[tuple[str, bytes]]) -> Iterator[tuple[int, list[tuple[str, bytes]]]]:
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
