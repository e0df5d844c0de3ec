"""The scale of the pretrained rows a table starts from (``embedding.scale``).

The random initializer draws each entry from U(-0.05, 0.05), so a random row of
``dim`` entries has a norm of about 0.05 sqrt(dim / 3) (0.29 at dim 100).
word2vec's rows are another matter: their norms grow with a token's frequency,
from about 0.3 to 6 on a small corpus. Under Adam, whose step is about the
learning rate whatever the gradient's size, a row of norm 6 barely moves in
the epochs that a row of norm 0.3 turns around in, so the same vectors can
fine-tune worse than random rows for their scale alone (on short texts: 71.8 against
75.7 on 10,000 short reviews; 74.9 once rescaled).

* ``as_trained``: the rows as the vectors hold them;
* ``row``: each row rescaled to the random row norm, its direction kept;
* ``table``: one factor for the whole table, which brings the median row norm there (relative norms kept).

Row 0 (``<pad>``) stays zero; the rows of tokens without a vector (drawn by
embeddings/matrix.py) follow the same rule as the others.
"""

from __future__ import annotations

import numpy as np

from workflow.config import EmbeddingScale

RANDOM_INIT_BOUND = 0.05  # the Embedding layer's RandomUniform(-0.05, 0.05) (training/model.py)


def random_row_norm(dim: int, bound: float = RANDOM_INIT_BOUND) -> float:
    """Root mean square norm of a row of ``dim`` draws from U(-bound, bound): bound sqrt(dim / 3)."""
    return bound * float(np.sqrt(dim / 3.0))


def rescale(matrix: np.ndarray, scale: EmbeddingScale) -> np.ndarray:
    """``[vocab, dim]`` float32 -> the same shape, rescaled by ``scale``; row 0 and all-zero rows stay zero."""
    if scale is EmbeddingScale.as_trained:
        return matrix
    target = random_row_norm(matrix.shape[1])
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)
    nonzero = norms[:, 0] > 0
    if scale is EmbeddingScale.row:
        factors = np.where(norms > 0, target / np.where(norms > 0, norms, 1.0), 0.0)
    else:
        factors = np.full_like(norms, target / float(np.median(norms[nonzero])) if nonzero.any() else 1.0)
    return (matrix * factors).astype(np.float32)
