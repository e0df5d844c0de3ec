"""Test accuracy of two configurations, paired by seed, with the report's intervals: A − B.

The report compares modes within a configuration; this compares two
configurations (for example two values of ``embedding.scale``) run with the
same seeds on the same splits. Each side is a list of run folders or folders
holding them (as ``report.runs``)::

    python benchmarks/compare_configurations.py --a runs/imdb/runs/finetune-cnn3-word2vec-rownorm-seed* \\
        --b runs/imdb/runs/finetune-cnn3-word2vec-seed*

It prints each side's mean ± std, the per-seed differences, the 95% t-interval
over seeds, the paired bootstrap interval over the test set (over films when
every run's predictions name them, over reviews otherwise) and, when the seed
interval holds 0, how many seeds a difference of the observed size needs,
with its range.
"""

from __future__ import annotations

import argparse

import numpy as np

from workflow.report.runs import FinishedRun, find_runs
from workflow.report.statistics import paired_difference
from workflow.training import predictions
from workflow.training.predictions import Predictions


def outcomes(runs: list[FinishedRun]) -> tuple[dict[int, float], dict[int, Predictions]]:
    """{seed: test accuracy}, {seed: its test predictions, in doc-id order} (runs that stored them)."""
    accuracy, stored = {}, {}
    for run in runs:
        if run.metrics.test is None:
            raise SystemExit(f"{run.root}: its test split was not scored (trainer.score_test=false, or no test split)")
        accuracy[run.seed] = run.metrics.test.accuracy
        found = run.output.predictions("test")
        if found is not None:
            stored[run.seed] = found
    return accuracy, stored


def describe(name: str, accuracy: dict[int, float]) -> str:
    values = np.array(list(accuracy.values()))
    spread = f" ± {values.std(ddof=1):.4f}" if len(values) > 1 else ""
    return f"{name}: {values.mean():.4f}{spread} over seeds {sorted(accuracy)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", nargs="+", required=True)
    parser.add_argument("--b", nargs="+", required=True)
    arguments = parser.parse_args()
    (accuracy_a, stored_a), (accuracy_b, stored_b) = outcomes(find_runs(arguments.a)), outcomes(find_runs(arguments.b))
    print(describe("A", accuracy_a))
    print(describe("B", accuracy_b))
    paired = [seed for seed in stored_a if seed in stored_b and np.array_equal(stored_a[seed].doc_ids, stored_b[seed].doc_ids)]
    found = paired_difference(accuracy_a, accuracy_b, {seed: stored_a[seed].correct for seed in paired},
                              {seed: stored_b[seed].correct for seed in paired},
                              predictions.common_films([stored[seed] for seed in paired for stored in (stored_a, stored_b)]))
    if found is None:
        raise SystemExit("no seed was run on both sides")
    print(f"A − B per seed {dict(zip(found.seeds, (round(d, 4) for d in found.differences)))}: mean {found.mean:+.4f}")
    if found.seed_interval:
        low, high = found.seed_interval
        needed = found.seeds_needed
        about = f" (about {needed.estimate} needed, {needed.low} to {needed.high} within the std's 95% interval)" if needed else ""
        verdict = "excludes 0" if found.detected else f"holds 0: not detectable with {len(found.seeds)} seeds{about}"
        print(f"  95% t-interval over seeds: {low:+.4f} to {high:+.4f} ({verdict})")
    if found.bootstrap:
        bootstrap = found.bootstrap
        print(f"  95% paired bootstrap over {bootstrap.units:,} test {bootstrap.over} (test sampling, given these trained models): "
              f"{bootstrap.low:+.4f} to {bootstrap.high:+.4f}")


if __name__ == "__main__":
    main()
