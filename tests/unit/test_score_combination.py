"""A combination of runs chosen on validation (benchmarks/score_combination.py): scored there with its interval, and on
test only under a committed declaration that names it."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.unit.test_report_tables import finished
from workflow.report import combination
from workflow.report.runs import find_runs
from workflow.training import predictions
from workflow.training.layout import RunLayout

TOOL = Path(__file__).resolve().parents[2] / "benchmarks" / "score_combination.py"
REVIEWS = 300


def make_run(root: Path, seed: int, wrong: slice, test: str | None = None) -> Path:
    """A finished run whose validation predictions are right except on the ``wrong`` reviews (each seed errs on another
    third, so the mean of three is right everywhere); ``test``: the text of its test_predictions.csv, if any."""
    folder = root / f"finetune-cnn3-word2vec-seed{seed}"
    folder.mkdir(parents=True)
    metrics = finished("finetune", seed, 0.8, validation_reviews=REVIEWS).metrics
    assert metrics.run == folder.name
    (folder / "metrics.json").write_text(json.dumps(metrics.to_json()))
    labels = np.arange(REVIEWS) % 2
    probabilities = np.where(labels == 1, 0.7, 0.3)
    probabilities[wrong] = 1 - probabilities[wrong]
    films = [f"tt{i // 3}" for i in range(REVIEWS)]
    predictions.write(RunLayout(str(folder)), "validation", [f"train/pos/{i:04d}_8" for i in range(REVIEWS)], labels, probabilities, films)
    if test is not None:
        (folder / "test_predictions.csv").write_text(test)
    return folder


@pytest.fixture
def three_runs(tmp_path: Path) -> list[Path]:
    third = REVIEWS // 3
    return [make_run(tmp_path / "runs", seed, slice(seed * third, (seed + 1) * third)) for seed in range(3)]


def score(*arguments: str, capsys) -> str:
    sys_argv = sys.argv
    sys.argv = [str(TOOL), *arguments]
    try:
        runpy.run_path(str(TOOL), run_name="__main__")
    finally:
        sys.argv = sys_argv
    return capsys.readouterr().out


def git(folder: Path, *arguments: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@localhost", *arguments], check=True, capture_output=True)


def test_the_mean_of_runs_that_err_on_different_reviews_is_scored_on_validation_with_a_film_interval(three_runs):
    runs = find_runs([str(folder) for folder in three_runs])
    validation = combination.stored(runs, "validation")
    found = combination.score(validation, "mean", combination.best_on_validation(validation))
    assert found.single == pytest.approx((2 / 3,) * 3) and found.accuracy == 1.0 and found.gain == pytest.approx(1 / 3)
    assert (found.interval.over, found.interval.units) == ("films", 100)
    assert found.gain_interval.low > 0.2 and found.gain_interval.over == "films"
    assert combination.score(validation, "vote", 0).accuracy == 1.0, "two of three right on every review"
    assert combination.combine(validation[:2], "vote").probabilities[0] == pytest.approx(0.5), "a tie: the mean probability"


def test_a_run_without_validation_predictions_is_named(three_runs, tmp_path):
    older = tmp_path / "older" / "finetune-cnn3-word2vec-seed7"
    older.parent.mkdir()
    older.mkdir()
    (older / "metrics.json").write_text((three_runs[0] / "metrics.json").read_text().replace('"seed": 0', '"seed": 7'))
    with pytest.raises(ValueError, match=r"seed7 has no validation_predictions.csv \(a run trained before they were written"):
        combination.stored(find_runs([str(three_runs[0]), str(older)]), "validation")


def test_a_declaration_must_name_every_run_and_the_combination(three_runs, tmp_path):
    runs = find_runs([str(folder) for folder in three_runs])
    declaration = tmp_path / "declared.md"
    declaration.write_text("score_combination.py --runs finetune-cnn3-word2vec-seed0 finetune-cnn3-word2vec-seed10 --combine mean\n")
    with pytest.raises(combination.NotDeclared, match="does not name finetune-cnn3-word2vec-seed1, finetune-cnn3-word2vec-seed2$"):
        combination.check_declaration(str(declaration), runs, "mean")
    declaration.write_text(" ".join(run.name for run in runs) + " --combine vote\n")
    with pytest.raises(combination.NotDeclared, match="does not name --combine mean"):
        combination.check_declaration(str(declaration), runs, "mean")
    with pytest.raises(combination.NotDeclared, match="no such file"):
        combination.check_declaration(str(tmp_path / "nowhere.md"), runs, "mean")
    declaration.write_text(" ".join(run.name for run in runs) + " --combine mean\n")
    assert "not in a git work tree" in combination.check_declaration(str(declaration), runs, "mean")


def test_test_predictions_are_read_only_under_a_committed_declaration(three_runs, tmp_path, capsys):
    folders = [str(folder) for folder in three_runs]
    for folder in three_runs:  # what the runs scored on test; unreadable as predictions, so reading it would fail loudly
        (folder / "test_predictions.csv").write_text("not,predictions\n")
    output = score("--runs", *folders, "--combine", "mean", capsys=capsys)
    assert "validation:\n" in output and "  mean of 3 runs: 1.0000 (95% CI 1.0000 to 1.0000, bootstrap over 100 validation films)" in output
    assert "against finetune-cnn3-word2vec-seed0 (best on validation): +33.33 points" in output and "test" not in output

    repository = tmp_path / "declarations"
    repository.mkdir()
    git(repository, "init", "-q")
    declaration = repository / "results.md"
    declaration.write_text("Final: score_combination.py --runs " + " ".join(Path(folder).name for folder in folders) + " --combine mean\n")
    with pytest.raises(SystemExit, match="test predictions not read: .* has changes that are not committed"):
        score("--runs", *folders, "--combine", "mean", "--test", str(declaration), capsys=capsys)
    git(repository, "add", "results.md")
    git(repository, "commit", "-q", "-m", "declare the final combination")
    with pytest.raises(SystemExit, match="test predictions not read: .* does not name --combine vote"):
        score("--runs", *folders, "--combine", "vote", "--test", str(declaration), capsys=capsys)

    labels = np.arange(REVIEWS) % 2
    for folder in three_runs:
        predictions.write(RunLayout(str(folder)), "test", [f"test/pos/{i:04d}_9" for i in range(REVIEWS)], labels,
                          np.where(labels == 1, 0.6, 0.4), [f"tt{i // 6}" for i in range(REVIEWS)])
    output = score("--runs", *folders, "--combine", "mean", "--test", str(declaration), capsys=capsys)
    assert f"declared in {declaration} (sha256 " in output and ", committed in " in output
    assert "test:\n" in output and "  mean of 3 runs: 1.0000 (95% CI 1.0000 to 1.0000, bootstrap over 50 test films)" in output
