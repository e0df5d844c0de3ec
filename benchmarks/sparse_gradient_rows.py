"""Benchmark: Embedding gradient rows a replica sends to the all-reduce per step, before and after deduplication.

MirroredStrategy has no all-reduce for ``IndexedSlices``: it gathers every
replica's rows (tensorflow#41898), so what a replica sends is what its
gradient holds. The Embedding's gradient has one row per position of the
batch (padding included); ``sum_duplicate_rows`` leaves one per distinct
token. Measured on the trainer's own model and batches over synthetic
IMDB-shaped reviews (benchmarks/synthetic.py: Zipf-distributed ids over a
50,000-row vocabulary, IMDB's median length), or on a workdir's training
split with ``--workdir``.

    python benchmarks/sparse_gradient_rows.py
    python benchmarks/sparse_gradient_rows.py --workdir /tmp/imdb --batch-size 64 --width-multiple 32
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from synthetic import synthetic_reviews
from workflow.config import EmbeddingMode, Encoder, ModelConfig
from workflow.training import data
from workflow.training.model import build_classifier
from workflow.training.optimizer import sum_duplicate_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", help="a workdir with a finished preprocess/ (default: synthetic reviews)")
    parser.add_argument("--batch-size", type=int, default=64, help="per replica")
    parser.add_argument("--batches", type=int, default=50)
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
        examples = synthetic_reviews(args.batch_size * args.batches * 2, vocabulary, args.max_len)
    model = build_classifier(vocabulary, args.dim, EmbeddingMode.random, ModelConfig(encoder=Encoder.cnn, windows=[3], filters=128), 0)
    table = model.get_layer("embedding").embeddings
    batches = data.training_batches(examples, args.batch_size, 0, 0, 50_000, 50, width_multiple=args.width_multiple).take(args.batches)
    before, after = [], []
    for tokens, labels in batches:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(labels[:, None], model(tokens, training=True)))
        gradient = tape.gradient(loss, [table])[0]
        before.append(int(gradient.indices.shape[0]))
        after.append(int(sum_duplicate_rows(gradient).indices.shape[0]))
    row_bytes = args.dim * 4 + 4  # float32 row + its int32 index
    source = args.workdir or f"synthetic ({vocabulary:,} ids, Zipf 1.1)"
    print(f"{source}: {len(before)} batches of {args.batch_size}, width multiple {args.width_multiple}, dim {args.dim}")
    for name, rows in (("raw rows", before), ("unique rows", after)):
        print(f"  {name:>11}: median {statistics.median(rows):8,.0f} per replica per step ({statistics.median(rows) * row_bytes / 2**20:.2f} MiB)")
    print(f"  ratio: {statistics.median(b / a for b, a in zip(before, after)):.1f}x fewer rows sent")


if __name__ == "__main__":
    main()
