"""Shared fixtures: small corpora built by the tests themselves, and the composed config."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import Callable

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from workflow import config as schema
from workflow.cli import CONFIG_DIR

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
        defaults = [f"workdir={tmp_path / 'work'}", "beam.running_mode=in_memory", "beam.num_workers=1"]
        with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
            return compose("config", overrides=defaults + list(overrides))

    return make


def typed(cfg: DictConfig) -> schema.Config:
    schema.validate(cfg)
    return OmegaConf.to_object(cfg)
