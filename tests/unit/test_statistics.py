"""The report's intervals against SciPy on fixed inputs, an independent integral and simulation, in every range:
effects from 0.1 to 12 standard deviations, differences that cancel exactly, reviews that come in films."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from workflow.report import statistics

FINETUNE = {0: 0.7545, 1: 0.7460, 2: 0.7630}
RANDOM = {0: 0.7267, 1: 0.7070, 2: 0.7464}
EFFECTS = (0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 5.3, 8.0, 11.5, 12.0)


def reference_power(effect: float, n: int) -> float:
    """The paired t-test's power without the noncentral t: T = (Z + effect·√n) / √(V / df), V ~ chi²(df), so
    P(|T| > c) = E_V[Φ(effect·√n − c√(V/df)) + Φ(−effect·√n − c√(V/df))], integrated over V's density."""
    df, shift = n - 1, effect * math.sqrt(n)
    critical = stats.t.ppf(0.975, df)

    def rejected(v: float) -> float:
        scale = critical * math.sqrt(v / df)
        return (stats.norm.sf(scale - shift) + stats.norm.cdf(-scale - shift)) * stats.chi2.pdf(v, df)

    # Over all but 2e-13 of V's mass, so that quad finds the peak of chi²(df) even for hundreds of degrees of freedom.
    return integrate.quad(rejected, stats.chi2.ppf(1e-13, df), stats.chi2.isf(1e-13, df), points=[max(df - 2, 0)], limit=200)[0]


def test_the_seed_interval_is_the_paired_t_interval_and_agrees_with_ttest_rel():
    difference = statistics.paired_difference(FINETUNE, RANDOM)
    d = np.array([FINETUNE[s] - RANDOM[s] for s in (0, 1, 2)])
    low, high = stats.t.interval(0.95, 2, loc=d.mean(), scale=stats.sem(d))
    assert difference.seed_interval == pytest.approx((low, high))
    assert difference.mean == pytest.approx(d.mean()) and difference.std == pytest.approx(d.std(ddof=1))
    # The interval excludes 0 exactly when the paired t-test rejects at 5%.
    p = stats.ttest_rel([FINETUNE[s] for s in (0, 1, 2)], [RANDOM[s] for s in (0, 1, 2)]).pvalue
    assert difference.detected == (p < 0.05)
    assert stats.t.ppf(0.975, 2) == pytest.approx(4.303, abs=1e-3)


@pytest.mark.parametrize("effect", EFFECTS)
def test_power_matches_an_independent_integral_at_every_effect_size(effect):
    """SciPy 1.17's nct.cdf(-c, df, nc) is NaN from about 5 standard deviations on (2 seeds): the power must not be."""
    for n in (2, 3, 5, 10):
        power = statistics.paired_t_power(effect, n)
        assert math.isfinite(power) and power == pytest.approx(reference_power(effect, n), abs=1e-7)
        assert statistics.paired_t_power(-effect, n) == power, "two-sided: the sign of the difference does not matter"


def test_power_matches_a_simulation_of_the_t_test():
    rng = np.random.default_rng(0)
    for effect, n in ((0.3, 20), (1.2, 8), (5.3, 2), (8.0, 2), (11.5, 2)):
        samples = rng.normal(effect, 1.0, size=(20_000, n))
        rejected = stats.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05
        assert rejected.mean() == pytest.approx(statistics.paired_t_power(effect, n), abs=0.012), (effect, n)


def test_two_seeds_are_too_few_from_5_3_to_11_5_standard_deviations():
    """Where the lower tail was NaN, 2 seeds were taken as enough; their power there is 0.44 to 0.80."""
    for effect in np.linspace(5.3, 11.5, 13):
        assert 0.44 < reference_power(effect, 2) < 0.8
        assert statistics.seeds_for_power(effect) == 3
    assert statistics.seeds_for_power(12.0) == 2 and reference_power(12.0, 2) >= 0.8


@pytest.mark.parametrize("effect", EFFECTS)
def test_the_seed_count_is_the_smallest_with_power_0_8(effect):
    n = statistics.seeds_for_power(effect)
    assert reference_power(effect, n) >= 0.8 - 1e-9
    assert n == 2 or reference_power(effect, n - 1) < 0.8
    # The normal approximation, (z_0.975 + z_0.8)^2 / effect^2, is a lower bound a t-test needs a little more than.
    assert n >= ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / effect) ** 2


