"""The report's tables: one row per run, mean ± std per configuration and arm (mode, and vector source beside others) in a
fixed mode order, and the paired comparisons that gate its sentences."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

import numpy as np

from workflow.config import EmbeddingScale
from workflow.training.output import RunMetrics, RunOutput
from workflow.training.predictions import Predictions
from workflow.report import tables
from workflow.report.runs import FinishedRun, find_runs, group_configurations


def finished(mode: str, seed: int, accuracy: float, validation: float | None = None, labelled: int = 900, vectors: str = "word2vec",
             model: str = "cnn3", validation_reviews: int = 100) -> FinishedRun:
    trainer = {"epochs": 20, "early_stopping_patience": 3, "learning_rate": 0.005, "batch_size": 64, "embedding_update": "lazy"}
    identity = {"format_version": 1, "config": {"embedding_mode": mode, "seed": seed, "model": {"name": model},
                                                "trainer": {**trainer, "label_budget": labelled}},
                "inputs": {"examples_sha256": "e" * 64, "matrix_sha256": None if mode == "random" else f"matrix of {vectors}"},
                "embedding_dim": 16, "global_batch_size": 64}
    metrics = {"run": f"{mode}-{model}-{vectors}-seed{seed}", "mode": mode, "vector_source": vectors, "seed": seed,
               "test": {"accuracy": accuracy, "auc": accuracy + 0.05, "loss": 0.3, "examples": 100}, "stopped_early": False, "history": [],
               "epochs_run": 4, "best_epoch": 3, "wall_time_s": 10.0 + seed, "train_examples_per_s": 1000.0, "replicas": 1, "strategy": "cpu",
               "global_batch_size": 64, "learning_rate": 0.005, "embedding_rows_changed": 0, "process_id": 1, "versions": {},
               "validation_best_accuracy": validation, "examples": {"train": labelled, "validation": validation_reviews}, "identity": identity,
               "config": {"model": {"name": model, "encoder": "cnn"}, "trainer": trainer}}
    return FinishedRun(RunOutput(f"/runs/{mode}-{model}-{vectors}-seed{seed}"), RunMetrics.from_json(metrics))


def with_metrics(run: FinishedRun, **values) -> FinishedRun:
    """``run`` with some of its metrics' fields set."""
    return dataclasses.replace(run, metrics=dataclasses.replace(run.metrics, **values))


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
    assert lines[1].startswith("frozen-cnn3-word2vec-seed0,1,frozen,word2vec,0,900,0.79,")


def test_every_run_shows_its_validation_test_gap():
    table = tables.rows([finished("finetune", 0, 0.88, validation=0.905), finished("random", 0, 0.80)])
    assert table[0]["validation_test_gap"] == pytest.approx(0.025) and table[1]["validation_test_gap"] is None
    markdown = tables.runs_markdown(table)
    assert "| 0.9050 (+2.5 points) |" in markdown and "| n/a |" in markdown


def test_label_budgets_give_a_table_per_count_and_each_comparison_an_interval_that_gates_its_sentence():
    accuracies = {250: {"frozen": (0.70, 0.71, 0.69), "finetune": (0.75, 0.77, 0.76), "random": (0.60, 0.61, 0.60)},
                  900: {"frozen": (0.80, 0.81, 0.80), "finetune": (0.88, 0.86, 0.89), "random": (0.87, 0.88, 0.87)}}
    runs = [finished(mode, seed, values[seed], labelled=labelled) for labelled, by_mode in accuracies.items()
            for mode, values in by_mode.items() for seed in (0, 1, 2)]
    runs, [configuration] = group_configurations(runs)
    summary = tables.summary(tables.rows(runs))
    assert [(entry["labelled_reviews"], entry["mode"]) for entry in summary][:3] == [(250, "frozen"), (250, "finetune"), (250, "random")]
    budgets = tables.label_budgets(summary)
    assert budgets["labelled"] == [250, 900] and budgets["modes"] == ["frozen", "finetune", "random"]
    assert "| 250 | 0.7000 ± 0.0100 | 0.7600 ± 0.0100 | 0.6033 ± 0.0058 |" in tables.label_budget_markdown(budgets)
    found = {(entry["labelled"], entry["comparison"]): entry for entry in tables.comparisons(configuration.runs, {})}
    assert set(found) == {(count, comparison) for count in (250, 900) for comparison in ("finetune − random", "frozen − random")}
    assert found[250, "finetune − random"]["difference"].mean == pytest.approx(0.1567, abs=1e-4)
    markdown = tables.comparisons_markdown(list(found.values()))
    assert "finetune gains 15.7 points over random with 250 labelled reviews (95% CI 14.2 to 17.1 over 3 seeds)." in markdown
    assert ("finetune against random with 900 labelled reviews: 0.3 points higher on average over 3 seeds, no difference "
            "detectable (95% CI of finetune − random: ") in markdown
    needed = found[900, "finetune − random"]["difference"].seeds_needed
    assert (f"about {needed.estimate:,} seeds would detect a difference of this size with power 0.8 (alpha 0.05), anywhere from "
            f"{needed.low:,} to {needed.high:,}: the paired standard deviation (") in markdown
    assert f"| {needed.estimate:,} ({needed.low:,} to {needed.high:,}) |" in markdown, "the table shows the range too"
    assert "not which reviews were labelled" in markdown and "| n/a |" in markdown, "no predictions: no bootstrap"
    assert "No run stored its test predictions, so there is no bootstrap over the test set." in markdown


