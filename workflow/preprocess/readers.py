"""The corpus as read tasks, and the records each task reads.

:func:`corpus_tasks` splits the input into tasks (archive parts, groups of
review files, CSV files, byte ranges of JSONL and text files),
:class:`CorpusTasks` puts them into the pipeline, and :func:`read_task` yields
one task's ``RawRecord`` s inside the worker that tokenises them
(task_outputs.py): records never become a PCollection. Each format has its
reader: aclimdb.py (a folder, or straight from the ``.tar.gz``), csv_reader.py,
line_reader.py (JSONL and text); fields.py checks the field values of CSV
rows and JSON objects.

A worker opens files through Beam's FileSystems (configured by the job's
options), the driver through the stage's ``Storage`` (workflow/storage.py), so
remote paths (``gs://``...) work the same; a path of the config names a file
literally before it is read as a pattern, and every entry a pattern matches is
classified before anything opens it (input_paths.py). Compressed inputs are
read to their verified end (compressed.py). A record that cannot be read is
emitted with ``error`` set and rejected downstream, and so is an entry that
is no readable file (a folder, a pipe, a broken link...); a file or archive
that cannot be read at all raises :class:`InputError` naming it.

Records are counted where they are read, not as the parser yields them: each
read task tallies, per input file, its physical lines (blank, header, in
records) and records, or its review members (:func:`read_task`).
"""

from __future__ import annotations

import posixpath
from typing import Iterator, Optional

import apache_beam as beam

from workflow.artifacts import join
from workflow.errors import InputError
from workflow.preprocess.aclimdb import (URL_FILES, UrlFileSink, aclimdb_record, aclimdb_root, is_archive, read_archive_part,
                                         read_review_file, review_files)
from workflow.preprocess.columns import check_header
from workflow.preprocess.compressed import check_supported
from workflow.preprocess.counting import Tally, file_counts
from workflow.preprocess.csv_reader import CsvFile, csv_header
from workflow.preprocess.input_paths import Matched, folder_entries, matched
from workflow.preprocess.line_blocks import count_newlines, file_blocks, numbered
from workflow.preprocess.line_reader import LineFile
from workflow.preprocess.read_progress import task_bytes
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import ACLIMDB, CSV, JSONL, TEXT, CorpusSettings
from workflow.storage import IN_JOB, FileInfo, Storage


def check_csv_headers(data: CorpusSettings, storage: Storage = IN_JOB) -> None:
    """Before any work: every CSV file's header holds each field the config names, once (columns.py); InputError naming
    the file, the config key and the columns otherwise."""
    if data.format != CSV:
        return
    for split, key, pattern, file_format in _sources(data):
        for meta in matched(pattern, key, storage).files if file_format == CSV else ():
            header = csv_header(meta.path, data.csv_delimiter, storage)
            if header is not None:
                check_header(meta.path, header, data, split)


def _refused_record(split: str, path: str, reason: str, counted_under: str) -> RawRecord:
    """The one rejected record of an entry that is no readable file (input_paths.Refused), counted under ``counted_under``."""
    if counted_under != path:  # a review folder's entry: named as its review would be
        return aclimdb_record(path.replace("\\", "/"), None, reason)._replace(source=path, input_file=counted_under)
    return RawRecord(posixpath.basename(path), split, path, None, None, 0, reason, path)


# --------------------------------------------------------------------------- entry point


def _sources(data: CorpusSettings) -> list[tuple[str, str, str, str]]:
    """``(split, config key, path or pattern, format)`` of every source the config names, ``data.path`` first."""
    sources = [(data.split, "data.path", data.path, data.format)]
    sources += [(split, f"data.splits.{split}", pattern, data.format) for split, pattern in data.splits]
    return sources + [("unsup", f"data.unlabelled[{index}]", pattern, TEXT) for index, pattern in enumerate(data.unlabelled)]


def input_files(data: CorpusSettings, storage: Storage = IN_JOB) -> Matched:
    """Every file the corpus config names, and every entry its patterns match that is no readable file;
    InputError naming the config key whose path names nothing. ``storage``: the store's options, for paths on one."""
    if data.format == ACLIMDB and not is_archive(data.path):
        found = review_files(data.path, storage)
        if not found.files and not found.refused:
            raise InputError(f"data.path={data.path!r}: no aclImdb review files (<split>/<pos|neg|unsup>/*.txt) found")
        # The url files decide which reviews go to validation (films.py): they are inputs too.
        url_files = [meta for name in URL_FILES
                     for meta in folder_entries(join(aclimdb_root(data.path, storage), "train"), name, storage).files]
        files, refused = found.files + url_files, found.refused
        sources = _sources(data)[1:]  # data.path first: the folder's reviews, above
    else:
        files, refused, sources = [], [], _sources(data)
    for _, key, pattern, _ in sources:
        one = matched(pattern, key, storage)
        for meta in one.files:
            check_supported(meta.path, key)
        files += one.files
        refused += one.refused
    return Matched(files, refused)


Task = tuple  # (kind, split, format, what to read): cheap to move between workers


