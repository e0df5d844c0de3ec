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

from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile


@dataclass(frozen=True)
class Word2VecLayout:
    """File names inside one word2vec output folder (final or staging)."""

    root: str
    vectors = StageFile("vectors.bin")
    matrix = StageFile("embedding_matrix.npy")
    coverage = StageFile("coverage.json")
    quality = StageFile("quality.json")
    manifest = StageFile(MANIFEST)
