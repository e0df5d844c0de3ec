"""PNG figures: validation accuracy per epoch of every run, test accuracy per mode, and against labelled reviews (per configuration),
each beside the paired differences between arms that the report's comparisons give."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from workflow.report.runs import FinishedRun, mode_of, source_of  # noqa: E402

COLOURS = {"frozen": "tab:blue", "finetune": "tab:orange", "random": "tab:green"}  # by mode; line styles tell vector sources apart
LINE_STYLES = ("-", "--", "-.", ":")


def colour(arm: str) -> str:
    return COLOURS.get(mode_of(arm), "grey")


def learning_curves(runs: list[FinishedRun], path: str) -> None:
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for run in runs:
        history = run.metrics.history
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


def _differences_axis(axis: plt.Axes, found: list[dict]) -> None:
    """Paired differences A − B at the most labelled reviews: the mean, its 95% t-interval over seeds (thick) and the
    bootstrap over the test set (thin, beside it): the bands to read where the report compares arms."""
    for index, entry in enumerate(found):
        difference = entry["difference"]
        mean = 100 * difference.mean
        axis.scatter([index], [mean], color=colour(entry["a"]), zorder=3)
        if difference.seed_interval:
            low, high = (100 * value for value in difference.seed_interval)
            axis.vlines(index, low, high, color=colour(entry["a"]), linewidth=5, alpha=0.6,
                        label="95% CI over seeds (t)" if index == 0 else None)
        if difference.bootstrap:
            bootstrap = difference.bootstrap
            axis.vlines(index + 0.15, 100 * bootstrap.low, 100 * bootstrap.high, color="black", linewidth=1.2,
                        label=f"95% CI over test {bootstrap.over}, given these models" if index == 0 else None)
        axis.annotate(f"{mean:+.1f}", (index, mean), textcoords="offset points", xytext=(-8, -3), ha="right", fontsize=8)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_xticks(range(len(found)), [entry["comparison"] for entry in found], fontsize=8, rotation=15 if len(found) > 2 else 0)
    axis.set_xlim(-0.6, len(found) - 0.4)
    axis.set_ylabel("difference (points), paired by seed")
    axis.grid(axis="y", alpha=0.3)
    if any(entry["difference"].seed_interval or entry["difference"].bootstrap for entry in found):
        axis.legend(fontsize=7)


def accuracy_per_mode(summary: list[dict], table: list[dict], found: list[dict], path: str) -> None:
    """Bars of the runs with the most labelled reviews (every label, unless the sweep had only budgets); beside them,
    with ``found`` comparisons, the paired differences between the arms (per-arm spreads overlap where a paired
    difference is clear: the difference is what to read)."""
    most = max(entry["labelled_reviews"] for entry in summary)
    summary = [entry for entry in summary if entry["labelled_reviews"] == most]
    table = [row for row in table if row["labelled_reviews"] == most]
    found = [entry for entry in found if entry["labelled"] == most]
    figure, axes = plt.subplots(1, 2 if found else 1, figsize=(11 if found else 6, 4), squeeze=False)
    axis = axes[0, 0]
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
    if found:
        _differences_axis(axes[0, 1], found)
        axes[0, 1].set_title(f"paired differences, {most:,} labelled reviews", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _difference_lines(axis: plt.Axes, found: list[dict], sources: list[str]) -> None:
    """Each comparison's paired difference against labelled reviews, its 95% t-interval over seeds as a band."""
    for comparison in dict.fromkeys(entry["comparison"] for entry in found):
        entries = sorted((entry for entry in found if entry["comparison"] == comparison), key=lambda entry: entry["labelled"])
        first = entries[0]["a"]
        style = LINE_STYLES[sources.index(source_of(first)) % len(LINE_STYLES)]
        axis.plot([entry["labelled"] for entry in entries], [100 * entry["difference"].mean for entry in entries],
                  color=colour(first), linestyle=style, marker="o", label=comparison)
        banded = [entry for entry in entries if entry["difference"].seed_interval]
        if banded:
            axis.fill_between([entry["labelled"] for entry in banded], [100 * entry["difference"].seed_interval[0] for entry in banded],
                              [100 * entry["difference"].seed_interval[1] for entry in banded], color=colour(first), alpha=0.15, linewidth=0)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_ylabel("difference (points; band: 95% t-interval over seeds)")
    axis.legend(fontsize=8)


def accuracy_per_label_budget(budgets: dict, table: list[dict], found: list[dict], path: str) -> None:
    """Test accuracy against labelled reviews (log scale), one line per arm of one configuration (the mean over seeds,
    dots for the seeds); beside it, with ``found`` comparisons, each paired difference against labelled reviews with
    its 95% t-interval over seeds as a band (n-1 degrees of freedom; none with one seed). Per-arm bands would overlap
    where the paired difference is clear, so the bands are the differences'."""
    figure, axes = plt.subplots(1, 2 if found else 1, figsize=(13 if found else 7, 4.5), squeeze=False)
    axis = axes[0, 0]
    sources = sorted({source_of(mode) for mode in budgets["modes"]})
    for mode in budgets["modes"]:
        points = sorted(budgets["accuracy"][mode].items())
        counts = [count for count, _ in points]
        style = LINE_STYLES[sources.index(source_of(mode)) % len(LINE_STYLES)]
        axis.plot(counts, [mean for _, (mean, _) in points], color=colour(mode), linestyle=style, marker="o", label=mode)
        seeds = {count: [row["test_accuracy"] for row in table if row["mode"] == mode and row["labelled_reviews"] == count
                         and row["test_accuracy"] is not None] for count in counts}
        axis.scatter([count for count in counts for _ in seeds[count]], [value for count in counts for value in seeds[count]],
                     color=colour(mode), s=10, alpha=0.5)
    axis.set_ylabel("test accuracy (mean; dots: seeds)")
    axis.legend()
    if found:
        _difference_lines(axes[0, 1], found, sources)
    for axis in axes[0]:
        axis.set_xscale("log")
        axis.set_xticks(budgets["labelled"], [f"{count:,}" for count in budgets["labelled"]])
        axis.minorticks_off()
        axis.set_xlabel("labelled training reviews")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
