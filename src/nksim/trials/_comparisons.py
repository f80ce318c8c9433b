"""Between-arm comparisons: one item per endpoint, pair of arms and measure.

Every item of ``summary.json``'s top-level ``comparisons`` list is
``{"endpoint", "arm_a", "arm_b", "measure", "value", "ci_low", "ci_high", "method",
"n_a", "n_b", "p_value", "note"}`` (95 % intervals; ``None`` where undefined; ``value``
is arm_a minus arm_b, or arm_a over arm_b for ratios). Arms are compared in scenario
order (arm_a before arm_b). Measures (``docs/trials.md``):

* binary endpoints, parallel arms: ``risk_difference`` with Newcombe's hybrid score
  interval (method 10 of Newcombe 1998, Stat Med 17:873) and Fisher's exact p;
  ``risk_ratio`` with the Katz log interval (Katz et al. 1978, Biometrics 34:469),
  with 0.5 added to every cell of a table that has a zero cell (Haldane-Anscombe);
* binary endpoints, paired design (every patient in both arms): ``paired_risk_difference``
  with Newcombe's square-and-add interval for paired data (method 10 of Newcombe 1998,
  Stat Med 17:2635) and the exact McNemar p (binomial test on the discordant pairs);
* time-to-event endpoints: ``hazard_ratio`` from a Cox model (lifelines; Efron ties;
  stratified by patient in a paired design) and ``median_difference`` (Kaplan-Meier
  medians, percentile bootstrap over patients, or over pairs in a paired design);
* numeric (median) endpoints: ``median_difference`` (percentile bootstrap);
* cost per response: ``difference`` (percentile bootstrap over patients).

A Kaplan-Meier median not reached lies beyond follow-up and a cost per response without
a responder is unbounded: both count as +inf, so the difference of a resample is +inf or
-inf, and kept in the percentiles (dropping those resamples would drop one tail). An
infinite limit is ``None`` with the note "upper (lower) limit unbounded", as for the arm's
cost per remission (:func:`nksim.trials.cost_per_remission`).

Bootstrap draws come from a generator seeded by the trial seed, the endpoint and the arms,
so comparisons are reproducible and independent of one another.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nksim.trials._setting import Endpoint
from nksim.trials._statistics import _alpha, difference_in_proportions, wilson_ci

N_RESAMPLES = 2000
_STREAM = 14  # bootstrap generator stream of comparisons


def _item(endpoint: str, a: str, b: str, measure: str, value: float, low: float,
          high: float, method: str, n_a: int, n_b: int, p_value: float | None = None,
          note: str = "") -> dict[str, Any]:
    def clean(x):
        return None if x is None or not math.isfinite(x) else float(x)

    return {"endpoint": endpoint, "arm_a": a, "arm_b": b, "measure": measure,
            "value": clean(value), "ci_low": clean(low), "ci_high": clean(high),
            "method": method, "n_a": int(n_a), "n_b": int(n_b), "p_value": clean(p_value),
            "note": note}


# ---------------------------------------------------------------- binary
HALDANE_NOTE = "a zero cell: 0.5 added to every cell (Haldane-Anscombe)"


def risk_ratio(k1: int, n1: int, k2: int, n2: int,
               confidence: float = 0.95) -> tuple[float, float, float, str]:
    """``(k1/n1)/(k2/n2)`` with the Katz log interval
    ``exp(log RR +/- z sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2))`` (Katz et al. 1978).

    If any of the four cells ``k1, n1 - k1, k2, n2 - k2`` is zero, the Katz variance is
    infinite (no event) or zero (every patient with the event in both arms: the interval
    would collapse to ``[1, 1]``). Then 0.5 is added to every cell (Haldane 1956, Ann Hum
    Genet 20:309; Anscombe 1956, Biometrika 43:461), i.e. ``k -> k + 0.5`` and
    ``n -> n + 1``, for the estimate and the interval together, as R
    ``metafor::escalc(measure = "RR")`` (default ``add = 1/2, to = "only0"``), Stata
    ``metan`` and statsmodels ``Table2x2(..., shift_zeros=True)`` do; the note says so.
    (R ``epitools::riskratio.wald`` and ``scipy.stats.contingency.relative_risk`` do
    not correct.) Without a zero cell this is the plain Katz interval (equal to
    ``scipy.stats.contingency.relative_risk``).
    NaN with a note when an arm has no patients.
    """
    z = stats.norm.ppf(1 - _alpha(confidence) / 2)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan, "an arm has no patients"
    note = ""
    a, m1, c, m2 = float(k1), float(n1), float(k2), float(n2)
    if 0 in (k1, n1 - k1, k2, n2 - k2):
        a, m1, c, m2 = a + 0.5, m1 + 1.0, c + 0.5, m2 + 1.0
        note = HALDANE_NOTE
    rr = (a / m1) / (c / m2)
    se = math.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se), note


def paired_table(xa: np.ndarray, xb: np.ndarray) -> tuple[int, int, int, int]:
    """``(a, b, c, d)`` of :func:`paired_difference` from two boolean outcomes of the same
    patients (row i of both is one patient)."""
    return (int((xa & xb).sum()), int((xa & ~xb).sum()), int((~xa & xb).sum()),
            int((~xa & ~xb).sum()))


def same_patients(pa: pd.DataFrame, pb: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The patients analysed in both arms of a paired design, in the same order in both
    (matched by ``candidate``)."""
    common = np.intersect1d(pa["candidate"], pb["candidate"])
    return (pa.set_index("candidate").loc[common].reset_index(),
            pb.set_index("candidate").loc[common].reset_index())


