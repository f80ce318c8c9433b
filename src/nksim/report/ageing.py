"""Files written by ``nksim ageing``: ``summary.json``, ``report.html`` (rendered from the
shared templates: ``ageing.html`` extends ``base.html``), ``report.png`` (the survival
figure) and ``lifespans.csv`` (one row per virtual individual).

The report holds the caveats box (results flagged automatically, and the UNVERIFIED,
ASSUMPTION and scenario-set values the run used), the design in words, each arm's
interventions, the flow of virtual individuals (simulated, analysed, died of senescence,
died of other causes, alive at the end of follow-up), a Table 1 of the arms' model
parameters as used, the endpoints with n, estimate and 95 % interval, the comparisons with
the control arm, and figures (Kaplan–Meier survival, senescent-cell burden by age, hazard
by age), each arm in its fixed colour, line style and marker, with a legend and the
interventions marked on the age axis. Every number is computed from the run
(``summary`` and the arms' :class:`~nksim.disease.ageing.ArmResult`), never typed in.

Layering: this module reads the ageing layer (``nksim.disease.ageing``); the ageing layer
knows nothing of reports; ``nksim.cli_ageing`` glues the two.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nksim._io import write_bytes_atomic, write_text_atomic
from nksim.disease.ageing._cohort import HETEROGENEITY_PARAMETERS, ArmResult
from nksim.disease.ageing._endpoints import burden_by_age, hazard_by_age, survival_curve
from nksim.disease.ageing._run import lifespans_frame
from nksim.disease.ageing._scenario import AgeingScenario, ArmSpec
from nksim.disease.ageing._sources import DEFAULTS, NK_BRIDGE, Value
from nksim.report._caveats import MIN_PATIENTS, _endpoint_flags
from nksim.report._common import figure_png, to_json
from nksim.report._plots import legend_outside, pyplot, readable_log_axis
from nksim.report._render import arm_colour, arm_style, figures_context, fmt_number, render
from nksim.report._tables import comparison_table, endpoint_table, multiplicity_note

DAYS_PER_YEAR = 365.0
DAYS_PER_MONTH = 30.4375
MIN_ALIVE_FOR_BURDEN = 10  # burden percentiles are drawn while at least this many are alive
MIN_DEATHS_PER_BIN = 5  # hazard bins with fewer deaths are not drawn (too noisy)
HAZARD_BINS = 30

#: Words for the ageing endpoints (``summary.json`` keys) and comparisons.
ENDPOINTS = {
    "lifespan_median_days": "Median lifespan (days)",
    "lifespan_median_years": "Median lifespan (years)",
    "lifespan_q25_days": "Lifespan, 25th percentile (days)",
    "lifespan_q75_days": "Lifespan, 75th percentile (days)",
    "healthspan_median_days": "Healthspan: days lived with senescent-cell burden below the "
                               "healthspan level, median",
    "lifespan_gain_pct": "Median lifespan gain over the control arm (%)",
    "hazard_ratio": "Hazard of death relative to the control arm",
    "lifespan": "Survival (hazard of death)",
}
COMPARISON_KEYS = ("lifespan_gain_pct", "hazard_ratio")  # shown as comparisons, not per arm

#: Words for the named parameter sets of the SR model.
PARAMETER_SETS = {
    "karin2019_mouse": "Karin 2019 fit, mice",
    "karin2019_human": "Karin 2019 fit, people",
    "raz2026_mice_F": "Raz 2026 fit, female mice",
    "raz2026_mice_M": "Raz 2026 fit, male mice",
    "raz2026_human_F": "Raz 2026 fit, women",
    "raz2026_human_M": "Raz 2026 fit, men",
}
SPECIES_WORDS = {"mouse": "mice", "human": "people"}

#: Words and units of the SR parameters (Table 1).
PARAMETERS = {
    "eta": ("η, rise of senescent-cell production with age", "per day²"),
    "beta": ("β, maximal removal rate of senescent cells", "per day"),
    "kappa": ("κ, half-saturation of removal", "model units of senescent cells"),
    "epsilon": ("ε, noise amplitude (diffusion)", "per day"),
    "Xc": ("Xc, death threshold of senescent cells", "model units of senescent cells"),
}

#: Words for the NK-layer assumptions (keys of ``DEFAULTS``).
NK_VALUES = {
    "nk_share": "share of senescent-cell removal done by NK cells",
    "per_cell_decline_per_year": "loss of per-cell NK killing per year of age",
    "perforin_residual": "NK killing left without perforin (1 = wild type)",
    "endogenous_nk": "body pool of NK cells",
}

#: Median lifespans outside these ranges are flagged as implausible (ASSUMPTION: laboratory
#: mice live about 2-3 years, the longest about 4-5; human cohorts' median lifespans lie
#: between about 40 and 90 years and nobody is known to have passed 122).
PLAUSIBLE_MEDIAN_YEARS = {"mouse": (1.0, 4.0), "human": (40.0, 110.0)}
#: A median lifespan gain beyond this (%) is flagged (ASSUMPTION: Baker 2016's senolysis
#: gave about +25 %; no intervention is known to double a mammal's median lifespan).
PLAUSIBLE_GAIN_PCT = 100.0


#: The comparison a senolysis marked ``calibrated_to`` reproduces (its lifespan gain).
CALIBRATED_ENDPOINT = "lifespan_median_days"


def calibration_of(spec: ArmSpec):
    """The arm's senolysis whose rate the scenario marks as calibrated (``calibrated_to``),
    or ``None``."""
    return next((sen for sen in spec.senolysis if sen.calibrated_to), None)


def calibration_notes(scenario: AgeingScenario, summary: dict[str, Any]) -> list[str]:
    """For each arm whose intervention strength was calibrated to an outcome: that its
    result for that outcome reproduces the calibration target and is not a prediction."""
    out = []
    for spec in scenario.arms:
        sen = calibration_of(spec)
        if sen is None:
            continue
        found = next((c for c in summary.get("comparisons") or []
                      if c["arm_a"] == spec.name and c["endpoint"] == CALIBRATED_ENDPOINT
                      and c["measure"] == "relative_difference_pct"
                      and c.get("value") is not None), None)
        result = (f" (here {fmt_number(found['value'])} %)" if found else "")
        out.append(f"Arm {spec.name}: the senolytic removal rate "
                   f"({fmt_number(sen.rate_per_day)} per day) was calibrated to give "
                   f"{sen.calibrated_to}. Its median lifespan gain{result} reproduces this "
                   "calibration target by construction; it is not a prediction and not "
                   "evidence that senolysis works.")
    return out


INTERVAL_WORDS = ("The 95 % intervals cover only the Monte-Carlo noise of simulating this "
                  "many virtual individuals with the model's parameters fixed{cv}. They do "
                  "not cover the uncertainty of the model's parameters, of its structure or "
                  "of any calibration target, which is larger.")


def interval_words(scenario: AgeingScenario) -> str:
    """What the report's 95 % intervals cover."""
    cvs = sorted({a.heterogeneity_cv for a in scenario.arms if a.heterogeneity_cv > 0})
    cv = (" (with the scenario's between-individual variation, coefficient of variation "
          f"{', '.join(fmt_number(c) for c in cvs)}, as part of that noise)" if cvs else
          ", every individual sharing the same parameter values")
    return INTERVAL_WORDS.format(cv=cv)


