"""What a training run writes: the file names of ``<workdir>/runs/<run name>/``.

One training run, written in place so that an interrupted run can resume;
``metrics.json`` last marks it finished; a finished run of another
configuration stays until the new run finishes beside it, then moves to
``<workdir>/kept-runs/`` (run_folder.py)::

    identity.json                          the run's cache key: config, digests of what it reads, global batch (written first)
    checkpoints/ckpt-N.*                   model + optimizer every trainer.checkpoint_every_steps
    checkpoints/state.json                 which checkpoint, epoch, step in epoch, history so far
    best/model.weights.h5                  weights of the epoch with the best validation accuracy (the last epoch without validation)
    tensorboard/{train,validation}/        scalars: loss, accuracy, learning rate
    export/model.keras                     the trained classifier (token ids, and document rows with model.paragraph_vectors, in;
                                           probability out)
    export/serving/                        SavedModel: raw strings in (tokenizer + vocabulary inside), probability out
    test_predictions.csv                   one row a test review, in doc_id order: doc_id, label, probability, film (the report's paired bootstrap)
    validation_predictions.csv             the same for the validation reviews (choosing a combination of runs on validation)
    metrics.json                           test accuracy, AUC, loss, epochs, wall time, examples/s, config (output.RunMetrics)

Later stages, serving and scripts open a run through ``RunOutput`` (output.py), never by these names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from workflow.artifacts import StageFile

# What a run folder holds, as a version in the run's key: bump it when that changes, so that no run of an older format
# is re-used. 1: the first versioned format.
FORMAT_VERSION = 1
RUNS = "runs"  # <workdir>/runs/<run name>/
METRICS = "metrics.json"  # written last: the run is finished
PREDICTED_SPLITS = ("validation", "test")  # the splits a run stores its predictions on


def run_dir(workdir: str, run_name: str) -> str:
    """``<workdir>/runs/<run name>``."""
    return os.path.join(workdir, RUNS, run_name)


@dataclass(frozen=True)
class RunLayout:
    """File names inside one training run folder."""

    root: str
    identity = StageFile("identity.json")
    checkpoints = StageFile("checkpoints")
    state = StageFile("checkpoints", "state.json")
    best = StageFile("best")
    best_weights = StageFile("best", "model.weights.h5")
    tensorboard = StageFile("tensorboard")
    export = StageFile("export", "model.keras")
    serving = StageFile("export", "serving")
    test_predictions = StageFile("test_predictions.csv")
    validation_predictions = StageFile("validation_predictions.csv")
    metrics = StageFile(METRICS)

    def predictions(self, split: str) -> str:
        """``test_predictions.csv`` or ``validation_predictions.csv``."""
        if split not in PREDICTED_SPLITS:
            raise ValueError(f"predictions are stored for {' and '.join(PREDICTED_SPLITS)}, not {split!r}")
        return self.test_predictions if split == "test" else self.validation_predictions
