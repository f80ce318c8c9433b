"""Survival curves for reports: Kaplan-Meier (lifelines) with numbers at risk.

Research use only. :func:`km_curve` fits lifelines' ``KaplanMeierFitter`` (Kaplan and
Meier 1958) to event times with censoring at the end of follow-up and returns the
step function, its pointwise log-log 95 % band, the median and the numbers at risk at
chosen times, as drawn under a Kaplan-Meier plot.

The median is :func:`nksim.trials.km_median`, the one the endpoint tables of
``summary.json`` report, not lifelines' ``median_survival_time_``. The two differ where
the curve equals 0.5 exactly over an interval: ``km_median`` takes the midpoint of that
interval, as R's ``survfit`` does (no censoring: the ordinary sample median), lifelines
its first time (``tests/test_survival.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nksim.trials._statistics import km_median


@dataclass
class KMCurve:
    """A fitted Kaplan-Meier curve: ``table`` (index time; ``survival``, ``ci_low``,
    ``ci_high``), ``median`` (NaN if not reached), ``at_risk`` (time -> number at risk)."""

    table: pd.DataFrame
    median: float
    at_risk: dict[float, int]
    n: int
    events: int


def event_times(times: np.ndarray, follow_up: float) -> tuple[np.ndarray, np.ndarray]:
    """``(durations, observed)`` from event times (NaN = no event): censored at
    ``follow_up``; an event after it counts as not observed."""
    t = np.asarray(times, float)
    observed = np.isfinite(t) & (t <= follow_up)
    return np.where(observed, t, follow_up), observed


def km_curve(durations: np.ndarray, observed: np.ndarray, *,
             at: np.ndarray | None = None, confidence: float = 0.95) -> KMCurve:
    """Kaplan-Meier curve (lifelines) with numbers at risk at times ``at``; the median is
    :func:`nksim.trials.km_median` (R's convention, see the module docstring)."""
    from lifelines import KaplanMeierFitter

    d = np.asarray(durations, float)
    e = np.asarray(observed, bool)
    if d.size == 0:
        return KMCurve(pd.DataFrame(columns=["survival", "ci_low", "ci_high"]), math.nan,
                       {}, 0, 0)
    kmf = KaplanMeierFitter(alpha=1.0 - confidence).fit(d, e)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    table = pd.DataFrame({"survival": sf.to_numpy(), "ci_low": ci.iloc[:, 0].to_numpy(),
                          "ci_high": ci.iloc[:, 1].to_numpy()},
                         index=pd.Index(sf.index.to_numpy(float), name="time"))
    median = km_median(d, e, confidence).value
    at = np.array([] if at is None else at, float)
    risk = {float(x): int((d >= x).sum()) for x in at}
    return KMCurve(table, median, risk, int(d.size), int(e.sum()))
