"""A virtual cytotoxicity assay: % specific lysis against effector:target ratio.

Well model (mean field; time in minutes)
----------------------------------------
Targets ``T`` (free, alive), NK cells ``N`` (free) and conjugates by outcome: non-lethal
``Cn``, granzyme ``Cg`` and death receptor ``Cr``. Conjugates form at
``J = k_enc N T / T0`` (``k_enc``: encounters per NK per minute at the starting target
density; Almeida 2011's conjugation term). A conjugate activates the NK cell with the
decision model's probability ``p`` (:func:`nksim.biology.activation_probability`, with the
cell-to-cell and encounter-to-encounter variability pooled), and is lethal by granzyme with
probability ``p a_g q_g`` or by death receptor with ``p (1 - a_g) a_d q_d``, where, if each
cell's attacks (each spending a unit, lethal or not) are a Poisson number with mean ``h_g``
(with granules) and ``h_d`` (with death receptors, once out of granules),
``a_g = P(Pois(h_g) < G)`` is the share still holding a granule unit (``G``: granule
content; no refill within the well model), ``a_d = exp(-h_d)`` the share with
death-receptor capacity, and ``exp(-eps K/E0)`` the share not exhausted (``K/E0``: mean
kills per NK cell). No cell kills more than its units allow. Conjugates end after their
route's mean duration; the target of a lethal one dies then. With unlimited capacity and brief
conjugates the killed fraction is ``1 - exp(-k_enc p q E:T t)``: the exponential
"lytic unit" curve ``A (1 - exp(-k E:T))`` (Pross 1981) that :func:`fit_lysis_curve` fits.

Readout
-------
Replicate wells differ by pipetting (lognormal CV on cells per well) and by chance (dead
targets binomial); release assays add spontaneous release of live targets and reader
noise; % specific lysis = 100 (E - S)/(M - S) with S, M the means of spontaneous and
maximal-release wells; flow-based assays count dead targets directly. Confidence intervals
are t-intervals over the replicate wells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats
from scipy.integrate import solve_ivp

from nksim.biology._decision import _DEFAULT as _DECISION
from nksim.biology._decision import (
    Microenvironment,
    NKReceptors,
    TargetLigands,
    activation_probability,
    signals,
)
from nksim.biology._serial_killing import KillingParameters
from nksim.biology._sources import ALMEIDA2011, ASSAY_ASSUMPTION, PROSS1981
from nksim.errors import UserError
from nksim.model import Parameter

#: Readout conventions per assay kind: spontaneous release (or death) of targets over the
#: assay, per-well reader noise (CV) and label counts of a maximal-release well.
READOUTS = {
    "chromium": {"spontaneous": 0.10, "reader_cv": 0.04, "max_counts": 3000.0},
    "calcein": {"spontaneous": 0.25, "reader_cv": 0.06, "max_counts": 20000.0},
    "flow": {"spontaneous": 0.05, "reader_cv": 0.0, "max_counts": 0.0},
}
ASSAY_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("encounter_rate_per_h", 0.5, "1/hour", "conjugates per NK per hour at the "
              "starting target density in a bulk well (range 0.1-3; lower than in "
              "microwells)", ASSAY_ASSUMPTION),
    Parameter("spontaneous_chromium", 0.10, "dimensionless", "4-h spontaneous 51Cr release "
              "(range 0.05-0.2)", ASSAY_ASSUMPTION),
    Parameter("spontaneous_calcein", 0.25, "dimensionless", "4-h spontaneous calcein release "
              "(range 0.15-0.35)", ASSAY_ASSUMPTION),
    Parameter("spontaneous_flow", 0.05, "dimensionless", "4-h spontaneous target death "
              "(flow; range 0.02-0.15)", ASSAY_ASSUMPTION),
    Parameter("pipetting_cv", 0.05, "dimensionless", "CV of cells per well (range 0.02-0.1)",
              ASSAY_ASSUMPTION),
    Parameter("reader_cv", 0.04, "dimensionless", "CV of a release reading (chromium 0.04, "
              "calcein 0.06; range 0.02-0.1)", ASSAY_ASSUMPTION),
)
_ENC = ASSAY_PARAMETERS[0].value


@dataclass(frozen=True)
class AssayCondition:
    """One NK product against one target line (a curve of the plot)."""

    name: str
    nk: NKReceptors = field(default_factory=NKReceptors)
    target: TargetLigands = field(default_factory=TargetLigands)
    environment: Microenvironment = field(default_factory=Microenvironment)
    killing: KillingParameters = field(default_factory=KillingParameters)
    cd95: bool = True

    def activation(self) -> float:
        """Activation probability per conjugate, cell and encounter variability pooled."""
        sa = math.hypot(_DECISION["sigma_a"], self.killing.sigma_cell)
        return activation_probability(signals(self.nk, self.target, self.environment),
                                      sigma_a=sa)


def expected_killed_fraction(cond: AssayCondition, et_ratio: float, *, duration_h: float = 4.0,
                             encounter_rate_per_h: float = _ENC) -> float:
    """Fraction of targets killed in a well at ``et_ratio`` (noise-free mean-field model)."""
    if not (et_ratio > 0 and math.isfinite(et_ratio)):
        raise UserError(f"must be > 0 (got {et_ratio!r})", field="assay.et_ratios")
    kp = cond.killing
    p = cond.activation()
    qd = kp.dr_success if cond.cd95 else 0.0
    k_enc = encounter_rate_per_h / 60.0
    tn, tg = kp.noact_conjugate_min, kp.grz_kill_min + kp.detach_min
    tr = kp.dr_kill_min + kp.detach_min
    e0 = et_ratio  # per target: T0 = 1

    # Per NK cell, attack opportunities (activating contacts) arrive as a Poisson process;
    # ``hg`` and ``hd`` are their cumulative intensities with granules and, once out of
    # granules, with death receptors. As in the single-cell model every attack spends one
    # unit whether or not it kills: the share P(Poisson(hg) < G) of the cells still holds
    # a granule unit and exp(-hd) a death-receptor unit, so no cell kills more than its
    # units allow (Prager 2019: perforin-deficient NK cells kill once). Units do not refill
    # here: in the single-cell model a unit returns 1/refill after it was spent (10 h for a
    # granule unit, 24 h for death receptors), so longer assays are underestimated.
    # Exhaustion follows the mean completed kills per cell, K / e0.
    def rhs(t, y):
        T, N, Cn, Cg, Cr, hg, hd, K = y
        alive = math.exp(-kp.exhaustion * max(K, 0.0) / e0)
        J = k_enc * N * max(T, 0.0)
        r = J * alive * p / e0  # attack opportunities per NK cell and minute
        a_g = float(special.gammaincc(kp.granules_max, max(hg, 0.0))) \
            if kp.perforin and kp.granules_max > 0 else 0.0
        r_d = r * (1.0 - a_g)  # opportunities of the cells out of granules
        lg = e0 * r * a_g * kp.grz_success
        lr = e0 * r_d * math.exp(-max(hd, 0.0)) * qd
        back_n, back_g, back_r = Cn / tn, Cg / tg, Cr / tr
        return [-J + back_n, -J + back_n + back_g + back_r, J - lg - lr - back_n,
                lg - back_g, lr - back_r, r, r_d, back_g + back_r]

    sol = solve_ivp(rhs, (0.0, duration_h * 60.0), [1.0, e0, 0, 0, 0, 0, 0, 0],
                    method="LSODA", rtol=1e-8, atol=1e-10)
    if not sol.success:
        raise RuntimeError(f"assay model failed for {cond.name} at E:T {et_ratio}: "
                           f"{sol.message}")
    return float(min(max(sol.y[7, -1], 0.0), 1.0))


@dataclass(frozen=True)
class LysisPoint:
    et_ratio: float
    specific_lysis_pct: float
    ci_low: float
    ci_high: float
    wells: tuple[float, ...]
    expected_pct: float


def simulate_assay(conditions: list[AssayCondition], et_ratios: list[float], *,
                   kind: str = "chromium", duration_h: float = 4.0,
                   targets_per_well: int = 5000, replicates: int = 3, seed: int = 0,
                   spontaneous: float | None = None,
                   encounter_rate_per_h: float = _ENC) -> dict[str, list[LysisPoint]]:
    """% specific lysis with 95 % t-intervals over replicate wells, per condition."""
    if kind not in READOUTS:
        raise UserError(f"must be one of {', '.join(READOUTS)} (got {kind!r})",
                        field="assay.kind")
    if replicates < 2:
        raise UserError(f"must be >= 2 for a confidence interval (got {replicates})",
                        field="assay.replicates")
    ro = READOUTS[kind]
    s = ro["spontaneous"] if spontaneous is None else spontaneous
    cv_pip = ASSAY_PARAMETERS[4].value
    out: dict[str, list[LysisPoint]] = {}
    for ci, cond in enumerate(conditions):
        rng = np.random.default_rng([seed, ci])
        spont = _read(rng, kind, ro, s, np.zeros(replicates), targets_per_well, cv_pip)
        maxi = _read(rng, kind, ro, 1.0, np.zeros(replicates), targets_per_well, cv_pip)
        S, M = spont.mean(), maxi.mean()
        points = []
        for et in et_ratios:
            # each well's own effector and target counts (pipetting), then its killed fraction
            e_cells = et * targets_per_well * rng.lognormal(0.0, cv_pip, replicates)
            t_cells = targets_per_well * rng.lognormal(0.0, cv_pip, replicates)
            f = np.array([expected_killed_fraction(cond, e / t, duration_h=duration_h,
                                                   encounter_rate_per_h=encounter_rate_per_h)
                          for e, t in zip(e_cells, t_cells, strict=True)])
            read = _read(rng, kind, ro, s, f, targets_per_well, cv_pip)
            wells = 100.0 * (read - S) / (M - S)
            mean = float(wells.mean())
            half = float(stats.t.ppf(0.975, replicates - 1) * wells.std(ddof=1)
                         / math.sqrt(replicates))
            f0 = expected_killed_fraction(cond, et, duration_h=duration_h,
                                          encounter_rate_per_h=encounter_rate_per_h)
            points.append(LysisPoint(float(et), mean, mean - half, mean + half,
                                     tuple(float(w) for w in wells), 100.0 * f0))
        out[cond.name] = points
    return out


def _read(rng, kind, ro, s, killed, targets, cv_pip):
    """Readings of wells whose targets were killed with fractions ``killed``."""
    n = np.maximum(np.round(targets * rng.lognormal(0.0, cv_pip, killed.size)), 1).astype(int)
    dead = rng.binomial(n, np.clip(killed, 0, 1))
    live_lost = rng.binomial(n - dead, min(max(s, 0.0), 1.0))
    frac = (dead + live_lost) / n
    if kind == "flow":
        return frac
    counts = ro["max_counts"] * frac * rng.lognormal(0.0, ro["reader_cv"], killed.size)
    return rng.poisson(counts) / ro["max_counts"]


# ------------------------------------------------------------------ fitting user data
@dataclass(frozen=True)
class LysisFit:
    """``lysis% = A (1 - exp(-k E:T))`` fitted by least squares, with 95 % intervals."""

    A: float
    k: float
    A_ci: tuple[float, float]
    #: profile-likelihood (F) interval; the upper limit is ``None`` when the data do not
    #: bound k (lysis already at its plateau at every E:T): k is then only a lower bound
    k_ci: tuple[float, float | None]
    et50: float | None  # E:T giving half of A (= ln 2 / k); None when k is not bounded
    et20: float | None  # E:T giving 20 % lysis (None when A <= 20 or k is not bounded)
    n: int
    rss: float

    def predict(self, et) -> np.ndarray:
        return self.A * (1.0 - np.exp(-self.k * np.asarray(et, dtype=float)))


_K_RANGE = (1e-8, 1e3)  # the fit's bounds on k (per E:T)


def fit_lysis_curve(et_ratios, lysis_pct) -> LysisFit:
    """Fit the exponential (lytic-unit) curve to % specific lysis against E:T."""
    x = np.asarray(et_ratios, dtype=float)
    y = np.asarray(lysis_pct, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise UserError("et_ratio and specific_lysis_pct must be columns of equal length",
                        field="data")
    if x.size < 3 or np.unique(x).size < 2:
        raise UserError(f"need >= 3 rows at >= 2 distinct E:T ratios (got {x.size} rows)",
                        field="data")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise UserError("every et_ratio must be a finite number > 0", field="data.et_ratio")
    if not np.all(np.isfinite(y)) or np.any(np.abs(y) > 200):
        raise UserError("every specific_lysis_pct must be a finite number in [-200, 200]",
                        field="data.specific_lysis_pct")

    def f(xx, A, k):
        return A * (1.0 - np.exp(-k * xx))

    a0 = max(y.max(), 1.0)
    guess_k = math.log(2.0) / float(np.median(x))
    try:
        popt, pcov = optimize.curve_fit(f, x, y, p0=[a0, guess_k],
                                        bounds=([0.0, _K_RANGE[0]], [200.0, _K_RANGE[1]]),
                                        maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"the lysis curve could not be fitted: {exc}", field="data") from None
    dof = max(x.size - 2, 1)
    rss = float(np.sum((y - f(x, *popt)) ** 2))
    tq = stats.t.ppf(0.975, dof)
    se = np.sqrt(np.clip(np.diag(pcov), 0.0, None))
    A, k = float(popt[0]), float(popt[1])
    k_ci = _profile_interval_k(x, y, k, rss, dof)
    bounded = k_ci[1] is not None
    et20 = -math.log(1.0 - 20.0 / A) / k if A > 20.0 and bounded else None
    return LysisFit(A, k, (A - tq * se[0], A + tq * se[0]), k_ci,
                    math.log(2.0) / k if bounded else None, et20, int(x.size), rss)


def _profile_interval_k(x, y, k_hat: float, rss_min: float, dof: int
                        ) -> tuple[float, float | None]:
    """95 % profile interval of k: the k whose best-fitting A (closed form for a given k,
    within [0, 200]) leaves RSS <= RSS_min (1 + F(0.95; 1, dof) / dof) (Bates & Watts
    1988, §6.1). A limit at the fit's bound on k is 0 (below) or ``None`` (above: the
    data do not bound k)."""
    def rss(k: float) -> float:
        g = 1.0 - np.exp(-k * x)
        a = min(max(float(g @ y) / float(g @ g), 0.0), 200.0)
        return float(np.sum((y - a * g) ** 2))

    crit = rss_min * (1.0 + stats.f.ppf(0.95, 1, dof) / dof) + 1e-12 * float(y @ y)
    grid = np.unique(np.append(np.geomspace(*_K_RANGE, 1201), k_hat))
    inside = np.array([rss(k) <= crit for k in grid])
    at = int(np.searchsorted(grid, k_hat))
    lo_i, hi_i = at, at
    while lo_i > 0 and inside[lo_i - 1]:
        lo_i -= 1
    while hi_i < grid.size - 1 and inside[hi_i + 1]:
        hi_i += 1

    def edge(a: float, b: float) -> float:  # where rss crosses crit between a and b
        return float(optimize.brentq(lambda k: rss(k) - crit, a, b, xtol=1e-12 * b))

    lo = 0.0 if lo_i == 0 else edge(grid[lo_i - 1], grid[lo_i])
    hi = None if hi_i == grid.size - 1 else edge(grid[hi_i], grid[hi_i + 1])
    return lo, hi


def assay_sources():
    return [ALMEIDA2011, PROSS1981, ASSAY_ASSUMPTION]
