"""How far the Beam job has read its input, for the progress line of ``wf-preprocess`` and ``wf-run``.

The read tasks run in SDK workers (other processes, on a cluster other
machines) that share nothing with the submitter but the staging folder. So
each task counts the bytes it reads from its input files (:func:`counted`
wraps every file a reader opens; compressed files count their compressed
bytes, as their sizes do) and writes the count to
``<staging>/progress/<task>.json`` at most once a second; the submitter sums
those files while the job runs (:class:`ProgressWatcher`) against the bytes
its tasks will read (:func:`task_bytes`). The folder is deleted with the spill
files, before the manifest lists the output.

An archive is read whole by each of its ``preprocess.read_parallelism``
tasks, so it counts that many times; the encoding of the labelled documents,
after the vocabulary is built, is not in the count (it reads no input).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from typing import Any, BinaryIO, Callable, Iterator

from apache_beam.io.filesystems import FileSystems

from workflow.artifacts import join

WRITE_SECONDS = 1.0  # a task rewrites its count at most this often
POLL_SECONDS = 1.0  # the submitter sums the counts this often

_current = threading.local()  # the task this worker thread reads for (FnApiRunner threads share a process)


class TaskProgress:
    """One read task's bytes read, written to its file in the progress folder at most every :data:`WRITE_SECONDS`."""

    def __init__(self, progress_dir: str, task: int):
        self.path, self.bytes, self.written_at = join(progress_dir, f"{task:05d}.json"), 0, 0.0

    def add(self, count: int) -> None:
        self.bytes += count
        if time.monotonic() - self.written_at >= WRITE_SECONDS:
            self.write()

    def write(self) -> None:
        self.written_at = time.monotonic()
        with FileSystems.create(self.path + ".tmp") as handle:
            handle.write(json.dumps({"bytes": self.bytes}).encode())
        FileSystems.rename([self.path + ".tmp"], [self.path])

    def __enter__(self) -> "TaskProgress":
        _current.task = self
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _current.task = None
        self.write()


class _Counted(io.RawIOBase):
    """A readable stream whose reads add their byte counts to the current task's progress."""

    def __init__(self, raw: BinaryIO, task: TaskProgress):
        super().__init__()
        self._raw, self._task = raw, task

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[:len(data)] = data
        self._task.add(len(data))
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def counted(raw: BinaryIO) -> BinaryIO:
    """``raw``, counting what is read from it for the task this thread reads for (unchanged outside a task)."""
    task = getattr(_current, "task", None)
    return raw if task is None else io.BufferedReader(_Counted(raw, task), 1 << 16)


def task_bytes(task: tuple) -> int:
    """The bytes a read task (readers.corpus_tasks) reads from its input files."""
    kind, _, _, what = task
    if kind == "archive":
        return _size(what[0])
    if kind == "reviews":
        return sum(_size(path) for path in what)
    if kind == "lines":
        path, start, end = what[:3]
        return (end if end is not None else _size(path)) - start
    if kind == "csv":
        return _size(what)
    return 0  # "refused": an entry that is not read


def _size(path: str) -> int:
    return os.path.getsize(path) if FileSystems.get_scheme(path) in (None, "file") else FileSystems.match([path])[0].metadata_list[0].size_in_bytes


class ProgressWatcher:
    """In the submitter: sums the tasks' counts every :data:`POLL_SECONDS` into ``show(bytes_read)`` while the job runs."""

    def __init__(self, progress_dir: str, show: Callable[[int], None]) -> None:
        self._dir, self._show = progress_dir, show
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="read-progress", daemon=True)

    def __enter__(self) -> "ProgressWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._show(sum(_read_counts(self._dir)))


def _read_counts(progress_dir: str) -> Iterator[int]:
    try:
        found = FileSystems.match([join(progress_dir, "*.json")])[0].metadata_list
    except Exception:  # noqa: BLE001 - no count yet (the folder does not exist before the first task writes)
        return
    for metadata in found:
        try:
            with FileSystems.open(metadata.path) as handle:
                yield int(json.loads(handle.read())["bytes"])
        except (OSError, ValueError, KeyError):  # replaced while read: the next poll reads it
            continue
