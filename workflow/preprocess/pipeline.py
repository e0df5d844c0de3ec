"""The preprocessing job as composite transforms: :class:`Preprocess` (the whole job) of :class:`ReadCorpus`,
:class:`Tokenize`, :class:`BuildVocabulary` and :class:`Encode`; :func:`build_pipeline` adds it to the pipeline
``stage.run`` builds and runs, with the job's two single files (vocab.tsv, stats.json) written at its edge.

The steps that write files of their own for speed, one file a task and split
so that no document passes through a shuffle (task_outputs.py says why), are
one named transform each, whose docstring says what it writes::

    read tasks -> (ids -> repeated ids, CSV/JSONL with data.id_field: leakage.py) --v (side input)
    read tasks -> TokenizeTask -+-> corpus/<split>-<task>.txt (train, unsup)      written by the task's worker
                                +-> films.tsv (an aclImdb archive's first part: its url files)
                                +-> spill files -> EncodeTask -> examples/<split>-<task>.tfrecord.gz
                                +-> (split, SplitCounts) -> vocabulary ------------^ (side input), stats
                                +-> Rejection -> rejected/*.jsonl

Documents never pass through a shuffle (task_outputs.py says why); only
counts, rejections and file names do. Only the training side (train after
the validation/test carve-out, plus unsup) builds the vocabulary and the
word2vec corpus: validation and test text never does, and a record whose id
is also in test is rejected from the training side before it is counted.
"""

from __future__ import annotations

import collections
import json

import apache_beam as beam

from workflow.artifacts import write_text
from workflow.errors import output_error
from workflow.preprocess.columns import check_json_fields
from workflow.preprocess.counting import (CountReasons, FileTotals, MergeFileCounts, MergeSplitCounts, SplitCounts, SplitTotals,
                                          build_vocabulary, most_common_reasons, render_vocabulary, split_summary)
from workflow.preprocess.examples import VarintTable
from workflow.preprocess.layout import SPLITS, TRAINING_SIDE, UNK_ID, UNSUP, PreprocessLayout
from workflow.preprocess.leakage import DuplicateIds, needs_id_pass
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.readers import CorpusTasks
from workflow.preprocess.settings import CorpusSettings, JobSettings
from workflow.preprocess.shards import WriteSortedLines
from workflow.preprocess.task_outputs import COUNTS, FILES, FILMS, REJECTED, WRITTEN, EncodeTask, TokenizeTask

ALL_SPLITS = SPLITS + (UNSUP,)


def vocabulary_from_counts(totals: SplitTotals, min_count: int, max_size: int) -> list[tuple[str, int]]:
    """Merge the training-side splits' counts into the vocabulary list (an empty corpus is the stage's to refuse: stage.run)."""
    merged: collections.Counter = collections.Counter()
    for split, counts in totals.items():
        if split in TRAINING_SIDE:
            merged.update(counts.token_counts)
    return build_vocabulary(merged, min_count, max_size)


def assemble_stats(_, totals: SplitTotals, written: dict, vocabulary: list, films_seen: tuple[int, int], files: FileTotals,
                   reasons: collections.Counter | None = None) -> str:
    """stats.json text. Checks, per split, records read = written (counted by the writers) + rejected; and per input file
    (``files``, counted by the readers), records = written + rejected and lines = blank + header + lines in records.

    ``films_seen``: (reviews with a film, films) the validation split was carved by; (0, 0): by review.
    ``reasons``: how many rejections of each kind (counting.CountReasons); the most frequent are listed.
    A count that does not reconcile is a bug of this job, not bad input: AssertionError, naming the split or file.
    """
    vocabulary_tokens = frozenset(token for token, _ in vocabulary)
    summaries = {split: split_summary(counts, vocabulary_tokens) for split, counts in totals.items()}
    if written.get("corpus/train", 0) != written.get("examples/train", 0):
        raise AssertionError(f"train: {written.get('corpus/train', 0)} corpus lines but {written.get('examples/train', 0)} examples")
    splits = {}
    for split in ALL_SPLITS:
        summary = summaries.get(split, split_summary(SplitCounts(), vocabulary_tokens))
        records_written = written.get(f"corpus/{split}" if split == UNSUP else f"examples/{split}", 0)
        if summary["records_read"] != records_written + summary["records_rejected"] or records_written != summary.pop("documents"):
            raise AssertionError(f"split {split}: read {summary['records_read']} != written {records_written} + rejected {summary['records_rejected']}")
        splits[split] = {"records_written": records_written, **summary}
    totals = {key: sum(row[key] for row in splits.values()) for key in ("records_read", "records_written", "records_rejected")}
    sources = {path: files[path].summary(path) for path in sorted(files)}
    in_files = {key: sum(row[key] for row in sources.values()) for key in ("records", "written", "rejected")}
    if (in_files["records"], in_files["written"], in_files["rejected"]) != tuple(totals.values()):
        raise AssertionError(f"the input files hold {in_files} but the splits read {totals}")
    reviews_with_film, films = films_seen
    validation_split = {"grouped_by": "film" if reviews_with_film else "review", "films": films, "reviews_with_film": reviews_with_film}
    rejected_reasons = most_common_reasons(reasons or collections.Counter())
    if sum(count for _, count in rejected_reasons) != totals["records_rejected"]:
        raise AssertionError(f"{totals['records_rejected']} records rejected but {rejected_reasons} reasons counted")
    return json.dumps({"splits": splits, "totals": totals, "files": sources, "vocabulary_size": len(vocabulary),
                       "validation_split": validation_split, "rejected_reasons": rejected_reasons}, indent=2, sort_keys=True) + "\n"


