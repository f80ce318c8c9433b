"""Endpoints of ageing cohorts with 95 % intervals, hazards and Kaplan–Meier curves.

* Lifespan quantiles (median, q25, q75): sample quantiles of the lifespans with
  distribution-free order-statistic intervals (``scipy.stats.quantile_test``); individuals
  alive at the end of follow-up are counted as longer than any observed lifespan, which is
  exact for every quantile below the fraction that died (otherwise ``None``).
* ``lifespan_gain_pct``: 100 (median_arm / median_control - 1), percentile bootstrap over
  individuals (over pairs when the arms are paired: same ids, noise and heterogeneity).
* ``hazard_ratio``: Cox proportional hazards (lifelines ``CoxPHFitter``; robust sandwich
  variance clustered by pair in a paired design).
* ``healthspan_median_days``: median time lived with X below the healthspan level.
* Hazard by age: deaths / person-time in age bins; the Gompertz doubling time is
  ``ln 2 / b`` of the Poisson maximum-likelihood fit ``h(a) = exp(c + b a)`` over an age
  window (exposure = exact person-time in each one-unit bin).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from nksim.disease.ageing._cohort import ArmResult

DAYS_PER_YEAR = 365.0
N_RESAMPLES = 1000


def _clean(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _est(value, low, high, n, method, note="", **extra) -> dict[str, Any]:
    out = {"value": _clean(value), "ci_low": _clean(low), "ci_high": _clean(high),
           "n": int(n), "method": method, "confidence": 0.95, "note": note}
    out.update(extra)
    return out


def quantile_estimate(durations: np.ndarray, observed: np.ndarray, p: float,
                      scale: float = 1.0) -> dict[str, Any]:
    """The ``p`` quantile of lifespans (censored = beyond follow-up) with its 95 % interval."""
    x = np.where(observed, durations, np.inf) / scale
    n = x.size
    method = "sample quantile; order-statistic interval (scipy.stats.quantile_test)"
    if n == 0:
        return _est(math.nan, math.nan, math.nan, 0, method, "no individuals")
    value = float(np.quantile(x, p, method="inverted_cdf"))
    ci = stats.quantile_test(x, q=0.0, p=p).confidence_interval(0.95)
    note = "" if math.isfinite(value) else "not reached within follow-up"
    return _est(value, float(ci.low), float(ci.high), n, method, note,
                events=int(observed.sum()))


def _medians(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.quantile(x, 0.5, axis=axis, method="inverted_cdf")


def gain_estimate(arm: ArmResult, control: ArmResult, *, paired: bool, seed: int,
                  n_resamples: int = N_RESAMPLES) -> dict[str, Any]:
    """Median lifespan gain (%) of ``arm`` over ``control`` with a bootstrap interval."""
    a = np.where(arm.observed, arm.lifespan, np.inf)
    c = np.where(control.observed, control.lifespan, np.inf)
    value = 100.0 * (_medians(a) / _medians(c) - 1.0)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1201,)))
    out = np.empty(n_resamples)
    chunk = max(1, 4_000_000 // max(a.size, 1))
    for lo in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - lo)
        ia = rng.integers(0, a.size, size=(m, a.size))
        ic = ia if paired else rng.integers(0, c.size, size=(m, c.size))
        with np.errstate(invalid="ignore"):
            out[lo:lo + m] = 100.0 * (_medians(a[ia]) / _medians(c[ic]) - 1.0)
    out = out[np.isfinite(out)]
    method = ("percentile bootstrap over " + ("pairs (paired arms)" if paired
                                              else "individuals") + f", {n_resamples} resamples")
    if not out.size:
        return _est(value, math.nan, math.nan, a.size, method, "median not reached")
    return _est(value, np.quantile(out, 0.025, method="lower"),
                np.quantile(out, 0.975, method="higher"), a.size, method)


def hazard_ratio(arm: ArmResult, control: ArmResult, *, paired: bool) -> dict[str, Any]:
    """Cox hazard ratio of ``arm`` vs ``control`` (robust variance by pair if paired)."""
    method = "Cox proportional hazards (lifelines, Efron ties" + (
        "; robust variance clustered by pair)" if paired else ")")
    n = arm.lifespan.size + control.lifespan.size
    try:
        from lifelines import CoxPHFitter
    except ImportError:  # pragma: no cover - lifelines is a project dependency
        return _est(math.nan, math.nan, math.nan, n, method, "lifelines not installed")
    frame = pd.DataFrame({
        "T": np.r_[arm.durations, control.durations],
        "E": np.r_[arm.observed, control.observed].astype(int),
        "arm": np.r_[np.ones(arm.lifespan.size), np.zeros(control.lifespan.size)],
    })
    kw: dict[str, Any] = {}
    if paired:
        frame["pair"] = np.r_[arm.ids, control.ids]
        kw = {"cluster_col": "pair", "robust": True}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = CoxPHFitter().fit(frame, "T", "E", **kw)
    except Exception as exc:  # lifelines raises ConvergenceError and others
        return _est(math.nan, math.nan, math.nan, n, method, f"Cox fit failed ({exc!r:.80})")
    coef, se = float(fit.params_["arm"]), float(fit.standard_errors_["arm"])
    z = stats.norm.ppf(0.975)
    p = float(fit.summary.loc["arm", "p"])
    return _est(math.exp(coef), math.exp(coef - z * se), math.exp(coef + z * se), n, method,
                p_value=_clean(p))


def hazard_by_age(durations: np.ndarray, observed: np.ndarray, edges: np.ndarray
                  ) -> pd.DataFrame:
    """Deaths, person-time and hazard (deaths / person-time) in each age bin."""
    d = np.asarray(durations, float)
    e = np.asarray(observed, bool)
    lo, hi = edges[:-1], edges[1:]
    exposure = np.clip(d[None, :], lo[:, None], hi[:, None]) - lo[:, None]
    exposure = exposure.sum(axis=1)
    deaths = np.histogram(d[e], bins=edges)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(exposure > 0, deaths / exposure, np.nan)
    return pd.DataFrame({"age_low": lo, "age_high": hi, "deaths": deaths,
                         "person_time": exposure, "hazard": hazard})


def gompertz_fit(durations: np.ndarray, observed: np.ndarray, low: float, high: float
                 ) -> dict[str, float]:
    """Poisson ML fit of ``h(a) = exp(c + b a)`` on unit bins in ``[low, high)``.

    Returns ``b`` (per unit of age), the doubling time ``ln 2 / b``, the deviance-based
    pseudo-R^2 against a constant hazard and the number of deaths used.
    """
    table = hazard_by_age(durations, observed, np.arange(low, high + 1e-9, 1.0))
    table = table[table["person_time"] > 0]
    a = 0.5 * (table["age_low"] + table["age_high"]).to_numpy()
    k = table["deaths"].to_numpy(float)
    pt = table["person_time"].to_numpy(float)

    def nll(theta):
        mu = pt * np.exp(theta[0] + theta[1] * (a - a.mean()))
        return float(np.sum(mu - k * np.log(mu)))

    start = np.array([math.log(max(k.sum(), 1) / pt.sum()), 0.05])
    fit = optimize.minimize(nll, start, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000})
    b = float(fit.x[1])

    def deviance(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(k > 0, k * np.log(k / mu), 0.0)
        return 2 * float(np.sum(t - (k - mu)))

    mu_fit = pt * np.exp(fit.x[0] + b * (a - a.mean()))
    mu_const = pt * k.sum() / pt.sum()
    constant = deviance(mu_const)  # 0 when every death falls in one bin: no r2
    r2 = 1.0 - deviance(mu_fit) / constant if constant > 0 else math.nan
    return {"slope": b, "doubling_time": math.log(2) / b if b > 0 else math.inf,
            "pseudo_r2": r2, "deaths": float(k.sum())}


def weibull_vs_gompertz(durations: np.ndarray, observed: np.ndarray, low: float,
                        high: float, bins: int = 20) -> dict[str, float]:
    """Least-squares R^2 of log hazard against age (Gompertz) and log age (Weibull)."""
    edges = np.linspace(low, high, bins + 1)
    t = hazard_by_age(durations, observed, edges)
    t = t[(t["deaths"] >= 5)]
    age = 0.5 * (t["age_low"] + t["age_high"]).to_numpy()
    y = np.log(t["hazard"].to_numpy())
    w = np.sqrt(t["deaths"].to_numpy(float))

    def r2(x):
        coef = np.polyfit(x, y, 1, w=w)
        res = y - np.polyval(coef, x)
        return 1 - np.sum(w**2 * res**2) / np.sum(w**2 * (y - np.average(y, weights=w**2))**2)

    return {"gompertz_r2": float(r2(age)), "weibull_r2": float(r2(np.log(age))),
            "bins": int(age.size)}


def survival_curve(durations: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """Kaplan–Meier survival with its pointwise log-log 95 % band (``scipy.stats.ecdf``)."""
    d = np.asarray(durations, float)
    e = np.asarray(observed, bool)
    data = stats.CensoredData(uncensored=d[e], right=d[~e])
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():  # undefined where S = 0 or 1: NaN there, as documented
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(0.95, method="log-log")
    with np.errstate(all="ignore"):
        return pd.DataFrame({"time": sf.quantiles, "survival": sf.probabilities,
                             "ci_low": ci.low.probabilities, "ci_high": ci.high.probabilities})


def burden_by_age(result: ArmResult) -> pd.DataFrame:
    """Mean, median and 10-90 % range of X among the living at each record time."""
    rows = []
    for r, t in enumerate(result.record_times):
        x = result.records[:, r]
        x = x[~np.isnan(x)]
        if x.size == 0:
            continue
        rows.append({"age_days": float(t), "alive": int(x.size), "mean": float(x.mean()),
                     "median": float(np.median(x)), "p10": float(np.quantile(x, 0.1)),
                     "p90": float(np.quantile(x, 0.9))})
    return pd.DataFrame(rows)


def arm_endpoints(result: ArmResult, *, human: bool) -> dict[str, dict[str, Any]]:
    """Per-arm endpoints (days; years too for people)."""
    d, e = result.durations, result.observed
    out = {
        "lifespan_median_days": quantile_estimate(d, e, 0.5),
        "lifespan_q25_days": quantile_estimate(d, e, 0.25),
        "lifespan_q75_days": quantile_estimate(d, e, 0.75),
    }
    if human:
        out["lifespan_median_years"] = quantile_estimate(d, e, 0.5, scale=DAYS_PER_YEAR)
    hs = quantile_estimate(result.healthspan, np.ones(d.size, bool), 0.5)
    hs["note"] = ("time lived with X below the healthspan level (fraction x Xc); "
                  "alive individuals counted up to the end of follow-up")
    out["healthspan_median_days"] = hs
    return out


def paired_differences(arm: ArmResult, control: ArmResult) -> dict[str, Any]:
    """Per-pair lifespan differences (arm - control twin, days) in a paired design.

    Shows what one person's experience can and cannot tell: the spread of twin
    differences against the median gain. Pairs with a twin alive at follow-up end are left
    out (counted in ``note``).
    """
    both = arm.observed & control.observed
    d = arm.lifespan[both] - control.lifespan[both]
    if d.size == 0:
        return {"n_pairs": 0, "note": "no pair with both deaths observed"}
    q = np.quantile(d, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {"n_pairs": int(d.size), "median_days": float(q[2]), "q10_days": float(q[0]),
            "q25_days": float(q[1]), "q75_days": float(q[3]), "q90_days": float(q[4]),
            "fraction_treated_twin_longer": float(np.mean(d > 0)),
            "fraction_identical": float(np.mean(d == 0)),
            "note": f"{int((~both).sum())} pair(s) with a twin alive at the end left out"}