def stored(correct: np.ndarray, films: np.ndarray | None = None) -> Predictions:
    """Test predictions of ``len(correct)`` reviews, every label positive: a review is right when its probability is 0.9."""
    count = len(correct)
    return Predictions(np.array([f"r{i:04d}" for i in range(count)]), np.ones(count, dtype=int), np.where(correct, 0.9, 0.1), films)


def test_one_seed_makes_no_claim_and_names_the_bootstrap_as_its_only_interval():
    runs, [configuration] = group_configurations([finished("finetune", 0, 0.81), finished("random", 0, 0.79)])
    correct = {"finetune": np.arange(100) < 81, "random": np.arange(100) < 79}
    outcomes = {run.root: stored(correct[run.mode]) for run in runs}
    [entry] = tables.comparisons(configuration.runs, outcomes)
    bootstrap = entry["difference"].bootstrap
    assert bootstrap.low < 0.02 < bootstrap.high and entry["difference"].seed_interval is None
    assert tables.claim(entry).startswith("finetune against random with 900 labelled reviews: 2.0 points higher on 1 seed; with one seed "
                                          "the only interval is over test sampling, given these trained models, ")
    assert tables.claim(entry).endswith(" by a bootstrap over 100 test reviews (finetune − random, points), and it leaves seed noise "
                                        "out: no claim.")


def test_losses_are_said_as_costs_with_the_interval_in_the_same_direction():
    accuracies = {"frozen": (0.70, 0.71, 0.69), "random": (0.78, 0.80, 0.79)}
    runs, [configuration] = group_configurations([finished(mode, seed, values[seed]) for mode, values in accuracies.items() for seed in (0, 1, 2)])
    [entry] = tables.comparisons(configuration.runs, {})
    low, high = entry["difference"].seed_interval
    assert high < 0 and tables.claim(entry) == (f"frozen costs 9.0 points against random with 900 labelled reviews "
                                                f"(95% CI {-100 * high:.1f} to {-100 * low:.1f} over 3 seeds).")
    assert "adds" not in tables.comparisons_markdown([entry]) and "| -9.0 |" in tables.comparisons_markdown([entry])


def test_the_bootstrap_resamples_films_where_every_run_names_them_and_the_report_says_which():
    rng = np.random.default_rng(0)
    films = np.array([f"tt{i // 5}" for i in range(500)])
    runs, [configuration] = group_configurations([finished(mode, seed, 0.8) for mode in ("finetune", "frozen", "random") for seed in (0, 1)])
    correct = {run.root: rng.random(500) < (0.85 if run.mode == "finetune" else 0.8) for run in runs}
    with_films = {root: stored(outcome, films) for root, outcome in correct.items()}
    by_comparison = {entry["comparison"]: entry for entry in tables.comparisons(configuration.runs, with_films)}
    bootstrap = by_comparison["finetune − random"]["difference"].bootstrap
    assert (bootstrap.over, bootstrap.units) == ("films", 100)
    markdown = tables.comparisons_markdown(list(by_comparison.values()))
    assert f"| {100 * bootstrap.low:+.1f} to {100 * bootstrap.high:+.1f} (100 films) |" in markdown
    assert "by a bootstrap over 100 test films" in markdown and "The bootstrap resamples whole test films" in markdown
    assert "test sampling, given these trained models" in markdown and "resamples test reviews" not in markdown
    # One run from before films were recorded: its comparison falls back to reviews, and the note says both.
    older = next(run.root for run in runs if run.mode == "frozen")
    mixed = {**with_films, older: stored(correct[older])}
    by_comparison = {entry["comparison"]: entry for entry in tables.comparisons(configuration.runs, mixed)}
    assert by_comparison["frozen − random"]["difference"].bootstrap.over == "reviews"
    assert by_comparison["finetune − random"]["difference"].bootstrap.over == "films"
    markdown = tables.comparisons_markdown(list(by_comparison.values()))
    assert "(500 reviews) |" in markdown and "(100 films) |" in markdown
    assert "resamples whole test films" in markdown and "resamples test reviews where the predictions name no film" in markdown


