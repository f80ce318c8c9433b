"""Files written by ``nksim trial``: ``summary.json``, ``report.html`` with plots, the
screening log, per-patient endpoints and the time courses."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nksim._io import write_text_atomic
from nksim.report._common import RESEARCH_ONLY, data_uri, figure_png, to_json, versions

_COLOURS = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad")
# (readout, title, log axis floor: values below it are not drawn; None = linear axis)
_PANELS = (
    ("B", "CD19+ B cells (cells/µL)", 0.1),
    ("CAR", "CAR cells in blood (cells/µL; drawn above 0.01)", 0.01),
    ("SLEDAI", "SLEDAI-2K (surrogate)", None),
    ("AB", "anti-dsDNA (IU/mL)", 1.0),
    ("IL6", "IL-6 (pg/mL)", 0.1),
    ("IFNG", "IFN-γ (pg/mL)", 0.1),
)
_ENDPOINT_LABELS = {
    "crs_any_rate": "CRS, any grade (infused)",
    "crs_grade3plus_rate": "CRS grade ≥ 3 (infused)",
    "icans_any_rate": "ICANS, any grade (infused)",
    "b_cell_return_day_median": "B-cell return, median day (depleted)",
    "doris_remission_3m_rate": "DORIS remission at 3 months",
    "doris_remission_6m_rate": "DORIS remission at 6 months",
    "sri4_6m_rate": "SRI-4 response at 6 months",
    "steroid_free_6m_rate": "steroid-free at 6 months, no flare",
    "flare_6m_rate": "flare by 6 months",
    "manufacturing_failure_rate": "manufacturing failure",
    "cost_per_patient_median": "cost per patient treated, median (RMB)",
    "cost_per_remission": "cost per DORIS remission at 6 months (RMB)",
}


def trial_summary(result, scenario_raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``summary.json``."""
    log = result.screening_log
    excluded = log.loc[~log["eligible"].astype(bool), "failed_criteria"].astype(str)
    reasons: dict[str, int] = {}
    for item in excluded:
        for name in item.replace(";", ",").split(","):
            name = name.strip()
            if name:
                reasons[name] = reasons.get(name, 0) + 1
    trial = result.scenario.trial
    return {
        "notice": RESEARCH_ONLY,
        "trial": {"name": trial.name, "design": trial.design, "seed": trial.seed,
                  "follow_up_days": trial.follow_up_days, "model": result.model.name},
        "screening": {"candidates": int(len(log)), "eligible": int(log["eligible"].sum()),
                      "excluded_by_criterion": reasons},
        "arms": result.summary(),
        "comparisons": list(getattr(result, "comparisons", None) or []),
        "notes": result.notes,
        "definitions": "docs/trials.md (endpoints), docs/trials-statistics.md (intervals)",
        "versions": versions(),
        "scenario": scenario_raw,
    }


def _series(arm) -> dict[str, np.ndarray]:
    from nksim.disease import sledai

    ds = arm.simulation.dataset
    return {
        "B": ds["B"].values, "AB": ds["AB"].values, "IL6": ds["IL6"].values,
        "IFNG": ds["IFNG"].values, "SLEDAI": np.asarray(sledai(ds), dtype=float),
        "CAR": ds["CART"].values + ds["CARTM"].values + ds["CARNK"].values,
    }


