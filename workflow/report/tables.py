"""results.csv (one row per run), the summary per configuration, arm and label budget (mean +- std over seeds),
the label-budget table and the comparisons between modes with their intervals.

An arm is what the report compares: the embedding mode, or the mode and its
vector source (``finetune (glove.6B.100d)``) when the runs come from several.
A configuration (workflow/report/runs.py) is everything else the runs'
cache keys hold; rows never mix configurations.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from dataclasses import asdict

import numpy as np

from workflow.report import statistics as intervals
from workflow.report.runs import Configuration, FinishedRun, mode_of, mode_rank
from workflow.training import predictions
from workflow.training.output import Score
from workflow.training.predictions import Predictions

COLUMNS = ("run", "configuration", "mode", "vectors", "seed", "labelled_reviews", "test_accuracy", "test_auc", "test_loss", "selection",
           "validation_accuracy", "validation_test_gap", "epochs", "best_epoch", "wall_time_s", "train_examples_per_s", "replicas")
NO_VALIDATION = "no validation: the last epoch is tested"
BEST_VALIDATION = "the best validation epoch is tested"
COMPARISONS = (("finetune", "random"), ("frozen", "random"))  # what initialising from pretrained vectors adds, trained or not
SAME_LABELS = ("The labelled reviews of a budget are the same for every seed (the lowest hashes of their ids), so the seed "
               "interval covers initialisation and batch order, not which reviews were labelled.")


def scores(test: Score | None) -> dict:
    """A run's test accuracy, AUC and loss as table cells (None: not scored)."""
    return {"test_accuracy": None if test is None else test.accuracy, "test_auc": None if test is None else test.auc,
            "test_loss": None if test is None else test.loss}


def rows(runs: list[FinishedRun]) -> list[dict]:
    """One row per run. Without a validation split there is no validation accuracy (what such a run once recorded
    as its best "validation" accuracy was a training accuracy) and no best epoch: its last epoch was tested."""
    table = []
    for run in runs:
        metrics, test = run.metrics, run.metrics.test
        validation = metrics.validation_best_accuracy if run.has_validation else None
        gap = None if validation is None or test is None else validation - test.accuracy
        table.append({
            "run": run.name, "configuration": run.configuration, "mode": run.arm, "vectors": run.vectors, "seed": run.seed,
            "labelled_reviews": run.labelled, **scores(test),
            "selection": BEST_VALIDATION if run.has_validation else NO_VALIDATION,
            # Selection is on validation: a large positive gap means validation flatters the model.
            "validation_accuracy": validation, "validation_test_gap": gap,
            "epochs": metrics.epochs_run, "best_epoch": metrics.best_epoch if run.has_validation else None, "wall_time_s": metrics.wall_time_s,
            "train_examples_per_s": metrics.train_examples_per_s, "replicas": metrics.replicas,
        })
    return table


