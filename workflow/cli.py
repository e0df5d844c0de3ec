"""Console entry points (``wf-preprocess``...): thin ``@hydra.main`` wrappers.

Each one turns the composed config into the typed schema objects, checks
ranges, runs its stage and turns a user error (bad input, bad config value)
into one line on stderr and exit status 2 instead of a traceback.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any import loads TensorFlow: its C++ INFO/WARNING lines drown the progress output

import sys
from pathlib import Path
from typing import Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from workflow import config as schema
from workflow.artifacts import ContractError
from workflow.embeddings.vectors_io import VectorsError
from workflow.preprocess.pipeline import EmptyCorpusError
from workflow.preprocess.readers import InputError

schema.register()
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")  # the checkout's (or image's) conf/

USER_ERRORS = (schema.ConfigError, InputError, EmptyCorpusError, ContractError, VectorsError)


def user_error(error: BaseException) -> BaseException | None:
    """The user-facing error behind ``error``, also when a Beam worker raised it.

    Beam re-raises worker exceptions wrapped (and, across processes, only as
    text), so the chain and the message are both searched.
    """
    seen = error
    while seen is not None:
        if isinstance(seen, USER_ERRORS):
            return seen
        for kind in USER_ERRORS:
            marker = f"{kind.__name__}: "
            text = str(seen)
            if marker in text:
                return kind(text.split(marker, 1)[1].splitlines()[0].split(" [while running")[0])
        seen = seen.__cause__ or seen.__context__
    return None


def run_stage(cfg: DictConfig, stage: Callable[[schema.Config, dict], object]) -> None:
    """Validate ``cfg``, run ``stage``, exit 2 with one line on a user error."""
    try:
        schema.validate(cfg)
        resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        typed: schema.Config = OmegaConf.to_object(cfg)
        stage(typed, resolved)
    except Exception as error:  # noqa: BLE001 - reduced to one line when it is the user's to fix
        found = user_error(error)
        if found is None:
            raise
        print(f"error: {found}", file=sys.stderr)
        sys.exit(2)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def preprocess(cfg: DictConfig) -> None:
    """Stage 1: corpus -> vocab.tsv, TFRecord splits, word2vec corpus, stats."""
    from workflow.preprocess import stage

    run_stage(cfg, stage.run)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def word2vec(cfg: DictConfig) -> None:
    """Stage 2: word vectors (trained or imported) -> embedding_matrix.npy, coverage, quality."""
    from workflow.embeddings import stage

    run_stage(cfg, stage.run)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def train(cfg: DictConfig) -> None:
    """Stage 3: the Keras Embedding classifier (frozen / finetune / random) under tf.distribute."""
    from workflow import processes

    if HydraConfig.initialized() and HydraConfig.get().mode is RunMode.MULTIRUN:
        run_stage(cfg, lambda config, resolved: processes.train_in_fresh_process(config, resolved, job_log_file()))
    else:
        run_stage(cfg, processes.train_job)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def report(cfg: DictConfig) -> None:
    """Stage 4: results.md/.csv, figures, TensorBoard projector and insight over finished runs."""
    from workflow.report import stage

    run_stage(cfg, stage.run)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def run_all(cfg: DictConfig) -> None:
    """The whole workflow: preprocess -> word2vec -> train (sweep.modes x sweep.seeds) -> report, skipping finished stages."""
    from workflow import orchestrate

    run_stage(cfg, lambda config, resolved: orchestrate.run(cfg, config, resolved, job_log_file()))


def job_log_file() -> str:
    """The log file Hydra opened for this job (children append their lines to it)."""
    hydra_config = HydraConfig.get()
    return str(Path(hydra_config.runtime.output_dir) / f"{hydra_config.job.name}.log")


if __name__ == "__main__":
    preprocess()
