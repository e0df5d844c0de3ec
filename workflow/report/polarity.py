"""What each token's row tells a person in the projector: its sentiment in the labelled training reviews, and how far training moved it.

**Polarity** is NBSVM's log-count ratio (Wang and Manning 2012) over
binarized features, one count per review that contains the token::

    p = alpha + (positive training reviews containing the token)      one entry per vocabulary id
    q = alpha + (negative training reviews containing the token)
    polarity = log(p / |p|_1) - log(q / |q|_1)                        alpha = 1

Positive: the token is more frequent in positive reviews than in negative
ones; 0: no evidence either way. The smoothing gives a token in no labelled
review ``log(|q|_1 / |p|_1)``, the same small value for all of them (0 when
both classes hold as many token occurrences), and keeps a token seen in one
review from an infinite score. The reviews are the labelled training reviews
of a run (its label budget's subset), whole: a token that only occurs beyond
``model.max_len`` counts here though training never saw it.

**Moved** is the L2 distance between a row where training started and where
it ended; 0 for a frozen table, and for a row no batch used.
"""

from __future__ import annotations

import numpy as np

ALPHA = 1.0


def review_counts(reviews: list[np.ndarray], labels: np.ndarray, vocabulary_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``[vocab]`` int arrays: how many positive and how many negative reviews contain each id (each review counts once)."""
    positive = np.zeros(vocabulary_size, dtype=np.int64)
    negative = np.zeros(vocabulary_size, dtype=np.int64)
    for ids, label in zip(reviews, labels):
        (positive if label > 0.5 else negative)[np.unique(ids)] += 1
    return positive, negative


def log_count_ratio(positive: np.ndarray, negative: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """NBSVM's ``r = log(p / |p|_1) - log(q / |q|_1)`` with ``p = alpha + positive``, ``q = alpha + negative``; ``[vocab]`` float64."""
    p = positive.astype(np.float64) + alpha
    q = negative.astype(np.float64) + alpha
    return np.log(p / p.sum()) - np.log(q / q.sum())


def row_shift(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``[vocab]``: the L2 distance of each row of ``end`` from the same row of ``start`` (float64)."""
    return np.linalg.norm(end.astype(np.float64) - start.astype(np.float64), axis=1)
