"""One command for the first day on GPUs: the trainer's speed, determinism, memory and communication on 1 and on all
GPUs, as one JSON file that keeps every figure it measured.

    python benchmarks/gpu_check.py --output gpu_check.json          # at most --budget-minutes (5)
    python benchmarks/gpu_check.py --smoke --output smoke.json      # tiny sizes on the CPU (also what runs without a GPU)

Sections (keys of ``sections`` in the JSON file), on synthetic IMDB-shaped
reviews (benchmarks/synthetic.py; no dataset needed), cnn3 at its configured
size, batch 64 per replica:

* ``row_gathers``: the traced training step under MirroredStrategy (over every
  GPU, or the one there is): Embedding rows gathered (``ResourceGather``), and
  whole-table reads of a table or its Adam slots (must be 0);
* ``single``: examples/s and peak GPU memory on one GPU, op determinism on, for
  the fine-tuned table updated lazily and densely, float32 and mixed_bfloat16,
  and the lazy update in loss-scaled mixed_float16 (GPUs before Ampere);
* ``mirrored_one_device``: the lazy float32 step under MirroredStrategy over
  that one GPU (what ``strategy=mirrored`` builds), against ``single``'s;
* ``all_devices``: lazy and dense, float32, and lazy in both half precisions,
  under MirroredStrategy over every GPU (>= 2);
* ``sparse_vs_dense_reduce``: one step's Embedding gradient summed over every
  GPU as the trainer sums it (the union of the replicas' rows, deduplicated,
  training/sparse_reduction.py) against the same gradient densified and
  all-reduced (NCCL), at growing table sizes: below which size dense wins;
* ``bilstm_odd_evaluation``: evaluation of splits smaller than, and not a
  multiple of, the global batch on every GPU, against one review at a time;
* ``single_nondeterministic``: ``single``'s float32 and bfloat16 variants with
  op determinism off (a process of its own: determinism is process-wide and
  steers cuDNN's choice of algorithms);
* ``host_scatter_fallback``: the lazy update with ``TF_DISABLE_SCATTER_OP_DETERMINISM=0``
  (every scatter through the host, as TensorFlow does by default under
  determinism), in a process of its own (TensorFlow reads it once);
* ``dense_crossover``: the dense step at growing table sizes against the lazy
  step: the rows at which a dense update costs as much as the rest of the step.

Plus ``environment`` (TensorFlow, CUDA and cuDNN builds, GPU names and compute
capabilities, TF32, the environment flags) and ``summary`` (host fallback
slowdown, MirroredStrategy's cost on one GPU, peak memory).

Keeping its figures: the sections run in child processes, grouped by what they
need from a fresh TensorFlow (determinism on or off, the host fallback's
environment); this process never touches a GPU, and memory grows as needed
(``TF_FORCE_GPU_ALLOW_GROWTH``), so each child has the GPUs to itself. The JSON
file is rewritten (atomically) after every section. A section that raises
records its traceback and the others go on; a child that dies loses only its
own sections, which record its exit status and the end of its standard error.
Sections not finished when the time budget is spent are recorded as skipped.
Timing: widths rounded up to a multiple (at most ``max_len / multiple``
shapes), and every variant warmed up by one pass over the very batches it then
times, so that every width is traced and autotuned before the clock starts.

Without a GPU (or with ``--smoke``) the same runs on the CPU split into two
logical devices, at tiny sizes, with fewer variants and no host fallback (a
CPU's scatters never leave the host): ``tests/integration/test_gpu_check.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from workflow.training.devices import tensorflow_environment  # noqa: E402

tensorflow_environment()  # the trainer's environment (memory growth, scatters on the device), inherited by the children


@dataclass
class Sizes:
    model: str
    vocabulary: int
    dim: int
    batch_size: int  # per replica
    max_len: int
    width_multiple: int
    steps: int  # timed steps per variant, after a warm-up pass over the same batches
    crossover_rows: tuple[int, ...]  # dense_crossover's table sizes
    reduce_rows: tuple[int, ...]  # sparse_vs_dense_reduce's table sizes
    reduce_repeats: int


FULL = Sizes("cnn3", 50_000, 100, 64, 800, 32, 40, (50_000, 400_000, 1_600_000), (10_000, 50_000, 200_000, 1_000_000, 2_000_000), 20)
SMOKE = Sizes("pooling", 1_000, 8, 8, 64, 16, 3, (1_000, 4_000), (1_000, 4_000), 3)
LAZY, DENSE = "lazy", "dense"
F32, BF16, F16 = "float32", "mixed_bfloat16", "mixed_float16"
# (update, precision) per section; a subset covering each setting for the smoke run.
VARIANTS = {
    "single": {"full": [(LAZY, F32), (DENSE, F32), (LAZY, BF16), (DENSE, BF16), (LAZY, F16)], "smoke": [(LAZY, F32), (DENSE, F32), (LAZY, F16)]},
    "single_nondeterministic": {"full": [(LAZY, F32), (DENSE, F32), (LAZY, BF16), (DENSE, BF16)], "smoke": [(LAZY, BF16)]},
    "all_devices": {"full": [(LAZY, F32), (DENSE, F32), (LAZY, BF16), (LAZY, F16)], "smoke": [(LAZY, F32)]},
}
# The child processes in the order they run (the most telling first), the sections each reports, and how it starts:
# op determinism on or off for the whole process, extra environment.
PROCESSES = {
    "deterministic": {"sections": ["row_gathers", "single", "mirrored_one_device"], "deterministic": True},
    "every_device": {"sections": ["all_devices", "sparse_vs_dense_reduce", "bilstm_odd_evaluation"], "deterministic": True},
    "nondeterministic": {"sections": ["single_nondeterministic"], "deterministic": False},
    "host_fallback": {"sections": ["host_scatter_fallback"], "deterministic": True, "environment": {"TF_DISABLE_SCATTER_OP_DETERMINISM": "0"},
                      "gpu_only": "a CPU's scatters never leave the host"},
    "crossover": {"sections": ["dense_crossover"], "deterministic": True},
}
# For the estimate printed first: seconds to start a child, to build and trace a variant (per replica), per step.
START_SECONDS, TRACE_SECONDS, STEP_SECONDS = {"full": 20.0, "smoke": 8.0}, {"full": 6.0, "smoke": 2.0}, {"full": 0.05, "smoke": 0.02}


# ---------------------------------------------------------------------------------------------------- in a child


class Devices:
    """The child's devices: GPUs, or the CPU split in two (a fresh process, before TensorFlow starts them)."""

    def __init__(self, smoke: bool) -> None:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus and not smoke:
            self.names, self.memory = [f"/gpu:{index}" for index in range(len(gpus))], "GPU:0"
        else:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
            self.names, self.memory = [device.name for device in tf.config.list_logical_devices("CPU")], None

    def one(self) -> "tf.distribute.Strategy":
        import tensorflow as tf

        return tf.distribute.OneDeviceStrategy(self.names[0])

    def mirrored(self, names: list[str]) -> "tf.distribute.Strategy":
        from workflow.training.strategy import mirrored_strategy

        return mirrored_strategy(names)

    def peak_mb(self) -> float | None:
        """Peak memory of the first GPU since the last :meth:`reset` (None on a CPU: TensorFlow keeps no statistics)."""
        import tensorflow as tf

        return None if self.memory is None else round(tf.config.experimental.get_memory_info(self.memory)["peak"] / 2**20, 1)

    def reset(self) -> None:
        import tensorflow as tf

        if self.memory is not None:
            tf.config.experimental.reset_memory_stats(self.memory)


