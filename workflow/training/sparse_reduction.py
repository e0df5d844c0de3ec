"""Summing sparse gradients over the replicas of one machine, one row per token.

MirroredStrategy has no all-reduce for ``tf.IndexedSlices`` (an Embedding
table's gradient): its cross-device ops hand them to ``ReductionToOneDevice``,
which copies every replica's rows to the first device, concatenates them and
copies the concatenation back to every device. Each replica has summed its
own rows to one per token first (optimizer.sum_duplicate_rows), but a token in
the batches of all N replicas still arrives N times on every device: the
first device sends ``(N - 1) x (u_1 + ... + u_N)`` rows per table per step,
with ``u_i`` the distinct tokens of replica i. :class:`UniqueRowsReduction`
makes the same gather, sums the union's duplicate rows on the first device,
and broadcasts one row per distinct token of the global batch. Dense values
go to the cross-device ops TensorFlow would have chosen (NCCL over GPUs).

The sums are those the optimizer made of the concatenation before (one
``unsorted_segment_sum``, in the same order), so the weights do not change.
MultiWorkerMirroredStrategy needs none of this: its collectives all-gather
the replicas' rows (each worker receives every other worker's once) and the
lazy update sums them on each replica.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tensorflow.python.distribute import cross_device_ops

from workflow.training.optimizer import sum_duplicate_rows


def _is_sparse(value: Any) -> bool:
    return isinstance(value, tf.IndexedSlices) or isinstance(getattr(value, "values", (None,))[0], tf.IndexedSlices)


class UniqueRowsReduction(tf.distribute.CrossDeviceOps):
    """``tf.IndexedSlices``: gathered to the first device, duplicate rows summed there, broadcast; everything else: ``dense``."""

    def __init__(self, dense: tf.distribute.CrossDeviceOps) -> None:
        super().__init__()
        self.dense = dense

    def reduce_implementation(self, reduce_op: tf.distribute.ReduceOp, per_replica_value: Any, destinations: Any,
                              options: Any) -> Any:
        if _is_sparse(per_replica_value):
            return self._reduce_rows(reduce_op, per_replica_value, destinations)
        return self.dense.reduce(reduce_op, per_replica_value, destinations, options)

    def batch_reduce_implementation(self, reduce_op: tf.distribute.ReduceOp, value_destination_pairs: Any, options: Any) -> list:
        pairs = list(value_destination_pairs)
        dense = [index for index, (value, _) in enumerate(pairs) if not _is_sparse(value)]
        reduced = dict(zip(dense, self.dense.batch_reduce(reduce_op, [pairs[index] for index in dense], options) if dense else []))
        for index, (value, destinations) in enumerate(pairs):
            if index not in reduced:
                reduced[index] = self._reduce_rows(reduce_op, value, destinations)
        return [reduced[index] for index in range(len(pairs))]

    def broadcast_implementation(self, tensor: Any, destinations: Any) -> Any:
        return self.dense.broadcast(tensor, destinations)

    def _gather_implementation(self, per_replica_value: Any, destinations: Any, axis: int, options: Any) -> Any:
        return self.dense._gather(per_replica_value, destinations, axis, options)  # noqa: SLF001 - the inner ops' own gather

    def _reduce_rows(self, reduce_op: tf.distribute.ReduceOp, per_replica_value: Any, destinations: Any) -> Any:
        """One row per distinct index of all replicas' rows ``[sum of u_i, dim]`` -> ``[union, dim]``, on every destination."""
        parts = per_replica_value.values
        with tf.device(parts[0].device):
            concatenated = tf.IndexedSlices(tf.concat([part.values for part in parts], axis=0),
                                            tf.concat([part.indices for part in parts], axis=0), parts[0].dense_shape)
            union = sum_duplicate_rows(concatenated)
            if reduce_op == tf.distribute.ReduceOp.MEAN:
                union = tf.IndexedSlices(union.values / len(parts), union.indices, union.dense_shape)
        return self.broadcast(union, destinations)


def mirrored_cross_device_ops(devices: list[str]) -> UniqueRowsReduction:
    """The cross-device ops for MirroredStrategy over ``devices``: TensorFlow's choice for dense values (NCCL over GPUs,
    one device's reduction over CPUs or logical GPUs), unique rows for sparse ones."""
    return UniqueRowsReduction(cross_device_ops.select_cross_device_ops(devices))
