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
import tarfile
import zlib
from typing import Iterator, Optional

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from workflow.config import CorpusFormat, DataConfig
from workflow.errors import InputError
from workflow.preprocess.records import RawRecord

ACLIMDB_SPLITS = ("train", "test")
ACLIMDB_LABELS = ("pos", "neg", "unsup")
URL_FILES = {"urls_pos.txt": "pos", "urls_neg.txt": "neg"}  # train/: each review's film, line i = review i (films.py)
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


class _ReadAclImdbArchivePart(beam.DoFn):
    """Streams one aclImdb archive and yields the review members of one part.

    A gzip stream cannot be split, so each of ``parts`` workers streams the
    whole archive (tar headers cost ~2.6 s for IMDB's 100k members) and keeps
    every ``parts``-th review: decoding, tokenising and counting, the costly
    steps, are divided among the workers and stay fused with the read, so no
    raw text is shuffled between processes.
    """

    def process(self, path_part: tuple[str, int, int]) -> Iterator[RawRecord]:
        path, part, parts = path_part
        index = -1
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
                with tarfile.open(fileobj=handle, mode="r|*") as archive:
                    for member in archive:
                        if member.isdir() or not is_review(member.name):
                            continue
                        index += 1
                        if index % parts == part:
                            yield self._record(path, archive, member)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise InputError(f"{path}: truncated or corrupt archive ({type(error).__name__}: {error})") from error

    @staticmethod
    def _record(path: str, archive: tarfile.TarFile, member: tarfile.TarInfo) -> RawRecord:
        source = f"{path}!{member.name}"
        if not member.isfile():
            return aclimdb_record(member.name, None, "unreadable member: not a regular file")._replace(source=source)
        return aclimdb_record(member.name, archive.extractfile(member).read())._replace(source=source)


class _ReadAclImdbFile(beam.DoFn):
    def process(self, readable: fileio.ReadableFile) -> Iterator[RawRecord]:
        path = readable.metadata.path
        try:
            data, error = readable.read(), None
        except OSError as failure:
            data, error = None, f"unreadable file: {failure}"
        member = path.replace("\\", "/")
        if is_review(member):
            yield aclimdb_record(member, data, error)._replace(source=path)


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


class _ReadRecordFile(beam.DoFn):
    """One CSV, JSONL or text file (``.gz`` decompressed by extension) -> RawRecords."""

    def __init__(self, data: DataConfig, file_format: CorpusFormat, split: str):
        self._data = data
        self._format = file_format
        self._split = split

    def process(self, path: str) -> Iterator[RawRecord]:
        name = posixpath.basename(path)
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            stream = io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")
            try:
                if self._format is CorpusFormat.csv:
                    yield from self._csv_records(path, name, stream)
                elif self._format is CorpusFormat.jsonl:
                    yield from self._jsonl_records(path, name, stream)
                else:
                    yield from self._text_records(path, name, stream)
            except (OSError, EOFError, zlib.error, csv.Error) as error:
                raise InputError(f"{path}: cannot read ({type(error).__name__}: {error})") from error

    def _record(self, path: str, name: str, number: int, fields: dict) -> RawRecord:
        """RawRecord from one CSV row or JSON object (``fields``: column -> value)."""
        data = self._data
        doc_id = str(fields.get(data.id_field)) if data.id_field and fields.get(data.id_field) not in (None, "") else f"{name}:{number}"
        source = f"{path}:{number}"
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
            source=source,
            text=text if error is None else None,
            label=None if label in (None, "") else str(label),
            rating=rating,
            error=error or rating_error,
        )

    def _csv_records(self, path: str, name: str, stream: io.TextIOBase) -> Iterator[RawRecord]:
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
                yield RawRecord(f"{name}:{number}", self._split, f"{path}:{number}", None, None, 0, f"unreadable CSV row (line {reader.line_num}): {error}")
                continue
            row.pop(None, None)  # surplus cells of a ragged row
            yield self._record(path, name, number, row)

    def _jsonl_records(self, path: str, name: str, stream: io.TextIOBase) -> Iterator[RawRecord]:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as error:
                fields, reason = {}, f"invalid JSON: {error.msg} at column {error.colno}"
            else:
                reason = None if isinstance(fields, dict) else "JSON line is not an object"
            if reason:
                yield RawRecord(f"{name}:{number}", self._split, f"{path}:{number}", None, None, 0, reason)
            else:
                yield self._record(path, name, number, fields)

    def _text_records(self, path: str, name: str, stream: io.TextIOBase) -> Iterator[RawRecord]:
        for number, line in enumerate(stream, start=1):
            yield RawRecord(f"{name}:{number}", self._split, f"{path}:{number}", line.rstrip("\r\n"), None, 0)


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
        found = [meta for pattern in aclimdb_folder_patterns(data.path) for meta in FileSystems.match([pattern])[0].metadata_list]
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


class ReadCorpus(beam.PTransform):
    """All documents of the configured corpus (+ extra unlabelled text) as RawRecords."""

    def __init__(self, data: DataConfig, parallelism: int):
        super().__init__()
        self._data = data
        self._parallelism = parallelism

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection[RawRecord]:
        data = self._data
        sources = [self._main_source(pipeline, data, self._parallelism)]
        for index, pattern in enumerate(data.unlabelled):
            sources.append(
                pipeline
                | f"Unlabelled{index}Files" >> beam.Create(matched_paths(pattern))
                | f"SpreadUnlabelled{index}" >> beam.Reshuffle()
                | f"ReadUnlabelled{index}" >> beam.ParDo(_ReadRecordFile(data, CorpusFormat.text, "unsup"))
            )
        return sources | "AllSources" >> beam.Flatten()

    @staticmethod
    def _main_source(pipeline: beam.Pipeline, data: DataConfig, parallelism: int) -> beam.PCollection[RawRecord]:
        # Each source reshuffles what is cheap to move (paths, archive parts),
        # never the documents, so reading and parsing spread over the workers.
        fmt = data.format
        if fmt is CorpusFormat.aclimdb and is_archive(data.path):
            parts = [(path, part, parallelism) for path in matched_paths(data.path) for part in range(parallelism)]
            return (
                pipeline
                | "ArchiveParts" >> beam.Create(parts)
                | "SpreadParts" >> beam.Reshuffle()
                | "ReadArchive" >> beam.ParDo(_ReadAclImdbArchivePart())
            )
        if fmt is CorpusFormat.aclimdb:
            return (
                pipeline
                | "ReviewPatterns" >> beam.Create(aclimdb_folder_patterns(data.path))
                | "MatchReviews" >> fileio.MatchAll(empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
                | "SpreadReviews" >> beam.Reshuffle()
                | "OpenReviews" >> fileio.ReadMatches()
                | "ReadReviews" >> beam.ParDo(_ReadAclImdbFile())
            )
        by_split = {data.split.value: data.path, **data.splits.given()}
        return [
            pipeline
            | f"SourceFiles {split}" >> beam.Create(matched_paths(pattern))
            | f"SpreadFiles {split}" >> beam.Reshuffle()
            | f"ReadSourceFiles {split}" >> beam.ParDo(_ReadRecordFile(data, fmt, split))
            for split, pattern in by_split.items()
        ] | "AllSplitFiles" >> beam.Flatten()