def write_csv(table: list[dict], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summary(table: list[dict]) -> list[dict]:
    """Per configuration, labelled-review count and arm: runs, and mean/std of accuracy, AUC, epochs, wall time, examples/s."""
    groups: dict[tuple[int, int, str], list[dict]] = defaultdict(list)
    for row in table:
        groups[row["configuration"], row["labelled_reviews"], row["mode"]].append(row)
    result = []
    for configuration, labelled, mode in sorted(groups, key=lambda group: (group[0], group[1], mode_rank(group[2]), group[2])):
        group = groups[configuration, labelled, mode]
        entry = {"configuration": configuration, "mode": mode, "vectors": group[0]["vectors"], "labelled_reviews": labelled, "runs": len(group),
                 "seeds": sorted(row["seed"] for row in group)}
        for key in ("test_accuracy", "test_auc", "epochs", "wall_time_s", "train_examples_per_s"):
            values = [row[key] for row in group if row[key] is not None]
            entry[key] = mean_std(values) if values else None
        result.append(entry)
    return result


def _pm(pair: tuple[float, float] | None, digits: int) -> str:
    return "n/a" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def summary_markdown(modes: list[dict]) -> str:
    lines = ["| mode | labelled reviews | runs (seeds) | test accuracy | test AUC | epochs | wall time (s) | examples/s |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in modes:
        lines.append(
            f"| {entry['mode']} | {entry['labelled_reviews']:,} | {entry['runs']} ({', '.join(map(str, entry['seeds']))}) | {_pm(entry['test_accuracy'], 4)} | "
            f"{_pm(entry['test_auc'], 4)} | {_pm(entry['epochs'], 1)} | {_pm(entry['wall_time_s'], 0)} | {_pm(entry['train_examples_per_s'], 0)} |"
        )
    return "\n".join(lines)


def label_budgets(summary: list[dict]) -> dict:
    """Test accuracy (mean, std) per labelled-review count and arm, over one configuration's summary entries.

    ``{"labelled": [250, ...], "modes": [arm, ...], "accuracy": {arm: {labelled: (mean, std)}}}``.
    """
    labelled = sorted({entry["labelled_reviews"] for entry in summary})
    modes = sorted({entry["mode"] for entry in summary}, key=lambda mode: (mode_rank(mode), mode))
    accuracy = {mode: {entry["labelled_reviews"]: entry["test_accuracy"] for entry in summary if entry["mode"] == mode and entry["test_accuracy"]}
                for mode in modes}
    return {"labelled": labelled, "modes": modes, "accuracy": accuracy}


def label_budget_markdown(budgets: dict) -> str:
    """The table: one row per labelled count, one column per arm (mean ± std over seeds)."""
    modes = budgets["modes"]
    lines = ["| labelled reviews | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for count in budgets["labelled"]:
        lines.append(f"| {count:,} | " + " | ".join(_pm(budgets["accuracy"][mode].get(count), 4) for mode in modes) + " |")
    return "\n".join(lines)


def comparisons(runs: list[FinishedRun], outcomes: dict[str, Predictions]) -> list[dict]:
    """finetune − random and frozen − random per labelled count and vector source, over one configuration's runs.

    ``outcomes``: run folder -> its test predictions (runs without are absent;
    the bootstrap needs both runs of every seed, over the same reviews, and
    resamples films when every one of those runs names them). Each entry:
    ``{"labelled", "comparison", "a", "b", "difference": statistics.PairedDifference}``.
    """
    by_arm = scored_arms(runs)
    found = []
    for labelled, source in sorted({(labelled, source) for labelled, _, source in by_arm}):
        for first, second in COMPARISONS:
            a, b = by_arm.get((labelled, first, source)), by_arm.get((labelled, second, source))
            if not a or not b:
                continue
            difference = paired(a, b, outcomes)
            if difference is not None:
                arm_a, arm_b = next(iter(a.values())).arm, next(iter(b.values())).arm
                found.append({"labelled": labelled, "comparison": f"{arm_a} − {arm_b}", "a": arm_a, "b": arm_b, "difference": difference})
    return found


def scored_arms(runs: list[FinishedRun]) -> dict[tuple[int, str, str], dict[int, FinishedRun]]:
    """The runs that scored test, by (labelled reviews, mode, vector source), then by seed."""
    by_arm: dict[tuple[int, str, str], dict[int, FinishedRun]] = defaultdict(dict)
    for run in runs:
        if run.metrics.test:
            by_arm[run.labelled, run.mode, run.vectors][run.seed] = run
    return by_arm


def paired(a: dict[int, FinishedRun], b: dict[int, FinishedRun], outcomes: dict[str, Predictions]) -> intervals.PairedDifference | None:
    """A − B over the seeds both ran (``{seed: run}`` each), with the bootstrap over the test predictions both stored
    for the same reviews (over films when every one of them names them); None when no seed is shared."""
    both = [seed for seed in a if seed in b and a[seed].root in outcomes and b[seed].root in outcomes
            and np.array_equal(outcomes[a[seed].root].doc_ids, outcomes[b[seed].root].doc_ids)]
    films = predictions.common_films([outcomes[arm[seed].root] for seed in both for arm in (a, b)])
    return intervals.paired_difference(
        {seed: run.metrics.test.accuracy for seed, run in a.items()}, {seed: run.metrics.test.accuracy for seed, run in b.items()},
        {seed: outcomes[a[seed].root].correct for seed in both}, {seed: outcomes[b[seed].root].correct for seed in both}, films)


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def _interval(pair: tuple[float, float] | None) -> str:
    """A − B's interval, signed: ``-1.2 to +1.8``."""
    return "n/a" if pair is None else f"{_points(pair[0])} to {_points(pair[1])}"


def _magnitudes(pair: tuple[float, float], sign: int) -> str:
    """The interval of a gain (``sign`` 1) or a cost (-1) in points, in the direction the sentence reads: ``6.0 to 10.2``."""
    low, high = sorted(100 * sign * value for value in pair)
    return f"{low:.1f} to {high:.1f}"


def _bootstrap_cell(bootstrap: intervals.BootstrapInterval | None) -> str:
    return "n/a" if bootstrap is None else f"{_interval((bootstrap.low, bootstrap.high))} ({bootstrap.units:,} {bootstrap.over})"


def _seeds_cell(needed: intervals.SeedsNeeded | None) -> str:
    return "n/a" if needed is None else f"{needed.estimate:,} ({needed.low:,} to {needed.high:,})"


def _test_sampling(bootstrap: intervals.BootstrapInterval, sign: int | None) -> str:
    """The bootstrap, said with what it covers; as magnitudes in the sentence's direction, or signed (``sign`` None)."""
    values = (bootstrap.low, bootstrap.high)
    shown = _interval(values) if sign is None else _magnitudes(values, sign)
    return f"over test sampling, given these trained models, {shown} by a bootstrap over {bootstrap.units:,} test {bootstrap.over}"


def claim(entry: dict) -> str:
    """The sentence a comparison supports, gains and losses in words: a difference only when its seed interval excludes 0."""
    difference, labelled, a, b = entry["difference"], entry["labelled"], entry["a"], entry["b"]
    n, bootstrap = len(difference.seeds), difference.bootstrap
    size, sign = f"{100 * abs(difference.mean):.1f}", 1 if difference.mean >= 0 else -1
    if difference.detected:
        verb = f"gains {size} points over" if sign > 0 else f"costs {size} points against"
        beside = f"; {_test_sampling(bootstrap, sign)}" if bootstrap else ""
        return (f"{a} {verb} {b} with {labelled:,} labelled reviews "
                f"(95% CI {_magnitudes(difference.seed_interval, sign)} over {n} seeds{beside}).")
    observed = "the same accuracy" if difference.mean == 0 else f"{size} points {'higher' if sign > 0 else 'lower'}"
    if n == 1:
        only = (f"the only interval is {_test_sampling(bootstrap, None)} ({entry['comparison']}, points), and it leaves seed "
                "noise out" if bootstrap else "there is no interval at all (the runs stored no test predictions)")
        return f"{a} against {b} with {labelled:,} labelled reviews: {observed} on 1 seed; with one seed {only}: no claim."
    beside = f"; {_test_sampling(bootstrap, None)}" if bootstrap else ""
    needed = difference.seeds_needed
    more = (f"; about {needed.estimate:,} seeds would detect a difference of this size with power 0.8 (alpha 0.05), anywhere "
            f"from {needed.low:,} to {needed.high:,}: the paired standard deviation ({100 * difference.std:.2f} points) comes from "
            f"{n} seeds") if needed else ""
    return (f"{a} against {b} with {labelled:,} labelled reviews: {observed} on average over {n} seeds, no difference detectable "
            f"(95% CI of {entry['comparison']}: {_interval(difference.seed_interval)} points{beside}){more}.")


def bootstrap_note(found: list[dict]) -> str:
    """Which bootstrap the comparisons used, and what it covers."""
    used = {entry["difference"].bootstrap.over for entry in found if entry["difference"].bootstrap}
    if not used:
        return "No run stored its test predictions, so there is no bootstrap over the test set."
    parts = []
    if intervals.FILMS in used:
        parts.append("resamples whole test films (the film of each review comes from the corpus: aclImdb's url files), "
                     "because reviews of one film are correlated")
    if intervals.REVIEWS in used:
        parts.append("resamples test reviews where the predictions name no film (another corpus, or runs from before films "
                     "were recorded; on a corpus whose reviews come in films this understates the error)")
    return ("The bootstrap " + "; it ".join(parts) + ". It covers test sampling, given these trained models: which reviews "
            "happened to be in the test set, not how training would vary.")


def comparisons_markdown(found: list[dict], between: str = "modes") -> str:
    """The comparisons as a table, then one sentence each, then what each interval covers and what none does; ``between``:
    what a pair's two runs differ in (``modes``, or ``configurations``)."""
    lines = ["| labelled reviews | comparison | seeds | A − B (points) | 95% CI over seeds (t) | "
             "95% CI over test sampling, given these models (bootstrap) | seeds for power 0.8 (range) |",
             "|---|---|---|---|---|---|---|"]
    for entry in found:
        difference = entry["difference"]
        lines.append(f"| {entry['labelled']:,} | {entry['comparison']} | {len(difference.seeds)} | {_points(difference.mean)} | "
                     f"{_interval(difference.seed_interval)} | {_bootstrap_cell(difference.bootstrap)} | {_seeds_cell(difference.seeds_needed)} |")
    lines += ["", *[f"* {claim(entry)}" for entry in found], "",
              f"Differences are paired by seed (one seed: the same initialisation draws and batch order in both {between}). The "
              "t-interval over seeds has n-1 degrees of freedom, covers training randomness on this test set and gates each "
              "sentence. " + bootstrap_note(found) + " The seeds for power 0.8 assume the observed difference is the true one; "
              "their range comes from the 95% interval of the paired standard deviation, which a few seeds pin down only "
              "loosely. " + SAME_LABELS]
    return "\n".join(lines)


def comparisons_json(found: list[dict]) -> list[dict]:
    return [{**entry, "difference": asdict(entry["difference"])} for entry in found]


ROW_SCALES = {"as_trained": "at their trained norms", "row": "rescaled to the random row norm (each)",
              "table": "rescaled to the random row norm (one factor for the table)"}
TRAINED_TABLE = {"frozen": "not trained", "finetune": "trained from the pretrained vectors", "random": "trained from U(-0.05, 0.05)"}


def training_markdown(runs: list[FinishedRun]) -> str:
    """How each arm was trained, from its runs' own configs: model, table, epoch budget, early stopping, optimizer."""
    lines = ["| mode | model | Embedding table | epochs (at most) | early stopping | learning rate | batch | epochs run (best) |",
             "|---|---|---|---|---|---|---|---|"]
    by_mode: dict[str, list[FinishedRun]] = defaultdict(list)
    for run in runs:
        by_mode[run.arm].append(run)
    for mode in sorted(by_mode, key=lambda mode: (mode_rank(mode), mode)):
        group = by_mode[mode]
        config = group[0].metrics.config
        trainer, model = config["trainer"], config["model"]
        patience = trainer["early_stopping_patience"]
        ran = ", ".join(f"{run.metrics.epochs_run} ({run.metrics.best_epoch if run.has_validation else 'last'})" for run in group)
        table = TRAINED_TABLE.get(mode_of(mode), mode) + ("" if mode_of(mode) == "frozen" else f", {trainer['embedding_update']} update")
        if mode_of(mode) != "random":
            table += f", rows {ROW_SCALES[group[0].row_scale.value]}"
        stopping = (f"off: {NO_VALIDATION}" if not group[0].has_validation
                    else f"after {patience} epochs without a better validation accuracy" if patience else "off")
        lines.append(f"| {mode} | {model.get('name', model['encoder'])} | {table} | "
                     f"{trainer['epochs']} | {stopping} | {trainer['learning_rate']} | {trainer['batch_size']} | {ran} |")
    return "\n".join(lines)


def number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_gap(row: dict) -> str:
    if row["selection"] == NO_VALIDATION:
        return NO_VALIDATION
    if row["validation_accuracy"] is None:
        return "n/a"
    gap = row["validation_test_gap"]
    return f"{row['validation_accuracy']:.4f} ({'n/a' if gap is None else f'{100 * gap:+.1f} points'})"


def runs_markdown(table: list[dict]) -> str:
    """Every run; a configuration column when the runs come from several."""
    several = len({row["configuration"] for row in table}) > 1
    lines = ["| run | " + ("configuration | " if several else "") + "mode | seed | labelled reviews | test accuracy | AUC | loss | "
             "validation accuracy (gap to test) | epochs (best) | wall time (s) | examples/s | replicas |",
             "|---|" + ("---|" if several else "") + "---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        best = "last" if row["selection"] == NO_VALIDATION else row["best_epoch"]
        lines.append(
            f"| {row['run']} | " + (f"{row['configuration']} | " if several else "") + f"{row['mode']} | {row['seed']} | {row['labelled_reviews']:,} | "
            f"{number(row['test_accuracy'], 4)} | {number(row['test_auc'], 4)} | {number(row['test_loss'], 4)} | {_with_gap(row)} | "
            f"{row['epochs']} ({best}) | {row['wall_time_s']:.0f} | {number(row['train_examples_per_s'], 0)} | {row['replicas']} |"
        )
    return "\n".join(lines)


def _shown(value: object) -> str:
    """A heading value; a digest shortened to 12 characters."""
    text = str(value)
    return text[:12] + "…" if isinstance(value, str) and len(text) > 40 else text


def configuration_heading(configuration: Configuration) -> str:
    """``configuration 2: config.model.encoder=pooling, config.model.name=pooling``: what sets it apart from the others."""
    values = ", ".join(f"`{path}={_shown(value)}`" for path, value in configuration.heading.items())
    return f"Configuration {configuration.number}" + (f": {values}" if values else "")
