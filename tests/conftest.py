"""Shared fixtures: small corpora built by the tests themselves, and the composed config."""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Callable

import pytest
from omegaconf import DictConfig

from workflow import config as schema
from workflow.compose import compose, load
from workflow.training import identity


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``-n 2 --dist loadgroup``): the tests of one module run in one worker, so a module's fixtures
    are built once, and every test of the session's finished workflow (``workflow_run``) runs in one worker, so that
    wf-run runs once."""
    for item in items:
        group = "workflow_run" if "workflow_run" in getattr(item, "fixturenames", ()) else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))

# A tiny aclImdb corpus whose vocabulary is known exactly (see test_preprocess_stage).
TINY_REVIEWS = {
    "aclImdb/train/pos/0_9.txt": b"Great film, great cast.<br /><br />Great!",
    "aclImdb/train/pos/1_8.txt": b"A great story and a fine cast",
    "aclImdb/train/neg/2_1.txt": b"Bad film. Bad plot, bad acting",
    "aclImdb/train/neg/3_2.txt": b"A boring plot and a bad ending",
    "aclImdb/train/unsup/4_0.txt": b"The plot of the film is fine",
    "aclImdb/test/pos/5_10.txt": b"Testonlyword great great",
    "aclImdb/test/neg/6_3.txt": b"Testonlyword bad bad",
    "aclImdb/README": b"not a review",
}


def write_aclimdb_archive(path: Path, reviews: dict[str, bytes]) -> Path:
    """A gzip'd tar in the aclImdb layout (deterministic bytes)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
        with tarfile.open(fileobj=packed, mode="w") as archive:
            for name, data in sorted(reviews.items()):
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 0
                archive.addfile(info, io.BytesIO(data))
    return path


def write_aclimdb_folder(root: Path, reviews: dict[str, bytes]) -> Path:
    for name, data in reviews.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root / "aclImdb"


@pytest.fixture
def tiny_archive(tmp_path: Path) -> Path:
    return write_aclimdb_archive(tmp_path / "tiny.tar.gz", TINY_REVIEWS)


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose the real config tree with overrides; in-memory Beam and a tmp workdir by default."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(tmp_path / "work", *overrides)

    return make


def typed(cfg: DictConfig) -> schema.Config:
    return load(cfg)


POSITIVE_WORDS = ["superb", "wonderful", "delightful", "moving", "brilliant", "charming", "gripping", "touching"]
NEGATIVE_WORDS = ["dreadful", "tedious", "awful", "dull", "clumsy", "painful", "pointless", "lifeless"]
NEUTRAL_WORDS = [f"word{i}" for i in range(60)] + ["the", "film", "movie", "plot", "actor", "scene", "story", "and", "a", "of"]


def synthetic_reviews(train_per_label: int, test_per_label: int, unsup: int, seed: int = 0) -> dict[str, bytes]:
    """An aclImdb-shaped corpus whose label is learnable: each review mixes neutral words with
    4-8 words of its sentiment and 0-2 of the other one."""
    import random

    rng = random.Random(seed)

    def review(label: int | None) -> bytes:
        words = rng.choices(NEUTRAL_WORDS, k=rng.randint(15, 45))
        if label is not None:
            own, other = (POSITIVE_WORDS, NEGATIVE_WORDS) if label else (NEGATIVE_WORDS, POSITIVE_WORDS)
            words += rng.choices(own, k=rng.randint(4, 8)) + rng.choices(other, k=rng.randint(0, 2))
        else:
            words += rng.choices(POSITIVE_WORDS + NEGATIVE_WORDS, k=rng.randint(2, 6))
        rng.shuffle(words)
        return (" ".join(words).capitalize() + ".").encode()

    reviews, number = {}, 0
    for split, per_label in (("train", train_per_label), ("test", test_per_label)):
        for folder, label in (("pos", 1), ("neg", 0)):
            for _ in range(per_label):
                reviews[f"aclImdb/{split}/{folder}/{number}_{8 if label else 2}.txt"] = review(label)
                number += 1
    for _ in range(unsup):
        reviews[f"aclImdb/train/unsup/{number}_0.txt"] = review(None)
        number += 1
    return reviews


def compose_config(workdir: Path, *overrides: str) -> DictConfig:
    """The real config tree for ``workdir``, shrunk for tests (in-memory Beam, one worker)."""
    defaults = [f"workdir={workdir}", "beam.running_mode=in_memory", "beam.num_workers=1"]
    return compose(*defaults, *overrides)


# The workflow on a small synthetic corpus, shrunk to run in about a minute (test_workflow_run, test_guide).
SMALL = ("word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=5", "beam.running_mode=in_memory",
         "beam.num_workers=1", "trainer.epochs=3", "trainer.batch_size=16", "trainer.learning_rate=0.01", "trainer.min_epoch_examples=1",
         "report.projector_tokens=40")
# Unlabelled reviews with words no labelled review has: in the vocabulary, never in a training batch.
UNLABELLED_ONLY = {f"aclImdb/train/unsup/{9000 + number}_0.txt": text.encode() for number, text in enumerate(
    ["A haunting score and a mysterious castle", "The castle is haunting", "A mysterious score"])}


