"""embedding.scale: pretrained rows at the random initializer's norm, per row or by one factor; in run names and keys only when it acts."""

import numpy as np
import pytest

from tests.conftest import typed
from workflow.config import EmbeddingScale
from workflow.training.scale import random_row_norm, rescale
from workflow.training import identity
from tests.unit.test_training_key import key_of


def word2vec_like_rows() -> np.ndarray:
    """Row 0 is <pad>; the others' norms spread as word2vec's do with frequency (0.3 to 6)."""
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(50, 16))
    rows = directions / np.linalg.norm(directions, axis=1, keepdims=True) * np.geomspace(0.3, 6.0, 50)[:, None]
    rows[0] = 0.0
    return rows.astype(np.float32)


def test_the_random_row_norm_is_that_of_uniform_draws():
    draws = np.random.default_rng(1).uniform(-0.05, 0.05, size=(20_000, 100))
    assert random_row_norm(100) == pytest.approx(np.sqrt((draws ** 2).sum(axis=1).mean()), rel=2e-3)


def test_row_scale_gives_every_row_the_random_norm_and_keeps_its_direction():
    rows = word2vec_like_rows()
    scaled = rescale(rows, EmbeddingScale.row)
    norms = np.linalg.norm(scaled, axis=1)
    assert norms[0] == 0.0 and np.allclose(norms[1:], random_row_norm(16), rtol=1e-5)
    cosines = (scaled[1:] * rows[1:]).sum(axis=1) / (norms[1:] * np.linalg.norm(rows[1:], axis=1))
    assert np.allclose(cosines, 1.0, atol=1e-5)


def test_table_scale_brings_the_median_norm_there_and_keeps_relative_norms():
    rows = word2vec_like_rows()
    scaled = rescale(rows, EmbeddingScale.table)
    before, after = np.linalg.norm(rows[1:], axis=1), np.linalg.norm(scaled[1:], axis=1)
    assert np.median(after) == pytest.approx(random_row_norm(16), rel=1e-5)
    assert np.allclose(after / before, after[0] / before[0], rtol=1e-5) and not np.allclose(after, after[0])
    assert not scaled[0].any()


def test_rows_as_trained_are_untouched():
    rows = word2vec_like_rows()
    assert rescale(rows, EmbeddingScale.as_trained) is rows


def test_the_scale_names_and_keys_a_run_only_where_it_acts(make_config):
    names = {}
    for mode in ("frozen", "finetune", "random"):
        for scale in ("as_trained", "row", "table"):
            config = typed(make_config(f"embedding.mode={mode}", f"embedding.scale={scale}"))
            names[mode, scale] = identity.run_name(config)
            assert ("embedding_scale" in key_of(config)["config"]) == (mode != "random" and scale != "as_trained")
    assert names["finetune", "as_trained"] == "finetune-cnn3-word2vec-seed0"  # the name of every run from before row became the default
    assert names["finetune", "row"] == "finetune-cnn3-word2vec-rownorm-seed0" == identity.run_name(typed(make_config()))
    assert names["frozen", "table"] == "frozen-cnn3-word2vec-tablenorm-seed0"
    assert len({names["random", scale] for scale in ("as_trained", "row", "table")}) == 1  # random rows have no scale to set
