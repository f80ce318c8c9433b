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
from nksim.evidence._landscape import label
from nksim.report._common import data_uri, figure_png

if TYPE_CHECKING:  # pragma: no cover
    from nksim.evidence import Landscape

_DIMENSIONS = ("by_phase", "by_status", "by_country", "by_sponsor_class", "by_product_type",
               "by_indication")  # counts exported to counts.csv
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


def year_rows(by_start_year: dict[str, dict[str, int]]
              ) -> tuple[dict[str, dict[str, int]], int]:
    """The start-year chart's bars (year -> counts by kind) and the trials without a start
    date. No gaps on the time axis, unless the years lie more than 80 apart (a start in year
    1 and one in 9999 drew 10,000 bars): then only the years that have trials."""
    known = {int(k): v for k, v in by_start_year.items() if k != "MISSING"}
    empty = {"actual": 0, "estimated": 0, "type_not_stated": 0}
    span = (range(min(known), max(known) + 1) if known and max(known) - min(known) <= 80
            else sorted(known))
    return ({str(y): known.get(y, empty) for y in span},
            by_start_year.get("MISSING", {}).get("total", 0))


def make_figures(land: Landscape) -> dict[str, bytes]:
    """PNG images of the landscape counts, keyed by name."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from nksim.report._plots import pyplot

    pyplot()  # matplotlib set up as for every report (text drawn as written)
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
        _CAPTIONS["by_phase"],
        lambda ax: _bar(ax, [label("phase", k) for k in d["by_phase"]],
                        list(d["by_phase"].values())),
    )

    def years(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        rows, missing = year_rows(d["by_start_year"])
        if missing:  # the chart's bars add up to the count only with these
            ax.text(0.01, 0.98, f"{missing} trial(s) without a start date: not shown",
                    transform=ax.transAxes, va="top", fontsize=8)
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

    render("by_start_year", _CAPTIONS["by_start_year"], years, (7.2, 3.8))
    for key in ("by_status", "by_product_type", "by_indication", "by_sponsor_class"):
        items = [(label(_DIMENSION_LABEL[key], k), v) for k, v in d[key].items()]
        render(
            key,
            _CAPTIONS[key],
            lambda ax, items=items: _bar(
                ax, [k for k, _ in items], [v for _, v in items], horizontal=True
            ),
        )
    top = list(d["by_country"].items())[:15]
    render(
        "by_country",
        _CAPTIONS["by_country"],
        lambda ax: _bar(ax, [label("country", k) for k, _ in top], [v for _, v in top],
                        horizontal=True),
        (6.4, 4.8),
    )
    return figures


_DIMENSION_LABEL = {"by_phase": "phase", "by_status": "status",
                    "by_sponsor_class": "sponsor_class", "by_product_type": "product_type",
                    "by_indication": "indication"}


def _labels(kind: str, joined: str) -> str:
    return ", ".join(label(kind, v) for v in str(joined or "").split("|") if v)


def _included(land: Landscape) -> list[dict[str, str]]:
    table = land.trials_table()
    rows = []
    for r in table[table["counted"]].itertuples(index=False):
        rows.append({"nct_id": r.nct_id, "title": r.brief_title,
                     "phases": _labels("phase", r.phases) or label("phase", "MISSING"),
                     "status": label("status", r.overall_status or "UNKNOWN"),
                     "start": str(r.start_date or "–"),
                     "products": _labels("product_type", r.product_types),
                     "indications": _labels("indication", r.indications),
                     "countries": str(r.countries or "–").replace("|", ", ")})
    return rows


def render_html(land: Landscape, figures: dict[str, bytes] | None = None) -> str:
    """The HTML report as a string (plots embedded as base64 PNG)."""
    from markupsafe import Markup, escape

    from nksim.report._render import render

    figures = make_figures(land) if figures is None else figures
    d = land.to_dict()
    constructed = land.source.constructed

    def link(nct: str) -> Markup:
        if constructed:
            return Markup(escape(nct))
        return Markup(f'<a href="https://clinicaltrials.gov/study/{escape(nct)}">{escape(nct)}</a>')

    included = _included(land)
    phases = {r["nct_id"]: r["phases"] for r in included}
    src = d["data_source"]
    where = src.get("path") or ""
    source_label = {"api": "the ClinicalTrials.gov API", "snapshot": "a saved snapshot",
                    "records": "records given directly"}.get(src["kind"], src["kind"])
    if src.get("fetch_id"):
        source_label += f" (stored fetch #{src['fetch_id']})"
    if where:
        source_label += f": {Path(where).name}"
    return render(
        "landscape.html",
        d=d, src=src, pub=d["article_claim"]["published_2022"], constructed=constructed,
        banner=CONSTRUCTED_BANNER, source_label=source_label, link=link, included=included,
        phase3=[n for n, p in phases.items() if "phase 3" in p],
        phase4=[n for n, p in phases.items() if "phase 4" in p],
        figures=[{"id": k, "caption": _CAPTIONS.get(k, k), "src": data_uri(v)}
                 for k, v in figures.items()],
    )


_CAPTIONS = {
    "by_phase": "NK trials by phase (a multi-phase trial counts in each phase)",
    "by_start_year": "NK trials by start year (actual against estimated starts)",
    "by_status": "NK trials by overall status",
    "by_product_type": "NK trials by product type (a trial may have several)",
    "by_indication": "NK trials by indication (a trial may have several)",
    "by_sponsor_class": "NK trials by lead sponsor class",
    "by_country": "NK trials by country (top 15; a trial counts once per country)",
}


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