def check_json_files(files: FileTotals, json_files: dict[str, str], corpus: CorpusSettings) -> FileTotals:
    """``files`` unchanged, once every JSONL file (``json_files``: path -> split) holds each field the config names in
    at least one of its objects; InputError naming the file, the key and the fields found otherwise (columns.py)."""
    for path, split in sorted(json_files.items()):
        counts = files.get(path)
        if counts is not None:
            check_json_fields(path, split, counts.objects, counts.fields, corpus)
    return files


class WriteText(beam.PTransform):
    """A single-element PCollection of str -> one file at ``path``, written whole, as the text is (no newline added).

    Not ``WriteToText``: that writes through temporary shards in a folder beside ``path`` and ends each element with a
    newline; here one small file is written in one step, and a write that fails is a ``StorageError`` naming the file.
    """

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, text: beam.PCollection[str]) -> beam.PCollection[str]:
        path = self._path

        def write(content: str) -> str:
            try:
                write_text(path, content)
            except OSError as error:
                raise output_error(error, path) from error
            return path

        return text | "Write" >> beam.Map(write)


class ReadCorpus(beam.PTransform):
    """The pipeline's start -> ``(tasks, repeated ids)``: every read task of the corpus (:class:`CorpusTasks`: ``(task
    index, task)``, spread over the workers), and ``(task index, (position, reason))`` for each record whose document id
    another record holds (leakage.py; none unless CSV/JSONL name an id field), the tokenising step's side input."""

    def __init__(self, corpus: CorpusSettings, read_parallelism: int, block_bytes: int):
        super().__init__()
        self._corpus = corpus
        self.tasks = CorpusTasks(corpus, read_parallelism, block_bytes)  # its input_bytes and json_files, known before the job

    def expand(self, pipeline: beam.pvalue.PBegin) -> tuple[beam.PCollection, beam.PCollection]:
        tasks = pipeline | "Tasks" >> self.tasks
        if needs_id_pass(self._corpus):
            return tasks, tasks | "RepeatedIds" >> DuplicateIds(self._corpus)
        return tasks, pipeline | "NoRepeatedIds" >> beam.Create([])


