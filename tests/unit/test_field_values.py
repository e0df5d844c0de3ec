"""Every field value is checked where it is read: a rating, label or id an example cannot hold is rejected with its reason.

Before: a JSONL rating ``Infinity`` died with OverflowError, ``-3`` with
"varint of a negative value", ``1e30`` made a varint TensorFlow refuses,
and a non-UTF-8 id raised in ``fingerprint``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from workflow.config import CorpusFormat, DataConfig
from workflow.preprocess.examples import encode_example, varint
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.fields import rating_value
from workflow.preprocess.readers import corpus_tasks, read_task
from workflow.preprocess.records import RawRecord, assign_split, fingerprint
from workflow.preprocess.settings import CorpusSettings
from workflow.text import Tokenizer

PARSER = RecordParser(Tokenizer(), {"pos": 1, "neg": 0})


def read_lines(tmp_path: Path, file_format: CorpusFormat, data: bytes, suffix: str) -> list[RawRecord]:
    path = tmp_path / f"input.{suffix}"
    path.write_bytes(data)
    config = CorpusSettings.of(DataConfig(name="values", format=file_format, path=str(path), id_field="id", rating_field="rating"))
    kind, split, fmt, what = corpus_tasks(config, 1, 1 << 20)[0]
    return list(read_task((kind, split, fmt, (what, 0) if kind == "lines" else what), config))


def jsonl_outcome(tmp_path: Path, line: str) -> tuple[RawRecord, object]:
    (record,) = read_lines(tmp_path, CorpusFormat.jsonl, line.encode() + b"\n", "jsonl")
    assert 0 <= fingerprint(record.doc_id) < 1 and assign_split(record, 0.1, 0.1, {})  # never raises
    return record, PARSER(record)


@pytest.mark.parametrize("rating, reason", [
    ("Infinity", "rating inf is not a finite number"),
    ("-Infinity", "rating -inf is not a finite number"),
    ("NaN", "rating nan is not a finite number"),
    ("-3", "rating -3 is out of range (0 to 2**63-1)"),
    ("1e30", "rating 1e+30 is out of range (0 to 2**63-1)"),
    (str(2**63), f"rating {2**63} is out of range (0 to 2**63-1)"),
    ("7.5", "rating 7.5 is not an integer"),
    ("true", "rating True is not a number"),
    ('"nine"', "rating 'nine' is not a number"),
    ("[9]", "rating [9] is not a number"),
    ('{"stars": 9}', "rating {'stars': 9} is not a number"),
])
def test_a_rating_that_an_int64_feature_cannot_hold_is_rejected_with_its_reason(tmp_path, rating, reason):
    record, outcome = jsonl_outcome(tmp_path, f'{{"id": "a", "text": "good film", "label": "pos", "rating": {rating}}}')
    assert (record.doc_id, outcome, record.rating) == ("a", reason, 0)


@pytest.mark.parametrize("rating, value", [("9", 9), ('"9"', 9), ("9.0", 9), ('" 10 "', 10), ("0", 0), ('""', 0), ("null", 0),
                                           (str(2**63 - 1), 2**63 - 1)])
def test_integral_ratings_are_kept_and_encode_to_an_example_tensorflow_parses(tmp_path, rating, value):
    record, outcome = jsonl_outcome(tmp_path, f'{{"id": "a", "text": "good film", "label": "pos", "rating": {rating}}}')
    assert outcome == ["good", "film"] and record.rating == value
    tf = pytest.importorskip("tensorflow")
    example = tf.train.Example.FromString(encode_example(record.doc_id, PARSER.label(record), record.rating, varint(2)))
    assert list(example.features.feature["rating"].int64_list.value) == [value]


def test_rating_value_directly():
    assert rating_value(math.inf)[1] == "rating inf is not a finite number"
    assert rating_value(float("nan"))[1] == "rating nan is not a finite number"
    assert rating_value(10**30) == (0, f"rating {10**30} is out of range (0 to 2**63-1)")
    assert rating_value(False) == (0, "rating False is not a number")
    assert rating_value(8) == (8, None) and rating_value("8") == (8, None) and rating_value(None) == (0, None)


@pytest.mark.parametrize("label, reason", [
    ('["pos"]', "label field 'label' is a list, not a string or a number"),
    ('{"value": "pos"}', "label field 'label' is an object, not a string or a number"),
    ('"maybe"', "unknown label 'maybe' (not in data.label_map)"),
    ("null", "missing label"),
])
def test_a_label_that_is_a_list_an_object_or_unknown_is_rejected(tmp_path, label, reason):
    _, outcome = jsonl_outcome(tmp_path, f'{{"id": "a", "text": "good film", "label": {label}}}')
    assert outcome == reason


def test_an_id_that_is_a_list_or_not_utf8_is_rejected_under_the_records_line(tmp_path):
    records = read_lines(tmp_path, CorpusFormat.jsonl, b"\n".join([
        b'{"id": ["a"], "text": "good", "label": "pos"}',
        b'{"id": "caf\xe9", "text": "good", "label": "pos"}',  # a Latin-1 byte
        b'{"id": "\\ud800", "text": "good", "label": "pos"}',  # a lone surrogate, escaped in the JSON
        b'{"id": 17, "text": "good", "label": "pos"}',
    ]), "jsonl")
    assert [(record.doc_id, PARSER(record)) for record in records] == [
        ("input.jsonl:1", "id field 'id' is a list, not a string or a number"),
        ("input.jsonl:2", "id field 'id' is not UTF-8"),
        ("input.jsonl:3", "id field 'id' is not UTF-8"),
        ("17", ["good"]),
    ]


def test_a_csv_id_that_is_not_utf8_is_rejected_before_fingerprint(tmp_path):
    records = read_lines(tmp_path, CorpusFormat.csv, b"id,text,label,rating\ncaf\xe9,good film,pos,\nb,fine film,neg,\n", "csv")
    assert [(record.doc_id, record.source.rsplit(":", 1)[1], PARSER(record)) for record in records] == [
        ("input.csv:1", "2", "id field 'id' is not UTF-8"), ("b", "3", ["fine", "film"])]


def test_the_parser_guards_every_reader_id_and_rating():
    """aclImdb names come from file names: a rating past int64 or an id that is not UTF-8 is refused before encoding."""
    huge = RawRecord("train/pos/1_99999999999999999999", "train", "x", "good film", "pos", 99999999999999999999)
    assert PARSER(huge) == "rating 99999999999999999999 is out of range (0 to 2**63-1)"
    bad_id = RawRecord("train/pos/caf\udce9_9", "train", "x", "good film", "pos", 9)
    assert PARSER(bad_id) == "document id is not UTF-8" and 0 <= fingerprint(bad_id.doc_id) < 1
    with pytest.raises(ValueError, match="negative"):
        varint(-3)
    with pytest.raises(ValueError, match="64 bits"):
        varint(10**30)


def test_json_constants_and_nesting_never_crash_the_reader(tmp_path):
    lines = ['{"id": "n", "text": NaN, "label": "pos"}', "[" * 100_000, json.dumps({"id": "ok", "text": "good", "label": "neg"})]
    records = read_lines(tmp_path, CorpusFormat.jsonl, "\n".join(lines).encode(), "jsonl")
    assert [PARSER(record) for record in records] == ["text field 'text' is not a string", "invalid JSON: nested too deeply", ["good"]]
