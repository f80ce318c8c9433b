"""HTML report, plots and table exports for the NK trial landscape.

``write_report(landscape, out_dir)`` writes, atomically (all files or none):
``report.html`` (plots embedded as base64 PNG), ``trials.csv`` and ``trials.parquet``
(one row per classified record), ``counts.csv`` (every count in long form) and
``landscape.json`` (the same object as ``nksim landscape report --json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nksim._io import atomic_output_dir
from nksim.report._common import data_uri, figure_png

if TYPE_CHECKING:  # pragma: no cover
    from nksim.evidence import Landscape

_DIMENSIONS = ("by_phase", "by_status", "by_country", "by_sponsor_class", "by_product_type",
               "by_indication")  # counts shown as tables and exported
REPORT_FILES = ("report.html", "trials.csv", "trials.parquet", "counts.csv", "landscape.json")
CONSTRUCTED_BANNER = "CONSTRUCTED DEMO DATA: not real registry counts"


def _bar(ax: Any, labels: list[str], values: list[int], *, horizontal: bool = False) -> None:
    from matplotlib.ticker import MaxNLocator

    (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color="#3b6ea5")
        ax.set_xlabel("trials")
        for i, v in enumerate(values[::-1]):
            ax.text(v, i, f" {v}", va="center", fontsize=8)
    else:
        ax.bar(labels, values, color="#3b6ea5")
        ax.set_ylabel("trials")
        ax.tick_params(axis="x", labelrotation=45)
        for i, v in enumerate(values):
            ax.text(i, v, str(v), ha="center", va="bottom", fontsize=8)


def make_figures(land: Landscape) -> dict[str, bytes]:
    """PNG images of the landscape counts, keyed by name."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    d = land.to_dict()
    suffix = f"\n({CONSTRUCTED_BANNER})" if land.source.constructed else ""
    figures: dict[str, bytes] = {}

    def render(name: str, title: str, draw: Any, size: tuple[float, float] = (6.4, 3.8)) -> None:
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        draw(ax)
        ax.set_title(title + suffix, fontsize=10, color="#b00020" if suffix else "black")
        figures[name] = figure_png(fig, dpi=100)

    render(
        "by_phase",
        "NK trials by phase (a multi-phase trial counts in each phase)",
        lambda ax: _bar(ax, list(d["by_phase"]), list(d["by_phase"].values())),
    )

    def years(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        known = {int(k): v for k, v in d["by_start_year"].items() if k != "MISSING"}
        empty = {"actual": 0, "estimated": 0, "type_not_stated": 0}
        span = range(min(known), max(known) + 1) if known else range(0)
        rows = {str(y): known.get(y, empty) for y in span}  # no gaps on the time axis
        labels = list(rows)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        bottom = [0] * len(labels)
        for kind, colour in (
            ("actual", "#3b6ea5"),
            ("estimated", "#e59c3c"),
            ("type_not_stated", "#9e9e9e"),
        ):
            vals = [rows[y][kind] for y in labels]
            ax.bar(labels, vals, bottom=bottom, color=colour, label=kind.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_ylabel("trials")
        ax.tick_params(axis="x", labelrotation=90)
        ax.legend(fontsize=8)

    render(
        "by_start_year", "NK trials by start year (actual vs estimated start)", years, (7.2, 3.8)
    )
    for key, title in (
        ("by_status", "NK trials by overall status"),
        ("by_product_type", "NK trials by product type (labels overlap)"),
        ("by_indication", "NK trials by indication (labels overlap)"),
        ("by_sponsor_class", "NK trials by lead sponsor class"),
    ):
        items = list(d[key].items())
        render(
            key,
            title,
            lambda ax, items=items: _bar(
                ax, [k for k, _ in items], [v for _, v in items], horizontal=True
            ),
        )
    top = list(d["by_country"].items())[:15]
    render(
        "by_country",
        "NK trials by country (top 15; a trial counts once per country)",
        lambda ax: _bar(ax, [k for k, _ in top], [v for _, v in top], horizontal=True),
        (6.4, 4.8),
    )
    return figures


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>NK-cell-therapy trial landscape
{%- if constructed %} (constructed demo data){% endif %}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;
  color:#222;line-height:1.45}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;font-size:1.1em}
.warn{background:#fff4e5;border-left:4px solid #e59c3c;padding:.6em 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}img{max-width:100%}.small{font-size:.85em;color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em}
</style></head><body>
{% if constructed %}<div class="banner">{{ banner }}</div>{% endif %}
<h1>Where has NK-cell therapy got to? The ClinicalTrials.gov landscape</h1>
<p class="small">Generated by nksim (classification rules
{{ d.classification_rules_version }}). Research use only; not medical advice.</p>
<h2>Data</h2>
<table>
<tr><th>source</th><td>{{ src.kind }}{% if src.path %}: {{ src.path }}{% endif %}
  {% if src.fetch_id %} (fetch #{{ src.fetch_id }}){% endif %}</td></tr>
<tr><th>data date</th><td>{{ src.data_date or "not recorded" }}</td></tr>
<tr><th>query</th><td>{% if src.query %}{% for k, v in src.query.items() %}
  <code>{{ k }}={{ v }}</code><br>{% endfor %}{% else %}not recorded{% endif %}</td></tr>
<tr><th>complete</th><td>{{ "yes" if src.complete else "NO: counts are lower bounds" }}
  {% if src.total_count %} ({{ d.records_examined }} of {{ src.total_count }} records)
  {% endif %}</td></tr>
<tr><th>records examined</th><td>{{ d.records_examined }}{% if d.duplicates_dropped %}
  ({{ d.duplicates_dropped }} duplicates dropped){% endif %}</td></tr>
</table>
<h2>Answers</h2>
<table>
<tr><th>How many NK-cell-therapy trials?</th><td>{{ d.n_nk_trials }}</td></tr>
<tr><th>How many in phase III or IV?</th><td>{{ d.phase3_or_4|length }}
  {% if d.phase3_or_4 %}: {% for n in d.phase3_or_4 %}{{ link(n) }} {% endfor %}{% endif %}
  </td></tr>
<tr><th>Is any approved?</th><td>{{ d.answers.any_approved }}</td></tr>
</table>
<h2>The article's "784 trials, none in phase III/IV"</h2>
<p class="warn">{{ d.article_claim.text }}</p>
<p class="small">Published context: {{ pub.source }} (cut-off {{ pub.cutoff }}):
{{ pub.n_trials }} trials; {% for k, v in pub.by_phase.items() %}{{ k }} {{ v }}
{{- "; " if not loop.last else "." }}{% endfor %}</p>
<h2>Counts</h2>
<p class="small">A multi-phase trial counts in each of its phases; <code>NA</code>
(not applicable) and <code>MISSING</code> (no phase given) are separate buckets.
Product types and indications overlap. Start years: actual starts are separated from
estimated (planned) ones.</p>
<div class="grid">{% for name, uri in figures.items() %}
<div><img alt="{{ name }}" src="{{ uri }}"></div>{% endfor %}</div>
{% for key in tables %}<h3>{{ key.replace("_", " ") }}</h3>
<table><tr><th>value</th><th>trials</th></tr>
{% for k, v in d[key].items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}
</table>{% endfor %}
<h3>by start year</h3>
<table><tr><th>year</th><th>actual</th><th>estimated</th><th>type not stated</th>
<th>total</th></tr>
{% for y, r in d.by_start_year.items() %}<tr><td>{{ y }}</td><td>{{ r.actual }}</td>
<td>{{ r.estimated }}</td><td>{{ r.type_not_stated }}</td><td>{{ r.total }}</td></tr>
{% endfor %}</table>
{% if d.needs_review %}<h2>Records to check by hand</h2>
<table><tr><th>NCT ID</th><th>note</th></tr>
{% for r in d.needs_review %}<tr><td>{{ link(r.nct_id) }}</td><td>{{ r.note }}</td></tr>
{% endfor %}</table>{% endif %}
<h2>Excluded records ({{ d.excluded|length }})</h2>
<table><tr><th>NCT ID</th><th>rule</th><th>reason</th></tr>
{% for r in d.excluded %}<tr><td>{{ link(r.nct_id) }}</td><td>{{ r.rule }}</td>
<td>{{ r.reason }}</td></tr>{% endfor %}</table>
<p class="small">Classification rules: nksim/evidence/data/nk_rules.toml (each rule names
its source). Trial-level data: trials.csv / trials.parquet; all counts: counts.csv;
everything: landscape.json.</p>
</body></html>
"""


def render_html(land: Landscape, figures: dict[str, bytes] | None = None) -> str:
    """The HTML report as a string (plots embedded as base64 PNG)."""
    import jinja2
    from markupsafe import Markup, escape

    figures = make_figures(land) if figures is None else figures
    d = land.to_dict()
    constructed = land.source.constructed

    def link(nct: str) -> Markup:
        if constructed:
            return Markup(escape(nct))
        return Markup(f'<a href="https://clinicaltrials.gov/study/{escape(nct)}">{escape(nct)}</a>')

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_TEMPLATE)
    return template.render(
        d=d,
        src=d["data_source"],
        pub=d["article_claim"]["published_2022"],
        constructed=constructed,
        banner=CONSTRUCTED_BANNER,
        figures={k: data_uri(v) for k, v in figures.items()},
        tables=_DIMENSIONS,
        link=link,
    )


def counts_table(land: Landscape) -> Any:
    """Every count of the landscape in long form: dimension, value, kind, trials."""
    import pandas as pd

    d = land.to_dict()
    rows = []
    for dim in (*_DIMENSIONS, "by_exclusion_rule"):
        for key, n in d[dim].items():
            rows.append({"dimension": dim, "value": key, "kind": "", "trials": n})
    for year, r in d["by_start_year"].items():
        for kind in ("actual", "estimated", "type_not_stated"):
            rows.append(
                {"dimension": "by_start_year", "value": year, "kind": kind, "trials": r[kind]}
            )
    return pd.DataFrame(rows, columns=["dimension", "value", "kind", "trials"])


def write_report(land: Landscape, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write report.html, trials.csv, trials.parquet, counts.csv and landscape.json.

    All files appear together, or none do (:func:`nksim._io.atomic_output_dir`).
    """
    html = render_html(land)
    table = land.trials_table()
    counts = counts_table(land)
    payload = json.dumps(land.to_dict(), indent=2, ensure_ascii=False)
    out = Path(out_dir)
    with atomic_output_dir(out) as staging:
        (staging / "report.html").write_text(html, encoding="utf-8")
        table.to_csv(staging / "trials.csv", index=False)
        table.to_parquet(staging / "trials.parquet", index=False)
        counts.to_csv(staging / "counts.csv", index=False)
        (staging / "landscape.json").write_text(payload + "\n", encoding="utf-8")
    return [out / name for name in REPORT_FILES]