# ------------------------------------------------------------------ words

def arm_label(spec: ArmSpec) -> str:
    """The arm's name and its parameter set in words."""
    return f"{spec.name} ({PARAMETER_SETS.get(spec.parameter_set, spec.parameter_set)})"


def _years(x: float) -> str:
    return f"{fmt_number(x)} year" + ("" if x == 1 else "s")


def _age(years: float, species: str) -> str:
    if species == "mouse" and years < 3:
        return f"{fmt_number(years * 12)} months"
    return _years(years)


def _product_words(name: str) -> str:
    words = {"nk": "NK", "car": "CAR", "pb": "peripheral-blood", "ipsc": "iPSC",
             "nk92": "NK-92", "il15": "IL-15", "hncd16": "hnCD16", "t": "T"}
    return " ".join(words.get(w, w) for w in name.split("_")) + " cells"


def intervention_words(spec: ArmSpec, scenario: AgeingScenario) -> list[str]:
    """Each intervention of the arm in words (what, how much, from what age, how often)."""
    s = spec.species
    out = []
    inputs = spec.inputs()
    for sen in spec.senolysis:
        until = ("until death or the end of follow-up" if math.isinf(sen.stop_years)
                 else f"until the age of {_age(sen.stop_years, s)}")
        out.append(f"Senolysis: {fmt_number(100 * sen.rate_per_day)} % of senescent cells "
                   f"removed per day from the age of {_age(sen.start_years, s)}, {until}")
    for spec_i, inf in zip(spec.nk_infusions, inputs.infusions, strict=True):
        when = (f"at the age of {_age(inf.start_years, s)}" if inf.count == 1 else
                f"every {_years(inf.every_years)} from the age of {_age(inf.start_years, s)} "
                f"({inf.count} infusions)")
        support = {"none": "no cytokine support", "il2": "with IL-2 support",
                   "il15": "with IL-15 support"}[spec_i.support]
        out.append(f"NK infusions: {fmt_number(inf.cells)} {_product_words(inf.product)} "
                   f"per infusion {when}; persistence half-life "
                   f"{fmt_number(inf.half_life_days)} days ({support}); killing per cell "
                   f"{fmt_number(inf.activity)} × that of young NK cells")
    for c in spec.cytokines:
        when = (f"at the age of {_age(c.start_years, s)}" if c.count == 1 else
                f"every {_years(c.every_years)} from the age of {_age(c.start_years, s)} "
                f"({c.count} courses)")
        out.append(f"NK-boosting cytokines: per-cell NK killing × {fmt_number(c.factor)} for "
                   f"{fmt_number(c.duration_days)} days, {when}")
    return out or ["none (the published model)"]


