"""``nksim demo``: de Pillis 2006 patient 9 untreated, with chemotherapy, and with
chemotherapy + IL-2 + TIL, on the embedded scenarios; a PNG plot and an HTML summary."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from nksim._io import write_bytes_atomic, write_text_atomic
from nksim.engine import SimulationResult
from nksim.report._common import RESEARCH_ONLY, data_uri, figure_png, to_json, versions

DEMO_ARMS = {
    "untreated": "depillis2006_untreated.toml",
    "chemotherapy": "depillis2006_chemo.toml",
    "chemotherapy + IL-2 + TIL": "depillis2006_chemo_il2_til.toml",
}
_COLOURS = ("#555555", "#3b6ea5", "#c0392b")


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


def plot(arms: list[DemoArm]) -> bytes:
    """Tumour, NK, CD8+ and drug levels over time for every arm (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    panels = [("T", "tumour cells"), ("N", "NK cells"), ("L", "CD8+ T cells"),
              ("M", "chemotherapy (drug units)")]
    for ax, (state, label) in zip(axes.flat, panels, strict=True):
        for arm, colour in zip(arms, _COLOURS, strict=True):
            ds = arm.result.dataset
            values = ds[state].values[0]
            if state != "M":
                values = np.where(values > 0, values, np.nan)  # log axis: extinct = gap
            ax.plot(ds.time.values, values, color=colour, label=arm.name, lw=1.6)
        if state != "M":
            ax.set_yscale("log")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("time (days)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("de Pillis 2006, virtual patient 9 (research use only)", fontsize=11)
    return figure_png(fig)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>nksim demo: de Pillis 2006 patient 9</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}.notice{background:#fff3cd;padding:.6em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:85%}</style></head><body>
<h1>nksim demo: tumour, NK and CD8+ T cells under treatment</h1>
<p class="notice">{{ notice }}</p>
<p>Model: <b>{{ title }}</b>, parameter set <b>{{ pset }}</b>. Extinction: a tumour below
1 cell is cleared (held at zero).</p>
<img alt="time courses" src="{{ png }}" style="max-width:100%">
<table><tr><th>arm</th><th>tumour at day {{ t_end }} (cells)</th><th>tumour cleared on day</th>
<th>smallest tumour (cells)</th><th>status</th></tr>
{% for row in rows %}<tr><td>{{ row.name }}</td><td>{{ row.final }}</td><td>{{ row.cleared }}</td>
<td>{{ row.minimum }}</td><td>{{ row.status }}</td></tr>{% endfor %}</table>
<h2>Sources and assumptions</h2><ul>{% for s in sources %}<li>{{ s }}</li>{% endfor %}</ul>
<p>The IL-2 and TIL doses of the third arm are an illustrative regimen chosen by nksim, not the
published protocol (see the scenario file).</p>
<h2>Scenario files</h2>{% for arm in arms %}<h3>{{ arm.name }} ({{ arm.scenario_file }})</h3>
<pre>{{ arm.scenario_text }}</pre>{% endfor %}
<p><small>nksim {{ versions.nksim }}, numpy {{ versions.numpy }}, numba {{ versions.numba }}.
</small></p></body></html>"""


def _rows(arms: list[DemoArm]) -> list[dict[str, str]]:
    rows = []
    for arm in arms:
        T = arm.result.dataset["T"].values[0]
        cleared = arm.result.patients["extinction_time_T"].iloc[0]
        rows.append({
            "name": arm.name,
            "final": f"{T[-1]:.3g}",
            "cleared": "-" if np.isnan(cleared) else f"{cleared:.1f}",
            "minimum": f"{np.nanmin(T):.3g}",
            "status": arm.result.patients["status"].iloc[0],
        })
    return rows


def write_demo(arms: list[DemoArm], folder: Path) -> list[Path]:
    """Write ``demo.png``, ``demo.html`` and ``demo.json`` into ``folder``."""
    from jinja2 import Environment, select_autoescape

    png = plot(arms)
    model = arms[0].result.model
    rows = _rows(arms)
    html = Environment(autoescape=select_autoescape(default=True)).from_string(_PAGE).render(
        notice=RESEARCH_ONLY, title=model.title, pset=model.parameter_set, png=data_uri(png),
        t_end=f"{arms[0].result.dataset.time.values[-1]:g}", rows=rows,
        sources=[f"[{c.verified}] {c.text}" for c in model.sources()], arms=arms,
        versions=versions(),
    )
    return [
        write_bytes_atomic(folder / "demo.png", png),
        write_text_atomic(folder / "demo.html", html),
        write_text_atomic(folder / "demo.json", to_json({"notice": RESEARCH_ONLY, "arms": rows})),
    ]
