"""``nksim demo``: de Pillis 2006 patient 9 untreated, with chemotherapy, and with
chemotherapy + IL-2 + TIL, on the embedded scenarios; a PNG plot and an HTML report
(templates ``demo.html`` extending ``base.html``, the same conventions as the trial
report: fixed arm colours and line styles, a legend on every figure, doses marked on the
time axis, nothing drawn below 1 cell, each regimen in words)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nksim._io import write_bytes_atomic, write_text_atomic
from nksim.engine import SimulationResult
from nksim.report._caveats import uncertain_parameters
from nksim.report._common import RESEARCH_ONLY, figure_png, to_json
from nksim.report._plots import (
    TimeEvents,
    above_limit,
    legend_outside,
    mark_events,
    pyplot,
    readable_log_axis,
)
from nksim.report._render import arm_colour, arm_style, figures_context, fmt_number, render

DEMO_ARMS = {
    "untreated": "depillis2006_untreated.toml",
    "chemotherapy": "depillis2006_chemo.toml",
    "chemotherapy + IL-2 + TIL": "depillis2006_chemo_il2_til.toml",
}
CELL_LIMIT = 1.0  # cells: a population below one cell is not drawn (the model's extinction)
# (state, title, log axis): the demo's panels
PANELS = (("T", "Tumour cells", True), ("N", "NK cells", True),
          ("L", "Tumour-specific CD8+ T cells", True),
          ("M", "Chemotherapy drug in the body", False))
_CELL_STATES = ("L", "N")  # doses into these states are cell infusions


@dataclass(frozen=True)
class DemoArm:
    name: str
    scenario_file: str
    scenario_text: str
    result: SimulationResult


def bundled_scenario(name: str) -> resources.abc.Traversable:
    """A scenario file shipped inside the package (``nksim/data/scenarios``)."""
    return resources.files("nksim.data") / "scenarios" / name


def run_demo() -> list[DemoArm]:
    """Run the three demo arms from the bundled scenario files."""
    from nksim.scenario import Scenario, plan_simulation, read_toml, validate

    arms = []
    for name, file in DEMO_ARMS.items():
        source = bundled_scenario(file)
        with resources.as_file(source) as path:
            scenario = validate(Scenario, read_toml(path))
        result = plan_simulation(scenario).run(progress=False)
        arms.append(DemoArm(name, file, source.read_text(encoding="utf-8"), result))
    return arms


def _dose_days(dose) -> tuple[float, ...]:
    return tuple(float(dose.time) + k * float(dose.every or 0.0) for k in range(dose.count))


def _state(model, name: str):
    return next(s for s in model.states if s.name == name)


def events(index: int, arm: DemoArm) -> TimeEvents:
    """The arm's doses on the time axis: cell infusions as triangles, others by kind."""
    model = arm.result.model
    doses = arm.result.doses[0] if arm.result.doses else []
    infusions = tuple(d for x in doses if x.state in _CELL_STATES for d in _dose_days(x))
    other = tuple((_state(model, x.state).description, _dose_days(x))
                  for x in doses if x.state not in _CELL_STATES)
    return TimeEvents(arm.name, arm_colour(index), infusions=infusions, other=other)


def regimen_words(arm: DemoArm) -> list[str]:
    """Each dose record of the arm in words (amount, unit, schedule)."""
    model = arm.result.model
    doses = arm.result.doses[0] if arm.result.doses else []
    out = []
    for d in doses:
        s = _state(model, d.state)
        amount = f"{fmt_number(d.amount)} {s.unit.replace('_', ' ')}"
        over = f" given over {fmt_number(d.duration)} day(s)" if d.duration else ""
        if d.count > 1:
            when = (f"every {fmt_number(d.every)} day(s), {d.count} times, from day "
                    f"{fmt_number(d.time)}")
        else:
            when = f"on day {fmt_number(d.time)}"
        out.append(f"{s.description}: {amount}{over}, {when}")
    return out or ["no treatment"]


