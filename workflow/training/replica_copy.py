"""The copy of a variable that this replica (or this device's update) reads and writes.

Under MirroredStrategy and MultiWorkerMirroredStrategy a weight is a
``MirroredVariable``: one resource variable per device. It is not a
``BaseResourceVariable`` and has no ``sparse_read``, so ``tf.gather`` and
``tf.nn.embedding_lookup`` read it whole (a ``ReadVariableOp`` of the
``[vocabulary, dim]`` table, then ``GatherV2``), and after the first scatter
every such read copies the table: the dense cost a lazy update removes, paid
per replica per step. Gathering from the device's own copy is one
``ResourceGather`` of the batch's rows, and its gradient stays an
``IndexedSlices`` of the distributed variable (the tape records the copy's
handle, which is what the distributed variable hands it in a replica).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def replica_copy(variable: keras.Variable | tf.Variable) -> tf.Variable:
    """The resource variable behind ``variable`` on the current replica or update device; the variable itself when it is
    not distributed (one device, or no strategy)."""
    value = variable.value if isinstance(variable, keras.Variable) else variable
    # tf.distribute's own accessor: the copy of the replica in a replica context, of the device in strategy.extended.update,
    # of the current device (or the first copy) elsewhere, and the first copy while a SavedModel is written.
    own_copy = getattr(value, "_get_on_device_or_primary", None)
    return value if own_copy is None else own_copy()
