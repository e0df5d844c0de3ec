"""The runs a report covers (training/output.py finds them) and their configurations.

A configuration is what a run's cache key (training/identity.py) holds, less
what the report's tables vary (``identity.configuration``): the seed
(averaged over), the mode, the label budget and the vector source (the
tables' axes). The mode changes the key in three places, the mode itself,
the matrix digest and the scale of its rows (random mode reads no matrix),
so all three leave the configuration; the matrix digest and the scale come
back per vector source (``inputs.matrix_sha256.<source>``,
``config.embedding_scale.<source>``), so that two matrices of one source
name, or one matrix at two scales, are never averaged. Runs of different
configurations never share a row; runs that differ only in what an earlier
release left out of their keys share one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from workflow.config import EmbeddingScale
from workflow.training.identity import configuration
from workflow.training.output import RunMetrics, RunOutput
from workflow.training.predictions import Predictions

MODE_ORDER = ("frozen", "finetune", "random")  # the order of every table and figure


def mode_of(arm: str) -> str:
    """The mode of an arm or a run's label: ``finetune (glove.6B.100d)``, ``finetune [configuration 2]`` -> ``finetune``."""
    return arm.split(" (", 1)[0].split(" [", 1)[0]


def source_of(arm: str) -> str:
    """The vector source an arm names: ``finetune (glove.6B.100d)`` -> ``glove.6B.100d``; ``finetune`` -> ``""``."""
    return arm.partition(" (")[2].removesuffix(")")


def mode_rank(arm: str) -> int:
    mode = mode_of(arm)
    return MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)


@dataclass(frozen=True)
class FinishedRun:
    """A finished run as the report shows it: its output, and its place among the report's arms and configurations."""

    output: RunOutput
    metrics: RunMetrics  # its metrics, read once
    with_source: bool = False  # the runs compared come from more than one vector source: arms name theirs
    configuration: int = 1  # the number of its configuration in the report (see Configuration)
    configurations: int = 1  # how many configurations the report covers

    @property
    def root(self) -> str:
        return self.output.root

    @property
    def name(self) -> str:
        return self.metrics.run

    def predictions(self, split: str) -> Predictions | None:
        """Its stored predictions on ``split`` (validation or test), or None (training/output.py ``RunOutput.predictions``)."""
        return self.output.predictions(split)

    @property
    def row_scale(self) -> EmbeddingScale:
        return self.metrics.row_scale

    @property
    def mode(self) -> str:
        return self.metrics.mode.value

    @property
    def vectors(self) -> str:
        """The vector source: ``word2vec`` (trained on the corpus) or the imported file's name."""
        return self.metrics.vector_source

    @property
    def arm(self) -> str:
        """What the report compares: the mode, e.g. ``finetune``, or ``finetune (glove.6B.100d)`` beside other sources."""
        return f"{self.mode} ({self.vectors})" if self.with_source else self.mode

    @property
    def label(self) -> str:
        """The arm, and its configuration's number when the report covers several: ``finetune [configuration 2]``."""
        return self.arm if self.configurations == 1 else f"{self.arm} [configuration {self.configuration}]"

    @property
    def has_validation(self) -> bool:
        return self.metrics.has_validation

    @property
    def seed(self) -> int:
        return self.metrics.seed

    @property
    def labelled(self) -> int:
        return self.metrics.labelled


@dataclass(frozen=True)
class Configuration:
    """One block of the report: runs that differ only in seed, mode, label budget and vector source.

    ``key``: the configuration as nested plain values; ``heading``: dotted key
    -> value for the keys whose values differ between the report's
    configurations (empty when there is one).
    """

    number: int
    key: dict
    heading: dict[str, Any]
    runs: list[FinishedRun]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"config.model.name": "cnn3", ...}`` (the dotted keys of workflow/caching.py ``differences``)."""
    if isinstance(value, dict) and value:
        return {found: item for key in sorted(value) for found, item in flatten(value[key], f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def pretrained_rows(run: FinishedRun) -> tuple[str, str] | None:
    """What a frozen or finetune run started from: (matrix digest, row scale); None for a random run."""
    digest = run.metrics.identity["inputs"].get("matrix_sha256")
    return (digest, run.row_scale.value) if digest else None


def _with_pretrained(base: dict, rows: dict[str, tuple[str, str]]) -> dict:
    if not rows:
        return base
    return {**base, "config": {**base.get("config", {}), "embedding_scale": {source: scale for source, (_, scale) in rows.items()}},
            "inputs": {**base.get("inputs", {}), "matrix_sha256": {source: digest for source, (digest, _) in rows.items()}}}


def configuration_keys(runs: list[FinishedRun]) -> list[dict]:
    """Each run's configuration key (see the module docstring).

    Runs of one base configuration share one key, with ``inputs.matrix_sha256``
    and ``config.embedding_scale`` mapping each vector source to the one
    matrix, at the one scale, that its frozen and finetune runs started from
    (random runs read none: they are the baseline of either). When a source
    was read as several matrices or at several scales, those runs split by
    (source, matrix, scale), and the random runs of that base form a
    configuration of their own.
    """
    bases = [configuration(run.metrics.identity) for run in runs]
    read: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for run, base in zip(runs, bases):
        rows = pretrained_rows(run)
        if rows:
            read.setdefault(_canonical(base), {}).setdefault(run.vectors, set()).add(rows)
    keys = []
    for run, base in zip(runs, bases):
        by_source = read.get(_canonical(base), {})
        if all(len(found) == 1 for found in by_source.values()):
            keys.append(_with_pretrained(base, {source: next(iter(found)) for source, found in sorted(by_source.items())}))
        else:
            rows = pretrained_rows(run)
            keys.append(_with_pretrained(base, {run.vectors: rows} if rows else {}))
    return keys


def group_configurations(runs: list[FinishedRun]) -> tuple[list[FinishedRun], list[Configuration]]:
    """The runs (each told its configuration's number) and their configurations, numbered in the order of their first run."""
    keys = configuration_keys(runs)
    numbers: dict[str, int] = {}
    for key in keys:
        numbers.setdefault(_canonical(key), len(numbers) + 1)
    runs = [dataclasses.replace(run, configuration=numbers[_canonical(key)], configurations=len(numbers)) for run, key in zip(runs, keys)]
    by_number = {number: json.loads(text) for text, number in numbers.items()}
    flat = {number: flatten(key) for number, key in by_number.items()}
    varying = sorted({path for values in flat.values() for path in values
                      if len({_canonical(other.get(path)) for other in flat.values()}) > 1})
    return runs, [Configuration(number, key, {path: flat[number].get(path) for path in varying},
                                [run for run in runs if run.configuration == number]) for number, key in by_number.items()]


def find_runs(paths: list[str]) -> list[FinishedRun]:
    """Every finished run under ``paths`` (training/output.py ``RunOutput.find``), sorted by labelled reviews, arm (frozen,
    finetune, random), seed."""
    runs = [FinishedRun(output, output.metrics) for output in RunOutput.find(paths)]
    if len({run.vectors for run in runs}) > 1:
        runs = [dataclasses.replace(run, with_source=True) for run in runs]
    return sorted(runs, key=lambda run: (run.labelled, mode_rank(run.arm), run.arm, run.seed, run.name))