class Skipped(Exception):
    """A section that does not apply to these devices (its message says why)."""


class Child:
    """Runs one process's sections; prints one JSON line per section as it ends."""

    def __init__(self, sizes: Sizes, kind: str, deadline: float, fail: str | None) -> None:
        self.sizes, self.kind, self.deadline, self.fail = sizes, kind, deadline, fail
        self.devices = Devices(kind == "smoke")
        self.cut = False  # whether the running section stopped measuring at the deadline

    def run(self, sections: list[str]) -> None:
        for section in sections:
            started, self.cut = time.perf_counter(), False
            if time.time() > self.deadline:
                report = {"status": "skipped", "reason": "the time budget was spent before it started"}
            else:
                try:
                    if section == self.fail:
                        raise RuntimeError(f"--fail {section}: this section fails on purpose")
                    result = getattr(self, section)()
                    report = {"status": "partial (time budget)" if self.cut else "ok", "result": result}
                except Skipped as why:
                    report = {"status": "skipped", "reason": str(why)}
                except Exception as error:  # noqa: BLE001 - recorded; the next section runs
                    report = {"status": "failed", "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            print(json.dumps({"section": section, "seconds": round(time.perf_counter() - started, 1), **report}, default=str), flush=True)

    def in_time(self, items: list) -> Iterator:
        """``items`` one by one until the deadline (then the section is marked partial)."""
        for item in items:
            if time.time() > self.deadline:
                self.cut = True
                return
            yield item

    def variants(self, section: str) -> Iterator[tuple[str, str]]:
        """The section's (update, precision) pairs, until the deadline."""
        return self.in_time(VARIANTS[section][self.kind])

    def measure(self, strategy, update: str, precision: str, vocabulary: int | None = None, model: str | None = None) -> dict:
        """One variant: built, warmed up over the batches it times, timed."""
        from tensorflow.python.framework import config as tf_config

        from synthetic import timed_trainer
        from workflow.config import EmbeddingMode, EmbeddingUpdate, Precision

        sizes = self.sizes
        self.devices.reset()
        timed = timed_trainer(strategy, model or sizes.model, EmbeddingMode.finetune, EmbeddingUpdate(update), Precision(precision),
                              vocabulary or sizes.vocabulary, sizes.dim, sizes.batch_size, sizes.max_len, sizes.width_multiple,
                              cycle=sizes.steps)
        seconds = timed.seconds_per_step(sizes.steps)
        return {"update": update, "precision": precision, "deterministic": tf_config.is_op_determinism_enabled(),
                "replicas": strategy.num_replicas_in_sync, "rows": vocabulary or sizes.vocabulary,
                "ms_per_step": round(1000 * seconds, 2), "examples_per_s": round(timed.global_batch_size / seconds, 1),
                "peak_memory_mb": self.devices.peak_mb()}

    # ------------------------------------------------------------------------------------------------ sections

    def row_gathers(self) -> dict:
        import tensorflow as tf

        from synthetic import timed_trainer

        strategy = self.devices.mirrored(self.devices.names)
        trainer = timed_trainer(strategy, self.sizes.model, vocabulary=self.sizes.vocabulary, dim=self.sizes.dim, batch_size=self.sizes.batch_size,
                                max_len=self.sizes.max_len, width_multiple=self.sizes.width_multiple, warmup=0)
        traced = trainer.trainer.train_steps.get_concrete_function(trainer.iterator, tf.constant(1))
        ops = [op for graph in step_graphs(traced.graph) for op in graph.get_operations()]
        table = (self.sizes.vocabulary, self.sizes.dim)
        return {"replicas": strategy.num_replicas_in_sync, "resource_gathers": sum(op.type == "ResourceGather" for op in ops),
                "whole_table_reads": sum(op.type == "ReadVariableOp" and tuple(op.outputs[0].shape) == table for op in ops),
                "ok": not any(op.type == "ReadVariableOp" and tuple(op.outputs[0].shape) == table for op in ops)}

    def single(self) -> list[dict]:
        return [self.measure(self.devices.one(), update, precision) for update, precision in self.variants("single")]

    def single_nondeterministic(self) -> list[dict]:
        return [self.measure(self.devices.one(), update, precision) for update, precision in self.variants("single_nondeterministic")]

    def mirrored_one_device(self) -> dict:
        return self.measure(self.devices.mirrored(self.devices.names[:1]), LAZY, F32)

    def all_devices(self) -> list[dict]:
        self.need_two_devices()
        strategy = self.devices.mirrored(self.devices.names)
        return [self.measure(strategy, update, precision) for update, precision in self.variants("all_devices")]

    def host_scatter_fallback(self) -> dict:
        return self.measure(self.devices.one(), LAZY, F32)

    def sparse_vs_dense_reduce(self) -> dict:
        self.need_two_devices()
        return reduce_timings(self.devices.mirrored(self.devices.names), self.sizes, self.in_time)

    def need_two_devices(self) -> None:
        if len(self.devices.names) < 2:
            raise Skipped("one GPU: nothing to communicate")

    def bilstm_odd_evaluation(self) -> dict:
        names = self.devices.names
        return odd_evaluation(self.devices.mirrored(names) if len(names) > 1 else self.devices.one(), self.sizes)

    def dense_crossover(self) -> dict:
        import numpy as np

        lazy = self.measure(self.devices.one(), LAZY, F32)["ms_per_step"]
        rows, dense = [], []
        for count in self.in_time(list(self.sizes.crossover_rows)):
            dense.append(self.measure(self.devices.one(), DENSE, F32, vocabulary=count)["ms_per_step"])
            rows.append(count)
        slope = float(np.polyfit(rows, dense, 1)[0]) if len(rows) > 1 else float("nan")  # ms per row
        return {"rows": rows, "dense_ms_per_step": dense, "lazy_ms_per_step": lazy, "ms_per_million_rows": round(slope * 1e6, 3),
                "crossover_rows": int(lazy / slope) if slope > 0 else None}


def step_graphs(graph) -> Iterator:
    """A traced step's graph and the graphs inside it (while bodies, conditionals)."""
    yield graph
    for op in graph.get_operations():
        for branch in ("_body_graph", "_cond_graph", "_true_graph", "_false_graph"):
            if hasattr(op, branch):
                yield from step_graphs(getattr(op, branch))


def reduce_timings(strategy, sizes: Sizes, in_time: Callable[[list], Iterator]) -> dict:
    """ms per sum over the replicas of one Embedding gradient: its rows (as the trainer sums them) or densified (all-reduced)."""
    import numpy as np
    import tensorflow as tf

    from synthetic import synthetic_reviews

    def per_replica_rows(rows: int) -> Any:
        def rows_of(context: tf.distribute.experimental.ValueContext) -> tf.IndexedSlices:
            reviews = synthetic_reviews(sizes.batch_size, min(rows, sizes.vocabulary), sizes.max_len, seed=context.replica_id_in_sync_group)
            ids = np.unique(np.concatenate([tokens for tokens, _ in reviews.as_numpy_iterator()]))
            values = np.random.default_rng(0).normal(0, 1e-3, (len(ids), sizes.dim)).astype(np.float32)
            return tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([rows, sizes.dim]))
        return strategy.experimental_distribute_values_from_function(rows_of)

    def timed(reduce: Callable) -> float:
        float(reduce())  # trace and warm up
        started = time.perf_counter()
        for _ in range(sizes.reduce_repeats):
            float(reduce())
        return round(1000 * (time.perf_counter() - started) / sizes.reduce_repeats, 3)

    results = []
    for rows in in_time(list(sizes.reduce_rows)):
        gradient = per_replica_rows(rows)

        @tf.function
        def sparse() -> tf.Tensor:
            summed = strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.SUM, [(gradient, gradient)])[0]
            return tf.add_n([tf.reduce_sum(part.values[:1]) for part in strategy.experimental_local_results(summed)])

        @tf.function
        def dense() -> tf.Tensor:
            tables = strategy.run(lambda part: tf.math.unsorted_segment_sum(part.values, part.indices, rows), args=(gradient,))
            summed = strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.SUM, [(tables, tables)])[0]
            return tf.add_n([tf.reduce_sum(part[:1]) for part in strategy.experimental_local_results(summed)])

        results.append({"rows": rows, "sparse_ms": timed(sparse), "dense_ms": timed(dense)})
    cheaper = [result["rows"] for result in results if result["dense_ms"] < result["sparse_ms"]]
    return {"replicas": strategy.num_replicas_in_sync, "tables": results, "dense_cheaper_up_to_rows": max(cheaper) if cheaper else None}


