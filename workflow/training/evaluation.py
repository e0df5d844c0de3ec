"""Evaluation of a split under the strategy: loss, accuracy and ROC AUC over every example, each counted once.

The split is cut into global batches whose last one is filled with weight-0
rows (data.evaluation_batches), so that every replica gets rows whatever the
split's size; the losses of the real rows are summed across replicas, and
their probabilities and labels gathered to the host, where accuracy and AUC
are computed over the whole split.
"""

from __future__ import annotations

from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf
from scipy.stats import rankdata

from workflow.config import TrainerConfig
from workflow.training import data
from workflow.training.strategy import Batch, replica_batches

SUM = tf.distribute.ReduceOp.SUM


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic (ties count half); None with one class only."""
    positives = labels > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Evaluator:
    """Evaluates ``model`` on ``strategy``, ``global_batch_size`` examples per step."""

    def __init__(self, strategy: tf.distribute.Strategy, model: keras.Model, global_batch_size: int, config: TrainerConfig):
        self.strategy, self.model, self.global_batch_size, self.config = strategy, model, global_batch_size, config
        self._step = tf.function(self._distributed_step)
        self._iterators: dict[int, tuple[tf.data.Dataset, Iterator[Batch]]] = {}  # id(examples) -> (examples, its iterator)

    def _iterator(self, examples: tf.data.Dataset) -> Iterator[Batch]:
        """An iterator over the split's evaluation batches, repeated: one per split, each call reads one pass.

        Validation is evaluated every epoch, and building its input pipeline
        costs about as much as evaluating a small split. A pass is ``ceil(size
        / global batch)`` batches (data.evaluation_batches), what a call reads.
        """
        if id(examples) not in self._iterators:
            batches = data.evaluation_batches(examples, self.global_batch_size, self.config.sort_pool_batches,
                                              self.strategy.num_replicas_in_sync, self.config.width_multiple)
            iterator = iter(batches.repeat())
            self._iterators[id(examples)] = (examples, iterator)  # keeps ``examples`` alive: its id stays its own
        return self._iterators[id(examples)][1]

    def _distributed_step(self, iterator: Iterator[Batch]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        def replica_step(features, labels, weights):
            probabilities = self.model(features, training=False)[:, 0]
            per_example = keras.losses.binary_crossentropy(labels[:, None], probabilities[:, None])
            return tf.reduce_sum(per_example * weights), probabilities, labels, weights

        loss_sum, probabilities, labels, weights = self.strategy.run(replica_step, args=replica_batches(self.strategy, iterator))
        return (self.strategy.reduce(SUM, loss_sum, axis=None), self.strategy.gather(probabilities, axis=0),
                self.strategy.gather(labels, axis=0), self.strategy.gather(weights, axis=0))

    def evaluate(self, examples: tf.data.Dataset, size: int) -> dict[str, Any]:
        """Loss, accuracy and AUC over every example of a split (the weight-0 rows that fill the last batch left out)."""
        iterator = self._iterator(examples)
        loss_sum, probabilities, labels = 0.0, [], []
        for _ in range(-(-size // self.global_batch_size)):
            batch_loss, batch_probabilities, batch_labels, batch_weights = self._step(iterator)
            loss_sum += float(batch_loss)
            real = batch_weights.numpy() > 0
            probabilities.append(batch_probabilities.numpy()[real])
            labels.append(batch_labels.numpy()[real])
        scores, truth = np.concatenate(probabilities), np.concatenate(labels)
        if len(truth) != size:
            raise RuntimeError(f"evaluated {len(truth)} examples, expected {size}")
        return {"loss": loss_sum / size, "accuracy": float(np.mean((scores > 0.5) == (truth > 0.5))), "auc": auc(truth, scores), "examples": size}