def nk_words(spec: ArmSpec) -> str:
    """The arm's NK-clearance layer in words, or that removal is the published constant."""
    nk = spec.inputs().nk
    if nk is None:
        return "none: removal is the published constant β"
    decline = (f"per-cell killing falls by {fmt_number(100 * nk.per_cell_decline_per_year)} % "
               f"per year from the age of {_years(nk.decline_start_years)}")
    count = ("" if nk.count_change_per_year == 0 else
             f"; NK numbers change by {fmt_number(100 * nk.count_change_per_year)} % per year")
    ref = ("relative to the fit: the published fit already contains the endogenous decline, "
           "so without other interventions the arm is the published model"
           if nk.relative_to_fit else
           "relative to a young adult: the endogenous decline itself shortens life")
    return (f"NK cells do {fmt_number(100 * nk.share)} % of senescent-cell removal; "
            f"{decline}{count}; perforin-independent killing "
            f"{fmt_number(100 * nk.perforin_residual)} %; body NK pool "
            f"{fmt_number(nk.pool_cells)} cells; {ref}")


def extrinsic_words(spec: ArmSpec) -> str:
    from nksim.library import get_model

    if spec.extrinsic_hazard_per_year is not None:
        h, who = spec.extrinsic_hazard_per_year, "set by the scenario"
    else:
        h = get_model("karin2019", parameter_set=spec.parameter_set).parameter(
            "h_ext").value * DAYS_PER_YEAR
        who = "the parameter set's value"
    if h == 0:
        return f"none ({who})"
    return f"{fmt_number(h)} per year, constant ({who})"


def design_words(scenario: AgeingScenario) -> str:
    if scenario.cohort.paired:
        return ("paired: every virtual individual is simulated in every arm (same identity, "
                "random noise and individual parameters), so arms differ only by treatment")
    return "independent arms: each arm has its own virtual individuals"


def _by_species(scenario: AgeingScenario, what) -> str:
    parts = {}
    for arm in scenario.arms:
        parts.setdefault(arm.species, what(arm))
    if len(parts) == 1:
        return next(iter(parts.values()))
    return "; ".join(f"{SPECIES_WORDS[s]}: {v}" for s, v in parts.items())


# ------------------------------------------------------------------ tables

def _summary_cell(values: np.ndarray) -> str:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "–"
    med, q1, q3 = (float(np.quantile(v, q)) for q in (0.5, 0.25, 0.75))
    if math.isclose(q1, q3, rel_tol=1e-12, abs_tol=0.0):
        return fmt_number(med)
    return f"{fmt_number(med)} [{fmt_number(q1)} to {fmt_number(q3)}]"


def baseline_table(scenario: AgeingScenario, results: dict[str, ArmResult]
                   ) -> list[dict[str, Any]]:
    """Table 1: per arm, the species, parameter set, number simulated, senescent-cell burden
    at the first record, each SR parameter as used (median [interquartile range] over the
    individuals: they differ only with per-individual heterogeneity), the extrinsic
    mortality and the heterogeneity."""
    arms = scenario.arms
    rows = [
        {"label": "Species", "unit": "", "cells": {a.name: SPECIES_WORDS[a.species]
                                                   for a in arms}},
        {"label": "Parameter set", "unit": "",
         "cells": {a.name: PARAMETER_SETS.get(a.parameter_set, a.parameter_set)
                   for a in arms}},
        {"label": "Virtual individuals simulated", "unit": "",
         "cells": {a.name: fmt_number(results[a.name].ids.size) for a in arms}},
        {"label": "Senescent-cell burden at the start (age 0)",
         "unit": "model units, median [IQR]",
         "cells": {a.name: _summary_cell(results[a.name].records[:, 0])
                   if results[a.name].records.size else "–" for a in arms}},
    ]
    for c, name in enumerate(HETEROGENEITY_PARAMETERS):
        words, unit = PARAMETERS[name]
        rows.append({"label": words, "unit": f"{unit}, median [IQR]",
                     "cells": {a.name: _summary_cell(results[a.name].params[:, c])
                               for a in arms}})
    rows.append({"label": "Extrinsic mortality (deaths from other causes)", "unit": "",
                 "cells": {a.name: extrinsic_words(a) for a in arms}})
    rows.append({"label": "Between-individual variation of each parameter",
                 "unit": "coefficient of variation",
                 "cells": {a.name: ("none" if a.heterogeneity_cv == 0 else
                                    fmt_number(a.heterogeneity_cv)) for a in arms}})
    return rows