def test_seeds_that_cancel_exactly_make_a_report_not_a_crash():
    """+k/25000, −k/25000, 0: no difference observed, so no seed count to show."""
    random_arm = {0: 0.8800, 1: 0.8700, 2: 0.8750}
    finetune = {0: 0.8800 + 3 / 25000, 1: 0.8700 - 3 / 25000, 2: 0.8750}
    runs, [configuration] = group_configurations([finished("finetune", seed, finetune[seed]) for seed in (0, 1, 2)]
                                                 + [finished("random", seed, random_arm[seed]) for seed in (0, 1, 2)])
    [entry] = tables.comparisons(configuration.runs, {})
    assert entry["difference"].mean == 0.0 and entry["difference"].seeds_needed is None
    assert tables.claim(entry).startswith("finetune against random with 900 labelled reviews: the same accuracy on average over 3 "
                                          "seeds, no difference detectable (95% CI of finetune − random: ")
    assert "seeds would detect" not in tables.comparisons_markdown([entry])


def test_runs_of_two_models_are_two_configurations_never_one_row():
    """A cnn3 run and a pooling run were once averaged as two seeds of one mode: never again."""
    runs, configurations = group_configurations([finished(mode, 0, accuracy, model=model) for model, accuracy in (("cnn3", 0.80), ("pooling", 0.70))
                                                 for mode in ("frozen", "finetune", "random")])
    assert [len(configuration.runs) for configuration in configurations] == [3, 3], "frozen, finetune and random of one model share one"
    assert configurations[1].heading == {"config.model.name": "pooling"} and configurations[0].heading == {"config.model.name": "cnn3"}
    assert tables.configuration_heading(configurations[1]) == "Configuration 2: `config.model.name=pooling`"
    summary = tables.summary(tables.rows(runs))
    assert [(entry["configuration"], entry["mode"], entry["runs"]) for entry in summary] == [
        (1, "frozen", 1), (1, "finetune", 1), (1, "random", 1), (2, "frozen", 1), (2, "finetune", 1), (2, "random", 1)]
    assert tables.runs_markdown(tables.rows(runs)).startswith("| run | configuration | mode |")


def test_two_matrices_of_one_source_name_are_never_averaged():
    """Random mode reads no matrix, so it joins the configuration of the one matrix its source was read as; with two, it cannot."""
    one, two, baseline = finished("finetune", 0, 0.8), finished("finetune", 1, 0.7), finished("random", 0, 0.75)
    two.metrics.identity["inputs"]["matrix_sha256"] = "another matrix"
    _, configurations = group_configurations([one, baseline])
    assert len(configurations) == 1 and configurations[0].key["inputs"]["matrix_sha256"] == {"word2vec": "matrix of word2vec"}
    _, configurations = group_configurations([one, two, baseline])
    assert [[run.name for run in configuration.runs] for configuration in configurations] == [[one.name], [two.name], [baseline.name]]
    assert configurations[2].heading == {"config.embedding_scale.word2vec": None, "inputs.matrix_sha256.word2vec": None}


def test_one_matrix_at_two_scales_is_never_averaged():
    """The scale, like the matrix, is read by frozen and finetune runs only: random runs join the one scale a sweep used."""
    rescaled, as_trained, baseline = finished("finetune", 0, 0.8), finished("finetune", 1, 0.7), finished("random", 0, 0.75)
    rescaled.metrics.identity["config"]["embedding_scale"] = "row"  # rows as trained: no scale in the key
    rescaled = with_metrics(rescaled, embedding_scale=EmbeddingScale.row)
    _, [configuration] = group_configurations([rescaled, baseline])
    assert configuration.key["config"]["embedding_scale"] == {"word2vec": "row"} and len(configuration.runs) == 2
    _, configurations = group_configurations([rescaled, as_trained, baseline])
    assert [[run.name for run in configuration.runs] for configuration in configurations] == [[rescaled.name], [as_trained.name], [baseline.name]]
    assert configurations[0].heading["config.embedding_scale.word2vec"] == "row"


