"""Oncology figures of the trial report: response waterfall, spider plot, Kaplan-Meier
curves with numbers at risk, and published figures beside the virtual trial's estimates.

Research use only. Any disease setting may declare ``oncology`` (a mapping) to get them:

``response``     per-patient column of best overall response (``"CR"``, ``"PR"``, ...)
``best_change``  column: best % change of the tumour measure from baseline (waterfall)
``spider``       column: ``;``-separated % changes at the assessment ``visits`` (days)
``survival``     ``{label: column}`` of event times (NaN = none), in the unit scaled from
                 days by ``months_per_day`` (default 1: days)
``published``    list of ``{"arm", "endpoint", "value", "label"}`` figures set beside the
                 arm's estimate (e.g. the article's UNVERIFIED figures)

Settings without ``oncology`` get no figure here (:func:`oncology_figures` returns []).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nksim.report._panels import setting_of
from nksim.report._plots import legend_outside, pyplot
from nksim.report._render import arm_style
from nksim.trials._survival import event_times, km_curve

RESPONSE_COLOURS = {"CR": "#1b7837", "PR": "#7fbf7b", "SD": "#bbbbbb", "PD": "#c2474a",
                    "NE": "#eeeeee"}


def _spec(result) -> dict[str, Any] | None:
    spec = getattr(setting_of(result), "oncology", None)
    return dict(spec) if spec else None


def _ok_patients(arm):
    return arm.patients[arm.patients["status"].astype(str).eq("ok")]


def waterfall_figure(result, spec: dict[str, Any]):
    """Best % change of the tumour measure per patient, sorted, one panel per arm."""
    plt = pyplot()
    arms = [a for a in result.arms if a.simulation is not None and len(a.patients)]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.6 * len(arms), 3.4), squeeze=False,
                             constrained_layout=True)
    for ax, arm in zip(axes[0], arms, strict=True):
        p = _ok_patients(arm)
        change = p[spec["best_change"]].to_numpy(float)
        resp = p[spec["response"]].astype(str).to_numpy()
        order = np.argsort(-np.nan_to_num(change, nan=-np.inf))
        shown = np.clip(np.nan_to_num(change[order], nan=0.0), -100, 200)
        ax.bar(np.arange(order.size), shown,
               color=[RESPONSE_COLOURS.get(r, "#999") for r in resp[order]], width=0.85)
        low, high = spec.get("thresholds", (-50.0, 50.0))  # response / progression lines
        ax.axhline(low, color="#333", ls="--", lw=0.8)
        ax.axhline(high, color="#333", ls=":", lw=0.8)
        ax.set_title(f"{arm.name} (n = {order.size})", fontsize=10)
        ax.set_xlabel("patients, by best change")
        ax.set_ylabel(f"best change of {spec.get('measure', 'SPD')} from baseline (%)")
        ax.set_ylim(-105, 205)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in RESPONSE_COLOURS.values()]
    axes[0][-1].legend(handles, list(RESPONSE_COLOURS), fontsize=8, loc="upper right")
    return fig


def spider_figure(result, spec: dict[str, Any]):
    """% change of the tumour measure at each assessment, one line per patient."""
    plt = pyplot()
    arms = [a for a in result.arms if a.simulation is not None and len(a.patients)]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.6 * len(arms), 3.4), squeeze=False,
                             constrained_layout=True, sharey=True)
    visits = np.asarray(spec["visits"], float)
    for ax, arm in zip(axes[0], arms, strict=True):
        p = _ok_patients(arm)
        for text, r in zip(p[spec["spider"]].astype(str), p[spec["response"]].astype(str),
                           strict=True):
            values = np.array([float(x) for x in text.split(";") if x], float)
            x = np.r_[0.0, visits[:values.size]]
            ax.plot(x, np.clip(np.r_[0.0, values], -100, 300), lw=0.8, alpha=0.7,
                    color=RESPONSE_COLOURS.get(r, "#999"))
        ax.axhline(spec.get("thresholds", (-50.0, 50.0))[0], color="#333", ls="--", lw=0.8)
        ax.set_title(arm.name, fontsize=10)
        ax.set_xlabel("days from first infusion")
        ax.set_ylabel(f"change of {spec.get('measure', 'SPD')} from baseline (%)")
        ax.set_ylim(-105, 305)
        ax.grid(alpha=0.3)
    return fig


def km_figure(result, spec: dict[str, Any], label: str, column: str):
    """Kaplan-Meier curves by arm with the numbers at risk below the axis. The medians of
    the legend are :func:`nksim.trials.km_median`'s (``km_curve(...).median``), the ones
    the endpoint tables report."""
    plt = pyplot()
    scale = float(spec.get("months_per_day", 1.0))
    unit = "months" if scale != 1.0 else "days"
    follow = result.scenario.trial.follow_up_days * scale
    ticks = np.linspace(0.0, follow, 7)
    fig, ax = plt.subplots(figsize=(8.0, 4.0), constrained_layout=True)
    rows = []
    for i, arm in enumerate(result.arms):
        if arm.simulation is None or not len(arm.patients):
            continue
        p = _ok_patients(arm)
        d, e = event_times(p[column].to_numpy(float), follow)
        curve = km_curve(d, e, at=ticks)
        style = arm_style(i)
        t = np.r_[0.0, curve.table.index.to_numpy(float)]
        s = np.r_[1.0, curve.table["survival"].to_numpy(float)]
        lo = np.r_[1.0, curve.table["ci_low"].to_numpy(float)]
        hi = np.r_[1.0, curve.table["ci_high"].to_numpy(float)]
        ax.step(t, s, where="post", color=style["color"], ls=style["ls"], lw=1.8,
                label=f"{arm.name}: median {curve.median:.1f} {unit}" if np.isfinite(
                    curve.median) else f"{arm.name}: median not reached")
        ax.fill_between(t, lo, hi, step="post", color=style["color"], alpha=0.12, lw=0)
        rows.append((arm.name, [curve.at_risk[float(x)] for x in ticks]))
    ax.set_xlim(0, follow)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{x:.0f}" for x in ticks])
    ax.set_xlabel(f"{unit} from first infusion")
    ax.set_ylabel(f"{label}: probability")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    text = "Number at risk\n" + "\n".join(
        f"{name:>18}: " + "  ".join(f"{n:>4d}" for n in counts) for name, counts in rows)
    ax.text(0.0, -0.28, text, transform=ax.transAxes, fontsize=7, family="monospace",
            va="top")
    return fig


def published_figure(result, spec: dict[str, Any]):
    """Published figures (with their verification label) beside the virtual trial's
    estimates and 95 % intervals, for the arms and endpoints they name."""
    plt = pyplot()
    items = []
    names = {a.name: a for a in result.arms}
    for ref in spec.get("published", ()):
        arm = names.get(ref["arm"])
        if arm is None:
            continue
        est = arm.summary["endpoints"].get(ref["endpoint"])
        if not est or est.get("value") is None:
            continue
        items.append((ref, est))
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(8.0, 0.6 + 0.55 * len(items)), constrained_layout=True)
    for y, (ref, est) in enumerate(items):
        v, lo, hi = est["value"], est.get("ci_low"), est.get("ci_high")
        ax.errorbar([100 * v], [y], xerr=[[100 * (v - (lo if lo is not None else v))],
                                         [100 * ((hi if hi is not None else v) - v)]],
                    fmt="o", color="#1f4e79", capsize=3,
                    label="virtual trial, 95 % CI" if y == 0 else None)
        ax.plot([100 * ref["value"]], [y], marker="D", color="#c2474a", ls="none",
                label="published / article figure" if y == 0 else None)
        ax.annotate(ref["label"], (100 * ref["value"], y), textcoords="offset points",
                    xytext=(6, 6), fontsize=7, color="#c2474a")
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([f"{r['arm']}: {r['endpoint']}" for r, _ in items], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.grid(alpha=0.3, axis="x")
    legend_outside(ax)
    return fig


def published_rows(result, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The setting's published figures (``oncology["published"]``) beside the virtual
    estimate and 95 % interval of the arm and endpoint they name, with whether they agree
    (the published value inside the interval) and a caveat when not."""
    from nksim.report._labels import label as words
    from nksim.report._render import fmt_percent

    spec = _spec(result) or {}
    names = {a.name: a for a in result.arms}
    labels = labels or {}
    rows = []
    for ref in spec.get("published", ()):
        arm = names.get(ref["arm"])
        if arm is None or not len(arm.patients):
            continue
        est = arm.summary["endpoints"].get(ref["endpoint"]) or {}
        v, lo, hi = est.get("value"), est.get("ci_low"), est.get("ci_high")
        what = labels.get(ref["endpoint"]) or words(ref["endpoint"])
        if v is None:
            virtual, agree = "not estimable", None
        else:
            k, n = est.get("k"), est.get("n")
            virtual = fmt_percent(v) + (f" ({k}/{n})" if k is not None and n else "")
            if lo is not None and hi is not None:
                virtual += f", 95 % CI {fmt_percent(lo)} to {fmt_percent(hi)}"
            agree = lo is not None and hi is not None and lo <= ref["value"] <= hi
        if agree is None:
            note = "no virtual estimate to compare"
        elif agree:
            note = "the published figure lies inside the virtual 95 % interval"
        else:
            note = ("DISAGREES: the published figure lies outside the virtual 95 % interval; "
                    "the model does not reproduce it (small published series and unverified "
                    "figures may also be wrong)")
        rows.append({"arm": ref["arm"], "endpoint": what, "virtual": virtual,
                     "published": fmt_percent(ref["value"]), "source": ref["label"],
                     "agree": agree, "note": note})
    return rows


