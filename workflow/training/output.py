"""The one way to read a training run: ``RunOutput(folder)``, and ``RunOutput.find(paths)`` for every finished run.

As ``PreprocessOutput`` for preprocessing: the report, serving, the
orchestrator and scripts ask it for a run's metrics (typed:
:class:`RunMetrics`), its predictions and the paths of what it exported,
and never build a run's paths themselves (layout.py names them). A run is
finished when ``metrics.json`` is there (it is written last); the metrics
of a run whose key records another format (layout.py ``FORMAT_VERSION``)
are refused, naming the command that trains it again.

:meth:`RunOutput.find` finds runs under run folders, folders that hold
them (``<workdir>/runs``) and Hydra multirun folders (each job's saved
config names its run).
"""

from __future__ import annotations

import dataclasses
import glob
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from workflow.artifacts import read_json
from workflow.config import EmbeddingMode, EmbeddingScale
from workflow.errors import ContractError
from workflow.training import predictions
from workflow.training.identity import run_name
from workflow.training.layout import FORMAT_VERSION, METRICS, RUNS, RunLayout, run_dir
from workflow.training.predictions import Predictions


@dataclass(frozen=True)
class Score:
    """A split scored by the trained classifier (the tested weights)."""

    loss: float
    accuracy: float
    auc: Optional[float]  # None with one class only
    examples: int


@dataclass(frozen=True)
class RunMetrics:
    """``metrics.json``: what a finished run trained, how, and how it scored.

    Runs of earlier releases lack some fields; they read as what those runs did (:meth:`from_json`).
    """

    run: str  # its name (training/identity.py run_name)
    mode: EmbeddingMode
    seed: int
    label_budget: Optional[int]
    vector_source: str  # "word2vec" or an imported file's name (embeddings/layout.py source_name)
    embedding_scale: Optional[EmbeddingScale]  # of its pretrained token rows; None in random mode
    embedding_ngrams: EmbeddingMode  # how its n-gram rows started
    ngram_scale: Optional[EmbeddingScale]  # of its pretrained n-gram rows; None when they are random
    test: Optional[Score]  # None: no test split, or trainer.score_test=false
    selection: str  # how the tested epoch was chosen (training/stage.py SELECTION)
    validation_best_accuracy: Optional[float]
    best_epoch: Optional[int]
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, Any]]  # one record an epoch: epoch, loss, accuracy, val_loss, val_accuracy, val_auc
    train_examples_per_s: Optional[float]
    wall_time_s: float
    replicas: int
    strategy: str
    global_batch_size: int
    learning_rate: float
    examples: dict[str, int]  # labelled examples per split; train: within the label budget
    embedding_rows_changed: int
    identity: dict  # the run's cache key (training/identity.py key)
    config: dict  # the config it ran with, as plain values
    process_id: int
    versions: dict[str, str]

    @property
    def row_scale(self) -> EmbeddingScale:
        """The scale its pretrained token rows started at (a run from before the setting started from the rows as trained)."""
        return self.embedding_scale or EmbeddingScale.as_trained

    @property
    def has_validation(self) -> bool:
        """Whether the run had a validation split to select its epoch on (without one, its last epoch was tested)."""
        return self.examples.get("validation", 0) > 0

    @property
    def labelled(self) -> int:
        """Labelled training reviews the run trained on (its label budget, or the whole split)."""
        return self.examples["train"]

    @classmethod
    def from_json(cls, values: dict) -> "RunMetrics":
        scale, ngram_scale = values.get("embedding_scale"), values.get("ngram_scale")
        return cls(**{
            **{name: values[name] for name in ("run", "seed", "epochs_run", "stopped_early", "history", "wall_time_s", "replicas",
                                               "strategy", "global_batch_size", "learning_rate", "examples", "embedding_rows_changed",
                                               "identity", "config", "process_id", "versions")},
            "mode": EmbeddingMode(values["mode"]),
            "label_budget": values.get("label_budget"),
            "vector_source": values.get("vector_source", "word2vec"),
            "embedding_scale": None if scale is None else EmbeddingScale(scale),
            "embedding_ngrams": EmbeddingMode(values.get("embedding_ngrams", EmbeddingMode.random.value)),
            "ngram_scale": None if ngram_scale is None else EmbeddingScale(ngram_scale),
            "test": None if values["test"] is None else Score(**values["test"]),
            "selection": values.get("selection", ""),
            "validation_best_accuracy": values.get("validation_best_accuracy"),
            "best_epoch": values.get("best_epoch"),
            "train_examples_per_s": values.get("train_examples_per_s"),
        })

    def to_json(self) -> dict:
        values = dataclasses.asdict(self)
        for name in ("mode", "embedding_scale", "embedding_ngrams", "ngram_scale"):
            values[name] = None if values[name] is None else values[name].value
        return values


