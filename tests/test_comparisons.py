"""Between-arm comparison statistics (``nksim.trials._comparisons``), each checked against
published worked examples, scipy.stats or a hand calculation."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nksim.trials import (
    Endpoint,
    compare_arms,
    cox_hazard_ratio,
    km_median,
    paired_difference,
    risk_ratio,
)
from nksim.trials._comparisons import bootstrap_difference, km_median_value

Z95 = 1.959963984540054  # standard normal 97.5 % quantile


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


@pytest.mark.parametrize("k1, n1, k2, n2", [(15, 20, 6, 20), (3, 19, 9, 21), (19, 20, 1, 20)])
def test_risk_ratio_matches_scipy_katz_interval(k1, n1, k2, n2):
    rr, low, high, note = risk_ratio(k1, n1, k2, n2)
    ref = stats.contingency.relative_risk(k1, n1, k2, n2)
    ci = ref.confidence_interval(0.95)
    assert rr == pytest.approx(ref.relative_risk)
    assert (low, high) == pytest.approx((ci.low, ci.high))
    assert note == ""


def _katz_by_hand(a, b, c, d):
    """Katz interval of the 2x2 table (events, non-events) = (a, b) in arm A, (c, d) in B."""
    rr = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return rr, rr * math.exp(-Z95 * se), rr * math.exp(Z95 * se)


def test_risk_ratio_with_every_patient_responding_in_both_arms_is_not_exactly_one():
    """k1 = n1, k2 = n2: the Katz variance 1/k1 - 1/n1 + 1/k2 - 1/n2 is 0 and the plain
    interval is [1, 1]. With 0.5 added to every cell (Haldane-Anscombe) the table is
    20.5/0.5 versus 20.5/0.5: RR 1, se = sqrt(2 (1/20.5 - 1/21)) = sqrt(1/430.5)."""
    rr, low, high, note = risk_ratio(20, 20, 20, 20)
    se = math.sqrt(1 / 430.5)
    assert rr == pytest.approx(1.0)
    assert (low, high) == pytest.approx((math.exp(-Z95 * se), math.exp(Z95 * se)), rel=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.9099, 1.0991)
    assert "Haldane" in note
    # unequal arms: 20.5/0.5 versus 10.5/0.5
    rr, low, high, _ = risk_ratio(20, 20, 10, 10)
    assert (rr, low, high) == pytest.approx(_katz_by_hand(20.5, 0.5, 10.5, 0.5), rel=1e-12)
    assert low < 1 < high


@pytest.mark.parametrize("k1, n1, k2, n2", [(3, 10, 0, 10), (0, 10, 3, 10), (0, 8, 0, 12),
                                            (20, 20, 1, 20), (7, 7, 3, 9)])
def test_risk_ratio_with_a_zero_cell_adds_one_half_to_every_cell(k1, n1, k2, n2):
    """Any zero cell (events or non-events): 0.5 added to all four cells, estimate and
    interval from the corrected table. (3, 10, 0, 10) -> 3.5/7.5 versus 0.5/10.5:
    RR = (3.5/11)/(0.5/11) = 7."""
    rr, low, high, note = risk_ratio(k1, n1, k2, n2)
    expected = _katz_by_hand(k1 + 0.5, n1 - k1 + 0.5, k2 + 0.5, n2 - k2 + 0.5)
    assert (rr, low, high) == pytest.approx(expected, rel=1e-12)
    assert "Haldane" in note and 0 < low < rr < high < math.inf


def test_risk_ratio_undefined_cases_are_explained():
    assert risk_ratio(7, 7, 3, 10)[0] != 7 / 3  # zero cell: corrected (see above)
    assert risk_ratio(3, 10, 0, 10)[0] == pytest.approx(7.0)
    rr, low, high, note = risk_ratio(3, 10, 0, 0)
    assert math.isnan(rr) and math.isnan(low) and "no patients" in note


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


# ---------------------------------------------------------------- bootstrap tails
def _arm(name, frame):
    frame = frame.assign(status="ok", candidate=np.arange(len(frame)))
    return SimpleNamespace(name=name, simulation=object(), patients=frame)


def _only(items, measure):
    (item,) = [x for x in items if x["measure"] == measure]
    return item


def _resamples(note, text):
    match = re.search(rf"(\d+) of (\d+) resamples with {text}", note)
    assert match, note
    return int(match.group(1)), int(match.group(2))


def test_median_difference_keeps_the_resamples_whose_median_is_not_reached():
    """Reviewer's example: arm A has 21 of 40 events within 12 months (the rest censored at
    the end of follow-up), arm B all 40 early. With censoring only at follow-up the KM
    curve reaches 0.5 iff at least 20 of the 40 resampled patients had the event, so a
    resample of A leaves its median beyond follow-up (difference > 12 - 6) with
    probability P(X <= 19), X ~ Binomial(40, 21/40) = 0.33 (scipy): far more than the
    2.5 % of the upper tail, which is therefore unbounded. Dropping those resamples
    gave a finite upper limit of 8.7 months."""
    follow = 12.0
    a = pd.DataFrame({"t": np.r_[np.linspace(1, 11.5, 21), np.full(19, np.nan)]})
    b = pd.DataFrame({"t": np.linspace(0.5, 6, 40)})
    e = Endpoint("pfs", "t", "time_to_event")
    items = compare_arms([_arm("a", a), _arm("b", b)], [e], paired=False,
                         follow_up=follow, seed=1)
    item = _only(items, "median_difference")
    t_a = np.r_[np.linspace(1, 11.5, 21), np.full(19, follow)]
    e_a = np.r_[np.ones(21, bool), np.zeros(19, bool)]
    median_b = km_median(np.linspace(0.5, 6, 40), np.ones(40, bool)).value
    expected = km_median(t_a, e_a).value - median_b
    assert item["value"] == pytest.approx(expected)
    assert item["ci_high"] is None and "upper limit unbounded" in item["note"]
    assert item["ci_low"] is not None and item["ci_low"] < item["value"]
    k, n = _resamples(item["note"], "median not reached in arm_a")
    p = stats.binom.cdf(19, 40, 21 / 40)
    assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p))
    assert "dropped" not in item["note"]
    # arms the other way round: the lower limit is unbounded instead
    items = compare_arms([_arm("b", b), _arm("a", a)], [e], paired=False,
                         follow_up=follow, seed=1)
    item = _only(items, "median_difference")
    assert item["value"] == pytest.approx(-expected)
    assert item["ci_low"] is None and item["ci_high"] is not None
    assert "lower limit unbounded" in item["note"]


def test_median_difference_when_no_median_is_reached_is_undefined_and_says_so():
    """Both arms without a single event: each median lies beyond follow-up, and the
    difference of two unknown numbers beyond follow-up can be anything (inf - inf)."""
    a = pd.DataFrame({"t": np.full(10, np.nan)})
    b = pd.DataFrame({"t": np.r_[np.full(8, np.nan), 3.0, 4.0]})
    items = compare_arms([_arm("a", a), _arm("b", b)],
                         [Endpoint("pfs", "t", "time_to_event")], paired=False,
                         follow_up=12.0, seed=1)
    item = _only(items, "median_difference")
    assert item["value"] is None and item["ci_low"] is None and item["ci_high"] is None
    assert "median not reached in either arm: difference undefined" in item["note"]
    assert "lower limit unbounded" in item["note"] and "upper limit unbounded" in item["note"]


def test_median_difference_with_arm_b_not_reached_is_minus_infinity():
    a = pd.DataFrame({"t": np.linspace(0.5, 6, 20)})
    b = pd.DataFrame({"t": np.r_[np.full(15, np.nan), np.arange(1.0, 6.0)]})
    items = compare_arms([_arm("a", a), _arm("b", b)],
                         [Endpoint("pfs", "t", "time_to_event")], paired=False,
                         follow_up=12.0, seed=1)
    item = _only(items, "median_difference")
    assert item["value"] is None and item["ci_low"] is None
    assert item["note"].startswith("median not reached in arm_b: difference unbounded")


def test_cost_per_response_difference_keeps_resamples_without_a_responder():
    """Arm A: 2 responders of 20. A resample has no responder (cost per response +inf,
    as the arm's cost per remission) with probability (18/20)**20 = 0.12 > 0.025, so
    the upper limit of A minus B is unbounded (it was finite with those dropped)."""
    rng = np.random.default_rng(5)
    a = pd.DataFrame({"cost_rmb": rng.uniform(1e5, 2e5, 20),
                      "resp": np.r_[True, True, np.zeros(18, bool)]})
    b = pd.DataFrame({"cost_rmb": rng.uniform(1e5, 2e5, 20), "resp": np.ones(20, bool)})
    items = compare_arms([_arm("a", a), _arm("b", b)],
                         [Endpoint("cpr", "resp", "cost_per_response")], paired=False,
                         follow_up=12.0, seed=3)
    item = _only(items, "difference")
    expected = a["cost_rmb"].sum() / 2 - b["cost_rmb"].sum() / 20
    assert item["value"] == pytest.approx(expected)
    assert item["ci_high"] is None and "upper limit unbounded" in item["note"]
    assert item["ci_low"] is not None and item["ci_low"] < expected
    k, n = _resamples(item["note"], "no responder in arm_a")
    p = 0.9 ** 20
    assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_cost_per_response_without_any_responder_in_an_arm():
    a = pd.DataFrame({"cost_rmb": np.full(6, 1e5), "resp": np.zeros(6, bool)})
    b = pd.DataFrame({"cost_rmb": np.full(6, 1e5), "resp": np.ones(6, bool)})
    items = compare_arms([_arm("a", a), _arm("b", b)],
                         [Endpoint("cpr", "resp", "cost_per_response")], paired=False,
                         follow_up=12.0, seed=3)
    item = _only(items, "difference")
    assert item["value"] is None and item["ci_high"] is None
    assert item["note"].startswith("no responder in arm_a: difference unbounded (+inf)")


def test_undefined_resamples_count_against_both_limits():
    """A statistic that is NaN in 5 % of resamples (more than either 2.5 % tail) leaves
    both limits unbounded rather than dropping those resamples."""
    x = np.r_[np.full(30, np.nan), np.arange(1.0, 271.0)]  # NaN with prob. 0.1 each

    def first(v):
        return float(v[0])

    _, low, high, note = bootstrap_difference((x,), (np.zeros(5),), first,
                                              rng=np.random.default_rng(0), n_resamples=400)
    assert low == -math.inf and high == math.inf
    assert "undefined, counted as unbounded on both sides" in note


def test_hazard_ratios_carry_the_log_rank_p_that_power_counts():
    """A time-to-event comparison had no test (p null) while `nksim power` counted log-rank
    rejections: the hazard ratio's p is lifelines' log-rank p (unpaired) or the log-rank
    stratified by patient (paired)."""
    import types

    import pandas as pd
    from lifelines.statistics import logrank_test

    from nksim.trials._comparisons import compare_arms
    from nksim.trials._power import replicate_p_value
    from nksim.trials._setting import Endpoint

    rng = np.random.default_rng(5)
    ta, tb = rng.exponential(100, 30), rng.exponential(200, 30)

    def arm(name, t):
        return types.SimpleNamespace(name=name, simulation=object(), patients=pd.DataFrame(
            {"candidate": range(30), "status": "ok",
             "pfs": np.where(t <= 365, t, np.nan)}))

    e = Endpoint("pfs_median", "pfs", "time_to_event")
    ea, eb = ta <= 365, tb <= 365
    da, db = np.minimum(ta, 365), np.minimum(tb, 365)
    for paired in (False, True):
        hr = next(c for c in compare_arms([arm("a", ta), arm("b", tb)], [e], paired=paired,
                                          follow_up=365, seed=1)
                  if c["measure"] == "hazard_ratio")
        # what nksim power counts for the same arms (its own test is checked against a
        # closed form and lifelines in test_power.py)
        result = types.SimpleNamespace(
            endpoints=(e,), arms=[arm("a", ta), arm("b", tb)],
            scenario=types.SimpleNamespace(trial=types.SimpleNamespace(
                design="paired" if paired else "randomised", follow_up_days=365)))
        expected = replicate_p_value(result, "pfs_median", None)[0]
        if not paired:  # and lifelines' log-rank test, independently
            assert expected == pytest.approx(logrank_test(
                da, db, event_observed_A=ea, event_observed_B=eb).p_value, rel=1e-12)
        assert hr["p_value"] == pytest.approx(expected, rel=1e-12) and "log-rank p" in \
            hr["method"]
