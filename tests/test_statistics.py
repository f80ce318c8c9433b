"""Trial statistics, checked against scipy.stats, hand computations and published examples.

Calibration tests (lifelines style) simulate many seeded trials and check that the
95 % intervals cover the truth at least as often as they promise, within a tolerance
set by the binomial error of the simulation.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nksim.trials import (
    Estimate,
    StatisticalWarning,
    bootstrap_ci,
    cost_per_patient_treated,
    cost_per_remission,
    difference_in_proportions,
    endpoint_summary,
    fisher_exact_test,
    kaplan_meier,
    km_median,
    median_ci,
    proportion_ci,
    summary_frame,
    wilson_ci,
)

ROOT = Path(__file__).resolve().parents[1]


def _at_least(trials: int, p: float) -> int:
    """A count that a true rate ``p`` stays above with probability 0.999 (one-sided)."""
    return int(stats.binom.ppf(0.001, trials, p))


# ---------------------------------------------------------------- proportions
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_clopper_pearson_matches_scipy_for_every_k(confidence):
    for n in (1, 2, 3, 5, 8, 13, 20, 31, 50, 100):
        ks = range(n + 1) if n <= 31 else (0, 1, 2, n // 3, n // 2, n - 2, n - 1, n)
        for k in ks:
            ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence,
                                                      method="exact")
            est = proportion_ci(k, n, confidence)
            assert est.value == k / n and est.n == n and est.k == k
            assert est.ci_low == pytest.approx(ref.low, rel=1e-9, abs=1e-12), (k, n)
            assert est.ci_high == pytest.approx(ref.high, rel=1e-9, abs=1e-12), (k, n)
    assert proportion_ci(0, 10).ci_low == 0.0 and proportion_ci(10, 10).ci_high == 1.0


def test_wilson_matches_scipy():
    for n in (1, 4, 9, 25, 70):
        for k in range(n + 1):
            ref = stats.binomtest(k, n).proportion_ci(method="wilson")
            est = wilson_ci(k, n)
            assert est.ci_low == pytest.approx(ref.low, abs=1e-12)
            assert est.ci_high == pytest.approx(ref.high, abs=1e-12)


def test_clopper_pearson_exact_coverage_is_at_least_nominal_but_not_vacuous():
    """Exact coverage sum_k P(k) [p in CI(k)] over a grid of true p and n."""
    coverages = []
    for n in (5, 12, 25, 40):
        cis = [proportion_ci(k, n) for k in range(n + 1)]
        lows = np.array([c.ci_low for c in cis])
        highs = np.array([c.ci_high for c in cis])
        for p in np.linspace(0.01, 0.99, 41):
            inside = (lows <= p) & (p <= highs)
            coverages.append(stats.binom.pmf(np.arange(n + 1), n, p)[inside].sum())
    coverages = np.array(coverages)
    assert coverages.min() >= 0.95 - 1e-12
    assert coverages.mean() < 0.99  # an interval that is always [0, 1] would fail


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9])
def test_clopper_pearson_calibration_in_simulated_trials(p):
    """2000 seeded trials of 25 patients: the 95 % interval covers p in >= 95 %."""
    rng = np.random.default_rng(2024)
    trials, n = 2000, 25
    ks = rng.binomial(n, p, size=trials)
    inside = {k: proportion_ci(k, n).ci_low <= p <= proportion_ci(k, n).ci_high
              for k in range(n + 1)}
    covered = sum(inside[int(k)] for k in ks)
    assert covered >= _at_least(trials, 0.95)


def test_newcombe_reproduces_published_worked_examples():
    """Newcombe (1998) Stat Med 17:873, Table II, method 10 (hybrid score)."""
    examples = [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
        ((10, 10, 0, 10), (0.6075, 1.0000)),
    ]
    for (k1, n1, k2, n2), (low, high) in examples:
        est = difference_in_proportions(k1, n1, k2, n2)
        assert est.value == pytest.approx(k1 / n1 - k2 / n2)
        assert est.ci_low == pytest.approx(low, abs=6e-5), (k1, n1, k2, n2)
        assert est.ci_high == pytest.approx(high, abs=6e-5), (k1, n1, k2, n2)


def test_newcombe_is_built_from_scipy_wilson_intervals():
    """The hybrid formula recomputed from scipy's Wilson bounds."""
    for k1, n1, k2, n2 in [(3, 11, 7, 9), (0, 5, 4, 6), (12, 20, 12, 20), (8, 8, 1, 13)]:
        a = stats.binomtest(k1, n1).proportion_ci(method="wilson")
        b = stats.binomtest(k2, n2).proportion_ci(method="wilson")
        p1, p2 = k1 / n1, k2 / n2
        low = p1 - p2 - np.hypot(p1 - a.low, b.high - p2)
        high = p1 - p2 + np.hypot(a.high - p1, p2 - b.low)
        est = difference_in_proportions(k1, n1, k2, n2)
        assert (est.ci_low, est.ci_high) == pytest.approx((low, high), abs=1e-12)
        assert est.p_value == pytest.approx(
            stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1], rel=1e-12)