def odd_evaluation(strategy, sizes: Sizes) -> dict:
    """bilstm evaluation of splits of 1 and 2 x global batch + 1 reviews, against the model applied one review at a time."""
    import numpy as np
    import tensorflow as tf

    from synthetic import synthetic_reviews, timed_trainer
    from workflow.config import TrainerConfig
    from workflow.training.evaluation import Evaluator, auc

    timed = timed_trainer(strategy, "bilstm", vocabulary=sizes.vocabulary, dim=sizes.dim, batch_size=sizes.batch_size,
                          max_len=sizes.max_len, warmup=0)
    model = timed.trainer.model
    evaluator = Evaluator(strategy, model, timed.global_batch_size, TrainerConfig(batch_size=sizes.batch_size))
    one_review = tf.function(lambda tokens: model(tokens, training=False), input_signature=[tf.TensorSpec([1, None], tf.int32)])
    results = []
    for size in (1, 2 * timed.global_batch_size + 1):
        examples = synthetic_reviews(size, sizes.vocabulary, sizes.max_len, seed=size)
        result = evaluator.evaluate(examples, size)
        scores = np.array([float(one_review(tokens[None])[0, 0]) for tokens, _ in examples.as_numpy_iterator()])
        labels = np.array([label for _, label in examples.as_numpy_iterator()])
        loss = float(np.mean(-labels * np.log(scores) - (1 - labels) * np.log(1 - scores)))
        expected_auc = auc(labels, scores)
        exact = (result["accuracy"] == float(np.mean((scores > 0.5) == (labels > 0.5))) and abs(result["loss"] - loss) < 1e-4
                 and (result["auc"] is None) == (expected_auc is None) and (expected_auc is None or abs(result["auc"] - expected_auc) < 1e-4))
        results.append({"size": size, "loss": result["loss"], "accuracy": result["accuracy"], "auc": result["auc"], "exact": exact})
    return {"replicas": strategy.num_replicas_in_sync, "ok": all(r["exact"] for r in results), "splits": results}


