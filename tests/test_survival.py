"""Survival endpoints: Kaplan-Meier medians and numbers at risk against published values
(Freireich 1963 / Gehan 1965 6-MP leukaemia data) and lifelines; the months scaling of
the lymphoma setting against lifelines on properly censored data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from nksim.trials import endpoint_summary, km_median
from nksim.trials._comparisons import cox_hazard_ratio
from nksim.trials._survival import event_times, km_curve

# Gehan 1965 (Freireich 1963) remission times, weeks; False = censored.
MP6_T = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP6_E = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO_T = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_km_medians_match_published_values():
    """Published KM medians: 23 weeks (6-MP), 8 weeks (placebo) (e.g. Kleinbaum & Klein,
    Survival Analysis, ch. 2)."""
    mp = km_curve(np.array(MP6_T), np.array(MP6_E, bool))
    pl = km_curve(np.array(PLACEBO_T), np.ones(21, bool))
    assert mp.median == 23.0 and pl.median == 8.0
    assert km_median(MP6_T, np.array(MP6_E, bool)).value == 23.0


def test_numbers_at_risk_and_curve_equal_lifelines():
    t, e = np.array(MP6_T, float), np.array(MP6_E, bool)
    curve = km_curve(t, e, at=np.array([0.0, 10.0, 20.0, 30.0]))
    assert curve.at_risk == {0.0: 21, 10.0: 15, 20.0: 8, 30.0: 4}
    ref = KaplanMeierFitter().fit(t, e)
    np.testing.assert_allclose(curve.table["survival"].to_numpy(),
                               ref.survival_function_.iloc[:, 0].to_numpy())
    # S(13) = 0.6902 for 6-MP (classic table)
    assert abs(float(ref.survival_function_at_times(13.0).iloc[0]) - 0.6902) < 1e-4


def test_months_endpoint_equals_lifelines_on_censored_months():
    """The lymphoma setting gives event times in months with NaN = no event; the runner
    censors those at the end of follow-up (in days). With censoring only at the end of
    follow-up the Kaplan-Meier median and interval equal those of data censored at the
    follow-up in months (lifelines)."""
    rng = np.random.default_rng(3)
    follow_days = 730.0
    days = rng.exponential(300.0, 81)
    days[days > follow_days] = np.nan
    months = days / 30.4375
    got = endpoint_summary("pfs", months, "time_to_event", followup=follow_days)
    d, e = event_times(months, follow_days / 30.4375)
    same = km_median(d, e)
    assert (got["value"], got["ci_low"], got["ci_high"]) == pytest.approx(
        (same.value, same.ci_low, same.ci_high), rel=1e-12)
    assert got["n"] == 81 and got["k"] == int(e.sum())
    # 81 patients, censored only at the end: S never equals 0.5 exactly, where the
    # conventions differ (R's midpoint vs lifelines' first time at or below 0.5)
    ref = KaplanMeierFitter().fit(d, e)
    assert abs(got["value"] - float(ref.median_survival_time_)) < 1e-9


def test_cox_hazard_ratio_equals_lifelines_on_gehan():
    t = np.r_[PLACEBO_T, MP6_T].astype(float)
    e = np.r_[np.ones(21, bool), np.array(MP6_E, bool)]
    g = np.r_[np.ones(21, int), np.zeros(21, int)]
    hr, lo, hi, note = cox_hazard_ratio(t, e, g)
    import pandas as pd

    ref = CoxPHFitter().fit(pd.DataFrame({"T": t, "E": e, "g": g}), "T", "E")
    assert abs(hr - float(np.exp(ref.params_["g"]))) < 1e-6
    assert 4.0 < hr < 5.5 and lo < hr < hi and not note  # Efron: HR ~ 4.8 (textbooks)


def test_km_curve_median_is_the_table_median_with_r_midpoint_convention():
    """Four events at 1, 2, 3, 4 without censoring: S = 0.5 on [2, 3). R's
    ``survfit(Surv(c(1, 2, 3, 4)) ~ 1)`` prints median 2.5 (the midpoint, i.e. the
    ordinary sample median); lifelines' ``median_survival_time_`` is 2. The figure's
    median and the tables' must be the same number: 2.5."""
    t, e = [1, 2, 3, 4], [1, 1, 1, 1]
    assert km_median(t, e).value == 2.5 == float(np.median(t))
    assert km_curve(np.array(t, float), np.array(e, bool)).median == 2.5
    assert KaplanMeierFitter().fit(t, e).median_survival_time_ == 2.0  # the other convention


def test_km_curve_median_equals_km_median_on_random_censored_data():
    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(2, 40))
        t = np.round(rng.exponential(8.0, n))  # ties make S = 0.5 exactly now and then
        e = rng.random(n) < 0.8
        got, expected = km_curve(t, e).median, km_median(t, e).value
        assert (np.isnan(got) and np.isnan(expected)) or got == expected


def test_km_figure_legend_shows_the_table_median():
    pytest.importorskip("matplotlib")
    from nksim.report._oncology import km_figure

    arm = SimpleNamespace(name="arm x", simulation=object(),
                          patients=pd.DataFrame({"status": "ok", "pfs": [1.0, 2, 3, 4]}))
    result = SimpleNamespace(arms=[arm],
                             scenario=SimpleNamespace(trial=SimpleNamespace(follow_up_days=10)))
    fig = km_figure(result, {}, "PFS", "pfs")
    try:
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert labels == ["arm x: median 2.5 days"]
