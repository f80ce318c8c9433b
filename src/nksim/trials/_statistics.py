"""Trial statistics: confidence intervals for the endpoints of a virtual trial.

Every interval is two-sided at ``confidence`` (default 0.95). Methods, each checked in
``tests/test_statistics.py`` against ``scipy.stats`` or published worked examples:

* proportions: exact binomial (Clopper and Pearson 1934, Biometrika 26:404);
  Wilson score interval (Wilson 1927, JASA 22:209);
* difference of two proportions: Newcombe's hybrid score interval, "method 10"
  (Newcombe 1998, Stat Med 17:873), and Fisher's exact test;
* median of complete data: distribution-free interval from order statistics
  (e.g. Conover, Practical Nonparametric Statistics, 3rd ed., section 3.2);
* median time to an event with censoring ("never happened within follow-up"):
  Kaplan-Meier estimate (Kaplan and Meier 1958, JASA 53:457) with the
  Brookmeyer-Crowley interval (Biometrics 1982;38:29) obtained by inverting the
  pointwise log-log ("exponential Greenwood") band at S = 0.5, as R's
  ``survfit(conf.type = "log-log")`` and lifelines do;
* bootstrap: percentile interval over resampled patients (Efron and Tibshirani 1993,
  chapter 13) with a seeded generator, used for cost per remission.

Estimates are :class:`Estimate` objects; :func:`endpoint_summary` returns the plain
``{"value", "ci_low", "ci_high", "n", ...}`` dictionary that ``summary.json`` holds,
with ``None`` wherever a number is undefined (e.g. a median not reached).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Estimate",
    "StatisticalWarning",
    "proportion_ci",
    "wilson_ci",
    "difference_in_proportions",
    "fisher_exact_test",
    "median_ci",
    "kaplan_meier",
    "km_median",
    "bootstrap_ci",
    "cost_per_patient_treated",
    "cost_per_remission",
    "endpoint_summary",
    "summary_frame",
    "BOOTSTRAP_STREAM",
]

#: ``SeedSequence(seed, spawn_key=(BOOTSTRAP_STREAM,))`` seeds bootstraps made from an
#: integer seed; patients' streams use two-element spawn keys, so they never coincide.
BOOTSTRAP_STREAM = 301


class StatisticalWarning(UserWarning):
    """Allowed but inferentially dubious: e.g. a sample too small for the interval asked.

    The estimate is still returned (with ``None``/NaN where nothing honest can be said);
    the message names the problem and what it means for the numbers.
    """


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    value, ci_low, ci_high : float
        Estimate and interval bounds (NaN where undefined; +inf for an unbounded upper
        limit, e.g. cost per remission when a bootstrap resample had no remission).
    n : int
        Patients (or observations) used.
    method : str
        How the interval was made.
    confidence : float
        Two-sided confidence level.
    k : int or None
        Successes (proportions), events (time to event) or remissions (cost per remission).
    p_value : float or None
        Test p-value where one goes with the estimate (difference of proportions: Fisher).
    note : str
        Why a number is missing or special ("median not reached", ...).
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float = 0.95
    k: int | None = None
    p_value: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary; NaN and infinities become ``None``."""
        out = asdict(self)
        for key in ("value", "ci_low", "ci_high", "p_value"):
            v = out[key]
            out[key] = None if v is None or not math.isfinite(v) else float(v)
        out["n"] = int(out["n"])
        if out["k"] is not None:
            out["k"] = int(out["k"])
        return out