def corpus_tasks(data: CorpusSettings, parallelism: int, block_bytes: int) -> list[Task]:
    """The read tasks of the configured corpus, in a fixed order (their index names their output files).

    Archive parts, groups of review files of about ``block_bytes``, CSV files,
    byte ranges of JSONL or text files (numbered in the pipeline:
    :class:`CorpusTasks`), and one task per entry a pattern matched that is
    no readable file (its one rejected record).
    """
    tasks: list[Task] = []
    if data.format == ACLIMDB and is_archive(data.path):
        found = matched(data.path, "data.path")
        tasks += [("archive", None, None, (meta.path, part, parallelism)) for meta in found.files for part in range(parallelism)]
        tasks += [("refused", "train", None, (path, reason, path)) for path, reason in found.refused]
    elif data.format == ACLIMDB:
        found = review_files(data.path)
        tasks += [("reviews", None, None, group) for group in _size_groups(found.files, block_bytes)]
        tasks += [("refused", None, None, (path, reason, posixpath.dirname(path.replace("\\", "/")))) for path, reason in found.refused]
    for split, key, pattern, file_format in _sources(data)[1 if data.format == ACLIMDB else 0:]:  # aclImdb's data.path: above
        found = matched(pattern, key)
        if file_format == CSV:
            tasks += [("csv", split, None, meta.path) for meta in found.files]
        else:
            tasks += [("lines", split, file_format, block) for meta in found.files for block in file_blocks(meta.path, meta.size_in_bytes, block_bytes)]
        tasks += [("refused", split, None, (path, reason, path)) for path, reason in found.refused]
    return tasks


def json_files(tasks: list[Task]) -> dict[str, str]:
    """``{path: split}`` of the JSONL files the tasks read (columns.check_json_fields checks their fields)."""
    return {what[0]: split for kind, split, file_format, what in tasks if kind == "lines" and file_format == JSONL}


def _size_groups(files: list[FileInfo], block_bytes: int) -> list[tuple[str, ...]]:
    """Consecutive files in groups of about equal size, at most about ``block_bytes`` each (as line_blocks.file_blocks)."""
    total = sum(meta.size_in_bytes for meta in files)
    count = max(1, -(-total // block_bytes))
    groups: dict[int, list[str]] = {}
    start = 0
    for meta in files:  # a file goes to the group its first byte falls in
        groups.setdefault(start * count // max(total, 1), []).append(meta.path)
        start += meta.size_in_bytes
    return [tuple(paths) for _, paths in sorted(groups.items())]


class CorpusTasks(beam.PTransform):
    """``(task index, task)`` for every read task of the corpus (:func:`corpus_tasks`), spread over the workers.

    One ``Create``, no Flatten: Beam 2.77's in-process FnApiRunner with
    several workers loses elements of a Flatten of large PCollections that
    several stages write (``benchmarks/beam_flatten_loss.py`` shows it). The
    byte ranges of line files get the number of their first line here, from
    the newlines counted in every earlier range.
    """

    def __init__(self, data: CorpusSettings, parallelism: int, block_bytes: int = 64 << 20):
        super().__init__()
        self._tasks = list(enumerate(corpus_tasks(data, parallelism, block_bytes)))
        self._blocks = [what for _, (kind, _, _, what) in self._tasks if kind == "lines"]
        self.json_files = json_files([task for _, task in self._tasks])
        self.input_bytes = sum(task_bytes(task) for _, task in self._tasks)  # what the tasks will read (read_progress.py)

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection[tuple[int, Task]]:
        tasks = pipeline | "Tasks" >> beam.Create(self._tasks, reshuffle=False)
        if self._blocks:
            with_an_end = [block for block in self._blocks if block[2] is not None]
            newlines = pipeline | "BlocksWithAnEnd" >> beam.Create(with_an_end) | "CountNewlines" >> beam.Map(count_newlines)
            tasks = tasks | "NumberLines" >> beam.Map(_with_line_numbers, beam.pvalue.AsMultiMap(newlines))
        return tasks | "SpreadTasks" >> beam.Reshuffle()


def _with_line_numbers(indexed: tuple[int, Task], newlines: dict[str, list[tuple[int, int]]]) -> tuple[int, Task]:
    index, (kind, split, file_format, what) = indexed
    return (index, (kind, split, file_format, numbered(what, newlines))) if kind == "lines" else indexed


def read_task(task: Task, data: CorpusSettings, on_url_file: Optional[UrlFileSink] = None, tally: Optional[Tally] = None) -> Iterator[RawRecord]:
    """The records of one read task, in the order of its input; ``on_url_file``: see :func:`read_archive_part`.

    ``tally``: input file -> :class:`FileCounts`, filled as the records are
    read with what each file holds, counted independently of the parsing: its
    physical lines (blank, header, in records) and records, or its review
    members. Every record read is yielded once, with ``input_file`` set to its
    key, so ``records = written + rejected`` per file (pipeline.assemble_stats).
    """
    kind, split, file_format, what = task
    if kind == "archive":
        return read_archive_part(*what, on_url_file, tally)
    if kind == "reviews":
        return (record for path in what for record in read_review_file(path, tally))
    if kind == "csv":
        return CsvFile(data, split).records(what, tally)
    if kind == "refused":
        path, reason, counted_under = what
        file_counts(tally, counted_under, "members" if counted_under != path else "unread").records += 1
        return iter([_refused_record(split, path, reason, counted_under)])
    return LineFile(data, file_format, split).records(what, tally)
