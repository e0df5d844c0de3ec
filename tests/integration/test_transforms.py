"""The composite transforms under TestPipeline, checked with assert_that.

The readers are exercised as the job wires them (pipeline.Preprocess):
``ReadCorpus`` -> ``Tokenize``, which reads each task's records and writes
what they hold; what comes out is the spilled documents, the rejections and
the corpus lines. ``BuildVocabulary`` is fed ``beam.Create``'d counts.
"""

from __future__ import annotations

import glob
import gzip
import json
import os

import collections
import dataclasses

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing import test_pipeline as beam_testing
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import TINY_REVIEWS, typed, write_aclimdb_folder
from workflow.artifacts import read_json
from workflow.preprocess.counting import SplitCounts
from workflow.preprocess.layout import PreprocessLayout
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.pipeline import BuildVocabulary, ReadCorpus, Tokenize, build_pipeline
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import JobSettings
from workflow.preprocess.stage import job_settings
from workflow.preprocess.task_outputs import REJECTED, spilled_documents
from workflow.text import Tokenizer

LABELS = {"pos": 1, "neg": 0}


def make_pipeline() -> beam.Pipeline:
    # Name the runner: Beam 2.77's default DirectRunner tries to download Prism first.
    return beam_testing.TestPipeline(runner=FnApiRunner())


def read_step(pipeline: beam.Pipeline, settings: JobSettings, layout: PreprocessLayout, parallelism: int):
    """The job's read steps as Preprocess wires them, with no split carved out of train: (documents, rejections).

    Documents: ``(doc_id, split, tokens, label, rating)`` of the labelled records, from the spill files
    (the Encode step's input); rejections: ``(doc_id, reason)``. Training-side text is in ``layout``'s corpus files.
    """
    settings = dataclasses.replace(settings, read_parallelism=parallelism, validation_fraction=0.0, test_fraction=0.0)
    tasks_and_repeated_ids = pipeline | "ReadCorpus" >> ReadCorpus(settings.corpus, parallelism, settings.block_bytes)
    read = tasks_and_repeated_ids | "Tokenize" >> Tokenize(settings, layout, {}, False)
    documents = read.spills | "Spilled" >> beam.FlatMap(lambda spilled: spilled_documents(spilled[1])) | "Fields" >> beam.Map(tuple)
    return documents, read[REJECTED] | "Reasons" >> beam.Map(lambda rejection: (rejection.doc_id, rejection.reason))


def corpus_lines(layout: PreprocessLayout, split: str) -> list[str]:
    return sorted(line for path in sorted(glob.glob(layout.corpus_glob)) if os.path.basename(path).startswith(f"{split}-")
                  for line in open(path, encoding="utf-8").read().splitlines())


def raw(doc_id, text, label="pos", split="train", error=None):
    return RawRecord(doc_id, split, f"src/{doc_id}", text, label, 0, error)


def test_record_parser_gives_tokens_or_the_reason_for_rejecting():
    parser = RecordParser(Tokenizer(), LABELS)
    records = {
        "ok": raw("ok", "Good <br />film"),
        "bytes": raw("bytes", "caf\udce9 ok"),  # an undecodable byte kept by surrogateescape
        "empty": raw("empty", " ... "),
        "nolabel": raw("nolabel", "fine text", label=None),
        "badlabel": raw("badlabel", "fine text", label="maybe"),
        "unreadable": raw("unreadable", None, error="unreadable member: not a regular file"),
        "unsup": raw("unsup", "no label needed", label=None, split="unsup"),
    }
    outcomes = {doc_id: parser(record) for doc_id, record in records.items()}
    assert outcomes.pop("ok") == ["good", "film"] and parser.label(records["ok"]) == 1
    assert outcomes.pop("unsup") == ["no", "label", "needed"] and parser.label(records["unsup"]) == -1
    assert {doc_id: reason.split(" ")[0] for doc_id, reason in outcomes.items()} == {
        "bytes": "undecodable", "empty": "empty", "nolabel": "missing", "badlabel": "unknown", "unreadable": "unreadable"}


def test_read_aclimdb_folder_and_archive_agree(tmp_path, tiny_archive, make_config):
    folder = write_aclimdb_folder(tmp_path / "unpacked", TINY_REVIEWS)
    tokenizer = Tokenizer()
    expected = sorted((name.split("/", 1)[1][:-4], " ".join(tokenizer(data.decode())))
                      for name, data in TINY_REVIEWS.items() if name.endswith(".txt") and "/unsup/" not in name)
    for path in (folder, tiny_archive):
        layout = PreprocessLayout(str(tmp_path / f"out-{path.name}"))
        with make_pipeline() as pipeline:
            documents, rejections = read_step(pipeline, job_settings(typed(make_config(f"data.path={path}"))), layout, parallelism=2)
            assert_that(documents | beam.Map(lambda document: (document[0], document[2])), equal_to(expected))
            assert_that(rejections, equal_to([]), label="NoRejections")
        assert corpus_lines(layout, "unsup") == ["the plot of the film is fine"]


def test_read_archive_ratings_labels_and_splits(tmp_path, tiny_archive, make_config):
    layout = PreprocessLayout(str(tmp_path / "out"))
    with make_pipeline() as pipeline:
        documents, _ = read_step(pipeline, job_settings(typed(make_config(f"data.path={tiny_archive}"))), layout, parallelism=3)
        assert_that(
            documents | beam.Map(lambda document: (document[0], document[1], document[3], document[4])),
            equal_to(
                [
                    ("train/pos/0_9", "train", 1, 9),
                    ("train/pos/1_8", "train", 1, 8),
                    ("train/neg/2_1", "train", 0, 1),
                    ("train/neg/3_2", "train", 0, 2),
                    ("test/pos/5_10", "test", 1, 10),
                    ("test/neg/6_3", "test", 0, 3),
                ]
            ),
        )
    assert corpus_lines(layout, "unsup") == ["the plot of the film is fine"]  # train/unsup/4_0: unlabelled, corpus only
    assert len(corpus_lines(layout, "train")) == 4


