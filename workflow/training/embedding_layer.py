"""The classifier's Embedding layer: Keras's, with a lookup that reads only the rows of the batch.

``keras.layers.Embedding`` reads its whole ``[vocabulary, dim]`` table as one
tensor and takes the batch's rows from it. While that read is alive (the
gradient tape keeps it until the update), a sparse update of the table
cannot write in place, so TensorFlow copies the whole table first: a
fine-tuning step then costs what the vocabulary holds again, whatever the
optimizer does (measured: 57 ms at 50,000 rows, 73 ms at 500,000, for the
lazy update of one IMDB batch). Gathering from the variable itself
(``tf.nn.embedding_lookup`` on the resource variable, one ``ResourceGather``)
reads only the batch's rows: 41 and 39 ms. Under a distribution strategy the
gather reads the replica's own copy of the table (replica_copy.py). Everything
else, the mask (``mask_zero``), the initializer, ``trainable``, the weights
and their names, is Keras's Embedding unchanged.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from workflow.training.replica_copy import replica_copy


@keras.saving.register_keras_serializable(package="workflow")
class RowGatherEmbedding(keras.layers.Embedding):
    """``keras.layers.Embedding`` whose lookup gathers rows from the table variable instead of reading all of it."""

    def call(self, inputs):
        if inputs.dtype not in ("int32", "int64"):
            inputs = keras.ops.cast(inputs, "int32")
        rows = tf.nn.embedding_lookup(replica_copy(self.embeddings), inputs)
        return keras.ops.cast(rows, dtype=self.compute_dtype)
