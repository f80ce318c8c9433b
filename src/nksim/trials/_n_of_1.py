""""One case proves nothing": one virtual patient, one treatment, many replicates.

Research use only (``docs/evidence-statistics.md``). The patient's model course is
simulated once; each replicate then redraws everything a real course leaves to chance
through the setting's own endpoint draws (imaging measurement error, the individual CRS
threshold, the survival residual): :meth:`nksim.trials.DiseaseSetting.patient_endpoints`
with a fresh random stream per replicate. The spread across replicates is what a single
case report cannot show.

``inactive=True`` gives nothing active (no drug, no working cells) and, where the setting
declares ``stable_disease`` (parameter overrides, e.g. no net growth), a stable tumour:
every "response" is then measurement error alone (regression to the mean). For one
lesion with log-normal measurement error ``sigma`` the chance that an assessment reads a
decrease of at least ``|threshold|`` is, exactly,
``Phi(ln(1 + threshold) / (sigma sqrt 2))`` (:func:`apparent_response_probability`).
Disease-agnostic: settings declaring ``oncology`` (report/_oncology.py) get per-visit
changes and best responses; others get their endpoint columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nksim.errors import UserError

STREAM_N_OF_1 = 7101


def apparent_response_probability(sigma: float, threshold: float = -0.30) -> float:
    """P(measured/true-baseline ratio <= 1 + threshold) for a stable single lesion whose
    baseline and follow-up diameters carry independent log-normal errors (SD ``sigma``)."""
    if not (sigma > 0 and -1 < threshold < 0):
        raise UserError(f"need sigma > 0 and -1 < threshold < 0 (got {sigma}, {threshold})",
                        field="sigma")
    return float(stats.norm.cdf(math.log1p(threshold) / (sigma * math.sqrt(2.0))))


@dataclass
class NOf1Result:
    """Replicates of one patient: ``endpoints`` (one row per replicate), ``changes``
    (replicate, visit) % change of the tumour measure, ``visits`` (days)."""

    arm: str
    candidate: int
    replicates: int
    inactive: bool
    endpoints: pd.DataFrame
    visits: np.ndarray
    changes: np.ndarray
    true_change: np.ndarray
    response_column: str | None
    notes: list[str] = field(default_factory=list)

    def best_response_counts(self) -> dict[str, int]:
        if self.response_column is None:
            return {}
        return {str(k): int(v) for k, v in
                self.endpoints[self.response_column].value_counts().items()}

    def apparent_first_visit_rate(self, threshold_pct: float = -30.0) -> float:
        """Share of replicates (alive at the first assessment) whose first assessment
        reads <= ``threshold_pct``."""
        if self.changes.size == 0:
            return math.nan
        first = self.changes[:, 0]
        first = first[np.isfinite(first)]
        return float(np.mean(first <= threshold_pct)) if first.size else math.nan

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "arm": self.arm, "candidate": self.candidate, "replicates": self.replicates,
            "inactive": self.inactive, "best_response": self.best_response_counts(),
            "first_visit_apparent_response_rate": self.apparent_first_visit_rate(),
            "visits_days": self.visits.tolist(),
            "true_change_pct": self.true_change.tolist(),
            "research_use_only": "Research use only: virtual patient, not medical advice.",
            "notes": self.notes,
        }
        for col in self.endpoints.columns:
            v = self.endpoints[col]
            if v.dtype == bool:
                out.setdefault("rates", {})[col] = float(v.mean())
        return out

    def lines(self) -> list[str]:
        s = self.summary()
        out = [f"patient {self.candidate} in arm {self.arm!r}: {self.replicates} replicates"
               f"{' (inactive, stable)' if self.inactive else ''}"]
        if s["best_response"]:
            out.append("best response: " + ", ".join(
                f"{k} {v} ({100 * v / self.replicates:.1f} %)"
                for k, v in sorted(s["best_response"].items())))
        if self.changes.size:
            out.append(f"first assessment reads <= -30 %: "
                       f"{100 * s['first_visit_apparent_response_rate']:.1f} % of replicates "
                       f"(true change {self.true_change[0]:+.1f} %)")
        out += [f"note: {n}" for n in self.notes]
        return out


def run_n_of_1(scenario, *, arm: str | None = None, patient: int = 0, replicates: int = 200,
               inactive: bool = False, parameters: dict[str, float] | None = None
               ) -> NOf1Result:
    """Simulate eligible patient number ``patient`` of ``scenario`` once in ``arm`` and
    redraw its chance events ``replicates`` times (see the module docstring)."""
    from nksim.engine import SolverOptions, simulate
    from nksim.population import patient_rng  # noqa: F401  (documented stream scheme)
    from nksim.trials._eligibility import screen
    from nksim.trials._setting import get_setting
    from nksim.trials._trial import (
        _arm_doses,
        _arm_parameters,
        _baseline,
        _output_times,
        _product,
    )

    if not (isinstance(replicates, int) and 1 <= replicates <= 100_000):
        raise UserError(f"must be an integer from 1 to 100000 (got {replicates!r})",
                        field="replicates")
    names = [a.name for a in scenario.arms]
    arm_name = arm or names[0]
    if arm_name not in names:
        raise UserError(f"unknown arm (known: {', '.join(names)}; got {arm_name!r})",
                        field="arm")
    spec = scenario.arms[names.index(arm_name)]
    setting = get_setting(scenario.trial.setting)
    model = setting.model(scenario)
    eligible, log = screen(setting.candidates(scenario), setting.criteria(scenario))
    eligible, log = _baseline(setting, model, eligible, log, scenario)
    if not (isinstance(patient, int) and 0 <= patient < len(eligible)):
        raise UserError(f"must be an index from 0 to {len(eligible) - 1} (got {patient!r})",
                        field="patient")
    params = _arm_parameters(model, spec, np.array(
        eligible.attrs["parameters"][patient:patient + 1], float),
        f"arms[{names.index(arm_name)}]")  # the arm's own values, as in the trial
    initial = np.array(eligible.attrs["initial"][patient:patient + 1], float)
    row = eligible.iloc[[patient]].reset_index(drop=True).copy()
    row["manufacturing_failed"] = False
    row["infused"] = spec.product != "none"
    row["cost_rmb"] = 0.0
    notes = []
    overrides = dict(parameters or {})
    if inactive:
        overrides = {**dict(getattr(setting, "stable_disease", {})), **overrides}
        stable = ", ".join(f"{k} = {v:g}" for k, v in overrides.items())
        notes.append("inactive: nothing active is given"
                     + (f"; stable disease ({stable})" if overrides else ""))
    for k, v in overrides.items():
        params[0, model.parameter_names.index(model.parameter(k, field="parameters").name)] = v
    r0 = next(row.itertuples(index=False))
    where = f"arms[{names.index(arm_name)}]"
    doses = [] if inactive else _arm_doses(setting, spec, [r0], _product(spec, where),
                                           scenario, where)[0]
    times = _output_times(scenario.trial.run_in_days, scenario.trial.follow_up_days)
    sim = simulate(model, times, parameters=params, initial=initial, doses=[doses],
                   t_start=-scenario.trial.run_in_days,
                   options=SolverOptions(rtol=scenario.trial.rtol, atol=scenario.trial.atol,
                                         progress=False))
    status = str(sim.patients["status"].iloc[0])
    if status != "ok":
        raise UserError(f"the patient's simulation failed ({status})", field="patient")
    ds = sim.dataset.isel(patient=[0] * replicates)
    patients = pd.concat([row] * replicates, ignore_index=True)
    cand = int(row["candidate"].iloc[0])
    rngs = [np.random.default_rng(np.random.SeedSequence(
        scenario.trial.seed, spawn_key=(STREAM_N_OF_1, cand, r))) for r in range(replicates)]
    ends = setting.patient_endpoints(ds, [doses] * replicates, patients, rngs, scenario)
    onc = dict(getattr(setting, "oncology", {}) or {})
    visits = np.zeros(0)
    changes = np.zeros((replicates, 0))
    true = np.zeros(0)
    if onc.get("spider") in ends:
        rows = [[float(x) for x in t.split(";") if x] for t in ends[onc["spider"]].astype(str)]
        k = max((len(r) for r in rows), default=0)  # replicates that died early: NaN
        changes = np.array([r + [math.nan] * (k - len(r)) for r in rows]).reshape(-1, k)
        visits = np.asarray(onc["visits"], float)[:k]
        t = ds["time"].values
        vol = np.asarray(sim.dataset["tumour_ml"].values[0], float) \
            if "tumour_ml" in sim.dataset else None
        if vol is not None and k:
            i0 = int(np.searchsorted(t, 0.0))
            vi = np.clip(np.searchsorted(t, visits), 0, t.size - 1)
            power = 2.0 / 3.0 if onc.get("measure", "SPD") == "SPD" else 1.0 / 3.0
            true = 100.0 * ((vol[vi] / vol[i0]) ** power - 1.0)  # spheres: SPD ~ V^(2/3)
    return NOf1Result(arm_name, cand, replicates, inactive, ends, visits, changes, true,
                      onc.get("response"), notes)


def n_of_1_figure(result: NOf1Result, path) -> None:
    """Spaghetti of the measured courses (grey), the true course (black), and the
    distribution of best responses."""
    from nksim.report._oncology import RESPONSE_COLOURS
    from nksim.report._plots import pyplot

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.5, 3.6), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [2.2, 1]})
    if result.changes.size:
        x = np.r_[0.0, result.visits]
        for c in result.changes[: min(200, len(result.changes))]:
            ax.plot(x, np.clip(np.r_[0.0, c], -100, 300), color="#888", lw=0.5, alpha=0.3)
        x = x[: result.true_change.size + 1]
        if result.true_change.size:
            ax.plot(x, np.r_[0.0, result.true_change], color="k", lw=2, label="true course")
        ax.axhline(-30, color="#1b7837", ls="--", lw=0.8, label="-30 % (partial response)")
        ax.axhline(20, color="#c2474a", ls=":", lw=0.8, label="+20 % (progression, nadir)")
        ax.set_xlabel("days")
        ax.set_ylabel("measured change from baseline (%)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    counts = result.best_response_counts()
    keys = [k for k in ("CR", "PR", "SD", "PD", "NE") if k in counts]
    bx.bar(keys, [counts[k] / result.replicates for k in keys],
           color=[RESPONSE_COLOURS.get(k, "#999") for k in keys])
    bx.set_ylabel("share of replicates")
    bx.set_title("best response (same patient)", fontsize=9)
    fig.suptitle(f"one virtual patient ({result.arm}, candidate {result.candidate}), "
                 f"{result.replicates} replicates{' - inactive' if result.inactive else ''}",
                 fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
