"""Score a combination of finished runs on validation; on test only with the declaration that named it beforehand.

    python benchmarks/score_combination.py --runs runs/imdb/runs/finetune-cnn3-word2vec-rownorm-seed{0,1,2} --combine mean
    python benchmarks/score_combination.py --runs ... --combine mean --test docs/results.md

``--runs``: run folders, or folders holding them (as ``report.runs``).
``--combine``: ``mean`` averages the runs' probabilities; ``vote`` takes the
majority of their decisions (a tie: the mean decides). It prints each run's
validation accuracy, the combination's, with its 95% bootstrap interval (over
validation films where the runs name them, else over reviews: test sampling,
given these trained models), and its paired difference from the run that is
best on validation. Test predictions are read only with ``--test <file>``: a
declaration, committed when it is in a git work tree, that names every run
and the ``--combine`` option; the tool refuses anything else
(workflow/report/combination.py).
"""

from __future__ import annotations

import argparse

from workflow.report import combination
from workflow.report.runs import FinishedRun, find_runs
from workflow.report.statistics import BootstrapInterval


def _interval(interval: BootstrapInterval, split: str) -> str:
    return f"95% CI {interval.low:.4f} to {interval.high:.4f}, bootstrap over {interval.units:,} {split} {interval.over}"


def _gain(interval: BootstrapInterval, split: str) -> str:
    return f"95% CI {100 * interval.low:+.2f} to {100 * interval.high:+.2f}, paired bootstrap over {interval.units:,} {split} {interval.over}"


def report(split: str, runs: list[FinishedRun], found: combination.Score, how: str) -> list[str]:
    lines = [f"{split}:"]
    lines += [f"  {run.name}: {accuracy:.4f}" for run, accuracy in zip(runs, found.single)]
    best = runs[found.best].name
    lines += [f"  {how} of {len(runs)} runs: {found.accuracy:.4f} ({_interval(found.interval, split)})",
              f"  against {best} (best on validation): {100 * found.gain:+.2f} points ({_gain(found.gain_interval, split)})"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="run folders, or folders holding them")
    parser.add_argument("--combine", choices=combination.COMBINATIONS, default="mean")
    parser.add_argument("--test", metavar="DECLARATION", help="score test too: the committed file that declared this combination")
    arguments = parser.parse_args()
    runs = find_runs(arguments.runs)
    if not runs:
        raise SystemExit(f"no finished run under {', '.join(arguments.runs)}")
    declared = None
    if arguments.test:
        try:
            declared = combination.check_declaration(arguments.test, runs, arguments.combine)
        except combination.NotDeclared as error:
            raise SystemExit(f"test predictions not read: {error}") from None
    try:
        validation = combination.stored(runs, "validation")
        best = combination.best_on_validation(validation)
        lines = report("validation", runs, combination.score(validation, arguments.combine, best), arguments.combine)
        if declared:
            lines += [f"declared in {declared}"]
            lines += report("test", runs, combination.score(combination.stored(runs, "test"), arguments.combine, best), arguments.combine)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    print("\n".join(lines))


if __name__ == "__main__":
    main()