# ---------------------------------------------------------------- helpers
def _alpha(confidence: float) -> float:
    if isinstance(confidence, bool) or not (0.0 < float(confidence) < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return 1.0 - float(confidence)


def _counts(k: int, n: int) -> tuple[int, int]:
    if isinstance(k, bool) or isinstance(n, bool):
        raise TypeError("k and n must be integers, not booleans")
    if int(k) != k or int(n) != n:
        raise ValueError(f"k and n must be integers, got k={k!r}, n={n!r}")
    k, n = int(k), int(n)
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    return k, n


def _warn(message: str) -> None:
    warnings.warn(message, StatisticalWarning, stacklevel=3)


# ---------------------------------------------------------------- proportions
def proportion_ci(k: int, n: int, confidence: float = 0.95) -> Estimate:
    """Proportion ``k/n`` with the exact (Clopper-Pearson) binomial interval.

    ``ci_low = Beta(alpha/2; k, n-k+1)`` quantile (0 if k = 0) and
    ``ci_high = Beta(1-alpha/2; k+1, n-k)`` quantile (1 if k = n). The interval covers
    the true proportion with probability at least ``confidence`` for every true value
    (it is conservative). Equals ``scipy.stats.binomtest(k, n).proportion_ci("exact")``.
    With ``n = 0`` everything is NaN and a :class:`StatisticalWarning` is issued.
    """
    alpha = _alpha(confidence)
    k, n = _counts(k, n)
    method = "Clopper-Pearson exact"
    if n == 0:
        _warn("proportion of 0 patients: undefined")
        return Estimate(math.nan, math.nan, math.nan, 0, method, confidence, k=0,
                        note="no patients")
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Estimate(k / n, low, high, n, method, confidence, k=k)


def wilson_ci(k: int, n: int, confidence: float = 0.95) -> Estimate:
    """Proportion ``k/n`` with the Wilson score interval (no continuity correction).

    Equals ``scipy.stats.binomtest(k, n).proportion_ci("wilson")``; used as the
    building block of :func:`difference_in_proportions`.
    """
    alpha = _alpha(confidence)
    k, n = _counts(k, n)
    if n == 0:
        _warn("proportion of 0 patients: undefined")
        return Estimate(math.nan, math.nan, math.nan, 0, "Wilson score", confidence, k=0,
                        note="no patients")
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Estimate(p, low, high, n, "Wilson score", confidence, k=k)


def fisher_exact_test(k1: int, n1: int, k2: int, n2: int,
                      alternative: str = "two-sided") -> float:
    """Fisher's exact test of equal proportions ``k1/n1`` versus ``k2/n2``.

    Conditions on the margins of the 2x2 table ``[[k1, n1-k1], [k2, n2-k2]]``: the count
    ``k1`` is hypergeometric. Two-sided p-value: the total probability of tables no more
    probable than the observed one (relative tolerance 1e-7, as in scipy).
    ``alternative="greater"``: arm 1 better (P(X >= k1)); ``"less"``: P(X <= k1).
    Matches ``scipy.stats.fisher_exact([[k1, n1-k1], [k2, n2-k2]], alternative)``.
    """
    k1, n1 = _counts(k1, n1)
    k2, n2 = _counts(k2, n2)
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', "
                         f"got {alternative!r}")
    total, successes = n1 + n2, k1 + k2
    if n1 == 0 or n2 == 0 or successes == 0 or successes == total:
        return 1.0
    dist = stats.hypergeom(total, successes, n1)
    if alternative == "less":
        return float(min(1.0, dist.cdf(k1)))
    if alternative == "greater":
        return float(min(1.0, dist.sf(k1 - 1)))
    support = np.arange(max(0, n1 - (total - successes)), min(successes, n1) + 1)
    pmf = dist.pmf(support)
    observed = dist.pmf(k1)
    return float(min(1.0, pmf[pmf <= observed * (1 + 1e-7)].sum()))


def difference_in_proportions(k1: int, n1: int, k2: int, n2: int,
                              confidence: float = 0.95) -> Estimate:
    """Difference ``k1/n1 - k2/n2`` with Newcombe's hybrid score interval (method 10).

    With Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` of the two proportions and
    ``d = p1 - p2``::

        ci_low  = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)
        ci_high = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)

    It stays inside [-1, 1], behaves well at 0 % and 100 %, and has coverage close to
    nominal. The :attr:`Estimate.p_value` is Fisher's exact two-sided test.
    """
    k1, n1 = _counts(k1, n1)
    k2, n2 = _counts(k2, n2)
    method = "Newcombe hybrid score (Wilson); Fisher exact p"
    if n1 == 0 or n2 == 0:
        _warn("difference of proportions with an empty arm: undefined")
        return Estimate(math.nan, math.nan, math.nan, n1 + n2, method, confidence,
                        note="an arm has no patients")
    a = wilson_ci(k1, n1, confidence)
    b = wilson_ci(k2, n2, confidence)
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.ci_low) ** 2 + (b.ci_high - b.value) ** 2)
    high = d + math.sqrt((a.ci_high - a.value) ** 2 + (b.value - b.ci_low) ** 2)
    return Estimate(d, max(-1.0, low), min(1.0, high), n1 + n2, method, confidence,
                    p_value=fisher_exact_test(k1, n1, k2, n2))


