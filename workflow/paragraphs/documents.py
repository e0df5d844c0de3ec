"""The documents paragraph vectors learn from and are inferred for.

A document is a review's tokens, a token outside the vocabulary as ``<unk>``
(as the examples hold it), then each run of two adjacent tokens as one word
``a_b`` and, with ``paragraph_vectors.ngrams=3``, each run of three ``a_b_c``:
PV-DBOW predicts a document's words from its vector alone, so these n-grams
are how it sees word order. The labelled reviews come from the
preprocessing stage's examples (every token, not cut at ``model.max_len``),
the unlabelled ones from its corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from workflow.preprocess.layout import UNK, UNSUP
from workflow.preprocess.output import PreprocessOutput


def with_ngrams(tokens: list[str], longest: int) -> list[str]:
    """A document as PV-DBOW reads it: its tokens, then each run of 2 adjacent tokens as one word ``a_b``, then each run
    of 3 ``a_b_c``, and so on up to runs of ``longest`` (1: the tokens alone)."""
    words = list(tokens)
    for n in range(2, longest + 1):
        words += ["_".join(tokens[start:start + n]) for start in range(len(tokens) - n + 1)]
    return words


@dataclass(frozen=True)
class LabelledDocuments:
    """One labelled split, in doc_id order (the order of every run's predictions)."""

    doc_ids: list[str]
    labels: np.ndarray  # int64 [reviews], 0 or 1
    documents: list[list[str]]  # with_ngrams of each review's tokens


def labelled(preprocess: PreprocessOutput, split: str, vocabulary: list[str], longest: int) -> LabelledDocuments:
    """The reviews of ``split`` (train, validation or test) from its examples, n-grams up to ``longest`` tokens added; empty
    when the split has none."""
    from workflow.training import data  # TensorFlow reads the examples

    files = preprocess.example_files(split)
    reviews = sorted(data.reviews(files), key=lambda review: review[0]) if files else []
    return LabelledDocuments([doc_id for doc_id, _, _ in reviews], np.array([label for _, _, label in reviews], dtype=np.int64),
                             [with_ngrams([vocabulary[i] for i in tokens], longest) for _, tokens, _ in reviews])


def unlabelled(preprocess: PreprocessOutput, known: set[str], longest: int) -> Iterator[list[str]]:
    """The corpus's unlabelled reviews, a token outside ``known`` (the vocabulary) as ``<unk>``, n-grams up to ``longest``."""
    for path in preprocess.corpus_files(UNSUP):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                yield with_ngrams([token if token in known else UNK for token in line.split()], longest)
