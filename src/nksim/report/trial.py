"""Files written by ``nksim trial``: ``summary.json``, ``report.html`` (a report a
clinician can read: design and regimens, patient flow, Table 1, endpoints with 95 % CIs,
comparisons, time courses, caveats), the screening log, per-patient endpoints and the
time courses. :func:`run_trial_to_folder` runs a trial in chunks straight into its output
folder (``nksim trial``: streamed, resumable, on Dask if asked; ``docs/scale.md``).

The report is rendered from the templates in ``nksim/report/templates`` (``trial.html``
extends ``base.html``); every number in it is computed from the trial result by the
functions of :mod:`nksim.report._tables`, :mod:`nksim.report._regimen` and
:mod:`nksim.report._caveats`, which the tests check against the raw tables.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nksim._io import write_text_atomic
from nksim.report._caveats import (
    cost_inputs,
    implausible_results,
    uncertain_parameters,
    uncertain_rules,
)
from nksim.report._common import RESEARCH_ONLY, figure_png, to_json, versions
from nksim.report._labels import DESIGNS, ENDPOINTS
from nksim.report._panels import detection_limit, panels_for, setting_of
from nksim.report._plots import (
    legend_outside,
    mark_events,
    nanmax_blocks,
    percentile_band,
    pyplot,
    readable_log_axis,
)
from nksim.report._regimen import arm_events, arm_regimen
from nksim.report._render import arm_colour, arm_style, figures_context, fmt_number, render
from nksim.report._tables import (
    all_patients,
    baseline_table,
    comparison_table,
    consort_flow,
    declared_rules,
    endpoint_table,
    interval_text,
    multiplicity_note,
    plain,
)
from nksim.trials import Panel

NOT_APPLICABLE = "not applicable: no cell product in this arm"
SAME_COST = "no interval: every patient has the same assumed cost"


def product_endpoints(result) -> set[str]:
    """Endpoints about a cell product (manufacturing, costs of the product, and every
    endpoint among infused patients): not applicable to an arm without a product."""
    return {e.name for e in result.endpoints()
            if "infused" in e.among or e.kind == "cost_per_response"
            or e.column in ("manufacturing_failed", "cost_rmb")}


def _without_product(result) -> set[str]:
    return {a.name for a in result.arms if getattr(a.spec, "product", "none") == "none"}


def _not_applicable(result, comparisons: list[dict[str, Any]]) -> list[bool]:
    """Per comparison: whether it is about a product one of its arms lacks."""
    keys, none = product_endpoints(result), _without_product(result)
    return [c.get("endpoint") in keys and bool({c.get("arm_a"), c.get("arm_b")} & none)
            for c in comparisons]


def trial_summary(result, scenario_raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``summary.json``. Endpoints about a cell product of an arm without
    one, and comparisons involving them, carry ``"not_applicable"`` (the reason); the
    note on multiple p values counts only the applicable comparisons."""
    log = result.screening_log
    excluded = log.loc[~log["eligible"].astype(bool), "failed_criteria"].astype(str)
    reasons: dict[str, int] = {}
    for item in excluded:
        for name in item.replace(";", ",").split(","):
            name = name.strip()
            if name:
                reasons[name] = reasons.get(name, 0) + 1
    trial = result.scenario.trial
    arms = copy.deepcopy(result.summary())  # the arms' own summaries stay untouched
    keys, none = product_endpoints(result), _without_product(result)
    for name in none & set(arms):
        for key, ep in arms[name].get("endpoints", {}).items():
            if key in keys:
                ep["not_applicable"] = NOT_APPLICABLE
    comparisons = [dict(c) for c in getattr(result, "comparisons", None) or []]
    for c, na in zip(comparisons, _not_applicable(result, comparisons), strict=True):
        if na:
            c["not_applicable"] = ("not applicable: an arm of this comparison has no cell "
                                   "product")
    applicable = [c for c in comparisons if "not_applicable" not in c]
    return {
        "notice": RESEARCH_ONLY,
        "trial": {"name": trial.name, "design": trial.design, "seed": trial.seed,
                  "follow_up_days": trial.follow_up_days, "model": result.model.name},
        "screening": {"candidates": int(len(log)), "eligible": int(log["eligible"].sum()),
                      "excluded_by_criterion": reasons},
        "arms": arms,
        "comparisons": comparisons,
        "comparisons_note": multiplicity_note(applicable),
        "notes": result.notes,
        "endpoints": endpoint_definitions(result),
        "definitions": "docs/trials.md (endpoints), docs/trials-statistics.md (intervals)",
        "versions": versions(),
        "scenario": scenario_raw,
    }


