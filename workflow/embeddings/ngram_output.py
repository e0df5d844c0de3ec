"""The one way later stages open the n-gram stage's folder: ``NgramOutput(workdir, embedding.vectors)``.

The trainer gets the pretrained n-gram rows through :meth:`NgramOutput.rows`,
which checks that they were learned from the vocabulary it reads, for the
tables it builds (the bucket counts), beside the token rows it starts from
and at their width: a mismatch is a ContractError naming both sides, never a
silent misalignment. Like ``Word2VecOutput``, it resolves the folder's pointer
to its published version once (workflow/artifacts.py).
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from workflow.artifacts import current_version, file_sha256, join, read_json, require_manifest, stage_dir
from workflow.embeddings.layout import source_name
from workflow.embeddings.ngram_layout import ORDER_NAMES, NgramLayout
from workflow.errors import ContractError

STAGE = "ngrams"
# What the stage writes, as a version in its key: bump it with any change to the files it writes or their meaning
# (the hash of the n-grams included), so that no output of an older format is re-used. 1: the first format.
FORMAT_VERSION = 1
RERUN = "wf-run (or wf-word2vec) with this config"  # what brings the stage up to date (workflow/orchestrate.py, workflow/cli.py)


def ngrams_dir(workdir: str, vectors: str | None) -> str:
    """``<workdir>/ngrams/<vector source>``: ``word2vec``, or the imported file's name (layout.source_name)."""
    return join(stage_dir(workdir, STAGE), source_name(vectors))


def table_buckets(config: Any) -> dict[int, int]:
    """Order -> bucket count of each n-gram table the model has (``{2: 1000000}``): ``model.bigram_buckets``, ``model.trigram_buckets``."""
    return {order: count for order, count in ((2, config.model.bigram_buckets), (3, config.model.trigram_buckets)) if count > 0}


class NgramRows(NamedTuple):
    """The pretrained rows of one n-gram table."""

    rows: np.ndarray  # int64 [n]: row ids (buckets, 1 to the table's bucket count), ascending
    vectors: np.ndarray  # float32 [n, dim]


class NgramOutput:
    """A finished n-gram stage for one vector source (ContractError, naming the command to run, when there is none)."""

    def __init__(self, workdir: str, vectors: str | None = None):
        self.layout = NgramLayout(current_version(ngrams_dir(workdir, vectors)))

    @cached_property
    def manifest(self) -> dict:
        return require_manifest(self.layout.root, RERUN, "n-gram", FORMAT_VERSION)

    @property
    def rows_sha256(self) -> str:
        """One digest of every rows and vectors file: what a training run that reads them depends on."""
        return self.manifest["outputs"]["rows_sha256"]

    @property
    def token_matrix_sha256(self) -> str:
        """The token matrix the n-gram vectors were learned beside."""
        return self.manifest["inputs"]["token_matrix_sha256"]

    def coverage(self) -> dict:
        """coverage.json: per table (``bigram``, ``trigram``), its buckets, those seen, those with a vector, occurrences covered."""
        return read_json(self.layout.coverage)

    def rows(self, vocab_sha256: str, buckets: dict[int, int], dim: int, token_matrix_sha256: str | None = None) -> dict[int, NgramRows]:
        """The pretrained rows of every table ``buckets`` (order -> model bucket count, > 0) names, checked.

        ``token_matrix_sha256``: the token matrix the run starts from (None when it reads none: random token rows).
        """
        manifest, root = self.manifest, self.layout.root
        built_from = manifest["inputs"]["vocab_sha256"]
        if built_from != vocab_sha256:
            raise ContractError(f"{root}: the n-gram rows were learned for vocab.tsv sha256 {built_from[:12]}, but the vocabulary is "
                                f"now {vocab_sha256[:12]}: run {RERUN}")
        built_for = {int(order): count for order, count in manifest["outputs"]["buckets"].items()}
        if built_for != buckets:
            raise ContractError(f"{root}: the n-gram rows were learned for {_tables(built_for)}, but the model has {_tables(buckets)}: run {RERUN}")
        if token_matrix_sha256 is not None and token_matrix_sha256 != self.token_matrix_sha256:
            raise ContractError(f"{root}: the n-gram rows were learned beside token matrix sha256 {self.token_matrix_sha256[:12]}, but this "
                                f"run starts from {token_matrix_sha256[:12]}: run {RERUN}")
        if manifest["outputs"]["dim"] != dim:
            raise ContractError(f"{root}: the n-gram rows have width {manifest['outputs']['dim']}, the token rows {dim} "
                                f"(embedding.vectors' width, or word2vec.vector_size): the bag averages them, so they must match; run {RERUN}")
        return {order: self._table(order, count, dim) for order, count in buckets.items()}

    def _table(self, order: int, buckets: int, dim: int) -> NgramRows:
        files = self.manifest["outputs"]["files"]
        loaded = []
        for path in (self.layout.rows(order), self.layout.vectors(order)):
            name = os.path.basename(path)
            if not os.path.exists(path) or file_sha256(path) != files[name]:
                raise ContractError(f"{path} is missing or changed after its manifest was written: run {RERUN}")
            loaded.append(np.load(path))
        rows, vectors = loaded
        if vectors.shape != (len(rows), dim) or (len(rows) and (rows[0] < 1 or rows[-1] > buckets)):
            raise ContractError(f"{join(self.layout.root, ORDER_NAMES[order])}: {len(rows)} rows in [1, {buckets}] with vectors "
                                f"{vectors.shape}, expected ({len(rows)}, {dim}): run {RERUN}")
        return NgramRows(rows, vectors)


def _tables(buckets: dict[int, int]) -> str:
    """``model.bigram_buckets=100000, model.trigram_buckets=0``."""
    return ", ".join(f"model.{ORDER_NAMES[order]}_buckets={buckets.get(order, 0)}" for order in sorted(ORDER_NAMES))
