"""results.csv (one row per run), the summary per arm and label budget (mean +- std over seeds), and the label-budget table.

An arm is what the report compares: the embedding mode, or the mode and its
vector source (``finetune (glove.6B.100d)``) when the runs come from several.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict

from workflow.report.runs import FinishedRun, mode_of, mode_rank

COLUMNS = ("run", "mode", "vectors", "seed", "labelled_reviews", "test_accuracy", "test_auc", "test_loss", "validation_accuracy", "validation_test_gap", "epochs", "best_epoch",
           "wall_time_s", "train_examples_per_s", "replicas")


def rows(runs: list[FinishedRun]) -> list[dict]:
    table = []
    for run in runs:
        metrics, test = run.metrics, run.metrics["test"] or {}
        validation = metrics.get("validation_best_accuracy")
        gap = None if validation is None or test.get("accuracy") is None else validation - test["accuracy"]
        table.append({
            "run": run.name, "mode": run.arm, "vectors": run.vectors, "seed": run.seed, "labelled_reviews": run.labelled,
            "test_accuracy": test.get("accuracy"), "test_auc": test.get("auc"), "test_loss": test.get("loss"),
            # Selection is on validation: a large positive gap means validation flatters the model.
            "validation_accuracy": validation, "validation_test_gap": gap,
            "epochs": metrics["epochs_run"], "best_epoch": metrics["best_epoch"], "wall_time_s": metrics["wall_time_s"],
            "train_examples_per_s": metrics["train_examples_per_s"], "replicas": metrics["replicas"],
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
    """Per labelled-review count and arm: runs, and mean/std of accuracy, AUC, epochs, wall time, examples/s."""
    groups: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in table:
        groups[row["labelled_reviews"], row["mode"]].append(row)
    result = []
    for labelled, mode in sorted(groups, key=lambda group: (group[0], mode_rank(group[1]), group[1])):
        group = groups[labelled, mode]
        entry = {"mode": mode, "vectors": group[0]["vectors"], "labelled_reviews": labelled, "runs": len(group),
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
    """Test accuracy (mean, std) per labelled-review count and arm, and what initialising from each vector source adds.

    ``{"labelled": [250, ...], "modes": [arm, ...], "accuracy": {arm: {labelled: (mean, std)}},
    "finetune_minus_random": {source: {labelled: points}}}`` (points: 100 x difference of means of the
    source's fine-tuned and random arms).
    """
    labelled = sorted({entry["labelled_reviews"] for entry in summary})
    modes = sorted({entry["mode"] for entry in summary}, key=lambda mode: (mode_rank(mode), mode))
    accuracy = {mode: {entry["labelled_reviews"]: entry["test_accuracy"] for entry in summary if entry["mode"] == mode and entry["test_accuracy"]}
                for mode in modes}
    arms = {(mode_of(entry["mode"]), entry["vectors"]): entry["mode"] for entry in summary}
    gains = {}
    for source in sorted({source for _, source in arms}):
        tuned, untrained = accuracy.get(arms.get(("finetune", source)), {}), accuracy.get(arms.get(("random", source)), {})
        points = {count: 100 * (tuned[count][0] - untrained[count][0]) for count in labelled if count in tuned and count in untrained}
        if points:
            gains[source] = points
    return {"labelled": labelled, "modes": modes, "accuracy": accuracy, "finetune_minus_random": gains}


def label_budget_markdown(budgets: dict) -> str:
    """The table (one row per labelled count, one column per arm) and the sentence it supports, per vector source."""
    modes = budgets["modes"]
    gains = budgets["finetune_minus_random"]
    headers = ["finetune − random (points)"] if len(gains) == 1 else [f"finetune − random, {source} (points)" for source in gains]
    lines = ["| labelled reviews | " + " | ".join([*modes, *headers]) + " |", "|---|" + "---|" * (len(modes) + len(headers))]
    for count in budgets["labelled"]:
        cells = [_pm(budgets["accuracy"][mode].get(count), 4) for mode in modes]
        cells += [f"{points[count]:+.1f}" if count in points else "n/a" for points in gains.values()]
        lines.append(f"| {count:,} | " + " | ".join(cells) + " |")
    for source, points in gains.items():
        if len(points) >= 2:
            fewest, most = min(points), max(points)
            lines.append(f"\n{source} initialisation adds {points[fewest]:+.1f} points of test accuracy with {fewest:,} labelled reviews "
                         f"and {points[most]:+.1f} with {most:,} (fine-tuned minus random initialisation, means over seeds).")
    return "\n".join(lines)


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
        config = group[0].metrics["config"]
        trainer, model = config["trainer"], config["model"]
        patience = trainer["early_stopping_patience"]
        ran = ", ".join(f"{run.metrics['epochs_run']} ({run.metrics['best_epoch']})" for run in group)
        table = TRAINED_TABLE.get(mode_of(mode), mode) + ("" if mode_of(mode) == "frozen" else f", {trainer['embedding_update']} update")
        lines.append(f"| {mode} | {model.get('name', model['encoder'])} | {table} | "
                     f"{trainer['epochs']} | {f'after {patience} epochs without a better validation accuracy' if patience else 'off'} | "
                     f"{trainer['learning_rate']} | {trainer['batch_size']} | {ran} |")
    return "\n".join(lines)


def number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_gap(row: dict) -> str:
    if row["validation_accuracy"] is None:
        return "n/a"
    gap = row["validation_test_gap"]
    return f"{row['validation_accuracy']:.4f} ({'n/a' if gap is None else f'{100 * gap:+.1f} points'})"


def runs_markdown(table: list[dict]) -> str:
    lines = ["| run | mode | seed | labelled reviews | test accuracy | AUC | loss | validation accuracy (gap to test) | epochs (best) | wall time (s) | examples/s | replicas |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        lines.append(
            f"| {row['run']} | {row['mode']} | {row['seed']} | {row['labelled_reviews']:,} | {number(row['test_accuracy'], 4)} | {number(row['test_auc'], 4)} | "
            f"{number(row['test_loss'], 4)} | {_with_gap(row)} | {row['epochs']} ({row['best_epoch']}) | {row['wall_time_s']:.0f} | "
            f"{number(row['train_examples_per_s'], 0)} | {row['replicas']} |"
        )
    return "\n".join(lines)
