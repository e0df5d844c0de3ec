"""The embedding matrix: row i is the vector of vocabulary id i.

Row 0 (``<pad>``) is zeros. A token without a pretrained vector (``<unk>``
included) gets a row drawn from U[-a, a] with a chosen so that its variance
equals the pretrained vectors' (a = sqrt(3 var)), as Kim (2014) did, from a
seeded generator.
"""

from __future__ import annotations

import numpy as np
from gensim.models.keyedvectors import KeyedVectors

from workflow.preprocess.layout import PAD_ID


def build_matrix(vocabulary: list[tuple[str, int]], vectors: KeyedVectors, seed: int) -> tuple[np.ndarray, dict]:
    """(vocabulary size, dim) float32 matrix and its coverage figures."""
    dim = vectors.vector_size
    pretrained = np.asarray(vectors.vectors, dtype=np.float64)
    bound = float(np.sqrt(3.0 * pretrained.var())) if pretrained.size else 0.05
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-bound, bound, size=(len(vocabulary), dim)).astype(np.float32)
    matrix[PAD_ID] = 0.0
    covered_types = covered_tokens = 0
    for token_id, (token, count) in enumerate(vocabulary):
        if token_id > PAD_ID and token in vectors.key_to_index:
            matrix[token_id] = vectors[token]
            covered_types += 1
            covered_tokens += count
    words = len(vocabulary) - 2  # <pad> and <unk> are not words
    total_tokens = sum(count for _, count in vocabulary)
    coverage = {
        "vocabulary_types": words,
        "types_with_vector": covered_types,
        "type_coverage": round(covered_types / words, 6) if words else 0.0,
        "corpus_tokens": total_tokens,
        "tokens_with_vector": covered_tokens,
        "token_coverage": round(covered_tokens / total_tokens, 6) if total_tokens else 0.0,
        "oov_init_uniform_bound": round(bound, 6),
        "dim": dim,
    }
    return matrix, coverage
