"""Finding finished training runs: run folders, folders that hold them, Hydra multirun folders."""

from __future__ import annotations

import dataclasses
import glob
import os
from dataclasses import dataclass

from omegaconf import OmegaConf

from workflow.artifacts import RunLayout, read_json, run_dir


MODE_ORDER = ("frozen", "finetune", "random")  # the order of every table and figure


def mode_of(arm: str) -> str:
    """The mode of an arm: ``finetune (glove.6B.100d)`` -> ``finetune``."""
    return arm.split(" (", 1)[0]


def source_of(arm: str) -> str:
    """The vector source an arm names: ``finetune (glove.6B.100d)`` -> ``glove.6B.100d``; ``finetune`` -> ``""``."""
    return arm.partition(" (")[2].removesuffix(")")


def mode_rank(arm: str) -> int:
    mode = mode_of(arm)
    return MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)


@dataclass(frozen=True)
class FinishedRun:
    layout: RunLayout
    metrics: dict
    with_source: bool = False  # the runs compared come from more than one vector source: arms name theirs

    @property
    def name(self) -> str:
        return self.metrics["run"]

    @property
    def mode(self) -> str:
        return self.metrics["mode"]

    @property
    def vectors(self) -> str:
        """The vector source: ``word2vec`` (trained on the corpus) or the imported file's name."""
        return self.metrics.get("vector_source", "word2vec")

    @property
    def arm(self) -> str:
        """What the report compares: the mode, e.g. ``finetune``, or ``finetune (glove.6B.100d)`` beside other sources."""
        return f"{self.mode} ({self.vectors})" if self.with_source else self.mode

    @property
    def seed(self) -> int:
        return self.metrics["seed"]

    @property
    def labelled(self) -> int:
        """Labelled training reviews the run trained on (its label budget, or the whole split)."""
        return self.metrics["examples"]["train"]


def _from_multirun_job(job: str) -> str | None:
    """The run folder a Hydra multirun job trained into (its saved, unresolved .hydra/config.yaml says where)."""
    config = OmegaConf.load(os.path.join(job, ".hydra", "config.yaml"))
    workdir, run_name = OmegaConf.select(config, "workdir"), OmegaConf.select(config, "trainer.run_name")
    return run_dir(workdir, run_name) if workdir and run_name else None


def find_runs(paths: list[str]) -> list[FinishedRun]:
    """Every finished run (a folder with metrics.json) under ``paths``, sorted by labelled reviews, arm (frozen, finetune, random), seed."""
    folders: set[str] = set()
    for path in paths:
        if not os.path.isdir(path):
            raise FileNotFoundError(f"report.runs: {path} is not a folder")
        for metrics in glob.glob(os.path.join(path, "**", "metrics.json"), recursive=True):
            folders.add(os.path.dirname(metrics))
        for job_config in glob.glob(os.path.join(path, "**", ".hydra", "config.yaml"), recursive=True):
            folder = _from_multirun_job(os.path.dirname(os.path.dirname(job_config)))
            if folder and os.path.exists(RunLayout(folder).metrics):
                folders.add(folder)
    runs = [FinishedRun(RunLayout(folder), read_json(RunLayout(folder).metrics)) for folder in sorted(folders)]
    if len({run.vectors for run in runs}) > 1:
        runs = [dataclasses.replace(run, with_source=True) for run in runs]
    return sorted(runs, key=lambda run: (run.labelled, mode_rank(run.arm), run.arm, run.seed, run.name))
