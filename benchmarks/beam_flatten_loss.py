"""Reproduction: Beam 2.77's in-process FnApiRunner (multi_processing, 2 workers) loses elements of a Flatten.

Two stages each read 4 tasks (Create -> Reshuffle -> FlatMap) and emit 200,000
elements of 1.3 kB; a Flatten joins them and a count follows. Expected
400,000. ``--layout flatten-outputs`` (what ReadCorpus did before: one read
stage per source, their records flattened) loses about one output chunk
(~8,000 elements) in some runs, silently. ``--layout flatten-tasks`` (the small task
lists flattened, one stage reads them all) counts every element; readers.py
now goes further and creates every task in one ``Create``, with no Flatten. Runs are repeated because the loss is intermittent.

    python benchmarks/beam_flatten_loss.py --layout flatten-outputs --runs 4
    python benchmarks/beam_flatten_loss.py --layout flatten-tasks --runs 4
"""

from __future__ import annotations

import argparse
import os
import tempfile

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

ELEMENTS_PER_TASK = 50_000


def produce(task: tuple[str, int]):
    for index in range(ELEMENTS_PER_TASK):
        yield task, index, b"x" * 1300


def write_count(count: int, path: str) -> None:
    with open(path, "w") as handle:
        handle.write(str(count))


def count_once(layout: str, count_file: str) -> int:
    options = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    with beam.Pipeline(runner=FnApiRunner(), options=options) as pipeline:
        if layout == "flatten-outputs":
            outputs = [pipeline | f"{name} tasks" >> beam.Create([(name, i) for i in range(4)]) | f"{name} spread" >> beam.Reshuffle()
                       | f"{name} read" >> beam.FlatMap(produce) for name in "AB"]
            elements = outputs | beam.Flatten()
        else:
            tasks = [pipeline | f"{name} tasks" >> beam.Create([(name, i) for i in range(4)]) for name in "AB"]
            elements = tasks | beam.Flatten() | "spread" >> beam.Reshuffle() | "read" >> beam.FlatMap(produce)
        _ = elements | beam.combiners.Count.Globally() | beam.Map(write_count, count_file)
    with open(count_file) as handle:
        return int(handle.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=["flatten-outputs", "flatten-tasks"], default="flatten-outputs")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        counts = [count_once(args.layout, os.path.join(scratch, f"count-{run}")) for run in range(args.runs)]
    print(f"{args.layout}: expected {2 * 4 * ELEMENTS_PER_TASK:,} per run, counted {', '.join(f'{count:,}' for count in counts)}")


if __name__ == "__main__":
    main()
