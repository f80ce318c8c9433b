"""The statistics of evidence: trial designs, power by repeated virtual trials, log-rank.

Research use only (``docs/evidence-statistics.md``).

- :func:`simon_two_stage`: Simon's (1989) optimal and minimax single-arm two-stage designs
  by exact binomial search; :func:`simon_operating` their operating characteristics.
- :func:`two_proportion_sample_size` (normal approximation, Fleiss without continuity
  correction) and :func:`schoenfeld_events` (log-rank events for a hazard ratio): the
  randomised designs.
- :func:`log_rank`: two-arm log-rank test (lifelines ``logrank_test``) with the hazard
  ratio from Cox (:func:`nksim.trials.cox_hazard_ratio`).
- :func:`power_by_simulation`: the power of a scenario's primary endpoint at several
  sample sizes, estimated by repeated virtual trials (seeded), each power with its exact
  binomial 95 % interval (Monte-Carlo uncertainty from the few replicates).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from nksim.errors import UserError
from nksim.model import Citation

SIMON1989 = Citation(
    "Simon 1989",
    "Simon R. Optimal two-stage designs for phase II clinical trials. Control Clin Trials "
    "1989;10:1-10.",
    verified="UNVERIFIED",
    doi="10.1016/0197-2456(89)90015-9",
    note="Design definition (stop after stage 1 if <= r1 responses of n1; reject the drug "
         "if <= r of n). Table values used in tests are widely reproduced but were not read "
         "in the original for nksim.",
)
SCHOENFELD1983 = Citation(
    "Schoenfeld 1983",
    "Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. "
    "Biometrics 1983;39:499-503.",
    verified="UNVERIFIED",
    note="events = (z_{1-a/2} + z_{1-b})^2 / (p (1 - p) ln(HR)^2), p = allocation share.",
)


# ---------------------------------------------------------------- Simon two-stage
@dataclass(frozen=True)
class SimonDesign:
    """Stop after ``n1`` patients if ``<= r1`` respond; else treat ``n`` in all and call
    the treatment inactive if ``<= r`` respond."""

    design: str
    p0: float
    p1: float
    r1: int
    n1: int
    r: int
    n: int
    alpha: float  # actual type I error at p0
    power: float  # actual power at p1
    en0: float  # expected sample size at p0
    pet0: float  # probability of early termination at p0

    def as_dict(self) -> dict:
        return asdict(self)


def simon_operating(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """``(P(declare active), P(early stop), expected sample size)`` at response rate p."""
    if not (0 <= r1 < n1 < n and r1 <= r < n and 0 <= p <= 1):
        raise UserError(f"need 0 <= r1 < n1 < n, r1 <= r < n and 0 <= p <= 1 (got r1={r1}, "
                        f"n1={n1}, r={r}, n={n}, p={p})", field="design")
    n2 = n - n1
    x1 = np.arange(r1 + 1, n1 + 1)
    reject = float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n2, p)))
    pet = float(stats.binom.cdf(r1, n1, p))
    return reject, pet, n1 + (1.0 - pet) * n2


def _check_rates(p0, p1, alpha, beta) -> None:
    for name, v in (("p0", p0), ("p1", p1), ("alpha", alpha), ("beta", beta)):
        if not (isinstance(v, int | float) and math.isfinite(v) and 0 < v < 1):
            raise UserError(f"must be a number in (0, 1) (got {v!r})", field=name)
    if p1 <= p0:
        raise UserError(f"the target rate p1 must exceed p0 = {p0} (got {p1})", field="p1")


def simon_two_stage(p0: float, p1: float, alpha: float = 0.05, beta: float = 0.2, *,
                    design: str = "optimal", n_max: int | None = None) -> SimonDesign:
    """Simon's optimal (smallest expected size under p0) or minimax (smallest maximum size,
    then smallest expected size) two-stage design with type I error <= ``alpha`` at p0 and
    power >= 1 - ``beta`` at p1, by exhaustive exact search (n up to ``n_max``)."""
    _check_rates(p0, p1, alpha, beta)
    if design not in ("optimal", "minimax"):
        raise UserError(f"design must be 'optimal' or 'minimax' (got {design!r})",
                        field="design")
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(1 - beta)
    pbar = (p0 + p1) / 2
    single = math.ceil(z * z * pbar * (1 - pbar) / (p1 - p0) ** 2)
    n_max = n_max or max(20, int(2.5 * single) + 10)
    if n_max > 400:
        raise UserError(f"the search needs n_max <= 400 (got {n_max}); choose rates further "
                        "apart", field="n_max")
    best: tuple | None = None
    # binomial tables by size, computed once: pmf(0..m) and sf(-1..m) at p0 and p1
    pmf = {q: [stats.binom.pmf(np.arange(m + 1), m, q) for m in range(n_max + 1)]
           for q in (p0, p1)}
    sf = {q: [stats.binom.sf(np.arange(-1, m + 1), m, q) for m in range(n_max + 1)]
          for q in (p0, p1)}
    for n in range(2, n_max + 1):
        if design == "minimax" and best is not None and n > best[1]:
            break
        for n1 in range(1, n):
            n2 = n - n1
            pmf0, pmf1 = pmf[p0][n1], pmf[p1][n1]
            x1 = np.arange(n1 + 1)
            rs = np.arange(n)
            # P(X2 > r - x1): 1 below 0, 0 from n2 on; tables start at k = -1
            idx = np.clip(rs[None, :] - x1[:, None], -1, n2) + 1
            sf0, sf1 = sf[p0][n2], sf[p1][n2]
            m0 = pmf0[:, None] * sf0[idx]
            m1 = pmf1[:, None] * sf1[idx]
            # R[r1, r] = sum over x1 > r1
            c0 = np.cumsum(m0[::-1], axis=0)[::-1]
            c1 = np.cumsum(m1[::-1], axis=0)[::-1]
            cdf0 = np.cumsum(pmf0)
            r1s = np.arange(n1)
            a, pw = c0[1:], c1[1:]  # rows: r1 = 0 .. n1-1
            ok = (a <= alpha) & (rs[None, :] >= r1s[:, None])
            has = ok.any(axis=1)
            r_first = np.argmax(ok, axis=1)  # smallest r meeting alpha: the most power
            power_r = pw[r1s, r_first]
            good = np.flatnonzero(has & (power_r >= 1 - beta))
            if good.size == 0:
                continue
            pet = cdf0[good]
            en0 = n1 + (1 - pet) * n2
            j = int(np.argmin(en0))
            r1, r = int(good[j]), int(r_first[good[j]])
            key = (float(en0[j]), n) if design == "optimal" else (n, float(en0[j]))
            if best is None or key < best[0]:
                best = (key, n, SimonDesign(design, p0, p1, r1, n1, r, n, float(a[r1, r]),
                                            float(pw[r1, r]), float(en0[j]), float(pet[j])))
    if best is None:
        raise UserError(f"no design with n <= {n_max} meets alpha {alpha} and power "
                        f"{1 - beta}", field="n_max")
    return best[2]


# ---------------------------------------------------------------- randomised designs
def two_proportion_sample_size(p_a: float, p_b: float, alpha: float = 0.05,
                               power: float = 0.8) -> int:
    """Patients per arm to detect p_a vs p_b (two-sided alpha; normal approximation
    without continuity correction, Fleiss)."""
    _check_rates(min(p_a, p_b), max(p_a, p_b) if p_a != p_b else 2, alpha, 1 - power)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p_a + p_b) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p_a * (1 - p_a)
                                                                 + p_b * (1 - p_b))
    return math.ceil(num ** 2 / (p_a - p_b) ** 2)


def schoenfeld_events(hazard_ratio: float, alpha: float = 0.05, power: float = 0.8,
                      allocation: float = 0.5) -> int:
    """Events needed by a two-sided log-rank test to detect ``hazard_ratio`` (Schoenfeld)."""
    if not (hazard_ratio > 0 and hazard_ratio != 1 and math.isfinite(hazard_ratio)):
        raise UserError(f"must be a positive number other than 1 (got {hazard_ratio!r})",
                        field="hazard_ratio")
    _check_rates(0.1, 0.2, alpha, 1 - power)
    if not 0 < allocation < 1:
        raise UserError(f"must be in (0, 1) (got {allocation!r})", field="allocation")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(z * z / (allocation * (1 - allocation) * math.log(hazard_ratio) ** 2))


# ---------------------------------------------------------------- log-rank and Cox
@dataclass(frozen=True)
class LogRank:
    statistic: float
    p_value: float
    hazard_ratio: float
    hr_ci_low: float
    hr_ci_high: float
    events_a: int
    events_b: int


def log_rank(durations_a, events_a, durations_b, events_b) -> LogRank:
    """Two-sided log-rank test of arm a vs arm b (lifelines ``logrank_test``) and the Cox
    hazard ratio of a vs b (lifelines ``CoxPHFitter``, Efron ties) with its 95 % CI."""
    from lifelines.statistics import logrank_test

    from nksim.trials._comparisons import cox_hazard_ratio

    da, db = np.asarray(durations_a, float), np.asarray(durations_b, float)
    ea, eb = np.asarray(events_a, bool), np.asarray(events_b, bool)
    if da.size == 0 or db.size == 0 or da.size != ea.size or db.size != eb.size:
        raise UserError("each arm needs durations and event flags of equal, non-zero length",
                        field="durations")
    if not (np.all(np.isfinite(da)) and np.all(np.isfinite(db))) or min(da.min(),
                                                                        db.min()) < 0:
        raise UserError("durations must be finite and >= 0", field="durations")
    res = logrank_test(da, db, event_observed_A=ea, event_observed_B=eb)
    hr, lo, hi, _ = cox_hazard_ratio(np.r_[da, db], np.r_[ea, eb],
                                     np.r_[np.ones(da.size), np.zeros(db.size)])
    return LogRank(float(res.test_statistic), float(res.p_value), hr, lo, hi,
                   int(ea.sum()), int(eb.sum()))


# ---------------------------------------------------------------- power by simulation
@dataclass(frozen=True)
class PowerPoint:
    n: int
    replicates: int
    rejections: int
    power: float
    ci_low: float
    ci_high: float
    mean_estimate_a: float
    mean_estimate_b: float


def power_test(kind: str, arms: int, paired: bool) -> str:
    """The name of the test :func:`replicate_p_value` applies (checked before any run)."""
    if kind == "binary":
        if arms == 1:
            return "exact one-sided binomial test against --p0"
        return "exact McNemar test" if paired else "Fisher's exact test"
    if kind == "time_to_event" and arms > 1:
        return "log-rank test stratified by patient" if paired else "log-rank test"
    raise UserError(f"power needs a binary endpoint, or a time-to-event endpoint with two "
                    f"arms (got {kind!r} with {arms} arm(s))", field="endpoint")


def replicate_p_value(result, endpoint: str, p0: float | None) -> tuple[float, float, float]:
    """``(p value, estimate arm 1, estimate arm 2)`` of one virtual trial's primary test.

    Two or more arms (the first two compared), as the trial's own comparisons test them:
    binary -> Fisher exact, or in a paired design the exact McNemar test on the patients
    analysed in both arms; time to event -> log-rank, or in a paired design the log-rank
    test stratified by patient (defined also when every pair favours one arm; estimate:
    the Cox hazard ratio). A binary outcome
    that could not be assessed (NaN) is left out, as in the arm summaries. One arm: binary
    -> exact one-sided binomial test against ``p0``.
    """
    from nksim.trials._comparisons import (
        cox_hazard_ratio,
        log_rank_p,
        paired_difference,
        paired_table,
        same_patients,
    )
    from nksim.trials._statistics import fisher_exact_test
    from nksim.trials._survival import event_times
    from nksim.trials._trial import analysed_mask, evaluable

    eps = _endpoint_list(result)
    ep = next((e for e in eps if e.name == endpoint), None)
    if ep is None:
        raise UserError(f"unknown endpoint (known: {', '.join(e.name for e in eps)};"
                        f" got {endpoint!r})", field="endpoint")
    arms = [a for a in result.arms if len(a.patients)]
    frames = [evaluable(ep, arm.patients.loc[analysed_mask(ep, arm.patients)])
              for arm in arms[:2]]
    paired = len(frames) == 2 and _design(result) == "paired"
    if paired:  # the same patients in both arms, in the same order
        frames = list(same_patients(*frames))
    values = [f[ep.column].to_numpy() for f in frames]
    if ep.kind == "binary":
        xs = [v.astype(bool) for v in values]
        ks, ns = [int(x.sum()) for x in xs], [x.size for x in xs]
        est = [k / n if n else math.nan for k, n in zip(ks, ns, strict=True)]
        if len(arms) == 1:
            if p0 is None:
                raise UserError("a single-arm trial needs the null response rate --p0",
                                field="p0")
            p = stats.binomtest(ks[0], ns[0], p0, alternative="greater").pvalue
            return float(p), est[0], math.nan
        if paired:
            return paired_difference(*paired_table(*xs))[3], est[0], est[1]
        p = fisher_exact_test(ks[0], ns[0], ks[1], ns[1])
        return float(getattr(p, "p_value", p)), est[0], est[1]
    if ep.kind == "time_to_event" and len(arms) >= 2:
        follow = ep.censoring_time(result.scenario.trial.follow_up_days)
        (da, ea), (db, eb) = (event_times(v.astype(float), follow) for v in values)
        if not paired:
            lr = log_rank(da, ea, db, eb)
            return lr.p_value, lr.hazard_ratio, math.nan
        strata = np.concatenate([frames[0]["candidate"], frames[1]["candidate"]])
        hr = cox_hazard_ratio(np.r_[da, db], np.r_[ea, eb],
                              np.r_[np.ones(da.size), np.zeros(db.size)], strata)[0]
        p = log_rank_p(da, ea, db, eb, strata)
        return (math.nan if p is None else p), hr, math.nan
    raise UserError(f"power needs a binary endpoint, or a time-to-event endpoint with two "
                    f"arms (got {ep.kind!r} with {len(arms)} arm(s))", field="endpoint")


def _design(result) -> str:
    """The trial design of a result ("parallel" when it does not say)."""
    trial = getattr(getattr(result, "scenario", None), "trial", None)
    return getattr(trial, "design", "parallel")


def _primary(result) -> str:
    """The primary endpoint of a trial result (of a stand-in result: its first endpoint)."""
    if hasattr(result, "primary_endpoint"):
        return result.primary_endpoint()
    return _endpoint_list(result)[0].name


def _endpoint_list(result) -> tuple:
    eps = result.endpoints
    return tuple(eps() if callable(eps) else eps)


def scenario_with(raw: dict, n: int, seed: int) -> dict:
    """A copy of a raw scenario with ``n`` patients per arm, trial seed ``seed`` and enough
    referred candidates (``[cohort] n_candidates`` scaled when the setting has it)."""
    out = copy.deepcopy(raw)
    trial = out.setdefault("trial", {})
    old_n = int(trial.get("patients_per_arm", 20))
    trial["patients_per_arm"] = int(n)
    trial["seed"] = int(seed)
    cohort = out.get("cohort")
    if isinstance(cohort, dict) and "n_candidates" in cohort:
        cohort["n_candidates"] = max(int(cohort["n_candidates"]),
                                     math.ceil(int(cohort["n_candidates"]) * n / max(old_n, 1)))
    return out


def power_by_simulation(raw: dict, ns: Sequence[int], *, run: Callable[[dict], object],
                        replicates: int = 20, seed: int = 0, endpoint: str | None = None,
                        alpha: float = 0.05, p0: float | None = None) -> list[PowerPoint]:
    """Power of the primary test at each sample size (patients per arm), from
    ``replicates`` virtual trials per size with seeds ``seed, seed+1, ...``.

    ``run(raw)`` validates and runs one replicate's scenario table (the command line
    passes ``run_trial(validate(TrialScenario, raw))``) and returns its trial result.
    """
    from nksim.trials._statistics import proportion_ci

    if not ns or any((not isinstance(n, int)) or n < 2 or n > 10_000 for n in ns):
        raise UserError(f"give sample sizes from 2 to 10000 per arm (got {list(ns)})",
                        field="n")
    if not (isinstance(replicates, int) and 1 <= replicates <= 10_000):
        raise UserError(f"must be an integer from 1 to 10000 (got {replicates!r})",
                        field="replicates")
    if not (0 < alpha < 1):
        raise UserError(f"must be in (0, 1) (got {alpha!r})", field="alpha")
    if p0 is not None and not (0 < p0 < 1):
        raise UserError(f"must be in (0, 1) (got {p0!r})", field="p0")
    out = []
    for n in ns:
        hits, ea, eb = 0, [], []
        for i in range(replicates):
            result = run(scenario_with(raw, n, seed + i))
            enrolled = min((len(a.patients) for a in result.arms), default=0)
            if enrolled < n:  # the power would be that of a smaller trial
                raise UserError(
                    f"at {n} patients per arm a virtual trial enrolled only {enrolled} in an "
                    "arm (not enough eligible candidates): set [cohort] n_candidates higher",
                    field="cohort.n_candidates")
            name = endpoint or _primary(result)
            p, a, b = replicate_p_value(result, name, p0)
            hits += int(p < alpha)
            ea.append(a)
            eb.append(b)
        ci = proportion_ci(hits, replicates)
        out.append(PowerPoint(n, replicates, hits, ci.value, ci.ci_low, ci.ci_high,
                              float(np.nanmean(ea)) if np.isfinite(ea).any() else math.nan,
                              float(np.nanmean(eb)) if np.isfinite(eb).any() else math.nan))
    return out
