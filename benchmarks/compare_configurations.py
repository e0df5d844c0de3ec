"""Test accuracy of two configurations, paired by seed, with the report's intervals: A − B.

The report compares modes within a configuration; this compares two
configurations (for example two values of ``embedding.scale``) run with the
same seeds on the same splits. Each side is a list of run folders or folders
holding them (as ``report.runs``)::

    python benchmarks/compare_configurations.py --a runs/imdb/runs/finetune-cnn3-word2vec-rownorm-seed* \\
        --b runs/imdb/runs/finetune-cnn3-word2vec-seed*

It prints each side's mean ± std, the per-seed differences, the 95% t-interval
over seeds, the paired bootstrap interval over test reviews and, when the
seed interval holds 0, how many seeds a difference of the observed size needs.
"""

from __future__ import annotations

import argparse

import numpy as np

from workflow.report.runs import FinishedRun, find_runs
from workflow.report.statistics import paired_difference
from workflow.training import predictions


def outcomes(runs: list[FinishedRun]) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """{seed: test accuracy}, {seed: correct [reviews] in doc-id order}."""
    accuracy, correct = {}, {}
    for run in runs:
        accuracy[run.seed] = run.metrics["test"]["accuracy"]
        stored = predictions.read(run.layout)
        if stored is not None:
            correct[run.seed] = stored[1]
    return accuracy, correct


def describe(name: str, accuracy: dict[int, float]) -> str:
    values = np.array(list(accuracy.values()))
    spread = f" ± {values.std(ddof=1):.4f}" if len(values) > 1 else ""
    return f"{name}: {values.mean():.4f}{spread} over seeds {sorted(accuracy)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", nargs="+", required=True)
    parser.add_argument("--b", nargs="+", required=True)
    arguments = parser.parse_args()
    (accuracy_a, correct_a), (accuracy_b, correct_b) = outcomes(find_runs(arguments.a)), outcomes(find_runs(arguments.b))
    print(describe("A", accuracy_a))
    print(describe("B", accuracy_b))
    found = paired_difference(accuracy_a, accuracy_b, correct_a, correct_b)
    if found is None:
        raise SystemExit("no seed was run on both sides")
    print(f"A − B per seed {dict(zip(found.seeds, (round(d, 4) for d in found.differences)))}: mean {found.mean:+.4f}")
    if found.seed_interval:
        low, high = found.seed_interval
        verdict = "excludes 0" if low > 0 or high < 0 else f"holds 0: not detectable with {len(found.seeds)} seeds (about {found.seeds_needed} needed)"
        print(f"  95% t-interval over seeds: {low:+.4f} to {high:+.4f} ({verdict})")
    if found.bootstrap_interval:
        print(f"  95% paired bootstrap over test reviews: {found.bootstrap_interval[0]:+.4f} to {found.bootstrap_interval[1]:+.4f}")


if __name__ == "__main__":
    main()