def flow_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per arm: simulated → not analysed (integration failed) → analysed, and how the
    analysed ended: died at the senescence threshold, died of other causes, alive at the
    end of follow-up."""
    out = []
    for i, (name, a) in enumerate(summary["arms"].items()):
        failed = a["failed"]["count"]
        out.append({"name": name, "colour": arm_colour(i), "simulated": a["n"],
                    "failed": failed, "analysed": a["n"] - failed,
                    "threshold": a["deaths_threshold"], "extrinsic": a["deaths_extrinsic"],
                    "alive": a["alive_at_end"]})
    return out


def arm_endpoint_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-arm endpoints (n, estimate, 95 % CI); comparisons with the control are in
    :func:`comparison_rows`."""
    arms = {name: {**a, "endpoints": {k: v for k, v in a["endpoints"].items()
                                      if k not in COMPARISON_KEYS}}
            for name, a in summary["arms"].items()}
    rows = endpoint_table({"arms": arms}, ENDPOINTS,
                          {k: "continuous" for a in arms.values() for k in a["endpoints"]})
    for row in rows:  # e.g. the median in years, computed for people only
        for name, a in arms.items():
            if row["key"] not in a["endpoints"]:
                row["cells"][name] = {"n": "–", "estimate": "–",
                                      "ci": f"not computed for {SPECIES_WORDS[a['species']]}"}
    return rows


def comparison_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparisons of ``summary.json`` in words (the shared comparison table)."""
    return comparison_table(summary, {**ENDPOINTS, "lifespan_median_days": "Median lifespan"})


def _mark_calibrated(rows: list[dict[str, Any]], scenario: AgeingScenario,
                     summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Comparison rows of an arm calibrated on that comparison get its target beside the
    estimate."""
    out = []
    comps = summary.get("comparisons") or []
    cals = {a.name: calibration_of(a) for a in scenario.arms}
    for row, c in zip(rows, comps, strict=True):
        sen = cals.get(c["arm_a"])
        if sen is not None and c["endpoint"] == CALIBRATED_ENDPOINT \
                and c["measure"] == "relative_difference_pct":
            row = {**row, "method": f"{row['method']}; calibration target "
                                    f"({sen.calibrated_to}): reproduced by construction, "
                                    "not a prediction"}
        out.append(row)
    return out


