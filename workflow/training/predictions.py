"""Per-review predictions of a run: ``<run>/test_predictions.csv`` and ``<run>/validation_predictions.csv``; the
paragraph-vector stage writes its own in the same format (workflow/paragraphs/stage.py).

One row a review: doc_id, label, probability and film (the film the review
is about, ``""`` where the corpus names none; preprocessing's films.tsv).
The report pairs two modes' runs of one seed review by review (a paired
bootstrap over the test set, clustered by film where films are known:
workflow/report/statistics.py), which the aggregate test accuracy in
metrics.json cannot give; the validation file lets a combination of runs be
chosen on validation (workflow/report/combination.py). Probabilities are of
the tested weights (the best validation epoch; scoring.py computes them).
Rows are in doc_id order, so the runs of one preprocessing output list the
same reviews in the same order. Written by the chief before metrics.json
(which marks the run finished). Runs from before a file existed lack it (no
validation predictions) or its film column. NumPy only: reading them needs
no TensorFlow.
"""

from __future__ import annotations

import csv
import os
from typing import Callable, NamedTuple, Protocol

import numpy as np

COLUMNS = ("doc_id", "label", "probability", "film")
FilmsOf = Callable[[list[str]], list[str]]  # doc ids -> their films ("" where unknown): PreprocessOutput.films


class PredictionFiles(Protocol):
    """Where a folder keeps its predictions: a run's (training/layout.py RunLayout), or the paragraph-vector stage's."""

    def predictions(self, split: str) -> str: ...


class Predictions(NamedTuple):
    """One run's predictions on one split, ``[reviews]`` arrays in doc_id order."""

    doc_ids: np.ndarray  # str
    labels: np.ndarray  # int, 0 or 1
    probabilities: np.ndarray  # float, of the positive label
    films: np.ndarray | None  # str, "" where unknown; None when no review has one (another corpus, or a run from before films)

    @property
    def correct(self) -> np.ndarray:
        """Boolean ``[reviews]``: the prediction at 0.5 is the label."""
        return (self.probabilities > 0.5) == (self.labels > 0)


def write(layout: PredictionFiles, split: str, doc_ids: list[str], labels: np.ndarray, probabilities: np.ndarray, films: list[str]) -> None:
    """The predictions on ``split``, ``[reviews]`` each, already in doc_id order."""
    with open(layout.predictions(split), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(zip(doc_ids, labels.tolist(), (f"{p:.6f}" for p in probabilities), films))


def read(layout: PredictionFiles, split: str = "test") -> Predictions | None:
    """The run's predictions on ``split``, or None when it stored none (older runs; a run without that split)."""
    path = layout.predictions(split)
    if not os.path.exists(path):
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    films = np.array([row.get("film") or "" for row in rows]) if any(row.get("film") for row in rows) else None
    return Predictions(np.array([row["doc_id"] for row in rows], dtype=str), np.array([int(row["label"]) for row in rows], dtype=int),
                       np.array([float(row["probability"]) for row in rows], dtype=float), films)


def common_films(stored: list[Predictions]) -> np.ndarray | None:
    """The reviews' films when every one of ``stored`` names them over the same reviews, else None (a bootstrap over
    these predictions then resamples reviews, not films)."""
    if not stored or any(found.films is None or not np.array_equal(found.doc_ids, stored[0].doc_ids) for found in stored):
        return None
    return stored[0].films
