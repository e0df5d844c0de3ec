"""Benchmark: ms per training step by model and precision (trainer.precision), on this machine's first device.

Each (model, precision) pair is built and traced once, then timed in
``--rounds`` alternating rounds of ``--steps`` steps (the trainer's own step,
fine-tuned table, lazy update, batch 64, synthetic IMDB-shaped reviews from
benchmarks/synthetic.py; float16 with its loss scaling); medians are
reported with their ratio to float32. On a CPU, bfloat16 pays where the CPU
has AMX-BF16 (``amx_bf16`` in /proc/cpuinfo).

    python benchmarks/precision_benchmark.py
    python benchmarks/precision_benchmark.py --models cnn3 bilstm --steps 20 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from synthetic import MODELS, timed_trainer
from workflow.config import Precision
from workflow.training.precision import cpu_has_amx_bf16

PRECISIONS = (Precision.float32, Precision.mixed_bfloat16, Precision.mixed_float16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-len", type=int, default=800)
    args = parser.parse_args()
    gpus = tf.config.list_physical_devices("GPU")
    strategy = tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    print(f"device: {'GPU' if gpus else 'CPU'}{'' if gpus else f', amx_bf16={cpu_has_amx_bf16()}'}; {args.steps} steps x {args.rounds} rounds")
    trainers = {(model, precision): timed_trainer(strategy, model, precision=precision, max_len=args.max_len)
                for model in args.models for precision in PRECISIONS}
    timings: dict[tuple[str, Precision], list[float]] = {pair: [] for pair in trainers}
    for round_ in range(args.rounds):
        for pair, timed in trainers.items():
            timings[pair].append(timed.seconds_per_step(args.steps))
        print(f"  round {round_ + 1}: " + ", ".join(f"{m}/{p.value} {1000 * t[-1]:.1f}" for (m, p), t in timings.items()), flush=True)
    for model in args.models:
        f32, *mixed = (statistics.median(timings[model, precision]) for precision in PRECISIONS)
        print(f"{model:>8}: float32 {1000 * f32:7.1f} ms/step; " + "; ".join(
            f"{precision.value} {1000 * seconds:7.1f} ms/step ({seconds / f32:.2f}x)" for precision, seconds in zip(PRECISIONS[1:], mixed)))

if __name__ == "__main__":
    main()
