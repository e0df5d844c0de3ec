"""Adam whose update of an Embedding table costs what the batch touches, not what the vocabulary holds.

Keras 3's Adam turns the Embedding's sparse gradient (``tf.IndexedSlices``:
the rows of the tokens in the batch) into a dense one and updates every row
of the ``[vocabulary, dim]`` table, with both moment slots, at every step. The
"lazy" Adam of TF Addons and ``torch.optim.SparseAdam`` update only the rows
in the batch, with their moments: a row's moments decay only at the steps
that use it. That is what :class:`EmbeddingAdam` does for every sparse gradient;
dense gradients (every other weight) get Keras's own update.

The slots are Adam's own (``m`` and ``v``), so checkpoints and resume are
unchanged. Every read and write of a table or its slots goes to the device's
own copy of the variable (replica_copy.py): a ``ResourceGather`` of the
batch's rows and a scatter of them, never a read of the whole table, under
any strategy.

``lazy=False`` keeps the dense update, for comparison, but densifies the
gradient first: Keras's Adam squares an ``IndexedSlices`` gradient row by
row before duplicate rows are summed, so a token that occurs twice in a batch
gets ``v`` from g1^2 + g2^2 instead of (g1 + g2)^2 (a step sqrt(2) too long, seen
on Keras 3.15). Both settings compute Adam on the summed gradient. The dense
update is TensorFlow's fused ``ResourceApplyAdam`` kernel (what Keras 2's Adam
ran): Keras 3's update reads the table and both slots whole and writes each
back in ops of their own, where the kernel updates the three in place in one
pass. It is Keras's formula; the two differ by float32 rounding of ``1 - beta``.

Every scatter here writes rows that :func:`sum_duplicate_rows` made unique,
so a GPU scatter is deterministic without TensorFlow's host fallback (see
workflow/training/__init__.py).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from workflow.training.replica_copy import replica_copy

# What the dense update computes, in the key of every run that uses it (training/identity.py rule 4): runs trained by
# Keras's own Adam update before this kernel replaced it differ by float rounding, and train again.
DENSE_UPDATE = "ResourceApplyAdam (fused) on the densified gradient, duplicate rows summed"


def sum_duplicate_rows(gradient: tf.IndexedSlices) -> tf.IndexedSlices:
    """The same gradient with one row per distinct index: ``[n, dim]`` rows -> ``[unique, dim]``, in order of first occurrence.

    An Embedding's gradient has one row per token occurrence; on one device
    the sums are bit-for-bit the ones the update computed from the raw rows
    (one ``unsorted_segment_sum`` in the same order).
    """
    rows, positions = tf.unique(gradient.indices)
    return tf.IndexedSlices(tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(rows)[0]), rows, gradient.dense_shape)


class EmbeddingAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with lazy (row-wise) updates for ``tf.IndexedSlices`` gradients, or dense ones."""

    def __init__(self, learning_rate: float, lazy: bool = True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.lazy = lazy

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        table, m, v = replica_copy(variable), replica_copy(self._momentums[index]), replica_copy(self._velocities[index])
        if not self.lazy:
            return tf.raw_ops.ResourceApplyAdam(
                var=table.handle, m=m.handle, v=v.handle, beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
                lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
                grad=tf.cast(tf.convert_to_tensor(gradient), dtype))
        alpha = tf.cast(learning_rate, dtype) * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        # A token that occurs several times in the batch (or on several replicas) has several rows: sum them first.
        summed_rows = sum_duplicate_rows(gradient)
        rows, summed = summed_rows.indices, tf.cast(summed_rows.values, dtype)
        m_rows = beta_1 * m.sparse_read(rows) + (1 - beta_1) * summed
        v_rows = beta_2 * v.sparse_read(rows) + (1 - beta_2) * tf.square(summed)
        m.scatter_update(tf.IndexedSlices(m_rows, rows))
        v.scatter_update(tf.IndexedSlices(v_rows, rows))
        table.scatter_sub(tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows))
