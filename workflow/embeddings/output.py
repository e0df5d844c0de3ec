"""The one way later stages open a vector source's folder: ``Word2VecOutput(workdir, embedding.vectors)``.

Vectors trained on the corpus live in ``<workdir>/word2vec``; each imported
file in ``<workdir>/imported/<file name>``, so that a sweep can compare
sources (``sweep.vectors``) without one import replacing another.
The trainer and the report get the embedding matrix through :meth:`matrix`,
which checks it was built from the vocabulary they read (by digest) and has
one row per token, so a matrix of another vocabulary is an error, never a
silent misalignment. Like ``PreprocessOutput``, it resolves the folder's
pointer to its published version once (workflow/artifacts.py).
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from workflow.artifacts import current_version, file_sha256, join, read_json, read_manifest, require_manifest, stage_dir
from workflow.embeddings.layout import Word2VecLayout, source_name
from workflow.errors import ContractError

STAGE = "word2vec"
IMPORTED = "imported"
# What the stage writes, as a version in its key: bump it with any change to the files it writes or their meaning,
# so that no output of an older format is re-used (or read: the reader refuses one). 1: the first versioned format.
FORMAT_VERSION = 1


def vectors_dir(workdir: str, vectors: str | None) -> str:
    """``<workdir>/word2vec`` (trained on the corpus) or ``<workdir>/imported/<file name>`` (``vectors``, imported)."""
    return stage_dir(workdir, STAGE) if vectors is None else join(stage_dir(workdir, IMPORTED), source_name(vectors))


class Word2VecOutput:
    """A finished embedding stage for one vector source (ContractError, naming the command to run, when there is none)."""

    def __init__(self, workdir: str, vectors: str | None = None):
        self.layout = Word2VecLayout(current_version(vectors_dir(workdir, vectors)))

    def exists(self) -> bool:
        return read_manifest(self.layout.root) is not None

    @cached_property
    def manifest(self) -> dict:
        return require_manifest(self.layout.root, "wf-word2vec", "word2vec", FORMAT_VERSION)

    @property
    def trained_here(self) -> bool:
        """Whether the vectors were trained on this workdir's corpus (not imported)."""
        return self.manifest["inputs"]["vectors"]["kind"] == "word2vec"

    def coverage(self) -> dict:
        """coverage.json: vocabulary types and corpus tokens with a vector (``corpus_tokens``: the corpus's size)."""
        return read_json(self.layout.coverage)

    @property
    def matrix_sha256(self) -> str:
        return self.manifest["outputs"]["matrix_sha256"]

    def matrix(self, vocab_sha256: str, vocabulary_size: int, dim: int | None = None) -> np.ndarray:
        """float32 ``(vocabulary_size, dim)``, row i = vector of id i; ContractError naming both sides on any mismatch."""
        layout = self.layout
        built_from = self.manifest["inputs"]["vocab_sha256"]
        if built_from != vocab_sha256:
            raise ContractError(
                f"{layout.matrix} was built from vocab.tsv sha256 {built_from[:12]}, but the vocabulary is now {vocab_sha256[:12]}: re-run wf-word2vec"
            )
        if not os.path.exists(layout.matrix):
            raise ContractError(f"{layout.matrix} is missing although {layout.manifest} lists it: re-run wf-word2vec")
        digest = file_sha256(layout.matrix)
        if digest != self.matrix_sha256:
            raise ContractError(f"{layout.matrix} changed after its manifest was written: re-run wf-word2vec")
        matrix = np.load(layout.matrix)
        if matrix.shape[0] != vocabulary_size:
            raise ContractError(f"{layout.matrix} has {matrix.shape[0]} rows but the vocabulary has {vocabulary_size}")
        if dim is not None and matrix.shape[1] != dim:
            raise ContractError(f"{layout.matrix} has dimension {matrix.shape[1]} but the config asks for {dim}")
        return matrix
