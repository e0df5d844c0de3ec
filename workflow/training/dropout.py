"""Dropout whose mask follows the example's row in the global batch, not the replica that computes it.

Keras's ``Dropout`` draws each call's mask from a seed generator whose state
is mirrored: under MirroredStrategy or MultiWorkerMirroredStrategy every
replica draws the *same* mask for its own share of the batch, so masks are
correlated across replicas and a run on 2 replicas differs from the same
global batch on 1. Here every replica draws the mask of the whole global
batch ``[replicas x batch, features]`` from the shared seed (a few thousand
uniforms: negligible next to the step) and keeps its own rows, so the
same seed, global batch and step give the same masks on any number of
replicas or workers. The seed generator's state is checkpointed with the
model's other random states, so a resumed run draws the same masks too.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="workflow")
class GlobalBatchDropout(keras.layers.Layer):
    """``Dropout(rate)`` for ``[batch, features]`` inputs, identical for any split of the global batch."""

    def __init__(self, rate: float, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = float(rate), int(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        context = tf.distribute.get_replica_context()
        replicas, replica = (1, 0) if context is None else (context.num_replicas_in_sync, context.replica_id_in_sync_group)
        rows = tf.shape(inputs)[0]
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        uniform = tf.random.stateless_uniform(tf.stack([rows * replicas, tf.shape(inputs)[1]]), seed=seed)
        keep = uniform[replica * rows : (replica + 1) * rows] >= self.rate
        return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
