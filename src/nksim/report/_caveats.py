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
                       f"({parts}); they are left out of every endpoint.")
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
                         "label": "UNVERIFIED" if src.verified == "UNVERIFIED" else "ASSUMPTION",
                         "source": src.text, "note": src.note or ""})
    order = {"UNVERIFIED": 0, "set by the scenario": 1, "ASSUMPTION": 2}
    return sorted(rows, key=lambda r: order[r["label"]])


def uncertain_rules(rules) -> list[dict[str, Any]]:
    """Eligibility rules whose source is UNVERIFIED or an assumption, as rows of the same
    table as :func:`uncertain_parameters` (e.g. "high disease activity" read as
    SLEDAI-2K >= 8)."""
    rows = []
    for r in rules:
        src = r.source
        if src.verified in ("UNVERIFIED", "assumption"):
            rows.append({"name": f"eligibility: {r.description}",
                         "description": f"screening rule ({r.label} {r.operator} threshold)",
                         "value": fmt_number(r.threshold), "unit": r.unit,
                         "label": "UNVERIFIED" if src.verified == "UNVERIFIED" else "ASSUMPTION",
                         "source": src.text, "note": src.note or ""})
    return rows
