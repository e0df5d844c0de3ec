"""Per-review test predictions of a run: ``<run>/test_predictions.csv``, one row a test review (doc_id, label, probability).

The report pairs two modes' runs of one seed review by review (a paired
bootstrap over the test set, workflow/report/statistics.py), which the
aggregate test accuracy in metrics.json cannot give. Rows are in doc_id
order, so the runs of one preprocessing output list the same reviews in the
same order. Written by the chief before metrics.json (which marks the run
finished).
"""

from __future__ import annotations

import csv
import os

import keras
import numpy as np
import tensorflow as tf

from workflow.training.layout import RunLayout
from workflow.training import data

FILE = "test_predictions.csv"
COLUMNS = ("doc_id", "label", "probability")
BATCH = 256


def path(layout: RunLayout) -> str:
    return os.path.join(layout.root, FILE)


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


def write(layout: RunLayout, model: keras.Model, files: list[str], max_len: int) -> float:
    """Write the run's test predictions; returns their accuracy (a check against the evaluated one)."""
    ids, labels, probabilities = predict(model, files, max_len)
    with open(path(layout), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(zip(ids, labels.tolist(), (f"{p:.6f}" for p in probabilities)))
    return float(np.mean((probabilities > 0.5) == (labels > 0)))


def read(layout: RunLayout) -> tuple[np.ndarray, np.ndarray] | None:
    """(doc ids, correct) ``[reviews]`` in doc_id order, or None when the run stored no predictions (older runs)."""
    if not os.path.exists(path(layout)):
        return None
    with open(path(layout), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ids = np.array([row["doc_id"] for row in rows])
    correct = np.array([(float(row["probability"]) > 0.5) == (int(row["label"]) > 0) for row in rows])
    return ids, correct