def test_newcombe_calibration():
    rng = np.random.default_rng(7)
    trials, n1, n2, p1, p2 = 1500, 20, 18, 0.7, 0.4
    a = rng.binomial(n1, p1, trials)
    b = rng.binomial(n2, p2, trials)
    inside = {}
    for k1, k2 in set(zip(a.tolist(), b.tolist(), strict=True)):
        est = difference_in_proportions(k1, n1, k2, n2)
        inside[k1, k2] = est.ci_low <= p1 - p2 <= est.ci_high
    covered = sum(inside[pair] for pair in zip(a.tolist(), b.tolist(), strict=True))
    assert covered >= _at_least(trials, 0.94)  # near-nominal, not exact


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_fisher_matches_scipy_on_every_small_table(alternative):
    for n1 in (1, 3, 7, 12):
        for n2 in (2, 5, 12):
            for k1 in range(n1 + 1):
                for k2 in range(n2 + 1):
                    ref = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]],
                                             alternative=alternative)[1]
                    got = fisher_exact_test(k1, n1, k2, n2, alternative)
                    assert got == pytest.approx(ref, rel=1e-9, abs=1e-14), (k1, n1, k2, n2)


def test_fisher_tea_tasting_by_hand():
    # 3 of 4 vs 1 of 4: tables with 3 or more (or 1 or fewer) successes in arm 1.
    # pmf(x) = C(4,x) C(4,4-x) / C(8,4): 1, 16, 36, 16, 1 over 70
    assert fisher_exact_test(3, 4, 1, 4) == pytest.approx(34 / 70)
    assert fisher_exact_test(3, 4, 1, 4, "greater") == pytest.approx(17 / 70)
    assert fisher_exact_test(3, 4, 1, 4, "less") == pytest.approx(69 / 70)


def test_fisher_false_positive_rate_under_the_null():
    """lifelines-style: 1000 null trials, rejection at 5 % no more often than 5 %."""
    rng = np.random.default_rng(11)
    trials = 1000
    a, b = rng.binomial(30, 0.3, trials), rng.binomial(30, 0.3, trials)
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    p_values = {pair: fisher_exact_test(pair[0], 30, pair[1], 30) for pair in set(pairs)}
    rejected = sum(p_values[pair] < 0.05 for pair in pairs)
    assert rejected <= stats.binom.ppf(0.999, trials, 0.05)


# ---------------------------------------------------------------- medians
def test_median_ci_matches_scipy_quantile_test():
    rng = np.random.default_rng(3)
    for n in range(6, 61, 3):
        x = rng.lognormal(3, 1, size=n)
        for confidence in (0.95, 0.9):
            ref = stats.quantile_test(x, q=np.median(x), p=0.5).confidence_interval(confidence)
            est = median_ci(x, confidence)
            assert est.value == np.median(x)
            assert (est.ci_low, est.ci_high) == (ref.low, ref.high), (n, confidence)