def test_tiny_effects_give_a_count_not_a_crash():
    n = statistics.seeds_for_power(1e-6)  # about 7.8e12 seeds
    assert n == pytest.approx(((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / 1e-6) ** 2, rel=1e-3)


def test_differences_that_cancel_are_no_difference_and_never_abort_the_report():
    """+k/25000, −k/25000 and 0: the mean is 0 up to rounding. Every such case: no difference, no seed count, an interval."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        k, base = int(rng.integers(1, 500)), rng.integers(20000, 24000, size=3) / 25000
        accuracy_b = {seed: float(base[seed]) for seed in range(3)}
        accuracy_a = {0: accuracy_b[0] + k / 25000, 1: accuracy_b[1] - k / 25000, 2: accuracy_b[2]}
        difference = statistics.paired_difference(accuracy_a, accuracy_b)
        assert difference.mean == 0.0 and difference.seeds_needed is None and not difference.detected
        assert difference.seed_interval[0] < 0 < difference.seed_interval[1]
    assert statistics.mean_difference(np.array([0.01, -0.01, 0.0])) == 0.0
    assert statistics.mean_difference(np.array([0.01, -0.01, 1e-6])) == pytest.approx(1e-6 / 3), "a real difference stays"


def test_the_seed_count_comes_with_the_range_its_standard_deviation_allows():
    needed = statistics.seeds_needed(0.005, 0.01, 3)
    low_std, high_std = 0.01 * math.sqrt(2 / stats.chi2.ppf(0.975, 2)), 0.01 * math.sqrt(2 / stats.chi2.ppf(0.025, 2))
    assert needed == statistics.SeedsNeeded(statistics.seeds_for_power(0.5), statistics.seeds_for_power(0.005 / low_std),
                                            statistics.seeds_for_power(0.005 / high_std))
    assert needed.low < needed.estimate < needed.high and needed.high / needed.low > 100, "3 seeds: uncertain by about 150x"
    assert statistics.seeds_needed(0.0, 0.01, 3) is None and statistics.seeds_needed(0.01, 0.0, 3) is None


def test_the_seed_count_range_covers_the_true_count_as_often_as_it_says():
    """Draw 3 per-seed differences from a known normal; the range holds the count at the true spread in about 95% of draws."""
    rng = np.random.default_rng(4)
    mean, std = 0.004, 0.01
    truth = statistics.seeds_for_power(mean / std)
    draws = rng.normal(mean, std, size=(400, 3)).std(axis=1, ddof=1)
    covered = [needed.low <= truth <= needed.high for needed in (statistics.seeds_needed(mean, spread, 3) for spread in draws)]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.03)


def test_one_seed_has_no_seed_interval_and_the_review_bootstrap_is_the_only_one():
    rng = np.random.default_rng(1)
    a, b = rng.random(2000) < 0.80, rng.random(2000) < 0.75
    single = statistics.paired_difference({0: a.mean()}, {0: b.mean()}, {0: a}, {0: b})
    assert single.seed_interval is None and single.std is None and single.seeds_needed is None and not single.detected
    bootstrap = single.bootstrap
    assert bootstrap.over == "reviews" and bootstrap.units == 2000 and bootstrap.low < single.mean < bootstrap.high
    # The multinomial draw over the values of d matches resampling review indices.
    indices = np.random.default_rng(2).integers(0, len(a), size=(4000, len(a)))
    naive = np.percentile(a[indices].mean(axis=1) - b[indices].mean(axis=1), [2.5, 97.5])
    assert (bootstrap.low, bootstrap.high) == pytest.approx(tuple(naive), abs=0.004)


def film_test_sets(rng: np.random.Generator, films: int, correlation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One test set of ``films`` films (1 to 30 reviews each) and two models' outcomes on it. Each model's margin on a
    review is a normal of which share ``correlation`` belongs to the film (a film both find easy, or one of them finds
    hard), and model A is right a little more often."""
    sizes = rng.integers(1, 31, size=films)
    film_of_review = np.repeat(np.arange(films), sizes)

    def margin() -> np.ndarray:
        return math.sqrt(correlation) * rng.normal(size=films)[film_of_review] + math.sqrt(1 - correlation) * rng.normal(size=len(film_of_review))

    return margin() > -1.0, margin() > -0.9, np.char.add("tt", film_of_review.astype(str))


def test_the_film_bootstrap_matches_the_spread_of_fresh_test_sets_where_the_review_bootstrap_falls_short():
    """Correlated reviews within films: over 400 fresh test sets the mean difference spreads as the film bootstrap says
    (one test set, half-width / 1.96), and wider than the review bootstrap says."""
    rng = np.random.default_rng(5)
    fresh = []
    for _ in range(400):
        a, b, _ = film_test_sets(rng, 300, correlation=0.2)
        fresh.append(a.mean() - b.mean())
    spread = np.std(fresh)
    by_film, by_review = [], []
    for seed in range(5):
        a, b, films = film_test_sets(rng, 300, correlation=0.2)
        film_interval = statistics.paired_bootstrap(a[None], b[None], films, seed=seed)
        review_interval = statistics.paired_bootstrap(a[None], b[None], seed=seed)
        assert film_interval.over == "films" and film_interval.units == 300 and review_interval.over == "reviews"
        by_film.append((film_interval.high - film_interval.low) / (2 * 1.96))
        by_review.append((review_interval.high - review_interval.low) / (2 * 1.96))
    assert np.mean(by_film) == pytest.approx(spread, rel=0.15)
    assert np.mean(by_review) < 0.8 * spread


def test_films_of_one_review_each_are_the_review_bootstrap_and_unknown_films_stand_alone():
    rng = np.random.default_rng(6)
    a, b = rng.random((2, 3000)) < 0.8, rng.random((2, 3000)) < 0.78
    alone = np.array([f"tt{i}" for i in range(3000)])
    by_film, by_review = statistics.paired_bootstrap(a, b, alone), statistics.paired_bootstrap(a, b)
    assert (by_film.low, by_film.high) == pytest.approx((by_review.low, by_review.high), abs=0.003)
    unknown = np.where(np.arange(3000) < 1000, "", np.array([f"tt{i // 10}" for i in range(3000)]))
    assert statistics.paired_bootstrap(a, b, unknown).units == 1000 + 200, "1,000 reviews without a film, 200 films of 10"
    assert statistics.paired_bootstrap(a, b, np.full(3000, "")).over == "reviews", "no film named: the review bootstrap"


def test_a_paired_difference_over_reviews_with_films_resamples_films():
    rng = np.random.default_rng(7)
    a, b = {s: rng.random(600) < 0.8 for s in (0, 1, 2)}, {s: rng.random(600) < 0.75 for s in (0, 1, 2)}
    films = np.array([f"tt{i // 6}" for i in range(600)])
    difference = statistics.paired_difference({s: a[s].mean() for s in a}, {s: b[s].mean() for s in b}, a, b, films)
    assert difference.bootstrap.over == "films" and difference.bootstrap.units == 100
    assert difference.bootstrap.low < difference.mean < difference.bootstrap.high
