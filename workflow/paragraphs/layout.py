"""What the paragraph-vector stage writes: the file names of ``<workdir>/paragraph_vectors/pv-dbow-seed<seed>/``::

    train_vectors.npy                float32 [reviews, dim]: each training review's inferred vector, in doc_id order
    validation_vectors.npy           the same for the validation reviews (when the corpus has a validation split)
    test_vectors.npy                 and for the test reviews (when it has a test split)
    validation_predictions.csv       the regression's probabilities, in the runs' format (training/predictions.py)
    test_predictions.csv
    classifier.json                  the chosen L2 strength, every strength's cross-validation accuracy, the
                                     standardisation and the weights
    manifest.json                    cache key, the digests of the files above, validation accuracy, timings (written last)

The trained PV-DBOW model is not kept (a few GB with the n-grams): the
vectors and the regression are what later steps read, through
``ParagraphOutput`` (output.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile, join
from workflow.training.layout import RunLayout


@dataclass(frozen=True)
class ParagraphLayout:
    """File names inside one paragraph-vector output folder (final or staging)."""

    root: str
    classifier = StageFile("classifier.json")
    manifest = StageFile(MANIFEST)

    def vectors(self, split: str) -> str:
        """``train_vectors.npy``, ``validation_vectors.npy`` or ``test_vectors.npy``."""
        return join(self.root, f"{split}_vectors.npy")

    def predictions(self, split: str) -> str:
        """``validation_predictions.csv`` or ``test_predictions.csv``: the names a run's folder uses (ValueError for
        another split)."""
        return RunLayout(self.root).predictions(split)
