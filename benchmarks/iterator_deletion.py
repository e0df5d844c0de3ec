"""Benchmark: how long deleting a run's iterators takes, tf.distribute's split against the workflow's plain iterator.

With several replicas, ``strategy.experimental_distribute_dataset`` (the
baseline) reads through a MultiDeviceIterator whose per-device pipelines run
tf.data's autotuning thread whatever the dataset's options say, and deleting
the iterator can wait for that thread's sleep, whose period grows up to a
minute. The workflow reads the global batches with a plain iterator, with
the dataset's options (autotuning off), and cuts each replica's share on the
host (``workflow.training.strategy.replica_batches``).

Two logical CPU devices (as ``strategy=mirrored strategy.logical_devices=2``
builds them); for each ``--lifetimes`` value and each kind, alternating (the
order swapped every repeat), ``--iterators`` iterators (a run's training,
validation and test) are made over the workflow's evaluation batches of
synthetic IMDB-shaped reviews, repeated, read in turn for that many seconds,
and deleted together; each deletion is timed, ``--repeats`` times, and the
median of each kind is printed with its runs.

    python benchmarks/iterator_deletion.py --lifetimes 20 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from typing import Callable, Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402  (after the log level)

from synthetic import synthetic_reviews  # noqa: E402  (benchmarks/synthetic.py, beside this script)
from workflow.training import data  # noqa: E402
from workflow.training.strategy import mirrored_strategy, replica_batches  # noqa: E402


def deletion_seconds(make_iterator: Callable[[], Iterator], read: Callable[[Iterator], object], lifetime: float,
                     iterators: int) -> float:
    """Seconds that deleting ``iterators`` new iterators takes after they were read in turn (``read(iterator)``) for
    ``lifetime`` seconds, as a run reads its training, validation and test iterators (made here, so that nothing else
    holds them)."""
    alive = [make_iterator() for _ in range(iterators)]
    started = time.perf_counter()
    while time.perf_counter() - started < lifetime:
        for index in range(iterators):  # no loop variable left holding an iterator
            read(alive[index])
        time.sleep(0.01)  # a consumer slower than the pipeline, as a training step is
    started = time.perf_counter()
    del alive
    gc.collect()
    return time.perf_counter() - started


def global_batches(reviews: tf.data.Dataset) -> tf.data.Dataset:
    """Endless evaluation batches of 128 ``reviews`` (workflow.training.data, with its options), filled for 2 replicas."""
    return data.evaluation_batches(reviews, 128, pool_batches=50, replicas=2).repeat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetimes", type=float, nargs="+", default=[1, 5, 10, 20], help="seconds the iterators are read")
    parser.add_argument("--repeats", type=int, default=3, help="deletions timed of each kind per lifetime")
    parser.add_argument("--iterators", type=int, default=3, help="iterators read together and deleted together (a run: 3)")
    arguments = parser.parse_args()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = mirrored_strategy([device.name for device in tf.config.list_logical_devices("CPU")])
    reviews = synthetic_reviews(2_000, vocabulary=50_000, max_len=800).cache()
    kinds: dict[str, tuple[Callable[[], Iterator], Callable[[Iterator], object]]] = {  # a new iterator, and one read of it
        "experimental_distribute_dataset": (lambda: iter(strategy.experimental_distribute_dataset(global_batches(reviews))), next),
        "workflow": (lambda: iter(global_batches(reviews)), lambda iterator: replica_batches(strategy, iterator)),
    }
    for lifetime in arguments.lifetimes:
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for repeat in range(arguments.repeats):
            for kind in list(kinds)[:: 1 if repeat % 2 == 0 else -1]:
                make_iterator, read = kinds[kind]
                times[kind].append(deletion_seconds(make_iterator, read, lifetime, arguments.iterators))
        for kind, seconds in times.items():
            print(f"lived {lifetime:5.1f} s, {kind:32s} median {statistics.median(seconds):6.2f} s  ("
                  + ", ".join(f"{value:.2f}" for value in seconds) + ")", flush=True)


if __name__ == "__main__":
    main()
