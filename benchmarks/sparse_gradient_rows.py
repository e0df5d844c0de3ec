"""Benchmark: Embedding gradient rows that cross between devices per step under MirroredStrategy, before and after
the union of the replicas' rows is deduplicated.

MirroredStrategy has no all-reduce for ``IndexedSlices`` (tensorflow#41898):
every replica's rows are copied to the first device and the result is
copied back to the others. The Embedding's gradient has one row per position
of a replica's batch (padding included); ``sum_duplicate_rows`` leaves one per
distinct token (``u_i`` rows on replica i). Counted per step for the token
table, over the trainer's own model and global batches split between ``N``
replicas as ``experimental_distribute_dataset`` splits them:

* to the first device: ``u_2 + ... + u_N`` (before and after);
* from it, before (TensorFlow's ``ReductionToOneDevice``): the concatenation,
  ``(N - 1) x (u_1 + ... + u_N)`` rows: a token in every replica's batch goes N
  times to every device;
* from it, after (``UniqueRowsReduction``, training/sparse_reduction.py):
  ``(N - 1) x U``, with ``U`` the distinct tokens of the global batch;
* for comparison, a densified all-reduce (NCCL's ring): ``2 (N - 1) / N x V``
  rows in and out of every device for a ``V``-row table; it moves fewer rows
  through the busiest device than the union's broadcast only below
  ``V = N x U / 2`` (printed).

On a workdir's training split with ``--workdir``, or on synthetic IMDB-shaped
reviews (benchmarks/synthetic.py: Zipf-distributed ids over 50,000 rows).

    python benchmarks/sparse_gradient_rows.py --workdir /tmp/imdb --replicas 2 4
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from synthetic import synthetic_reviews
from workflow.config import EmbeddingMode, Encoder, ModelConfig
from workflow.training import data
from workflow.training.model import build_classifier


def replica_rows(model: keras.Model, tokens: tf.Tensor, labels: tf.Tensor, replicas: int) -> list[np.ndarray]:
    """The distinct token-table rows of each replica's part of a global batch (its gradient after sum_duplicate_rows)."""
    table = model.get_layer("embedding").embeddings
    rows = []
    for part_tokens, part_labels in zip(tf.split(tokens, replicas), tf.split(labels, replicas)):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(part_labels[:, None], model(part_tokens, training=True)))
        rows.append(np.unique(tape.gradient(loss, [table])[0].indices.numpy()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", help="a workdir with a finished preprocess/ (default: synthetic reviews)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--batch-size", type=int, default=64, help="per replica")
    parser.add_argument("--batches", type=int, default=50, help="global batches counted per replica count")
    parser.add_argument("--max-len", type=int, default=800)
    parser.add_argument("--width-multiple", type=int, default=0)
    parser.add_argument("--dim", type=int, default=100)
    args = parser.parse_args()
    if args.workdir:
        from workflow.preprocess.output import PreprocessOutput

        preprocess = PreprocessOutput(args.workdir)
        vocabulary = len(preprocess.vocabulary())
        examples = data.split_examples(preprocess.example_files("train"), args.max_len)
    else:
        vocabulary = 50_000
        examples = synthetic_reviews(args.batch_size * args.batches * max(args.replicas), vocabulary, args.max_len)
    model = build_classifier(vocabulary, args.dim, EmbeddingMode.random, ModelConfig(encoder=Encoder.cnn, windows=[3], filters=128), 0)
    row_bytes = args.dim * 4 + 4  # float32 row + its int32 index
    source = args.workdir or f"synthetic ({vocabulary:,} ids, Zipf 1.1)"
    print(f"{source}: {args.batches} global batches of {args.batch_size} per replica, width multiple {args.width_multiple}, dim {args.dim}, "
          f"{vocabulary:,}-row table; rows per step, medians")
    for replicas in args.replicas:
        batches = data.training_batches(examples, args.batch_size * replicas, 0, 0, 50_000, 50, width_multiple=args.width_multiple)
        counts = {"to_first": [], "before": [], "after": [], "moved_before": [], "moved_after": [], "distinct": [], "union": []}
        for tokens, labels in batches.take(args.batches):
            parts = replica_rows(model, tokens, labels, replicas)
            union = len(np.unique(np.concatenate(parts)))
            counts["to_first"].append(sum(len(part) for part in parts[1:]))
            counts["before"].append((replicas - 1) * sum(len(part) for part in parts))
            counts["after"].append((replicas - 1) * union)
            counts["moved_before"].append(counts["to_first"][-1] + counts["before"][-1])
            counts["moved_after"].append(counts["to_first"][-1] + counts["after"][-1])
            counts["distinct"].append(statistics.mean(len(part) for part in parts))
            counts["union"].append(union)
        median = {name: statistics.median(values) for name, values in counts.items()}
        dense = 2 * (replicas - 1) / replicas * vocabulary
        print(f"{replicas} replicas: u (distinct rows per replica) {median['distinct']:,.0f}, U (global batch) {median['union']:,.0f}")
        print(f"  to the first device          {median['to_first']:9,.0f} rows ({median['to_first'] * row_bytes / 2**20:6.2f} MiB)")
        for name, label in (("before", "from it, before (concatenation)"), ("after", "from it, after (union)")):
            print(f"  {label:<32} {median[name]:9,.0f} rows ({median[name] * row_bytes / 2**20:6.2f} MiB)")
        print(f"  moved in all, before -> after: {median['moved_before']:,.0f} -> {median['moved_after']:,.0f} rows "
              f"({median['moved_before'] / median['moved_after']:.2f}x fewer)")
        print(f"  densified ring all-reduce: {dense:,.0f} rows in and out of every device; fewer through the busiest device than "
              f"the union's broadcast below {replicas * median['union'] / 2:,.0f} table rows")


if __name__ == "__main__":
    main()
