"""The distributed training loop: one ``strategy.run`` step, checkpoints to resume from, TensorBoard scalars.

Keras 3's ``fit`` does not run under MultiWorkerMirroredStrategy
(keras-team/keras#20585), so the step is written out: every replica computes
the loss of its share of the global batch, scaled by
``tf.nn.compute_average_loss(global_batch_size=...)``, and the strategy sums
the gradients. The same code then serves one device, MirroredStrategy and
MultiWorkerMirroredStrategy, and 1 replica or N replicas reach the same
weights for the same global batch. Each replica sums its Embedding gradient
to one row per token (optimizer.sum_duplicate_rows) before the strategy
gathers the sparse gradients: MirroredStrategy has no all-reduce for
``IndexedSlices``, so every row a replica sends crosses the interconnect.

One ``tf.function`` call runs up to ``trainer.steps_per_loop`` steps (Orbit's
``steps_per_loop``), in a ``tf.while_loop``; the step results stay on the
devices (steps.py) and a call ends early at a log step, a checkpoint step or
the epoch's end, so any ``steps_per_loop`` trains, logs and checkpoints the
same steps with the same numbers.

Resume: every ``checkpoint_every_steps`` steps and at each epoch end the model
and optimizer go to a TF checkpoint, then ``state.json`` (epoch, step inside
the epoch, history so far) is renamed into place. A re-run restores them and
skips the batches of the epoch that were already trained; epochs are seeded by
(seed, epoch), so they are the same batches.

Several workers resume from one checkpoint, the chief's, as Keras's
``BackupAndRestore`` does: every worker must call ``save`` (the others write
to a scratch folder of their own, never read), and every worker restores the
chief's ``state.json`` and checkpoint. A barrier before the restore lets the
chief finish preparing its folder, and a check after it turns workers that
disagree on the step into an error instead of mismatched all-reduces.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf
from scipy.stats import rankdata

from workflow.artifacts import write_json_atomic, read_json
from workflow.config import EmbeddingUpdate, TrainerConfig
from workflow.training import data
from workflow.training.optimizer import EmbeddingAdam, sum_duplicate_rows
from workflow.training.steps import StepSums

log = logging.getLogger(__name__)
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


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic (ties count half); None with one class only."""
    positives = labels > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Trainer:
    """Trains ``model`` on ``strategy``; writes checkpoints under ``checkpoint_dir`` and scalars under ``tensorboard_dir``."""

    def __init__(
        self,
        strategy: tf.distribute.Strategy,
        model: keras.Model,
        config: TrainerConfig,
        checkpoint_dir: str,
        tensorboard_dir: str | None,
        learning_rate: float,
        scratch_dir: str | None = None,
    ):
        """``checkpoint_dir``: the chief's checkpoints, which every worker restores; ``scratch_dir``: where a
        non-chief worker's own saves go (None on the chief)."""
        self.strategy, self.model, self.config = strategy, model, config
        self.global_batch_size = config.batch_size * strategy.num_replicas_in_sync
        self.learning_rate = learning_rate
        with strategy.scope():
            self.optimizer = EmbeddingAdam(learning_rate, lazy=config.embedding_update is EmbeddingUpdate.lazy)
            self.optimizer.build(model.trainable_variables)
        self.checkpoint_dir, self.chief = checkpoint_dir, scratch_dir is None
        # The dropout layers' seed-generator states are not weights; saving them too makes a
        # resumed run draw the same dropout masks as an uninterrupted one.
        random_states = [variable for variable in model.non_trainable_variables if "seed_generator" in variable.path]
        self.manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(model=model, optimizer=self.optimizer, random_states=random_states), scratch_dir or checkpoint_dir, max_to_keep=2
        )
        self.state_path = os.path.join(checkpoint_dir, "state.json")
        self.state = TrainState()
        if tensorboard_dir is None:
            self.writers = {"train": tf.summary.create_noop_writer(), "validation": tf.summary.create_noop_writer()}
        else:
            self.writers = {split: tf.summary.create_file_writer(os.path.join(tensorboard_dir, split)) for split in ("train", "validation")}
        self.sums = StepSums(strategy)
        self.train_steps = tf.function(self._distributed_train_steps)
        self._eval_step = tf.function(self._distributed_eval_step)

    # ------------------------------------------------------------------ steps

    def _replica_train_step(self, tokens: tf.Tensor, labels: tf.Tensor) -> None:
        """One replica's share ``[batch, width]`` of the global batch: gradients applied, sums added on the device."""
        with tf.GradientTape() as tape:
            probabilities = self.model(tokens, training=True)
            per_example = keras.losses.binary_crossentropy(labels[:, None], probabilities)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)
        variables = self.model.trainable_variables
        gradients = [sum_duplicate_rows(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient
                     for gradient in tape.gradient(loss, variables)]
        self.optimizer.apply_gradients(zip(gradients, variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(probabilities[:, 0] > 0.5, labels > 0.5), tf.float32))
        self.sums.add(tf.reduce_sum(per_example), correct)

    def _distributed_train_steps(self, iterator, steps: tf.Tensor) -> None:
        """``steps`` (a scalar tensor: one trace for any count) training steps in one call; results in ``self.sums``."""
        for _ in tf.range(steps):
            self.strategy.run(self._replica_train_step, args=next(iterator))

    def _distributed_eval_step(self, iterator) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        def replica_step(tokens, labels, weights):
            probabilities = self.model(tokens, training=False)[:, 0]
            per_example = keras.losses.binary_crossentropy(labels[:, None], probabilities[:, None])
            return tf.reduce_sum(per_example * weights), probabilities, labels, weights

        loss_sum, probabilities, labels, weights = self.strategy.run(replica_step, args=next(iterator))
        return (self.strategy.reduce(SUM, loss_sum, axis=None), self.strategy.gather(probabilities, axis=0),
                self.strategy.gather(labels, axis=0), self.strategy.gather(weights, axis=0))

    # ------------------------------------------------------------------ resume

    def restore(self) -> None:
        """Load the chief's last checkpoint and state.json if a previous attempt left them."""
        self.barrier()  # the chief has prepared its run folder before anyone reads it
        if os.path.exists(self.state_path):
            self.state = TrainState(**read_json(self.state_path))
            self.manager.checkpoint.restore(os.path.join(self.checkpoint_dir, self.state.checkpoint)).assert_existing_objects_matched()
        step = self.state.global_step
        replicas = self.strategy.num_replicas_in_sync
        # All equal <=> (sum x)^2 == n * sum x^2 (Cauchy-Schwarz), one all-reduce of two numbers.
        total, squares = self._all_reduce_sum(step), self._all_reduce_sum(step * step)
        if total * total != replicas * squares:
            raise RuntimeError(f"workers restored different steps (this one: {step}); is {self.checkpoint_dir} shared by every worker?")
        if step:
            log.info("resuming from %s: epoch %d, step %d of that epoch (global step %d)",
                     self.state.checkpoint, self.state.epoch + 1, self.state.step_in_epoch, step)

    def _all_reduce_sum(self, value: int) -> int:
        """The sum of ``value`` over every replica of every worker (a collective: every worker must call it)."""
        per_replica = self.strategy.run(tf.function(lambda: tf.constant(value, tf.int64)))
        return int(self.strategy.reduce(SUM, per_replica, axis=None))

    def barrier(self) -> None:
        """Wait until every worker gets here (a no-op on one worker)."""
        self._all_reduce_sum(0)

    def _save(self) -> None:
        path = self.manager.save(checkpoint_number=self.state.global_step)
        if not self.chief:
            return  # a non-chief's save is for the collective only; nobody restores it
        self.state.checkpoint = os.path.basename(path)
        write_json_atomic(self.state_path, asdict(self.state))
        state = self.state
        where = f"epoch {state.epoch + 1}, step {state.step_in_epoch}" if state.step_in_epoch else f"end of epoch {state.epoch}"
        log.info("checkpoint %s saved (%s)", path, where)

    # ------------------------------------------------------------------ loops

    def fit(self, train: tf.data.Dataset, train_size: int, validation: tf.data.Dataset | None, validation_size: int,
            seed: int, on_best: Callable[[], None]) -> TrainState:
        """Train for ``config.epochs`` epochs (fewer when early stopping triggers); returns the final state."""
        passes = data.passes_per_epoch(train_size, self.config.min_epoch_examples)
        steps_per_epoch = train_size * passes // self.global_batch_size
        if passes > 1:
            log.info("%d training examples: an epoch is %d passes over them (trainer.min_epoch_examples=%d)",
                     train_size, passes, self.config.min_epoch_examples)
        if steps_per_epoch == 0:
            raise ValueError(f"{train_size} training examples make no full global batch of {self.global_batch_size}")
        state, config = self.state, self.config
        widths_logged = False
        while state.epoch < config.epochs and not state.stopped_early:
            if not widths_logged:  # one extra pass over the input pipeline, once per attempt
                log.info("epoch %d: %d batches of %d distinct widths (trainer.width_multiple=%d)", state.epoch + 1,
                         steps_per_epoch - state.step_in_epoch, data.distinct_widths(self._epoch_batches(train, seed, passes)),
                         config.width_multiple)
                widths_logged = True
            iterator = iter(self.strategy.experimental_distribute_dataset(self._epoch_batches(train, seed, passes)))
            progress = Progress(f"epoch {state.epoch + 1}/{config.epochs}", steps_per_epoch, state.step_in_epoch)
            unread_steps, since = 0, time.perf_counter()
            while state.step_in_epoch < steps_per_epoch:
                steps = self._steps_to_boundary(steps_per_epoch)
                self.train_steps(iterator, tf.constant(steps))
                unread_steps += steps
                state.step_in_epoch += steps
                state.global_step += steps
                log_step = state.global_step % config.log_every_steps == 0
                checkpoint_step = state.global_step % config.checkpoint_every_steps == 0 and state.step_in_epoch < steps_per_epoch
                sums = state.epoch_sums
                if not (log_step or checkpoint_step or state.step_in_epoch == steps_per_epoch):
                    if progress.due(state.step_in_epoch):  # a look at this worker's running sums (read into the epoch's at boundaries)
                        running, share = self.sums.read_local()
                        examples = sums["examples"] + unread_steps * self.global_batch_size
                        progress.update(state.step_in_epoch, loss=(sums["loss"] + running["loss"] / share) / examples,
                                        accuracy=(sums["correct"] + running["correct"] / share) / examples)
                    continue
                # A boundary: the same steps for any steps_per_loop, so the epoch's sums add up the same partial sums.
                device = self.sums.read()
                self.sums.reset()
                sums["loss"] += device["loss"]
                sums["correct"] += device["correct"]
                sums["examples"] += unread_steps * self.global_batch_size
                state.train_seconds += time.perf_counter() - since
                unread_steps = 0
                progress.update(state.step_in_epoch, loss=sums["loss"] / sums["examples"], accuracy=sums["correct"] / sums["examples"])
                if log_step:
                    self._scalars("train", state.global_step, loss=device["last_loss"] / self.global_batch_size,
                                  accuracy=device["last_correct"] / self.global_batch_size, learning_rate=self.learning_rate)
                if checkpoint_step:
                    self._save()
                since = time.perf_counter()
            self._end_epoch(validation, validation_size, on_best)
        return state

    def _epoch_batches(self, train: tf.data.Dataset, seed: int, passes: int) -> tf.data.Dataset:
        """The rest of the current epoch's batches, as a new dataset (iterating one dataset twice would reshuffle it)."""
        state, config = self.state, self.config
        return data.training_batches(train, self.global_batch_size, seed, state.epoch, config.shuffle_buffer, config.sort_pool_batches,
                                     skip_batches=state.step_in_epoch, passes=passes, width_multiple=config.width_multiple)

    def _steps_to_boundary(self, steps_per_epoch: int) -> int:
        """Steps for the next call: ``steps_per_loop``, fewer where a log step, a checkpoint step or the epoch's end comes first."""
        state, config = self.state, self.config
        return min(config.steps_per_loop, steps_per_epoch - state.step_in_epoch,
                   config.log_every_steps - state.global_step % config.log_every_steps,
                   config.checkpoint_every_steps - state.global_step % config.checkpoint_every_steps)

    def _end_epoch(self, validation: tf.data.Dataset | None, validation_size: int, on_best: Callable[[], None]) -> None:
        state = self.state
        sums = state.epoch_sums
        record = {"epoch": state.epoch + 1, "loss": sums["loss"] / sums["examples"], "accuracy": sums["correct"] / sums["examples"]}
        self._scalars("train", state.epoch + 1, epoch_loss=record["loss"], epoch_accuracy=record["accuracy"], epoch_learning_rate=self.learning_rate)
        if validation is not None:
            result = self.evaluate(validation, validation_size)
            record.update({f"val_{key}": value for key, value in result.items() if key != "examples"})
            self._scalars("validation", state.epoch + 1, epoch_loss=result["loss"], epoch_accuracy=result["accuracy"])
            monitored = result["accuracy"]
        state.history.append(record)
        log.info("epoch %d: %s", state.epoch + 1, ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch" and v is not None))
        if validation is None:  # nothing to select or stop on (a training accuracy is no validation): the last epoch is tested
            on_best()
        elif state.best_accuracy is None or monitored > state.best_accuracy:
            state.best_accuracy, state.best_epoch, state.epochs_without_improvement = monitored, state.epoch + 1, 0
            on_best()
        else:
            state.epochs_without_improvement += 1
            patience = self.config.early_stopping_patience
            if patience and state.epochs_without_improvement >= patience and state.epoch + 1 < self.config.epochs:
                state.stopped_early = True
                log.info("early stopping: no better validation accuracy for %d epochs (best %.4f at epoch %d)",
                         patience, state.best_accuracy, state.best_epoch)
        state.epoch += 1
        state.step_in_epoch = 0
        state.epoch_sums = {"loss": 0.0, "correct": 0.0, "examples": 0.0}
        self._save()

    def evaluate(self, examples: tf.data.Dataset, size: int) -> dict[str, Any]:
        """Loss, accuracy and AUC over every example of a split (the weight-0 rows that fill the last batch left out)."""
        batches = data.evaluation_batches(examples, self.global_batch_size, self.config.sort_pool_batches,
                                          self.strategy.num_replicas_in_sync, self.config.width_multiple)
        iterator = iter(self.strategy.experimental_distribute_dataset(batches))
        loss_sum, probabilities, labels = 0.0, [], []
        for _ in range(-(-size // self.global_batch_size)):
            batch_loss, batch_probabilities, batch_labels, batch_weights = self._eval_step(iterator)
            loss_sum += float(batch_loss)
            real = batch_weights.numpy() > 0
            probabilities.append(batch_probabilities.numpy()[real])
            labels.append(batch_labels.numpy()[real])
        scores, truth = np.concatenate(probabilities), np.concatenate(labels)
        if len(truth) != size:
            raise RuntimeError(f"evaluated {len(truth)} examples, expected {size}")
        return {"loss": loss_sum / size, "accuracy": float(np.mean((scores > 0.5) == (truth > 0.5))), "auc": auc(truth, scores), "examples": size}

    def _scalars(self, split: str, step: int, **values: float) -> None:
        with self.writers[split].as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.flush()
            writer.close()


class Progress:
    """A Keras progress bar on a terminal (moved every 2% of the epoch); a log line every 10% otherwise (CI logs, files)."""

    def __init__(self, title: str, steps: int, done: int):
        self.title, self.steps = title, steps
        self.bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "accuracy"]) if sys.stdout.isatty() else None
        self.interval = max(1, steps // (50 if self.bar is not None else 10))
        self.next_show = done + self.interval
        if self.bar is not None:
            print(title)

    def due(self, step: int) -> bool:
        """Whether ``step`` should show (the host then reads the running sums from the device)."""
        return step >= self.next_show or step == self.steps

    def update(self, step: int, **metrics: float) -> None:
        """Show the epoch's running loss and accuracy at ``step``, if it is due."""
        if not self.due(step):
            return
        self.next_show = step + self.interval
        if self.bar is not None:
            self.bar.update(step, values=list(metrics.items()))
        else:
            log.info("%s: step %d/%d, %s", self.title, step, self.steps, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
