"""gensim's PV-DBOW (``Doc2Vec(dm=0)``): trained on the training-side documents, then a vector inferred for each review.

The documents are shuffled before training. In file order (the negative
training reviews, then the positive ones, then the unlabelled) the vectors
also learn where a document sits, which gives its label away: on IMDB,
cross-validation over films read 0.955 against 0.884 on validation;
shuffled, 0.907 and 0.909 (docs/results.md). Every review a classifier reads
(training, validation and test alike) gets an inferred vector: a vector
learned along with the model is of another kind than an inferred one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Iterable

import numpy as np
from gensim.models.doc2vec import Doc2Vec

from workflow.config import ParagraphVectorsConfig, ProgressDisplay
from workflow.console import StageProgress
from workflow.embeddings.word2vec import train_with_progress
from workflow.paragraphs.output import NAME

log = logging.getLogger(__name__)


def trained(documents: Iterable[list[str]], settings: ParagraphVectorsConfig, scratch_dir: str,
            display: ProgressDisplay = ProgressDisplay.auto) -> Doc2Vec:
    """PV-DBOW over ``documents``, shuffled with ``settings.seed``, its progress shown on ``display``; its corpus file is
    written in ``scratch_dir`` (gensim's worker threads read it themselves) and removed."""
    lines = [" ".join(document) + "\n" for document in documents]
    np.random.default_rng(settings.seed).shuffle(lines)
    log.info("PV-DBOW over %d documents: %d dimensions, %d epochs, %d workers", len(lines), settings.vector_size, settings.epochs,
             settings.workers)
    with tempfile.TemporaryDirectory(dir=scratch_dir) as scratch:
        corpus_file = os.path.join(scratch, "documents.txt")
        with open(corpus_file, "w", encoding="utf-8") as out:
            out.writelines(lines)
        del lines
        model = Doc2Vec(dm=0, vector_size=settings.vector_size, negative=settings.negative, hs=0, sample=settings.sample,
                        min_count=settings.min_count, epochs=settings.epochs, workers=settings.workers, seed=settings.seed)
        model.build_vocab(corpus_file=corpus_file)
        with StageProgress(NAME, model.corpus_total_words * settings.epochs, " words", display) as progress:
            train_with_progress(model, corpus_file, model.corpus_total_words, settings.epochs, progress, total_examples=model.corpus_count)
    return model


def inferred(model: Doc2Vec, documents: list[list[str]], progress: StageProgress | None = None, before: int = 0, note: str = "") -> np.ndarray:
    """A vector ``float32 [documents, dim]`` inferred for each document (gensim's ``infer_vector``, the model's epochs).

    ``progress``: a display counting documents, ``before`` of them inferred before these."""
    vectors = np.empty((len(documents), model.vector_size), dtype=np.float32)
    for i, document in enumerate(documents):
        vectors[i] = model.infer_vector(document)
        if progress is not None and (i + 1) % 100 == 0:
            progress.update(before + i + 1, note)
    return vectors