@pytest.mark.parametrize("compressed", [False, True])
def test_read_csv_with_columns_ids_and_gzip(tmp_path, make_config, compressed):
    text = 'review,sentiment,id,stars\n"Loved it, truly",positive,a1,9\n"Multi\nline",negative,a2,2\nno label,,a3,\n'
    path = tmp_path / ("r.csv.gz" if compressed else "r.csv")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    config = typed(
        make_config("data=csv", f"data.path={path}", "data.text_field=review", "data.label_field=sentiment", "data.id_field=id", "data.rating_field=stars")
    )
    with make_pipeline() as pipeline:
        documents, rejections = read_step(pipeline, job_settings(config), PreprocessLayout(str(tmp_path / "out")), parallelism=1)
        assert_that(documents, equal_to([("a1", "train", "loved it truly", 1, 9), ("a2", "train", "multi line", 0, 2)]))
        assert_that(rejections, equal_to([("a3", "missing label")]), label="Rejected")


def test_read_jsonl_glob_with_bad_lines_and_extra_text(tmp_path, make_config):
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "good", "label": 1}) + "\n{broken\n[1, 2]\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"label": 0}) + "\n")
    (tmp_path / "extra.txt").write_text("first doc\nsecond doc\n")
    config = typed(make_config("data=jsonl", f"data.path={tmp_path}/*.jsonl", f"data.unlabelled=[{tmp_path}/extra.txt]"))
    layout = PreprocessLayout(str(tmp_path / "out"))
    with make_pipeline() as pipeline:
        documents, rejections = read_step(pipeline, job_settings(config), layout, parallelism=1)
        assert_that(documents, equal_to([("a.jsonl:1", "train", "good", 1, 0)]))
        assert_that(
            rejections | beam.Map(lambda rejected: (rejected[0], rejected[1].split(":")[0])),
            equal_to([("a.jsonl:2", "invalid JSON"), ("a.jsonl:3", "JSON line is not an object"), ("b.jsonl:1", "missing text field 'text'")]),
            label="Rejected",
        )
    assert corpus_lines(layout, "unsup") == ["first doc", "second doc"]


def test_every_source_is_read_by_one_stage_without_a_flatten(tmp_path, make_config):
    """A Flatten of several stages' large outputs loses elements in Beam 2.77's multi-worker FnApiRunner
    (benchmarks/beam_flatten_loss.py): in the job, every source's read tasks are created together and one stage
    reads them all; the one Flatten merges counts."""
    for name in ("train.jsonl", "test.jsonl"):
        (tmp_path / name).write_text(json.dumps({"text": "good", "label": 1}) + "\n")
    (tmp_path / "extra.txt").write_text("first doc\n")
    config = typed(make_config("data=jsonl", f"data.path={tmp_path}/train.jsonl", f"data.splits.test={tmp_path}/test.jsonl",
                               f"data.unlabelled=[{tmp_path}/extra.txt]", "preprocess.validation_fraction=0"))
    layout = PreprocessLayout(str(tmp_path / "out"))
    pipeline = make_pipeline()
    build_pipeline(pipeline, job_settings(config), layout, {}, False)
    flattens, tokenize_inputs = [], []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(node.transform, beam.Flatten):
                flattens.append(node.full_label)
            if node.full_label.startswith("Preprocess/Tokenize/"):
                tokenize_inputs.extend(value.producer.full_label.split("/")[1:4] for value in node.main_inputs.values())

    pipeline.visit(Visitor())
    assert flattens == ["Preprocess/AllWritten"]
    assert tokenize_inputs == [["ReadCorpus", "Tasks", "SpreadTasks"]], "the job reads the tasks CorpusTasks spreads, in one step"
    pipeline.run().wait_until_finish()
    stats = read_json(layout.stats)["splits"]
    assert {split: stats[split]["records_written"] for split in ("train", "validation", "test", "unsup")} == {
        "train": 1, "validation": 0, "test": 1, "unsup": 1}


def counts(**token_counts: int) -> SplitCounts:
    return SplitCounts(records_read=1, documents=1, token_counts=collections.Counter(token_counts))


def test_build_vocabulary_counts_the_training_side_only():
    """Counts of every task merged per split; the vocabulary from train and unsup, by count then token, test text never in
    it; min_count applied (dull, once, is <unk>'s one count)."""
    with make_pipeline() as pipeline:
        partials = pipeline | beam.Create([("train", counts(good=2, film=1)), ("unsup", counts(film=2, dull=1)),
                                           ("test", counts(secret=9)), ("train", counts(good=1, plot=2))])
        totals, vocabulary = partials | BuildVocabulary(min_count=2, max_size=5)
        assert_that(vocabulary, equal_to([[("<pad>", 0), ("<unk>", 1), ("film", 3), ("good", 3), ("plot", 2)]]), label="Vocabulary")
        merged = totals | beam.Map(lambda by_split: {split: dict(c.token_counts) for split, c in sorted(by_split.items())})
        assert_that(merged, equal_to([{"test": {"secret": 9}, "train": {"good": 3, "film": 1, "plot": 2}, "unsup": {"film": 2, "dull": 1}}]),
                    label="Totals")
