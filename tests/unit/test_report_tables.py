"""The report's tables: one row per run, mean ± std per arm (mode, and vector source beside others) in a fixed mode order."""

from __future__ import annotations

import json
import os

import pytest

from workflow.artifacts import RunLayout
from workflow.report import tables
from workflow.report.runs import FinishedRun, find_runs


def finished(mode: str, seed: int, accuracy: float, validation: float | None = None, labelled: int = 900, vectors: str = "word2vec") -> FinishedRun:
    metrics = {"run": f"{mode}-{vectors}-seed{seed}", "mode": mode, "vector_source": vectors, "seed": seed, "test": {"accuracy": accuracy, "auc": accuracy + 0.05, "loss": 0.3},
               "epochs_run": 4, "best_epoch": 3, "wall_time_s": 10.0 + seed, "train_examples_per_s": 1000.0, "replicas": 1,
               "validation_best_accuracy": validation, "examples": {"train": labelled},
               "config": {"model": {"name": "cnn3", "encoder": "cnn"},
                          "trainer": {"epochs": 20, "early_stopping_patience": 3, "learning_rate": 0.005, "batch_size": 64, "embedding_update": "lazy"}}}
    return FinishedRun(RunLayout(f"/runs/{mode}-{vectors}-seed{seed}"), metrics)


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
    assert lines[1].startswith("frozen-word2vec-seed0,frozen,word2vec,0,900,0.79,")


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
    assert budgets["finetune_minus_random"] == {"word2vec": {250: pytest.approx(15.0), 900: pytest.approx(1.0)}}
    markdown = tables.label_budget_markdown(budgets)
    assert "| 250 | 0.7050 ± 0.0071 | 0.7550 ± 0.0071 | 0.6050 ± 0.0071 | +15.0 |" in markdown
    assert "adds +15.0 points of test accuracy with 250 labelled reviews and +1.0 with 900" in markdown


def test_the_report_says_how_each_mode_was_trained():
    markdown = tables.training_markdown([finished("random", 0, 0.8), finished("frozen", 0, 0.79), finished("frozen", 1, 0.8)])
    rows = markdown.splitlines()[2:]
    assert rows[0] == ("| frozen | cnn3 | not trained | 20 | after 3 epochs without a better validation accuracy | 0.005 | 64 | "
                       "4 (3), 4 (3) |")
    assert rows[1].startswith("| random | cnn3 | trained from U(-0.05, 0.05), lazy update |")


def test_runs_of_several_vector_sources_are_compared_per_source(tmp_path):
    """find_runs names each run's source in its arm once the runs differ in it; the gains are per source."""
    for mode, vectors, accuracy in (("finetune", "word2vec", 0.80), ("random", "word2vec", 0.70), ("finetune", "glove.6B.50d", 0.85)):
        folder = tmp_path / f"{mode}-{vectors}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(finished(mode, 0, accuracy, vectors=vectors).metrics))
    runs = find_runs([str(tmp_path)])
    assert [run.arm for run in runs] == ["finetune (glove.6B.50d)", "finetune (word2vec)", "random (word2vec)"]
    os.remove(tmp_path / "finetune-glove.6B.50d" / "metrics.json")
    assert [run.arm for run in find_runs([str(tmp_path)])] == ["finetune", "random"], "one source: arms are the modes"

    runs = [FinishedRun(run.layout, run.metrics, with_source=True) for run in
            (finished(mode, 0, accuracy, labelled=labelled, vectors=vectors)
             for labelled, shift in ((250, 0.0), (900, 0.1))
             for mode, vectors, accuracy in (("finetune", "word2vec", 0.70 + shift), ("random", "word2vec", 0.60 + shift),
                                             ("finetune", "glove", 0.75 + shift), ("random", "glove", 0.62 + shift / 2)))]
    budgets = tables.label_budgets(tables.summary(tables.rows(runs)))
    assert budgets["modes"] == ["finetune (glove)", "finetune (word2vec)", "random (glove)", "random (word2vec)"]
    assert budgets["finetune_minus_random"] == {"glove": {250: pytest.approx(13.0), 900: pytest.approx(18.0)},
                                                "word2vec": {250: pytest.approx(10.0), 900: pytest.approx(10.0)}}
    markdown = tables.label_budget_markdown(budgets)
    assert "finetune − random, glove (points) | finetune − random, word2vec (points) |" in markdown
    assert "| 250 | 0.7500 ± 0.0000 | 0.7000 ± 0.0000 | 0.6200 ± 0.0000 | 0.6000 ± 0.0000 | +13.0 | +10.0 |" in markdown
    assert "glove initialisation adds +13.0 points of test accuracy with 250 labelled reviews and +18.0 with 900" in markdown
    assert tables.training_markdown(runs).splitlines()[2].startswith("| finetune (glove) | cnn3 | trained from the pretrained vectors,")
