"""Intervals for the report's comparisons (pure NumPy/SciPy).

Two runs of one configuration with the same seed share their initialisation
draws, batch order and label subset, so a comparison of two modes is paired
by seed: the per-seed differences get a t-interval with n-1 degrees of
freedom (4.30 standard errors for 3 seeds). That interval gates every
sentence the report writes. Beside it, a paired bootstrap over the test
reviews gives the other half of the error (which reviews happened to be in
the test set); with one seed it is the only interval there is.

The label subset of a budget is the same reviews for every seed (lowest id
hashes), so neither interval covers which reviews were labelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA, POWER = 0.05, 0.8
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class PairedDifference:
    """A − B over the seeds both arms ran, in accuracy units (0.028 = 2.8 points).

    ``seed_interval``: the 95% t-interval of the mean difference (None with one
    seed); ``bootstrap_interval``: the 95% paired bootstrap over test reviews
    (None without per-review predictions); ``seeds_needed``: the seeds a
    paired t-test needs to detect a difference of the observed size with power
    0.8 (None when it cannot be computed: one seed, or no difference observed).
    """

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean: float
    std: float | None
    seed_interval: tuple[float, float] | None
    bootstrap_interval: tuple[float, float] | None
    seeds_needed: int | None

    @property
    def detected(self) -> bool:
        """Whether the seed interval excludes 0 (never with one seed)."""
        return self.seed_interval is not None and (self.seed_interval[0] > 0 or self.seed_interval[1] < 0)


def t_interval(values: np.ndarray, confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """The t-interval (n-1 degrees of freedom) of the mean of ``values`` (n >= 2)."""
    n = len(values)
    mean, sem = float(np.mean(values)), float(np.std(values, ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return mean - half, mean + half


def paired_t_power(effect: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test with ``n`` pairs at standardised effect ``effect`` (mean / std of differences)."""
    df, noncentrality = n - 1, effect * math.sqrt(n)
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    return float(stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality))


def seeds_needed(mean: float, std: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The fewest seeds (>= 2) at which a paired t-test detects ``mean`` with ``power``, for differences of spread ``std``
    (None when no difference, or no spread, was observed)."""
    if mean == 0 or std == 0:
        return None
    effect = abs(mean) / std
    # The z-test's count is a lower bound for the t-test's (t has heavier tails): search upwards from just below it.
    n = max(2, math.floor(((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) / effect) ** 2) - 1)
    while paired_t_power(effect, n, alpha) < power:
        n += 1
    return n


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of mean accuracy difference A − B, resampling test reviews (the same reviews for both arms).

    ``correct_a``, ``correct_b``: boolean ``[seeds, reviews]``, row s of both
    from the runs of seed s, columns the same reviews. A resample draws
    reviews with replacement and takes the mean over seeds of each seed's
    accuracy difference, i.e. the mean of the per-review differences ``d``.
    ``d`` takes at most 2 x seeds + 1 values, so a resample is a multinomial
    draw over those values: exact, and cheap for 25,000 reviews.
    """
    per_review = (correct_a.astype(np.float64) - correct_b.astype(np.float64)).mean(axis=0)
    values, counts = np.unique(per_review, return_counts=True)
    n = len(per_review)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=resamples)
    means = draws @ values / n
    low, high = np.percentile(means, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(low), float(high)


def paired_difference(accuracy_a: dict[int, float], accuracy_b: dict[int, float],
                      correct_a: dict[int, np.ndarray] | None = None, correct_b: dict[int, np.ndarray] | None = None) -> PairedDifference | None:
    """A − B paired by seed (``{seed: test accuracy}``); the bootstrap when every paired seed has per-review outcomes
    (``{seed: boolean [reviews]}``, reviews in one order). None when no seed is in both."""
    seeds = tuple(sorted(set(accuracy_a) & set(accuracy_b)))
    if not seeds:
        return None
    differences = np.array([accuracy_a[seed] - accuracy_b[seed] for seed in seeds])
    mean = float(differences.mean())
    std = float(np.std(differences, ddof=1)) if len(seeds) > 1 else None
    bootstrap = None
    if correct_a is not None and correct_b is not None and all(seed in correct_a and seed in correct_b for seed in seeds):
        bootstrap = paired_bootstrap(np.stack([correct_a[seed] for seed in seeds]), np.stack([correct_b[seed] for seed in seeds]))
    return PairedDifference(seeds, tuple(float(d) for d in differences), mean, std,
                            t_interval(differences) if len(seeds) > 1 else None, bootstrap,
                            seeds_needed(mean, std) if std is not None else None)


def welch(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> dict:
    """Welch's t-test and 95% interval of mean_a − mean_b from summary figures alone (unpaired: what mean ± std allow).

    ``{"difference", "interval": (low, high), "t", "df", "p"}``.
    """
    var_a, var_b = std_a**2 / n_a, std_b**2 / n_b
    se = math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    difference = mean_a - mean_b
    half = float(stats.t.ppf(1 - ALPHA / 2, df)) * se
    t = difference / se
    return {"difference": difference, "interval": (difference - half, difference + half), "t": t, "df": df,
            "p": float(2 * stats.t.sf(abs(t), df))}
