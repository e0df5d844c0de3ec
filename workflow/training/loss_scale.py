"""Dynamic loss scaling for ``trainer.precision=mixed_float16``, with sparse gradients kept sparse.

float16 has five exponent bits: gradients below about 6e-8 become zero. The
loss is multiplied by a large scale before the gradients are taken, and the
gradients are divided by it before the update; a step whose gradients hold
an inf or a NaN (the scale was too large) is skipped and the scale halved,
and after ``growth_steps`` good steps in a row the scale doubles. That is
Keras's ``LossScaleOptimizer``, with two differences the training step needs:

* the Embedding's ``tf.IndexedSlices`` gradients are unscaled and checked row
  by row (Keras's divides them with ``ops.divide``, which densifies a
  ``[vocabulary, dim]`` gradient, and the lazy update with it);
* the replicas agree on skipping: each replica's gradients are its own (the
  optimizer sums them across replicas later), so "finite" is all-reduced
  before the decision, where Keras takes the first replica's.

The scale and its counter are variables of this object, checkpointed with
the model, so a resumed run scales as an uninterrupted one would.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

INITIAL_SCALE = 2.0**15
GROWTH_STEPS = 2000


class DynamicLossScale(tf.Module):
    """The scale (float32) and the good steps since it last changed (int64), mirrored on every replica."""

    def __init__(self, initial_scale: float = INITIAL_SCALE, growth_steps: int = GROWTH_STEPS) -> None:
        super().__init__(name="loss_scale")
        self.growth_steps = growth_steps
        aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA  # every replica assigns the same value
        self.scale = tf.Variable(initial_scale, trainable=False, dtype=tf.float32, aggregation=aggregation, name="scale")
        self.good_steps = tf.Variable(0, trainable=False, dtype=tf.int64, aggregation=aggregation, name="good_steps")

    def scaled(self, loss: tf.Tensor) -> tf.Tensor:
        return loss * tf.cast(self.scale, loss.dtype)

    def unscaled(self, gradients: Sequence) -> list:
        """Each gradient divided by the scale; an ``IndexedSlices`` stays one, with its values divided."""
        inverse = 1.0 / self.scale
        return [None if gradient is None
                else tf.IndexedSlices(gradient.values * tf.cast(inverse, gradient.values.dtype), gradient.indices, gradient.dense_shape)
                if isinstance(gradient, tf.IndexedSlices) else gradient * tf.cast(inverse, gradient.dtype)
                for gradient in gradients]

    @staticmethod
    def all_finite(gradients: Sequence) -> tf.Tensor:
        """Whether every replica's gradients are finite (replica context: one all-reduce of a scalar)."""
        values = [gradient.values if isinstance(gradient, tf.IndexedSlices) else gradient for gradient in gradients if gradient is not None]
        bad = tf.add_n([tf.reduce_sum(tf.cast(~tf.math.is_finite(value), tf.float32)) for value in values])
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, bad) == 0

    def apply(self, optimizer: keras.optimizers.Optimizer, gradients: Sequence, variables: Sequence) -> None:
        """Unscale, then apply the step on every replica or skip it on every replica, and adapt the scale (replica context)."""
        gradients = self.unscaled(gradients)
        finite = self.all_finite(gradients)

        def applied(grads) -> tf.Tensor:
            optimizer.apply_gradients(zip(grads, variables))
            return tf.constant(True)

        skipped = lambda: tf.constant(False)  # noqa: E731
        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            tf.cond(finite, lambda: applied(gradients), skipped)
        else:  # the update calls merge_call, which a cond in replica context cannot hold: decide in cross-replica context
            def cross_replica(strategy, grads, agreed):
                tf.cond(strategy.experimental_local_results(agreed)[0],
                        lambda: strategy.experimental_local_results(strategy.extended.call_for_each_replica(applied, args=(grads,)))[0],
                        skipped)
            tf.distribute.get_replica_context().merge_call(cross_replica, args=(gradients, finite))
        self._adapt(finite)

    def _adapt(self, finite: tf.Tensor) -> None:
        grow = finite & (self.good_steps + 1 >= self.growth_steps)
        self.scale.assign(tf.where(grow, self.scale * 2.0, tf.where(finite, self.scale, self.scale * 0.5)))
        self.good_steps.assign(tf.where(finite & ~grow, self.good_steps + 1, tf.zeros_like(self.good_steps)))
