"""TensorBoard scalars of a training run: one writer for ``train/``, one for ``validation/``.

The train writer gets ``loss``, ``accuracy`` (the log step's own batch) and
``learning_rate`` every ``log_every_steps`` global steps, and the epoch's
``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate`` by epoch number;
the validation writer the epoch's ``epoch_loss`` and ``epoch_accuracy``.
Without a folder (a non-chief worker) the writers write nothing.
"""

from __future__ import annotations

import os

import tensorflow as tf

SPLITS = ("train", "validation")


class Summaries:
    """Scalar writers under ``folder`` (``<folder>/train``, ``<folder>/validation``); no-op writers when it is None."""

    def __init__(self, folder: str | None):
        if folder is None:
            self.writers = {split: tf.summary.create_noop_writer() for split in SPLITS}
        else:
            self.writers = {split: tf.summary.create_file_writer(os.path.join(folder, split)) for split in SPLITS}

    def scalars(self, split: str, step: int, **values: float) -> None:
        """``values`` by name, at ``step``, in the ``split`` writer."""
        with self.writers[split].as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.flush()
            writer.close()
