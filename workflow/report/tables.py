"""results.csv (one row per run) and the mode summary (mean +- std over seeds)."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict

from workflow.report.runs import FinishedRun, mode_rank

COLUMNS = ("run", "mode", "seed", "test_accuracy", "test_auc", "test_loss", "validation_accuracy", "validation_test_gap", "epochs", "best_epoch",
           "wall_time_s", "train_examples_per_s", "replicas")


def rows(runs: list[FinishedRun]) -> list[dict]:
    table = []
    for run in runs:
        metrics, test = run.metrics, run.metrics["test"] or {}
        validation = metrics.get("validation_best_accuracy")
        gap = None if validation is None or test.get("accuracy") is None else validation - test["accuracy"]
        table.append({
            "run": run.name, "mode": run.mode, "seed": run.seed,
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
    """Per mode: runs, and mean/std of accuracy, AUC, epochs, wall time, examples/s."""
    by_mode: dict[str, list[dict]] = defaultdict(list)
    for row in table:
        by_mode[row["mode"]].append(row)
    ordered = sorted(by_mode, key=lambda mode: (mode_rank(mode), mode))
    result = []
    for mode in ordered:
        group = by_mode[mode]
        entry = {"mode": mode, "runs": len(group), "seeds": sorted(row["seed"] for row in group)}
        for key in ("test_accuracy", "test_auc", "epochs", "wall_time_s", "train_examples_per_s"):
            values = [row[key] for row in group if row[key] is not None]
            entry[key] = mean_std(values) if values else None
        result.append(entry)
    return result


def _pm(pair: tuple[float, float] | None, digits: int) -> str:
    return "n/a" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def summary_markdown(modes: list[dict]) -> str:
    lines = ["| mode | runs (seeds) | test accuracy | test AUC | epochs | wall time (s) | examples/s |", "|---|---|---|---|---|---|---|"]
    for entry in modes:
        lines.append(
            f"| {entry['mode']} | {entry['runs']} ({', '.join(map(str, entry['seeds']))}) | {_pm(entry['test_accuracy'], 4)} | "
            f"{_pm(entry['test_auc'], 4)} | {_pm(entry['epochs'], 1)} | {_pm(entry['wall_time_s'], 0)} | {_pm(entry['train_examples_per_s'], 0)} |"
        )
    return "\n".join(lines)


def number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_gap(row: dict) -> str:
    if row["validation_accuracy"] is None:
        return "n/a"
    gap = row["validation_test_gap"]
    return f"{row['validation_accuracy']:.4f} ({'n/a' if gap is None else f'{100 * gap:+.1f} points'})"


def runs_markdown(table: list[dict]) -> str:
    lines = ["| run | mode | seed | test accuracy | AUC | loss | validation accuracy (gap to test) | epochs (best) | wall time (s) | examples/s | replicas |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        lines.append(
            f"| {row['run']} | {row['mode']} | {row['seed']} | {number(row['test_accuracy'], 4)} | {number(row['test_auc'], 4)} | "
            f"{number(row['test_loss'], 4)} | {_with_gap(row)} | {row['epochs']} ({row['best_epoch']}) | {row['wall_time_s']:.0f} | "
            f"{number(row['train_examples_per_s'], 0)} | {row['replicas']} |"
        )
    return "\n".join(lines)
