"""Run an ageing scenario: simulate every arm, compute endpoints and the summary.

The files (``summary.json``, ``report.html``, ``lifespans.csv``) are written by
:mod:`nksim.report.ageing`; the command line glues the two (this layer knows no report)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from nksim.disease.ageing._cohort import ArmResult, simulate_arm
from nksim.disease.ageing._endpoints import (
    arm_endpoints,
    gain_estimate,
    gompertz_fit,
    hazard_ratio,
    paired_differences,
)
from nksim.disease.ageing._scenario import AgeingScenario
from nksim.disease.ageing._sources import DEFAULTS, NK_BRIDGE
from nksim.library import get_model

RESEARCH_USE = ("Research use only: virtual individuals of a published model with labelled "
                "assumptions; not medical advice and not a prediction for any person.")
DAYS_PER_YEAR = 365.0


def run_scenario(scenario: AgeingScenario, *, progress=None) -> dict[str, Any]:
    """Simulate all arms; returns ``{"summary": dict, "results": {arm: ArmResult}}``."""
    started = time.perf_counter()
    results: dict[str, ArmResult] = {}
    for k, arm in enumerate(scenario.arms):
        ids = np.arange(arm.n, dtype=np.int64)
        if not scenario.cohort.paired:
            ids = ids + (k << 32)
        h_ext = (None if arm.extrinsic_hazard_per_year is None
                 else arm.extrinsic_hazard_per_year / DAYS_PER_YEAR)
        if progress:
            progress(f"arm {arm.name}: {arm.n} individuals ({arm.parameter_set})")
        results[arm.name] = simulate_arm(
            arm.name, arm.parameter_set, arm.n, inputs=arm.inputs(), seed=scenario.cohort.seed,
            dt=scenario.dt(arm), follow_up_days=scenario.follow_up_days(arm),
            record_every_days=scenario.record_every_days(arm), ids=ids,
            heterogeneity={p: arm.heterogeneity_cv for p in
                           ("eta", "beta", "kappa", "epsilon", "Xc")},
            extrinsic_hazard_per_day=h_ext,
            healthspan_fraction=scenario.cohort.healthspan_fraction)
    summary = summarise(scenario, results)
    summary["run_seconds"] = round(time.perf_counter() - started, 2)
    return {"summary": summary, "results": results}


def _sources_of(scenario: AgeingScenario) -> list[dict[str, Any]]:
    seen: dict[str, Any] = {}
    for arm in scenario.arms:
        model = get_model("karin2019", parameter_set=arm.parameter_set)
        for c in model.sources():
            seen.setdefault(c.label(), c)
        if arm.nk is not None or arm.nk_infusions or arm.cytokines:
            seen.setdefault(NK_BRIDGE.label(), NK_BRIDGE)
    return [{"key": c.key, "verified": c.verified, "text": c.text, "doi": c.doi,
             "note": c.note} for c in seen.values()]


def summarise(scenario: AgeingScenario, results: dict[str, ArmResult]) -> dict[str, Any]:
    """``summary.json`` content: arms with endpoints (95 % CIs), parameters and sources."""
    control = results[scenario.control].analysed()
    arms: dict[str, Any] = {}
    for spec in scenario.arms:
        raw = results[spec.name]
        r = raw.analysed()
        model = get_model("karin2019", parameter_set=spec.parameter_set)
        human = spec.species == "human"
        ep = arm_endpoints(r, human=human)
        extra: dict[str, Any] = {"dt_days": scenario.dt(spec),
                                 "follow_up_days": scenario.follow_up_days(spec)}
        if scenario.comparable(spec):
            ep["lifespan_gain_pct"] = gain_estimate(r, control, paired=scenario.cohort.paired,
                                                    seed=scenario.cohort.seed)
            ep["hazard_ratio"] = hazard_ratio(r, control, paired=scenario.cohort.paired)
            if scenario.cohort.paired:
                extra["paired_lifespan_differences"] = paired_differences(r, control)
        years = r.durations / DAYS_PER_YEAR
        if human and np.sum(r.observed & (years >= 40.0) & (years < 90.0)) > 100:
            g = gompertz_fit(years, r.observed, 40.0, 90.0)  # 100+ deaths at 40-90 years
            if math.isfinite(g["doubling_time"]) and math.isfinite(g["pseudo_r2"]):
                extra["hazard_doubling_time_years_40_90"] = round(g["doubling_time"], 3)
                extra["gompertz_pseudo_r2_40_90"] = round(g["pseudo_r2"], 4)
        arms[spec.name] = {
            "parameter_set": spec.parameter_set,
            "species": spec.species,
            "n": int(spec.n),
            "deaths_threshold": int(np.sum(r.cause == 1)),
            "deaths_extrinsic": int(np.sum(r.cause == 2)),
            "alive_at_end": int(np.sum(r.cause == 0)),
            "failed": {"count": int(raw.failed.sum()),
                       "ids": raw.ids[raw.failed][:100].tolist(),
                       "message": "the drift gave NaN or infinity; left out of the endpoints"},
            "parameters": {p.name: {"value": p.value, "unit": p.unit,
                                    "source": p.source.label()} for p in model.parameters},
            "interventions": {
                "nk": None if spec.nk is None else asdict(spec.nk),
                "senolysis": [asdict(s) for s in spec.senolysis],
                "nk_infusions": [asdict(i) for i in spec.inputs().infusions],
                "cytokines": [asdict(c) for c in spec.cytokines],
            },
            "endpoints": ep,
            **extra,
        }
    return {
        "research_use_only": RESEARCH_USE,
        "scenario": scenario.cohort.name,
        "model": "karin2019 (SR model, stochastic)",
        "control": scenario.control,
        "paired": scenario.cohort.paired,
        "seed": scenario.cohort.seed,
        "healthspan_level": f"X < {scenario.cohort.healthspan_fraction:g} x Xc "
                            f"({DEFAULTS['healthspan_fraction'].source.label()})",
        "arms": arms,
        "comparisons": comparisons(arms, scenario.control),
        "sources": _sources_of(scenario),
        "assumptions": {k: v.label() for k, v in DEFAULTS.items()},
    }


def comparisons(arms: dict[str, Any], control: str) -> list[dict[str, Any]]:
    """The between-arm comparisons of ``summary.json`` (as ``nksim trial`` writes them):
    each compared arm against the control, ``{"endpoint", "arm_a", "arm_b", "measure",
    "value", "ci_low", "ci_high", "n_a", "n_b", "method", ...}``, taken from the arm's
    ``lifespan_gain_pct`` (relative difference of median lifespans, %) and
    ``hazard_ratio`` (Cox) endpoints."""
    out = []
    measures = {"lifespan_gain_pct": ("lifespan_median_days", "relative_difference_pct"),
                "hazard_ratio": ("lifespan", "hazard_ratio")}
    for name, arm in arms.items():
        for key, (endpoint, measure) in measures.items():
            e = arm["endpoints"].get(key)
            if e is None:
                continue
            out.append({"endpoint": endpoint, "arm_a": name, "arm_b": control,
                        "measure": measure, "value": e["value"], "ci_low": e["ci_low"],
                        "ci_high": e["ci_high"], "n_a": arm["n"] - arm["failed"]["count"],
                        "n_b": arms[control]["n"] - arms[control]["failed"]["count"],
                        "p_value": e.get("p_value"), "method": e["method"],
                        "note": e.get("note", "")})
    return out


def lifespans_frame(results: dict[str, ArmResult]) -> pd.DataFrame:
    """One row per virtual individual: arm, id, lifespan and healthspan (days), cause."""
    frames = [pd.DataFrame({"arm": name, "id": r.ids, "lifespan_days": r.lifespan,
                            "cause": r.cause, "healthspan_days": r.healthspan})
              for name, r in results.items()]
    return pd.concat(frames, ignore_index=True)