def test_median_ci_by_hand():
    # n = 10: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024 -> [x(2), x(9)]
    x = [7.0, 1.0, 9.0, 3.0, 5.0, 10.0, 2.0, 8.0, 4.0, 6.0]
    est = median_ci(x)
    assert (est.value, est.ci_low, est.ci_high, est.n) == (5.5, 2.0, 9.0, 10)
    # coverage promised: 1 - 2 * 11/1024 = 0.9785 >= 0.95


def test_median_ci_too_small_sample_warns_and_gives_no_bounds():
    with pytest.warns(StatisticalWarning, match="too small"):
        est = median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert est.value == 3.0 and np.isnan(est.ci_low) and np.isnan(est.ci_high)
    d = est.to_dict()
    assert d["ci_low"] is None and d["ci_high"] is None


def test_median_ci_calibration():
    rng = np.random.default_rng(5)
    trials, n = 1000, 30
    true_median = np.log(2) * 10.0
    covered = 0
    for _ in range(trials):
        est = median_ci(rng.exponential(10.0, n))
        covered += est.ci_low <= true_median <= est.ci_high
    assert covered >= _at_least(trials, 0.95)


# ---------------------------------------------------------------- Kaplan-Meier
def _km_data(seed, n=40, censor_fraction=0.3):
    rng = np.random.default_rng(seed)
    t = np.round(rng.exponential(30.0, n), 0)  # rounded: ties
    observed = rng.random(n) >= censor_fraction
    return t, observed