def paired_difference(a: int, b: int, c: int, d: int,
                      confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Paired difference of proportions ``(b - c)/n`` with Newcombe's square-and-add
    interval (method 10, Stat Med 1998;17:2635) and the exact McNemar p.

    ``a``: both arms positive, ``b``: arm A only, ``c``: arm B only, ``d``: neither.
    Wilson intervals ``(l1, u1)``, ``(l2, u2)`` of ``p1 = (a+b)/n`` and ``p2 = (a+c)/n``
    are combined with the continuity-corrected correlation ``phi`` of the pairs::

        phi = (ad - bc - n/2)/sqrt(...)  if ad - bc > n/2;  0 if 0 <= ad - bc <= n/2;
              (ad - bc)/sqrt(...)        if ad - bc < 0
        low  = D - sqrt((p1-l1)^2 - 2 phi (p1-l1)(u2-p2) + (u2-p2)^2)
        high = D + sqrt((p2-l2)^2 - 2 phi (p2-l2)(u1-p1) + (u1-p1)^2)
    """
    n = a + b + c + d
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    p1, p2 = (a + b) / n, (a + c) / n
    w1, w2 = wilson_ci(a + b, n, confidence), wilson_ci(a + c, n, confidence)
    l1, u1, l2, u2 = w1.ci_low, w1.ci_high, w2.ci_low, w2.ci_high
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    diff = p1 - p2
    low = diff - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)
                               + (u2 - p2) ** 2))
    high = diff + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)
                                + (u1 - p1) ** 2))
    p = stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    return diff, max(-1.0, low), min(1.0, high), float(p)


# ---------------------------------------------------------------- time to event
def cox_hazard_ratio(durations: np.ndarray, events: np.ndarray, group: np.ndarray,
                     strata: np.ndarray | None = None,
                     confidence: float = 0.95) -> tuple[float, float, float, str]:
    """Hazard ratio of ``group == 1`` versus ``group == 0`` from a Cox proportional-hazards
    model (lifelines ``CoxPHFitter``, Efron ties; stratified by ``strata`` if given), with
    the Wald interval. NaN with a note when lifelines is missing or the fit is undefined
    (no events, or an arm without events: the estimate diverges)."""
    try:
        from lifelines import CoxPHFitter
    except ImportError:  # pragma: no cover - lifelines is a dependency
        return math.nan, math.nan, math.nan, "lifelines not installed"
    events = np.asarray(events, bool)
    group = np.asarray(group, int)
    for g in (0, 1):
        if not events[group == g].any():
            return math.nan, math.nan, math.nan, "an arm has no events: ratio undefined"
    frame = pd.DataFrame({"T": np.asarray(durations, float), "E": events, "arm": group})
    kwargs: dict[str, Any] = {}
    if strata is not None:
        frame["pair"] = np.asarray(strata)
        kwargs["strata"] = ["pair"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = CoxPHFitter(alpha=_alpha(confidence)).fit(frame, "T", "E", **kwargs)
    except Exception as exc:  # lifelines raises ConvergenceError and others
        return math.nan, math.nan, math.nan, f"Cox fit failed ({type(exc).__name__})"
    coef = float(fit.params_["arm"])
    se = float(fit.standard_errors_["arm"])
    z = stats.norm.ppf(1 - _alpha(confidence) / 2)
    if not (math.isfinite(coef) and math.isfinite(se)) or abs(coef) + z * se > 30:
        return math.nan, math.nan, math.nan, ("Cox estimate diverges (monotone likelihood: "
                                              "too few events or complete separation)")
    return math.exp(coef), math.exp(coef - z * se), math.exp(coef + z * se), ""


def log_rank_p(ta, ea, tb, eb, strata=None) -> float | None:
    """Two-sided log-rank p of arm a against arm b (``ta``/``tb`` durations, ``ea``/``eb``
    event flags; stratified by ``strata`` if given): the p of the trial's hazard-ratio
    comparison and of ``nksim power``; None where no event makes it informative."""
    if strata is not None:
        p = stratified_log_rank(np.r_[ta, tb], np.r_[ea, eb],
                                np.r_[np.ones(ta.size), np.zeros(tb.size)], strata)[1]
    else:
        from lifelines.statistics import logrank_test

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = float(logrank_test(ta, tb, event_observed_A=ea, event_observed_B=eb).p_value)
    return p if math.isfinite(p) else None


def stratified_log_rank(durations: np.ndarray, events: np.ndarray, group: np.ndarray,
                        strata: np.ndarray) -> tuple[float, float]:
    """Log-rank test of ``group == 1`` versus ``group == 0`` stratified by ``strata`` (the
    score test of the Cox model stratified by them where no event times tie):
    ``(chi-square statistic, two-sided p)``, NaN where no stratum is informative. Unlike the
    Wald test it stays defined when every pair favours one arm."""
    d, e = np.asarray(durations, float), np.asarray(events, bool)
    g, strata = np.asarray(group, int) == 1, np.asarray(strata)
    observed_minus_expected = variance = 0.0
    for s in np.unique(strata):
        ds, es, gs = d[strata == s], e[strata == s], g[strata == s]
        for t in np.unique(ds[es]):
            at_risk = ds >= t
            n, n1 = at_risk.sum(), (at_risk & gs).sum()
            died = es & (ds == t)
            m = died.sum()
            observed_minus_expected += (died & gs).sum() - m * n1 / n
            if n > 1:
                variance += m * (n1 / n) * (1 - n1 / n) * (n - m) / (n - 1)
    if variance <= 0:
        return math.nan, math.nan
    statistic = observed_minus_expected ** 2 / variance
    return float(statistic), float(stats.chi2.sf(statistic, 1))


def km_median_value(durations: np.ndarray, events: np.ndarray) -> float:
    """Kaplan-Meier median (same definition as :func:`nksim.trials.km_median`; NaN if not
    reached), without the interval: fast enough to bootstrap."""
    d = np.asarray(durations, float)
    e = np.asarray(events, bool)
    if d.size == 0:
        return math.nan
    times = np.unique(d[e])
    if times.size == 0:
        return math.nan
    at_risk = (d[None, :] >= times[:, None]).sum(axis=1)
    died = (e[None, :] & (d[None, :] == times[:, None])).sum(axis=1)
    s = np.cumprod(1.0 - died / at_risk)
    hit = np.flatnonzero(s <= 0.5 + 1e-12)
    if not hit.size:
        return math.nan
    i = int(hit[0])
    if abs(s[i] - 0.5) < 1e-12 and i + 1 < times.size:
        return 0.5 * (times[i] + times[i + 1])
    return float(times[i])


# ---------------------------------------------------------------- bootstrap
def _rng(seed: int, *keys: str) -> np.random.Generator:
    words = [zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, _STREAM, *words])


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Order-statistic percentile bounds (as :func:`nksim.trials.bootstrap_ci`: the
    ``alpha/2`` quantile rounded down, the ``1 - alpha/2`` quantile rounded up), with
    infinite values kept. An undefined (NaN) resample could have been anything, so it
    counts as -inf for the lower and +inf for the upper limit: the interval covers
    whatever those resamples would have been."""
    alpha = _alpha(confidence)
    bad = np.isnan(values)
    low = np.quantile(np.sort(np.where(bad, -np.inf, values)), alpha / 2, method="lower")
    high = np.quantile(np.sort(np.where(bad, np.inf, values)), 1 - alpha / 2,
                       method="higher")
    return float(low), float(high)


def bootstrap_difference(sample_a: Sequence[np.ndarray], sample_b: Sequence[np.ndarray],
                         statistic: Callable[..., float], *, rng: np.random.Generator,
                         paired: bool = False, n_resamples: int = N_RESAMPLES,
                         confidence: float = 0.95, infinite: str = "infinite statistic"
                         ) -> tuple[float, float, float, str]:
    """``statistic(*sample_a) - statistic(*sample_b)`` with a percentile bootstrap interval.

    Each sample is a tuple of per-patient arrays (kept together when resampled). Parallel
    arms are resampled independently; ``paired=True`` resamples pairs (row i of both
    samples is the same patient).

    ``statistic`` returns +inf where its value lies beyond every finite one (``infinite``
    says why, e.g. "median not reached"). A resample's difference is then +inf (arm A) or
    -inf (arm B) and counts as such in the percentiles; inf - inf (and a NaN statistic) is
    undefined and counts against both limits (:func:`_percentile`). Infinite limits are
    returned as +-inf and the note says "lower/upper limit unbounded", with how many
    resamples were infinite or undefined and why.
    """
    a = [np.asarray(x) for x in sample_a]
    b = [np.asarray(x) for x in sample_b]
    with np.errstate(all="ignore"):
        value = statistic(*a) - statistic(*b)
        na, nb = a[0].size, b[0].size
        if na == 0 or nb == 0:
            return math.nan, math.nan, math.nan, "an arm has no patients"
        sa, sb = np.empty(n_resamples), np.empty(n_resamples)
        for r in range(n_resamples):
            ia = rng.integers(0, na, na)
            ib = ia if paired else rng.integers(0, nb, nb)
            sa[r] = statistic(*(x[ia] for x in a))
            sb[r] = statistic(*(x[ib] for x in b))
        out = sa - sb
    low, high = _percentile(out, confidence)
    n = out.size
    both = np.isinf(sa) & np.isinf(sb)
    notes = []
    if both.any():
        notes.append(f"{int(both.sum())} of {n} resamples with {infinite} in both arms: "
                     "difference undefined, counted as unbounded on both sides")
    other = np.isnan(out) & ~both
    if other.any():
        notes.append(f"{int(other.sum())} of {n} resamples undefined, counted as unbounded "
                     "on both sides")
    for count, arm, sign in ((int((out == np.inf).sum()), "arm_a", "+inf"),
                             (int((out == -np.inf).sum()), "arm_b", "-inf")):
        if count:
            notes.append(f"{count} of {n} resamples with {infinite} in {arm} "
                         f"(difference {sign})")
    if low == -np.inf:
        notes.append("lower limit unbounded")
    if high == np.inf:
        notes.append("upper limit unbounded")
    return value, low, high, "; ".join(notes)


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _ratio_of_sums(cost: np.ndarray, response: np.ndarray) -> float:
    """Total cost / responders; +inf without a responder (as the arm's cost per
    remission, :func:`nksim.trials.cost_per_remission`)."""
    k = response.sum()
    return float(cost.sum() / k) if k else math.inf


def _km_median_or_inf(durations: np.ndarray, events: np.ndarray) -> float:
    """:func:`km_median_value` with a median not reached as +inf (it lies beyond the
    follow-up); NaN only for no patients."""
    if np.asarray(durations).size == 0:
        return math.nan
    m = km_median_value(durations, events)
    return math.inf if math.isnan(m) else m


def _value_note(d: float, sa: float, sb: float, infinite: str) -> str:
    """Why a difference ``sa - sb`` of arm statistics is not a finite number."""
    if math.isinf(sa) and math.isinf(sb):
        return f"{infinite} in either arm: difference undefined"
    if d == math.inf:
        return f"{infinite} in arm_a: difference unbounded (+inf)"
    if d == -math.inf:
        return f"{infinite} in arm_b: difference unbounded (-inf)"
    return "" if math.isfinite(d) else "difference undefined"


def _join(*notes: str) -> str:
    return "; ".join(x for x in notes if x)


# ---------------------------------------------------------------- per endpoint
def compare_arms(arms: Sequence[Any], endpoints: Sequence[Endpoint], *, paired: bool,
                 follow_up: float, seed: int, confidence: float = 0.95
                 ) -> list[dict[str, Any]]:
    """Every endpoint compared between every pair of arms (``arms``: ``ArmResult``)."""
    from nksim.trials._trial import analysed_mask, evaluable

    out: list[dict[str, Any]] = []
    done = [a for a in arms if a.simulation is not None and len(a.patients)]
    for i, arm_a in enumerate(done):
        for arm_b in done[i + 1:]:
            for e in endpoints:
                ma = analysed_mask(e, arm_a.patients) if e.kind != "cost_per_response" \
                    else arm_a.patients["status"].eq("ok").to_numpy()
                mb = analysed_mask(e, arm_b.patients) if e.kind != "cost_per_response" \
                    else arm_b.patients["status"].eq("ok").to_numpy()
                pa, pb = evaluable(e, arm_a.patients[ma]), evaluable(e, arm_b.patients[mb])
                if paired:
                    pa, pb = same_patients(pa, pb)
                rng = _rng(seed, e.name, arm_a.name, arm_b.name)
                out += _compare(e, arm_a.name, arm_b.name, pa, pb, paired, follow_up, rng,
                                confidence)
    return out


def _compare(e: Endpoint, a: str, b: str, pa: pd.DataFrame, pb: pd.DataFrame, paired: bool,
             follow_up: float, rng: np.random.Generator, confidence: float
             ) -> list[dict[str, Any]]:
    na, nb = len(pa), len(pb)
    if e.kind == "binary":
        xa, xb = pa[e.column].to_numpy(bool), pb[e.column].to_numpy(bool)
        if paired:
            d, lo, hi, p = paired_difference(*paired_table(xa, xb), confidence=confidence)
            return [_item(e.name, a, b, "paired_risk_difference", d, lo, hi,
                          "Newcombe square-and-add for paired data (method 10); "
                          "exact McNemar p", na, nb, p,
                          "" if na else "no pair analysed in both arms")]
        ka, kb = int(xa.sum()), int(xb.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diff = difference_in_proportions(ka, na, kb, nb, confidence)
        rr, rlo, rhi, note = risk_ratio(ka, na, kb, nb, confidence)
        return [
            _item(e.name, a, b, "risk_difference", diff.value, diff.ci_low, diff.ci_high,
                  diff.method, na, nb, diff.p_value, diff.note),
            _item(e.name, a, b, "risk_ratio", rr, rlo, rhi, "Katz log interval", na, nb,
                  note=note),
        ]
    if e.kind == "time_to_event":
        end = e.censoring_time(follow_up)

        def tte(frame):
            t = frame[e.column].to_numpy(float)
            event = np.isfinite(t) & (t <= end)
            return np.where(event, t, end), event

        (ta, ea), (tb, eb) = tte(pa), tte(pb)
        strata = np.concatenate([pa["candidate"], pb["candidate"]]) if paired else None
        hr, hlo, hhi, note = cox_hazard_ratio(
            np.concatenate([ta, tb]), np.concatenate([ea, eb]),
            np.r_[np.ones(na, int), np.zeros(nb, int)], strata, confidence)
        method = "Cox proportional hazards (lifelines, Efron ties"
        method += "; stratified by patient)" if paired else ")"
        method += "; log-rank p" + (" stratified by patient" if paired else "")
        p_value = log_rank_p(ta, ea, tb, eb, strata) if na and nb else None
        d, lo, hi, dnote = bootstrap_difference(
            (ta, ea), (tb, eb), _km_median_or_inf, rng=rng, paired=paired,
            confidence=confidence, infinite="median not reached")
        vnote = _value_note(d, _km_median_or_inf(ta, ea), _km_median_or_inf(tb, eb),
                            "median not reached") if na and nb else ""
        return [
            _item(e.name, a, b, "hazard_ratio", hr, hlo, hhi, method, na, nb, p_value,
                  note=note),
            _item(e.name, a, b, "median_difference", d, lo, hi,
                  "difference of Kaplan-Meier medians; percentile bootstrap over "
                  + ("pairs" if paired else "patients"), na, nb, note=_join(vnote, dnote)),
        ]
    if e.kind == "median":
        xa, xb = pa[e.column].to_numpy(float), pb[e.column].to_numpy(float)
        d, lo, hi, note = bootstrap_difference((xa,), (xb,), _median, rng=rng, paired=paired,
                                               confidence=confidence)
        return [_item(e.name, a, b, "median_difference", d, lo, hi,
                      "difference of medians; percentile bootstrap over "
                      + ("pairs" if paired else "patients"), na, nb, note=note)]
    if e.kind == "cost_per_response":
        sa = (pa["cost_rmb"].to_numpy(float), pa[e.column].to_numpy(bool))
        sb = (pb["cost_rmb"].to_numpy(float), pb[e.column].to_numpy(bool))
        d, lo, hi, note = bootstrap_difference(sa, sb, _ratio_of_sums, rng=rng,
                                               paired=paired, confidence=confidence,
                                               infinite="no responder")
        if na and nb:
            note = _join(_value_note(d, _ratio_of_sums(*sa), _ratio_of_sums(*sb),
                                     "no responder"), note)
        return [_item(e.name, a, b, "difference", d, lo, hi,
                      "difference of total cost / responders; percentile bootstrap over "
                      + ("pairs" if paired else "patients"), na, nb, note=note)]
    raise ValueError(f"{e.name}: unknown endpoint kind {e.kind!r}")
