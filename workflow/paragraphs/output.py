"""The one way later steps open the paragraph-vector stage's folder: ``ParagraphOutput(paragraph_dir(workdir, seed))``.

It reads like a run where a combination needs one (workflow/report/combination.py):
a ``name`` (a declaration names it), a ``root`` and ``predictions(split)``. Like the other stages'
readers, it resolves the folder's pointer to its published version once
(workflow/artifacts.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property

import numpy as np

from workflow.artifacts import current_version, file_sha256, join, require_manifest, stage_dir
from workflow.errors import ContractError
from workflow.paragraphs.layout import ParagraphLayout
from workflow.training import predictions
from workflow.training.predictions import Predictions

STAGE = "paragraph_vectors"
NAME = "paragraphs"  # the stage's name in its console line (console.STAGE_COLUMN wide)
# What the stage writes, as a version in its key: bump it with any change to the files it writes or their meaning.
# 1: the first format.
FORMAT_VERSION = 1
RERUN = "wf-paragraph-vectors with this config"


def output_name(seed: int) -> str:
    """``pv-dbow-seed15``: the folder's name, and the name a combination's declaration gives it."""
    return f"pv-dbow-seed{seed}"


def paragraph_dir(workdir: str, seed: int) -> str:
    """``<workdir>/paragraph_vectors/pv-dbow-seed<seed>``."""
    return join(stage_dir(workdir, STAGE), output_name(seed))


class ParagraphOutput:
    """A finished paragraph-vector stage (ContractError, naming the command to run, when there is none).

    ``folder``: the stage's folder (``paragraph_dir``), as a combination's command line names it.
    """

    def __init__(self, folder: str):
        self.layout = ParagraphLayout(current_version(folder))

    @property
    def root(self) -> str:
        """The published version folder it reads."""
        return self.layout.root

    @cached_property
    def manifest(self) -> dict:
        return require_manifest(self.layout.root, RERUN, "paragraph-vector", FORMAT_VERSION)

    @property
    def name(self) -> str:
        """``pv-dbow-seed15``: from the seed it was made with, whatever the folder is called."""
        return output_name(self.settings["seed"])

    @property
    def settings(self) -> dict:
        """The ``paragraph_vectors`` settings it was made with."""
        return self.manifest["key"]["config"]["paragraph_vectors"]

    def _checked(self, path: str) -> str:
        if not os.path.exists(path) or file_sha256(path) != self.manifest["outputs"]["files"].get(os.path.basename(path)):
            raise ContractError(f"{path} is missing or changed after its manifest was written: run {RERUN}")
        return path

    @property
    def vectors_sha256(self) -> str:
        """One digest of every split's vectors: what a network that reads them keeps in its key."""
        files = self.manifest["outputs"]["files"]
        return hashlib.sha256(json.dumps({name: digest for name, digest in sorted(files.items()) if name.endswith("_vectors.npy")})
                              .encode()).hexdigest()

    def predictions(self, split: str) -> Predictions | None:
        """The regression's predictions on ``split`` (validation or test), or None when the corpus has no such split."""
        path = self.layout.predictions(split)
        if os.path.basename(path) not in self.manifest["outputs"]["files"]:
            return None
        self._checked(path)
        return predictions.read(self.layout, split)

    def vectors(self, split: str) -> np.ndarray:
        """The inferred vectors ``float32 [reviews, dim]`` of ``split``, in doc_id order (ContractError when the corpus has
        no such split)."""
        if split not in self.manifest["outputs"]["reviews"]:
            raise ContractError(f"{self.layout.root}: no {split} vectors (the corpus had no {split} reviews)")
        return np.load(self._checked(self.layout.vectors(split)))
