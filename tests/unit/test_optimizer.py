"""The lazy Adam of the Embedding table: only the rows in the batch move, and they move as Adam says."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from workflow.training.optimizer import EmbeddingAdam

BATCHES = ([[5, 5, 2]], [[2, 3, 3]])  # token 5 only in the first batch, twice; token 3 twice in the second


def train_table(lazy: bool) -> list[np.ndarray]:
    """The ``[10, 3]`` table after each of two Adam steps on ``sum(Embedding(ids)^2)``."""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(10, 3)
    embedding.build((None,))
    optimizer = EmbeddingAdam(0.1, lazy=lazy)
    optimizer.build(embedding.trainable_variables)
    tables = [embedding.embeddings.numpy().copy()]
    for ids in BATCHES:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(embedding(np.array(ids)) ** 2)
        gradients = tape.gradient(loss, embedding.trainable_variables)
        assert isinstance(gradients[0], tf.IndexedSlices)
        optimizer.apply_gradients(zip(gradients, embedding.trainable_variables))
        tables.append(embedding.embeddings.numpy().copy())
    return tables


def adam_first_step(table: np.ndarray, row: int, occurrences: int, learning_rate: float = 0.1) -> np.ndarray:
    """NumPy Adam, step 1, on the summed gradient of a row that occurs ``occurrences`` times: g = 2 x occurrences x row."""
    gradient = 2 * occurrences * table[row].astype(np.float64)
    m, v = 0.1 * gradient, 0.001 * gradient**2
    alpha = learning_rate * np.sqrt(1 - 0.999) / (1 - 0.9)
    return table[row] - alpha * m / (np.sqrt(v) + 1e-7)


def test_lazy_rows_move_only_when_their_token_is_in_the_batch():
    start, after_first, after_second = train_table(lazy=True)
    untouched = [0, 1, 4, 6, 7, 8, 9]
    np.testing.assert_array_equal(after_second[untouched], start[untouched])
    np.testing.assert_array_equal(after_second[5], after_first[5])  # token 5 is not in the second batch: its row stays
    np.testing.assert_allclose(after_first[5], adam_first_step(start, 5, occurrences=2), rtol=1e-5, atol=2e-6)  # float32 against float64: the step is 0.1
    np.testing.assert_allclose(after_first[2], adam_first_step(start, 2, occurrences=1), rtol=1e-5, atol=2e-6)  # float32 against float64: the step is 0.1


def test_dense_rows_keep_moving_on_their_momentum_and_match_lazy_where_both_update():
    lazy, dense = train_table(lazy=True), train_table(lazy=False)
    np.testing.assert_allclose(dense[1], lazy[1], rtol=1e-5, atol=2e-6)  # step 1: the same Adam step on the summed gradient
    assert not np.allclose(dense[2][5], dense[1][5]), "dense Adam moves row 5 again on its momentum"
    np.testing.assert_allclose(dense[2][[2, 3]], lazy[2][[2, 3]], rtol=1e-5, atol=2e-6)  # rows in both steps' batches: the same update
    np.testing.assert_array_equal(dense[2][[0, 1, 4]], dense[0][[0, 1, 4]])


@pytest.mark.parametrize("lazy", [True, False])
def test_duplicate_tokens_count_as_one_summed_gradient(lazy):
    start, after_first, _ = train_table(lazy)
    np.testing.assert_allclose(after_first[5], adam_first_step(start, 5, occurrences=2), rtol=1e-5, atol=2e-6)  # float32 against float64: the step is 0.1