# ---------------------------------------------------------------- medians
def _finite(values: Any, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if np.any(np.isinf(x)):
        raise ValueError(f"{what}: infinite values")
    return x


def median_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Estimate:
    """Sample median with a distribution-free interval from order statistics.

    With the sorted sample ``x(1) <= ... <= x(n)`` and ``B ~ Binomial(n, 1/2)``, the
    interval is ``[x(r), x(n-r+1)]`` for the largest ``r`` with ``P(B <= r-1) <= alpha/2``;
    it covers the population median with probability ``1 - 2 P(B <= r-1) >= confidence``
    for any continuous distribution. Same bounds as
    ``scipy.stats.quantile_test(x, p=0.5).confidence_interval(confidence)``.
    NaN values are dropped (counted in the note). If ``n`` is too small for any
    order-statistic interval (n < 6 at 95 %), the bounds are NaN with a
    :class:`StatisticalWarning`.
    """
    alpha = _alpha(confidence)
    x = _finite(values, "median_ci")
    dropped = int(np.isnan(x).sum())
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    note = f"{dropped} missing value(s) dropped" if dropped else ""
    method = "distribution-free (order statistics)"
    if n == 0:
        _warn("median of no values: undefined")
        return Estimate(math.nan, math.nan, math.nan, 0, method, confidence,
                        note=(note + "; " if note else "") + "no values")
    # largest r (1-based) with P(B <= r - 1) <= alpha / 2
    r = int(stats.binom.ppf(alpha / 2, n, 0.5))  # smallest m with cdf(m) >= alpha/2
    if stats.binom.cdf(r, n, 0.5) <= alpha / 2:
        r += 1
    # now r - 1 is the largest m with cdf(m) <= alpha/2, i.e. r is as required
    value = float(np.median(x))
    if r < 1:
        _warn(f"n = {n} is too small for a distribution-free {confidence:.0%} interval "
              "of the median; bounds are undefined")
        return Estimate(value, math.nan, math.nan, n, method, confidence,
                        note=(note + "; " if note else "") + "too few values for an interval")
    return Estimate(value, float(x[r - 1]), float(x[n - r]), n, method, confidence, note=note)


def kaplan_meier(durations: Sequence[float] | np.ndarray,
                 observed: Sequence[bool] | np.ndarray,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier estimate of the probability that the event has *not* happened by t.

    Parameters
    ----------
    durations : array of float
        Time of the event, or of the end of follow-up for censored patients.
    observed : array of bool
        True where the event happened at ``durations``; False where it had not
        happened by then (censored).
    confidence : float
        Level of the pointwise log-log band (exponential Greenwood formula:
        ``S**exp(+-z * se)`` with ``se = sqrt(sum d/(n(n-d))) / |log S|``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``time`` (distinct durations, ascending), columns ``at_risk``,
        ``events``, ``censored``, ``survival``, ``ci_low``, ``ci_high``. Equals
        ``scipy.stats.ecdf(CensoredData(...)).sf`` and its
        ``confidence_interval(method="log-log")`` at these times (NaN where the curve is 0).
    """
    alpha = _alpha(confidence)
    t = _finite(durations, "kaplan_meier durations")
    e = np.asarray(observed).ravel()
    if e.dtype != bool:
        if not np.all(np.isin(e, (0, 1))):
            raise ValueError("observed must be booleans (True = event happened)")
        e = e.astype(bool)
    if t.shape != e.shape:
        raise ValueError("durations and observed must have the same length")
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError("durations must be non-negative numbers")
    times = np.unique(t)
    events = np.array([np.sum(e & (t == s)) for s in times], dtype=np.int64)
    leaving = np.array([np.sum(t == s) for s in times], dtype=np.int64)
    at_risk = t.size - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = 1.0 - events / at_risk
        survival = np.cumprod(factors)
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(terms)  # inf once every remaining patient had the event
        z = float(stats.norm.ppf(1 - alpha / 2))
        se = np.sqrt(greenwood) / np.abs(np.log(survival))
        low = survival ** np.exp(z * se)
        high = survival ** np.exp(-z * se)
    # the log-log band is undefined where the curve is 0 (NaN, as in scipy and R's survfit:
    # a limit set to 0 there made the last event time look like a reached limit)
    low = np.where(survival >= 1.0, 1.0, np.where(survival <= 0.0, np.nan, low))
    high = np.where(survival >= 1.0, 1.0, np.where(survival <= 0.0, np.nan, high))
    frame = pd.DataFrame({
        "at_risk": at_risk, "events": events, "censored": leaving - events,
        "survival": survival, "ci_low": low, "ci_high": high,
    }, index=pd.Index(times, name="time"))
    return frame


def _first_time_at_or_below(times: np.ndarray, curve: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(curve <= level + 1e-12)
    return float(times[hit[0]]) if hit.size else math.nan


def km_median(durations: Sequence[float] | np.ndarray,
              observed: Sequence[bool] | np.ndarray,
              confidence: float = 0.95) -> Estimate:
    """Kaplan-Meier median time to event with the Brookmeyer-Crowley interval.

    * Median: the first time at which the Kaplan-Meier curve is at or below 0.5; if the
      curve equals 0.5 exactly until the next event, the midpoint of the two event
      times (so with no censoring it equals the ordinary sample median), as R's
      ``survfit`` does; lifelines' ``median_survival_time_`` takes the first time there.
      The Kaplan-Meier figures (:func:`nksim.trials._survival.km_curve`) use this median.
    * Interval: the times at which the pointwise log-log band contains 0.5. Lower
      bound = first event time at which the band's *lower* limit is at or below 0.5;
      upper bound = first event time at which its *upper* limit is (NaN: "upper limit
      not reached").
    * If the curve never reaches 0.5 the median is NaN with the note
      ``"median not reached"`` (more than half never had the event within follow-up).
    """
    km = kaplan_meier(durations, observed, confidence)
    n = int(km["at_risk"].iloc[0]) if len(km) else 0
    events = int(km["events"].sum())
    method = "Kaplan-Meier; Brookmeyer-Crowley (log-log)"
    if n == 0:
        _warn("median time to event of no patients: undefined")
        return Estimate(math.nan, math.nan, math.nan, 0, method, confidence, k=0,
                        note="no patients")
    ev = km[km["events"] > 0]
    times = ev.index.to_numpy(dtype=float)
    s = ev["survival"].to_numpy()
    value = _first_time_at_or_below(times, s, 0.5)
    if not math.isnan(value):
        i = int(np.flatnonzero(times == value)[0])
        if abs(s[i] - 0.5) < 1e-12 and i + 1 < times.size:
            value = 0.5 * (times[i] + times[i + 1])
    low = _first_time_at_or_below(times, ev["ci_low"].to_numpy(), 0.5)
    high = _first_time_at_or_below(times, ev["ci_high"].to_numpy(), 0.5)
    notes = []
    if math.isnan(value):
        notes.append("median not reached")
    # where the curve falls to 0 the band is undefined: a limit not found before is then
    # not estimable from these patients, rather than beyond follow-up
    undefined = bool(s.size) and s[-1] == 0.0
    for name, limit in (("upper", high), ("lower", low)):
        if math.isnan(limit):
            notes.append(f"{name} limit not estimable (the curve falls to 0)" if undefined
                         else f"{name} limit not reached")
    return Estimate(value, low, high, n, method, confidence, k=events, note="; ".join(notes))


# ---------------------------------------------------------------- bootstrap
def _generator(seed: int | np.random.Generator | np.random.SeedSequence) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed),
                                                        spawn_key=(BOOTSTRAP_STREAM,)))


def bootstrap_ci(
    data: Sequence[Sequence[float] | np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    seed: int | np.random.Generator,
    n_resamples: int = 4000,
    confidence: float = 0.95,
    method: str = "percentile bootstrap",
) -> Estimate:
    """Percentile bootstrap interval of ``statistic`` over resampled patients.

    Parameters
    ----------
    data : sequence of arrays
        Per-patient arrays of equal length (e.g. ``(cost, remission)``); patients are
        resampled with replacement, keeping each patient's values together.
    statistic : callable
        ``statistic(*arrays, axis=-1)`` for arrays of shape ``(..., n)``; returns the
        statistic along the last axis (vectorised, like ``scipy.stats.bootstrap``).
    seed : int or numpy.random.Generator
        Integer seeds use ``SeedSequence(seed, spawn_key=(BOOTSTRAP_STREAM,))``.
    n_resamples : int
    confidence : float

    Returns
    -------
    Estimate
        ``value`` is the statistic of the data; the bounds are order statistics of the
        resampled statistics (the ``alpha/2`` quantile rounded *down*, the
        ``1-alpha/2`` quantile rounded *up*: no interpolation, so infinite resampled
        values are handled). Resampled NaN values are dropped (noted).
    """
    alpha = _alpha(confidence)
    arrays = [np.asarray(a, dtype=float).ravel() for a in data]
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one data array")
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        raise ValueError("bootstrap data arrays must have the same length")
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    n_resamples = int(n_resamples)
    if n == 0:
        _warn("bootstrap of no patients: undefined")
        return Estimate(math.nan, math.nan, math.nan, 0, method, confidence, note="no patients")
    rng = _generator(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.asarray(statistic(*arrays, axis=-1)))
        chunk = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
        out = np.empty(n_resamples)
        done = 0
        while done < n_resamples:
            m = min(chunk, n_resamples - done)
            idx = rng.integers(0, n, size=(m, n))
            out[done:done + m] = statistic(*(a[idx] for a in arrays), axis=-1)
            done += m
    nan = np.isnan(out)
    note = f"{int(nan.sum())} resample(s) undefined, dropped" if nan.any() else ""
    out = np.sort(out[~nan])
    if out.size == 0:
        return Estimate(value, math.nan, math.nan, n, method, confidence, note=note)
    low = float(np.quantile(out, alpha / 2, method="lower"))
    high = float(np.quantile(out, 1 - alpha / 2, method="higher"))
    return Estimate(value, low, high, n, method, confidence, note=note)


# ---------------------------------------------------------------- cost summaries
def _ratio_of_sums(cost: np.ndarray, remission: np.ndarray, axis: int = -1) -> np.ndarray:
    total = np.sum(cost, axis=axis)
    count = np.sum(remission, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.inf)


def cost_per_remission(
    cost_rmb: Sequence[float] | np.ndarray,
    remission: Sequence[bool] | np.ndarray,
    *,
    seed: int | np.random.Generator,
    n_resamples: int = 4000,
    confidence: float = 0.95,
) -> Estimate:
    """Cost per remission of an arm (RMB), with a percentile bootstrap interval.

    **Definition.** Over *all* patients assigned to the arm (intention to treat:
    including manufacturing failures, whose apheresis costs count and who are not in
    remission), ``sum(cost_rmb) / sum(remission)``. The interval resamples patients
    (cost and remission together). With no remission the value is +inf (``None`` in
    :meth:`Estimate.to_dict`) with the note ``"no remissions"``; resamples without a
    remission are +inf, so the upper bound can be +inf ("unbounded").

    Parameters
    ----------
    cost_rmb : array of float
        Total cost per patient, RMB (e.g. ``patient_costs(...)["cost_rmb"]``).
    remission : array of bool
        Whether each patient reached the remission endpoint (e.g. DORIS at 6 months).
    seed : int or numpy.random.Generator
        Seed of the bootstrap (see :func:`bootstrap_ci`).
    """
    cost = _finite(cost_rmb, "cost_per_remission cost")
    rem = np.asarray(remission).ravel()
    if cost.shape != rem.shape:
        raise ValueError("cost_rmb and remission must have the same length")
    if np.any(np.isnan(cost)):
        raise ValueError("cost_rmb has missing values")
    if rem.dtype != bool:
        if not np.all(np.isin(rem, (0, 1))):
            raise ValueError("remission must be booleans (missing values are not allowed: "
                             "count a patient without an assessment as not in remission)")
        rem = rem.astype(bool)
    est = bootstrap_ci((cost, rem.astype(float)), _ratio_of_sums, seed=seed,
                       n_resamples=n_resamples, confidence=confidence,
                       method="total cost / remissions; percentile bootstrap over patients")
    notes = [x for x in (est.note,) if x]
    if rem.sum() == 0:
        notes.insert(0, "no remissions")
    if math.isinf(est.ci_high):
        notes.append("upper limit unbounded (resamples without a remission)")
    return Estimate(est.value, est.ci_low, est.ci_high, est.n, est.method, confidence,
                    k=int(rem.sum()), note="; ".join(notes))


def cost_per_patient_treated(
    cost_rmb: Sequence[float] | np.ndarray,
    treated: Sequence[bool] | np.ndarray | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Median cost per patient treated (RMB) with a distribution-free interval.

    "Treated" means infused (``treated`` True, e.g. ``~manufacturing_failed``); patients
    never infused are excluded here (their costs count in :func:`cost_per_remission`).
    """
    cost = _finite(cost_rmb, "cost_per_patient_treated cost")
    if treated is not None:
        mask = np.asarray(treated, dtype=bool).ravel()
        if mask.shape != cost.shape:
            raise ValueError("cost_rmb and treated must have the same length")
        cost = cost[mask]
    est = median_ci(cost, confidence)
    return Estimate(est.value, est.ci_low, est.ci_high, est.n,
                    "median over treated patients; " + est.method, confidence, note=est.note)


# ---------------------------------------------------------------- endpoint summaries
_KINDS = ("proportion", "median", "time_to_event")


def endpoint_summary(
    name: str,
    values: Sequence[Any] | np.ndarray | pd.Series,
    kind: str,
    *,
    confidence: float = 0.95,
    followup: float | Sequence[float] | np.ndarray | None = None,
) -> dict[str, Any]:
    """One endpoint of ``summary.json``: ``{"value", "ci_low", "ci_high", "n", ...}``.

    Parameters
    ----------
    name : str
        Endpoint name (used in warnings and errors), e.g. ``"crs_any_rate"``.
    values : array-like
        One value per patient.

        * ``kind="proportion"``: booleans (or 0/1); NaN/None = not evaluable, left out
          of ``n`` (counted in ``n_missing``). Clopper-Pearson interval.
        * ``kind="median"``: numbers; NaN dropped. Distribution-free interval.
        * ``kind="time_to_event"``: time of the event (e.g. the day B cells return),
          NaN where it did not happen within follow-up. Needs ``followup``.
          Kaplan-Meier median with the Brookmeyer-Crowley interval.
    kind : {"proportion", "median", "time_to_event"}
    confidence : float
    followup : float or array, optional
        ``time_to_event`` only: end of each patient's follow-up (same time unit). A
        patient without an event is censored there; an event after it is treated as
        not observed (censored at ``followup``).

    Returns
    -------
    dict
        ``value``, ``ci_low``, ``ci_high`` (``None`` where undefined), ``n``,
        ``confidence``, ``method``, ``k`` (successes or events), ``note``, plus
        ``n_missing`` for proportions and medians.
    """
    if kind not in _KINDS:
        raise ValueError(f"{name}: kind must be one of {_KINDS}, got {kind!r}")
    raw = pd.Series(np.asarray(values, dtype=object).ravel())
    missing = raw.isna().to_numpy()
    if kind == "proportion":
        present = raw[~missing]
        try:
            flags = present.map(lambda v: _as_flag(v)).to_numpy(dtype=bool)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        est = proportion_ci(int(flags.sum()), int(flags.size), confidence)
        out = est.to_dict()
        out["n_missing"] = int(missing.sum())
        return out
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    if np.any(np.isnan(numbers) & ~missing):
        raise ValueError(f"{name}: values must be numbers (or NaN)")
    if kind == "median":
        est = median_ci(numbers, confidence)
        out = est.to_dict()
        out["n_missing"] = int(np.isnan(numbers).sum())
        return out
    if followup is None:
        raise ValueError(f"{name}: time_to_event needs followup (end of follow-up)")
    fu = np.broadcast_to(np.asarray(followup, dtype=float), numbers.shape)
    if np.any(~np.isfinite(fu)) or np.any(fu < 0):
        raise ValueError(f"{name}: followup must be finite and >= 0")
    event = ~np.isnan(numbers) & (numbers <= fu)
    durations = np.where(event, numbers, fu)
    est = km_median(durations, event, confidence)
    return est.to_dict()


def _as_flag(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
        return bool(v)
    raise ValueError(f"proportion values must be booleans or 0/1, got {v!r}")


def summary_frame(summaries: Mapping[str, Mapping[str, Any] | Estimate]) -> pd.DataFrame:
    """Endpoint summaries (name -> dict or :class:`Estimate`) as one table for reports."""
    rows = {}
    for name, s in summaries.items():
        rows[name] = s.to_dict() if isinstance(s, Estimate) else dict(s)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "endpoint"
    return frame
