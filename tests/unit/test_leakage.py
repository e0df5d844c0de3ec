"""Which copies of a repeated id are rejected, and a file named by two splits (preprocess/leakage.py)."""

from __future__ import annotations

import pytest

from tests.conftest import typed
from workflow.errors import ConfigError
from workflow.preprocess.leakage import SPLIT_RANK, check_split_sources, rejected_copies
from workflow.preprocess.settings import CorpusSettings

TEST, VALIDATION, TRAIN, UNSUP = (SPLIT_RANK.index(split) for split in ("test", "validation", "train", "unsup"))


def test_a_unique_id_loses_nothing():
    assert list(rejected_copies([(TRAIN, 3, 0, "train.csv:2")])) == []


def test_the_test_copy_is_kept_and_every_training_side_copy_rejected_whatever_the_order():
    copies = [(TRAIN, 0, 4, "train.csv:6"), (UNSUP, 5, 1, "extra.txt:2"), (TEST, 2, 7, "test.csv:9"), (VALIDATION, 1, 0, "dev.csv:2")]
    assert sorted(rejected_copies(copies)) == [
        (0, (4, "id also in test (at test.csv:9)")),
        (1, (0, "id also in test (at test.csv:9)")),
        (5, (1, "id also in test (at test.csv:9)")),
    ]


def test_a_repeated_id_in_one_split_keeps_its_first_copy_in_source_order():
    copies = [(TRAIN, 1, 0, "b.csv:2"), (TRAIN, 0, 9, "a.csv:11"), (TRAIN, 0, 3, "a.csv:5")]
    assert sorted(rejected_copies(copies)) == [(0, (9, "repeated id (first copy at a.csv:5)")), (1, (0, "repeated id (first copy at a.csv:5)"))]


def test_two_test_copies_and_a_train_copy():
    copies = [(TEST, 4, 2, "test.csv:4"), (TEST, 4, 1, "test.csv:3"), (TRAIN, 0, 0, "train.csv:2")]
    assert sorted(rejected_copies(copies)) == [(0, (0, "id also in test (at test.csv:3)")), (4, (2, "repeated id (first copy at test.csv:3)"))]


def test_a_file_matched_by_two_splits_stops_the_job_naming_both_keys(make_config, tmp_path):
    for name in ("train.csv", "test.csv"):
        (tmp_path / name).write_text("text,label\ngood,pos\n")
    config = typed(make_config("data=csv", f"data.path={tmp_path}/*.csv", f"data.splits.test={tmp_path}/test.csv"))
    with pytest.raises(ConfigError) as raised:
        check_split_sources(CorpusSettings.of(config.data))
    message = str(raised.value)
    assert message.startswith(f"{tmp_path}/test.csv is matched by both data.path='{tmp_path}/*.csv' and data.splits.test=")
    assert "\n" not in message
    check_split_sources(CorpusSettings.of(typed(make_config("data=csv", f"data.path={tmp_path}/train.csv", f"data.splits.test={tmp_path}/test.csv")).data))
