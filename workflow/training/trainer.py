"""The distributed training loop: one ``strategy.run`` step, ``steps_per_loop`` steps per call, epochs until done.

Keras 3's ``fit`` does not run under MultiWorkerMirroredStrategy
(keras-team/keras#20585), so the step is written out: every replica computes
the loss of its share of the global batch, scaled by
``tf.nn.compute_average_loss(global_batch_size=...)``, and the strategy sums
the gradients. The same code then serves one device, MirroredStrategy and
MultiWorkerMirroredStrategy, and 1 replica or N replicas reach the same
weights for the same global batch. Each replica sums its Embedding gradient
to one row per token (optimizer.sum_duplicate_rows) before the strategy
gathers the sparse gradients: MirroredStrategy has no all-reduce for
``IndexedSlices``, so every row a replica sends crosses the interconnect (and
the union is summed to one row per token again before it is sent back:
sparse_reduction.py).

One ``tf.function`` call runs up to ``trainer.steps_per_loop`` steps (Orbit's
``steps_per_loop``), in a ``tf.while_loop``; the step results stay on the
devices (steps.py) and a call ends early at a log step, a checkpoint step or
the epoch's end, so any ``steps_per_loop`` trains, logs and checkpoints the
same steps with the same numbers.

As in Orbit, two objects: the :class:`Trainer` owns the step and its inner
loop (one ``tf.function`` call), the :class:`Controller` the outer loop
(epochs, boundaries, validation, checkpoints, summaries), handing each job to
its module: checkpoints.py (state, resume, the workers' agreement), epochs.py
(the tested epoch, early stopping), evaluation.py (loss, accuracy, AUC),
summaries.py (TensorBoard scalars), progress.py (the terminal and the log).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterator

import keras
import tensorflow as tf

from workflow.config import EmbeddingUpdate, Precision, ProgressDisplay, TrainerConfig
from workflow.errors import DivergedError
from workflow.training import data, epochs
from workflow.training.checkpoints import Checkpoints, TrainState, barrier, check_same_step
from workflow.training.evaluation import Evaluator
from workflow.training.loss_scale import DynamicLossScale
from workflow.training.optimizer import EmbeddingAdam, sum_duplicate_rows
from workflow.training.progress import STEPS, Progress
from workflow.training.steps import StepSums
from workflow.training.strategy import Batch, replica_batches
from workflow.training.summaries import Summaries

log = logging.getLogger(__name__)


class Trainer:
    """Owns the training step (Orbit's Trainer): the model, its optimizer (and loss scale), and ``train_steps``, one
    ``tf.function`` call of up to ``steps_per_loop`` steps whose loss and accuracy sums stay on the devices (``sums``)."""

    def __init__(self, strategy: tf.distribute.Strategy, model: keras.Model, config: TrainerConfig, learning_rate: float):
        self.strategy, self.model, self.learning_rate = strategy, model, learning_rate
        self.global_batch_size = config.batch_size * strategy.num_replicas_in_sync
        with strategy.scope():
            self.optimizer = EmbeddingAdam(learning_rate, lazy=config.embedding_update is EmbeddingUpdate.lazy)
            self.optimizer.build(model.trainable_variables)
            # float16's range needs the loss scaled (loss_scale.py); bfloat16 and float32 have float32's exponent
            self.loss_scale = DynamicLossScale() if config.precision is Precision.mixed_float16 else None
        self.sums = StepSums(strategy)
        self.train_steps = tf.function(self._distributed_train_steps)

    def checkpoint(self) -> tf.train.Checkpoint:
        """What a checkpoint holds: the model, the optimizer, the loss scale, and the dropout layers' seed-generator states
        (not weights; saved too so that a resumed run draws the same dropout masks as an uninterrupted one)."""
        random_states = [variable for variable in self.model.non_trainable_variables if "seed_generator" in variable.path]
        scaling = {} if self.loss_scale is None else {"loss_scale": self.loss_scale}
        return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, random_states=random_states, **scaling)

    # ------------------------------------------------------------------ steps

    def _replica_train_step(self, features: data.Features, labels: tf.Tensor) -> None:
        """One replica's share of the global batch (token ids ``[batch, width]``, data.py): gradients applied, sums added
        on the device."""
        with tf.GradientTape() as tape:
            probabilities = self.model(features, training=True)
            per_example = keras.losses.binary_crossentropy(labels[:, None], probabilities)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)
            if self.loss_scale is not None:
                loss = self.loss_scale.scaled(loss)
        variables = self.model.trainable_variables
        gradients = [sum_duplicate_rows(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient
                     for gradient in tape.gradient(loss, variables)]
        if self.loss_scale is None:
            self.optimizer.apply_gradients(zip(gradients, variables))
        else:
            self.loss_scale.apply(self.optimizer, gradients, variables)
        correct = tf.reduce_sum(tf.cast(tf.equal(probabilities[:, 0] > 0.5, labels > 0.5), tf.float32))
        self.sums.add(tf.reduce_sum(per_example), correct)

    def _distributed_train_steps(self, iterator: Iterator[Batch], steps: tf.Tensor) -> None:
        """``steps`` (a scalar tensor: one trace for any count) training steps in one call; results in ``self.sums``."""
        for _ in tf.range(steps):
            self.strategy.run(self._replica_train_step, args=replica_batches(self.strategy, iterator))


class Controller:
    """Owns the outer loop (Orbit's Controller): epochs of ``trainer``'s steps until done, validation, the choice of the
    tested epoch, checkpoints under ``checkpoint_dir`` and scalars under ``tensorboard_dir``."""

    def __init__(
        self,
        trainer: Trainer,
        config: TrainerConfig,
        checkpoint_dir: str,
        tensorboard_dir: str | None,
        scratch_dir: str | None = None,
        display: ProgressDisplay = ProgressDisplay.auto,
        name: str | None = None,
    ):
        """``checkpoint_dir``: the chief's checkpoints, which every worker restores; ``scratch_dir``: where a non-chief
        worker's own saves go (None on the chief); ``display``: what the terminal shows (progress.py); ``name``: the run's,
        on its progress lines (by default ``config.run_name``)."""
        self.trainer, self.config, self.display = trainer, config, display
        self.strategy, self.model = trainer.strategy, trainer.model
        self.global_batch_size, self.learning_rate = trainer.global_batch_size, trainer.learning_rate
        self.name = name or config.run_name or "training"
        self.checkpoint_dir = checkpoint_dir
        self.checkpoints = Checkpoints(trainer.checkpoint(), checkpoint_dir, scratch_dir)
        self.state = TrainState()
        self.summaries = Summaries(tensorboard_dir)
        self.evaluator = Evaluator(trainer.strategy, trainer.model, trainer.global_batch_size, config)

    # ------------------------------------------------------------------ resume

    def restore(self) -> None:
        """Load the chief's last checkpoint and state.json if a previous attempt left them."""
        self.barrier()  # the chief has prepared its run folder before anyone reads it
        self.state = self.checkpoints.restore() or self.state
        step = self.state.global_step
        check_same_step(self.strategy, step, self.checkpoint_dir)
        if step:
            log.info("resuming from %s: epoch %d, step %d of that epoch (global step %d)",
                     self.state.checkpoint, self.state.epoch + 1, self.state.step_in_epoch, step)

    def barrier(self) -> None:
        """Wait until every worker gets here (a no-op on one worker)."""
        barrier(self.strategy)

    def _save(self) -> None:
        self.checkpoints.save(self.state)

    # ------------------------------------------------------------------ loops

    def fit(self, train: tf.data.Dataset, train_size: int, validation: tf.data.Dataset | None, validation_size: int,
            seed: int, on_best: Callable[[], None]) -> TrainState:
        """Train for ``config.epochs`` epochs (fewer when early stopping triggers); returns the final state."""
        passes = data.passes_per_epoch(train_size, self.config.min_epoch_examples)
        steps_per_epoch = train_size * passes // self.global_batch_size
        if passes > 1:
            STEPS.info("%d training examples: an epoch is %d passes over them (trainer.min_epoch_examples=%d)",
                       train_size, passes, self.config.min_epoch_examples)
        if steps_per_epoch == 0:
            raise ValueError(f"{train_size} training examples make no full global batch of {self.global_batch_size}")
        state, config = self.state, self.config
        iterator = None
        with Progress(self.name, config.epochs, steps_per_epoch, self.global_batch_size, self.display) as progress:
            while state.epoch < config.epochs and not state.stopped_early:
                if iterator is None:  # once per attempt: one extra pass over an epoch's batches, then one iterator
                    widths = data.distinct_widths(self._epoch_batches(train, seed, passes, state.epoch, state.step_in_epoch))
                    STEPS.info("epoch %d: %d batches of %d distinct widths (trainer.width_multiple=%d)", state.epoch + 1,
                               steps_per_epoch - state.step_in_epoch, widths, config.width_multiple)
                    iterator = iter(self._remaining_batches(train, seed, passes, steps_per_epoch))
                examples_per_s = self._train_epoch(iterator, steps_per_epoch, progress)
                self._end_epoch(validation, validation_size, on_best, progress, examples_per_s)
        return state

    def _train_epoch(self, iterator: Iterator, steps_per_epoch: int, progress: Progress) -> float:
        """Train the rest of the current epoch: its next steps from ``iterator`` (over every remaining epoch's batches);
        returns the examples per second its training steps took."""
        state, config = self.state, self.config
        progress.start_epoch(state.epoch + 1, state.step_in_epoch, state.best_accuracy)
        first_step, seconds_before = state.step_in_epoch, state.train_seconds
        unread_steps, since = 0, time.perf_counter()
        while state.step_in_epoch < steps_per_epoch:
            steps = self._steps_to_boundary(steps_per_epoch)
            self.trainer.train_steps(iterator, tf.constant(steps))
            unread_steps += steps
            state.step_in_epoch += steps
            state.global_step += steps
            log_step = state.global_step % config.log_every_steps == 0
            checkpoint_step = state.global_step % config.checkpoint_every_steps == 0 and state.step_in_epoch < steps_per_epoch
            if not (log_step or checkpoint_step or state.step_in_epoch == steps_per_epoch):
                if progress.due(state.step_in_epoch):  # a look at this worker's running sums (read into the epoch's at boundaries)
                    self._show_running(progress, unread_steps)
                continue
            # A boundary: the same steps for any steps_per_loop, so the epoch's sums add up the same partial sums.
            last = self._read_sums(unread_steps)
            self._check_finite(last["loss"], weights=checkpoint_step or state.step_in_epoch == steps_per_epoch)
            state.train_seconds += time.perf_counter() - since
            unread_steps = 0
            sums = state.epoch_sums
            progress.update(state.step_in_epoch, loss=sums["loss"] / sums["examples"], accuracy=sums["correct"] / sums["examples"])
            if log_step:
                self.summaries.scalars("train", state.global_step, loss=last["last_loss"] / self.global_batch_size,
                                       accuracy=last["last_correct"] / self.global_batch_size, learning_rate=self.learning_rate)
            if checkpoint_step:
                self._save()
            since = time.perf_counter()
        seconds = state.train_seconds - seconds_before
        return (steps_per_epoch - first_step) * self.global_batch_size / seconds if seconds > 0 else 0.0

    def _check_finite(self, loss_sum: float, weights: bool) -> None:
        """DivergedError, naming the epoch and the learning rate, when the loss of the steps just read is no longer
        finite, or (``weights``: a boundary where a checkpoint or the best weights may be saved) a weight. The loss at
        every boundary; the weights only before a save, because reading every table whole is what the step's row
        gathers avoid (a non-finite weight makes the next loss non-finite anyway). So the last checkpoint (and any
        earlier finished run: run_folder.py) stays what it was, and metrics.json is never written."""
        if math.isfinite(loss_sum) and (not weights or bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(variable))
                                                                           for variable in self.model.trainable_variables]))):
            return
        state, last = self.state, self.checkpoints.manager.latest_checkpoint
        what = f"the training loss is {loss_sum}" if not math.isfinite(loss_sum) else "a weight is no longer finite"
        raise DivergedError(f"training diverged in epoch {state.epoch + 1} (by step {state.step_in_epoch}): {what} at learning rate "
                            f"{self.learning_rate:g} (trainer.learning_rate={self.config.learning_rate:g}); lower it. "
                            + (f"The last checkpoint before it is kept: {last}" if last else "No checkpoint was saved before it"))

    def _read_sums(self, unread_steps: int) -> dict[str, float]:
        """The device's sums since the last read, added to the epoch's (``unread_steps`` steps) and reset; returns them."""
        device = self.trainer.sums.read()
        self.trainer.sums.reset()
        sums = self.state.epoch_sums
        sums["loss"] += device["loss"]
        sums["correct"] += device["correct"]
        sums["examples"] += unread_steps * self.global_batch_size
        return device

    def _show_running(self, progress: Progress, unread_steps: int) -> None:
        """The epoch's running loss and accuracy from this worker's device sums (no collective, nothing reset)."""
        sums = self.state.epoch_sums
        running, share = self.trainer.sums.read_local()
        examples = sums["examples"] + unread_steps * self.global_batch_size
        progress.update(self.state.step_in_epoch, loss=(sums["loss"] + running["loss"] / share) / examples,
                        accuracy=(sums["correct"] + running["correct"] / share) / examples)

    def _epoch_batches(self, train: tf.data.Dataset, seed: int, passes: int, epoch: int, skip: int) -> tf.data.Dataset:
        """``epoch``'s batches after its first ``skip``, as a new dataset (iterating one dataset twice would reshuffle it)."""
        config = self.config
        return data.training_batches(train, self.global_batch_size, seed, epoch, config.shuffle_buffer, config.sort_pool_batches,
                                     skip_batches=skip, passes=passes, width_multiple=config.width_multiple)

    def _remaining_batches(self, train: tf.data.Dataset, seed: int, passes: int, steps_per_epoch: int) -> tf.data.Dataset:
        """The batches of every epoch left, the current one from its next step: one dataset, so that one iterator
        serves the whole attempt and no epoch ends by deleting one.

        Deleting an iterator of tf.distribute's split waited for its per-device
        autotuning threads (up to a minute): with an iterator an epoch, 1.1 to
        4.3 s at some epochs' ends on the sample over two logical devices, for
        training and again for validation. The iterators are plain now
        (strategy.replica_batches) and do not wait; one for the attempt still
        spares building a pipeline an epoch (evaluation.py keeps one per
        split too). Epoch e's batches are ``training_batches(epoch=e)``'s, so the
        steps, and the results, are those of a dataset per epoch. Each epoch
        must hold exactly the steps the loop reads from it, or every later
        epoch would shift: a count that differs fails the step that finds it
        (``assert_cardinality``). An attempt that stops early leaves the later
        epochs unread.
        """
        state = self.state
        batches = None
        for epoch in range(state.epoch, self.config.epochs):
            skip = state.step_in_epoch if epoch == state.epoch else 0
            epoch_batches = self._epoch_batches(train, seed, passes, epoch, skip)
            epoch_batches = epoch_batches.apply(tf.data.experimental.assert_cardinality(steps_per_epoch - skip))
            batches = epoch_batches if batches is None else batches.concatenate(epoch_batches)
        return batches

    def _steps_to_boundary(self, steps_per_epoch: int) -> int:
        """Steps for the next call: ``steps_per_loop``, fewer where a log step, a checkpoint step or the epoch's end comes first."""
        state, config = self.state, self.config
        return min(config.steps_per_loop, steps_per_epoch - state.step_in_epoch,
                   config.log_every_steps - state.global_step % config.log_every_steps,
                   config.checkpoint_every_steps - state.global_step % config.checkpoint_every_steps)

    def _end_epoch(self, validation: tf.data.Dataset | None, validation_size: int, on_best: Callable[[], None],
                   progress: Progress, examples_per_s: float) -> None:
        """Validate, record, select (``on_best`` for a kept epoch), maybe stop early, and checkpoint the epoch's end."""
        state = self.state
        record = epochs.record(state)
        self.summaries.scalars("train", state.epoch + 1, epoch_loss=record["loss"], epoch_accuracy=record["accuracy"],
                               epoch_learning_rate=self.learning_rate)
        if validation is not None:
            result = self.evaluate(validation, validation_size)
            record.update({f"val_{key}": value for key, value in result.items() if key != "examples"})
            self.summaries.scalars("validation", state.epoch + 1, epoch_loss=result["loss"], epoch_accuracy=result["accuracy"])
        state.history.append(record)
        kept = epochs.select(state, record.get("val_accuracy"), self.config.early_stopping_patience, self.config.epochs)
        progress.end_epoch(record, state.best_accuracy, examples_per_s)
        if kept:
            on_best()
        if state.stopped_early:
            STEPS.info("early stopping: no better validation accuracy for %d epochs (best %.4f at epoch %d)",
                     self.config.early_stopping_patience, state.best_accuracy, state.best_epoch)
        epochs.advance(state)
        self._save()

    def evaluate(self, examples: tf.data.Dataset, size: int) -> dict[str, Any]:
        """Loss, accuracy and AUC over every example of a split (evaluation.py)."""
        return self.evaluator.evaluate(examples, size)

    def close(self) -> None:
        self.summaries.close()