def plot_arms(result) -> bytes:
    """Median and 10-90th percentile band per arm, over time, for six readouts (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), constrained_layout=True)
    arms = [a for a in result.arms if a.simulation is not None]
    for ax, (key, title, floor) in zip(axes.flat, _PANELS, strict=True):
        for arm, colour in zip(arms, _COLOURS, strict=False):
            t = arm.simulation.dataset["time"].values
            y = _series(arm)[key]
            if floor is not None:
                y = np.where(y >= floor, y, np.nan)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN (extinct) columns
                lo, mid, hi = np.nanpercentile(y, [10, 50, 90], axis=0)
            ax.fill_between(t, lo, hi, color=colour, alpha=0.2, lw=0)
            ax.plot(t, mid, color=colour, lw=1.6, label=f"{arm.name} (n={len(arm.patients)})")
        if floor is not None:
            ax.set_yscale("log")
        ax.axvline(0, color="#888", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("days from first infusion")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"{result.scenario.trial.name}: median and 10-90th percentiles "
                 "(virtual patients; research use only)", fontsize=11)
    return figure_png(fig)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ name }}</title>
<style>body{font-family:sans-serif;max-width:75em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em}
td.num{text-align:right}.notice{background:#fff3cd;padding:.6em}</style></head><body>
<h1>{{ name }}</h1><p class="notice">{{ notice }}</p>
<p>Design: {{ design }}; seed {{ seed }}; follow-up {{ follow_up }} days; model {{ model }}.
Screened {{ screening.candidates }} virtual candidates, {{ screening.eligible }} eligible.
Excluded by criterion: {% for k, v in screening.excluded_by_criterion.items() %}{{ k }} {{ v }}
{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{% for note in notes %}<p><b>Note:</b> {{ note }}</p>{% endfor %}
<h2>Endpoints (95 % confidence intervals)</h2>
<table><tr><th>endpoint</th>{% for arm in arms %}<th>{{ arm }} (n = {{ ns[arm] }})</th>
{% endfor %}</tr>{% for key, label in labels.items() %}<tr><td>{{ label }}</td>
{% for arm in arms %}<td class="num">{{ cells[arm][key] }}</td>{% endfor %}</tr>{% endfor %}
</table>
<p>Proportions: exact (Clopper-Pearson) intervals. Definitions: docs/trials.md.</p>
<img alt="time courses" src="{{ png }}" style="max-width:100%">
<h2>Assumptions</h2><p>Every parameter of the model carries its source; assumptions are
labelled in <code>nksim models --show {{ model }}</code>. Trial-level assumptions are
commented in the scenario file.</p>
<p><small>nksim {{ versions.nksim }}</small></p></body></html>"""


def _cell(endpoint: dict[str, Any], key: str) -> str:
    value = endpoint.get("value")
    if value is None:
        return "n/a"
    lo, hi = endpoint.get("ci_low"), endpoint.get("ci_high")
    if key.endswith("_rate"):
        fmt = lambda x: "–" if x is None else f"{100 * x:.0f} %"  # noqa: E731
        k, n = endpoint.get("k"), endpoint.get("n")
        return f"{fmt(value)} ({k}/{n}; {fmt(lo)} to {fmt(hi)})"
    fmt = lambda x: "∞" if x is None else f"{x:,.0f}"  # noqa: E731
    return f"{fmt(value)} ({fmt(lo)} to {fmt(hi)})"


def render_html(result, summary: dict[str, Any], png: bytes) -> str:
    from jinja2 import Environment, select_autoescape

    arms = list(summary["arms"])
    cells = {a: {k: _cell(summary["arms"][a]["endpoints"].get(k, {}), k)
                 for k in _ENDPOINT_LABELS} for a in arms}
    trial = summary["trial"]
    return Environment(autoescape=select_autoescape(default=True)).from_string(_PAGE).render(
        name=trial["name"], notice=RESEARCH_ONLY, design=trial["design"], seed=trial["seed"],
        follow_up=trial["follow_up_days"], model=trial["model"], screening=summary["screening"],
        notes=summary["notes"], arms=arms, ns={a: summary["arms"][a]["n"] for a in arms},
        labels=_ENDPOINT_LABELS, cells=cells, png=data_uri(png), versions=summary["versions"])


def write_trial_outputs(result, folder: Path, scenario_raw: dict[str, Any] | None) -> list[Path]:
    """``summary.json``, ``report.html``, ``screening_log.csv``, ``patients.csv`` and
    ``timecourse.parquet`` (all arms, long format) into ``folder``."""
    summary = trial_summary(result, scenario_raw)
    png = plot_arms(result)
    paths = [
        write_text_atomic(folder / "summary.json", to_json(summary)),
        write_text_atomic(folder / "report.html", render_html(result, summary, png)),
    ]
    result.screening_log.to_csv(folder / "screening_log.csv", index=False)
    patients = pd.concat([a.patients.assign(arm=a.name) for a in result.arms],
                         ignore_index=True)
    patients.to_csv(folder / "patients.csv", index=False)
    frames = [a.simulation.to_frame().assign(arm=a.name) for a in result.arms
              if a.simulation is not None]
    if frames:
        pd.concat(frames, ignore_index=True).to_parquet(folder / "timecourse.parquet",
                                                        index=False)
    return [*paths, folder / "screening_log.csv", folder / "patients.csv"]
