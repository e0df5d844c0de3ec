"""The corpus as read tasks, and the records each task reads: :func:`corpus_tasks` splits the input into tasks (archive
parts, groups of review files, CSV files, byte ranges of JSONL and text files), :class:`CorpusTasks` puts them into
the pipeline, and :func:`read_task` yields one task's ``RawRecord`` s inside the worker that tokenises them
(task_outputs.py): records never become a PCollection. The formats:

* aclImdb, as a folder or straight from the ``.tar.gz`` (streamed, never unpacked):
  ``<root>/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt``;
* CSV and JSONL with configurable text/label/id/rating fields;
* plain text, one unlabelled document per line.

A worker opens files through Beam's FileSystems (configured by the job's
options), the driver through the stage's ``Storage`` (workflow/storage.py), so
remote paths (``gs://``...) work the same; a path of the config names a file literally before it is
read as a pattern, and every entry a pattern matches is classified before
anything opens it (input_paths.py). Compressed inputs are read to their
verified end (compressed.py). A record that cannot be read is emitted with
``error`` set and rejected downstream, and so is an entry that is no
readable file (a folder, a pipe, a broken link...); a file or archive that
cannot be read at all raises :class:`InputError` naming it.

Records are counted where they are read, not as the parser yields them: each
read task tallies, per input file, its physical lines (blank, header, in
records) and records, or its review members (:func:`read_task`). A CSV file is
framed line by line (csv_records.py), so a bad quote costs one row. A UTF-8
BOM at the start of a file is dropped, and every field value is checked
before it can reach an example (:class:`_FieldRecords`).
"""

from __future__ import annotations

import json
import math
import pickle
import posixpath
import re
import tempfile
import zlib
from typing import IO, Callable, Iterator, Optional

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.artifacts import join
from workflow.errors import InputError
from workflow.preprocess import tar_stream
from workflow.preprocess.columns import FIELDS_LISTED, check_header, required_fields
from workflow.preprocess.compressed import DamagedStream, check_supported, damaged, open_input
from workflow.preprocess.read_progress import counted, task_bytes
from workflow.preprocess.counting import FileCounts
from workflow.preprocess.csv_records import BOM, CsvFraming, decode
from workflow.preprocess.input_paths import Matched, folder_entries, matched
from workflow.preprocess.line_blocks import Block, count_newlines, file_blocks, numbered, read_block
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import ACLIMDB, CSV, JSONL, TEXT, CorpusSettings
from workflow.preprocess.shards import unpickled
from workflow.storage import IN_JOB, FileInfo, Storage

ACLIMDB_SPLITS = ("train", "test")
ACLIMDB_LABELS = ("pos", "neg", "unsup")
URL_FILES = {"urls_pos.txt": "pos", "urls_neg.txt": "neg"}  # train/: each review's film, line i = review i (films.py)
UrlFileSink = Callable[[str, str], None]  # (label, text of train/urls_<label>.txt)
_ACLIMDB_NAME = re.compile(r"(\d+)_(\d+)\.txt")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
WAITING_BATCH = 1024  # archive members pickled together while a part waits for the end of its stream
Tally = dict  # input file -> counting.FileCounts: what one read task saw of each file it read (see read_task)


def _tally(tally: Optional[Tally], path: str, kind: str) -> FileCounts:
    if tally is None:
        return FileCounts(kind)
    return tally.setdefault(path, FileCounts(kind))


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
        text=None if data is None else decode(data),
        label=None if label == "unsup" else label,
        rating=int(match.group(2)) if match else 0,
        error=error,
    )


