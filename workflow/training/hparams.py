"""TensorBoard's HParams dashboard: one session per finished run, its settings against its accuracies.

Written into the run's own ``tensorboard/`` folder, beside the train and
validation curves, so ``tensorboard --logdir <workdir>`` lists every run of
a sweep in the HParams tab: mode, seed, labelled reviews, model, vector
source against test and validation accuracy. TensorBoard infers the columns
from the sessions; no experiment-wide config is needed.
"""

from __future__ import annotations

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from workflow.config import Config
from workflow.embeddings.layout import source_name

TEST_ACCURACY, VALIDATION_ACCURACY = "hparams/test_accuracy", "hparams/validation_accuracy"


def run_hparams(config: Config, labelled_reviews: int) -> dict[str, str | int | float]:
    """The settings a sweep varies, as the dashboard's columns."""
    return {
        "mode": config.embedding.mode.value,
        "seed": config.seed,
        "labelled_reviews": labelled_reviews,
        "model": config.model.name,
        "encoder": config.model.encoder.value,
        "vectors": source_name(config.embedding.vectors),
        "embedding_update": config.trainer.embedding_update.value,
        "learning_rate": config.trainer.learning_rate,
    }


def write_session(tensorboard_dir: str, run_name: str, hparams: dict, test_accuracy: float | None,
                  validation_accuracy: float | None) -> None:
    """One HParams session (``trial_id`` = run name) and its two metrics, at step 0."""
    writer = tf.summary.create_file_writer(tensorboard_dir)
    with writer.as_default(step=0):
        hp.hparams(hparams, trial_id=run_name)
        for tag, value in ((TEST_ACCURACY, test_accuracy), (VALIDATION_ACCURACY, validation_accuracy)):
            if value is not None:
                tf.summary.scalar(tag, value)
    writer.close()
