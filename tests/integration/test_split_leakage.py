"""No test text in training: a repeated document id is kept once, its test copy first, through the whole stage."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest

from tests.conftest import typed
from tests.integration.test_preprocess_stage import examples
from workflow.artifacts import read_json
from workflow.preprocess import stage
from workflow.preprocess.layout import PreprocessLayout
from workflow.preprocess.output import read_vocab


def rows(file_format: str, records: list[tuple[str, str, str]]) -> str:
    if file_format == "csv":
        return "id,text,label\n" + "".join(f"{doc_id},{text},{label}\n" for doc_id, text, label in records)
    return "".join(json.dumps({"id": doc_id, "text": text, "label": label}) + "\n" for doc_id, text, label in records)


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_id_in_train_and_test_is_rejected_from_training_and_a_repeat_keeps_its_first_copy(make_config, tmp_path, file_format):
    train = tmp_path / f"train.{file_format}"
    test = tmp_path / f"test.{file_format}"
    train.write_text(rows(file_format, [("a", "good plain film", "pos"), ("leak", "leakedword review", "neg"), ("b", "bad plain film", "neg"),
                                        ("a", "repeatword copy", "pos"), ("c", "fine plain film", "pos")]))
    test.write_text(rows(file_format, [("t1", "good test", "pos"), ("leak", "leakedword review", "neg"), ("t1", "second copy", "neg")]))
    config = typed(make_config(f"data={file_format}", f"data.path={train}", f"data.splits.test={test}", "data.id_field=id",
                               "preprocess.validation_fraction=0", "preprocess.min_count=1"))
    stage.run(config)
    layout = PreprocessLayout(os.path.join(config.workdir, "preprocess"))

    assert sorted(examples(layout, "train")) == ["a", "b", "c"]
    assert sorted(examples(layout, "test")) == ["leak", "t1"]
    vocabulary = {token for token, _ in read_vocab(layout.vocab)}
    assert "plain" in vocabulary and not {"leakedword", "repeatword"} & vocabulary, "neither the leaked nor the repeated text is trained on"
    corpus = "".join(Path(path).read_text() for path in sorted(glob.glob(layout.corpus_glob)))
    assert "leakedword" not in corpus and "repeatword" not in corpus
    rejected = sorted((row["split"], row["doc_id"], row["source"].rsplit("/", 1)[-1], row["reason"])
                      for path in sorted(glob.glob(layout.rejected_glob)) for row in map(json.loads, Path(path).read_text().splitlines()))
    line = 2 if file_format == "csv" else 1  # the first record's line: after the header in CSV
    assert rejected == [
        ("test", "t1", f"test.{file_format}:{line + 2}", f"repeated id (first copy at {test}:{line})"),
        ("train", "a", f"train.{file_format}:{line + 3}", f"repeated id (first copy at {train}:{line})"),
        ("train", "leak", f"train.{file_format}:{line + 1}", f"id also in test (at {test}:{line + 1})"),
    ]
    splits = read_json(layout.stats)["splits"]
    assert (splits["train"]["records_read"], splits["train"]["records_written"], splits["train"]["records_rejected"]) == (5, 3, 2)
    assert (splits["test"]["records_read"], splits["test"]["records_written"], splits["test"]["records_rejected"]) == (3, 2, 1)


def test_the_job_counters_read_from_the_pipeline_result_equal_stats_json(make_config, tiny_archive):
    config = typed(make_config(f"data.path={tiny_archive}", "preprocess.validation_fraction=0.5", "beam.running_mode=multi_processing",
                               "beam.num_workers=2"))
    manifest = stage.run(config)
    stats = read_json(PreprocessLayout(os.path.join(config.workdir, "preprocess")).stats)["splits"]
    counters = manifest["beam_counters"]
    assert counters, "the FnApiRunner reports the counters of its worker processes"
    for split, row in stats.items():
        for outcome in ("read", "written", "rejected"):
            assert counters.get(f"{split}_records_{outcome}", 0) == row[f"records_{outcome}"], (split, outcome)
    assert counters["train_records_read"] + counters.get("validation_records_read", 0) == 4 and counters["unsup_records_written"] == 1