def read_archive_part(path: str, part: int, parts: int, on_url_file: Optional[UrlFileSink] = None,
                      tally: Optional[Tally] = None) -> Iterator[RawRecord]:
    """Stream one aclImdb archive and yield the review members of one part, once the whole stream is read.

    ``on_url_file(label, text)`` is given each ``train/urls_<label>.txt`` as
    the stream passes it (films.py), after every review in aclImdb's order.

    A gzip stream cannot be split, so each of ``parts`` workers streams the
    whole archive (tar_stream.py keeps a pass near the cost of decompressing
    it) and keeps every ``parts``-th review: decoding, tokenising and
    counting, the costly steps, are divided among the workers and stay fused
    with the read, so no raw text is shuffled between processes. ``tally``
    counts the review members of this part under the archive's path.

    A member that appears more than once (``tar rf`` appends a new copy of a
    file) is kept as ``tar`` extracts it: the last copy. Every earlier copy is
    read, counted and rejected with the position of the copy that replaces it,
    so an archive and the folder it unpacks to give the same documents. So the
    part's records wait in a temporary file of the worker until the stream
    has ended (and the url files, which come after the reviews, are known).
    A folder member named like a review is counted and rejected too.
    """
    counts = _tally(tally, path, "members")
    last_copy: dict[str, int] = {}  # member name -> position of its last copy among the archive's review members
    index = -1
    with tempfile.TemporaryFile() as waiting:
        batch: list[tuple[int, str, bool, Optional[bytes]]] = []  # pickled a batch at a time: a third of the cost of one by one
        try:
            with counted(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)) as handle:
                for member in tar_stream.members(handle):
                    if on_url_file is not None and member.is_file and _is_train_url_file(member.name):
                        on_url_file(URL_FILES[posixpath.basename(member.name)], member.read().decode("utf-8", errors="replace"))
                    if not is_review(member.name):
                        continue
                    index += 1
                    last_copy[member.name] = index
                    if index % parts == part:
                        counts.records += 1
                        batch.append((index, member.name, member.is_dir, member.read() if member.is_file else None))  # raw bytes
                        if len(batch) == WAITING_BATCH:
                            pickle.dump(batch, waiting, protocol=pickle.HIGHEST_PROTOCOL)
                            batch = []
        except (tar_stream.TarFormatError, EOFError, zlib.error, OSError) as error:
            raise InputError(f"{path}: truncated or corrupt archive ({type(error).__name__}: {error})") from error
        pickle.dump(batch, waiting, protocol=pickle.HIGHEST_PROTOCOL)
        waiting.seek(0)
        for position, name, is_dir, data in (member for batch in unpickled(waiting) for member in batch):
            record = _archive_record(path, name, is_dir, data)
            if last_copy[name] != position:
                record = record._replace(text=None, error=f"repeated archive member: review member {last_copy[name] + 1} of the "
                                                          "archive is a later copy of it, which is kept (as tar extracts the last copy)")
            yield record


def _is_train_url_file(member: str) -> bool:
    parts = member.split("/")
    return len(parts) >= 2 and parts[-2] == "train" and parts[-1] in URL_FILES


def _archive_record(path: str, name: str, is_dir: bool, data: Optional[bytes]) -> RawRecord:
    """The record of review member ``name``: ``data`` holds a regular file's bytes, None for any other member."""
    error = "a folder, not a review file" if is_dir else "unreadable member: not a regular file" if data is None else None
    return aclimdb_record(name, data, error)._replace(source=f"{path}!{name}", input_file=path)


def read_review_file(path: str, tally: Optional[Tally] = None) -> Iterator[RawRecord]:
    """One review file of an aclImdb folder, counted under its folder (``<root>/<split>/<label>``)."""
    folder = posixpath.dirname(path.replace("\\", "/"))
    _tally(tally, folder, "members").records += 1
    try:
        with counted(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)) as handle:
            data, error = handle.read(), None
    except OSError as failure:
        data, error = None, f"unreadable file: {failure}"
    yield aclimdb_record(path.replace("\\", "/"), data, error)._replace(source=path, input_file=folder)


def aclimdb_root(path: str, storage: Storage = IN_JOB) -> str:
    """The aclImdb folder: ``path`` itself, or its ``aclImdb`` child."""
    nested = join(path, "aclImdb")
    return nested if storage.exists(nested) else path


def review_folders(root: str, storage: Storage = IN_JOB) -> list[str]:
    """The six folders of an aclImdb folder (or its parent) that hold reviews: ``<root>/<split>/<pos|neg|unsup>``."""
    root = aclimdb_root(root, storage)
    return [join(root, split, label) for split in ACLIMDB_SPLITS for label in ACLIMDB_LABELS]


def is_archive(path: str) -> bool:
    return path.endswith(_ARCHIVE_SUFFIXES)


# --------------------------------------------------------------------------- CSV / JSONL / text

INT64_MAX = 2**63 - 1  # the example's rating is an int64 feature


