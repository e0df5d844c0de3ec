"""The preprocessing pipeline: composite PTransforms here, I/O in ``stage.run``.

::

    RawRecord -> AssignSplit -> batches -> (Reshuffle) -> ParseBatch -+-> list[Document] -+-> Example shards (train/validation/test)
                                                                      |                   +-> corpus shards (train, unsup)
                                                                      +-> (split, SplitCounts) -> vocabulary, stats
                                                                      +-> Rejection -> rejected/*.jsonl

Documents travel in batches of ``BATCH_SIZE``: Beam's per-element cost,
not the work itself, is what dominates a pipeline of one element per
document (measured in docs/results.md). Only the training side (train after
the validation/test carve-out, plus unsup) builds the vocabulary and the
word2vec corpus: validation and test text never does.
"""

from __future__ import annotations

import collections
import json
from typing import Callable, Iterator

import apache_beam as beam

from workflow.artifacts import SPLITS, TRAINING_SIDE, UNK_ID, UNSUP, PreprocessLayout, write_text
from workflow.config import Config, carved_test_fraction, carved_validation_fraction
from workflow.errors import EmptyCorpusError
from workflow.preprocess.counting import MergeSplitCounts, SplitCounts, build_vocabulary, render_vocabulary, split_summary
from workflow.preprocess.examples import VarintTable, encode_example
from workflow.preprocess.parse import COUNTS, REJECTED, ParseBatch
from workflow.preprocess.options import FN_API_RUNNER
from workflow.preprocess.readers import ReadCorpus
from workflow.preprocess.records import Document, assign_split
from workflow.preprocess.shards import TFRECORD, WriteSortedShards
from workflow.text import Tokenizer

BATCH_SIZE = 256
ALL_SPLITS = SPLITS + (UNSUP,)


def tokenizer_from(config: Config) -> Tokenizer:
    settings = config.preprocess.tokenizer
    return Tokenizer(pattern=settings.pattern, lowercase=settings.lowercase, strip_html=settings.strip_html)


def vocabulary_from_counts(all_counts: list, min_count: int, max_size: int) -> list[tuple[str, int]]:
    """Merge the training-side splits' counts into the vocabulary list."""
    merged: collections.Counter = collections.Counter()
    for split, counts in all_counts:
        if split in TRAINING_SIDE:
            merged.update(counts.token_counts)
    if not merged:
        raise EmptyCorpusError("empty corpus: no training-side document has any token")
    return build_vocabulary(merged, min_count, max_size)


def split_payloads(
    documents: list[Document], splits: tuple[str, ...], payload: Callable[[Document], bytes]
) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A batch of Documents -> ``(split, [(doc_id, payload)])`` for each wanted split present."""
    by_split: dict[str, list] = {}
    for document in documents:
        if document.split in splits:
            by_split.setdefault(document.split, []).append((document.doc_id, payload(document)))
    return iter(by_split.items())


def example_payload(document: Document, table: VarintTable) -> bytes:
    """Serialized tf.train.Example of a Document."""
    return encode_example(document.doc_id, document.label, document.rating, table.encode_ids(document.tokens))


def assemble_stats(_, all_counts: list, written: dict, vocabulary: list) -> str:
    """stats.json text. Checks, per split, records read = written (counted by the writers) + rejected."""
    vocabulary_tokens = frozenset(token for token, _ in vocabulary)
    summaries = {split: split_summary(counts, vocabulary_tokens) for split, counts in all_counts}
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
    return json.dumps({"splits": splits, "totals": totals, "vocabulary_size": len(vocabulary)}, indent=2, sort_keys=True) + "\n"


class WriteText(beam.PTransform):
    """A single-element PCollection of str -> one file at ``path`` (written whole, in order)."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, text: beam.PCollection[str]) -> beam.PCollection[str]:
        path = self._path

        def write(content: str) -> str:
            write_text(path, content)
            return path

        return text | "Write" >> beam.Map(write)


