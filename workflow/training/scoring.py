"""A split scored by the trained classifier: its probability for every review, in doc_id order (predictions.py stores them)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from workflow.training import data, predictions
from workflow.training.documents import DocumentTable
from workflow.training.layout import RunLayout

BATCH = 256


def predict(model: keras.Model, files: list[str], max_len: int, documents: DocumentTable | None = None
            ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(doc ids, labels ``[reviews]`` int, probabilities ``[reviews]`` float32) of every review in ``files``, in doc_id order.

    Reviews are scored in batches of similar length (a batch is as wide as its longest review; unsorted, most of a
    batch would be padding), by one traced function whose width is left open. ``documents``: the network's document
    table, whose rows it reads beside the tokens (model.paragraph_vectors).
    """
    reviews = data.reviews(files, max_len)
    ids = [doc_id for doc_id, _, _ in reviews]
    labels = np.array([label for _, _, label in reviews], dtype=np.int64)
    rows = None if documents is None else documents.rows(ids)
    probabilities = np.zeros(len(reviews), dtype=np.float32)
    tokens_spec = tf.TensorSpec([None, None], tf.int32)
    spec = tokens_spec if rows is None else {"tokens": tokens_spec, "document": tf.TensorSpec([None], tf.int32)}
    score = tf.function(lambda features: model(features, training=False)[:, 0], input_signature=[spec])
    by_length = sorted(range(len(reviews)), key=lambda index: len(reviews[index][1]))
    for start in range(0, len(by_length), BATCH):
        batch = by_length[start:start + BATCH]
        tokens = np.zeros((len(batch), max(1, max(len(reviews[index][1]) for index in batch))), dtype=np.int32)  # 0: padding, masked
        for row, index in enumerate(batch):
            tokens[row, :len(reviews[index][1])] = reviews[index][1]
        features = tf.constant(tokens) if rows is None else {"tokens": tf.constant(tokens), "document": tf.constant(rows[batch])}
        probabilities[batch] = score(features).numpy()
    order = np.argsort(ids, kind="stable")
    return [ids[i] for i in order], labels[order], probabilities[order]


def write_predictions(layout: RunLayout, split: str, model: keras.Model, files: list[str], max_len: int,
                      films_of: predictions.FilmsOf, documents: DocumentTable | None = None) -> None:
    """Score ``split`` and store its predictions (``films_of``: doc ids -> their films)."""
    ids, labels, probabilities = predict(model, files, max_len, documents)
    predictions.write(layout, split, ids, labels, probabilities, films_of(ids))
