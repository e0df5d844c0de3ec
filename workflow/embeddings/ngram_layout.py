"""What the n-gram stage writes: the file names of ``<workdir>/ngrams/<vector source>/``.

One folder per vector source (``word2vec``, or an imported file's name), since
the n-gram vectors are learned beside that source's token rows (publishing:
workflow/artifacts.py)::

    bigram_rows.npy         int64 [n]: the rows of the bigram table (buckets, 1 to model.bigram_buckets) that have a vector, ascending
    bigram_vectors.npy      float32 [n, dim]: their vectors, in the token rows' space (dim: the token rows')
    trigram_rows.npy        the same for the trigram table, when model.trigram_buckets > 0
    trigram_vectors.npy
    coverage.json           per table: buckets, buckets the corpus has, buckets with a vector, occurrences they cover
    manifest.json           cache key, the digests of the files above, dim, timings (written last)

A row without a vector keeps the layer's random start. Later stages open the
folder through ``NgramOutput`` (ngram_output.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile, join

ORDER_NAMES = {2: "bigram", 3: "trigram"}  # n-gram order -> the name of its table and files


@dataclass(frozen=True)
class NgramLayout:
    """File names inside one n-gram output folder (final or staging)."""

    root: str
    coverage = StageFile("coverage.json")
    manifest = StageFile(MANIFEST)

    def rows(self, order: int) -> str:
        return join(self.root, f"{ORDER_NAMES[order]}_rows.npy")

    def vectors(self, order: int) -> str:
        return join(self.root, f"{ORDER_NAMES[order]}_vectors.npy")
