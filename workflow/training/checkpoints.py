"""Where training stands and how a run resumes: ``TrainState``, its checkpoints, and the workers' agreement on them.

Resume: every ``checkpoint_every_steps`` steps and at each epoch end the model
and optimizer go to a TF checkpoint (``tf.train.CheckpointManager``, the last
two kept), then ``state.json`` (epoch, step inside the epoch, history so far)
is renamed into place. A re-run restores them and skips the batches of the
epoch that were already trained; epochs are seeded by (seed, epoch), so they
are the same batches.

Several workers resume from one checkpoint, the chief's, as Keras's
``BackupAndRestore`` does: every worker must call ``save`` (the others write
to a scratch folder of their own, never read), and every worker restores the
chief's ``state.json`` and checkpoint. A barrier before the restore lets the
chief finish preparing its folder, and a check after it turns workers that
disagree on the step into an error instead of mismatched all-reduces.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import tensorflow as tf

from workflow.artifacts import read_json, write_json_atomic
from workflow.training.progress import STEPS

SUM = tf.distribute.ReduceOp.SUM


@dataclass
class TrainState:
    """Where training stands; saved beside each checkpoint as state.json."""

    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0  # batches of the current epoch already trained
    global_step: int = 0
    checkpoint: str | None = None  # checkpoint prefix (relative to the checkpoint folder)
    best_accuracy: float | None = None
    best_epoch: int | None = None
    epochs_without_improvement: int = 0
    stopped_early: bool = False
    epoch_sums: dict[str, float] = field(default_factory=lambda: {"loss": 0.0, "correct": 0.0, "examples": 0.0})
    train_seconds: float = 0.0  # time spent in training steps (not evaluation), over all attempts
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per epoch


def all_reduce_sum(strategy: tf.distribute.Strategy, value: int) -> int:
    """The sum of ``value`` over every replica of every worker (a collective: every worker must call it)."""
    per_replica = strategy.run(tf.function(lambda: tf.constant(value, tf.int64)))
    return int(strategy.reduce(SUM, per_replica, axis=None))


def barrier(strategy: tf.distribute.Strategy) -> None:
    """Wait until every worker gets here (a no-op on one worker)."""
    all_reduce_sum(strategy, 0)


def check_same_step(strategy: tf.distribute.Strategy, step: int, checkpoint_dir: str) -> None:
    """RuntimeError unless every worker restored global step ``step`` (a collective)."""
    replicas = strategy.num_replicas_in_sync
    # All equal <=> (sum x)^2 == n * sum x^2 (Cauchy-Schwarz), one all-reduce of two numbers.
    total, squares = all_reduce_sum(strategy, step), all_reduce_sum(strategy, step * step)
    if total * total != replicas * squares:
        raise RuntimeError(f"workers restored different steps (this one: {step}); is {checkpoint_dir} shared by every worker?")


class Checkpoints:
    """The TF checkpoints of ``checkpoint`` and the ``state.json`` beside them, in the chief's ``checkpoint_dir``.

    ``scratch_dir``: where a non-chief worker's own saves go (None on the chief); nobody reads them.
    """

    def __init__(self, checkpoint: tf.train.Checkpoint, checkpoint_dir: str, scratch_dir: str | None = None):
        self.checkpoint_dir, self.chief = checkpoint_dir, scratch_dir is None
        self.manager = tf.train.CheckpointManager(checkpoint, scratch_dir or checkpoint_dir, max_to_keep=2)
        self.state_path = os.path.join(checkpoint_dir, "state.json")

    def restore(self) -> TrainState | None:
        """The chief's last state, its checkpoint loaded into the objects; None when no attempt left one."""
        if not os.path.exists(self.state_path):
            return None
        state = TrainState(**read_json(self.state_path))
        self.manager.checkpoint.restore(os.path.join(self.checkpoint_dir, state.checkpoint)).assert_existing_objects_matched()
        return state

    def save(self, state: TrainState) -> None:
        """A checkpoint numbered by the global step, then (on the chief) ``state`` naming it."""
        path = self.manager.save(checkpoint_number=state.global_step)
        if not self.chief:
            return  # a non-chief's save is for the collective only; nobody restores it
        state.checkpoint = os.path.basename(path)
        write_json_atomic(self.state_path, asdict(state))
        where = f"epoch {state.epoch + 1}, step {state.step_in_epoch}" if state.step_in_epoch else f"end of epoch {state.epoch}"
        STEPS.info("checkpoint %s saved (%s)", path, where)
