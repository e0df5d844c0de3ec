"""Each run averaged with the paragraph-vector stage's regression: on validation, and on test only once declared.

    wf-paragraph-vectors workdir=runs/imdb paragraph_vectors.seed=15
    python benchmarks/paragraph_vectors.py --paragraph-vectors runs/imdb/paragraph_vectors/pv-dbow-seed15 \\
        --runs runs/imdb/runs/<run>-seed1{5,6,7,8,9} [--test docs/results.md]

Each run of ``--runs`` is scored alone and averaged with the paragraph
vectors' probabilities (equal weights, ``--combine mean``; the same
paragraph-vector model serves every run). Several ``--paragraph-vectors``
folders (models of other seeds) are averaged first, into one probability. For each split it prints every
run alone and averaged, the averages' mean ± std over the runs with the 95%
t-interval of their mean, the film-clustered bootstrap of that mean (test
sampling, given these trained models), and the paired difference averaged −
alone over the runs (t-interval; paired bootstrap). The seed interval
covers the networks' seeds, not the paragraph vectors' (``paragraph_vectors.seed``).

A run's validation figure is at the epoch chosen on validation, so both
lean optimistic there. Test predictions are read only with ``--test <file>``:
a committed declaration that names every run, the paragraph vectors' name
(``pv-dbow-seed15``, from the seed it was made with) and ``--combine mean``
(workflow/report/combination.py).
"""

from __future__ import annotations

import argparse

import numpy as np

from workflow.errors import ContractError
from workflow.paragraphs.output import ParagraphOutput
from workflow.report import combination, statistics
from workflow.report.runs import FinishedRun, find_runs
from workflow.training import predictions


def scored(split: str, runs: list[FinishedRun], models: list[ParagraphOutput]) -> list[str]:
    """The lines for ``split``: each run alone and averaged, then the summary over the runs."""
    found = combination.stored([*runs, *models], split)
    run_predictions, vector_predictions = found[:len(runs)], combination.combine(found[len(runs):], "mean")
    alone = [float(p.correct.mean()) for p in run_predictions]
    combined = [combination.combine([p, vector_predictions], "mean") for p in run_predictions]
    accuracy = [float(p.correct.mean()) for p in combined]
    lines = [f"{split}:", *(f"  {model.name} alone: {p.correct.mean():.4f}" for model, p in zip(models, found[len(runs):]))]
    if len(models) > 1:
        lines.append(f"  the {len(models)} paragraph-vector models averaged: {vector_predictions.correct.mean():.4f}")
    lines += [f"  {run.name}: alone {a:.4f}, averaged {b:.4f} ({100 * (b - a):+.2f} points)" for run, a, b in zip(runs, alone, accuracy)]
    if len(runs) > 1:
        low, high = statistics.t_interval(np.array(accuracy))
        lines.append(f"  averaged: {np.mean(accuracy):.4f} ± {np.std(accuracy, ddof=1):.4f} over {len(runs)} runs, seeds "
                     f"{[run.seed for run in runs]} (95% t-interval of the mean {low:.4f} to {high:.4f})")
    films = predictions.common_films(found)
    interval = statistics.bootstrap_interval(np.mean([p.correct for p in combined], axis=0), films)
    lines.append(f"  bootstrap of the averages' mean over {interval.units:,} {split} {interval.over} (test sampling, given these "
                 f"trained models): {interval.low:.4f} to {interval.high:.4f}")
    paired = statistics.paired_difference(dict(enumerate(accuracy)), dict(enumerate(alone)), dict(enumerate(p.correct for p in combined)),
                                          dict(enumerate(p.correct for p in run_predictions)), films)  # paired by run
    line = f"  averaged − alone: {100 * paired.mean:+.2f} points"
    if paired.seed_interval:
        line += f", 95% t-interval over the runs {100 * paired.seed_interval[0]:+.2f} to {100 * paired.seed_interval[1]:+.2f}"
    if paired.bootstrap:
        line += f"; paired bootstrap over {split} {paired.bootstrap.over} {100 * paired.bootstrap.low:+.2f} to {100 * paired.bootstrap.high:+.2f}"
    return lines + [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraph-vectors", nargs="+", required=True, metavar="FOLDER",
                        help="the stage's folder, <workdir>/paragraph_vectors/pv-dbow-seed<seed>; several are averaged first")
    parser.add_argument("--runs", nargs="+", required=True, help="run folders, or folders holding them")
    parser.add_argument("--test", metavar="DECLARATION", help="score test too: the committed file that declared this combination")
    arguments = parser.parse_args()
    runs = find_runs(arguments.runs)
    if not runs:
        raise SystemExit(f"no finished run under {', '.join(arguments.runs)}")
    models = [ParagraphOutput(folder) for folder in arguments.paragraph_vectors]
    try:
        for model in models:
            print(f"{model.name} ({model.root}): " + ", ".join(f"{key} {value}" for key, value in model.settings.items()))
        declared = combination.check_declaration(arguments.test, [*runs, *models], "mean") if arguments.test else None
        lines = scored("validation", runs, models)
        if declared:
            lines += [f"declared in {declared}", *scored("test", runs, models)]
    except combination.NotDeclared as error:
        raise SystemExit(f"test predictions not read: {error}") from None
    except (ValueError, ContractError) as error:
        raise SystemExit(str(error)) from None
    print("\n".join(lines))


if __name__ == "__main__":
    main()
