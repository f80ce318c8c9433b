"""The HTML report and table exports, written atomically."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nksim.evidence import demo_snapshot_path, landscape_from_snapshot, load_snapshot
from nksim.report import landscape as report


@pytest.fixture(scope="module")
def demo():
    return landscape_from_snapshot(load_snapshot(demo_snapshot_path()))


def test_write_report_files(tmp_path, demo):
    out = tmp_path / "out"
    paths = report.write_report(demo, out)
    assert sorted(p.name for p in paths) == sorted(report.REPORT_FILES)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert report.CONSTRUCTED_BANNER in html
    assert html.count("data:image/png;base64,") == 7
    assert "clinicaltrials.gov/study/NCT99" not in html  # constructed IDs are never linked
    csv = pd.read_csv(out / "trials.csv")
    parquet = pd.read_parquet(out / "trials.parquet")
    assert len(csv) == len(parquet) == len(demo.classifications)
    assert set(csv.loc[csv["counted"], "nct_id"]) == set(demo.to_dict()["nk_trials"])
    excluded = csv.loc[~csv["counted"]]
    assert excluded["exclusion_reason"].str.len().gt(0).all()
    assert json.loads((out / "landscape.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(demo.to_dict())
    )
    counts = pd.read_csv(out / "counts.csv", keep_default_na=False)
    phase = counts[counts["dimension"] == "by_phase"].set_index("value")["trials"].to_dict()
    assert phase == demo.by_phase()


def test_html_escapes_record_text(tmp_path):
    from nksim.evidence import build_landscape

    from .conftest import make_study

    land = build_landscape(
        [
            make_study(
                "NCT98600001", title="<script>alert(1)</script>", interventions=[("DRUG", "x")]
            )
        ]
    )
    html = report.render_html(land, figures={})
    assert "<script>alert(1)</script>" not in html


def test_real_data_links_to_the_registry():
    from nksim.evidence import DataSource, build_landscape

    from .conftest import make_study

    land = build_landscape(
        [make_study("NCT98600002", interventions=[("BIOLOGICAL", "NK cells")], phases=["PHASE3"])],
        source=DataSource(kind="snapshot"),
    )
    assert 'href="https://clinicaltrials.gov/study/NCT98600002"' in report.render_html(
        land, figures={}
    )


def test_failed_report_leaves_nothing(tmp_path, demo, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        report.write_report(demo, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_report_reads_like_prose_not_enums(demo):
    """Issue 14 §4: readable labels, phase III and IV apart, included trials listed, one
    chart per dimension and no duplicate count tables, data date and query first."""
    import re

    html = report.render_html(demo)
    body = html[html.index('<h2 id="answers">'):]
    for enum in ("ACTIVE_NOT_RECRUITING", "EARLY_PHASE1", "PHASE2", "allogeneic_cord_blood",
                 "solid_tumour", "INDUSTRY"):
        assert enum not in body, enum
    assert "How many in phase III?" in html and "How many in phase IV?" in html
    d = demo.to_dict()
    table = demo.trials_table()
    phase3 = set(table.loc[table["counted"] & table["phases"].str.contains("PHASE3"), "nct_id"])
    answers = body[:body.index("</table>")]
    assert all(n in answers for n in phase3)
    included = html[html.index('id="included"'):html.index('id="excluded"')]
    assert all(n in included for n in d["nk_trials"])
    # one figure per dimension, and no table of counts beside them
    assert html.count("<figure") == 7
    assert not re.search(r"<th>value</th><th>trials</th>", html)
    assert html.index('id="data"') < html.index('id="answers"')
    assert "data date" in html[:html.index('id="answers"')]


def test_labels_cover_every_classification_label():
    from nksim.evidence import INDICATIONS, PRODUCT_TYPES
    from nksim.evidence._landscape import LABELS
    from nksim.evidence._record import PHASES

    assert set(PRODUCT_TYPES) <= set(LABELS["product_type"])
    assert set(INDICATIONS) <= set(LABELS["indication"])
    assert set(PHASES) | {"MISSING"} <= set(LABELS["phase"])


def _nk(nct: str, **kw):
    from .conftest import make_study

    return make_study(nct, title="Allogeneic natural killer cell infusion",
                      interventions=[("BIOLOGICAL", "NK cells")], **kw)


def test_the_data_date_is_never_the_import_date(tmp_path):
    # a snapshot without a timestamp showed when it was imported as its data date
    from nksim.evidence import DataSource, build_landscape

    land = build_landscape([_nk("NCT98600011")], source=DataSource(
        kind="snapshot", imported_at="2026-12-08T03:20:17Z"))
    html = report.render_html(land, figures={})
    assert "<th>data date</th><td>not recorded (the snapshot was imported" in html
    assert land.to_dict()["research_use_only"].startswith("Research use only")


def test_the_text_report_counts_phases_3_and_4_apart_in_words():
    from nksim.evidence import build_landscape

    land = build_landscape([
        _nk("NCT98600021", phases=["PHASE3"], countries=["United States"]),
        _nk("NCT98600022", phases=["PHASE3", "PHASE4"]),
    ])
    text = land.summary_text()
    assert "In phase 3: 2 (NCT98600021, NCT98600022)" in text
    assert "In phase 4: 1 (NCT98600022)" in text
    assert "Top countries: not stated 1, United States 1" in text  # not MISSING
    assert "['" not in text and text.splitlines()[-1].startswith("Research use only")


def test_start_years_far_apart_and_missing_ones_are_drawn_sensibly():
    # a start in year 1 and one in 9999 drew 10,000 bars (minutes); a trial without a
    # start date was left out of the chart without a word; a '$' failed in matplotlib
    from nksim.evidence import build_landscape

    land = build_landscape([
        _nk("NCT98600031", start="0001-01"), _nk("NCT98600032", start="9999-12"),
        _nk("NCT98600033"), _nk("NCT98600034", countries=["A $\\foo$ B"])])
    figures = report.make_figures(land)
    assert set(figures) >= {"by_start_year", "by_country"}
    rows, missing = report.year_rows(land.to_dict()["by_start_year"])
    assert list(rows) == ["1", "9999"] and missing == 2  # no start date: 2 of the 4
    near = build_landscape([_nk("NCT98600041", start="2019-01"),
                            _nk("NCT98600042", start="2021-05")])
    assert list(report.year_rows(near.to_dict()["by_start_year"])[0]) == \
        ["2019", "2020", "2021"]  # no gap on the time axis
