"""The caveats box of a trial report: results flagged as implausible, found automatically,
and the unverified and assumed parameters the run used."""

from __future__ import annotations

from typing import Any

import numpy as np

from nksim.report._labels import ENDPOINTS, STATUS, label
from nksim.report._plots import column_blocks, nanmax_blocks
from nksim.report._render import fmt_number

MIN_PATIENTS = 5  # an estimate resting on fewer patients is flagged
# endpoints that are implausible when they hold for every patient of an arm
ALL_PATIENTS_FLAGS = {"flare_6m_rate": "every patient flared by 6 months",
                      "flare_12m_rate": "every patient flared by 12 months"}


def _endpoint_flags(summary: dict[str, Any], labels: dict[str, str]) -> list[str]:
    out = []
    for arm, block in summary["arms"].items():
        small, estimable = [], 0
        for key, ep in block.get("endpoints", {}).items():
            estimable += ep.get("value") is not None
            n, value = ep.get("n"), ep.get("value")
            if value is not None and n is not None and 0 < n < MIN_PATIENTS:
                small.append(f"{labels.get(key) or label(key)} (n = {n})")
            if key in ALL_PATIENTS_FLAGS and value is not None and n and value >= 1.0:
                out.append(f"Arm {arm}: {ALL_PATIENTS_FLAGS[key]} ({ep.get('k', n)}/{n}) – "
                           "implausible for a treated cohort; check the model and the regimen.")
        if small and len(small) == estimable:
            out.append(f"Arm {arm}: every estimate rests on fewer than {MIN_PATIENTS} patients "
                       f"(at most {max(n for n in _ns(block))}); none is reliable.")
        elif small:
            out.append(f"Arm {arm}: {len(small)} estimate(s) rest on fewer than {MIN_PATIENTS} "
                       f"patients and are not reliable: " + "; ".join(small) + ".")
    return out


def _ns(block: dict[str, Any]) -> list[int]:
    return [ep["n"] for ep in block.get("endpoints", {}).values()
            if ep.get("value") is not None and ep.get("n") is not None]


def _status_flags(result) -> list[str]:
    out = []
    for arm in result.arms:
        p = arm.patients
        if not len(p) or "status" not in p:
            continue
        bad = p["status"].astype(str)
        bad = bad[bad.ne("ok")]
        if len(bad):
            parts = ", ".join(f"{k} {STATUS.get(s, s)}" for s, k in bad.value_counts().items())
            out.append(f"Arm {arm.name}: {len(bad)} of {len(p)} patients not analysed "
                       f"({parts}); they are left out of every endpoint that rests on "
                       "the simulation (manufacturing failure and costs still count them).")
    return out


