"""Choosing the tf.distribute strategy, splitting one device into logical ones, and each replica's share of a batch.

The strategy decides which devices hold a copy of the model; the training loop
is the same for all of them (``strategy.run`` of one step on each replica's
share of the global batch, gradients all-reduced), which is also what makes
MultiWorkerMirroredStrategy work where Keras 3's ``fit`` does not
(keras-team/keras#20585).

How the replicas communicate: MirroredStrategy all-reduces dense gradients
with TensorFlow's choice (NCCL over GPUs) and sums an Embedding's sparse
gradient to one row per token before broadcasting it (sparse_reduction.py).
MultiWorkerMirroredStrategy all-reduces with NCCL when the machine has a GPU
and with RING (gRPC) otherwise; TensorFlow's own default, AUTO, is RING on
GPUs too. ``strategy.collectives`` overrides the choice.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator

import tensorflow as tf

from workflow.config import Collectives, StrategyConfig, StrategyKind
from workflow.errors import ConfigError
from workflow.training.sparse_reduction import mirrored_cross_device_ops

log = logging.getLogger(__name__)

Batch = tuple  # (features, labels [n]) for training, evaluation adds weights [n]; features: tokens [n, width] or a dict (data.py)


def configure_logical_devices(config: StrategyConfig) -> None:
    """Split the first GPU (or the CPU when there is none) into ``logical_devices`` devices.

    Must run before TensorFlow initialises its devices, i.e. early in a fresh
    process; MirroredStrategy over two logical devices is how one machine
    (and the tests, on CPU) exercise the multi-replica path.
    """
    if config.logical_devices == 0:
        return
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        limit = config.logical_gpu_memory_mb
        logical = [tf.config.LogicalDeviceConfiguration(memory_limit=limit)] * config.logical_devices
        tf.config.set_logical_device_configuration(gpus[0], logical)
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * config.logical_devices)


def make_strategy(config: StrategyConfig) -> tf.distribute.Strategy:
    """The strategy named by ``strategy.kind`` (see conf/strategy/).

    Call it before anything runs a TensorFlow op (reading data included): the
    logical devices and a worker's collectives can be set only before
    TensorFlow initialises its context.
    """
    configure_logical_devices(config)
    if config.kind is StrategyKind.multiworker:
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy=multiworker needs the TF_CONFIG environment variable (cluster and task of this worker)")
        implementation = collective_implementation(config.collectives, gpus=len(tf.config.list_physical_devices("GPU")))
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation))
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    if config.kind is StrategyKind.mirrored:
        return mirrored_strategy(list(config.devices) or gpus or [device.name for device in tf.config.list_logical_devices("CPU")])
    if len(gpus) > 1:
        return mirrored_strategy(gpus)
    return tf.distribute.OneDeviceStrategy(gpus[0] if gpus else "/cpu:0")


def replica_batches(strategy: tf.distribute.Strategy, iterator: Iterator[Batch]) -> Batch | tf.distribute.DistributedValues:
    """Inside a step: reads the next global batch from ``iterator`` and gives it to ``strategy.run`` as each replica's share.

    Every process (one per worker) reads the global batches with a plain
    iterator over data.training_batches or data.evaluation_batches. The batch
    is cut on the host into equal consecutive shares, and replica r (its id in
    the whole cluster) takes the r-th: the layout GlobalBatchDropout assumes
    (dropout.py), so any split of the same global batch draws the same masks.
    Within one process it is the split ``experimental_distribute_dataset``
    makes, and with one device per worker it gives each worker the shares
    tf.distribute's sharding by batch gave it; with several devices per
    worker, tf.distribute interleaved the workers' shares instead (not run
    here: on CPU each worker has one device). Each replica's step copies its
    share to its device.

    tf.distribute's own split reads through a MultiDeviceIterator whose
    per-device pipelines run tf.data's autotuning thread whatever our options
    say, and deleting that iterator can wait up to a minute for the thread to
    wake (benchmarks/iterator_deletion.py); a plain iterator has our options
    (autotuning off) and does not wait.
    """
    batch = next(iterator)
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return batch
    with tf.device("/cpu:0"):
        shares = split_batch(batch, replicas)
    return strategy.experimental_distribute_values_from_function(lambda context: shares[context.replica_id_in_sync_group])


def split_batch(batch: Batch, replicas: int) -> list[Batch]:
    """A batch of ``n`` rows (``(features, labels[, weights])``, the features token ids or a dict of them and document
    rows) as ``replicas`` batches of ``n / replicas`` consecutive rows; ``n`` must be a multiple of ``replicas`` (training
    batches are whole global batches, evaluation batches are filled to one)."""
    parts = tf.nest.flatten(batch)
    rows = tf.shape(parts[0])[0]
    even = tf.debugging.assert_equal(rows % replicas, 0, message=f"a batch whose rows do not split evenly over {replicas} replicas")
    with tf.control_dependencies([even]):  # this message, not tf.split's, in a step too
        shares = [tf.split(part, replicas) for part in parts]
    return [tf.nest.pack_sequence_as(batch, [share[replica] for share in shares]) for replica in range(replicas)]


def mirrored_strategy(devices: list[str]) -> tf.distribute.MirroredStrategy:
    """MirroredStrategy over ``devices`` whose sparse gradients are summed to one row per token before the broadcast."""
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=mirrored_cross_device_ops(devices))


def collective_implementation(choice: Collectives, gpus: int) -> tf.distribute.experimental.CommunicationImplementation:
    """NCCL or RING for MultiWorkerMirroredStrategy: ``strategy.collectives``, or (auto) NCCL when this machine has ``gpus``."""
    implementations = tf.distribute.experimental.CommunicationImplementation
    if choice is Collectives.nccl and not gpus:
        raise ConfigError("strategy.collectives=nccl: this machine has no GPU that TensorFlow can see (NCCL runs on GPUs only)")
    nccl = choice is Collectives.nccl or (choice is Collectives.auto and gpus > 0)
    implementation = implementations.NCCL if nccl else implementations.RING
    log.info("multi-worker all-reduce: %s (strategy.collectives=%s, %d GPU(s) on this machine)", implementation.name, choice.value, gpus)
    return implementation


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one worker that writes shared outputs (always true outside a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def describe(strategy: tf.distribute.Strategy) -> str:
    """E.g. 'MirroredStrategy: 2 replicas on /job:localhost/.../CPU:0, .../CPU:1'."""
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = f"MultiWorkerMirroredStrategy ({len(strategy.cluster_resolver.cluster_spec().as_dict().get('worker', []))} workers)"
    devices = ", ".join(getattr(strategy.extended, "worker_devices", ()))
    return f"{name}: {strategy.num_replicas_in_sync} replica(s) on {devices or 'the default device'}"