class WriteSplitShards(beam.PTransform):
    """``(split, [(doc_id, payload)])`` batches -> sorted shards per split; outputs ``(family/split, count)``."""

    def __init__(self, family: str, prefix: Callable[[str], str], suffix: str, splits: tuple[str, ...], num_shards: int, **writer):
        super().__init__()
        self._family, self._prefix, self._suffix = family, prefix, suffix
        self._splits, self._num_shards, self._writer = splits, num_shards, writer

    def expand(self, keyed_batches: beam.PCollection) -> beam.PCollection:
        counts = []
        for split in self._splits:
            name = f"{self._family}/{split}"
            counts.append(
                keyed_batches
                | f"Select {name}" >> beam.Filter(lambda item, wanted=split: item[0] == wanted)
                | f"Batches {name}" >> beam.Values()
                | f"Write {name}" >> WriteSortedShards(self._prefix(split), self._suffix, self._num_shards, **self._writer)
                | f"Total {name}" >> beam.CombineGlobally(sum)
                | f"Key {name}" >> beam.Map(lambda total, key=name: (key, total))
            )
        return counts | "Counts" >> beam.Flatten()


def redistributes(config: Config) -> bool:
    """Whether documents are reshuffled after the read, so that parsing, tokenizing and counting use every worker.

    Not in the in-process FnApiRunner (auto): its two workers already share
    the read, and moving the raw text through its single driver costs more
    than it gains (docs/results.md). A cluster reads on few workers (one a
    CSV file, ``read_parallelism`` an archive) and parses on all of them.
    """
    if config.preprocess.redistribute is not None:
        return config.preprocess.redistribute
    return config.beam.runner != FN_API_RUNNER


def build_pipeline(pipeline: beam.Pipeline, config: Config, layout: PreprocessLayout, films: dict[str, str]) -> None:
    """Add the whole preprocessing job to ``pipeline``, writing into ``layout``; ``films``: review -> film (films.py), or {}."""
    pre = config.preprocess
    batches = (
        pipeline
        | "Read" >> ReadCorpus(config.data, pre.read_parallelism, max(1, int(pre.read_block_mb * 2**20)))
        | "AssignSplit" >> beam.Map(assign_split, carved_validation_fraction(config), carved_test_fraction(config), films)
        | "Batch" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
    )
    if redistributes(config):
        batches = batches | "Redistribute" >> beam.Reshuffle()
    parsed = batches | "Parse" >> beam.ParDo(ParseBatch(tokenizer_from(config), config.data.label_map)).with_outputs(
        REJECTED, COUNTS, main="documents"
    )
    documents = parsed.documents

    split_counts = parsed[COUNTS] | "MergeCounts" >> beam.CombinePerKey(MergeSplitCounts())
    vocabulary = (
        split_counts
        | "AllSplitCounts" >> beam.combiners.ToList()
        | "Vocabulary" >> beam.Map(vocabulary_from_counts, pre.min_count, pre.max_size)
    )
    _ = vocabulary | "RenderVocabulary" >> beam.Map(render_vocabulary) | "WriteVocabulary" >> WriteText(layout.vocab)

    table = vocabulary | "VarintTable" >> beam.Map(lambda vocab: VarintTable([token for token, _ in vocab], UNK_ID))
    example_counts = (
        documents
        | "EncodeExamples"
        >> beam.FlatMap(
            lambda batch, table: split_payloads(batch, SPLITS, lambda document: example_payload(document, table)),
            beam.pvalue.AsSingleton(table),
        )
        | "WriteExamples" >> WriteSplitShards("examples", layout.examples_prefix, ".tfrecord.gz", SPLITS, pre.num_shards, record_format=TFRECORD, compress=True)
    )
    corpus_counts = (
        documents
        | "CorpusLines" >> beam.FlatMap(split_payloads, TRAINING_SIDE, lambda document: document.text.encode("utf-8"))
        | "WriteCorpus" >> WriteSplitShards("corpus", layout.corpus_prefix, ".txt", TRAINING_SIDE, pre.num_shards)
    )
    _ = (
        parsed[REJECTED]
        | "RejectionJson" >> beam.Map(lambda r: [(r.doc_id, json.dumps(r._asdict(), sort_keys=True, ensure_ascii=True).encode())])
        | "WriteRejected" >> WriteSortedShards(layout.rejected_prefix, ".jsonl", 1)
    )

    written = (example_counts, corpus_counts) | "AllWritten" >> beam.Flatten()
    _ = (
        pipeline
        | "StatsTrigger" >> beam.Create([None])
        | "AssembleStats"
        >> beam.Map(
            assemble_stats,
            beam.pvalue.AsList(split_counts),
            beam.pvalue.AsDict(written),
            beam.pvalue.AsSingleton(vocabulary),
        )
        | "WriteStats" >> WriteText(layout.stats)
    )
