"""One command for the day a GPU is lent: the trainer's speed, determinism and memory on 1 and on all GPUs, as one JSON file.

    python benchmarks/gpu_check.py --output gpu_check.json          # <= 5 minutes on 1-8 GPUs
    python benchmarks/gpu_check.py --smoke --output smoke.json      # < 60 s on a CPU (also what runs without a GPU)

Measured on synthetic IMDB-shaped reviews (benchmarks/synthetic.py; no
dataset needed), cnn3 at its configured size, batch 64 per replica:

* ``single``: examples/s on one GPU for the fine-tuned table updated lazily
  and densely, op determinism on and off, float32 and mixed_bfloat16 (and the
  lazy update in loss-scaled mixed_float16, for GPUs before Ampere), with
  each variant's peak GPU memory (``tf.config.experimental.get_memory_info``);
* ``all_gpus``: the same for lazy and dense (determinism on, float32) under
  MirroredStrategy over every GPU (NCCL), when there are >= 2 physical GPUs;
* ``host_scatter_fallback``: the lazy update with determinism on and
  ``TF_DISABLE_SCATTER_OP_DETERMINISM=0`` (a fresh process: TensorFlow reads
  it once), i.e. every scatter through the host, as before issue 23, and
  ``host_fallback_slowdown`` against the same variant in ``single`` (GPU only);
* ``bilstm_odd_evaluation``: evaluation over splits smaller than and not a
  multiple of the global batch on every replica, against one example at a time;
* ``dense_crossover``: dense step time at growing table sizes against the lazy
  step: the rows at which a dense update costs as much as the rest of the step.

Without a GPU (or with ``--smoke``) the same runs on the CPU split into two
logical devices (so ``all_gpus`` exercises MirroredStrategy), at tiny sizes,
with fewer variants and no host-fallback child (a CPU's scatters never leave
the host): ``tests/integration/test_gpu_check.py`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from synthetic import synthetic_reviews, timed_trainer
from workflow.config import EmbeddingMode, EmbeddingUpdate, Precision
from workflow.training.evaluation import auc


@dataclass
class Sizes:
    model: str
    vocabulary: int
    dim: int
    batch_size: int  # per replica
    max_len: int
    steps: int  # timed steps per variant
    crossover_rows: tuple[int, ...]


FULL = Sizes("cnn3", 50_000, 100, 64, 800, 40, (50_000, 400_000, 1_600_000))
SMOKE = Sizes("pooling", 1_000, 8, 8, 64, 3, (1_000, 4_000))
F32, BF16, F16 = Precision.float32, Precision.mixed_bfloat16, Precision.mixed_float16
LAZY, DENSE = EmbeddingUpdate.lazy, EmbeddingUpdate.dense
# (update, deterministic, precision): every combination on one GPU (float16: lazy, deterministic), four on all; a subset covering each setting for the smoke run.
SINGLE = {"full": [(update, deterministic, precision) for update in EmbeddingUpdate for deterministic in (True, False) for precision in (F32, BF16)]
          + [(LAZY, True, F16)],
          "smoke": [(LAZY, True, F32), (LAZY, False, BF16), (DENSE, True, F32), (LAZY, True, F16)]}
ALL = {"full": [(LAZY, True, F32), (DENSE, True, F32), (LAZY, True, BF16), (LAZY, True, F16)], "smoke": [(LAZY, True, F32)]}


def peak_mb(device: str | None) -> float | None:
    """Peak memory of ``device`` since the last reset, in MiB (None on a CPU: TensorFlow keeps no statistics there)."""
    if device is None:
        return None
    return round(tf.config.experimental.get_memory_info(device)["peak"] / 2**20, 1)


def measure(strategy: tf.distribute.Strategy, sizes: Sizes, update: EmbeddingUpdate, deterministic: bool, precision: Precision,
            memory_device: str | None, mode: EmbeddingMode = EmbeddingMode.finetune, vocabulary: int | None = None) -> dict:
    """One variant: built, traced, timed; determinism set for it alone."""
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()
    if memory_device is not None:
        tf.config.experimental.reset_memory_stats(memory_device)
    timed = timed_trainer(strategy, sizes.model, mode, update, precision, vocabulary or sizes.vocabulary, sizes.dim, sizes.batch_size,
                          sizes.max_len)
    seconds = timed.seconds_per_step(sizes.steps)
    timed.scratch.cleanup()
    return {"update": update.value, "mode": mode.value, "deterministic": deterministic, "precision": precision.value,
            "replicas": strategy.num_replicas_in_sync, "ms_per_step": round(1000 * seconds, 2),
            "examples_per_s": round(timed.global_batch_size / seconds, 1), "peak_memory_mb": peak_mb(memory_device)}


def odd_evaluation(strategy: tf.distribute.Strategy, sizes: Sizes) -> dict:
    """bilstm evaluation of splits of 1 and 2 x global batch + 1 reviews, against the model applied one review at a time."""
    timed = timed_trainer(strategy, "bilstm", vocabulary=sizes.vocabulary, dim=sizes.dim, batch_size=sizes.batch_size,
                          max_len=sizes.max_len, warmup=0)
    trainer, model = timed.trainer, timed.trainer.model
    results = []
    for size in (1, 2 * timed.global_batch_size + 1):
        examples = synthetic_reviews(size, sizes.vocabulary, sizes.max_len, seed=size)
        result = trainer.evaluate(examples, size)
        scores = np.array([float(model(tokens[None], training=False)[0, 0]) for tokens, _ in examples.as_numpy_iterator()])
        labels = np.array([label for _, label in examples.as_numpy_iterator()])
        loss = float(np.mean(-labels * np.log(scores) - (1 - labels) * np.log(1 - scores)))
        expected_auc = auc(labels, scores)
        exact = (result["accuracy"] == float(np.mean((scores > 0.5) == (labels > 0.5))) and abs(result["loss"] - loss) < 1e-4
                 and (result["auc"] is None) == (expected_auc is None) and (expected_auc is None or abs(result["auc"] - expected_auc) < 1e-4))
        results.append({"size": size, "loss": result["loss"], "accuracy": result["accuracy"], "auc": result["auc"], "exact": exact})
    timed.scratch.cleanup()
    return {"replicas": strategy.num_replicas_in_sync, "ok": all(r["exact"] for r in results), "splits": results}


def dense_crossover(strategy: tf.distribute.Strategy, sizes: Sizes, memory_device: str | None, single: list[dict]) -> dict:
    """Dense step time t(rows) ~ a + b x rows, fitted over ``crossover_rows``; the rest of the step is the lazy step's time
    (which does not grow with the table). The crossover is where b x rows equals it."""
    def measured(update: str) -> float:  # the one-GPU figure at sizes.vocabulary rows, determinism on, float32
        return next(v["ms_per_step"] for v in single if v["update"] == update and v["deterministic"] and v["precision"] == "float32")

    lazy = measured("lazy")
    dense = [measured("dense") if rows == sizes.vocabulary else
             measure(strategy, sizes, DENSE, True, F32, memory_device, vocabulary=rows)["ms_per_step"] for rows in sizes.crossover_rows]
    slope = float(np.polyfit(sizes.crossover_rows, dense, 1)[0])  # ms per row
    return {"rows": list(sizes.crossover_rows), "dense_ms_per_step": dense, "lazy_ms_per_step": lazy,
            "ms_per_million_rows": round(slope * 1e6, 3),
            "crossover_rows": int(lazy / slope) if slope > 0 else None}


def fallback_in_fresh_process() -> dict:
    """The lazy update with every scatter through the host (TF_DISABLE_SCATTER_OP_DETERMINISM=0), in a child process."""
    command = [sys.executable, os.path.abspath(__file__), "--fallback-only"]
    child = subprocess.run(command, env={**os.environ, "TF_DISABLE_SCATTER_OP_DETERMINISM": "0"}, capture_output=True, text=True,
                           timeout=240, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def devices(smoke: bool) -> tuple[list[str], str | None]:
    """Device names for the strategies, and the device whose memory is reported; splits the CPU in two for a smoke run."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus and not smoke:
        return [f"/gpu:{index}" for index in range(len(gpus))], "GPU:0"
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return [device.name for device in tf.config.list_logical_devices("CPU")], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="gpu_check.json")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (the default without a GPU)")
    parser.add_argument("--fallback-only", action="store_true", help=argparse.SUPPRESS)  # the child of fallback_in_fresh_process
    args = parser.parse_args()
    started = time.perf_counter()
    smoke = args.smoke or not tf.config.list_physical_devices("GPU")
    sizes = SMOKE if smoke else FULL
    names, memory_device = devices(smoke)
    one = tf.distribute.OneDeviceStrategy(names[0])
    if args.fallback_only:
        print(json.dumps(measure(one, sizes, LAZY, True, F32, memory_device)))
        return
    kind = "smoke" if smoke else "full"
    single = [measure(one, sizes, *variant, memory_device) for variant in SINGLE[kind]]
    every = tf.distribute.MirroredStrategy(names) if len(names) >= 2 else None
    all_gpus = None if every is None else [measure(every, sizes, *variant, memory_device) for variant in ALL[kind]]
    tf.config.experimental.enable_op_determinism()
    report = {
        "smoke": smoke,
        "devices": names,
        "gpu_details": [tf.config.experimental.get_device_details(gpu) for gpu in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "scatter_determinism_disabled": os.environ.get("TF_DISABLE_SCATTER_OP_DETERMINISM"),
        "sizes": asdict(sizes),
        "single": single,
        "all_gpus": all_gpus,
        "host_scatter_fallback": None if smoke else fallback_in_fresh_process(),  # a CPU's scatters never leave the host
        "bilstm_odd_evaluation": odd_evaluation(every or one, sizes),
        "dense_crossover": dense_crossover(one, sizes, memory_device, single),
        "peak_memory_mb": max((v["peak_memory_mb"] for v in single + (all_gpus or []) if v["peak_memory_mb"] is not None), default=None),
    }
    if not smoke:
        lazy_on = next(v["examples_per_s"] for v in single if v["update"] == "lazy" and v["deterministic"] and v["precision"] == "float32")
        report["host_fallback_slowdown"] = round(lazy_on / report["host_scatter_fallback"]["examples_per_s"], 2)
    report["seconds"] = round(time.perf_counter() - started, 1)
    with open(args.output, "w") as out:
        json.dump(report, out, indent=2, default=str)
    print(f"{args.output}: {report['seconds']} s; " + "; ".join(
        f"{v['update']} det={v['deterministic']} {v['precision']}: {v['examples_per_s']:,.0f} ex/s" for v in single))


if __name__ == "__main__":
    main()
