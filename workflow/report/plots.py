"""PNG figures: validation accuracy per epoch of every run, test accuracy per mode, and against labelled reviews (per configuration)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from workflow.report import statistics as intervals  # noqa: E402
from workflow.report.runs import FinishedRun, mode_of, source_of  # noqa: E402

COLOURS = {"frozen": "tab:blue", "finetune": "tab:orange", "random": "tab:green"}  # by mode; line styles tell vector sources apart
LINE_STYLES = ("-", "--", "-.", ":")


def colour(arm: str) -> str:
    return COLOURS.get(mode_of(arm), "grey")


def learning_curves(runs: list[FinishedRun], path: str) -> None:
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for run in runs:
        history = run.metrics["history"]
        epochs = [entry["epoch"] for entry in history]
        for axis, key in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
            if history and f"val_{key}" in history[0]:
                axis.plot(epochs, [entry[f"val_{key}"] for entry in history], color=colour(run.mode), marker="o", label=f"{run.name} validation")
            axis.plot(epochs, [entry[key] for entry in history], color=colour(run.mode), linestyle=":", alpha=0.6)
    for axis, title in ((loss_axis, "loss (dotted: train)"), (accuracy_axis, "accuracy (dotted: train)")):
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    accuracy_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def accuracy_per_mode(summary: list[dict], table: list[dict], path: str) -> None:
    """Bars of the runs with the most labelled reviews (every label, unless the sweep had only budgets)."""
    most = max(entry["labelled_reviews"] for entry in summary)
    summary = [entry for entry in summary if entry["labelled_reviews"] == most]
    table = [row for row in table if row["labelled_reviews"] == most]
    figure, axis = plt.subplots(figsize=(6, 4))
    modes = [entry["mode"] for entry in summary]
    for index, entry in enumerate(summary):
        if entry["test_accuracy"] is None:
            continue
        mean, std = entry["test_accuracy"]
        axis.bar(index, mean, yerr=std, color=colour(entry["mode"]), alpha=0.7, capsize=6)
        seeds = [row["test_accuracy"] for row in table if row["mode"] == entry["mode"] and row["test_accuracy"] is not None]
        axis.scatter([index] * len(seeds), seeds, color="black", s=12, zorder=3)
        axis.annotate(f"{mean:.4f}", (index, mean), textcoords="offset points", xytext=(0, 8), ha="center")
    values = [row["test_accuracy"] for row in table if row["test_accuracy"] is not None]
    if values:
        axis.set_ylim(max(0.0, min(values) - 0.05), min(1.0, max(values) + 0.03))
    axis.set_xticks(range(len(modes)), modes)
    axis.set_ylabel("test accuracy (mean ± std; dots: seeds)")
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def accuracy_per_label_budget(budgets: dict, table: list[dict], path: str) -> None:
    """Test accuracy against labelled reviews (log scale), one line per arm of one configuration: the mean over seeds,
    a band for its 95% t-interval (n-1 degrees of freedom; none with one seed), dots for the seeds."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    sources = sorted({source_of(mode) for mode in budgets["modes"]})
    for mode in budgets["modes"]:
        points = sorted(budgets["accuracy"][mode].items())
        counts = [count for count, _ in points]
        style = LINE_STYLES[sources.index(source_of(mode)) % len(LINE_STYLES)]
        axis.plot(counts, [mean for _, (mean, _) in points], color=colour(mode), linestyle=style, marker="o", label=mode)
        seeds = {count: [row["test_accuracy"] for row in table if row["mode"] == mode and row["labelled_reviews"] == count
                         and row["test_accuracy"] is not None] for count in counts}
        banded = [count for count in counts if len(seeds[count]) > 1]
        if banded:
            bands = [intervals.t_interval(np.array(seeds[count])) for count in banded]
            axis.fill_between(banded, [low for low, _ in bands], [high for _, high in bands], color=colour(mode), alpha=0.15, linewidth=0)
        axis.scatter([count for count in counts for _ in seeds[count]], [value for count in counts for value in seeds[count]],
                     color=colour(mode), s=10, alpha=0.5)
    axis.set_xscale("log")
    axis.set_xticks(budgets["labelled"], [f"{count:,}" for count in budgets["labelled"]])
    axis.minorticks_off()
    axis.set_xlabel("labelled training reviews")
    axis.set_ylabel("test accuracy (mean; band: 95% t-interval over seeds)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
