"""Benchmark: the trainer's distributed step against a minimal hand-written Keras training.

Throughput (default): both train the same model (built by
``workflow.training.model``) for one epoch on the same tf.data batches of the
given workdir, alternating, ``--repeats`` times; reported are the medians of
examples/s and their ratio (target >= 0.95). The trainer side is
``Trainer.fit`` (``strategy.run`` step, progress, scalars, checkpoints); the
baseline is ``model.compile(Adam, binary_crossentropy); model.fit(batches)``.

Accuracy (``--modes frozen finetune random``): runs ``wf-train`` for each mode
on the workdir and prints each run's test accuracy, AUC, epochs and examples/s
from its metrics.json.

    python benchmarks/training_benchmark.py --workdir /tmp/imdb
    python benchmarks/training_benchmark.py --workdir /tmp/imdb --modes frozen finetune random
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from workflow import config as schema
from workflow.compose import compose, load
from workflow.preprocess.output import PreprocessOutput
from workflow.training.identity import run_name
from workflow.training.output import RunOutput


def compose_config(workdir: str, overrides: list[str]) -> schema.Config:
    return load(compose(f"workdir={workdir}", *overrides))


def throughput(workdir: str, repeats: int, overrides: list[str]) -> None:
    import keras
    import tensorflow as tf

    from workflow.training import data
    from workflow.training.trainer import Controller, Trainer
    from workflow.training.model import build_classifier
    from workflow.training.stage import TrainingInputs

    config = compose_config(workdir, overrides)
    inputs = TrainingInputs.read(config)
    vocabulary, matrix, train_size = inputs.vocabulary, inputs.pretrained, inputs.sizes["train"]
    examples = data.split_examples(inputs.preprocess.example_files("train"), config.model.max_len)
    batch, trainer_config = config.trainer.batch_size, config.trainer
    steps = train_size // batch
    print(f"{config.model.encoder.value} encoder, {config.embedding.mode.value} embedding {matrix.shape}, "
          f"batch {batch}, {steps} steps of {train_size} examples; {repeats} alternating repeats")

    def new_model() -> keras.Model:
        keras.utils.set_random_seed(config.seed)
        return build_classifier(len(vocabulary), matrix.shape[1], config.embedding.mode, config.model, config.seed, matrix)

    def baseline() -> float:
        model = new_model()
        model.compile(keras.optimizers.Adam(trainer_config.learning_rate), "binary_crossentropy", metrics=["accuracy"])
        batches = data.training_batches(examples, batch, config.seed, 0, trainer_config.shuffle_buffer, trainer_config.sort_pool_batches)
        started = time.perf_counter()
        model.fit(batches, epochs=1, verbose=0)
        return steps * batch / (time.perf_counter() - started)

    def workflow_trainer() -> float:
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            model = new_model()
        with tempfile.TemporaryDirectory() as scratch:
            one_epoch = dataclasses.replace(trainer_config, epochs=1)
            trainer = Controller(Trainer(strategy, model, one_epoch, trainer_config.learning_rate), one_epoch, os.path.join(scratch, "ckpt"),
                                 os.path.join(scratch, "tb"))
            state = trainer.fit(examples, train_size, None, 0, config.seed, on_best=lambda: None)
            trainer.close()
        return state.global_step * batch / state.train_seconds

    def input_pipeline() -> float:
        batches = data.training_batches(examples, batch, config.seed, 1, trainer_config.shuffle_buffer, trainer_config.sort_pool_batches)
        started = time.perf_counter()
        for _ in batches:
            pass
        return steps * batch / (time.perf_counter() - started)

    for _ in examples:  # fill the cache once, outside the timings
        pass
    print(f"{'input pipeline alone':>24}: {input_pipeline():,.0f} examples/s (one epoch of batches, no model)")
    results: dict[str, list[float]] = {"hand-written Keras fit": [], "wf-train step": []}
    for repeat in range(repeats):
        for name, run in (("hand-written Keras fit", baseline), ("wf-train step", workflow_trainer)):
            results[name].append(run())
            print(f"  repeat {repeat + 1}: {name}: {results[name][-1]:,.0f} examples/s", flush=True)
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        print(f"{name:>24}: {value:,.0f} examples/s (median)")
    print(f"{'ratio':>24}: {medians['wf-train step'] / medians['hand-written Keras fit']:.3f} (target >= 0.95)")


def accuracy(workdir: str, modes: list[str], overrides: list[str]) -> None:
    for mode in modes:
        command = [sys.executable, "-c", "from workflow.cli import train; train()", f"workdir={workdir}", f"embedding={mode}", *overrides]
        started = time.time()
        subprocess.run(command, check=True)
        config = compose_config(workdir, [f"embedding={mode}", *overrides])
        metrics = RunOutput.named(workdir, run_name(config)).metrics
        test = metrics.test
        print(f"{mode:>9}: test accuracy {test.accuracy:.4f}, AUC {test.auc:.4f}, epochs {metrics.epochs_run} "
              f"(best {metrics.best_epoch}), {metrics.train_examples_per_s:,.0f} examples/s, "
              f"run {metrics.wall_time_s:.0f} s, process {time.time() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, help="a workdir with finished preprocess/ and word2vec/")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="*", help="train these embedding modes with wf-train and report test accuracy")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=cnn trainer.batch_size=64")
    args = parser.parse_args()
    if not os.path.exists(PreprocessOutput(args.workdir).layout.manifest):
        parser.error(f"{args.workdir} has no finished preprocess/: run wf-preprocess and wf-word2vec there first")
    if args.modes:
        accuracy(args.workdir, args.modes, args.overrides)
    else:
        throughput(args.workdir, args.repeats, args.overrides)


if __name__ == "__main__":
    main()
