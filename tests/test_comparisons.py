"""Between-arm comparison statistics (``nksim.trials._comparisons``), each checked against
published worked examples, scipy.stats or a hand calculation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nksim.trials import cox_hazard_ratio, km_median, paired_difference, risk_ratio
from nksim.trials._comparisons import bootstrap_difference, km_median_value


def test_paired_difference_reproduces_the_published_cavo_example():
    """Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables,
    chapter 8: complete response before/after consolidation therapy (Cavo et al. 2012),
    a=59, b=6, c=16, d=80; Newcombe square-and-add: -0.0621 (95 % CI -0.1186 to -0.0046)."""
    d, low, high, _ = paired_difference(59, 6, 16, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (-0.0621, -0.1186, -0.0046)


def test_mcnemar_exact_p_by_hand():
    _, _, _, p = paired_difference(59, 6, 16, 80)
    # two-sided exact McNemar: 2 P(X <= 6), X ~ Binomial(22, 1/2)
    by_hand = 2 * sum(math.comb(22, k) for k in range(7)) / 2 ** 22
    assert p == pytest.approx(by_hand, rel=1e-12)


def test_paired_difference_limits():
    d, low, high, p = paired_difference(5, 0, 0, 5)  # all pairs concordant
    assert d == 0 and low < 0 < high and p == 1.0
    d, low, high, _ = paired_difference(0, 10, 0, 0)  # arm A always, arm B never
    assert d == 1.0 and high == 1.0 and 0.5 < low < 1.0
    assert all(math.isnan(x) for x in paired_difference(0, 0, 0, 0))


@pytest.mark.parametrize("k1, n1, k2, n2", [(15, 20, 6, 20), (3, 19, 9, 21), (20, 20, 1, 20)])
def test_risk_ratio_matches_scipy_katz_interval(k1, n1, k2, n2):
    rr, low, high, note = risk_ratio(k1, n1, k2, n2)
    ref = stats.contingency.relative_risk(k1, n1, k2, n2)
    ci = ref.confidence_interval(0.95)
    assert rr == pytest.approx(ref.relative_risk)
    assert (low, high) == pytest.approx((ci.low, ci.high))
    assert note == ""


def test_risk_ratio_undefined_cases_are_explained():
    assert math.isnan(risk_ratio(3, 10, 0, 10)[0])
    rr, low, high, note = risk_ratio(0, 10, 3, 10)
    assert rr == 0 and math.isnan(low) and "arm_a" in note


# Gehan (1965) / Freireich leukaemia remission data (weeks; 6-MP vs placebo).
MP6 = [(6, 1), (6, 1), (6, 1), (6, 0), (7, 1), (9, 0), (10, 1), (10, 0), (11, 0), (13, 1),
       (16, 1), (17, 0), (19, 0), (20, 0), (22, 1), (23, 1), (25, 0), (32, 0), (32, 0), (34, 0),
       (35, 0)]
PLACEBO = [(t, 1) for t in (1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22,
                            23)]


def test_cox_hazard_ratio_reproduces_the_gehan_leukaemia_example():
    """Published Cox fit (Efron ties, R ``coxph``) of the Gehan data: placebo versus 6-MP
    coefficient 1.572 (SE 0.412), hazard ratio 4.817, 95 % CI 2.147 to 10.81."""
    pytest.importorskip("lifelines")
    t = np.array([x for x, _ in PLACEBO + MP6], float)
    e = np.array([x for _, x in PLACEBO + MP6], bool)
    group = np.r_[np.ones(len(PLACEBO), int), np.zeros(len(MP6), int)]
    hr, low, high, note = cox_hazard_ratio(t, e, group)
    assert note == ""
    assert hr == pytest.approx(4.817, abs=0.002)
    assert low == pytest.approx(2.147, abs=0.002) and high == pytest.approx(10.81, abs=0.01)


def test_cox_without_events_in_an_arm_is_undefined_not_infinite():
    pytest.importorskip("lifelines")
    hr, low, high, note = cox_hazard_ratio(np.array([5.0, 6, 7, 9]),
                                           np.array([True, True, False, False]),
                                           np.array([1, 1, 0, 0]))
    assert math.isnan(hr) and "no events" in note


def test_km_median_value_is_the_tested_km_median():
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        t = np.round(rng.exponential(10, n))  # ties on purpose
        e = rng.random(n) < 0.7
        expected = km_median(t, e).value
        got = km_median_value(t, e)
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_bootstrap_difference_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(0)
    x, y = rng.normal(1.0, 1.0, 150), rng.normal(0.0, 1.5, 120)
    value, low, high, note = bootstrap_difference(
        (x,), (y,), np.median, rng=np.random.default_rng(1), n_resamples=3000)
    ref = stats.bootstrap((x, y), lambda a, b, axis=-1: np.median(a, axis=axis)
                          - np.median(b, axis=axis), method="percentile", n_resamples=3000,
                          random_state=np.random.default_rng(2))
    assert value == pytest.approx(np.median(x) - np.median(y)) and note == ""
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.06)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.06)


def test_paired_bootstrap_removes_between_patient_noise():
    rng = np.random.default_rng(3)
    patient = rng.normal(0, 10, 40)  # large between-patient spread
    a, b = patient + 1.0, patient  # every patient exactly 1 higher on arm A
    _, low, high, _ = bootstrap_difference((a,), (b,), np.mean, rng=rng, paired=True)
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)
    _, low, high, _ = bootstrap_difference((a,), (b,), np.mean, rng=rng, paired=False)
    assert high - low > 5  # the same data compared as parallel arms