def _draw(ax, arms: list[DemoArm], state: str, log: bool) -> None:
    for i, arm in enumerate(arms):
        ds = arm.result.dataset
        t = ds.time.values
        y = above_limit(ds[state].values[0], CELL_LIMIT if log else None)
        style = arm_style(i)
        ax.plot(t, y, color=style["color"], ls=style["ls"], marker=style["marker"],
                markevery=(i * 4, 12 + 3 * i), ms=5, lw=1.7 + 0.5 * (len(arms) - 1 - i),
                label=arm.name)
    if log:
        ax.axhline(CELL_LIMIT, color="#555", lw=0.9, ls=":",
                   label="1 cell: lower values not drawn")
        readable_log_axis(ax, CELL_LIMIT)
    mark_events(ax, [events(i, a) for i, a in enumerate(arms)])
    ax.set_xlabel("time (days)")
    ax.grid(alpha=0.3)


def demo_figures(arms: list[DemoArm]) -> list[tuple[str, str, Any]]:
    """One figure per panel, each with its legend: ``(id, caption, figure)``."""
    plt = pyplot()
    out = []
    for state, title, log in PANELS:
        fig, ax = plt.subplots(figsize=(9.0, 5.0), constrained_layout=True)
        _draw(ax, arms, state, log)
        unit = _state(arms[0].result.model, state).unit.replace("_", " ")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=11)
        legend_outside(ax, below=True)
        out.append((state, f"{title} ({unit}) over time in each arm"
                    + ("; values below 1 cell are not drawn." if log else "."), fig))
    return out


def plot(arms: list[DemoArm]) -> bytes:
    """Tumour, NK, CD8+ and drug levels over time for every arm, one PNG with a legend."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True, constrained_layout=True)
    for ax, (state, title, log) in zip(axes.flat, PANELS, strict=True):
        _draw(ax, arms, state, log)
        ax.set_title(f"{title} ({_state(arms[0].result.model, state).unit.replace('_', ' ')})",
                     fontsize=10)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("de Pillis 2006, virtual patient 9 (research use only)", fontsize=11)
    return figure_png(fig)


def _rows(arms: list[DemoArm]) -> list[dict[str, str]]:
    rows = []
    for arm in arms:
        T = arm.result.dataset["T"].values[0]
        cleared = arm.result.patients["extinction_time_T"].iloc[0]
        positive = T[T > 0]
        rows.append({
            "name": arm.name,
            "final": fmt_number(T[-1]),
            "cleared": "not cleared" if np.isnan(cleared) else f"day {cleared:.1f}",
            "minimum": fmt_number(positive.min()) if positive.size else "0",
            "status": arm.result.patients["status"].iloc[0],
        })
    return rows


def write_demo(arms: list[DemoArm], folder: Path) -> list[Path]:
    """Write ``demo.png``, ``demo.html`` and ``demo.json`` into ``folder``."""
    png = plot(arms)
    figures = [(i, c, figure_png(f)) for i, c, f in demo_figures(arms)]
    model = arms[0].result.model
    rows = _rows(arms)
    flags = [f"{r['name']}: the solver reported '{r['status']}'" for r in rows
             if r["status"] != "ok"]
    flags.append("The IL-2 and TIL doses of the third arm are an illustrative regimen chosen "
                 "by nksim, not the published protocol (ASSUMPTION).")
    html = render(
        "demo.html",
        title=model.title, pset=model.parameter_set,
        t_end=fmt_number(arms[0].result.dataset.time.values[-1]),
        rows=rows,
        regimens=[{"name": a.name, "colour": arm_colour(i), "doses": regimen_words(a)}
                  for i, a in enumerate(arms)],
        initial=[{"name": s.description, "value": fmt_number(v), "unit": s.unit}
                 for s, v in zip(model.states,
                                 arms[0].result.dataset.isel(time=0, patient=0)[
                                     [s.name for s in model.states]].to_array().values,
                                 strict=True)],
        figures=figures_context(figures),
        flags=flags,
        parameters=uncertain_parameters(model),
        sources=[f"{c.text} [{c.verified}]" for c in model.sources()],
    )
    return [
        write_bytes_atomic(folder / "demo.png", png),
        write_text_atomic(folder / "demo.html", html),
        write_text_atomic(folder / "demo.json", to_json({"notice": RESEARCH_ONLY, "arms": rows})),
    ]
