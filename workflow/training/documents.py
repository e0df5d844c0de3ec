"""The document table of a network with ``model.paragraph_vectors``: each labelled review's paragraph vector as a row.

PV-DBOW learns a vector per document as word2vec learns one per word
(workflow/paragraphs/), so a network can look a review's vector up as it
looks its tokens up: row ``i >= 1`` of the ``[reviews + 1, dim]`` table is
the vector of ``doc_ids[i - 1]``, the reviews in (train, validation, test)
order and each split in doc_id order, as the paragraph-vector stage writes
them; row 0, zeros, belongs to no review (the filler rows of an evaluation
batch). The vectors are standardised by the training reviews' mean and
standard deviation, as the stage's own regression standardises them, so the
network's head starts on features of unit scale. Examples find their row by
doc id (:meth:`DocumentTable.lookup`, in tf.data; :meth:`DocumentTable.rows`,
in scoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import tensorflow as tf

from workflow.errors import ContractError
from workflow.paragraphs.classifier import standardisation
from workflow.paragraphs.output import RERUN, ParagraphOutput
from workflow.preprocess.layout import SPLITS


@dataclass(frozen=True)
class DocumentTable:
    """The reviews and their rows (see the module docstring)."""

    doc_ids: list[str]  # row i + 1 holds doc_ids[i]
    vectors: np.ndarray  # float32 [len(doc_ids) + 1, dim], row 0 zeros
    sha256: str  # the paragraph vectors' digest (ParagraphOutput.vectors_sha256): the run's key records it

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {doc_id: row for row, doc_id in enumerate(self.doc_ids, start=1)}

    def rows(self, doc_ids: list[str]) -> np.ndarray:
        """int32 ``[len(doc_ids)]``: each review's row (ContractError for a review the table lacks)."""
        missing = [doc_id for doc_id in doc_ids if doc_id not in self.row_of]
        if missing:
            raise ContractError(f"{len(missing)} reviews have no paragraph vector (the first: {missing[0]}): run {RERUN}")
        return np.array([self.row_of[doc_id] for doc_id in doc_ids], dtype=np.int32)

    def lookup(self) -> tf.lookup.StaticHashTable:
        """doc id (string) -> row (int64), for tf.data (data.split_examples). The table holds every example's review
        (:func:`document_table`), so the default row 0 is never looked up."""
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(self.doc_ids, tf.string), tf.range(1, len(self.doc_ids) + 1, dtype=tf.int64)),
            default_value=0)


def document_table(paragraphs: ParagraphOutput, split_doc_ids: dict[str, list[str]]) -> DocumentTable:
    """The table of every review of ``split_doc_ids`` (split -> the doc ids of its examples, any order); ContractError when
    the paragraph vectors were made for other reviews."""
    doc_ids, blocks = [], []
    for split in SPLITS:
        expected = sorted(split_doc_ids.get(split, []))
        found = (paragraphs.vectors(split) if split in paragraphs.manifest["outputs"]["reviews"]
                 else np.zeros((0, paragraphs.manifest["outputs"]["dim"]), np.float32))
        if len(found) != len(expected):
            raise ContractError(f"{paragraphs.root}: {len(found)} {split} vectors for {len(expected)} {split} reviews: the paragraph "
                                f"vectors were made from other examples; run {RERUN}")
        doc_ids += expected
        blocks.append(found)
    mean, scale = standardisation(blocks[0])
    standardised = (np.concatenate(blocks) - mean) / scale
    return DocumentTable(doc_ids, np.concatenate([np.zeros((1, len(mean))), standardised]).astype(np.float32),
                         paragraphs.vectors_sha256)
