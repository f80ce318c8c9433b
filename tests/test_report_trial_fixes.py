"""The trial report on small runs of the bundled lymphoma trial (FT516-like NK cells with
rituximab against rituximab alone) and a small lupus trial: Table 1 without raw lists or
internal names, "not applicable" product endpoints for an arm without a product, costs
without zero-width intervals and with their inputs listed, the B-cell return threshold
stated and drawn, published figures beside the results, eligibility rows that agree with
the rule applied."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from nksim.config import TrialScenario
from nksim.report import trial as report
from nksim.scenario import validate
from nksim.trials import run_trial
from test_report_render import visible_text

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _small_lymphoma() -> dict:
    text = (SCENARIOS / "lymphoma_ft516_rituximab.toml").read_text()
    text = re.sub(r"n_candidates = \d+", "n_candidates = 45", text)
    text = text.replace("patients_per_arm = 40", "patients_per_arm = 6")
    text = text.replace("follow_up_days = 730", "follow_up_days = 182")
    return tomllib.loads(text)


@pytest.fixture(scope="module")
def lymphoma():
    raw = _small_lymphoma()
    result = run_trial(validate(TrialScenario, raw))
    summary = report.trial_summary(result, raw)
    html = report.render_html(result, summary, figures=[])
    return result, summary, visible_text(html)


def test_table1_has_no_raw_list_rows_and_no_internal_names(lymphoma):
    result, _, text = lymphoma
    rows = report.table1(result)
    assert sum(r["column"] == "lesion_shares" for r in rows) == 1
    for raw in ("lesion shares", "mtv ml", "nk per ul", "blood ul", "largest ldi cm",
                "t cells per ul", "cd20 negative share"):
        assert raw not in text, raw
    blood = next(r for r in rows if r["column"] == "blood_ul")
    assert blood["unit"] == "L" and 2.0 < blood["all"]["median"] < 10.0  # litres, not µL
    assert "Metabolic tumour volume, mL" in text


def test_product_endpoints_are_not_applicable_without_a_product(lymphoma):
    result, summary, text = lymphoma
    ep = summary["arms"]["rituximab"]["endpoints"]["manufacturing_failure_rate"]
    assert ep["not_applicable"]
    labels = report.endpoint_labels(result)
    rows = {r["key"]: r for r in report.endpoint_rows(result, summary, labels)}
    cell = rows["manufacturing_failure_rate"]["cells"]["rituximab"]
    assert cell["estimate"] == "not applicable"
    assert rows["manufacturing_failure_rate"]["cells"]["ft516_rituximab"]["estimate"] \
        != "not applicable"
    comps = report.comparison_rows(summary, labels)
    for row, c in zip(comps, summary["comparisons"], strict=True):
        if c["endpoint"] == "manufacturing_failure_rate" and "rituximab" in (c["arm_a"],
                                                                             c["arm_b"]):
            assert row["value"] == "not applicable" and row["p"] == "–"


def test_costs_have_no_zero_width_interval_and_their_inputs_are_listed(lymphoma):
    result, summary, text = lymphoma
    labels = report.endpoint_labels(result)
    rows = {r["key"]: r for r in report.endpoint_rows(result, summary, labels)}
    cell = rows["cost_per_patient_median"]["cells"]["ft516_rituximab"]
    assert cell["ci"] == "no interval: every patient has the same assumed cost"
    assert "cost: product price per dose" in text and "ASSUMPTION" in text
    assert "manufacturing: out-of-specification rate" in text


def test_published_figures_are_beside_the_results_with_a_caveat(lymphoma):
    result, summary, text = lymphoma
    assert "Published figures beside the virtual results" in text
    assert "FT516 early report 2021: CR 56 %, n = 11 [V-src]" in text
    from nksim.report._oncology import published_rows

    for r in published_rows(result, report.endpoint_labels(result)):
        est = result.arms[0].summary["endpoints"]
        assert r["agree"] in (True, False, None)
        if r["agree"] is False:
            assert "disagrees with the published figure" in text
    assert est is not None


@pytest.fixture(scope="module")
def sle(small_trial_toml):
    raw = tomllib.loads(small_trial_toml(name="fix test", seed=3, patients_per_arm=3,
                                         follow_up_days=200, n_candidates=40))
    raw.setdefault("eligibility", {})["min_sledai"] = 6
    return run_trial(validate(TrialScenario, raw)), raw


def test_b_cell_return_threshold_is_stated_and_drawn(sle):
    result, raw = sle
    assert "≥ 10 cells/µL" in report.endpoint_labels(result)["b_cell_return_day_median"]
    figs = dict((i, f) for i, _, f in report.trial_figures(result))
    lines = [ln for ax in figs["B"].axes for ln in ax.get_lines()
             if "return threshold" in str(ln.get_label())]
    assert lines and all(float(ln.get_ydata()[0]) == 10.0 for ln in lines)


def test_eligibility_row_agrees_with_the_rule_applied(sle):
    result, raw = sle
    summary = report.trial_summary(result, raw)
    text = visible_text(report.render_html(result, summary, figures=[]))
    row = re.search(r"eligibility: high disease activity: SLEDAI-2K 6 or more.{0,400}", text)
    assert row is not None
    assert "set by the scenario" in row.group(0) and "Applied: SLEDAI-2K >= 6" in row.group(0)
    assert "The setting's default is 8" in row.group(0)


def test_an_unbounded_cost_limit_reads_unbounded_not_a_dash():
    """One remission among six patients: the bootstrap's upper limit of the cost per
    remission is unbounded (resamples without a remission), as summary.json notes."""
    import types

    import numpy as np

    from nksim.trials import cost_per_remission
    from nksim.trials._setting import Endpoint

    est = cost_per_remission(np.full(6, 1.262e6), np.array([1, 0, 0, 0, 0, 0], bool),
                             seed=1).to_dict()
    assert est["ci_high"] is None and "upper limit unbounded" in est["note"]
    result = types.SimpleNamespace(arms=[], endpoints=lambda: (
        Endpoint("cost_per_remission", "doris_6m", "cost_per_response"),))
    summary = {"arms": {"car_t": {"endpoints": {"cost_per_remission": est}}}}
    (row,) = report.endpoint_rows(result, summary, {})
    assert row["cells"]["car_t"]["ci"].endswith(" to unbounded")


def test_a_missing_limit_reads_as_its_note_says():
    """One wording for endpoints and comparisons: 'unbounded' and 'not estimable' where
    summary.json's note says so, else the caller's word ('not reached' for medians)."""
    from nksim.report._tables import interval_text

    def f(x):
        return f"{x:g}"

    assert interval_text(1.0, None, "upper limit unbounded (resamples ...)", f) == \
        "1 to unbounded"
    assert interval_text(None, 3.0, "lower limit not estimable (the curve falls to 0)", f,
                         missing="not reached") == "not estimable to 3"
    assert interval_text(1.0, None, "", f, missing="not reached") == "1 to not reached"
    assert interval_text(1.0, None, None, f) == "1 to –"
