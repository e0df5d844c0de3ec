"""The projector's metadata columns on the tiny corpus, whose every review is known (tests/conftest.py TINY_REVIEWS).

Labelled training reviews (validation_fraction=0, so all four train)::

    pos  great film great cast great        -> {great, film, cast}
    pos  a great story and a fine cast      -> {a, great, story, and, fine, cast}
    neg  bad film bad plot bad acting       -> {bad, film, plot, acting}
    neg  a boring plot and a bad ending     -> {a, boring, plot, and, bad, ending}

and one unlabelled review, ``the plot of the film is fine``: ``the``, ``of``
and ``is`` are in the vocabulary but in no labelled review.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import keras
import numpy as np
import pytest
from tensorboard.plugins import projector as tensorboard_projector
from google.protobuf import text_format

from tests.conftest import TINY_REVIEWS, compose_config, typed, write_aclimdb_archive
from workflow.preprocess import stage as preprocess_stage
from workflow.preprocess.output import PreprocessOutput
from workflow.report.polarity import log_count_ratio, review_counts, row_shift
from workflow.report.projector import COLUMNS, LabelledTokens, ProjectedTable, metadata_path, starting_table, write_projector
from tests.unit.test_report_tables import finished, with_metrics
from workflow.report.runs import FinishedRun

POSITIVE_DISTINCT, NEGATIVE_DISTINCT = 3 + 6, 4 + 6  # distinct tokens per review, summed per class (the docstring's sets)


@pytest.fixture(scope="module")
def preprocess(tmp_path_factory) -> PreprocessOutput:
    root = tmp_path_factory.mktemp("projector")
    archive = write_aclimdb_archive(root / "tiny.tar.gz", TINY_REVIEWS)
    config = typed(compose_config(root / "work", "data=imdb", f"data.path={archive}", "preprocess.min_count=1",
                                  "preprocess.validation_fraction=0"))
    preprocess_stage.run(config)
    return PreprocessOutput(str(root / "work"))


def read_metadata(logdir: Path, name: str) -> dict[str, dict[str, str]]:
    with open(logdir / metadata_path(name), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == list(COLUMNS)
    return {row["token"]: row for row in rows}


def test_polarity_is_nbsvms_log_count_ratio_over_the_labelled_reviews(preprocess):
    vocabulary = [token for token, _ in preprocess.vocabulary()]
    size = len(vocabulary)
    labelled = LabelledTokens.read(preprocess, None, size)
    index = {token: i for i, token in enumerate(vocabulary)}
    assert labelled.reviews == 4
    # p = 1 + positive reviews with the token, |p|_1 = V + 9; q likewise, |q|_1 = V + 10 (<pad> and <unk> get alpha too).
    p_norm, q_norm = size + POSITIVE_DISTINCT, size + NEGATIVE_DISTINCT
    expected = {"great": math.log(3 / p_norm) - math.log(1 / q_norm),  # in both positive reviews, no negative one
                "bad": math.log(1 / p_norm) - math.log(3 / q_norm),
                "film": math.log(2 / p_norm) - math.log(2 / q_norm),  # one review of each
                "the": math.log(1 / p_norm) - math.log(1 / q_norm)}  # in no labelled review: the prior, the same for all
    for token, value in expected.items():
        assert labelled.polarity[index[token]] == pytest.approx(value, rel=1e-12), token
    assert labelled.polarity[index["great"]] > 0.5 and labelled.polarity[index["bad"]] < -0.5
    assert labelled.polarity[index["of"]] == labelled.polarity[index["is"]] == labelled.polarity[index["the"]]
    assert {vocabulary[i] for i in np.flatnonzero(~labelled.present)} == {"<pad>", "<unk>", "the", "of", "is"}


def test_a_label_budget_counts_only_its_reviews(preprocess):
    size = len(preprocess.vocabulary())
    every, two = LabelledTokens.read(preprocess, None, size), LabelledTokens.read(preprocess, 2, size)
    assert two.reviews == 2 and 0 < two.present.sum() < every.present.sum() and not (two.present & ~every.present).any()


def test_review_counts_count_each_review_once():
    positive, negative = review_counts([np.array([2, 2, 2, 3]), np.array([3, 4]), np.array([2])], np.array([1.0, 0.0, 0.0]), 5)
    assert positive.tolist() == [0, 0, 1, 1, 0] and negative.tolist() == [0, 0, 1, 1, 1]
    ratio = log_count_ratio(positive, negative)
    assert ratio[2] == ratio[3] == pytest.approx(math.log(2 / 7) - math.log(2 / 8)) and ratio[4] < 0 < ratio[0]


def test_metadata_columns_of_a_frozen_and_a_fine_tuned_table(preprocess, tmp_path):
    vocabulary = preprocess.vocabulary()
    tokens = [token for token, _ in vocabulary]
    labelled = LabelledTokens.read(preprocess, None, len(tokens))
    start = np.random.default_rng(0).normal(0, 1, (len(tokens), 4)).astype(np.float32)
    start[0] = 0
    delta = np.zeros_like(start)
    delta[labelled.present] = [3.0, 0.0, 4.0, 0.0]  # every row of a labelled token moves by exactly 5
    tuned = start + delta
    tables = [ProjectedTable("frozen-x", start, labelled, row_shift(start, start)),
              ProjectedTable("finetune-x", tuned, labelled, row_shift(start, tuned)),
              ProjectedTable("random-x", tuned, labelled, None)]
    shapes = write_projector(str(tmp_path), tables, vocabulary, tokens=100)
    assert shapes == {name: [len(tokens) - 2, 4] for name in ("frozen-x", "finetune-x", "random-x")}
    frozen, finetuned, unknown = (read_metadata(tmp_path, name) for name in ("frozen-x", "finetune-x", "random-x"))
    assert list(finetuned) == tokens[2:], "one row per projected token, in id order"
    for token, row in finetuned.items():
        assert int(row["count"]) == dict(vocabulary)[token]
        assert float(row["polarity"]) == pytest.approx(labelled.polarity[tokens.index(token)], abs=5e-5)
        assert frozen[token]["moved"] == "0" and unknown[token]["moved"] == ""  # empty: the projector reads no value
    assert finetuned["great"]["in_labelled_training"] == "1" and float(finetuned["great"]["polarity"]) > 0
    assert float(finetuned["bad"]["polarity"]) < 0
    assert finetuned["the"]["in_labelled_training"] == "0" and finetuned["the"]["moved"] == "0"
    assert float(finetuned["great"]["moved"]) == pytest.approx(5.0, rel=1e-4)
    # The projector config points each tensor at its own metadata file, relative to the folder.
    config = text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), tensorboard_projector.ProjectorConfig())
    assert {(embedding.tensor_name, embedding.metadata_path) for embedding in config.embeddings} == {
        (name, f"metadata/{name}.tsv") for name in ("frozen-x", "finetune-x", "random-x")}


def test_a_random_runs_starting_table_is_its_initializer_draw(tmp_path):
    shape = (12, 4)
    draw = keras.ops.convert_to_numpy(keras.initializers.RandomUniform(-0.05, 0.05, seed=3)(shape))
    trained = draw.copy()
    trained[2:] += 0.5  # every row but <pad> and <unk> trained

    def run(seed: int) -> FinishedRun:
        run = finished("random", seed, 0.8)
        return with_metrics(run, config={**run.metrics.config, "embedding": {"vectors": None}})

    np.testing.assert_array_equal(starting_table(str(tmp_path), "unused", run(3), trained), draw)
    assert starting_table(str(tmp_path), "unused", run(4), trained) is None, "another seed's draw: its <pad> row differs"
