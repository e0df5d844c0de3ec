"""The documents paragraph vectors learn from and are inferred for.

A document is a review's tokens, a token outside the vocabulary as ``<unk>``
(as the examples hold it), then each adjacent pair of them as one word
``a_b``: PV-DBOW predicts a document's words from its vector alone, so the
pairs are how it sees word order. The labelled reviews come from the
preprocessing stage's examples (every token, not cut at ``model.max_len``),
the unlabelled ones from its corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from workflow.preprocess.layout import UNK, UNSUP
from workflow.preprocess.output import PreprocessOutput


def with_pairs(tokens: list[str]) -> list[str]:
    """A document as PV-DBOW reads it: its tokens, then each adjacent pair as one word ``a_b``."""
    return tokens + [f"{first}_{second}" for first, second in zip(tokens, tokens[1:])]


@dataclass(frozen=True)
class LabelledDocuments:
    """One labelled split, in doc_id order (the order of every run's predictions)."""

    doc_ids: list[str]
    labels: np.ndarray  # int64 [reviews], 0 or 1
    documents: list[list[str]]  # with_pairs of each review's tokens


def labelled(preprocess: PreprocessOutput, split: str, vocabulary: list[str]) -> LabelledDocuments:
    """The reviews of ``split`` (train, validation or test) from its examples; empty when the split has none."""
    from workflow.training import data  # TensorFlow reads the examples

    files = preprocess.example_files(split)
    reviews = sorted(data.reviews(files), key=lambda review: review[0]) if files else []
    return LabelledDocuments([doc_id for doc_id, _, _ in reviews], np.array([label for _, _, label in reviews], dtype=np.int64),
                             [with_pairs([vocabulary[i] for i in tokens]) for _, tokens, _ in reviews])


def unlabelled(preprocess: PreprocessOutput, known: set[str]) -> Iterator[list[str]]:
    """The corpus's unlabelled reviews, a token outside ``known`` (the vocabulary) as ``<unk>``."""
    for path in preprocess.corpus_files(UNSUP):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                yield with_pairs([token if token in known else UNK for token in line.split()])
