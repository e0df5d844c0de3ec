"""Benchmark: what a fine-tuning step costs, by Embedding update (lazy, dense) and table size.

The trainer's own distributed step (``Trainer.train_steps``, one step per call, one device) on the
workdir's training batches, for: a frozen table, and a fine-tuned one updated
lazily or densely, with the vocabulary's table (e.g. 50,000 rows) and the same
table padded to ``--big-rows`` rows (the extra rows never occur in a batch,
as a GloVe-sized vocabulary's rare words mostly would not). Every variant is
timed ``--repeats`` times, alternating, over ``--steps`` steps after
``--warmup`` steps (tracing excluded); medians are compared.

    python benchmarks/embedding_update_benchmark.py --workdir /tmp/imdb

Targets: lazy step time with 500,000 rows <= 1.2x with 50,000;
fine-tuned examples/s >= 0.4x frozen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from workflow import config as schema
from workflow.compose import compose, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, help="a workdir with finished preprocess/ and word2vec/")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--big-rows", type=int, default=500_000)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. trainer.batch_size=64")
    args = parser.parse_args()

    import dataclasses

    import keras
    import numpy as np
    import tensorflow as tf

    from workflow.config import EmbeddingMode, EmbeddingUpdate
    from workflow.training import data
    from workflow.training.trainer import Trainer
    from workflow.training.model import build_classifier
    from workflow.training.stage import TrainingInputs

    config: schema.Config = load(compose(f"workdir={args.workdir}", "embedding=finetune", *args.overrides))
    inputs = TrainingInputs.read(config)
    matrix = inputs.pretrained
    rng = np.random.default_rng(0)
    big = np.concatenate([matrix, rng.uniform(-0.05, 0.05, (args.big_rows - len(matrix), matrix.shape[1])).astype(np.float32)])
    examples = data.split_examples(inputs.preprocess.example_files("train"), config.model.max_len).cache()
    for _ in examples:  # fill the cache outside the timings
        pass
    batch = config.trainer.batch_size
    batches = data.training_batches(examples, batch, config.seed, 0, config.trainer.shuffle_buffer, config.trainer.sort_pool_batches).repeat()

    def seconds_per_step(mode: EmbeddingMode, update: EmbeddingUpdate, table: np.ndarray) -> float:
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            model = build_classifier(len(table), table.shape[1], mode, config.model, config.seed, table)
        trainer_config = dataclasses.replace(config.trainer, embedding_update=update)
        trainer = Trainer(strategy, model, trainer_config, config.trainer.learning_rate)
        iterator = iter(batches)
        one = tf.constant(1)
        for _ in range(args.warmup):
            trainer.train_steps(iterator, one)
        trainer.sums.read()
        started = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_steps(iterator, one)
        trainer.sums.read()
        return (time.perf_counter() - started) / args.steps

    rows = f"{len(matrix) // 1000}k"
    variants = {
        f"frozen, {rows} rows": (EmbeddingMode.frozen, EmbeddingUpdate.lazy, matrix),
        f"finetune lazy, {rows} rows": (EmbeddingMode.finetune, EmbeddingUpdate.lazy, matrix),
        f"finetune lazy, {args.big_rows // 1000}k rows": (EmbeddingMode.finetune, EmbeddingUpdate.lazy, big),
        f"finetune dense, {rows} rows": (EmbeddingMode.finetune, EmbeddingUpdate.dense, matrix),
        f"finetune dense, {args.big_rows // 1000}k rows": (EmbeddingMode.finetune, EmbeddingUpdate.dense, big),
    }
    print(f"{config.model.encoder.value} encoder, batch {batch}, {args.steps} timed steps after {args.warmup}, {args.repeats} alternating repeats")
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name, variant in variants.items():
            timings[name].append(seconds_per_step(*variant))
            print(f"  repeat {repeat + 1}: {name}: {1000 * timings[name][-1]:.1f} ms/step", flush=True)
    median = {name: statistics.median(values) for name, values in timings.items()}
    for name, seconds in median.items():
        print(f"{name:>28}: {1000 * seconds:6.1f} ms/step, {batch / seconds:8,.0f} examples/s (median)")
    names = list(variants)
    print(f"lazy {names[2].split(', ')[1]} / {names[1].split(', ')[1]} step time: {median[names[2]] / median[names[1]]:.2f} (target <= 1.2)")
    print(f"dense {names[4].split(', ')[1]} / {names[3].split(', ')[1]} step time: {median[names[4]] / median[names[3]]:.2f}")
    print(f"finetune lazy / frozen examples/s: {median[names[0]] / median[names[1]]:.2f} (target >= 0.4); "
          f"finetune dense / frozen: {median[names[0]] / median[names[3]]:.2f}")


if __name__ == "__main__":
    main()
