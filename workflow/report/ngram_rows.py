"""Pretrained n-gram rows against random ones: the report's comparison across configurations.

Runs whose n-gram rows start from the n-gram stage's vectors
(``embedding.ngrams=frozen|finetune``) have keys of their own, so they form a
configuration beside the runs with random n-gram rows (runs.py). Runs of two
such configurations that differ in nothing else are compared like modes are
(tables.paired): arm by arm (labelled reviews, mode, vector source and the
token rows it started from), paired by seed, with the seed t-interval and the
test bootstrap. Runs are matched by their own keys, so a configuration whose
token arms differ from its twin's still pairs the arms both ran.
"""

from __future__ import annotations

import json
from collections import defaultdict

from workflow.report import tables
from workflow.report.runs import FinishedRun, mode_rank, pretrained_rows
from workflow.training.identity import configuration
from workflow.training.predictions import Predictions

NGRAM_KEYS = (("config", "embedding_ngrams"), ("config", "ngram_scale"), ("inputs", "ngram_rows_sha256"))  # absent for random rows
ROWS_WORDS = {"frozen": "frozen", "finetune": "fine-tuned"}


def rows_of(run: FinishedRun) -> str:
    """How the run's n-gram rows start: ``random`` (no n-gram key: the rows of earlier releases too), ``frozen`` or
    ``finetune``."""
    return run.metrics.identity["config"].get("embedding_ngrams") or "random"


def _without_ngram_rows(run: FinishedRun) -> str:
    """The run's configuration (identity.configuration: its key less seed, mode, budget and token rows) less what says
    how its n-gram rows start, canonical: equal for runs that differ in nothing else."""
    found = configuration(run.metrics.identity)
    for section, name in NGRAM_KEYS:
        found.get(section, {}).pop(name, None)
    return json.dumps(found, sort_keys=True)


def _arm(run: FinishedRun) -> tuple:
    """Where a run sits among the runs it is paired with: its configuration less n-gram rows, labelled reviews, mode,
    vector source and the token rows it started from (runs.pretrained_rows)."""
    return _without_ngram_rows(run), run.labelled, run.mode, run.vectors, pretrained_rows(run)


def comparisons(runs: list[FinishedRun], outcomes: dict[str, Predictions]) -> list[dict]:
    """Pretrained n-gram rows − random ones, one entry per arm and pretrained configuration that has random-rows runs of
    the same arm (``tables.comparisons``'s shape: ``{"labelled", "comparison", "a", "b", "difference"}``), in the
    report's order of budgets and modes; the configuration numbers say which runs each entry pairs."""
    random_rows: dict[tuple, list[FinishedRun]] = defaultdict(list)
    pretrained: dict[tuple, list[FinishedRun]] = defaultdict(list)
    for run in runs:
        if rows_of(run) == "random":
            random_rows[_arm(run)].append(run)
        else:
            pretrained[_arm(run), run.configuration].append(run)
    found = []
    for arm_key, number in sorted(pretrained, key=lambda key: (key[0][1], mode_rank(key[0][2]), key[0][3], key[1])):
        ours, twins = pretrained[arm_key, number], random_rows.get(arm_key, [])
        for twin_number in sorted({run.configuration for run in twins}):
            theirs = [run for run in twins if run.configuration == twin_number]
            difference = tables.paired(_by_seed(ours), _by_seed(theirs), outcomes)
            if difference is None:
                continue
            arm, rows = ours[0].arm, ROWS_WORDS[rows_of(ours[0])]
            found.append({"labelled": arm_key[1],
                          "comparison": f"{rows} − random n-gram rows ({arm}; configuration {number} − {twin_number})",
                          "a": f"{arm} with {rows} pretrained n-gram rows (configuration {number})",
                          "b": f"{arm} with random n-gram rows (configuration {twin_number})", "difference": difference})
    return found


def _by_seed(runs: list[FinishedRun]) -> dict[int, FinishedRun]:
    """The runs of one arm that scored test, by seed."""
    return {run.seed: run for run in runs if run.metrics.test}
