"""Intervals for the report's comparisons (pure NumPy/SciPy).

Two runs of one configuration with the same seed share their initialisation
draws, batch order and label subset, so a comparison of two modes is paired
by seed: the per-seed differences get a t-interval with n-1 degrees of
freedom (4.30 standard errors for 3 seeds). It covers training randomness
(initialisation, batch order) on this test set, and it gates every sentence
the report writes.

Beside it, a paired bootstrap resamples the test set: it covers which
reviews happened to be in the test set, given these trained models (with one
seed it is the only interval there is). Where reviews carry a film (aclImdb:
3,581 test films, a size-weighted mean of 15.9 reviews each) it resamples
whole films, because reviews of one film are correlated and a bootstrap over
reviews would understate the error; elsewhere it resamples reviews.

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
# A mean difference below this fraction of the largest per-seed difference is the rounding left when the differences
# cancel (+k/n, -k/n, 0): no difference was observed. A genuine mean that small would need more than 1e18 seeds.
CANCELLED = 1e-9
FILMS, REVIEWS = "films", "reviews"  # what a bootstrap resampled
_CHUNK = 200  # resamples drawn at once by the film bootstrap: [chunk, films] indices in memory


@dataclass(frozen=True)
class SeedsNeeded:
    """The seeds a paired t-test needs to detect a difference of the observed mean with power 0.8 (alpha 0.05).

    ``estimate``: at the observed standard deviation of the per-seed
    differences; ``low``, ``high``: at the ends of that standard deviation's
    95% interval (chi-square, n-1 degrees of freedom): with 3 seeds the
    standard deviation is known to within a factor of about 12, the count to
    within about 150.
    """

    estimate: int
    low: int
    high: int


@dataclass(frozen=True)
class BootstrapInterval:
    """95% percentile interval of a mean difference over resampled test sets: test sampling, given these trained models.

    ``over``: what was resampled, ``"films"`` (all reviews of a film together) or ``"reviews"``; ``units``: how many.
    """

    low: float
    high: float
    over: str
    units: int


@dataclass(frozen=True)
class PairedDifference:
    """A − B over the seeds both arms ran, in accuracy units (0.028 = 2.8 points).

    ``seed_interval``: the 95% t-interval of the mean difference (None with one
    seed); ``bootstrap``: the paired bootstrap over the test set (None without
    per-review predictions); ``seeds_needed``: None when it cannot be
    computed (one seed, no difference observed, no spread between seeds).
    """

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean: float
    std: float | None
    seed_interval: tuple[float, float] | None
    bootstrap: BootstrapInterval | None
    seeds_needed: SeedsNeeded | None

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


def mean_difference(differences: np.ndarray) -> float:
    """The mean of per-seed differences, exactly 0.0 when they cancel (see CANCELLED)."""
    mean = math.fsum(differences) / len(differences)
    return 0.0 if abs(mean) <= CANCELLED * float(np.max(np.abs(differences))) else mean


def paired_t_power(effect: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test with ``n`` pairs at standardised effect ``effect`` (mean / std of differences).

    Both tails as upper tails of the noncentral t: P(T > c) at noncentrality
    effect·√n plus P(T < −c) = P(T > c) at −effect·√n. SciPy 1.17's
    ``nct.cdf(-c, df, nc)`` returns NaN for large noncentrality; ``nct.sf`` stays finite.
    """
    df, noncentrality = n - 1, abs(effect) * math.sqrt(n)
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    return float(stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality))


