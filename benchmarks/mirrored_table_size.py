"""Benchmark: does a lazy fine-tuning step under MirroredStrategy cost what the batch touches, or what the table holds?

Two logical CPU devices (MirroredStrategy, as ``strategy=mirrored
strategy.logical_devices=2`` builds it), ``embedding=finetune``,
``trainer.embedding_update=lazy``, the workdir's training batches, with the
vocabulary's table padded with random rows to ``--rows`` sizes (the extra rows
never occur in a batch, as a GloVe-sized vocabulary's rare words mostly would
not). Each (checkout, table size) runs in a fresh process (TensorFlow fixes
its devices when it starts): ``--steps`` timed steps after ``--warmup``;
the processes alternate, ``--repeats`` rounds, and medians are compared.
``--baseline`` names another checkout of the project (e.g. ``git worktree add
/tmp/main main``) whose ``workflow`` package the "before" processes import.

    python benchmarks/mirrored_table_size.py --workdir /tmp/imdb --baseline /tmp/main

Target: after, the 2,000,000-row step within 15% of the 50,000-row one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def seconds_per_step(workdir: str, rows: int, model: str, steps: int, warmup: int) -> float:
    """One process: the trainer's step on 2 logical CPU devices with a ``rows``-row table (the vocabulary's rows first)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from workflow import config as schema
    from workflow.compose import compose, load
    from workflow.config import EmbeddingMode, StrategyConfig, StrategyKind
    from workflow.preprocess.output import PreprocessOutput
    from workflow.training import data
    from workflow.training.model import build_classifier
    from workflow.training.strategy import make_strategy
    from workflow.training.trainer import Trainer

    strategy = make_strategy(StrategyConfig(kind=StrategyKind.mirrored, logical_devices=2))
    config: schema.Config = load(compose(f"workdir={workdir}", f"model={model}", "embedding=finetune"))
    preprocess = PreprocessOutput(workdir)
    vocabulary = len(preprocess.vocabulary())
    table = np.random.default_rng(0).standard_normal((max(rows, vocabulary), config.word2vec.vector_size), dtype=np.float32) * 0.3
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        classifier = build_classifier(len(table), table.shape[1], EmbeddingMode.finetune, config.model, config.seed, table)
    del table
    global_batch = config.trainer.batch_size * strategy.num_replicas_in_sync
    examples = data.split_examples(preprocess.example_files("train"), config.model.max_len)
    batches = data.training_batches(examples, global_batch, config.seed, 0, config.trainer.shuffle_buffer,
                                    config.trainer.sort_pool_batches).repeat()
    trainer = Trainer(strategy, classifier, config.trainer, config.trainer.learning_rate)
    iterator = iter(batches)
    one = tf.constant(1)
    for _ in range(warmup):
        trainer.train_steps(iterator, one)
    trainer.sums.read()
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_steps(iterator, one)
    trainer.sums.read()
    return (time.perf_counter() - started) / steps


def in_fresh_process(checkout: str | None, args: argparse.Namespace, rows: int) -> float:
    """:func:`seconds_per_step` in a child process that imports ``checkout``'s ``workflow`` package (None: this one's)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, os.path.abspath(__file__), "--workdir", args.workdir, "--model", args.model, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--one", str(rows)]
    child = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])["seconds_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, help="a workdir with a finished preprocess/")
    parser.add_argument("--baseline", help="another checkout of the project: its code is 'before'")
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 2_000_000])
    parser.add_argument("--model", default="cnn3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: one table size
    args = parser.parse_args()
    if args.one:
        print(json.dumps({"seconds_per_step": seconds_per_step(args.workdir, args.one, args.model, args.steps, args.warmup)}))
        return
    checkouts = {"before": args.baseline, "after": None} if args.baseline else {"this checkout": None}
    timings: dict[tuple[str, int], list[float]] = {(name, rows): [] for name in checkouts for rows in args.rows}
    print(f"MirroredStrategy over 2 logical CPU devices, model={args.model}, finetune, lazy; {args.steps} timed steps after "
          f"{args.warmup}; {args.repeats} alternating rounds")
    for repeat in range(args.repeats):
        for name, checkout in checkouts.items():
            for rows in args.rows:
                timings[name, rows].append(in_fresh_process(checkout, args, rows))
                print(f"  round {repeat + 1}: {name}, {rows:,} rows: {1000 * timings[name, rows][-1]:.1f} ms/step", flush=True)
    for name in checkouts:
        medians = [statistics.median(timings[name, rows]) for rows in args.rows]
        ratios = [large / small for large, small in zip(timings[name, args.rows[-1]], timings[name, args.rows[0]])]
        print(f"{name}: " + ", ".join(f"{rows:,} rows {1000 * median:.1f} ms/step" for rows, median in zip(args.rows, medians))
              + f"; largest / smallest: {medians[-1] / medians[0]:.2f} of the medians, {statistics.median(ratios):.2f} the median of "
              f"the rounds' ratios (target <= 1.15 after)")


if __name__ == "__main__":
    main()