def test_a_run_without_validation_reports_no_validation_accuracy():
    """Its recorded "validation" accuracy (an older run's training accuracy) is never shown as validation."""
    run = finished("finetune", 0, 0.8, validation=0.99, validation_reviews=0)
    [row] = tables.rows([run])
    assert row["validation_accuracy"] is None and row["best_epoch"] is None and row["selection"] == tables.NO_VALIDATION
    assert "| no validation: the last epoch is tested | 4 (last) |" in tables.runs_markdown([row])
    assert "| off: no validation: the last epoch is tested |" in tables.training_markdown([run])


def test_the_report_says_how_each_mode_was_trained():
    markdown = tables.training_markdown([finished("random", 0, 0.8), finished("frozen", 0, 0.79), finished("frozen", 1, 0.8)])
    rows = markdown.splitlines()[2:]
    assert rows[0] == ("| frozen | cnn3 | not trained, rows at their trained norms | 20 | after 3 epochs without a better validation accuracy "
                       "| 0.005 | 64 | 4 (3), 4 (3) |")
    assert rows[1].startswith("| random | cnn3 | trained from U(-0.05, 0.05), lazy update |")  # no pretrained rows: no scale


def test_the_report_states_the_scale_of_the_pretrained_rows():
    rescaled = finished("finetune", 0, 0.8)
    rescaled.metrics.config["embedding"] = {"mode": "finetune", "scale": "row"}
    rescaled = with_metrics(rescaled, embedding_scale=EmbeddingScale.row)  # as training/stage.py records it
    [row] = tables.training_markdown([rescaled]).splitlines()[2:]
    assert "| trained from the pretrained vectors, lazy update, rows rescaled to the random row norm (each) |" in row


def test_runs_of_several_vector_sources_are_compared_per_source(tmp_path):
    """find_runs names each run's source in its arm once the runs differ in it; the gains are per source."""
    for mode, vectors, accuracy in (("finetune", "word2vec", 0.80), ("random", "word2vec", 0.70), ("finetune", "glove.6B.50d", 0.85)):
        folder = tmp_path / f"{mode}-{vectors}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(finished(mode, 0, accuracy, vectors=vectors).metrics.to_json()))
    runs = find_runs([str(tmp_path)])
    assert [run.arm for run in runs] == ["finetune (glove.6B.50d)", "finetune (word2vec)", "random (word2vec)"]
    os.remove(tmp_path / "finetune-glove.6B.50d" / "metrics.json")
    assert [run.arm for run in find_runs([str(tmp_path)])] == ["finetune", "random"], "one source: arms are the modes"

    runs = [dataclasses.replace(run, with_source=True) for run in
            (finished(mode, 0, accuracy, labelled=labelled, vectors=vectors)
             for labelled, shift in ((250, 0.0), (900, 0.1))
             for mode, vectors, accuracy in (("finetune", "word2vec", 0.70 + shift), ("random", "word2vec", 0.60 + shift),
                                             ("finetune", "glove", 0.75 + shift), ("random", "glove", 0.62 + shift / 2)))]
    runs, [configuration] = group_configurations(runs)
    budgets = tables.label_budgets(tables.summary(tables.rows(runs)))
    assert budgets["modes"] == ["finetune (glove)", "finetune (word2vec)", "random (glove)", "random (word2vec)"]
    found = {(entry["labelled"], entry["comparison"]): round(100 * entry["difference"].mean, 6) for entry in tables.comparisons(configuration.runs, {})}
    assert found == {(250, "finetune (glove) − random (glove)"): 13.0, (900, "finetune (glove) − random (glove)"): 18.0,
                     (250, "finetune (word2vec) − random (word2vec)"): 10.0, (900, "finetune (word2vec) − random (word2vec)"): 10.0}
    assert "| 250 | 0.7500 ± 0.0000 | 0.7000 ± 0.0000 | 0.6200 ± 0.0000 | 0.6000 ± 0.0000 |" in tables.label_budget_markdown(budgets)
    assert tables.training_markdown(runs).splitlines()[2].startswith("| finetune (glove) | cnn3 | trained from the pretrained vectors,")
