"""A split scored by the trained classifier: its probability for every review, in doc_id order (predictions.py stores them)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from workflow.training import data, predictions
from workflow.training.layout import RunLayout

BATCH = 256


def _parse(serialized: tf.Tensor, max_len: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    example = tf.io.parse_single_example(serialized, data.FEATURES | data.DOC_ID)
    tokens = tf.cast(tf.sparse.to_dense(example["tokens"])[:max_len], tf.int32)
    return example["doc_id"], tokens, example["label"]


def predict(model: keras.Model, files: list[str], max_len: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(doc ids, labels ``[reviews]`` int, probabilities ``[reviews]`` float32) of every review in ``files``, in doc_id order."""
    reviews = tf.data.TFRecordDataset(files, compression_type="GZIP").map(lambda record: _parse(record, max_len))
    ids, labels, probabilities = [], [], []
    for doc_ids, tokens, truth in reviews.padded_batch(BATCH):  # padded with id 0, which the Embedding layer masks
        ids += [doc_id.decode() for doc_id in doc_ids.numpy()]
        labels.append(truth.numpy())
        probabilities.append(keras.ops.convert_to_numpy(model(tokens, training=False))[:, 0])
    order = np.argsort(ids, kind="stable")
    return [ids[i] for i in order], np.concatenate(labels)[order], np.concatenate(probabilities)[order]


def write_predictions(layout: RunLayout, split: str, model: keras.Model, files: list[str], max_len: int,
                      films_of: predictions.FilmsOf) -> None:
    """Score ``split`` and store its predictions (``films_of``: doc ids -> their films)."""
    ids, labels, probabilities = predict(model, files, max_len)
    predictions.write(layout, split, ids, labels, probabilities, films_of(ids))
