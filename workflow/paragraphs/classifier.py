"""A logistic regression on paragraph vectors, its L2 strength chosen by cross-validation over films.

The validation split holds whole films (``preprocess.validation_by_film``), so
the folds do too: reviews of one film share words (names, titles) that a
fold split by review would leak. NumPy and SciPy's L-BFGS: 100 features and
tens of thousands of reviews need nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from workflow.errors import ContractError

L2_STRENGTHS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # the grid cross-validation chooses from
FOLDS = 5


def fit(features: np.ndarray, labels: np.ndarray, l2: float) -> np.ndarray:
    """Weights ``[dim + 1]`` (the last: the bias, not penalised) for ``features`` ``[reviews, dim]``, ``labels`` 0 or 1."""
    design = np.hstack([features, np.ones((len(features), 1))])

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = design @ weights
        penalty = np.r_[weights[:-1], 0.0]
        value = np.sum(np.logaddexp(0.0, logits) - labels * logits) + 0.5 * l2 * penalty @ penalty
        return value, design.T @ (special.expit(logits) - labels) + l2 * penalty

    return optimize.minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x


def probability(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The positive label's probability ``[reviews]`` for ``features`` ``[reviews, dim]``."""
    return special.expit(features @ weights[:-1] + weights[-1])


def chosen_l2(features: np.ndarray, labels: np.ndarray, units: list[str], seed: int) -> tuple[float, dict[float, float]]:
    """The L2 strength with the best mean accuracy over ``FOLDS`` folds of whole units (films), the strongest of equals,
    and every strength's mean accuracy."""
    names = sorted(set(units))
    if len(names) < FOLDS:
        raise ContractError(f"{len(names)} films among the training reviews: choosing the L2 strength by cross-validation needs {FOLDS} "
                            "(reviews without a film count one each): a larger training split")
    fold_of_unit = dict(zip(names, np.random.default_rng(seed).permutation(len(names)) % FOLDS))
    folds = np.array([fold_of_unit[unit] for unit in units])
    accuracy = {}
    for l2 in L2_STRENGTHS:
        scores = []
        for fold in range(FOLDS):
            held = folds == fold
            weights = fit(features[~held], labels[~held], l2)
            scores.append(np.mean((probability(weights, features[held]) > 0.5) == labels[held]))
        accuracy[l2] = float(np.mean(scores))
    return max(accuracy, key=lambda l2: (accuracy[l2], l2)), accuracy


@dataclass(frozen=True)
class Classifier:
    """The training vectors' standardisation and the regression fitted on the standardised vectors."""

    mean: np.ndarray  # [dim]
    scale: np.ndarray  # [dim]: the standard deviation (+1e-8)
    weights: np.ndarray  # [dim + 1]
    l2: float
    cross_validation: dict[float, float]  # L2 strength -> mean accuracy over the folds

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        """The positive label's probability ``[reviews]`` for raw inferred ``vectors`` ``[reviews, dim]``."""
        return probability(self.weights, (vectors - self.mean) / self.scale)

    def as_json(self) -> dict:
        """classifier.json: the chosen strength, every strength's cross-validation accuracy, the standardisation, the weights."""
        return {"l2": self.l2, "cross_validation": {f"{l2:g}": round(accuracy, 6) for l2, accuracy in self.cross_validation.items()},
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist()}


def standardisation(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and scale ``[dim]`` that standardise the training reviews' ``vectors`` ``[reviews, dim]`` (the standard
    deviation + 1e-8): the regression's, and the document table's (training/documents.py)."""
    return vectors.mean(axis=0), vectors.std(axis=0) + 1e-8


def trained(vectors: np.ndarray, labels: np.ndarray, units: list[str], seed: int) -> Classifier:
    """A regression on the training reviews' ``vectors`` ``[reviews, dim]``, standardised first; ``units``: each review's
    film (or its own id where no film is known), for the folds; ``seed``: the folds'."""
    mean, scale = standardisation(vectors)
    standardised = (vectors - mean) / scale
    l2, accuracy = chosen_l2(standardised, labels, units, seed)
    return Classifier(mean, scale, fit(standardised, labels, l2), l2, accuracy)
