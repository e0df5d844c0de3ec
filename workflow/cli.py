"""Console entry points (``wf-preprocess``...): thin ``@hydra.main`` wrappers.

Each one turns the composed config into the typed schema objects, checks
ranges, runs its stage and turns a user error (bad input, bad config value)
into one line on stderr and exit status 2 instead of a traceback.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any import loads TensorFlow: its C++ INFO/WARNING lines drown the progress output

import logging
import multiprocessing
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


def _train_here(config: schema.Config, resolved: dict, log_file: str | None = None) -> None:
    """Body of one training job (in this process, or as the target of a fresh one)."""
    if log_file is not None:  # a spawned process starts without Hydra's logging
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s",
                            handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(log_file)], force=True)
    from workflow.training import stage

    try:
        stage.run(config, resolved)
    except Exception as error:  # noqa: BLE001 - same one-line treatment as run_stage
        found = user_error(error)
        if found is None or log_file is None:
            raise
        print(f"error: {found}", file=sys.stderr)
        sys.exit(2)


def _train_in_fresh_process(config: schema.Config, resolved: dict) -> None:
    """Run one multirun job in its own process.

    TensorFlow keeps devices, memory and graph state for the life of a
    process; a fresh ``spawn`` process per job keeps sweep jobs independent.
    """
    hydra_config = HydraConfig.get()
    log_file = str(Path(hydra_config.runtime.output_dir) / f"{hydra_config.job.name}.log")
    process = multiprocessing.get_context("spawn").Process(target=_train_here, args=(config, resolved, log_file))
    process.start()
    process.join()
    if process.exitcode != 0:
        sys.exit(process.exitcode if process.exitcode > 0 else 1)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def train(cfg: DictConfig) -> None:
    """Stage 3: the Keras Embedding classifier (frozen / finetune / random) under tf.distribute."""
    multirun = HydraConfig.initialized() and HydraConfig.get().mode is RunMode.MULTIRUN
    run_stage(cfg, _train_in_fresh_process if multirun else _train_here)


if __name__ == "__main__":
    preprocess()
