"""A run's per-review predictions (validation and test): scored by the trained model, stored with each review's film,
read back; files from before films or validation predictions read as such."""

from __future__ import annotations

import gzip

import keras
import numpy as np
import pytest

from workflow.preprocess.examples import encode_example, tfrecord_frame, varint
from workflow.training import predictions, scoring
from workflow.training.layout import RunLayout


def test_predictions_round_trip_with_their_films_for_each_split(tmp_path):
    layout = RunLayout(str(tmp_path))
    for split, films in (("validation", ["tt1", "tt1", ""]), ("test", ["tt2", "tt3", "tt3"])):
        predictions.write(layout, split, ["a", "b", "c"], np.array([1, 0, 1]), np.array([0.9, 0.7, 0.2]), films)
        stored = predictions.read(layout, split)
        assert stored.doc_ids.tolist() == ["a", "b", "c"] and stored.films.tolist() == films
        assert stored.correct.tolist() == [True, False, False] and stored.probabilities.tolist() == [0.9, 0.7, 0.2]
    assert (tmp_path / "validation_predictions.csv").exists() and (tmp_path / "test_predictions.csv").read_text().startswith(
        "doc_id,label,probability,film\n")
    with pytest.raises(ValueError, match="not 'train'"):
        layout.predictions("train")


def test_runs_from_before_films_or_validation_predictions_read_as_such(tmp_path):
    layout = RunLayout(str(tmp_path))
    assert predictions.read(layout, "validation") is None and predictions.read(layout) is None
    (tmp_path / "test_predictions.csv").write_text("doc_id,label,probability\nr1,1,0.800000\nr2,0,0.300000\n")
    stored = predictions.read(layout)
    assert stored.films is None and stored.correct.tolist() == [True, True]
    predictions.write(layout, "test", ["r1", "r2"], np.array([1, 0]), np.array([0.8, 0.3]), ["", ""])
    assert predictions.read(layout).films is None, "a corpus that names no film: no films"


def test_films_are_common_only_when_every_run_names_them_over_the_same_reviews():
    def stored(ids: list[str], films: list[str] | None) -> predictions.Predictions:
        return predictions.Predictions(np.array(ids), np.ones(len(ids), dtype=int), np.full(len(ids), 0.9),
                                       None if films is None else np.array(films))

    one, two = stored(["a", "b"], ["tt1", "tt2"]), stored(["a", "b"], ["tt1", "tt2"])
    assert predictions.common_films([one, two]).tolist() == ["tt1", "tt2"]
    assert predictions.common_films([one, stored(["a", "b"], None)]) is None
    assert predictions.common_films([one, stored(["a", "c"], ["tt1", "tt2"])]) is None
    assert predictions.common_films([]) is None


def test_a_split_is_scored_review_by_review_in_doc_id_order_with_its_films(tmp_path):
    reviews = {"test/pos/2_9": (1, [3, 4, 5]), "test/neg/10_2": (0, [6, 7]), "test/pos/1_8": (1, [3])}
    shard = tmp_path / "test-00000.tfrecord.gz"
    with gzip.open(shard, "wb") as handle:
        for doc_id, (label, ids) in reviews.items():
            handle.write(tfrecord_frame(encode_example(doc_id, label, 0, b"".join(varint(i) for i in ids))))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(8, 4, mask_zero=True),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
    layout = RunLayout(str(tmp_path))
    scoring.write_predictions(layout, "test", model, [str(shard)], 2, lambda ids: [f"film of {doc_id}" for doc_id in ids])
    stored = predictions.read(layout, "test")
    assert stored.doc_ids.tolist() == sorted(reviews) and stored.labels.tolist() == [0, 1, 1]
    assert stored.films.tolist() == [f"film of {doc_id}" for doc_id in sorted(reviews)]
    for doc_id, probability in zip(stored.doc_ids, stored.probabilities):  # max_len 2: the first two ids of each review
        expected = float(model(np.array([reviews[doc_id][1][:2]], dtype=np.int32))[0, 0])
        assert probability == pytest.approx(expected, abs=1e-6)
