"""Run an ageing scenario: simulate every arm, compute endpoints, write summary and report."""

from __future__ import annotations

import html
import io
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nksim.disease.ageing._cohort import ArmResult, simulate_arm
from nksim.disease.ageing._endpoints import (
    arm_endpoints,
    burden_by_age,
    gain_estimate,
    gompertz_fit,
    hazard_by_age,
    hazard_ratio,
    paired_differences,
    survival_curve,
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
        if human and r.observed.sum() > 100:
            g = gompertz_fit(r.durations / DAYS_PER_YEAR, r.observed, 40.0, 90.0)
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
        "sources": _sources_of(scenario),
        "assumptions": {k: v.label() for k, v in DEFAULTS.items()},
    }


# ---------------------------------------------------------------- report
def report_png(scenario: AgeingScenario, results: dict[str, ArmResult]) -> bytes:
    """Kaplan–Meier survival, senescent-cell burden by age and hazard by age."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    anyone = any(a.species == "human" for a in scenario.arms)
    unit, label, per = ((DAYS_PER_YEAR, "age (years)", "year") if anyone
                        else (30.4375, "age (months)", "month"))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for name, r in results.items():
        km = survival_curve(r.durations, r.observed)
        t = np.r_[0.0, km["time"].to_numpy()] / unit
        axes[0].step(t, np.r_[1.0, km["survival"].to_numpy()], where="post", label=name)
        axes[0].fill_between(t[1:], km["ci_low"], km["ci_high"], step="post", alpha=0.2)
        b = burden_by_age(r)
        if len(b):
            axes[1].plot(b["age_days"] / unit, b["mean"], label=name)
        edges = np.linspace(0, np.nanquantile(r.durations, 0.99), 30)
        h = hazard_by_age(r.durations, r.observed, edges)
        ok = h["deaths"] >= 5
        axes[2].semilogy((0.5 * (h["age_low"] + h["age_high"]))[ok] / unit,
                         h["hazard"][ok] * unit, marker=".", label=name)
    axes[0].set(xlabel=label, ylabel="surviving fraction", title="Kaplan-Meier (95 % band)")
    axes[1].set(xlabel=label, ylabel="mean X among the living",
                title="senescent-cell burden")
    axes[2].set(xlabel=label, ylabel=f"hazard per {per}",
                title="hazard by age")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"{scenario.cohort.name} - research use only", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _fmt(e: dict[str, Any] | None) -> str:
    if not e or e.get("value") is None:
        return "-" if not e else html.escape(e.get("note") or "-")

    def f(x):
        return "?" if x is None else f"{x:.4g}"

    return f"{f(e['value'])} ({f(e['ci_low'])} to {f(e['ci_high'])})"


def report_html(summary: dict[str, Any], png_name: str) -> str:
    """A small HTML page: research-use banner, endpoint table, figure, sources."""
    names = ["lifespan_median_days", "lifespan_median_years", "lifespan_q25_days",
             "lifespan_q75_days", "healthspan_median_days", "lifespan_gain_pct", "hazard_ratio"]
    rows = []
    for arm, a in summary["arms"].items():
        cells = "".join(f"<td>{_fmt(a['endpoints'].get(n))}</td>" for n in names)
        rows.append(f"<tr><td>{html.escape(arm)}</td><td>{html.escape(a['parameter_set'])}"
                    f"</td><td>{a['n']}</td>{cells}</tr>")
    head = "".join(f"<th>{n}</th>" for n in ["arm", "parameter set", "n", *names])
    src = "".join(f"<li>[{html.escape(s['verified'])}] {html.escape(s['key'])}: "
                  f"{html.escape(s['text'])}</li>" for s in summary["sources"])
    ass = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>"
                  for k, v in summary["assumptions"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(summary['scenario'])}</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:auto}}
td,th{{border:1px solid #ccc;padding:3px;font-size:12px}}table{{border-collapse:collapse}}
.ruo{{background:#fee;padding:6px;border:1px solid #c66}}</style></head><body>
<h1>{html.escape(summary['scenario'])}</h1>
<p class="ruo">{html.escape(summary['research_use_only'])}</p>
<p>Model: {html.escape(summary['model'])}; control arm: {html.escape(summary['control'])};
paired: {summary['paired']}; healthspan:
{html.escape(summary['healthspan_level'])}. Values are estimates with 95 % intervals.</p>
<table><tr>{head}</tr>{''.join(rows)}</table>
<p><img src="{html.escape(png_name)}" style="max-width:100%"></p>
<h2>Sources</h2><ul>{src}</ul><h2>Assumptions (value, source, range)</h2><ul>{ass}</ul>
</body></html>"""


def lifespans_frame(results: dict[str, ArmResult]) -> pd.DataFrame:
    frames = [pd.DataFrame({"arm": name, "id": r.ids, "lifespan_days": r.lifespan,
                            "cause": r.cause, "healthspan_days": r.healthspan})
              for name, r in results.items()]
    return pd.concat(frames, ignore_index=True)


def write_outputs(out_dir: Path, scenario: AgeingScenario, run: dict[str, Any]) -> None:
    """summary.json, report.png, report.html, lifespans.csv into ``out_dir``."""
    from nksim.report._common import to_json

    (out_dir / "summary.json").write_text(to_json(run["summary"]))
    (out_dir / "report.png").write_bytes(report_png(scenario, run["results"]))
    (out_dir / "report.html").write_text(report_html(run["summary"], "report.png"))
    lifespans_frame(run["results"]).to_csv(out_dir / "lifespans.csv", index=False)