_TIME_UNITS = {1.0: "day", 7.0: "week", 30.4375: "month", 365.25: "year"}


def endpoint_definitions(result) -> dict[str, dict[str, str]]:
    """Each endpoint's label, kind, patients analysed and, for times to event, the unit of
    its value (summary.json: a reader needs no code to know what a number is)."""
    out = {}
    for e in result.endpoints():
        d = {"label": e.label or e.name, "kind": e.kind, "column": e.column}
        if e.among:
            d["among"] = ", ".join(e.among)
        if e.kind == "time_to_event":
            d["unit"] = _TIME_UNITS.get(e.days_per_unit, f"{e.days_per_unit:g} days")
        elif e.kind == "binary":
            d["unit"] = "proportion"
        out[e.name] = d
    return out


def arm_series(result, panels: tuple[Panel, ...] | None = None
               ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Per arm: the time grid and each panel's values (analysed patients x times)."""
    panels = panels_for(result) if panels is None else panels
    times, series = {}, {}
    for arm in result.arms:
        if arm.simulation is None:
            continue
        ds = arm.simulation.dataset
        ok = arm.patients["status"].astype(str).eq("ok").to_numpy()
        if ds is None:  # streamed (run_trial_to_folder): the analysed patients' values
            times[arm.name] = np.asarray(arm.simulation.times, float)
            series[arm.name] = {p.key: arm.simulation.series[p.key] for p in panels}
            continue
        times[arm.name] = ds["time"].values
        series[arm.name] = {p.key: np.asarray(p.series(ds), dtype=float)[ok] for p in panels}
    return times, series


EARLY_DAYS = 30.0  # the left view of every figure: lymphodepletion to day 30


def endpoint_lines(result) -> dict[str, tuple[float, str]]:
    """Per panel key: the threshold an endpoint of the trial reads on that panel, with
    its words for the legend (e.g. B-cell return at 10 cells/µL on the B-cell panel)."""
    from nksim.disease._sle_activity import B_CELL_MIN_DEPLETION_DAYS, B_CELL_RETURN_THRESHOLD

    names = {e.name for e in result.endpoints()}
    out = {}
    if "b_cell_return_day_median" in names:
        value = B_CELL_RETURN_THRESHOLD
        out["B"] = (value, f"B-cell return threshold of the endpoint ({fmt_number(value)} "
                           f"cells/µL, after at least {fmt_number(B_CELL_MIN_DEPLETION_DAYS)} "
                           "days below)")
    return out


def trial_figures(result, panels: tuple[Panel, ...] | None = None) -> list[tuple[str, str, Any]]:
    """One matplotlib figure per panel: ``(id, caption, figure)``.

    Two views share the y axis: the first 30 days (lymphodepletion, infusions, cytokine
    peaks) and the whole follow-up. Each arm is drawn in its fixed colour and line style
    (:func:`arm_style`), as its median and 10-90th percentile band over analysed
    patients; nothing is drawn below the panel's detection limit (a dotted line shows
    the limit); infusions and lymphodepletion are marked on the time axis; every figure
    has a legend.
    """
    plt = pyplot()
    panels = panels_for(result) if panels is None else panels
    times, series = arm_series(result, panels)
    lines = endpoint_lines(result)
    index = {arm.name: i for i, arm in enumerate(result.arms)}
    events = [ev for ev in (arm_events(index[a.name], a) for a in result.arms
                            if a.simulation is not None)
              if ev.infusions or ev.lymphodepletion]
    first = min([e.lymphodepletion[0] for e in events if e.lymphodepletion] + [0.0])
    start = min((t.min() for t in times.values()), default=first - 7.0)
    x_from = max(first - 7.0, start)
    out = []
    for panel in panels:
        fig, (early, whole) = plt.subplots(1, 2, figsize=(11.0, 3.8), sharey=True,
                                           width_ratios=(1, 2), constrained_layout=True)
        limit = detection_limit(panel)
        for ax in (early, whole):
            _draw_panel(ax, result, panel, limit, times, series, index, events)
            if panel.key in lines:
                value, words = lines[panel.key]
                ax.axhline(value, color="#7b3294", lw=1.0, ls="-.", label=words)
        early.set_xlim(x_from, EARLY_DAYS)
        # the whole follow-up, also where nothing is drawn late (below detection)
        whole.set_xlim(x_from, result.scenario.trial.follow_up_days)
        early.set_title(f"first {EARLY_DAYS:g} days", fontsize=10)
        whole.set_title("whole follow-up", fontsize=10)
        early.set_ylabel(panel.unit)
        fig.suptitle(panel.title, fontsize=11)
        legend_outside(whole)
        caption = (f"{panel.title} ({panel.unit}) over time by arm: the first "
                   f"{EARLY_DAYS:g} days (left) and the whole follow-up (right)"
                   + ("." if limit is None else
                      f"; values below {fmt_number(limit)} {panel.unit} are not drawn."))
        if panel.key in lines:
            caption += f" Dash-dotted line: {lines[panel.key][1]}."
        out.append((panel.key, caption, fig))
    return out


def _draw_panel(ax, result, panel: Panel, limit: float | None, times, series, index,
                events) -> None:
    for arm in result.arms:
        if arm.name not in series:
            continue
        t = times[arm.name]
        y = series[arm.name][panel.key]
        if not y.size:
            continue
        style = arm_style(index[arm.name])
        lo, mid, hi = percentile_band(y, limit)
        ax.fill_between(t, lo, hi, color=style["color"], alpha=0.15, lw=0)
        seen = "" if np.isfinite(hi).any() else ", below the detection limit throughout"
        ax.plot(t, mid, color=style["color"], ls=style["ls"], lw=1.8, marker=style["marker"],
                # markers evenly spaced on screen (matplotlib needs a visible point for that)
                markevery=0.1 if np.isfinite(mid).any() else None, ms=4,
                label=f"{arm.name}: median, 10–90th percentiles (n = {y.shape[0]}{seen})")
    if panel.plausible is not None and np.isfinite(panel.plausible[1]):
        top = max((nanmax_blocks(v[panel.key]) for v in series.values() if v[panel.key].size),
                  default=-np.inf)
        if top > 0.8 * panel.plausible[1]:  # only when the data come near it
            ax.axhline(panel.plausible[1], color="#b00", lw=0.9, ls="--",
                       label=f"plausible maximum ({fmt_number(panel.plausible[1])} "
                             f"{panel.unit}); higher values are flagged")
    if limit is not None:
        ax.axhline(limit, color="#555", lw=0.9, ls=":",
                   label=f"detection limit ({fmt_number(limit)} {panel.unit}); "
                         "lower values not drawn")
    if panel.log:
        readable_log_axis(ax, limit)
    mark_events(ax, events)
    ax.set_xlabel("days from first infusion")
    ax.grid(alpha=0.3)


def plot_arms(result) -> list[tuple[str, str, bytes]]:
    """The trial's figures as PNG: ``(id, caption, png)``."""
    from nksim.report._oncology import oncology_figures  # settings declaring `oncology`

    figures = [*trial_figures(result), *oncology_figures(result)]
    return [(i, c, figure_png(f)) for i, c, f in figures]


def _timing(result) -> str:
    sims = [a.simulation for a in result.arms if a.simulation is not None]
    run = sum(float(s.run_time) for s in sims)
    compiled = [float(s.compile_time) for s in sims]
    text = f"simulation {fmt_number(run, 2)} s"
    if compiled:
        c = max(compiled)
        text += (f"; model compilation or loading {fmt_number(c, 2)} s (counted apart: "
                 "it happens once per model and machine)") if c > 0 else \
            "; the compiled model was reused (no compilation)"
    return text


def uses_glucocorticoids(model) -> bool:
    """Whether the model has the glucocorticoid compartment (steroid plans apply)."""
    from nksim.disease._steroids import GC_STATE

    return GC_STATE in model.state_names


def _standard_of_care(result) -> str | None:
    if not uses_glucocorticoids(result.model):
        return None
    soc = result.scenario.standard_of_care
    return (f"prednisone {fmt_number(soc.prednisone_mg_per_kg_per_day)} mg/kg/day, at most "
            f"{fmt_number(soc.max_prednisone_mg_per_day)} mg/day")


def _setting_words(result) -> str:
    """The setting's one-line description, without pointers to documents."""
    setting = setting_of(result)
    doc = (type(setting).__doc__ or "").strip().splitlines()
    words = re.sub(r"\s*\(``[^`]*``\)", "", doc[0]).replace("``", "") if doc else ""
    return words or setting.name


def _list_summary(values: pd.Series, how: str) -> pd.Series:
    """Each patient's ``;``-separated list summed up to one number (``"max"``)."""
    def one(text: Any) -> float:
        items = [float(x) for x in str(text).split(";") if x.strip()] \
            if isinstance(text, str) else []
        if not items:
            return float(text) if isinstance(text, int | float) else float("nan")
        return {"max": max, "min": min}[how](items)

    return values.map(one).astype(float)


def table1(result) -> list[dict[str, Any]]:
    """Table 1 (:func:`nksim.report._tables.baseline_table`) as the page shows it:
    list-valued covariates summed up per patient (one row, e.g. the largest lesion's share)
    instead of one row per distinct list, and covariates shown in another unit than they
    are stored in (blood volume in L, not µL) rescaled."""
    from nksim.report._labels import COVARIATE_LISTS, COVARIATE_SCALE, COVARIATES
    from nksim.report._tables import _numeric_summary

    rows = baseline_table(result)
    every = all_patients(result)
    frames = {a.name: a.patients for a in result.arms}
    out, done = [], set()
    for row in rows:
        col = row["column"]
        if col not in COVARIATE_LISTS and col not in COVARIATE_SCALE:
            out.append(row)
            continue
        if col in done:
            continue
        done.add(col)

        def values(frame, col=col):
            v = frame[col] if col in frame else pd.Series([], dtype=float)
            if col in COVARIATE_LISTS:
                v = _list_summary(v, COVARIATE_LISTS[col])
            return pd.to_numeric(v, errors="coerce") * COVARIATE_SCALE.get(col, 1.0)

        name, unit = COVARIATES[col]
        out.append({"column": col, "label": name, "unit": unit,
                    "kind": "median [IQR]",
                    "cells": {a: _numeric_summary(values(f)) for a, f in frames.items()},
                    "all": _numeric_summary(values(every))})
    return out


def _is_cost(key: str) -> bool:
    return key.startswith("cost")


def endpoint_rows(result, summary: dict[str, Any], labels: dict[str, str]
                  ) -> list[dict[str, Any]]:
    """The endpoint table (:func:`nksim.report._tables.endpoint_table`) as the page shows
    it: "not applicable" for product endpoints of an arm without a product; costs to 3
    significant figures, and no zero-width interval where every patient has the same
    assumed cost."""
    rows = endpoint_table(summary, labels, {e.name: e.kind for e in result.endpoints()})
    for row in rows:
        for arm, cell in row["cells"].items():
            ep = summary["arms"].get(arm, {}).get("endpoints", {}).get(row["key"], {})
            if ep.get("not_applicable"):
                row["cells"][arm] = {"estimate": "not applicable", "n": "–",
                                     "ci": "no cell product in this arm"}
                continue
            if not _is_cost(row["key"]) or ep.get("value") is None:
                continue
            lo, hi = ep.get("ci_low"), ep.get("ci_high")
            cell = {**cell, "estimate": fmt_number(ep["value"], 3)}
            if lo is not None and hi is not None and lo == hi == ep["value"]:
                cell["ci"] = SAME_COST
            elif lo is not None or hi is not None:
                cell["ci"] = interval_text(lo, hi, ep.get("note"), lambda x: fmt_number(x, 3))
            row["cells"][arm] = cell
    return rows


def comparison_rows(summary: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The comparison table as the page shows it: "not applicable" for comparisons about a
    product one arm lacks; no zero-width interval of a cost difference."""
    rows = comparison_table(summary, labels)
    for row, c in zip(rows, summary.get("comparisons") or [], strict=True):
        if c.get("not_applicable"):
            row.update(value="not applicable", ci="an arm has no cell product", p="–")
        elif _is_cost(str(c.get("endpoint", ""))) and c.get("value") is not None \
                and c.get("ci_low") == c.get("ci_high") == c.get("value"):
            row["ci"] = SAME_COST
    return rows


def _rule_defaults(result) -> dict[str, float]:
    """The setting's eligibility thresholds when the scenario sets none."""
    try:
        bare = result.scenario.model_copy(update={"eligibility": {}})
        rules = setting_of(result).criteria(bare)
        return {r.name: r.threshold for r in (rules.rules() if hasattr(rules, "rules")
                                              else rules)}
    except Exception:  # noqa: BLE001 - a setting needing eligibility values: no defaults
        return {}


def endpoint_labels(result) -> dict[str, str]:
    """Readable names of the trial's endpoints: the report's label table, else the
    setting's declared labels."""
    declared = {e.name: e.label for e in result.endpoints() if e.label}
    return {**declared, **ENDPOINTS}


def render_html(result, summary: dict[str, Any],
                figures: list[tuple[str, str, bytes]]) -> str:
    """The report page (``report.html``)."""
    panels = panels_for(result)
    _, series = arm_series(result, panels)
    trial = result.scenario.trial
    arms = [{"name": a.name, "colour": arm_colour(i), "n": len(a.patients)}
            for i, a in enumerate(result.arms)]
    n_all = len(all_patients(result))
    limits = sorted({(detection_limit(p), p.unit) for p in panels
                     if detection_limit(p) is not None})
    limits_note = ("Detection limits (values below are not drawn): "
                   + ", ".join(f"{fmt_number(v)} {u}" for v, u in limits)
                   + ", the order of magnitude of clinical assays.") if limits else ""
    overridden = set(result.scenario.parameters)
    labels = endpoint_labels(result)
    from nksim.report._oncology import published_flags, published_rows

    published = published_rows(result, labels)
    return render(
        "trial.html",
        name=trial.name,
        model={"title": result.model.title, "name": result.model.name},
        design=DESIGNS.get(trial.design, trial.design),
        paired=trial.design == "paired",
        planned=trial.patients_per_arm,
        seed=trial.seed,
        follow_up=trial.follow_up_days,
        run_in=trial.run_in_days,
        standard_of_care=_standard_of_care(result),
        steroids=uses_glucocorticoids(result.model),
        setting=_setting_words(result),
        timing=_timing(result),
        regimens=[arm_regimen(i, a, result.scenario) for i, a in enumerate(result.arms)],
        flow=consort_flow(result),
        arms=arms,
        n_all=n_all,
        table1=table1(result),
        endpoints=endpoint_rows(result, summary, labels),
        comparisons=comparison_rows(summary, labels),
        comparisons_note=summary["comparisons_note"],
        figures=figures_context(figures),
        limits_note=limits_note,
        flags=[*implausible_results(result, summary, panels, series, labels),
               *published_flags(published)],
        published=published,
        parameters=[*uncertain_rules(declared_rules(result), _rule_defaults(result)),
                    *uncertain_parameters(result.model, overridden),
                    *cost_inputs(result.scenario)],
        notes=[],
        sources=[c.label() for c in result.model.sources()],
    )


def write_trial_outputs(result, folder: Path, scenario_raw: dict[str, Any] | None, *,
                        execution: dict[str, Any] | None = None) -> list[Path]:
    """``report.html``, ``screening_log.csv``, ``patients.csv``, ``timecourse.parquet``
    (all arms, long format; only for arms simulated in memory: a streamed run has written
    it already) and, last, ``summary.json`` into ``folder``. ``execution``: the chunked
    run's block of ``summary.json`` (chunks, scheduler, fingerprint)."""
    summary = trial_summary(result, scenario_raw)
    if execution is not None:
        summary["status_counts"] = _status_counts(result)
        summary["execution"] = execution
    figures = plot_arms(result)
    paths = [write_text_atomic(folder / "report.html", render_html(result, summary, figures))]
    result.screening_log.to_csv(folder / "screening_log.csv", index=False)
    patients = pd.concat([plain(a.patients).assign(arm=a.name) for a in result.arms],
                         ignore_index=True)
    patients.to_csv(folder / "patients.csv", index=False)
    frames = [a.simulation.to_frame().assign(arm=a.name) for a in result.arms
              if a.simulation is not None and a.simulation.dataset is not None]
    if frames:
        pd.concat(frames, ignore_index=True).to_parquet(folder / "timecourse.parquet",
                                                        index=False)
    # last: a folder without it is visibly incomplete
    paths.append(write_text_atomic(folder / "summary.json", to_json(summary)))
    return [*paths, folder / "screening_log.csv", folder / "patients.csv"]


def _status_counts(result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for arm in result.arms:
        if "status" in arm.patients:
            for status, k in arm.patients["status"].astype(str).value_counts().items():
                counts[status] = counts.get(status, 0) + int(k)
    order = {"ok": 0, "implausible": 1, "failed": 2}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])))


