"""The report's tables: one row per run, mean ± std per mode in a fixed mode order."""

from __future__ import annotations

import pytest

from workflow.artifacts import RunLayout
from workflow.report import tables
from workflow.report.runs import FinishedRun


def finished(mode: str, seed: int, accuracy: float, validation: float | None = None, labelled: int = 900) -> FinishedRun:
    metrics = {"run": f"{mode}-seed{seed}", "mode": mode, "seed": seed, "test": {"accuracy": accuracy, "auc": accuracy + 0.05, "loss": 0.3},
               "epochs_run": 4, "best_epoch": 3, "wall_time_s": 10.0 + seed, "train_examples_per_s": 1000.0, "replicas": 1,
               "validation_best_accuracy": validation, "examples": {"train": labelled},
               "config": {"model": {"name": "cnn3", "encoder": "cnn"},
                          "trainer": {"epochs": 20, "early_stopping_patience": 3, "learning_rate": 0.005, "batch_size": 64, "embedding_update": "lazy"}}}
    return FinishedRun(RunLayout(f"/runs/{mode}-seed{seed}"), metrics)


def test_summary_is_mean_and_sample_std_per_mode_in_mode_order():
    runs = [finished("random", 0, 0.80), finished("finetune", 0, 0.88), finished("finetune", 1, 0.90), finished("finetune", 2, 0.86)]
    summary = tables.summary(tables.rows(runs))
    assert [entry["mode"] for entry in summary] == ["finetune", "random"]
    mean, std = summary[0]["test_accuracy"]
    assert mean == pytest.approx(0.88) and std == pytest.approx(0.02)
    assert summary[1]["test_accuracy"] == (pytest.approx(0.80), 0.0) and summary[0]["seeds"] == [0, 1, 2]
    markdown = tables.summary_markdown(summary)
    assert "| finetune | 900 | 3 (0, 1, 2) | 0.8800 ± 0.0200 |" in markdown


def test_csv_has_one_row_per_run(tmp_path):
    table = tables.rows([finished("frozen", 0, 0.79), finished("random", 1, 0.81)])
    tables.write_csv(table, str(tmp_path / "results.csv"))
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0].split(",") == list(tables.COLUMNS) and len(lines) == 3
    assert lines[1].startswith("frozen-seed0,frozen,0,900,0.79,")


def test_every_run_shows_its_validation_test_gap():
    table = tables.rows([finished("finetune", 0, 0.88, validation=0.905), finished("random", 0, 0.80)])
    assert table[0]["validation_test_gap"] == pytest.approx(0.025) and table[1]["validation_test_gap"] is None
    markdown = tables.runs_markdown(table)
    assert "| 0.9050 (+2.5 points) |" in markdown and "| n/a |" in markdown


def test_label_budgets_give_a_table_per_count_and_what_word2vec_adds_at_the_smallest_and_largest():
    runs = [finished(mode, seed, accuracy + 0.01 * seed, labelled=labelled)
            for labelled, accuracies in ((250, {"frozen": 0.70, "finetune": 0.75, "random": 0.60}), (900, {"frozen": 0.80, "finetune": 0.88, "random": 0.87}))
            for mode, accuracy in accuracies.items() for seed in (0, 1)]
    summary = tables.summary(tables.rows(runs))
    assert [(entry["labelled_reviews"], entry["mode"]) for entry in summary][:3] == [(250, "frozen"), (250, "finetune"), (250, "random")]
    budgets = tables.label_budgets(summary)
    assert budgets["labelled"] == [250, 900] and budgets["modes"] == ["frozen", "finetune", "random"]
    assert budgets["finetune_minus_random"] == {250: pytest.approx(15.0), 900: pytest.approx(1.0)}
    markdown = tables.label_budget_markdown(budgets)
    assert "| 250 | 0.7050 ± 0.0071 | 0.7550 ± 0.0071 | 0.6050 ± 0.0071 | +15.0 |" in markdown
    assert "adds +15.0 points of test accuracy with 250 labelled reviews and +1.0 with 900" in markdown


def test_the_report_says_how_each_mode_was_trained():
    markdown = tables.training_markdown([finished("random", 0, 0.8), finished("frozen", 0, 0.79), finished("frozen", 1, 0.8)])
    rows = markdown.splitlines()[2:]
    assert rows[0] == ("| frozen | cnn3 | not trained, lazy update | 20 | after 3 epochs without a better validation accuracy | 0.005 | 64 | "
                       "4 (3), 4 (3) |")
    assert rows[1].startswith("| random | cnn3 | trained from U(-0.05, 0.05), lazy update |")
