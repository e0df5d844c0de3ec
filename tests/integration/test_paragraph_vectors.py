"""benchmarks/paragraph_vectors.py on the session's finished workflow: paragraph vectors from its training-side text,
scored on validation and averaged with each run; test never read, runs of another workdir refused."""

from __future__ import annotations

import csv
import re
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from workflow.preprocess.output import PreprocessOutput
from workflow.report.combination import stored
from workflow.report.runs import find_runs
from workflow.training.predictions import Predictions

TOOL = Path(__file__).resolve().parents[2] / "benchmarks" / "paragraph_vectors.py"
SMALL = ("--dim", "8", "--epochs", "2", "--workers", "1")


def probe(monkeypatch, *arguments: str) -> dict:
    """The tool's module globals after running it with ``arguments`` (its output: capsys)."""
    monkeypatch.setattr(sys, "argv", [str(TOOL), *arguments, *SMALL])
    return runpy.run_path(str(TOOL), run_name="__main__")


def test_each_run_is_scored_alone_and_averaged_from_train_and_validation_only(workflow_run, capsys, monkeypatch):
    workdir = workflow_run[0]
    runs = find_runs([str(workdir / "runs")])
    assert len(runs) == 3
    splits_read = []
    example_files = PreprocessOutput.example_files
    monkeypatch.setattr(PreprocessOutput, "example_files", lambda self, split: splits_read.append(split) or example_files(self, split))
    probe(monkeypatch, "--workdir", str(workdir), "--runs", str(workdir / "runs"))
    out = capsys.readouterr().out

    assert sorted(splits_read) == ["train", "validation"]
    alone = float(re.search(r"paragraph vectors alone, validation: (\d\.\d{4})", out).group(1))
    assert 0 <= alone <= 1
    for run, predictions in zip(runs, stored(runs, "validation")):
        line = re.search(rf"{re.escape(run.name)}: alone (\d\.\d{{4}}), averaged with the paragraph vectors (\d\.\d{{4}}) "
                         rf"\(([+-]\d+\.\d\d) points\)", out)
        assert line, out
        assert float(line.group(1)) == pytest.approx(predictions.correct.mean(), abs=5e-5)
        assert float(line.group(3)) == pytest.approx(100 * (float(line.group(2)) - float(line.group(1))), abs=0.011)
    assert re.search(r"mean difference [+-]\d+\.\d\d points, 95% t-interval over the runs", out)


def test_a_run_that_scored_other_validation_reviews_is_refused(workflow_run, tmp_path, monkeypatch):
    run = find_runs([str(workflow_run[0] / "runs")])[0]
    other = tmp_path / run.name
    shutil.copytree(run.root, other)
    path = other / "validation_predictions.csv"
    rows = list(csv.reader(path.open()))
    rows[1][0] = "train/pos/not-in-this-workdir_9"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    with pytest.raises(SystemExit, match="scored other validation reviews"):
        probe(monkeypatch, "--workdir", str(workflow_run[0]), "--runs", str(other))


def test_the_average_decides_each_review_by_the_mean_of_the_two_probabilities():
    tool = runpy.run_path(str(TOOL))
    run = Predictions(np.array(["a", "b", "c", "d"]), np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.45, 0.8]), None)
    # means 0.7 (right), 0.7 (right: the vectors outweigh the run), 0.35 (right), 0.6 (wrong)
    assert tool["averaged_accuracy"](run, np.array([0.5, 1.0, 0.25, 0.4])) == pytest.approx(0.75)