def seeds_for_power(effect: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """The fewest seeds (>= 2) at which a paired t-test detects standardised ``effect`` (> 0) with ``power``.

    The z-test's count, ((z_{1-alpha/2} + z_power) / effect)^2, is a lower bound
    (t has heavier tails); from there the step doubles until the power is
    reached, then bisection finds the first count that reaches it: a handful
    of evaluations, for counts from 2 to beyond 10^12.
    """
    low = max(2, math.floor(((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) / effect) ** 2))
    if paired_t_power(effect, low, alpha) >= power:
        return low
    high, step = low + 1, 1
    while paired_t_power(effect, high, alpha) < power:
        low, high, step = high, high + 2 * step, 2 * step
    while high - low > 1:  # power(low) < power <= power(high)
        middle = (low + high) // 2
        low, high = (low, middle) if paired_t_power(effect, middle, alpha) >= power else (middle, high)
    return high


def seeds_needed(mean: float, std: float, seeds: int, alpha: float = ALPHA, power: float = POWER) -> SeedsNeeded | None:
    """Seeds for ``power`` at a true difference ``mean``, from the standard deviation ``std`` of ``seeds`` per-seed
    differences, with the range its uncertainty gives (see SeedsNeeded). None when no difference or no spread was observed."""
    if mean == 0 or std == 0 or seeds < 2:
        return None
    df = seeds - 1
    std_low, std_high = std * math.sqrt(df / stats.chi2.ppf(1 - ALPHA / 2, df)), std * math.sqrt(df / stats.chi2.ppf(ALPHA / 2, df))
    return SeedsNeeded(*(seeds_for_power(abs(mean) / spread, alpha, power) for spread in (std, std_low, std_high)))


def _percentile_interval(means: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(means, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(low), float(high)


def review_bootstrap(per_review: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` resamples of ``per_review``, reviews drawn with replacement.

    Per-review accuracy differences take at most 2 x seeds + 1 values, so a
    resample is a multinomial draw over the values: exact, and cheap for 25,000 reviews.
    """
    values, counts = np.unique(per_review, return_counts=True)
    n = len(per_review)
    return rng.multinomial(n, counts / n, size=resamples) @ values / n


def film_numbers(films: np.ndarray) -> np.ndarray:
    """Each review's film as a number from 0 (``films``: str ``[reviews]``); a review without a film (``""``) is a film of its own."""
    named = np.where(films == "", np.char.add("review:", np.arange(len(films)).astype(str)), films)
    return np.unique(named, return_inverse=True)[1]


def film_bootstrap(per_review: np.ndarray, film_of_review: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` resamples of ``per_review``, whole films (``film_of_review``: :func:`film_numbers`) drawn
    with replacement.

    A resample draws as many films as there are, each with all its reviews,
    and takes the mean over the reviews drawn (so a resample's size varies
    with the films drawn).
    """
    totals, sizes = np.bincount(film_of_review, weights=per_review), np.bincount(film_of_review).astype(np.float64)
    count = len(totals)
    means = []
    for start in range(0, resamples, _CHUNK):
        drawn = rng.integers(0, count, size=(min(_CHUNK, resamples - start), count))  # [chunk, films]: film indices
        means.append(totals[drawn].sum(axis=1) / sizes[drawn].sum(axis=1))
    return np.concatenate(means)


def bootstrap_interval(per_review: np.ndarray, films: np.ndarray | None = None, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0) -> BootstrapInterval:
    """95% percentile interval of the mean of ``per_review`` (float ``[reviews]``) over resampled test sets.

    ``films``: str ``[reviews]`` (``""`` where unknown), or None. When any
    review names a film, whole films are resampled (:func:`film_bootstrap`),
    otherwise reviews (:func:`review_bootstrap`).
    """
    rng = np.random.default_rng(seed)
    if films is not None and (films != "").any():
        film_of_review = film_numbers(films)
        means = film_bootstrap(per_review, film_of_review, resamples, rng)
        return BootstrapInterval(*_percentile_interval(means), FILMS, int(film_of_review.max()) + 1)
    return BootstrapInterval(*_percentile_interval(review_bootstrap(per_review, resamples, rng)), REVIEWS, len(per_review))


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, films: np.ndarray | None = None,
                     resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> BootstrapInterval:
    """95% percentile interval of the mean accuracy difference A − B over resampled test sets (the same reviews for both arms).

    ``correct_a``, ``correct_b``: boolean ``[seeds, reviews]``, row s of both
    from the runs of seed s, columns the same reviews; ``films`` as in
    :func:`bootstrap_interval`. A resample's difference is the mean over its
    reviews of the per-review differences (each the mean over seeds), i.e.
    the mean over seeds of each seed's accuracy difference.
    """
    per_review = (correct_a.astype(np.float64) - correct_b.astype(np.float64)).mean(axis=0)
    return bootstrap_interval(per_review, films, resamples, seed)


def paired_difference(accuracy_a: dict[int, float], accuracy_b: dict[int, float],
                      correct_a: dict[int, np.ndarray] | None = None, correct_b: dict[int, np.ndarray] | None = None,
                      films: np.ndarray | None = None) -> PairedDifference | None:
    """A − B paired by seed (``{seed: test accuracy}``); the bootstrap when every paired seed has per-review outcomes
    (``{seed: boolean [reviews]}``, reviews in one order; ``films``: str ``[reviews]`` in that order, or None). None when
    no seed is in both."""
    seeds = tuple(sorted(set(accuracy_a) & set(accuracy_b)))
    if not seeds:
        return None
    differences = np.array([accuracy_a[seed] - accuracy_b[seed] for seed in seeds])
    mean = mean_difference(differences)
    std = float(np.std(differences, ddof=1)) if len(seeds) > 1 else None
    bootstrap = None
    if correct_a is not None and correct_b is not None and all(seed in correct_a and seed in correct_b for seed in seeds):
        bootstrap = paired_bootstrap(np.stack([correct_a[seed] for seed in seeds]), np.stack([correct_b[seed] for seed in seeds]), films)
    return PairedDifference(seeds, tuple(float(d) for d in differences), mean, std,
                            t_interval(differences) if len(seeds) > 1 else None, bootstrap,
                            seeds_needed(mean, std, len(seeds)) if std is not None else None)