def test_kaplan_meier_and_log_log_band_match_scipy_ecdf():
    for seed in range(5):
        t, observed = _km_data(seed)
        res = stats.ecdf(stats.CensoredData.right_censored(t, ~observed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            band = res.sf.confidence_interval(0.95, method="log-log")
        km = kaplan_meier(t, observed)
        times = km.index.to_numpy()
        np.testing.assert_allclose(km["survival"], res.sf.evaluate(times), rtol=1e-12)
        low, high = band.low.evaluate(times), band.high.evaluate(times)
        ok = np.isfinite(low)  # scipy: undefined where S is 1 (nksim: 1) or 0 (NaN)
        np.testing.assert_allclose(km["ci_low"].to_numpy()[ok], low[ok], rtol=1e-10)
        np.testing.assert_allclose(km["ci_high"].to_numpy()[ok], high[ok], rtol=1e-10)
        zero = km["survival"].to_numpy() == 0
        assert np.isnan(km["ci_low"].to_numpy()[zero]).all()
        assert np.isnan(km["ci_high"].to_numpy()[zero]).all()
        assert (km["at_risk"].iloc[0], km["events"].sum()) == (len(t), observed.sum())


def test_km_median_equals_sample_median_without_censoring():
    rng = np.random.default_rng(1)
    for n in (7, 8, 21, 30):
        x = rng.exponential(5.0, n)
        assert km_median(x, np.ones(n, bool)).value == pytest.approx(np.median(x))


def test_km_median_by_hand_with_censoring():
    # S: t1 5/6, t2 4/6, t3 censored, t4 (4/6)(2/3) = 0.444 -> median 4
    est = km_median([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 1])
    assert est.value == 4.0 and est.k == 5 and est.n == 6


def _first_at_or_below_half(times, curve):
    below = np.flatnonzero(curve <= 0.5)
    return float(times[below[0]]) if below.size else None


def test_km_median_interval_is_where_scipys_band_contains_one_half():
    for seed in range(6):
        t, observed = _km_data(seed, n=60)
        res = stats.ecdf(stats.CensoredData.right_censored(t, ~observed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            band = res.sf.confidence_interval(0.95, method="log-log")
        event_times = np.unique(t[observed])
        low_band = band.low.evaluate(event_times)
        high_band = band.high.evaluate(event_times)
        est = km_median(t, observed).to_dict()
        assert est["ci_low"] == _first_at_or_below_half(event_times, low_band)
        assert est["ci_high"] == _first_at_or_below_half(event_times, high_band)
        assert est["ci_low"] <= est["value"]
        assert est["ci_high"] is None or est["value"] <= est["ci_high"]


def test_km_median_limits_are_not_reached_where_the_curve_falls_to_zero():
    """R's survfit leaves the log-log band undefined at S = 0; a band set to 0 there made
    the last event look like a reached limit (n = 1: median 30, interval 30 to 30)."""
    one = km_median([30.0], [True])
    assert one.to_dict()["ci_high"] is None and "not estimable (the curve falls to 0)" in one.note
    est = km_median([1.0, 2.0, 3.0], [True, True, True])
    assert (est.value, est.ci_low) == (2.0, 1.0) and math.isnan(est.ci_high)
    # censored before the curve reaches 0: the limit lies beyond follow-up
    assert km_median([1.0, 2.0, 3.0, 9.0], [1, 1, 0, 0]).note == "upper limit not reached"


def test_km_median_not_reached():
    # 10 patients, 3 events, 7 never within follow-up (day 180)
    days = [20, 40, 60] + [180] * 7
    est = km_median(days, [True] * 3 + [False] * 7)
    d = est.to_dict()
    assert d["value"] is None and d["ci_high"] is None
    assert "median not reached" in d["note"]


def test_km_median_calibration_with_censoring():
    """Exponential times (true median 20 d), uniform censoring: coverage ~ 95 %."""
    rng = np.random.default_rng(8)
    trials, n = 500, 50
    true_median = 20.0
    covered = undefined = 0
    for _ in range(trials):
        event = rng.exponential(true_median / np.log(2), n)
        censor = rng.uniform(10, 80, n)
        est = km_median(np.minimum(event, censor), event <= censor)
        high = np.inf if np.isnan(est.ci_high) else est.ci_high
        undefined += np.isnan(est.ci_low)
        covered += est.ci_low <= true_median <= high
    assert undefined == 0
    assert covered >= _at_least(trials, 0.93)
    assert covered <= stats.binom.ppf(0.999, trials, 0.985)


# ---------------------------------------------------------------- bootstrap and cost
def test_bootstrap_is_seeded_and_agrees_with_scipy_percentile_bootstrap():
    x = np.random.default_rng(0).lognormal(0, 1, 60)
    mean = lambda a, axis=-1: np.mean(a, axis=axis)  # noqa: E731
    a = bootstrap_ci((x,), mean, seed=5, n_resamples=20000)
    b = bootstrap_ci((x,), mean, seed=5, n_resamples=20000)
    c = bootstrap_ci((x,), mean, seed=6, n_resamples=20000)
    assert a == b and a != c and a.value == pytest.approx(x.mean())
    ref = stats.bootstrap((x,), np.mean, n_resamples=20000, method="percentile",
                          rng=np.random.default_rng(1)).confidence_interval
    width = ref.high - ref.low
    assert a.ci_low == pytest.approx(ref.low, abs=0.05 * width)
    assert a.ci_high == pytest.approx(ref.high, abs=0.05 * width)


def test_bootstrap_percentile_calibration_for_a_mean():
    rng = np.random.default_rng(9)
    trials, n = 300, 40
    covered = 0
    mean = lambda a, axis=-1: np.mean(a, axis=axis)  # noqa: E731
    for i in range(trials):
        est = bootstrap_ci((rng.normal(1.0, 2.0, n),), mean, seed=i, n_resamples=1000)
        covered += est.ci_low <= 1.0 <= est.ci_high
    assert covered >= _at_least(trials, 0.93)  # percentile bootstrap under-covers slightly


def test_cost_per_remission_definition_and_interval():
    cost = np.array([1.26e6, 1.26e6, 1.0e4, 1.27e6, 1.26e6, 1.26e6, 1.26e6, 2.0e4])
    remission = np.array([True, False, False, True, True, False, True, False])
    est = cost_per_remission(cost, remission, seed=1)
    assert est.value == pytest.approx(cost.sum() / 4) and est.k == 4 and est.n == 8
    assert est.ci_low <= est.value <= est.ci_high
    assert est == cost_per_remission(cost, remission, seed=1)
    # small arms: some resamples have no remission -> unbounded upper limit
    small = cost_per_remission(cost[:3], remission[:3], seed=1)
    assert np.isinf(small.ci_high) and "unbounded" in small.note
    assert small.to_dict()["ci_high"] is None
    none = cost_per_remission(cost, np.zeros(8, bool), seed=1)
    assert none.to_dict()["value"] is None and none.note.startswith("no remissions")


def test_cost_per_remission_rejects_missing_remission():
    with pytest.raises(ValueError, match="booleans"):
        cost_per_remission([1.0, 2.0], [1.0, np.nan], seed=0)


def test_cost_per_patient_treated_is_median_of_treated():
    cost = np.array([5.0, 1.0, 3.0, 100.0, 2.0, 4.0, 6.0, 7.0, 8.0])
    treated = np.array([True] * 3 + [False] + [True] * 5)
    est = cost_per_patient_treated(cost, treated)
    assert est.n == 8 and est.value == np.median(cost[treated])


# ---------------------------------------------------------------- endpoint summaries
def test_endpoint_summary_proportion_shape_and_missing_values():
    values = [True, False, True, None, 1, 0, np.nan, True]
    out = endpoint_summary("crs_any_rate", values, "proportion")
    ref = stats.binomtest(4, 6).proportion_ci(method="exact")
    assert out["value"] == pytest.approx(4 / 6) and out["n"] == 6 and out["k"] == 4
    assert out["n_missing"] == 2
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ref.low, ref.high))
    assert {"value", "ci_low", "ci_high", "n", "method", "confidence"} <= set(out)
    json.dumps(out, allow_nan=False)


def test_endpoint_summary_time_to_event_censors_at_followup():
    # B cells return on these days; NaN: not within 180 days; 200 > follow-up: censored
    days = [30, 45, np.nan, 60, 200, 90, np.nan, 120]
    out = endpoint_summary("b_cell_return_day_median", days, "time_to_event", followup=180)
    ref = km_median([30, 45, 180, 60, 180, 90, 180, 120],
                    [1, 1, 0, 1, 0, 1, 0, 1]).to_dict()
    assert out == ref
    # S = 7/8, 6/8, 5/8 and exactly 4/8 after day 90, until the next event (day 120)
    assert out["value"] == 105.0 and out["k"] == 5
    json.dumps(out, allow_nan=False)
    with pytest.raises(ValueError, match="followup"):
        endpoint_summary("b", days, "time_to_event")


def test_endpoint_summary_median_and_bad_input():
    out = endpoint_summary("cost_per_patient_median", np.arange(1.0, 21.0), "median")
    assert out["value"] == 10.5 and out["n"] == 20 and out["n_missing"] == 0
    with pytest.raises(ValueError, match="kind"):
        endpoint_summary("x", [1], "mean")
    with pytest.raises(ValueError, match="booleans or 0/1"):
        endpoint_summary("x", [0.5], "proportion")
    with pytest.warns(StatisticalWarning):
        empty = endpoint_summary("x", [], "proportion")
    assert empty["value"] is None and empty["n"] == 0


def test_input_validation():
    with pytest.raises(ValueError):
        proportion_ci(5, 3)
    with pytest.raises(ValueError):
        proportion_ci(1, 3, confidence=1.5)
    with pytest.raises(TypeError):
        proportion_ci(True, 3)


def test_summary_frame():
    frame = summary_frame({"a": proportion_ci(3, 10), "b": median_ci(np.arange(10.0))})
    assert list(frame.index) == ["a", "b"] and frame.loc["a", "k"] == 3
    assert isinstance(proportion_ci(1, 2), Estimate)


# ---------------------------------------------------------------- documentation
def test_documentation_examples_run():
    text = (ROOT / "docs" / "trials-statistics.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/trials-statistics.md has no python examples"
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        for block in blocks:
            exec(compile(block, "trials-statistics.md", "exec"), namespace)  # noqa: S102
