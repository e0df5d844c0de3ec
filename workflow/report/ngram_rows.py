"""Pretrained n-gram rows against random ones: the report's comparison across configurations.

Runs whose n-gram rows start from the n-gram stage's vectors
(``embedding.ngrams=frozen|finetune``) have keys of their own, so they form a
configuration beside the runs with random n-gram rows (runs.py). Runs of two
such configurations that differ in nothing else are compared like modes are
(tables.paired): arm by arm (labelled reviews, mode, vector source), paired by
seed, with the seed t-interval and the test bootstrap.
"""

from __future__ import annotations

import json

from workflow.report import tables
from workflow.report.runs import Configuration
from workflow.training.predictions import Predictions

NGRAM_KEYS = (("config", "embedding_ngrams"), ("config", "ngram_scale"), ("inputs", "ngram_rows_sha256"))  # absent for random rows


def rows_of(configuration: Configuration) -> str:
    """How the configuration's n-gram rows start: ``random`` (no n-gram key: the rows of earlier releases too), ``frozen``
    or ``finetune``."""
    return configuration.key.get("config", {}).get("embedding_ngrams") or "random"


def _without_ngram_rows(key: dict) -> str:
    """The configuration key less what says how its n-gram rows start, canonical: equal for configurations that differ in
    nothing else."""
    parts = {section: dict(values) if isinstance(values, dict) else values for section, values in key.items()}
    for section, name in NGRAM_KEYS:
        if isinstance(parts.get(section), dict):
            parts[section].pop(name, None)
    return json.dumps(parts, sort_keys=True)


def comparisons(configurations: list[Configuration], outcomes: dict[str, Predictions]) -> list[dict]:
    """Pretrained n-gram rows − random ones, one entry per arm that both configurations ran (``tables.comparisons``'s
    shape: ``{"labelled", "comparison", "a", "b", "difference"}``); none when no configuration has a random twin."""
    random_rows = {_without_ngram_rows(configuration.key): configuration for configuration in configurations
                   if rows_of(configuration) == "random"}
    found = []
    for pretrained in (configuration for configuration in configurations if rows_of(configuration) != "random"):
        twin = random_rows.get(_without_ngram_rows(pretrained.key))
        if twin is None:
            continue
        ours, theirs = tables.scored_arms(pretrained.runs), tables.scored_arms(twin.runs)
        for arm_key in sorted(set(ours) & set(theirs)):
            difference = tables.paired(ours[arm_key], theirs[arm_key], outcomes)
            if difference is None:
                continue
            arm, rows = next(iter(ours[arm_key].values())).arm, rows_of(pretrained)
            found.append({"labelled": arm_key[0], "comparison": f"{arm}: {rows} n-gram rows − random",
                          "a": f"{arm} with {rows} pretrained n-gram rows", "b": f"{arm} with random n-gram rows",
                          "difference": difference})
    return found