class Tokenize(beam.PTransform):
    """``(tasks, repeated ids)`` -> the tagged outputs of :class:`TokenizeTask`: ``spills`` (``(task index, spill path)``),
    ``counts`` (``(split, SplitCounts)``), ``written`` (``("corpus/<split>", lines)``), ``rejected`` (``Rejection``),
    ``films`` and ``files`` (per input file, its ``FileCounts``).

    One step that writes its own files, for speed: each read task's worker reads its records, splits, parses and
    counts them, and writes the training side's ``corpus/<split>-<task>.txt`` and the labelled documents' spill file
    itself (task_outputs.py), so that no document passes through a shuffle; only counts, rejections and file names
    leave it.
    """

    def __init__(self, settings: JobSettings, layout: PreprocessLayout, films: dict[str, str], films_in_archives: bool):
        super().__init__()
        parser = RecordParser(settings.tokenizer, dict(settings.label_map))
        self._task = TokenizeTask(settings.corpus, parser, layout, settings.validation_fraction, settings.test_fraction, films,
                                  films_in_archives)

    def expand(self, tasks_and_repeated_ids: tuple[beam.PCollection, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        tasks, repeated_ids = tasks_and_repeated_ids
        return tasks | "TokenizeTasks" >> beam.ParDo(self._task, beam.pvalue.AsMultiMap(repeated_ids)).with_outputs(
            COUNTS, WRITTEN, REJECTED, FILMS, FILES, main="spills")


class BuildVocabulary(beam.PTransform):
    """``(split, SplitCounts)`` of every task -> ``(totals, vocabulary)``: one ``{split: SplitCounts}``, and one list of
    ``(token, count)`` in id order (counting.build_vocabulary: ``<pad>``, ``<unk>``, then by count) from the training side
    alone."""

    def __init__(self, min_count: int, max_size: int):
        super().__init__()
        self._min_count, self._max_size = min_count, max_size

    def expand(self, counts: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        totals = counts | "MergeCounts" >> beam.CombineGlobally(MergeSplitCounts())
        return totals, totals | "Vocabulary" >> beam.Map(vocabulary_from_counts, self._min_count, self._max_size)


class Encode(beam.PTransform):
    """``(spills, vocabulary)`` -> ``("examples/<split>", examples written)`` per task and split.

    One step that writes its own files, for speed: each task's worker encodes the documents it spilled with the
    vocabulary (a side input) and writes ``examples/<split>-<task>.tfrecord.gz`` itself (task_outputs.EncodeTask), in
    the order it read them: no shuffle of documents.
    """

    def __init__(self, layout: PreprocessLayout):
        super().__init__()
        self._layout = layout

    def expand(self, spills_and_vocabulary: tuple[beam.PCollection, beam.PCollection]) -> beam.PCollection:
        spills, vocabulary = spills_and_vocabulary
        table = vocabulary | "VarintTable" >> beam.Map(lambda vocab: VarintTable([token for token, _ in vocab], UNK_ID))
        return spills | "EncodeTasks" >> beam.ParDo(EncodeTask(self._layout), beam.pvalue.AsSingleton(table))


class Preprocess(beam.PTransform):
    """The whole job: the pipeline's start -> ``{"vocabulary": vocab.tsv's text, "stats": stats.json's text}``, one element
    each, for the caller to write (:func:`build_pipeline`). Inside, the steps that write files of their own for speed
    (:class:`Tokenize`, :class:`Encode`, and the rejections, sorted into one file by ``WriteSortedLines``) write into
    ``layout``; the counts they output are checked against each other in stats.json (:func:`assemble_stats`)."""

    def __init__(self, settings: JobSettings, layout: PreprocessLayout, films: dict[str, str], films_in_archives: bool):
        super().__init__()
        self._settings, self._layout = settings, layout
        self._read = ReadCorpus(settings.corpus, settings.read_parallelism, settings.block_bytes)
        self._tokenize = Tokenize(settings, layout, films, films_in_archives)
        self.input_bytes = self._read.tasks.input_bytes  # what the read tasks will read (read_progress.py)

    def expand(self, pipeline: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        settings, layout = self._settings, self._layout
        tasks, repeated_ids = pipeline | "ReadCorpus" >> self._read
        tokenized = (tasks, repeated_ids) | "Tokenize" >> self._tokenize
        totals, vocabulary = tokenized[COUNTS] | "BuildVocabulary" >> BuildVocabulary(settings.min_count, settings.max_size)
        examples_written = (tokenized.spills, vocabulary) | "Encode" >> Encode(layout)
        _ = (
            tokenized[REJECTED]
            | "RejectionJson" >> beam.Map(lambda r: [(r.doc_id, json.dumps(r._asdict(), sort_keys=True, ensure_ascii=True).encode())])
            | "WriteRejected" >> WriteSortedLines(layout.rejected)
        )
        reasons = tokenized[REJECTED] | "RejectionReasons" >> beam.CombineGlobally(CountReasons())
        films_seen = tokenized[FILMS] | "Films" >> beam.CombineGlobally(lambda seen: max(seen, default=(0, 0)))
        file_counts = (
            tokenized[FILES]
            | "MergeFileCounts" >> beam.CombineGlobally(MergeFileCounts())
            | "CheckJsonFields" >> beam.Map(check_json_files, self._read.tasks.json_files, settings.corpus)
        )
        written = (
            (tokenized[WRITTEN], examples_written)
            | "AllWritten" >> beam.Flatten()
            | "SumWritten" >> beam.CombinePerKey(sum)
        )
        stats = (
            pipeline
            | "StatsTrigger" >> beam.Create([None])
            | "AssembleStats"
            >> beam.Map(
                assemble_stats,
                beam.pvalue.AsSingleton(totals),
                beam.pvalue.AsDict(written),
                beam.pvalue.AsSingleton(vocabulary),
                beam.pvalue.AsSingleton(films_seen),
                beam.pvalue.AsSingleton(file_counts),
                beam.pvalue.AsSingleton(reasons),
            )
        )
        return {"vocabulary": vocabulary | "RenderVocabulary" >> beam.Map(render_vocabulary), "stats": stats}


def build_pipeline(pipeline: beam.Pipeline, settings: JobSettings, layout: PreprocessLayout, films: dict[str, str], films_in_archives: bool) -> int:
    """Add the whole preprocessing job to ``pipeline`` (:class:`Preprocess`), and its two single files at the edge:
    vocab.tsv and stats.json in ``layout``; returns the bytes its read tasks will read (read_progress.py).

    ``films``: review -> film read before the job (films.py), or {};
    ``films_in_archives``: archive tasks learn them from their url files.
    """
    job = Preprocess(settings, layout, films, films_in_archives)
    outputs = pipeline | "Preprocess" >> job
    _ = outputs["vocabulary"] | "WriteVocabulary" >> WriteText(layout.vocab)
    _ = outputs["stats"] | "WriteStats" >> WriteText(layout.stats)
    return job.input_bytes
