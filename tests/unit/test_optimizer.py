"""The lazy Adam of the Embedding table, step by step against a NumPy reference.

The reference is written from the definition, not from the code: per-row
moments that decay only at the steps whose batch uses the row (TF Addons'
LazyAdam, ``torch.optim.SparseAdam``), duplicate rows of a batch summed into
one gradient first, and Adam's bias correction by the global step (as
``EmbeddingAdam`` does: the optimizer's ``iterations``). Three steps, so that
the moments carry history: Adam's first step is about ``lr * sign(g)``
whatever the gradient's size, so only later steps can tell a summed duplicate
from an averaged one, or a row whose moments decayed from one whose did not.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from workflow.training.optimizer import EmbeddingAdam

ROWS, DIM, LEARNING_RATE = 8, 3, 0.1
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam's defaults, which EmbeddingAdam keeps
# Row 4 is in steps 1 and 3 and skips step 2; row 2 is twice in step 1's batch, row 1 twice in step 3's;
# rows 0, 3, 6 and 7 are in no batch.
BATCHES = ([1, 2, 2, 4], [1, 2, 5], [4, 2, 1, 1])
SKIPPED, NEVER_USED = 4, [0, 3, 6, 7]
# float32 against float64 after three steps of about 0.1 each (seen: at most 4e-7, lazy and dense). The mistakes the
# reference must tell apart are > 6e-3 away.
TOLERANCE = {"rtol": 0, "atol": 1e-6}


def position_weights(length: int, step: int) -> np.ndarray:
    """Fixed ``[length, dim]`` weights: each occurrence of a token gets a gradient of its own."""
    return np.random.default_rng(100 + step).normal(0, 1, (length, DIM)).astype(np.float32)


def loss(rows: tf.Tensor, step: int) -> tf.Tensor:
    """``sum_j c_j . E[id_j] + sum_j |E[id_j]|^2``: the gradient of an occurrence j is ``c_j + 2 E[id_j]``."""
    return tf.reduce_sum(rows * position_weights(rows.shape[0], step)) + tf.reduce_sum(rows**2)


def keras_tables(lazy: bool, optimizer: keras.optimizers.Adam | None = None) -> list[np.ndarray]:
    """The ``[ROWS, DIM]`` table before and after each step of EmbeddingAdam (or ``optimizer``) on :func:`loss`."""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(ROWS, DIM, embeddings_initializer=keras.initializers.RandomUniform(-1, 1, seed=0))
    embedding.build((None,))
    optimizer = optimizer or EmbeddingAdam(LEARNING_RATE, lazy=lazy)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (BETA_1, BETA_2, EPSILON)
    optimizer.build(embedding.trainable_variables)
    tables = [embedding.embeddings.numpy().copy()]
    for step, ids in enumerate(BATCHES, start=1):
        with tf.GradientTape() as tape:
            value = loss(embedding(np.array(ids)), step)
        (gradient,) = tape.gradient(value, embedding.trainable_variables)
        # The optimizer gets the tape's gradient as it is: one row per occurrence, duplicates not summed.
        assert isinstance(gradient, tf.IndexedSlices) and list(gradient.indices.numpy()) == ids
        if not isinstance(optimizer, EmbeddingAdam):  # Keras's Adam gets the summed gradient (see EmbeddingAdam's docstring)
            gradient = tf.convert_to_tensor(gradient)
        optimizer.apply_gradients([(gradient, embedding.embeddings)])
        tables.append(embedding.embeddings.numpy().copy())
    return tables


def numpy_adam(start: np.ndarray, lazy: bool, duplicates: str = "sum") -> list[np.ndarray]:
    """Adam in float64 from the definition; ``lazy``: only the batch's rows (and their moments) update.

    ``duplicates``: how the occurrences of one row in a batch become its gradient; ``"sum"`` is the right one,
    ``"mean"`` and ``"square_each"`` (``v`` from g1^2 + g2^2, Keras's Adam on raw IndexedSlices) are the mistakes
    the test must be able to see.
    """
    table = start.astype(np.float64)
    m, v = np.zeros_like(table), np.zeros_like(table)
    tables = [table.copy()]
    for step, ids in enumerate(BATCHES, start=1):
        weights = position_weights(len(ids), step).astype(np.float64)
        occurrences = {row: [j for j, found in enumerate(ids) if found == row] for row in dict.fromkeys(ids)}
        per_occurrence = {row: [weights[j] + 2 * table[row] for j in where] for row, where in occurrences.items()}
        gradient, squared = np.zeros_like(table), np.zeros_like(table)
        for row, found in per_occurrence.items():
            gradient[row] = np.mean(found, axis=0) if duplicates == "mean" else np.sum(found, axis=0)
            squared[row] = np.sum(np.square(found), axis=0) if duplicates == "square_each" else gradient[row] ** 2
        updated = list(occurrences) if lazy else list(range(ROWS))
        m[updated] = BETA_1 * m[updated] + (1 - BETA_1) * gradient[updated]
        v[updated] = BETA_2 * v[updated] + (1 - BETA_2) * squared[updated]
        alpha = LEARNING_RATE * np.sqrt(1 - BETA_2**step) / (1 - BETA_1**step)  # the global step, for every row
        table[updated] -= alpha * m[updated] / (np.sqrt(v[updated]) + EPSILON)
        tables.append(table.copy())
    return tables


@pytest.mark.parametrize("lazy", [True, False], ids=["lazy", "dense"])
def test_each_step_is_the_reference_adam(lazy):
    tables = keras_tables(lazy)
    reference = numpy_adam(tables[0], lazy)
    for step in range(1, len(BATCHES) + 1):
        np.testing.assert_allclose(tables[step], reference[step], **TOLERANCE, err_msg=f"step {step}")
    for step in range(1, len(BATCHES) + 1):  # zero moments give a zero update, in either setting: these hold for dense too
        np.testing.assert_array_equal(tables[step][NEVER_USED], tables[0][NEVER_USED])


def test_the_dense_rule_is_keras_adam_on_the_summed_gradient():
    """The fused kernel against Keras 3's own update: the same formula, float32 rounding of ``1 - beta`` apart (Keras
    rounds the Python float, the kernel subtracts in float32: 1.3e-5 of ``1 - beta_2``; seen: 1.9e-6 after three steps)."""
    fused, keras_adam = keras_tables(lazy=False), keras_tables(lazy=False, optimizer=keras.optimizers.Adam(LEARNING_RATE))
    for step in range(1, len(BATCHES) + 1):
        np.testing.assert_allclose(fused[step], keras_adam[step], rtol=0, atol=5e-6, err_msg=f"step {step}")


def test_lazy_keeps_a_skipped_row_and_its_moments_where_dense_moves_it():
    lazy, dense = keras_tables(lazy=True), keras_tables(lazy=False)
    np.testing.assert_array_equal(lazy[2][SKIPPED], lazy[1][SKIPPED])  # not in step 2's batch: its row stays, bit for bit
    assert np.abs(dense[2][SKIPPED] - dense[1][SKIPPED]).min() > 1e-3, "dense Adam moves the skipped row on its momentum"
    # Step 3 uses the row again: lazy decayed its moments once (no step 2 for it), dense twice.
    assert np.abs(lazy[3][SKIPPED] - dense[3][SKIPPED]).max() > 1e-2
    # Where both settings update a row at every step (rows 1 and 2), they agree.
    np.testing.assert_allclose(lazy[3][[1, 2]], dense[3][[1, 2]], **TOLERANCE)


@pytest.mark.parametrize("mistake", ["mean", "square_each"])
def test_the_reference_tells_a_summed_duplicate_from_the_mistakes(mistake):
    """The comparison above could fail: averaging the duplicate rows, or squaring them one by one, is far outside it."""
    tables = keras_tables(lazy=True)
    wrong = numpy_adam(tables[0], lazy=True, duplicates=mistake)
    assert np.abs(tables[3][[1, 2]] - wrong[3][[1, 2]]).max() > 1e-2
