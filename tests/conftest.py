"""Shared fixtures: small corpora built by the tests themselves, and the composed config."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Callable

import pytest
from omegaconf import DictConfig, OmegaConf

from workflow import config as schema
from workflow import config_checks
from workflow.cli import compose

schema.register()

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
    config_checks.validate(cfg)
    return OmegaConf.to_object(cfg)


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
    return f"{mode}-{model}-word2vec{'' if mode == 'random' else '-rownorm'}{'' if labels is None else f'-labels{labels}'}-seed{seed}"


def command(entry: str, *arguments: str, cwd: Path) -> str:
    """Run a wf-* entry point in a fresh process; its combined output (asserting success)."""
    process = subprocess.run([sys.executable, "-c", f"from workflow.cli import {entry}; {entry}()", *arguments],
                             cwd=cwd, capture_output=True, text=True, timeout=600)
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory) -> tuple[Path, str]:
    """A finished ``wf-run`` (3 modes, seed 0, report) over a synthetic aclImdb archive: (workdir, its output).

    Session-wide: the guide's test reads it, and test_workflow_run's tests re-run stages on it.
    """
    root = tmp_path_factory.mktemp("workflow")
    archive = write_aclimdb_archive(root / "synthetic.tar.gz", workflow_reviews())
    workdir = root / "work"
    output = command("run_all", f"workdir={workdir}", "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *SMALL, cwd=root)
    return workdir, output
