"""Benchmark: how long deleting a distributed iterator takes, by how long it lived.

With several replicas, ``strategy.experimental_distribute_dataset`` builds a
per-device pipeline for each replica with tf.data's default options
(autotuning on, whatever the dataset's own options say), and deleting the
iterator can wait for the autotuning thread's sleep, whose period grows with
the iterator's age up to a minute. That is why the training loop keeps one
iterator per run instead of one per epoch
(workflow/training/trainer.py, ``Controller._remaining_batches``).

Two logical CPU devices (as ``strategy=mirrored strategy.logical_devices=2``
builds them); for each ``--lifetimes`` value, ``--repeats`` iterators are made
over a synthetic stream of batches, read for that many seconds, and deleted;
each deletion is timed.

    python benchmarks/iterator_deletion.py --lifetimes 1 5 10 20 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402  (after the log level)


def deletion_seconds(strategy: tf.distribute.Strategy, batches: tf.data.Dataset, lifetime: float) -> float:
    """Seconds that ``del`` of a distributed iterator over ``batches`` takes after it was read for ``lifetime`` seconds."""
    iterator = iter(strategy.experimental_distribute_dataset(batches))
    started = time.perf_counter()
    while time.perf_counter() - started < lifetime:
        next(iterator)
        time.sleep(0.01)  # a consumer slower than the pipeline, as a training step is
    started = time.perf_counter()
    del iterator
    gc.collect()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetimes", type=float, nargs="+", default=[1, 5, 10, 20], help="seconds each iterator is read")
    parser.add_argument("--repeats", type=int, default=3, help="iterators per lifetime")
    arguments = parser.parse_args()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
    options = tf.data.Options()
    options.autotune.enabled = False  # as workflow.training.data sets it: the per-device pipelines autotune anyway
    batches = tf.data.Dataset.range(2**62).map(lambda i: tf.fill([64, 100], i)).batch(2).with_options(options).prefetch(tf.data.AUTOTUNE)
    for lifetime in arguments.lifetimes:
        times = [deletion_seconds(strategy, batches, lifetime) for _ in range(arguments.repeats)]
        print(f"lived {lifetime:5.1f} s: deletion took " + ", ".join(f"{seconds:.2f}" for seconds in times) + " s", flush=True)


if __name__ == "__main__":
    main()
