"""Each read task writes its own output files, so no document passes through a shuffle.

A shuffle is where Beam's in-process FnApiRunner pays most: every element
goes through its single driver process and is held there in memory until
the next stage reads it (docs/results.md measured +750 MB per 100,000
reviews in the driver and the job at 2.3x a plain Counter). Here a task's
documents never leave the worker that reads them:

* :class:`TokenizeTask` reads one task (readers.py), parses, counts and
  writes what needs no vocabulary: the word2vec corpus lines of train and
  unsup (``corpus/<split>-<task>.txt``) and a spill file of the labelled
  documents; only counts, rejections and the spill's path leave it.
* :class:`EncodeTask` runs once the vocabulary exists: it reads one spill
  and writes ``examples/<split>-<task>.tfrecord.gz``.

Files are named by the task's index and written in the task's input order,
so the same input and read layout (``preprocess.read_parallelism``,
``read_block_mb``) give the same bytes on every runner and worker count;
a retried task rewrites the same files. Memory per worker is one task's
token counts, whatever the corpus size.
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import pickle
from typing import IO, Callable, Iterator, Optional, Union

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.artifacts import is_local
from workflow.errors import output_error
from workflow.preprocess import job_metrics
from workflow.preprocess.counting import FileCounts, SplitCounts
from workflow.preprocess.examples import VarintTable, encode_example, tfrecord_frame
from workflow.preprocess.films import films_in_url_file
from workflow.preprocess.films_tsv import write_films
from workflow.preprocess.layout import SPLITS, TRAINING_SIDE, UNSUP, PreprocessLayout
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.read_progress import TaskProgress
from workflow.preprocess.readers import Task, read_task
from workflow.preprocess.records import Document, RawRecord, Rejection, assign_split
from workflow.preprocess.settings import CorpusSettings
from workflow.preprocess.shards import unpickled

COUNTS, WRITTEN, REJECTED, FILMS, FILES = "counts", "written", "rejected", "films", "files"
SPILL_BATCH = 1024  # documents pickled together in a spill file
COMPRESS_LEVEL = 1  # of the example files: level 6 took 1.3x the time for files 1% smaller (IMDB)


class _LazyFiles:
    """One output file per key, created when its first record arrives (a task with no such record writes none)."""

    def __init__(self, stack: contextlib.ExitStack, path_of: Callable[[str], str], compress: bool = False):
        self._stack, self._path_of, self._compress = stack, path_of, compress
        self._files: dict[str, IO[bytes]] = {}
        self.counts: collections.Counter = collections.Counter()

    def write(self, key: str, data: bytes) -> None:
        handle = self._files.get(key)
        if handle is None:
            handle = self._stack.enter_context(FileSystems.create(self._path_of(key), compression_type=CompressionTypes.UNCOMPRESSED))
            if self._compress:  # no name or time in the header: the same records, the same bytes
                handle = self._stack.enter_context(gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0, filename=""))
            self._files[key] = handle
        handle.write(data)
        self.counts[key] += 1


class _TaskFiles:
    """What one task writes before the vocabulary exists: corpus lines, the spill of labelled documents, and its counts."""

    def __init__(self, stack: contextlib.ExitStack, layout: PreprocessLayout, index: int):
        self._stack = stack
        self.corpus = _LazyFiles(stack, lambda split: layout.corpus_file(split, index))
        self.spill_path = layout.spill_file(index)
        self.spill: Optional[IO[bytes]] = None
        self.counts: dict[str, SplitCounts] = collections.defaultdict(SplitCounts)
        self.sources: dict[str, FileCounts] = {}  # input file -> what the readers counted in it, and the outcomes
        self._labelled: list[Document] = []

    def add(self, document: Document) -> None:
        if document.split in TRAINING_SIDE:
            self.corpus.write(document.split, document.text.encode("utf-8") + b"\n")
        if document.split in SPLITS:
            self._labelled.append(document)
            if len(self._labelled) == SPILL_BATCH:
                self.flush()

    def flush(self) -> None:
        if self._labelled:
            if self.spill is None:
                self.spill = self._stack.enter_context(FileSystems.create(self.spill_path, compression_type=CompressionTypes.UNCOMPRESSED))
            pickle.dump(self._labelled, self.spill, protocol=pickle.HIGHEST_PROTOCOL)
            self._labelled = []


class TokenizeTask(beam.DoFn):
    """``(task index, task)`` -> files of its corpus lines and of its labelled documents; outputs:

    * main: ``(task index, spill path)`` when the task holds labelled documents;
    * ``counts``: ``(split, SplitCounts)`` for each split seen;
    * ``written``: ``("corpus/<split>", lines written)``;
    * ``rejected``: one ``Rejection`` per record that is dropped, with the reason;
    * ``films``: ``(reviews with a film, films)`` the validation split was carved by;
    * ``files``: ``(input file, FileCounts)`` for each input file the task read:
      its lines and records as the readers counted them, and how many were
      written and rejected.

    The first part of an aclImdb archive (task 0) also writes films.tsv
    (films_tsv.py) from the url files of train and test it streamed past: no
    second pass over the archive, and no stage of its own. A pattern matching
    several archives gives the first one's films (the stage warns: their
    reviews share names).

    ``films``: review -> film read before the job (an aclImdb folder's url
    files). ``films_in_archives``: an archive task learns them from the url
    files it streams past instead; the archive reader yields its reviews only
    once the whole stream is read (aclimdb.read_archive_part), so they are
    known by then.

    An ``OSError`` here is the output's (the readers turn their own into
    ``InputError``): it becomes a ``StorageError`` naming the file or folder
    and the cause, such as a full disk.
    """

    def __init__(self, data: CorpusSettings, parser: RecordParser, layout: PreprocessLayout,
                 validation_fraction: float, test_fraction: float, films: dict[str, str], films_in_archives: bool):
        self._data, self._parser, self._layout = data, parser, layout
        self._fractions, self._films, self._films_in_archives = (validation_fraction, test_fraction), films, films_in_archives

    def process(self, indexed: tuple[int, Task], repeated_ids: dict[int, list[tuple[int, str]]]) -> Iterator[Union[tuple[int, str], pvalue.TaggedOutput]]:
        """``repeated_ids``: task index -> ``(position, reason)`` of its records whose id another record keeps (leakage.py)."""
        index, task = indexed
        repeated = dict(repeated_ids[index])  # a MultiMap: [] for a task without one
        learns = self._films_in_archives and task[0] == "archive"
        films = {} if learns else self._films  # review -> film of the training reviews, which carve validation
        review_films: dict[str, str] = {}  # of train and test, from the url files an archive task streams past

        def on_url_file(split: str, label: str, text: str) -> None:
            found = films_in_url_file(label, text, split)
            review_films.update(found)
            if learns and split == "train":
                films.update(found)
        try:
            with contextlib.ExitStack() as stack:
                files = _TaskFiles(stack, self._layout, index)
                if is_local(self._layout.root):  # on an object store a count rewritten every second would cost more than it tells
                    stack.enter_context(TaskProgress(self._layout.progress_dir, index))
                for position, record in enumerate(read_task(task, self._data, on_url_file if task[0] == "archive" else None, files.sources)):
                    if position in repeated:
                        record = record._replace(error=repeated[position])
                    yield from self._take(record, films, files)
                files.flush()
                if review_films and index == 0:  # every part of an archive streams its url files; the first archive's first writes them
                    write_films(self._layout.films, review_films)
        except OSError as error:
            raise output_error(error, self._layout.root) from error
        for split, split_counts in files.counts.items():
            job_metrics.add(split, "read", split_counts.records_read)
            job_metrics.add(split, "rejected", split_counts.records_rejected)
            yield pvalue.TaggedOutput(COUNTS, (split, split_counts))
        for split, lines in files.corpus.counts.items():
            if split == UNSUP:  # the unlabelled split is written as corpus lines only; the others as examples (EncodeTask)
                job_metrics.add(split, "written", lines)
            yield pvalue.TaggedOutput(WRITTEN, (f"corpus/{split}", lines))
        yield pvalue.TaggedOutput(FILMS, (len(films), len(set(films.values()))))
        for path, file_counts in files.sources.items():
            yield pvalue.TaggedOutput(FILES, (path, file_counts))
        if files.spill is not None:
            yield index, files.spill_path

    def _take(self, record: RawRecord, films: dict[str, str], files: _TaskFiles) -> Iterator[pvalue.TaggedOutput]:
        """Split, parse and count one record; write it, or output why it is rejected."""
        record = assign_split(record, *self._fractions, films)
        split_counts = files.counts[record.split]
        split_counts.records_read += 1
        tokens = self._parser(record)
        source = files.sources.get(record.input_file)
        if isinstance(tokens, str):
            split_counts.records_rejected += 1
            if source is not None:
                source.rejected += 1
            yield pvalue.TaggedOutput(REJECTED, Rejection(record.doc_id, record.split, record.source, tokens))
            return
        split_counts.add(tokens)
        if source is not None:
            source.written += 1
        files.add(Document(record.doc_id, record.split, " ".join(tokens), self._parser.label(record), record.rating))


def spilled_documents(path: str) -> Iterator[Document]:
    """The documents :class:`TokenizeTask` spilled, in their order."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        for batch in unpickled(handle):
            yield from batch


class EncodeTask(beam.DoFn):
    """``(task index, spill path)`` + the vocabulary's VarintTable -> ``examples/<split>-<task>.tfrecord.gz``;
    outputs ``("examples/<split>", examples written)``."""

    def __init__(self, layout: PreprocessLayout):
        self._layout = layout

    def process(self, spilled: tuple[int, str], table: VarintTable) -> Iterator[tuple[str, int]]:
        index, path = spilled
        try:
            with contextlib.ExitStack() as stack:
                examples = _LazyFiles(stack, lambda split: self._layout.examples_file(split, index), compress=True)
                for document in spilled_documents(path):
                    example = encode_example(document.doc_id, document.label, document.rating, table.encode_ids(document.tokens))
                    examples.write(document.split, tfrecord_frame(example))
        except OSError as error:
            raise output_error(error, self._layout.root) from error
        for split, count in examples.counts.items():
            job_metrics.add(split, "written", count)
        return ((f"examples/{split}", count) for split, count in examples.counts.items())