def paired_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Paired designs: how the lifespans of virtual twins differ (treated minus control)."""
    rows = []
    for name, a in summary["arms"].items():
        d = a.get("paired_lifespan_differences")
        if not d or not d.get("n_pairs"):
            continue
        rows.append({"arms": f"{name} versus {summary['control']}", "n": d["n_pairs"],
                     "median": fmt_number(d["median_days"]),
                     "range": f"{fmt_number(d['q10_days'])} to {fmt_number(d['q90_days'])}",
                     "longer": f"{100 * d['fraction_treated_twin_longer']:.1f} %",
                     "same": f"{100 * d['fraction_identical']:.1f} %"})
    return rows


# ------------------------------------------------------------------ caveats

def implausible_results(summary: dict[str, Any], scenario: AgeingScenario) -> list[str]:
    """Flags, in words: individuals not analysed, estimates on fewer than 5 individuals,
    medians not reached within follow-up, median lifespans outside the species' plausible
    range, and median lifespan gains beyond :data:`PLAUSIBLE_GAIN_PCT`."""
    out = []
    species = {a.name: a.species for a in scenario.arms}
    for name, a in summary["arms"].items():
        failed = a["failed"]["count"]
        if failed:
            out.append(f"Arm {name}: {failed} of {a['n']} virtual individuals not analysed "
                       "(the integration gave a value that is not a number); they are left "
                       "out of every endpoint.")
    out += _endpoint_flags(summary, ENDPOINTS)
    for name, a in summary["arms"].items():
        median = a["endpoints"].get("lifespan_median_days", {})
        if median.get("value") is None:
            out.append(f"Arm {name}: the median lifespan was not reached within follow-up "
                       f"({a['alive_at_end']} of {a['n']} alive at the end); lengthen "
                       "the follow-up.")
            continue
        lo, hi = PLAUSIBLE_MEDIAN_YEARS[species[name]]
        years = median["value"] / DAYS_PER_YEAR
        if not lo <= years <= hi:
            out.append(f"Arm {name}: median lifespan {fmt_number(years)} years, outside the "
                       f"plausible range for {SPECIES_WORDS[species[name]]} "
                       f"({fmt_number(lo)} to {fmt_number(hi)} years); check the parameters "
                       "and the interventions.")
    for c in summary.get("comparisons") or []:
        if c["measure"] == "relative_difference_pct" and c["value"] is not None \
                and abs(c["value"]) > PLAUSIBLE_GAIN_PCT:
            out.append(f"Arm {c['arm_a']}: median lifespan {fmt_number(c['value'])} % against "
                       f"{c['arm_b']}, beyond ±{fmt_number(PLAUSIBLE_GAIN_PCT)} % (no "
                       "intervention is known to double a mammal's median lifespan); check "
                       "the intervention's strength.")
    return out


def _row(name: str, description: str, value: Any, unit: str, label: str, source: str,
         note: str = "") -> dict[str, Any]:
    return {"name": name, "description": description,
            "value": value if isinstance(value, str) else fmt_number(value), "unit": unit,
            "label": label, "source": source, "note": note}


def _note(*parts: str) -> str:
    return "; ".join(x.strip().rstrip(".") for x in parts if x and x.strip())


def _assumption(description: str, value: float, v: Value, arms: list[str]) -> dict[str, Any]:
    """A row for a value of the ageing layer's ``DEFAULTS`` (its source's key names it)."""
    rng = (f"assumed range {fmt_number(v.low)} to {fmt_number(v.high)}"
           if v.low is not None else "")
    scenario = ("" if math.isclose(value, v.value) else
                f"set by the scenario (default {fmt_number(v.value)})")
    label = {"UNVERIFIED": "UNVERIFIED", "assumption": "ASSUMPTION"}.get(
        v.source.verified, v.source.verified)
    return _row(v.source.key, description, value, v.unit.replace("dimensionless", "–"), label,
                v.source.text, _note(v.source.note or "", rng, scenario,
                                     f"arms: {', '.join(arms)}"))


def uncertain_values(scenario: AgeingScenario) -> list[dict[str, Any]]:
    """The UNVERIFIED and ASSUMPTION values the run used (model parameters, the NK layer
    and its defaults, the healthspan level, the plausibility rules of the caveats) and the
    values the scenario set in their place (extrinsic mortality, heterogeneity, senolytic
    rates, infused cells), each with its value, unit, source and note; the same value used
    by several arms is listed once."""
    from nksim.library import get_model

    rows: dict[tuple, dict[str, Any]] = {}
    arms_of: dict[tuple, list[str]] = {}

    def add(key: tuple, make, arm: str) -> None:
        arms_of.setdefault(key, []).append(arm)
        rows[key] = make(arms_of[key])

    for spec in scenario.arms:
        model = get_model("karin2019", parameter_set=spec.parameter_set)
        for p in model.parameters:
            if p.name == "h_ext" and spec.extrinsic_hazard_per_year is not None:
                h = spec.extrinsic_hazard_per_year
                add(("h_ext", "scenario", h), lambda arms, h=h: _row(
                    "extrinsic mortality", "deaths from other causes, constant hazard", h,
                    "per year", "set by the scenario", "scenario",
                    f"arms: {', '.join(arms)}"), spec.name)
                continue
            if p.source.verified not in ("UNVERIFIED", "assumption"):
                continue
            words = PARAMETERS.get(p.name, ("extrinsic mortality", ""))[0] \
                if p.name != "h_ext" else "extrinsic mortality"
            add((p.name, p.value, p.source.key), lambda arms, p=p, words=words: _row(
                words, p.description, p.value * (DAYS_PER_YEAR if p.name == "h_ext" else 1),
                "per year" if p.name == "h_ext" else p.unit,
                "UNVERIFIED" if p.source.verified == "UNVERIFIED" else "ASSUMPTION",
                p.source.text, _note(p.source.note or "", f"arms: {', '.join(arms)}")),
                spec.name)
        if spec.heterogeneity_cv > 0:
            add(("cv", spec.heterogeneity_cv), lambda arms, cv=spec.heterogeneity_cv: _row(
                "between-individual variation", "SD of the normal multiplier 1 + cv·z of η, "
                "β, κ, ε and Xc, floored at 0.05 (as SRtools): their coefficient of variation "
                "for cv up to about 0.3", cv, "–", "set by the scenario", "scenario",
                f"arms: {', '.join(arms)}"), spec.name)
        for j, sen in enumerate(spec.senolysis):
            cal = sen.calibrated_to
            how = ("no measured value: calibrated to give " + cal + ", so that gain "
                   "reproduces its calibration target and is not a prediction"
                   if cal else
                   "no measured value: a senolytic drug's effect in this model is chosen by "
                   "the scenario")
            add(("senolysis", spec.name, j), lambda arms, sen=sen, how=how, cal=cal: _row(
                "senolytic removal rate", "fraction of senescent cells removed per day "
                "while senolysis runs", sen.rate_per_day, "per day",
                "set by the scenario (calibrated)" if cal else "set by the scenario",
                "scenario", f"{how}; arms: {', '.join(arms)}"), spec.name)
        nk = spec.inputs().nk
        if nk is None:
            continue
        add(("bridge",), lambda arms: _row(
            "NK-removal bridge", "removal β scaled by NK killing capacity",
            "β(t) = β₀ [(1 − s) + s C(t)]", "–", "ASSUMPTION", NK_BRIDGE.text,
            f"{NK_BRIDGE.note}; arms: {', '.join(arms)}"), spec.name)
        pool_key = "endogenous_nk_human" if spec.species == "human" else "endogenous_nk_mouse"
        for key, words in NK_VALUES.items():
            dkey = pool_key if key == "endogenous_nk" else key
            value = {"nk_share": nk.share, "per_cell_decline_per_year":
                     nk.per_cell_decline_per_year, "perforin_residual": nk.perforin_residual,
                     "endogenous_nk": nk.pool_cells}[key]
            add((dkey, value), lambda arms, dkey=dkey, words=words, value=value: _assumption(
                words, value, DEFAULTS[dkey], arms), spec.name)
        for spec_i, inf in zip(spec.nk_infusions, spec.inputs().infusions, strict=True):
            v = DEFAULTS["infused_activity"]
            add(("infused_activity", inf.activity), lambda arms, inf=inf, v=v: _assumption(
                "killing per infused NK cell, relative to young NK cells", inf.activity, v,
                arms), spec.name)
            if spec_i.cells is None:
                w = DEFAULTS["weight_kg"]
                add(("weight_kg", spec_i.weight_kg), lambda arms, s=spec_i, w=w: _assumption(
                    "body weight for NK products dosed per kg", s.weight_kg, w, arms),
                    spec.name)
            for what, given, unit in (("infused NK cells per infusion", spec_i.cells, "cells"),
                                      ("persistence half-life of infused NK cells",
                                       spec_i.half_life_days, "days")):
                if given is not None:
                    add((what, given), lambda arms, what=what, given=given, unit=unit: _row(
                        what, "instead of the shared product's value", given, unit,
                        "set by the scenario", "scenario", f"arms: {', '.join(arms)}"),
                        spec.name)
        for c in spec.cytokines:
            v = DEFAULTS["cytokine_factor"]
            add(("cytokine_factor", c.factor), lambda arms, c=c, v=v: _assumption(
                "multiplier of per-cell NK killing during a cytokine course", c.factor, v,
                arms), spec.name)
    everyone = [a.name for a in scenario.arms]
    hs = DEFAULTS["healthspan_fraction"]
    rows[("healthspan",)] = _assumption(
        "healthspan level: healthy while senescent cells stay below this fraction of the "
        "death threshold Xc", scenario.cohort.healthspan_fraction, hs, everyone)
    for sp in dict.fromkeys(a.species for a in scenario.arms):
        lo, hi = PLAUSIBLE_MEDIAN_YEARS[sp]
        rows[("plausible", sp)] = _row(
            f"plausible median lifespan of {SPECIES_WORDS[sp]}",
            "a median outside this range is flagged above", f"{fmt_number(lo)} to "
            f"{fmt_number(hi)}", "years", "ASSUMPTION", "nksim report rule",
            "laboratory mice live about 2-3 years; human cohorts' medians lie between about "
            "40 and 90 years")
    order = {"UNVERIFIED": 0, "set by the scenario": 1, "ASSUMPTION": 2}
    return sorted(rows.values(), key=lambda r: order.get(r["label"], 1))


# ------------------------------------------------------------------ figures

def _species_groups(scenario: AgeingScenario) -> dict[str, list[tuple[int, ArmSpec]]]:
    groups: dict[str, list[tuple[int, ArmSpec]]] = {}
    for i, arm in enumerate(scenario.arms):
        groups.setdefault(arm.species, []).append((i, arm))
    return groups


def _axis(species: str) -> tuple[float, str, str]:
    """Unit (days), axis label and hazard unit for a species: months for mice, years for
    people."""
    if species == "human":
        return DAYS_PER_YEAR, "age (years)", "year"
    return DAYS_PER_MONTH, "age (months)", "month"


def _schedule(x, species: str) -> str:
    if x.count == 1:
        return f"at {_age(x.start_years, species)}"
    return (f"{x.count}, every {_years(x.every_years)} from "
            f"{_age(x.start_years, species)}")


def _mark_interventions(ax, arms: list[tuple[int, ArmSpec]], unit: float) -> None:
    """Interventions under the curves, one row per arm and kind, in the arm's colour:
    senolysis as a bar over the ages it runs, NK infusions as filled triangles, cytokine
    courses as open circles; each with a legend entry."""
    rows = sum(len(spec.senolysis) + len(spec.nk_infusions) + len(spec.cytokines)
               for _, spec in arms)
    if not rows:
        return
    # room under the data for the marks: extend the y axis downwards
    frac = 0.05 + 0.045 * rows
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        a, b = math.log10(lo), math.log10(hi)
        ax.set_ylim(10 ** (a - frac * (b - a) / (1 - frac)), hi)
    else:
        ax.set_ylim(lo - frac * (hi - lo) / (1 - frac), hi)
    trans = ax.get_xaxis_transform()
    row = 0
    for i, spec in arms:
        colour = arm_colour(i)
        s = spec.species
        for sen in spec.senolysis:
            end = min(sen.stop_years * DAYS_PER_YEAR, 1e9) / unit
            a = sen.start_years * DAYS_PER_YEAR / unit
            right = ax.get_xlim()[1] if math.isinf(sen.stop_years) else end
            ax.plot([a, right], [0.03 + 0.045 * row] * 2, color=colour, lw=4, alpha=0.7,
                    transform=trans, clip_on=False, solid_capstyle="butt",
                    label=f"{spec.name}: senolysis from {_age(sen.start_years, s)}")
            row += 1
        for inf in spec.inputs().infusions:
            x = inf.times_days() / unit
            ax.plot(x, [0.03 + 0.045 * row] * len(x), ls="none", marker="^", ms=6,
                    color=colour, transform=trans, clip_on=False,
                    label=f"{spec.name}: NK infusions ({_schedule(inf, s)})")
            row += 1
        for c in spec.cytokines:
            x = (c.start_years + c.every_years * np.arange(c.count)) * DAYS_PER_YEAR / unit
            ax.plot(x, [0.03 + 0.045 * row] * len(x), ls="none", marker="o", ms=6, mfc="none",
                    color=colour, transform=trans, clip_on=False,
                    label=f"{spec.name}: cytokine courses ({_schedule(c, s)})")
            row += 1


def _survival(ax, arms, results, unit) -> None:
    for i, spec in arms:
        r = results[spec.name].analysed()
        km = survival_curve(r.durations, r.observed)
        t = np.r_[0.0, km["time"].to_numpy()] / unit
        st = arm_style(i)
        ax.step(t, np.r_[1.0, km["survival"].to_numpy()], where="post", color=st["color"],
                ls=st["ls"], marker=st["marker"], markevery=0.1, ms=4, lw=1.6,
                label=f"{spec.name} (n = {fmt_number(r.ids.size)})")
        ax.fill_between(t[1:], km["ci_low"], km["ci_high"], step="post", color=st["color"],
                        alpha=0.18, lw=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("surviving fraction")


def _burden(ax, arms, results, unit) -> None:
    for i, spec in arms:
        r = results[spec.name].analysed()
        b = burden_by_age(r)
        if b.empty:
            continue
        b = b[b["alive"] >= MIN_ALIVE_FOR_BURDEN]
        st = arm_style(i)
        age = b["age_days"].to_numpy() / unit
        ax.fill_between(age, b["p10"], b["p90"], color=st["color"], alpha=0.15, lw=0)
        ax.plot(age, b["median"], color=st["color"], ls=st["ls"], marker=st["marker"],
                markevery=0.1, ms=4, lw=1.6,
                label=f"{spec.name}: median, 10–90th percentiles")
    levels: dict[float, list[str]] = {}
    for _, spec in arms:
        xc = float(np.median(results[spec.name].params[:, 4]))
        levels.setdefault(round(xc, 6), []).append(spec.name)
    for xc, names in levels.items():
        ax.axhline(xc, color="#555", lw=0.9, ls=":",
                   label=f"death threshold Xc = {fmt_number(xc)} ({', '.join(names)})")
    ax.set_ylabel("senescent cells (model units)")


def _hazard(ax, arms, results, unit, per) -> None:
    drawn = False
    for i, spec in arms:
        r = results[spec.name].analysed()
        if not r.observed.any():
            continue
        edges = np.linspace(0, np.nanquantile(r.durations, 0.99), HAZARD_BINS)
        h = hazard_by_age(r.durations, r.observed, edges)
        ok = (h["deaths"] >= MIN_DEATHS_PER_BIN).to_numpy()
        if not ok.any():
            continue
        st = arm_style(i)
        mid = (0.5 * (h["age_low"] + h["age_high"])).to_numpy()[ok] / unit
        ax.plot(mid, h["hazard"].to_numpy()[ok] * unit, color=st["color"], ls=st["ls"],
                marker=st["marker"], ms=4, lw=1.6, label=f"{spec.name}")
        drawn = True
    if drawn:  # whole decades, so that at least two ticks are labelled
        readable_log_axis(ax)
        lo, hi = ax.get_ylim()
        ax.set_ylim(10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi)))
    ax.set_ylabel(f"hazard of death (per {per})")


def ageing_figures(scenario: AgeingScenario, results: dict[str, ArmResult]
                   ) -> list[tuple[str, str, Any]]:
    """``(id, caption, figure)`` per species in the scenario: Kaplan–Meier survival with
    95 % bands, senescent-cell burden by age (median and 10–90th percentiles of the
    living, the death threshold dotted), and the hazard of death by age (log axis). Each
    arm keeps its colour, line style and marker (its position in the scenario);
    interventions are marked on the age axis; every figure has a legend."""
    plt = pyplot()
    groups = _species_groups(scenario)
    out = []
    for species, arms in groups.items():
        unit, xlabel, per = _axis(species)
        suffix = f" ({SPECIES_WORDS[species]})" if len(groups) > 1 else ""
        tag = f"-{species}" if len(groups) > 1 else ""
        panels = [
            ("survival", "Survival (Kaplan–Meier)", lambda ax, a=arms, u=unit: _survival(
                ax, a, results, u),
             f"Kaplan–Meier survival of each arm with its pointwise 95 % band{suffix}."),
            ("burden", "Senescent-cell burden by age", lambda ax, a=arms, u=unit: _burden(
                ax, a, results, u),
             f"Senescent-cell burden among the living by age: median (line) and 10–90th "
             f"percentiles (band), while at least {MIN_ALIVE_FOR_BURDEN} individuals of the "
             f"arm are alive; the dotted line is the death threshold{suffix}."),
            ("hazard", "Hazard of death by age", lambda ax, a=arms, u=unit, w=per: _hazard(
                ax, a, results, u, w),
             f"Hazard of death by age (deaths per {per} of life among the living, log "
             f"axis; age bins with fewer than {MIN_DEATHS_PER_BIN} deaths are not "
             f"drawn){suffix}."),
        ]
        for key, title, draw, caption in panels:
            fig, ax = plt.subplots(figsize=(9.0, 4.0), constrained_layout=True)
            draw(ax)
            ax.set_xlim(left=0)
            _mark_interventions(ax, arms, unit)
            ax.set_xlabel(xlabel)
            ax.set_title(title + suffix, fontsize=11)
            ax.grid(alpha=0.3)
            legend_outside(ax)
            out.append((f"{key}{tag}", caption, fig))
    return out


# ------------------------------------------------------------------ page and files

def render_html(scenario: AgeingScenario, run: dict[str, Any],
                figures: list[tuple[str, str, bytes]] | None = None) -> str:
    """The report page (``report.html``) of ``run`` (``{"summary", "results"}`` of
    :func:`nksim.disease.ageing._run.run_scenario`); ``figures`` as PNG (made here when
    not given)."""
    from nksim.library import get_model

    summary = run["summary"]
    if figures is None:
        figures = [(i, c, figure_png(f)) for i, c, f in ageing_figures(scenario, run["results"])]

    model = get_model("karin2019", parameter_set=scenario.arms[0].parameter_set)
    arms = [{"name": a.name, "colour": arm_colour(i), "n": a.n,
             "label": arm_label(a), "parameter_set":
             PARAMETER_SETS.get(a.parameter_set, a.parameter_set),
             "nk": nk_words(a), "interventions": intervention_words(a, scenario),
             "extrinsic": extrinsic_words(a)}
            for i, a in enumerate(scenario.arms)]
    comparable = [a.name for a in scenario.arms if scenario.comparable(a)]
    human = {a.name for a in scenario.arms if a.species == "human"}
    return render(
        "ageing.html",
        name=scenario.cohort.name,
        model_title=model.title,
        design=design_words(scenario),
        paired=scenario.cohort.paired,
        seed=scenario.cohort.seed,
        species=", ".join(SPECIES_WORDS[s] for s in dict.fromkeys(
            a.species for a in scenario.arms)),
        follow_up=_by_species(scenario, lambda a: f"from birth to the age of "
                              f"{_years(scenario.follow_up_days(a) / DAYS_PER_YEAR)}"),
        dt=_by_species(scenario, lambda a: f"{fmt_number(scenario.dt(a))} day(s)"),
        record=_by_species(scenario, lambda a: f"every {fmt_number(scenario.record_every_days(a))}"
                           " days"),
        control=scenario.control,
        comparable=comparable,
        healthspan=scenario.cohort.healthspan_fraction,
        timing=f"{fmt_number(summary['run_seconds'], 2)} s",
        arms=arms,
        flow=flow_table(summary),
        table1=baseline_table(scenario, run["results"]),
        endpoints=arm_endpoint_table(summary),
        human=sorted(human),
        comparisons=_mark_calibrated(comparison_rows(summary), scenario, summary),
        calibrations=calibration_notes(scenario, summary),
        intervals=interval_words(scenario),
        comparisons_note=multiplicity_note(summary.get("comparisons")),
        paired_rows=paired_rows(summary),
        figures=figures_context(figures),
        flags=implausible_results(summary, scenario),
        parameters=uncertain_values(scenario),
        min_n=MIN_PATIENTS,
        gompertz=[{"name": n, "doubling": fmt_number(a["hazard_doubling_time_years_40_90"]),
                   "r2": fmt_number(a["gompertz_pseudo_r2_40_90"])}
                  for n, a in summary["arms"].items()
                  if "hazard_doubling_time_years_40_90" in a],
        sources=[f"{s['key']} [{s['verified']}]: {s['text']}" for s in summary["sources"]],
    )


def write_ageing_outputs(folder: Path, scenario: AgeingScenario, run: dict[str, Any]
                         ) -> list[Path]:
    """``summary.json``, ``report.html``, ``report.png`` (the survival figure of the first
    species) and ``lifespans.csv`` into ``folder``."""
    folder = Path(folder)
    figures = [(i, c, figure_png(f)) for i, c, f in ageing_figures(scenario, run["results"])]
    paths = [
        write_text_atomic(folder / "summary.json", to_json(run["summary"])),
        write_text_atomic(folder / "report.html", render_html(scenario, run, figures)),
        write_bytes_atomic(folder / "report.png", figures[0][2]),
    ]
    frame: pd.DataFrame = lifespans_frame(run["results"])
    frame.to_csv(folder / "lifespans.csv", index=False)
    return [*paths, folder / "lifespans.csv"]


__all__ = ["ENDPOINTS", "PARAMETER_SETS", "ageing_figures", "baseline_table",
           "implausible_results", "intervention_words", "render_html", "uncertain_values",
           "write_ageing_outputs"]
