"""Shared by the benchmarks that need no dataset: IMDB-shaped synthetic reviews, and a trainer's step timed on them.

Reviews: ids 2.. drawn by Zipf(1.1) rank over the vocabulary (a few frequent
tokens, a long tail, as word counts go), lengths log-normal with IMDB's median
of about 174 tokens, cut at ``max_len``; labels random (timing only).
"""

from __future__ import annotations

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from workflow.config import EmbeddingMode, EmbeddingUpdate, Encoder, ModelConfig, Precision, TrainerConfig
from workflow.training import data
from workflow.training.trainer import Trainer
from workflow.training.model import build_classifier

MODELS = {  # conf/model/*.yaml, at their sizes
    "pooling": ModelConfig(name="pooling", encoder=Encoder.pooling),
    "cnn": ModelConfig(name="cnn", encoder=Encoder.cnn),
    "cnn3": ModelConfig(name="cnn3", encoder=Encoder.cnn, windows=[3], filters=128),
    "bilstm": ModelConfig(name="bilstm", encoder=Encoder.bilstm),
}


def synthetic_reviews(count: int, vocabulary: int, max_len: int, seed: int = 0) -> tf.data.Dataset:
    """``(tokens int32 [length], label float32)`` pairs shaped like IMDB's reviews."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(174), 0.75, count).astype(int), 10, max_len)
    ids = np.minimum(rng.zipf(1.1, lengths.sum()) + 1, vocabulary - 1).astype(np.int32)
    tokens = tf.RaggedTensor.from_row_lengths(ids, lengths)
    return tf.data.Dataset.from_tensor_slices((tokens, rng.integers(0, 2, count).astype(np.float32)))


@dataclasses.dataclass
class TimedTrainer:
    """A Trainer (the step: workflow/training/trainer.py) on endless synthetic batches, ready to time."""

    trainer: Trainer
    iterator: object
    global_batch_size: int

    def seconds_per_step(self, steps: int, steps_per_call: int = 1) -> float:
        """Wall time per step over ``steps`` steps; the host waits for the device once, at the end."""
        call = tf.constant(steps_per_call)
        started = time.perf_counter()
        for _ in range(steps // steps_per_call):
            self.trainer.train_steps(self.iterator, call)
        self.trainer.sums.read()
        return (time.perf_counter() - started) / (steps // steps_per_call * steps_per_call)


def timed_trainer(strategy: tf.distribute.Strategy, model: str, mode: EmbeddingMode = EmbeddingMode.finetune,
                  update: EmbeddingUpdate = EmbeddingUpdate.lazy, precision: Precision = Precision.float32, vocabulary: int = 50_000,
                  dim: int = 100, batch_size: int = 64, max_len: int = 800, width_multiple: int = 0, warmup: int = 2,
                  cycle: int = 0) -> TimedTrainer:
    """Build ``model`` under ``strategy`` and run ``warmup`` steps (the trace) on synthetic reviews.

    ``cycle``: 0 for fresh batches without end; n for the same n batches over and over, warmed up by one pass over
    them instead of ``warmup`` steps, so that every width the timed steps meet is traced (and autotuned) first.
    """
    keras.utils.set_random_seed(0)
    matrix = None if mode is EmbeddingMode.random else np.random.default_rng(0).normal(0, 0.3, (vocabulary, dim)).astype(np.float32)
    with strategy.scope():
        classifier = build_classifier(vocabulary, dim, mode, MODELS[model], 0, matrix, precision)
    config = TrainerConfig(run_name="benchmark", batch_size=batch_size, embedding_update=update, width_multiple=width_multiple,
                           precision=precision, log_every_steps=10**9, checkpoint_every_steps=10**9)
    trainer = Trainer(strategy, classifier, config, config.learning_rate)
    global_batch = batch_size * strategy.num_replicas_in_sync
    examples = synthetic_reviews(global_batch * 40, vocabulary, max_len).cache()
    batches = data.training_batches(examples, global_batch, 0, 0, 10_000, 20, width_multiple=width_multiple)
    batches = batches.take(cycle).cache().repeat() if cycle else batches.repeat()
    timed = TimedTrainer(trainer, iter(batches), global_batch)
    if cycle or warmup:
        timed.seconds_per_step(cycle or warmup)
    return timed