def workflow_reviews() -> dict[str, bytes]:
    """The corpus of the ``workflow_run`` fixture."""
    return synthetic_reviews(150, 50, 100, seed=2) | UNLABELLED_ONLY


def run_name(mode: str, seed: int = 0, model: str = "cnn3", labels: int | None = None) -> str:
    """The run folder name of ``model`` (the default encoder) over this workdir's own word2vec vectors, at the default scale
    (``row``), with ``labels`` labelled reviews (None: all)."""
    return identity.run_name(schema.with_values(schema.Config(), {"embedding.mode": schema.EmbeddingMode(mode), "model.name": model,
                                                                  "trainer.label_budget": labels, "seed": seed}))


def command(entry: str, *arguments: str, cwd: Path) -> str:
    """Run a wf-* entry point in a fresh process; its combined output (asserting success). For what only a process of
    its own shows (its exit status, what it writes outside Python's streams, its imports); otherwise :func:`run_here`."""
    process = subprocess.run([sys.executable, "-c", f"from workflow.cli import {entry}; {entry}()", *arguments],
                             cwd=cwd, capture_output=True, text=True, timeout=600)
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-4000:]
    return output


def run_here(entry: str, *arguments: str, cwd: Path, status: int = 0) -> str:
    """Run a wf-* entry point in this process, as its command line would (Hydra's ``@hydra.main`` parses
    ``arguments``); its terminal output (standard output: the stage lines, epochs, warnings and results), asserting
    its exit ``status``.

    The test process has TensorFlow, Beam and Hydra loaded already, so a command costs its work only (a fresh
    process pays about 6 s of imports first). Hydra's logging configuration and its singletons are put back
    afterwards, so the next test starts as it would have.
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton

    from workflow import cli

    logging_state = _logging_state()
    singletons = Singleton.get_state()
    terminal = io.StringIO()
    previous_argv, previous_cwd = sys.argv, os.getcwd()
    code = 0
    try:
        sys.argv = [f"wf-{entry}", *arguments]
        os.chdir(cwd)
        # Standard error stays: Hydra's logging configuration closes every existing handler, and absl's closes its
        # stream (pytest's capture) unless it is the current sys.stderr. What a failure writes there, pytest shows.
        with contextlib.redirect_stdout(terminal):
            try:
                getattr(cli, entry)()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = previous_argv
        os.chdir(previous_cwd)
        GlobalHydra.instance().clear()
        Singleton.set_state(singletons)
        _restore_logging(logging_state)
    output = terminal.getvalue()
    assert code == status, output[-4000:]
    return output


def _logging_state() -> dict:
    """Every logger's handlers, level, propagation and filters (Hydra's dictConfig replaces them)."""
    loggers = {"": logging.getLogger(), **{name: logger for name, logger in logging.Logger.manager.loggerDict.items()
                                            if isinstance(logger, logging.Logger)}}
    return {name: (logger, list(logger.handlers), logger.level, logger.propagate, logger.disabled, list(logger.filters))
            for name, logger in loggers.items()}


def _restore_logging(state: dict) -> None:
    current = {name: logger for name, logger in logging.Logger.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    for name, logger in [("", logging.getLogger()), *current.items()]:
        handlers = state.get(name, (logger, [], logging.NOTSET, True, False, []))[1]
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
    for name, logger in current.items():
        if name not in state:
            logger.handlers, logger.level, logger.propagate, logger.disabled, logger.filters = [], logging.NOTSET, True, False, []
    for logger, handlers, level, propagate, disabled, filters in state.values():
        logger.handlers, logger.level, logger.propagate, logger.disabled, logger.filters = handlers, level, propagate, disabled, filters
    logging.Logger.manager._clear_cache()  # levels changed under the loggers' isEnabledFor caches


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory) -> tuple[Path, str]:
    """A finished ``wf-run`` (3 modes, seed 0, report) over a synthetic aclImdb archive: (workdir, its output through a
    pipe). The command line in a process of its own, as a user runs it (test_terminal reads its output).

    Session-wide and read-only: the guide's and the workflow tests read it; a test that runs stages on it works on
    its own copy (:func:`workdir_copy`).
    """
    root = tmp_path_factory.mktemp("workflow")
    archive = write_aclimdb_archive(root / "synthetic.tar.gz", workflow_reviews())
    workdir = root / "work"
    output = command("run_all", f"workdir={workdir}", "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *SMALL, cwd=root)
    return workdir, output


@pytest.fixture
def workflow_copy(workflow_run, tmp_path) -> Path:
    """A copy of the session's finished workdir, for a test that runs stages on it (the session's stays as it was).

    The version links (``preprocess -> .preprocess.v-<id>``) are copied as links; a command on the copy names the
    session's archive (:func:`workflow_archive`), so its inputs are unchanged and its stages up to date.
    """
    copy = tmp_path / "work"
    shutil.copytree(workflow_run[0], copy, symlinks=True)
    return copy


def workflow_archive(workflow_run: tuple[Path, str]) -> Path:
    """The session's synthetic aclImdb archive (read it, never write it: see test_changed_test_reviews_retrain_and_retest)."""
    return workflow_run[0].parent / "synthetic.tar.gz"