class _FieldRecords:
    """RawRecords of one split from CSV rows or JSON objects (``fields``: column -> value), every field value checked.

    A value that cannot go into an example is the record's ``error``, with the
    reason: an id that is a list or an object, or not UTF-8 (the record is then
    named ``<file>:<number>``); a label that is a list or an object; a rating
    that is not a finite, non-negative integer below 2**63 (:func:`rating_value`).
    """

    def __init__(self, data: CorpusSettings, split: str):
        self._split = split
        self._id, self._text, self._label, self._rating = data.id_field, data.text_field, data.label_field, data.rating_field
        self._name = ""  # basename of the file of the last record (one per reader)
        self._path = None

    def record(self, path: str, number: int, fields: dict, line: Optional[int] = None) -> RawRecord:
        """``number``: the record's number in its file (its default id); ``line``: its first line, when not ``number``."""
        error = doc_id = None
        raw_id = fields.get(self._id) if self._id else None
        if raw_id is not None and raw_id != "":
            if type(raw_id) in (list, dict):
                error = f"id field {self._id!r} is {_kind(raw_id)}, not a string or a number"
            else:
                raw_id = raw_id if type(raw_id) is str else str(raw_id)
                if raw_id.isascii() or _is_utf8(raw_id):
                    doc_id = raw_id
                else:
                    error = f"id field {self._id!r} is not UTF-8"
        if doc_id is None:
            doc_id = f"{self._basename(path)}:{number}"
        text = fields.get(self._text, _ABSENT)
        if text is _ABSENT:
            text, error = None, error or f"missing text field {self._text!r}"
        elif text is not None and type(text) is not str:
            error = error or f"text field {self._text!r} is not a string"
        label = fields.get(self._label)
        if label is not None and type(label) is not str:
            if type(label) in (list, dict):
                error, label = error or f"label field {self._label!r} is {_kind(label)}, not a string or a number", None
            else:
                label = str(label)
        rating, rating_error = rating_value(fields.get(self._rating)) if self._rating else (0, None)
        return RawRecord(doc_id, self._split, f"{path}:{number if line is None else line}", text if error is None else None,
                         label or None, rating, error or rating_error, path)

    def _basename(self, path: str) -> str:
        if path != self._path:
            self._path, self._name = path, posixpath.basename(path)
        return self._name

    def rejected(self, path: str, number: int, reason: str, line: Optional[int] = None) -> RawRecord:
        source = f"{path}:{number if line is None else line}"
        return RawRecord(f"{posixpath.basename(path)}:{number}", self._split, source, None, None, 0, reason, path)


_ABSENT = object()


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else "an object"


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")  # lone surrogates: undecodable bytes (surrogateescape) or a JSON "\ud800"
    except UnicodeEncodeError:
        return False
    return True


def rating_value(value: object) -> tuple[int, Optional[str]]:
    """``(rating, None)``, or ``(0, why it is refused)``: a rating is a finite integer in [0, 2**63), or empty (0 = unknown).

    ``"9"``, ``9`` and ``9.0`` are 9; ``7.5``, ``-3``, ``NaN``, ``Infinity``, ``1e30``, ``true`` and lists are refused.
    """
    if type(value) is int and 0 <= value <= INT64_MAX:
        return value, None
    if value is None or value == "":
        return 0, None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0, f"rating {value!r} is not a number"
    number: object = value
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return 0, f"rating {value!r} is not a number"
    if isinstance(number, float):
        if not math.isfinite(number):
            return 0, f"rating {value!r} is not a finite number"
        if not number.is_integer():
            return 0, f"rating {value!r} is not an integer"
        number = int(number)
    if not 0 <= number <= INT64_MAX:
        return 0, f"rating {value!r} is out of range (0 to 2**63-1)"
    return number, None


class _CsvFile:
    """One CSV file (decompressed by extension) -> RawRecords, framed line by line (csv_records.py)."""

    def __init__(self, data: CorpusSettings, split: str):
        self._data, self._split = data, split
        self._records = _FieldRecords(data, split)

    def records(self, path: str, tally: Optional[Tally] = None) -> Iterator[RawRecord]:
        counts = _tally(tally, path, "csv")
        lines_before = counts.lines
        try:
            with open_input(path) as stream:
                yield from self._csv_records(path, stream, counts)
        except DamagedStream as error:
            raise damaged(path, error, counts.lines - lines_before) from error
        except OSError as error:
            raise InputError(f"{path}: cannot read ({type(error).__name__}: {error})") from error

    def _csv_records(self, path: str, stream: IO[bytes], counts: FileCounts) -> Iterator[RawRecord]:
        """One record per framed record; one that does not frame is a rejected record, and reading goes on at its next line."""
        try:
            framing = CsvFraming(stream, self._data.csv_delimiter)
        except ValueError as error:
            raise InputError(f"{path}: cannot read the CSV {error}") from error
        try:
            header = framing.header
            if header is None:
                return
            check_header(path, header, self._data, self._split)
            for number, framed in enumerate(framing.records(), start=1):
                if framed.fields is None:
                    yield self._records.rejected(path, number, framed.error, framed.line)
                else:
                    yield self._records.record(path, number, dict(zip(header, framed.fields)), framed.line)
        finally:
            framing.close()
            frame = framing.counts
            counts.lines += frame.lines
            counts.blank_lines += frame.blank_lines
            counts.header_lines += frame.header_lines
            counts.records += frame.records
            counts.record_lines += frame.record_lines