def published_flags(rows: list[dict[str, Any]]) -> list[str]:
    """A caveat for each published figure that the virtual result disagrees with."""
    return [f"Arm {r['arm']}: {r['endpoint']} {r['virtual']} disagrees with the published "
            f"figure {r['published']} ({r['source']}); see \"Published figures\"."
            for r in rows if r["agree"] is False]


def oncology_figures(result) -> list[tuple[str, str, Any]]:
    """``(id, caption, figure)`` of the oncology figures ([] for other settings)."""
    spec = _spec(result)
    if not spec:
        return []
    m, (low, _) = spec.get("measure", "SPD"), spec.get("thresholds", (-50.0, 50.0))
    name = {"SPD": "sum of products of diameters (SPD)", "SLD": "sum of longest "
            "diameters (SLD)"}.get(m, m)
    crit = spec.get("criteria", "Lugano 2014" if m == "SPD" else "RECIST 1.1")
    out = [("waterfall", f"Best change of the {name} from baseline per patient, coloured by "
            f"best overall response ({crit}); dashed: {low:g} % (partial response).",
            waterfall_figure(result, spec)),
           ("spider", f"Change of the {m} from baseline at each assessment, one line per "
            "patient, coloured by best overall response.", spider_figure(result, spec))]
    for label, column in spec.get("survival", {}).items():
        out.append((f"km_{label.lower()}", f"{label}: Kaplan-Meier estimate by arm with "
                    "pointwise 95 % band (log-log), censored at the end of follow-up; numbers "
                    "at risk below.", km_figure(result, spec, label, column)))
    pub = published_figure(result, spec)
    if pub is not None:
        out.append(("published", "Published or reported figures (red, with their "
                    "verification label) beside the virtual trial's estimates and 95 % "
                    "intervals (blue). UNVERIFIED figures are not confirmed in any source "
                    "read by nksim and were never used to tune the model.", pub))
    return out
