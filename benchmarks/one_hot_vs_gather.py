"""Benchmark: the Embedding layer's gather against one-hot x matrix, forward and backward.

Both compute the same ``[batch, time, dim]`` output. One-hot builds a
``[batch x time, vocab]`` float32 matrix and multiplies it by the
``[vocab, dim]`` table (and its gradient is a dense ``[vocab, dim]`` matrix);
the gather reads ``batch x time`` rows (its gradient is ``tf.IndexedSlices``:
one row per token of the batch). Each method runs in a fresh process so that
its peak RSS is its own; the two alternate, ``--repeats`` times, and the
medians are reported.

    python benchmarks/one_hot_vs_gather.py                  # IMDB's vocabulary (50,000 x 100), 64 reviews x 256 tokens
    python benchmarks/one_hot_vs_gather.py --vocab 18569    # the bundled sample's
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
METHODS = ("gather", "one_hot")


def measure(method: str, vocab: int, dim: int, batch: int, time_steps: int, steps: int) -> dict:
    """One process: ``steps`` forward + backward passes of ``method``; median ms, peak RSS, gradient kind."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    table = tf.Variable(rng.normal(size=(vocab, dim)).astype(np.float32))
    ids = tf.constant(rng.integers(2, vocab, size=(batch, time_steps)), dtype=tf.int32)

    @tf.function
    def step(ids: tf.Tensor):
        with tf.GradientTape() as tape:
            if method == "gather":
                rows = tf.nn.embedding_lookup(table, ids)  # what keras.layers.Embedding does
            else:
                rows = tf.reshape(tf.one_hot(tf.reshape(ids, [-1]), vocab) @ table, [batch, time_steps, dim])
            loss = tf.reduce_sum(rows * rows)
        gradient = tape.gradient(loss, table)
        return rows, gradient

    rows, gradient = step(ids)  # trace
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        rows, gradient = step(ids)
        (gradient.values if isinstance(gradient, tf.IndexedSlices) else gradient).numpy()
        seconds.append(time.perf_counter() - started)
    return {
        "method": method, "ms": 1000 * statistics.median(seconds),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gradient": (f"IndexedSlices: {list(gradient.values.shape)} rows" if isinstance(gradient, tf.IndexedSlices)
                     else f"dense: {list(gradient.shape)}"),
        "checksum": float(tf.reduce_sum(rows)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", choices=METHODS, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    shape = (args.vocab, args.dim, args.batch, args.time, args.steps)
    if args.measure:
        print(json.dumps(measure(args.measure, *shape)))
        return

    results: dict[str, list[dict]] = {method: [] for method in METHODS}
    for repeat in range(args.repeats):
        for method in METHODS:
            child = subprocess.run([sys.executable, __file__, "--measure", method, *sys.argv[1:]],
                                   capture_output=True, text=True, check=True)
            results[method].append(json.loads(child.stdout.splitlines()[-1]))
            print(f"repeat {repeat + 1}/{args.repeats} {method}: {results[method][-1]['ms']:.1f} ms", file=sys.stderr)
    if len({round(run["checksum"], 1) for runs in results.values() for run in runs}) != 1:
        raise SystemExit("the two methods computed different outputs")
    one_hot_mb = args.batch * args.time * args.vocab * 4 / 2**20
    print(f"vocab {args.vocab:,} x dim {args.dim}, batch {args.batch} x {args.time} tokens; forward + backward, "
          f"median of {args.repeats} processes x {args.steps} steps; the one-hot matrix alone is {one_hot_mb:,.0f} MiB")
    print("| method | ms per step | peak RSS (MiB) | gradient of the table |")
    print("|---|---|---|---|")
    for method, runs in results.items():
        print(f"| {method} | {statistics.median(run['ms'] for run in runs):,.1f} | "
              f"{statistics.median(run['peak_rss_mb'] for run in runs):,.0f} | {runs[0]['gradient']} |")


if __name__ == "__main__":
    main()