# ---------------------------------------------------------------- streamed trials
def run_trial_to_folder(scenario, out_dir, scenario_raw: dict[str, Any] | None, *,
                        chunk_size: int | None = None, scheduler: str | None = None,
                        resume: bool = False, progress: bool | None = None,
                        on_chunk=None, scheduler_field: str = "--scheduler"):
    """Run a trial in chunks into ``out_dir`` (``nksim trial``; ``docs/scale.md``).

    Every arm's patients, arm after arm, are one population simulated in chunks of
    ``chunk_size`` patients (locally, or on the Dask ``scheduler``); each finished chunk's
    time course goes at once to the partitioned dataset ``timecourse.parquet/`` (column
    ``arm`` added) through :func:`nksim.execution.run_chunks`, so the time courses are
    never all in memory. When every chunk is written, the chunks are read back one at a
    time for the setting's per-patient endpoints and the report's panel values; the
    endpoints, report and ``summary.json`` follow from those, as for
    :func:`nksim.trials.run_trial` (same numbers, bit for bit). ``resume``: continue a
    killed run from the chunks it wrote.

    Returns ``(result, outcome)``: the :class:`nksim.trials.TrialResult` (``None`` when
    ``resume`` finds the folder complete already) and the
    :class:`nksim.execution.RunOutcome`.
    """
    from nksim.execution import RunOutcome, finish_run, run_chunks
    from nksim.trials import plan_trial, trial_bar

    with trial_bar(progress, scenario) as bar:
        plan = plan_trial(scenario, bar)
        population = plan.population()  # patients 0 .. n-1, arm after arm
        labels, candidates = plan.arm_labels(), plan.candidate_ids()
        compile_time = [0.0]

        def annotate(chunk, lo: int, hi: int):
            """Candidate ids for the population's patient numbers, and the arm."""
            import pyarrow as pa

            arm, ids = labels[lo:hi], candidates[lo:hi]
            n_times = chunk.timecourse.num_rows // max(1, hi - lo)
            tc, status = chunk.timecourse, chunk.patients
            tc = tc.set_column(tc.column_names.index("patient"), "patient",
                               pa.array(np.repeat(ids, n_times)))
            status = status.set_column(status.column_names.index("patient"), "patient",
                                       pa.array(ids))
            return dataclasses.replace(
                chunk,
                timecourse=tc.append_column("arm", pa.array(np.repeat(arm, n_times),
                                                            pa.string())),
                patients=status.append_column("arm", pa.array(arm, pa.string())))

        def chunk_done(chunk, done: int, total: int) -> None:
            compile_time[0] = max(compile_time[0], float(chunk.compile_time))
            bar.update(chunk.n_patients)
            if on_chunk is not None:
                on_chunk(chunk, done, total)

        layout = [(a.name, a.patients["candidate"].astype(int).tolist()) for a in plan.arms]
        run = run_chunks(population, out_dir, fmt="parquet", chunk_size=chunk_size,
                         scheduler=scheduler, resume=resume, on_chunk=chunk_done,
                         scheduler_field=scheduler_field, annotate=annotate,
                         fingerprint_extra=f"trial arms and candidates {layout!r}")
    if isinstance(run, RunOutcome):
        return None, run
    out: dict[str, Any] = {}

    def write(staging: Path, status, counts) -> None:
        if not (np.array_equal(status.column("arm").to_numpy(zero_copy_only=False), labels)
                and np.array_equal(status.column("patient").to_numpy(),
                                   candidates)):  # pragma: no cover
            raise RuntimeError("the status parts are not the trial's patients in order")
        out["result"] = _streamed_result(plan, run, status, compile_time[0], staging.parent)
        write_trial_outputs(out["result"], staging, scenario_raw, execution=run.execution)

    outcome = finish_run(run, write, key=("arm", "patient"))
    return out["result"], outcome


