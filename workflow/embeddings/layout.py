"""What the embedding stage writes: the file names of ``<workdir>/word2vec/`` and ``<workdir>/imported/<file name>/``.

Vectors trained on the corpus are in ``<workdir>/word2vec/``, an imported
file's in ``<workdir>/imported/<file name>/`` (output.vectors_dir), the same
files (publishing: workflow/artifacts.py)::

    vectors.bin                            the word vectors, word2vec binary format (no pickle)
    embedding_matrix.npy                   float32 (vocabulary size, dim); row i = vector of id i
    coverage.json                          share of vocabulary types and corpus tokens with a vector
    quality.json                           analogies, WordSim-353, nearest neighbours of probe words
    manifest.json                          cache key, vocab.tsv and matrix digests, dim, quality settings, timings (written last)

Later stages open the folder through ``Word2VecOutput`` (output.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile

TRAINED_HERE = "word2vec"  # the name of the vectors trained on the corpus


def source_name(vectors: str | None) -> str:
    """The name of a vector source (``embedding.vectors``): ``word2vec`` (trained here) or the imported file's name without
    its extensions, e.g. ``glove.6B.100d``. It names the source's folders and is part of run names."""
    if not vectors:
        return TRAINED_HERE
    name = os.path.basename(vectors.rstrip("/"))
    for suffix in (".gz", ".bin", ".txt", ".vec"):
        name = name.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "vectors"


@dataclass(frozen=True)
class Word2VecLayout:
    """File names inside one word2vec output folder (final or staging)."""

    root: str
    vectors = StageFile("vectors.bin")
    matrix = StageFile("embedding_matrix.npy")
    coverage = StageFile("coverage.json")
    quality = StageFile("quality.json")
    manifest = StageFile(MANIFEST)
