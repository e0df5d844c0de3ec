"""Training-step results kept on the devices until the host needs them.

Every step adds its loss sum and correct count to per-replica variables
(sync-on-read: each replica writes its own copy, with no communication);
reading one in cross-replica context sums its replicas. So the host and the
cross-replica reduction are reached only where the loop reads (a log or
checkpoint step, the epoch's end), never inside a step, whatever
``trainer.steps_per_loop`` is. A progress line looks only at this worker's
replicas (:meth:`StepSums.read_local`): under MultiWorkerMirroredStrategy a
full read is a collective, and workers with and without a terminal show
progress at different steps.
"""

from __future__ import annotations

import tensorflow as tf

NAMES = ("loss", "correct", "last_loss", "last_correct")  # since the last reset; the last step's own


class StepSums:
    """Float32 scalars per replica of ``strategy``: ``loss``, ``correct`` (summed since the last :meth:`reset`) and the last
    step's ``last_loss``, ``last_correct``."""

    def __init__(self, strategy: tf.distribute.Strategy) -> None:
        self.strategy = strategy
        with strategy.scope():
            self.variables = {name: tf.Variable(0.0, trainable=False, name=f"step_{name}", aggregation=tf.VariableAggregation.SUM,
                                                synchronization=tf.VariableSynchronization.ON_READ) for name in NAMES}

    def add(self, loss_sum: tf.Tensor, correct: tf.Tensor) -> None:
        """One step of this replica (replica context)."""
        self.variables["loss"].assign_add(loss_sum)
        self.variables["correct"].assign_add(correct)
        self.variables["last_loss"].assign(loss_sum)
        self.variables["last_correct"].assign(correct)

    def read(self) -> dict[str, float]:
        """Every value summed over the replicas (of every worker: a collective there, so every worker reads at the same steps)."""
        return {name: float(variable.read_value()) for name, variable in self.variables.items()}

    def read_local(self) -> tuple[dict[str, float], float]:
        """This worker's replicas only (no communication), and their share of all replicas (1.0 on one machine)."""
        local = {name: [float(value) for value in self.strategy.experimental_local_results(variable)] for name, variable in self.variables.items()}
        return {name: sum(values) for name, values in local.items()}, len(local["loss"]) / self.strategy.num_replicas_in_sync

    def reset(self) -> None:
        """Zero the running sums (``loss``, ``correct``)."""
        self.variables["loss"].assign(0.0)
        self.variables["correct"].assign(0.0)