class RunOutput:
    """One training run's folder: finished (``metrics.json`` there) or not."""

    def __init__(self, root: str):
        self.layout = RunLayout(root)

    @classmethod
    def named(cls, workdir: str, name: str) -> "RunOutput":
        """The run ``<workdir>/runs/<name>``, finished or not."""
        return cls(run_dir(workdir, name))

    @property
    def root(self) -> str:
        return self.layout.root

    @property
    def finished(self) -> bool:
        return os.path.exists(self.layout.metrics)

    def finished_at(self) -> float:
        """When it finished (``time.time()`` of its metrics.json)."""
        return os.path.getmtime(self.layout.metrics)

    @cached_property
    def metrics(self) -> RunMetrics:
        """Its metrics; ContractError, naming what to run, when it has not finished or is of another format."""
        if not self.finished:
            raise ContractError(f"{self.root} holds no finished training run (no metrics.json): run wf-train (or wf-run) first")
        metrics = RunMetrics.from_json(read_json(self.layout.metrics))
        recorded = metrics.identity.get("format_version")
        if recorded != FORMAT_VERSION:
            raise ContractError(f"{self.layout.metrics} is of run format {recorded}, this code reads format {FORMAT_VERSION}: "
                                f"train it again (wf-train or wf-run with its config)")
        return metrics

    def predictions(self, split: str = "test") -> Predictions | None:
        """Its predictions on ``split`` (validation or test), or None when it stored none (a run from before they were
        stored, or one without that split)."""
        return predictions.read(self.layout, split)

    @property
    def classifier(self) -> str:
        """Its trained classifier (``export/model.keras``: token ids, and document rows with ``model.paragraph_vectors``,
        in; probability out; training/model.py loads it)."""
        return self.layout.export

    @property
    def serving(self) -> str | None:
        """Its exported raw-string SavedModel (``export/serving``), or None when it has none."""
        return self.layout.serving if os.path.exists(os.path.join(self.layout.serving, "saved_model.pb")) else None

    @classmethod
    def in_workdir(cls, workdir: str) -> list["RunOutput"]:
        """Every finished run of ``<workdir>/runs``, by name."""
        return [cls(os.path.dirname(path)) for path in sorted(glob.glob(os.path.join(workdir, RUNS, "*", METRICS)))]

    @classmethod
    def find(cls, paths: list[str]) -> list["RunOutput"]:
        """Every finished run under ``paths`` (run folders, folders holding them, Hydra multirun folders), by folder.

        FileNotFoundError naming a path that is not a folder.
        """
        folders: set[str] = set()
        for path in paths:
            if not os.path.isdir(path):
                raise FileNotFoundError(f"report.runs: {path} is not a folder")
            for metrics in glob.glob(os.path.join(path, "**", METRICS), recursive=True):
                folders.add(os.path.dirname(metrics))
            for job_config in glob.glob(os.path.join(path, "**", ".hydra", "config.yaml"), recursive=True):
                folder = _multirun_job_run(job_config)
                if folder and cls(folder).finished:
                    folders.add(folder)
        return [cls(folder) for folder in sorted(folders)]


def _multirun_job_run(job_config: str) -> str | None:
    """The run folder a Hydra multirun job trained into, from the job's saved (unresolved) config: its workdir and its
    run's name (``trainer.run_name``, or named after what it trains). OmegaConf is loaded here only: a training process
    that reads runs needs none of the config machinery."""
    from omegaconf import OmegaConf

    config = OmegaConf.load(job_config)
    workdir = OmegaConf.select(config, "workdir")
    if not workdir or OmegaConf.select(config, "trainer") is None:
        return None
    if OmegaConf.is_interpolation(config.trainer, "run_name"):  # a release that named runs in the YAML: named as this one does
        config.trainer.run_name = None
    return run_dir(workdir, run_name(config))