def csv_header(path: str, delimiter: str, storage: Storage = IN_JOB) -> Optional[list[str]]:
    """The header of a CSV file as the reader frames it (None for a file with no non-blank line); InputError naming the
    file when it cannot be read or its header does not frame."""
    try:
        with open_input(path, storage) as stream:
            framing = CsvFraming(stream, delimiter)
            framing.close()
            return framing.header
    except (DamagedStream, OSError) as error:
        raise InputError(f"{path}: cannot read ({error})") from error
    except ValueError as error:
        raise InputError(f"{path}: cannot read the CSV {error}") from error


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


class _LineFile:
    """Lines of a JSONL or text file -> RawRecords (line_blocks.py reads the lines of a block).

    A blank line (ASCII whitespace only) is counted as blank, not as a record;
    a UTF-8 byte-order mark at the start of the file is dropped; a line with a
    NUL byte is rejected. The field names of every JSON object are tallied
    (columns.py checks that each field the config names is in one of them).
    """

    def __init__(self, data: CorpusSettings, file_format: str, split: str):
        self._format = file_format
        self._split = split
        self._records = _FieldRecords(data, split)
        self._named = frozenset(name for _, name in required_fields(data, split))

    def records(self, numbered_block: tuple[Block, int], tally: Optional[Tally] = None) -> Iterator[RawRecord]:
        counts = _tally(tally, numbered_block[0][0], "lines")
        for path, number, data in read_block(numbered_block):
            counts.lines += 1
            if number == 1 and data.startswith(BOM):  # line 1 is the start of the file, whichever block reads it
                data = data[len(BOM):]
            if not data or data.isspace():  # ASCII whitespace only; isspace stops at the first other byte, no copy
                counts.blank_lines += 1
                continue
            counts.records += 1
            counts.record_lines += 1
            yield self._record(path, number, data, counts)

    def _record(self, path: str, number: int, data: bytes, counts: FileCounts) -> RawRecord:
        if b"\0" in data:
            return self._records.rejected(path, number, "NUL byte in the line")
        line = decode(data).rstrip("\r\n")
        if self._format == TEXT:
            return RawRecord(f"{posixpath.basename(path)}:{number}", self._split, f"{path}:{number}", line, None, 0, None, path)
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            return self._records.rejected(path, number, f"invalid JSON: {error.msg} at column {error.colno}")
        except RecursionError:
            return self._records.rejected(path, number, "invalid JSON: nested too deeply")
        if not isinstance(fields, dict):
            return self._records.rejected(path, number, "JSON line is not an object")
        counts.objects += 1
        for name in fields:
            if name in counts.fields or name in self._named or len(counts.fields) < FIELDS_LISTED:
                counts.fields[name] = counts.fields.get(name, 0) + 1
        return self._records.record(path, number, fields)


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


def review_files(root: str, storage: Storage = IN_JOB) -> Matched:
    """Every review file of an aclImdb folder, sorted by path, and the entries named like one that are no readable file."""
    found = [folder_entries(folder, ".txt", storage) for folder in review_folders(root, storage)]
    return Matched(sorted((meta for one in found for meta in one.files), key=lambda meta: meta.path),
                   sorted(entry for one in found for entry in one.refused))


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
        return _CsvFile(data, split).records(what, tally)
    if kind == "refused":
        path, reason, counted_under = what
        _tally(tally, counted_under, "members" if counted_under != path else "unread").records += 1
        return iter([_refused_record(split, path, reason, counted_under)])
    return _LineFile(data, file_format, split).records(what, tally)
