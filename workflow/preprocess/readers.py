"""Beam readers: every supported corpus layout -> ``PCollection[RawRecord]``.

* aclImdb, as a folder or straight from the ``.tar.gz`` (streamed, never unpacked):
  ``<root>/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt``;
* CSV and JSONL with configurable text/label/id/rating fields;
* plain text, one unlabelled document per line.

Files are opened through Beam's FileSystems, so globs, ``.gz`` inputs and
remote paths (``gs://``...) work the same. A record that cannot be read is
emitted with ``error`` set and rejected downstream; a file or archive that
cannot be read at all raises :class:`InputError` naming it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import posixpath
import re
import zlib
from typing import Callable, Iterator, Optional

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from workflow.config import CorpusFormat, DataConfig
from workflow.errors import InputError
from workflow.preprocess import tar_stream
from workflow.preprocess.line_blocks import Block, count_newlines, file_blocks, numbered, read_block
from workflow.preprocess.records import RawRecord

ACLIMDB_SPLITS = ("train", "test")
ACLIMDB_LABELS = ("pos", "neg", "unsup")
URL_FILES = {"urls_pos.txt": "pos", "urls_neg.txt": "neg"}  # train/: each review's film, line i = review i (films.py)
UrlFileSink = Callable[[str, str], None]  # (label, text of train/urls_<label>.txt)
_ACLIMDB_NAME = re.compile(r"(\d+)_(\d+)\.txt")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default (131,072 characters) would fail a whole file on one long review


def _decode(data: bytes) -> str:
    # surrogateescape keeps undecodable bytes as lone surrogates, so the parser
    # can reject exactly the records that hold them instead of failing the file.
    return data.decode("utf-8", errors="surrogateescape")


# --------------------------------------------------------------------------- aclImdb


def is_review(member: str) -> bool:
    """Whether a path ends in ``<train|test>/<pos|neg|unsup>/<name>.txt`` (README, imdb.vocab... are not)."""
    parts = member.split("/")
    return len(parts) >= 3 and parts[-3] in ACLIMDB_SPLITS and parts[-2] in ACLIMDB_LABELS and parts[-1].endswith(".txt")


def aclimdb_record(member: str, data: Optional[bytes], error: Optional[str] = None) -> RawRecord:
    """RawRecord for a review file path (``is_review(member)`` holds)."""
    split, label, name = member.split("/")[-3:]
    doc_id = f"{split}/{label}/{name[:-4]}"
    match = _ACLIMDB_NAME.fullmatch(name)
    if error is None and match is None:
        error = "file name is not <id>_<rating>.txt"
    return RawRecord(
        doc_id=doc_id,
        split="unsup" if label == "unsup" else split,
        source=member,
        text=None if data is None else _decode(data),
        label=None if label == "unsup" else label,
        rating=int(match.group(2)) if match else 0,
        error=error,
    )


def read_archive_part(path: str, part: int, parts: int, on_url_file: Optional[UrlFileSink] = None) -> Iterator[RawRecord]:
    """Stream one aclImdb archive and yield the review members of one part.

    ``on_url_file(label, text)`` is given each ``train/urls_<label>.txt`` as
    the stream passes it (films.py), after every review in aclImdb's order.

    A gzip stream cannot be split, so each of ``parts`` workers streams the
    whole archive (tar_stream.py keeps a pass near the cost of decompressing
    it) and keeps every ``parts``-th review: decoding, tokenising and
    counting, the costly steps, are divided among the workers and stay fused
    with the read, so no raw text is shuffled between processes.
    """
    index = -1
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            for member in tar_stream.members(handle):
                if on_url_file is not None and member.is_file and _is_train_url_file(member.name):
                    on_url_file(URL_FILES[posixpath.basename(member.name)], member.read().decode("utf-8", errors="replace"))
                if member.is_dir or not is_review(member.name):
                    continue
                index += 1
                if index % parts == part:
                    yield _archive_record(path, member)
    except (tar_stream.TarFormatError, EOFError, zlib.error, OSError) as error:
        raise InputError(f"{path}: truncated or corrupt archive ({type(error).__name__}: {error})") from error


def _is_train_url_file(member: str) -> bool:
    parts = member.split("/")
    return len(parts) >= 2 and parts[-2] == "train" and parts[-1] in URL_FILES


def _archive_record(path: str, member: tar_stream.Member) -> RawRecord:
    source = f"{path}!{member.name}"
    if not member.is_file:
        return aclimdb_record(member.name, None, "unreadable member: not a regular file")._replace(source=source)
    return aclimdb_record(member.name, member.read())._replace(source=source)


def read_review_file(path: str) -> Iterator[RawRecord]:
    """One review file of an aclImdb folder."""
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            data, error = handle.read(), None
    except OSError as failure:
        data, error = None, f"unreadable file: {failure}"
    yield aclimdb_record(path.replace("\\", "/"), data, error)._replace(source=path)


def aclimdb_root(path: str) -> str:
    """The aclImdb folder: ``path`` itself, or its ``aclImdb`` child."""
    nested = FileSystems.join(path, "aclImdb")
    return nested if FileSystems.exists(nested) else path


def aclimdb_folder_patterns(root: str) -> list[str]:
    """Globs of the review files under an aclImdb folder (or its parent)."""
    root = aclimdb_root(root)
    return [FileSystems.join(root, split, label, "*.txt") for split in ACLIMDB_SPLITS for label in ACLIMDB_LABELS]


def is_archive(path: str) -> bool:
    return path.endswith(_ARCHIVE_SUFFIXES)


# --------------------------------------------------------------------------- CSV / JSONL / text


class _FieldRecords:
    """RawRecords of one split from CSV rows or JSON objects (``fields``: column -> value)."""

    def __init__(self, data: DataConfig, split: str):
        self._data = data
        self._split = split

    def record(self, path: str, number: int, fields: dict) -> RawRecord:
        data = self._data
        name = posixpath.basename(path)
        doc_id = str(fields.get(data.id_field)) if data.id_field and fields.get(data.id_field) not in (None, "") else f"{name}:{number}"
        text = fields.get(data.text_field)
        error = None
        if data.text_field not in fields:
            error = f"missing text field {data.text_field!r}"
        elif text is not None and not isinstance(text, str):
            error = f"text field {data.text_field!r} is not a string"
        label = fields.get(data.label_field)
        rating, rating_error = _rating(fields.get(data.rating_field) if data.rating_field else None)
        return RawRecord(
            doc_id=doc_id,
            split=self._split,
            source=f"{path}:{number}",
            text=text if error is None else None,
            label=None if label in (None, "") else str(label),
            rating=rating,
            error=error or rating_error,
        )

    def rejected(self, path: str, number: int, reason: str) -> RawRecord:
        return RawRecord(f"{posixpath.basename(path)}:{number}", self._split, f"{path}:{number}", None, None, 0, reason)


class _CsvFile:
    """One CSV file (``.gz`` decompressed by extension) -> RawRecords. One reader a file: a quoted field may hold newlines."""

    def __init__(self, data: DataConfig, split: str):
        self._data = data
        self._records = _FieldRecords(data, split)

    def records(self, path: str) -> Iterator[RawRecord]:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            stream = io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")
            try:
                yield from self._csv_records(path, stream)
            except (OSError, EOFError, zlib.error, csv.Error) as error:
                raise InputError(f"{path}: cannot read ({type(error).__name__}: {error})") from error

    def _csv_records(self, path: str, stream: io.TextIOBase) -> Iterator[RawRecord]:
        """One record per row; a row the csv module cannot parse is a rejected record, and reading goes on."""
        csv.field_size_limit(CSV_FIELD_LIMIT)  # a review of any length is a field, not an error (the trainer truncates)
        reader = csv.DictReader(stream, delimiter=self._data.csv_delimiter)
        if reader.fieldnames is None:
            return
        if self._data.text_field not in reader.fieldnames:
            raise InputError(f"{path}: no column {self._data.text_field!r} (data.text_field); columns: {reader.fieldnames}")
        number = 0
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield self._records.rejected(path, number, f"unreadable CSV row (line {reader.line_num}): {error}")
                continue
            row.pop(None, None)  # surplus cells of a ragged row
            yield self._records.record(path, number, row)


class _LineFile:
    """Lines of a JSONL or text file -> RawRecords (line_blocks.py reads the lines of a block)."""

    def __init__(self, data: DataConfig, file_format: CorpusFormat, split: str):
        self._format = file_format
        self._split = split
        self._records = _FieldRecords(data, split)

    def records(self, numbered_block: tuple[Block, int]) -> Iterator[RawRecord]:
        for path, number, data in read_block(numbered_block):
            yield from self._record(path, number, data)

    def _record(self, path: str, number: int, data: bytes) -> Iterator[RawRecord]:
        line = _decode(data).rstrip("\r\n")
        if self._format is CorpusFormat.text:
            yield RawRecord(f"{posixpath.basename(path)}:{number}", self._split, f"{path}:{number}", line, None, 0)
            return
        if not line.strip():
            return
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            yield self._records.rejected(path, number, f"invalid JSON: {error.msg} at column {error.colno}")
            return
        if not isinstance(fields, dict):
            yield self._records.rejected(path, number, "JSON line is not an object")
        else:
            yield self._records.record(path, number, fields)


def _rating(value: object) -> tuple[int, Optional[str]]:
    if value in (None, ""):
        return 0, None
    try:
        return int(float(str(value))), None
    except ValueError:
        return 0, f"rating {value!r} is not a number"


# --------------------------------------------------------------------------- entry point


def _match(pattern: str) -> list[FileMetadata]:
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception as error:  # Beam raises BeamIOError for a missing single path
        raise InputError(f"data.path={pattern!r}: no such file or folder ({error})") from None
    if not found:
        raise InputError(f"data.path={pattern!r}: no such file or folder")
    return sorted(found, key=lambda meta: meta.path)


def matched_paths(pattern: str) -> list[str]:
    """Files a path or glob names; InputError naming it when there are none."""
    return [meta.path for meta in _match(pattern)]


def input_files(data: DataConfig) -> list[FileMetadata]:
    """Every file the corpus config names; InputError naming the path that names nothing."""
    if data.format is CorpusFormat.aclimdb and not is_archive(data.path):
        found = review_files(data.path)
        if not found:
            raise InputError(f"data.path={data.path!r}: no aclImdb review files (<split>/<pos|neg|unsup>/*.txt) found")
        # The url files decide which reviews go to validation (films.py): they are inputs too.
        url_files = [FileSystems.join(aclimdb_root(data.path), "train", name) for name in URL_FILES]
        found += [meta for url_file in url_files for meta in FileSystems.match([url_file])[0].metadata_list]
    else:
        found = _match(data.path)
    for pattern in [*data.splits.given().values(), *data.unlabelled]:
        found += _match(pattern)
    return found


Task = tuple  # (kind, split, format, what to read): cheap to move between workers


def corpus_tasks(data: DataConfig, parallelism: int, block_bytes: int) -> list[Task]:
    """The read tasks of the configured corpus, in a fixed order (their index names their output files).

    Archive parts, groups of review files of about ``block_bytes``, CSV files,
    and byte ranges of JSONL or text files (numbered in the pipeline:
    :class:`CorpusTasks`).
    """
    tasks: list[Task] = []
    if data.format is CorpusFormat.aclimdb and is_archive(data.path):
        tasks += [("archive", None, None, (path, part, parallelism)) for path in matched_paths(data.path) for part in range(parallelism)]
    elif data.format is CorpusFormat.aclimdb:
        tasks += [("reviews", None, None, group) for group in _size_groups(review_files(data.path), block_bytes)]
    else:
        for split, pattern in {data.split.value: data.path, **data.splits.given()}.items():
            if data.format is CorpusFormat.csv:
                tasks += [("csv", split, None, path) for path in matched_paths(pattern)]
            else:
                tasks += _line_tasks(data.format.value, split, pattern, block_bytes)
    for pattern in data.unlabelled:
        tasks += _line_tasks(CorpusFormat.text.value, "unsup", pattern, block_bytes)
    return tasks


def _line_tasks(file_format: str, split: str, pattern: str, block_bytes: int) -> list[Task]:
    return [("lines", split, file_format, block) for meta in _match(pattern) for block in file_blocks(meta.path, meta.size_in_bytes, block_bytes)]


def _size_groups(files: list[FileMetadata], block_bytes: int) -> list[tuple[str, ...]]:
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

    def __init__(self, data: DataConfig, parallelism: int, block_bytes: int = 64 << 20):
        super().__init__()
        self._tasks = list(enumerate(corpus_tasks(data, parallelism, block_bytes)))
        self._blocks = [what for _, (kind, _, _, what) in self._tasks if kind == "lines"]

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


class ReadCorpus(beam.PTransform):
    """All documents of the configured corpus (+ extra unlabelled text) as RawRecords, read task by task."""

    def __init__(self, data: DataConfig, parallelism: int, block_bytes: int = 64 << 20):
        super().__init__()
        self._data = data
        self._tasks = CorpusTasks(data, parallelism, block_bytes)

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection[RawRecord]:
        return pipeline | "Tasks" >> self._tasks | "ReadTasks" >> beam.FlatMap(lambda indexed, data: read_task(indexed[1], data), self._data)


def review_files(root: str) -> list[FileMetadata]:
    """Every review file of an aclImdb folder, sorted by path."""
    found = [meta for pattern in aclimdb_folder_patterns(root) for meta in FileSystems.match([pattern])[0].metadata_list]
    return sorted(found, key=lambda meta: meta.path)


def read_task(task: Task, data: DataConfig, on_url_file: Optional[UrlFileSink] = None) -> Iterator[RawRecord]:
    """The records of one read task, in the order of its input; ``on_url_file``: see :func:`read_archive_part`."""
    kind, split, file_format, what = task
    if kind == "archive":
        return read_archive_part(*what, on_url_file)
    if kind == "reviews":
        return (record for path in what for record in read_review_file(path))
    if kind == "csv":
        return _CsvFile(data, split).records(what)
    return _LineFile(data, CorpusFormat(file_format), split).records(what)