def _range_flags(result, panels, series: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """Patients whose readout leaves its plausible range after day 0."""
    out = []
    for panel in panels:
        if panel.plausible is None:
            continue
        lo, hi = panel.plausible
        for arm in result.arms:
            y = series.get(arm.name, {}).get(panel.key)
            if y is None or not y.size:
                continue
            outside = np.zeros(y.shape[0], dtype=bool)
            with np.errstate(invalid="ignore"):
                for b in column_blocks(y):
                    outside |= np.any((b < lo) | (b > hi), axis=1)
            if outside.any():
                peak = nanmax_blocks(y)
                scale = (f"; the scale runs from {fmt_number(panel.scale[0])} to "
                         f"{fmt_number(panel.scale[1])}" if panel.scale else "")
                out.append(f"Arm {arm.name}: {int(outside.sum())} of {y.shape[0]} patients "
                           f"reach {panel.title} values outside the plausible range "
                           f"{fmt_number(lo)} to {fmt_number(hi)} {panel.unit} (highest "
                           f"{fmt_number(peak)}{scale}).")
    return out


def implausible_results(result, summary: dict[str, Any], panels,
                        series: dict[str, dict[str, np.ndarray]],
                        labels: dict[str, str] | None = None) -> list[str]:
    """Every automatic flag, in words: non-ok statuses, readouts outside their plausible
    range, all-patient events, estimates resting on fewer than 5 patients, runner notes."""
    return [*_status_flags(result), *_range_flags(result, panels, series),
            *_endpoint_flags(summary, ENDPOINTS if labels is None else labels),
            *[str(n) for n in result.notes]]


def uncertain_parameters(model, overridden: set[str] | frozenset = frozenset()
                         ) -> list[dict[str, Any]]:
    """The model's parameters labelled UNVERIFIED or assumption (with value, unit, source
    and note), plus those the scenario set (their source is the scenario)."""
    rows = []
    for p in model.parameters:
        src = p.source
        if p.name in overridden:
            rows.append({"name": p.name, "description": p.description, "value": fmt_number(p.value),
                         "unit": p.unit, "label": "set by the scenario", "source": "scenario file",
                         "note": ""})
        elif src.verified in ("UNVERIFIED", "assumption"):
            rows.append({"name": p.name, "description": p.description,
                         "value": fmt_number(p.value), "unit": p.unit,
                         "label": _label_of(src),
                         "source": src.text, "note": src.note or ""})
    order = {"UNVERIFIED": 0, "set by the scenario": 1, "ASSUMPTION": 2}
    return sorted(rows, key=lambda r: order[r["label"]])


def uncertain_rules(rules, defaults: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Eligibility rules whose source is UNVERIFIED or an assumption, as rows of the same
    table as :func:`uncertain_parameters` (e.g. "high disease activity" read as
    SLEDAI-2K >= 8), and rules whose threshold the scenario set away from the setting's
    default (``defaults``: rule name -> default threshold): the row then says what the
    screening applied and that its source describes the default, not this value."""
    rows = []
    defaults = defaults or {}
    for r in rules:
        src = r.source
        default = defaults.get(r.name)
        row = {"name": f"eligibility: {r.description}",
               "description": f"screening rule ({r.label} {r.operator} threshold)",
               "value": fmt_number(r.threshold), "unit": r.unit}
        if default is not None and default != r.threshold:
            rows.append({**row, "label": "set by the scenario", "source": "scenario file",
                         "note": f"Applied: {r.label} {r.operator} {fmt_number(r.threshold)}. "
                                 f"The setting's default is {fmt_number(default)}, from "
                                 f"{src.key}: {src.text}"
                                 + (f" {src.note}" if src.note else "")})
        elif src.verified in ("UNVERIFIED", "assumption"):
            rows.append({**row,
                         "label": _label_of(src),
                         "source": src.text, "note": src.note or ""})
    return rows


def _label_of(citation) -> str:
    return {"UNVERIFIED": "UNVERIFIED", "assumption": "ASSUMPTION"}.get(citation.verified,
                                                                       citation.verified)


def cost_inputs(scenario) -> list[dict[str, Any]]:
    """The inputs behind the manufacturing and cost endpoints of the arms with a product
    (price per dose, out-of-specification rate, apheresis failure model, care costs), as
    rows of the same table as :func:`uncertain_parameters`, each with its verification
    label (``set by the scenario`` where the arm's ``[arms.cost]`` or
    ``[arms.manufacturing]`` gives it); the same value used by several arms is listed
    once, naming the arms."""
    from nksim.therapy import _manufacturing as m

    rows: dict[tuple, dict[str, Any]] = {}
    arms_of: dict[tuple, list[str]] = {}

    def add(name, description, value, unit, citation, given: bool, arm: str) -> None:
        key = (name, value, given)
        arms_of.setdefault(key, []).append(arm)
        rows[key] = {"name": name, "description": description, "value": fmt_number(value),
                     "unit": unit,
                     "label": "set by the scenario" if given else _label_of(citation),
                     "source": "scenario file" if given else citation.text,
                     "note": ("" if given else (citation.note or "") + " ")
                     + f"Arms: {', '.join(arms_of[key])}."}

    for arm in scenario.arms:
        if getattr(arm, "product", "none") not in ("car_t", "car_nk"):
            continue
        cost = m.CostSpec.from_dict(arm.cost, product=arm.product)
        manu = m.ManufacturingSpec.from_dict(arm.manufacturing, product=arm.product)
        given_cost, given_manu = set(arm.cost or {}), set(arm.manufacturing or {})
        price_given = bool(given_cost & {"product_cost_per_dose_rmb", "batch_cost_rmb",
                                         "doses_per_batch"})
        add("cost: product price per dose", "price of one dose of the product",
            cost.cost_per_dose_rmb, "RMB",
            m.CAR_T_PRICE if cost.product == "car_t" and cost.product_cost_per_dose_rmb is None
            else m.CAR_NK_BATCH, price_given, arm.name)
        for field, words, value, unit in (
                ("apheresis_cost_rmb", "cost: apheresis", cost.apheresis_cost_rmb, "RMB per "
                 "collection"),
                ("lymphodepletion_cost_rmb", "cost: lymphodepletion",
                 cost.lymphodepletion_cost_rmb, "RMB per course"),
                ("hospital_day_cost_rmb", "cost: hospital ward day", cost.hospital_day_cost_rmb,
                 "RMB per day"),
                ("hospital_days", "cost: days in hospital", cost.days_in_hospital,
                 "days per treated patient")):
            if field == "apheresis_cost_rmb" and manu.process != "autologous" or \
                    field == "lymphodepletion_cost_rmb" and not arm.lymphodepletion:
                continue
            add(words, "care cost counted per treated patient", value, unit, m.CARE_COSTS,
                field in given_cost, arm.name)
        add("manufacturing: out-of-specification rate",
            "probability that a product fails release (the patient is not infused)",
            manu.out_of_spec, "probability", m.OUT_OF_SPEC,
            "out_of_spec_probability" in given_manu, arm.name)
        if manu.process == "autologous":
            add("manufacturing: apheresis failure, lymphocyte count for 50 %",
                "collections fail with probability 1 / (1 + (ALC / ALC50)^slope)",
                manu.apheresis_alc50_per_ul, "cells/µL", m.APHERESIS_FAILURE_MODEL,
                "apheresis_alc50_per_ul" in given_manu, arm.name)
    return list(rows.values())