def child_main(process: str, kind: str, deadline: float, fail: str | None) -> None:
    """A child process: determinism as its process kind says, then its sections."""
    import tensorflow as tf

    if PROCESSES[process]["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    Child(SMOKE if kind == "smoke" else FULL, kind, deadline, fail).run(PROCESSES[process]["sections"])


# ---------------------------------------------------------------------------------------------------- the parent


def environment() -> dict:
    """What the machine and its TensorFlow are (no GPU is touched: listing them starts no context)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    build = tf.sysconfig.get_build_info()
    return {"gpus": len(gpus), "gpu_details": [tf.config.experimental.get_device_details(gpu) for gpu in gpus],
            "tensorflow": tf.__version__, "python": platform.python_version(), "cuda": build.get("cuda_version"),
            "cudnn": build.get("cudnn_version"), "tensor_float_32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "scatter_determinism_disabled": os.environ.get("TF_DISABLE_SCATTER_OP_DETERMINISM"),
            "memory_growth": os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH"), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def estimate_seconds(sizes: Sizes, kind: str, devices: int) -> float:
    """A rough run time: each child's start, each variant's build and trace (longer with more replicas) and steps."""
    every_device = 1 + (len(VARIANTS["all_devices"][kind]) + 1 if devices > 1 else 0)  # the bilstm evaluation, the rest on >= 2
    variants_and_replicas = ([(len(VARIANTS["single"][kind]) + len(VARIANTS["single_nondeterministic"][kind]) + 2, 1)]
                             + [(every_device, devices)] + [(1 + len(sizes.crossover_rows), 1)])
    processes = sum(kind == "full" or "gpu_only" not in process for process in PROCESSES.values())
    per_variant = TRACE_SECONDS[kind], 2 * sizes.steps * STEP_SECONDS[kind]
    return processes * START_SECONDS[kind] + sum(count * (per_variant[0] * (1 + 0.25 * (replicas - 1)) + per_variant[1])
                                                 for count, replicas in variants_and_replicas)


class Report:
    """The JSON file, rewritten atomically whenever a section ends."""

    def __init__(self, path: str, header: dict) -> None:
        self.path, self.content = path, {**header, "sections": {}}
        self.started = time.perf_counter()

    def section(self, name: str, record: dict) -> None:
        self.content["sections"][name] = record
        self.content["summary"] = summary(self.content["sections"])
        self.content["seconds"] = round(time.perf_counter() - self.started, 1)
        from workflow.artifacts import write_json_atomic

        write_json_atomic(self.path, json.loads(json.dumps(self.content, default=str)))
        print(f"[{self.content['seconds']:6.1f} s] {name}: {record['status']}"
              + (f" ({record.get('error') or record.get('reason')})" if record["status"] != "ok" else ""), flush=True)


def summary(sections: dict) -> dict:
    """Ratios across sections, where both sides were measured."""
    def result(name: str) -> Any:
        record = sections.get(name, {})
        return record.get("result") if record.get("status") == "ok" else None

    single, fallback, mirrored = result("single"), result("host_scatter_fallback"), result("mirrored_one_device")
    lazy = next((v for v in single or [] if v["update"] == LAZY and v["precision"] == F32), None)
    variants = [v for name in ("single", "single_nondeterministic", "all_devices") for v in (result(name) or [])]
    peaks = [v["peak_memory_mb"] for v in variants + [r for r in (mirrored, fallback) if r] if v["peak_memory_mb"] is not None]
    return {"host_fallback_slowdown": round(lazy["examples_per_s"] / fallback["examples_per_s"], 2) if lazy and fallback else None,
            "mirrored_one_device_cost": round(mirrored["ms_per_step"] / lazy["ms_per_step"], 2) if lazy and mirrored else None,
            "peak_memory_mb": max(peaks, default=None)}


def run_process(process: str, kind: str, deadline: float, fail: str | None, report: Report) -> None:
    """One child; each section it reports goes into the report as it arrives, the rest get the child's fate."""
    sections = PROCESSES[process]["sections"]
    why_not = PROCESSES[process].get("gpu_only") if kind == "smoke" else None
    if why_not or time.time() > deadline:
        for section in sections:
            report.section(section, {"status": "skipped", "reason": why_not or "the time budget was spent before it started"})
        return
    command = [sys.executable, os.path.abspath(__file__), "--child", process, "--deadline", str(deadline)]
    command += ["--smoke"] * (kind == "smoke") + (["--fail", fail] if fail else [])
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                 env={**os.environ, **PROCESSES[process].get("environment", {})})
        overrun = threading.Timer(max(0.0, deadline - time.time()) + 60, child.kill)  # a minute's grace for the section running
        overrun.start()
        reported = set()
        for line in child.stdout:
            if line.startswith("{"):
                record = json.loads(line)
                reported.add(record["section"])
                report.section(record.pop("section"), record)
        overrun.cancel()
        status = child.wait()
        errors.seek(0)
        tail = errors.read()[-3000:]
    for section in (section for section in sections if section not in reported):
        if status < 0 and time.time() > deadline:
            record = {"status": "skipped", "reason": "stopped at the end of the time budget", "stderr": tail}
        else:
            record = {"status": "failed", "error": f"its process ({process}) exited with status {status} before the section ended",
                      "stderr": tail}
        report.section(section, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="gpu_check.json")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (the default without a GPU)")
    parser.add_argument("--budget-minutes", type=float, default=5.0, help="sections not finished by then are recorded as skipped")
    parser.add_argument("--fail", metavar="SECTION", help="make SECTION raise (to see that the others' figures are kept)")
    parser.add_argument("--child", choices=list(PROCESSES), help=argparse.SUPPRESS)  # a child process of this command
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, "smoke" if args.smoke else "full", args.deadline, args.fail)
        return
    header = {"environment": environment()}
    smoke = args.smoke or not header["environment"]["gpus"]
    kind, sizes = ("smoke", SMOKE) if smoke else ("full", FULL)
    devices = 2 if smoke else header["environment"]["gpus"]
    estimate = estimate_seconds(sizes, kind, devices)
    header.update(smoke=smoke, sizes=asdict(sizes), budget_seconds=60 * args.budget_minutes, estimate_seconds=round(estimate))
    print(f"gpu_check: {sum(len(p['sections']) for p in PROCESSES.values())} sections in {len(PROCESSES)} processes on "
          f"{'2 logical CPU devices (smoke)' if smoke else f'{devices} GPU(s)'}; estimated {estimate / 60:.1f} minutes "
          f"(budget {args.budget_minutes:g}: what is not finished by then is recorded as skipped"
          + ("; raise --budget-minutes to run every section" if estimate > 60 * args.budget_minutes else "")
          + f"); figures go to {args.output}", flush=True)
    report = Report(args.output, header)
    deadline = time.time() + 60 * args.budget_minutes
    for process in PROCESSES:
        run_process(process, kind, deadline, args.fail, report)
    failed = [name for name, record in report.content["sections"].items() if record["status"] == "failed"]
    print(f"{args.output}: {report.content['seconds']} s" + (f"; failed: {', '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()
