"""One file of lines sorted by key, whatever order the elements arrive in, in bounded memory.

Beam's file sinks write elements in whatever order bundles arrive, which
differs between runs and runners; ``rejected/rejected-00000.jsonl`` must be
the same bytes on every runner (the stage's outputs are, tested), so
:class:`WriteSortedLines` gathers its elements in one place and writes them
sorted by key. More than ``SPILL_BYTES`` of them are sorted the way a
database sorts what does not fit in memory: sorted runs spill to temporary
files and are merged while the file is written. The read tasks spill their
documents with the same pickled runs (task_outputs.py, :func:`unpickled`).
"""

from __future__ import annotations

import contextlib
import heapq
import pickle
import tempfile
from typing import IO, Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.errors import output_error

SPILL_BYTES = 64 << 20  # of keys and payloads held in memory while the file is sorted
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
        yield from heapq.merge(*map(unpickled, runs), buffer)


def _spill(items: list[Item], run: IO[bytes]) -> IO[bytes]:
    for item in items:
        pickle.dump(item, run, protocol=pickle.HIGHEST_PROTOCOL)
    run.seek(0)
    return run


def unpickled(handle: IO[bytes]) -> Iterator[Any]:
    """Every object pickled one after the other into ``handle``, from where it stands to its end."""
    while True:
        try:
            yield pickle.load(handle)
        except EOFError:
            return


class _WriteSorted(beam.DoFn):
    def __init__(self, path: str):
        self._path = path

    def process(self, keyed_parts: tuple[int, Iterable[list[Item]]]) -> Iterator[int]:
        written = 0
        try:
            with FileSystems.create(self._path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
                for _, payload in sorted_items(keyed_parts[1]):
                    handle.write(payload + b"\n")
                    written += 1
        except OSError as error:
            raise output_error(error, self._path) from error
        yield written


class WriteSortedLines(beam.PTransform):
    """Batches ``[(sort key, payload bytes)]`` -> one file at ``path``, a payload a line in key order; outputs the line count.

    No element, no file: readers glob for it.
    """

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, batches: beam.PCollection[list[Item]]) -> beam.PCollection[int]:
        return (
            batches
            | "OneKey" >> beam.Map(lambda batch: (0, batch))
            | "Gather" >> beam.GroupByKey()
            | "WriteSorted" >> beam.ParDo(_WriteSorted(self._path))
        )
