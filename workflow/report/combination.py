"""A combination of finished runs (or of runs and the paragraph vectors' regression) scored on validation, and on test only
once it was declared beforehand.

Averaging several runs' probabilities (an ensemble) is a choice like any
other, so it is made on validation: each run stores its validation
predictions (validation_predictions.csv, workflow/training/predictions.py).
Scoring the same combination on test is allowed only against a declaration
written before: a file (committed, when it sits in a git work tree) that
names every run and the exact ``--combine`` option, so the test score it
prints is the one a reader can check was chosen without seeing it.
benchmarks/score_combination.py is the command.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workflow.report import statistics
from workflow.training import predictions
from workflow.training.predictions import Predictions

COMBINATIONS = ("mean", "vote")  # the mean of the probabilities; the majority of the runs' decisions (a tie: the mean decides)


class Member(Protocol):
    """What a combination reads of each model it averages: a finished run (report/runs.py FinishedRun), or the
    paragraph-vector stage's output (paragraphs/output.py ParagraphOutput)."""

    @property
    def name(self) -> str: ...

    @property
    def root(self) -> str: ...

    def predictions(self, split: str) -> Predictions | None: ...


class NotDeclared(Exception):
    """Test predictions were asked for without a declaration that names this combination."""


def stored(runs: list[Member], split: str) -> list[Predictions]:
    """Each run's predictions on ``split``, over the same reviews (ValueError naming the run that has none, or other reviews)."""
    found = []
    for run in runs:
        loaded = run.predictions(split)
        if loaded is None:
            raise ValueError(f"{run.root} has no {split}_predictions.csv (a run trained before they were written: retrain it; "
                             f"or a corpus without a {split} split)")
        if found and not np.array_equal(loaded.doc_ids, found[0].doc_ids):
            raise ValueError(f"{run.root} has other {split} reviews than {runs[0].root}: "
                             "runs of one preprocessing output only")
        found.append(loaded)
    return found


def combine(runs: list[Predictions], how: str) -> Predictions:
    """One prediction per review from several runs' (``how``: one of COMBINATIONS)."""
    probabilities = np.mean([run.probabilities for run in runs], axis=0)
    if how == "vote":
        votes = np.mean([run.probabilities > 0.5 for run in runs], axis=0)
        probabilities = np.where(votes == 0.5, probabilities, votes)
    elif how != "mean":
        raise ValueError(f"--combine {how}: one of {', '.join(COMBINATIONS)}")
    return Predictions(runs[0].doc_ids, runs[0].labels, probabilities, predictions.common_films(runs))


@dataclass(frozen=True)
class Score:
    """A combination's accuracy on one split, its bootstrap interval, and the paired difference from the run that
    scored best on validation (``best``: its index), with its paired bootstrap."""

    accuracy: float
    interval: statistics.BootstrapInterval
    single: tuple[float, ...]  # each run's accuracy
    best: int
    gain: float
    gain_interval: statistics.BootstrapInterval


def score(runs: list[Predictions], how: str, best: int) -> Score:
    """Score the combination of ``runs`` against run ``best`` (chosen on validation: the same index on test)."""
    combined = combine(runs, how)
    correct = combined.correct
    accuracy = float(correct.mean())
    best_correct = runs[best].correct
    return Score(accuracy, statistics.bootstrap_interval(correct.astype(np.float64), combined.films),
                 tuple(float(run.correct.mean()) for run in runs), best, accuracy - float(best_correct.mean()),
                 statistics.paired_bootstrap(correct[None], best_correct[None], combined.films))


def best_on_validation(validation: list[Predictions]) -> int:
    """The index of the run with the highest validation accuracy (the first of equals)."""
    return int(np.argmax([run.correct.mean() for run in validation]))


def check_declaration(path: str, runs: list[Member], how: str) -> str:
    """What the declaration at ``path`` is (its SHA-256 and, in a git work tree, the commit that last changed it);
    NotDeclared when it does not name every run and ``--combine <how>``, or has changes git has not committed."""
    if not os.path.isfile(path):
        raise NotDeclared(f"--test {path}: no such file; write the declaration (runs and --combine) and commit it first")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    wanted = [run.name for run in runs] + [f"--combine {how}"]
    missing = [name for name in wanted if not re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text)]  # seed1 is not in seed10
    if missing:
        raise NotDeclared(f"{path} does not declare this combination: it does not name {', '.join(missing)}")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    absolute = os.path.abspath(path)

    def git(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", os.path.dirname(absolute), *arguments], capture_output=True, text=True)

    if shutil.which("git") is None or git("rev-parse", "--is-inside-work-tree").returncode != 0:
        return f"{path} (sha256 {digest[:12]}; not in a git work tree: nothing shows when it was written)"
    if git("ls-files", "--error-unmatch", absolute).returncode != 0 or git("status", "--porcelain", "--", absolute).stdout.strip():
        raise NotDeclared(f"{path} has changes that are not committed: commit the declaration before scoring test")
    commit = git("log", "-1", "--format=%h %cs", "--", absolute).stdout.strip()
    return f"{path} (sha256 {digest[:12]}, committed in {commit})"