def _streamed_result(plan, run, status_table, compile_time: float, scratch: Path):
    """The trial's result from the written chunks, read back one at a time: each arm's
    endpoints and its analysed patients' panel values, segment by segment (a chunk may hold
    patients of two arms). The panel values go to unnamed files in ``scratch`` (deleted
    when the result is), so memory stays bounded by the chunk size."""
    import pyarrow.parquet as pq

    from nksim.execution import dataset_from_table
    from nksim.trials import StreamedSimulation

    panels = panels_for(plan)
    status = status_table.drop_columns(["arm"]).to_pandas().set_index("patient")
    ok = status["status"].astype(str).eq("ok").to_numpy()
    starts = np.cumsum([0] + [len(a.patients) for a in plan.arms])
    n_times = plan.times.size
    endpoints: dict[str, list[pd.DataFrame]] = {a.name: [] for a in plan.arms}
    series = {a.name: {p.key: _scratch_array(scratch, n_times, int(ok[a0:a1].sum()))
                       for p in panels}
              for a, a0, a1 in zip(plan.arms, starts[:-1], starts[1:], strict=True)}
    filled = {a.name: 0 for a in plan.arms}
    for part in run.timecourse_parts:
        k = int(part.name[5:11])
        lo = k * run.chunk_size
        table = pq.read_table(part)
        hi = lo + table.num_rows // n_times
        for arm, a0, a1 in zip(plan.arms, starts[:-1], starts[1:], strict=True):
            first, last = max(lo, a0), min(hi, a1)
            if first >= last:
                continue
            segment = table.slice((first - lo) * n_times, (last - first) * n_times)
            i, j = first - a0, last - a0
            ds = dataset_from_table(plan.model, plan.times, segment,
                                    parameters=arm.parameters[i:j], initial=arm.initial[i:j])
            endpoints[arm.name].append(plan.patient_endpoints(arm, ds, i, j))
            keep, at = ok[first:last], filled[arm.name]
            for p in panels:
                values = np.asarray(p.series(ds), dtype=float)[keep]
                series[arm.name][p.key][:, at:at + len(values)] = values.T
            filled[arm.name] += int(keep.sum())
            del ds, segment
        del table
    arms = []
    total = max(1, plan.n_patients)
    for arm, a0, a1 in zip(plan.arms, starts[:-1], starts[1:], strict=True):
        if arm.patients.empty:
            arms.append(plan.arm_result(arm, None, None, None))
            continue
        if sum(len(e) for e in endpoints[arm.name]) != len(arm.patients):  # pragma: no cover
            raise RuntimeError(f"arm {arm.name}: the time-course parts miss patients")
        rows = status.iloc[a0:a1]
        sim = StreamedSimulation(
            plan.model, rows, plan.times, run.run_time * (a1 - a0) / total, compile_time,
            {key: v.T for key, v in series[arm.name].items()})
        ends = pd.concat(endpoints[arm.name], ignore_index=True)
        arms.append(plan.arm_result(arm, sim, ends, rows["status"].to_numpy()))
    return plan.result(arms)


def _scratch_array(folder: Path, n_times: int, n_patients: int) -> np.ndarray:
    """A zeroed times x patients float64 array in an unnamed file of ``folder`` (deleted
    as soon as nothing maps it), or in memory when it is empty."""
    import tempfile

    if n_times * n_patients == 0:
        return np.zeros((n_times, n_patients))
    with tempfile.TemporaryFile(dir=folder, prefix=".nksim-panel-") as f:
        return np.memmap(f, dtype=np.float64, mode="w+", shape=(n_times, n_patients))
