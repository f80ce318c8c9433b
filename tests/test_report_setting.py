"""The trial report knows no disease: the documented tumour setting of docs/trials.md, in a
paired design, gets the same report (flow counting each patient once, no steroid plan,
its own exclusion reasons in words, a detection limit for its cell counts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nksim.report import trial as report
from nksim.report._plots import pyplot
from nksim.report._tables import baseline_table, consort_flow
from test_report_render import browse, probe, visible_text

ROOT = Path(__file__).resolve().parents[1]


def _doc_blocks() -> list[str]:
    text = (ROOT / "docs/trials.md").read_text().split("## Writing a disease setting")[1]
    text = text.split("\n## ")[0]
    return [b.split("```")[0] for b in text.split("```python")[1:]]


@pytest.fixture(scope="module")
def result():
    blocks = _doc_blocks()
    namespace: dict = {}
    exec(blocks[0], namespace)  # defines and registers the "tumour" setting
    code = blocks[1].split("result = run_trial(scenario)")[0]
    exec(code, namespace)
    return namespace["run_trial"](namespace["scenario"])


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tumour-report")
    report.write_trial_outputs(result, folder, None)
    return folder / "report.html"


def test_paired_flow_counts_each_patient_once(result, page):
    assert result.scenario.trial.design == "paired"
    flow = consort_flow(result)
    ids = [set(a.patients["candidate"]) for a in result.arms]
    assert ids[0] == ids[1]
    assert flow["allocated"] == len(ids[0]) == 4
    assert [a["allocated"] for a in flow["arms"]] == [4, 4]
    table = baseline_table(result)
    age = next(r for r in table if r["column"] == "age_years")
    assert age["all"]["n"] == 4  # the same 4 patients in both arms, counted once
    text = visible_text(page.read_text(encoding="utf-8"))
    assert "paired in-silico design (every virtual patient receives every arm)" in text
    assert "all (n = 4)" in text


def test_no_steroid_plan_and_exclusions_in_the_settings_words(result, page):
    html = page.read_text(encoding="utf-8")
    text = visible_text(html)
    assert "glucocorticoids from day 0" not in text and "standard of care before" not in text
    flow = consort_flow(result)
    if flow["excluded"]:
        assert "not measurable tumour" in text
    assert "min_burden" not in text


def test_cell_counts_get_a_detection_limit_by_default(result):
    ((key, _, fig),) = report.trial_figures(result)
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_transform() == ax.transData:
                y = np.asarray(line.get_ydata(), float)
                y = y[np.isfinite(y)]
                assert not y.size or y.min() >= 1.0
    legend = fig.axes[-1].get_legend()
    assert any(t.get_text().startswith("detection limit (1 cell/uL)")
               for t in legend.get_texts())
    pyplot().close(fig)


@pytest.mark.slow
def test_tumour_report_in_headless_chromium(page, tmp_path):
    dom, console = browse(page, tmp_path)
    assert console == [] and probe(dom) == (1, 0)
    for section in ("design", "flow", "baseline", "endpoints", "comparisons", "figures",
                    "caveats"):
        assert f'id="{section}"' in dom
