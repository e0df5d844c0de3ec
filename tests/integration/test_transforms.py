"""The composite transforms under TestPipeline, checked with assert_that."""

from __future__ import annotations

import gzip
import json

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing import test_pipeline as beam_testing
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import TINY_REVIEWS, typed, write_aclimdb_folder
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.readers import ReadCorpus
from workflow.preprocess.records import RawRecord
from workflow.text import Tokenizer

LABELS = {"pos": 1, "neg": 0}


def make_pipeline() -> beam.Pipeline:
    # Name the runner: Beam 2.77's default DirectRunner tries to download Prism first.
    return beam_testing.TestPipeline(runner=FnApiRunner())


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
    expected = sorted(
        (name.split("/", 1)[1][:-4], data.decode()) for name, data in TINY_REVIEWS.items() if name.endswith(".txt")
    )
    for path in (folder, tiny_archive):
        data = typed(make_config(f"data.path={path}")).data
        with make_pipeline() as pipeline:
            records = pipeline | ReadCorpus(data, parallelism=2) | beam.Map(lambda r: (r.doc_id, r.text))
            assert_that(records, equal_to(expected))


def test_read_archive_ratings_labels_and_splits(tiny_archive, make_config):
    data = typed(make_config(f"data.path={tiny_archive}")).data
    with make_pipeline() as pipeline:
        records = pipeline | ReadCorpus(data, parallelism=3) | beam.Map(lambda r: (r.doc_id, r.split, r.label, r.rating))
        assert_that(
            records,
            equal_to(
                [
                    ("train/pos/0_9", "train", "pos", 9),
                    ("train/pos/1_8", "train", "pos", 8),
                    ("train/neg/2_1", "train", "neg", 1),
                    ("train/neg/3_2", "train", "neg", 2),
                    ("train/unsup/4_0", "unsup", None, 0),
                    ("test/pos/5_10", "test", "pos", 10),
                    ("test/neg/6_3", "test", "neg", 3),
                ]
            ),
        )


@pytest.mark.parametrize("compressed", [False, True])
def test_read_csv_with_columns_ids_and_gzip(tmp_path, make_config, compressed):
    text = 'review,sentiment,id,stars\n"Loved it, truly",positive,a1,9\n"Multi\nline",negative,a2,2\nno label,,a3,\n'
    path = tmp_path / ("r.csv.gz" if compressed else "r.csv")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    data = typed(
        make_config("data=csv", f"data.path={path}", "data.text_field=review", "data.label_field=sentiment", "data.id_field=id", "data.rating_field=stars")
    ).data
    with make_pipeline() as pipeline:
        records = pipeline | ReadCorpus(data, parallelism=1) | beam.Map(lambda r: (r.doc_id, r.text, r.label, r.rating))
        assert_that(records, equal_to([("a1", "Loved it, truly", "positive", 9), ("a2", "Multi\nline", "negative", 2), ("a3", "no label", None, 0)]))


def test_read_jsonl_glob_with_bad_lines_and_extra_text(tmp_path, make_config):
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "good", "label": 1}) + "\n{broken\n[1, 2]\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"label": 0}) + "\n")
    (tmp_path / "extra.txt").write_text("first doc\nsecond doc\n")
    data = typed(make_config("data=jsonl", f"data.path={tmp_path}/*.jsonl", f"data.unlabelled=[{tmp_path}/extra.txt]")).data
    with make_pipeline() as pipeline:
        records = pipeline | ReadCorpus(data, parallelism=1) | beam.Map(lambda r: (r.doc_id, r.split, r.text, r.label, r.error and r.error.split(":")[0]))
        assert_that(
            records,
            equal_to(
                [
                    ("a.jsonl:1", "train", "good", "1", None),
                    ("a.jsonl:2", "train", None, None, "invalid JSON"),
                    ("a.jsonl:3", "train", None, None, "JSON line is not an object"),
                    ("b.jsonl:1", "train", None, "0", "missing text field 'text'"),
                    ("extra.txt:1", "unsup", "first doc", None, None),
                    ("extra.txt:2", "unsup", "second doc", None, None),
                ]
            ),
        )


def test_every_source_is_read_by_one_stage_without_a_flatten(tmp_path, make_config):
    """A Flatten of several stages' large outputs loses elements in Beam 2.77's multi-worker FnApiRunner
    (benchmarks/beam_flatten_loss.py): every source's read tasks are created together, and one stage reads them all."""
    for name in ("train.jsonl", "test.jsonl"):
        (tmp_path / name).write_text(json.dumps({"text": "good", "label": 1}) + "\n")
    (tmp_path / "extra.txt").write_text("first doc\n")
    data = typed(make_config("data=jsonl", f"data.path={tmp_path}/train.jsonl", f"data.splits.test={tmp_path}/test.jsonl",
                             f"data.unlabelled=[{tmp_path}/extra.txt]")).data
    pipeline = make_pipeline()
    records = pipeline | ReadCorpus(data, parallelism=2)
    flattens = []

    class Flattens(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(node.transform, beam.Flatten):
                flattens.append(node)

    pipeline.visit(Flattens())
    assert flattens == []
    assert records.producer.full_label == "ReadCorpus/ReadTasks"
    assert_that(records | beam.Map(lambda r: (r.doc_id, r.split)), equal_to([("train.jsonl:1", "train"), ("test.jsonl:1", "test"), ("extra.txt:1", "unsup")]))
    pipeline.run().wait_until_finish()
