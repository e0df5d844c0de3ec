"""The report's intervals against SciPy's own tests on fixed inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from workflow.report import statistics

FINETUNE = {0: 0.7545, 1: 0.7460, 2: 0.7630}
RANDOM = {0: 0.7267, 1: 0.7070, 2: 0.7464}


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


def test_a_difference_inside_the_seed_noise_is_not_detected_and_says_how_many_seeds_would_be():
    noisy = statistics.paired_difference({0: 0.80, 1: 0.83, 2: 0.79}, {0: 0.81, 1: 0.80, 2: 0.78})
    assert noisy.seed_interval[0] < 0 < noisy.seed_interval[1] and not noisy.detected
    n = noisy.seeds_needed
    effect = noisy.mean / noisy.std
    assert statistics.paired_t_power(effect, n) >= 0.8 > statistics.paired_t_power(effect, n - 1)


def test_power_is_the_noncentral_t_tail_and_matches_a_simulation():
    effect, n = 1.2, 8
    critical = stats.t.ppf(0.975, n - 1)
    expected = 1 - stats.nct.cdf(critical, n - 1, effect * np.sqrt(n)) + stats.nct.cdf(-critical, n - 1, effect * np.sqrt(n))
    assert statistics.paired_t_power(effect, n) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    samples = rng.normal(effect, 1.0, size=(20_000, n))
    rejected = stats.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05
    assert rejected.mean() == pytest.approx(expected, abs=0.01)


def test_one_seed_has_no_seed_interval_and_the_bootstrap_is_the_only_one():
    rng = np.random.default_rng(1)
    a, b = rng.random(2000) < 0.80, rng.random(2000) < 0.75
    single = statistics.paired_difference({0: a.mean()}, {0: b.mean()}, {0: a}, {0: b})
    assert single.seed_interval is None and single.std is None and single.seeds_needed is None and not single.detected
    low, high = single.bootstrap_interval
    assert low < single.mean < high
    # The multinomial draw over the values of d matches resampling review indices.
    indices = np.random.default_rng(2).integers(0, len(a), size=(4000, len(a)))
    naive = np.percentile(a[indices].mean(axis=1) - b[indices].mean(axis=1), [2.5, 97.5])
    assert (low, high) == pytest.approx(tuple(naive), abs=0.004)


def test_welch_matches_scipy_from_summary_figures():
    result = statistics.welch(0.7545, 0.0087, 3, 0.7267, 0.0204, 3)
    expected = stats.ttest_ind_from_stats(0.7545, 0.0087, 3, 0.7267, 0.0204, 3, equal_var=False)
    assert result["t"] == pytest.approx(expected.statistic) and result["p"] == pytest.approx(expected.pvalue)
    low, high = result["interval"]
    assert (low + high) / 2 == pytest.approx(0.0278) and low < 0 < high


def test_the_seed_count_search_finds_the_smallest_sufficient_count_for_large_and_tiny_effects():
    for mean, std in ((0.03, 0.01), (0.003, 0.01), (0.0001, 0.01)):
        n = statistics.seeds_needed(mean, std)
        effect = mean / std
        assert statistics.paired_t_power(effect, n) >= 0.8
        assert n == 2 or statistics.paired_t_power(effect, n - 1) < 0.8
    assert statistics.seeds_needed(0.0, 0.01) is None
