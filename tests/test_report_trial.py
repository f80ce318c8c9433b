"""The trial report against independent truths: the CONSORT flow against the screening
rules applied afresh to the candidates, Table 1 against pandas, the regimen's absolute
doses against dose x weight, figures (legend, colours, nothing below the detection
limit), caveats, labels; and the page in headless Chromium."""

from __future__ import annotations

import dataclasses
import tomllib
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from nksim.config import TrialScenario
from nksim.disease import SleEligibility
from nksim.report import trial as report
from nksim.report._caveats import (
    MIN_PATIENTS,
    cost_inputs,
    implausible_results,
    uncertain_parameters,
    uncertain_rules,
)
from nksim.report._labels import COVARIATES, CRITERIA, ENDPOINTS
from nksim.report._panels import panels_for
from nksim.report._plots import pyplot
from nksim.report._render import ARM_COLOURS, fmt_number
from nksim.report._tables import (
    baseline_columns,
    baseline_table,
    comparison_table,
    consort_flow,
    endpoint_table,
)
from nksim.scenario import validate
from nksim.trials import run_trial
from test_report_render import browse, probe, visible_text


@pytest.fixture(scope="module")
def raw(small_trial_toml):
    return tomllib.loads(small_trial_toml(
        name="report test trial", seed=11, patients_per_arm=5, follow_up_days=365,
        n_candidates=70, car_t_lymphodepletion=True))


@pytest.fixture(scope="module")
def result(raw):
    return run_trial(validate(TrialScenario, raw))


@pytest.fixture(scope="module")
def summary(result, raw):
    return report.trial_summary(result, raw)


@pytest.fixture(scope="module")
def outputs(result, raw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trial-report")
    report.write_trial_outputs(result, folder, raw)
    return folder


@pytest.fixture(scope="module")
def html(outputs):
    return (outputs / "report.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ CONSORT flow

def test_consort_counts_equal_the_rules_applied_afresh(result):
    """Each excluded candidate once, under the first rule (in rule order) that it fails,
    recomputed from the candidates and the scenario's rules, not from the log's text."""
    rules = SleEligibility.from_dict(result.scenario.eligibility).rules()
    cands = result.candidates.set_index("candidate")
    first, any_fail, overlaps = Counter(), Counter(), 0
    for cand in cands.index:
        failing = [r.name for r in rules
                   if not r.passes(np.array([float(cands.loc[cand, r.column])]))[0]]
        if failing:
            first[failing[0]] += 1
            any_fail.update(failing)
            overlaps += len(failing) > 1
    log = result.screening_log
    model_excluded = int((~log["eligible"].astype(bool)).sum()) - sum(first.values())
    if model_excluded:
        first["model_baseline"] = any_fail["model_baseline"] = model_excluded
    flow = consort_flow(result)
    assert flow["screened"] == len(result.candidates)
    assert {e["criterion"]: e["n"] for e in flow["excluded_by_first"]} == dict(first)
    assert {e["criterion"]: e["n"] for e in flow["failing_any"]} == dict(any_fail)
    assert flow["overlaps"] == overlaps
    assert flow["excluded"] == sum(first.values()) == flow["screened"] - flow["eligible"]
    # rule order: the first-criterion list follows the order of the rules
    names = [r.name for r in rules] + ["model_baseline"]
    listed = [e["criterion"] for e in flow["excluded_by_first"]]
    assert listed == sorted(listed, key=names.index)


def test_consort_arms_equal_the_patient_tables(result):
    flow = consort_flow(result)
    assert flow["allocated"] == sum(len(a.patients) for a in result.arms)
    for box, arm in zip(flow["arms"], result.arms, strict=True):
        p = arm.patients
        assert box["allocated"] == len(p)
        assert box["infused"] == int(p["infused"].sum())
        assert box["analysed"] == int((p["status"] == "ok").sum())
        if arm.spec.product != "none":
            assert box["manufactured"] == int((~p["manufacturing_failed"]).sum())
    assert flow["arms"][2]["infused"] == 0  # the control arm receives no product


def test_consort_flow_is_in_the_page(result, html):
    flow = consort_flow(result)
    text = visible_text(html)
    assert f"Screened: {flow['screened']} virtual candidates" in text
    assert f"Excluded: {flow['excluded']}, each counted once" in text
    for e in flow["excluded_by_first"]:
        assert f"{e['label']}: {e['n']}" in text
    assert f"{flow['overlaps']} of the excluded failed more than one criterion" in text


# ------------------------------------------------------------------ Table 1

def test_table1_medians_and_counts_equal_pandas(result):
    rows = baseline_table(result)
    assert {"age_years", "sex", "weight_kg", "sledai"} <= {r["column"] for r in rows}
    for row in rows:
        col = row["column"]
        for arm in result.arms:
            cell = row["cells"][arm.name]
            values = arm.patients[col]
            if row["kind"] == "median [IQR]":
                assert cell["median"] == pytest.approx(values.median())
                assert cell["q1"] == pytest.approx(values.quantile(0.25))
                assert cell["q3"] == pytest.approx(values.quantile(0.75))
            else:
                assert cell["k"] == int((values == row["level"]).sum())
                assert cell["n"] == len(values)
    every = pd.concat([a.patients for a in result.arms])
    age = next(r for r in rows if r["column"] == "age_years")
    assert age["all"]["median"] == pytest.approx(every["age_years"].median())


def test_table1_is_in_the_page(result, html):
    text = visible_text(html)
    for row in baseline_table(result):
        assert row["label"] in text
        for arm in result.arms:
            assert row["cells"][arm.name]["text"] in text


# ------------------------------------------------------------------ regimens

def test_regimen_absolute_dose_range_is_dose_times_weight(result, html):
    text = visible_text(html)
    for arm, per_kg in zip(result.arms[:2], (1e6, 3e7), strict=True):
        infused = arm.patients[arm.patients["infused"]]
        lo, hi = per_kg * infused["weight_kg"].min(), per_kg * infused["weight_kg"].max()
        assert f"{fmt_number(lo)} to {fmt_number(hi)} cells per infusion" in text
    assert "3 infusions 3 days apart (days 0, 3, 6)" in text
    assert "cyclophosphamide 0, 0, 1,000 mg/m² on successive days" in text
    assert "all glucocorticoids stopped on day −5 (start of lymphodepletion)" in text
    assert "then tapered to zero over 8 weeks" in text


def test_setting_specific_regimen_in_words():
    from types import SimpleNamespace

    from nksim.report._regimen import _other_words

    spec = SimpleNamespace(regimen={"antibody": "rituximab", "antibody_mg_m2": 375,
                                    "antibody_days": [-5, 2], "nk_product": "hncd16_nk"},
                           parameters={"carnk_bcma": 1.0})
    # the product (nk_product) is named in the product column, not here
    assert _other_words(spec) == ("rituximab 375 mg/m² on days −5, 2; model parameter "
                                  "carnk_bcma set to 1")
    assert _other_words(SimpleNamespace(regimen={}, parameters={})) == ""


# ------------------------------------------------------------------ endpoints, labels

def test_every_identifier_has_words_and_none_is_shown_raw(result, summary, html):
    keys = {k for a in summary["arms"].values() for k in a["endpoints"]}
    words = report.endpoint_labels(result)
    for key in keys:  # the report's label table, else the setting's declared label
        assert words.get(key) and "_" not in words[key], key
    assert {"crs_any_rate", "doris_remission_6m_rate", "flare_6m_rate"} <= set(ENDPOINTS)
    assert set(baseline_columns(result)) <= set(COVARIATES)
    failed = {c for x in result.screening_log["failed_criteria"] for c in str(x).split(",") if c}
    assert failed <= set(CRITERIA)
    text = visible_text(html)
    for raw_id in keys | failed | set(baseline_columns(result)):
        if "_" in raw_id:  # single words (e.g. "sex") are words, not identifiers
            assert raw_id not in text, raw_id


def test_endpoint_table_shows_n_estimate_and_interval(summary, html):
    text = visible_text(html)
    rows = endpoint_table(summary, ENDPOINTS)
    assert len(rows) == len(summary["arms"]["car_t"]["endpoints"])
    crs = summary["arms"]["car_t"]["endpoints"]["crs_any_rate"]
    row = next(r for r in rows if r["key"] == "crs_any_rate")
    cell = row["cells"]["car_t"]
    assert cell["n"] == crs["n"]
    assert cell["estimate"] == f"{100 * crs['value']:.0f} % ({crs['k']}/{crs['n']})"
    assert cell["ci"] == f"{100 * crs['ci_low']:.0f} % to {100 * crs['ci_high']:.0f} %"
    assert ENDPOINTS["crs_any_rate"] in text and cell["ci"] in text
    assert "95 % CI" in text


def test_comparisons_are_shown_in_words():
    summary = {"arms": {}, "comparisons": [
        {"endpoint": "doris_remission_6m_rate", "arm_a": "car_nk", "arm_b": "car_t",
         "measure": "risk_difference", "value": -0.4, "ci_low": -0.7, "ci_high": -0.05,
         "n_a": 10, "n_b": 9, "p_value": 0.02, "method": "Newcombe hybrid score"},
        {"endpoint": "b_cell_return_day_median", "arm_a": "car_nk", "arm_b": "car_t",
         "measure": "hazard_ratio", "value": 2.5, "ci_low": 1.1, "ci_high": 5.0,
         "n_a": 10, "n_b": 9, "p_value": None, "method": "Cox"},
        {"endpoint": "crs_any_rate", "arm_a": "car_t", "arm_b": "control",
         "measure": "risk_ratio", "value": None, "ci_low": None, "ci_high": None,
         "n_a": 5, "n_b": 0, "p_value": None, "method": "Katz", "note": "no patients"},
        {"endpoint": "pfs_median", "arm_a": "car_nk", "arm_b": "car_t",
         "measure": "median_difference", "value": 8.0, "ci_low": 4.5, "ci_high": None,
         "n_a": 40, "n_b": 40, "p_value": None, "method": "bootstrap",
         "note": "650 of 2000 resamples with median not reached in arm_a (difference +inf); "
                 "upper limit unbounded"}]}
    rows = comparison_table(summary, ENDPOINTS)
    assert rows[0]["endpoint"] == ENDPOINTS["doris_remission_6m_rate"]
    assert (rows[0]["measure"], rows[0]["value"], rows[0]["ci"], rows[0]["n"], rows[0]["p"]) \
        == ("difference in proportions (percentage points)", "−40", "−70 to −5", "10 and 9",
            "0.020")
    assert (rows[1]["measure"], rows[1]["value"], rows[1]["ci"]) == (
        "hazard ratio", "2.5", "1.1 to 5")
    assert (rows[2]["value"], rows[2]["ci"]) == ("not estimable", "no patients")
    assert rows[3]["ci"] == "4.5 to unbounded"
    assert rows[3]["method"].startswith("bootstrap (650 of 2000 resamples")  # the note shown


def test_every_comparison_of_the_run_is_in_the_page(result, summary, html):
    # the run's comparisons, those about a product an arm lacks marked not applicable
    assert [{k: v for k, v in c.items() if k != "not_applicable"}
            for c in summary["comparisons"]] == result.comparisons and result.comparisons
    rows = comparison_table(summary, report.endpoint_labels(result))
    assert len(rows) == len(result.comparisons)
    text = visible_text(html)
    assert "No between-arm comparison" not in text
    for row in rows:
        assert f"{row['endpoint']} {row['arms']} {row['n']} {row['measure']}" in text
    # the p values are many and unadjusted: the page and summary.json say so, with the count
    tests = sum(c["p_value"] is not None and "not_applicable" not in c
                for c in summary["comparisons"])
    assert tests >= 2 and summary["comparisons_note"].startswith(f"{tests} p values")
    assert "not adjusted for multiple comparisons" in summary["comparisons_note"]
    assert f"one in twenty of them (here {0.05 * tests:.1f} of the {tests})" in \
        summary["comparisons_note"]
    assert summary["comparisons_note"] in text


# ------------------------------------------------------------------ figures

def _figures(result):
    return report.trial_figures(result)


def test_every_figure_has_a_legend_naming_every_arm_in_its_fixed_colour(result):
    figures = _figures(result)
    assert len(figures) == len(panels_for(result)) >= 6
    for _, _, fig in figures:
        assert len(fig.axes) == 2  # the first 30 days and the whole follow-up
        # the whole follow-up, even where late values are below detection and not drawn
        assert fig.axes[1].get_xlim()[1] == result.scenario.trial.follow_up_days
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        assert len(legends) == 1
        texts = [t.get_text() for t in legends[0].get_texts()]
        for ax in fig.axes:
            for i, arm in enumerate(result.arms):
                assert any(t.startswith(f"{arm.name}: median") for t in texts)
                line = next(ln for ln in ax.lines
                            if ln.get_label().startswith(f"{arm.name}: median"))
                assert line.get_color() == ARM_COLOURS[i]
        assert any("infusion" in t for t in texts)
        assert any("lymphodepletion" in t for t in texts)
        pyplot().close(fig)


def test_nothing_is_drawn_below_the_detection_limit(result):
    panels = {p.key: p for p in panels_for(result)}
    assert panels["B"].detection_limit == 1.0  # cells/µL
    for key, _, fig in _figures(result):
        limit = panels[key].detection_limit
        for ax in fig.axes:
            data_lines = [ln for ln in ax.lines if ln.get_transform() == ax.transData]
            assert data_lines
            for line in data_lines:
                y = np.asarray(line.get_ydata(), float)
                if limit is not None and y.size:
                    assert np.nanmin(np.where(np.isfinite(y), y, np.inf)) >= limit * (1 - 1e-12)
            for band in [c for c in ax.collections if isinstance(c, PolyCollection)]:
                for path in band.get_paths():
                    if limit is not None and len(path.vertices):
                        assert path.vertices[:, 1].min() >= limit * (1 - 1e-12)
            if limit is not None:
                assert ax.get_ylim()[0] >= limit / 2  # the axis does not reach down to 10⁻¹²
        pyplot().close(fig)


def test_b_cells_really_fall_below_the_limit_in_the_car_t_arm(result):
    """The cut above is exercised: CAR-T depletes B cells below 1 cell/µL."""
    arm = result.arms[0]
    assert np.nanmin(arm.simulation.dataset["B"].values) < 1.0


# ------------------------------------------------------------------ caveats

def test_caveats_list_the_unverified_and_assumed_values(result, html):
    rows = uncertain_parameters(result.model)
    expected = {p.name for p in result.model.parameters
                if p.source.verified in ("UNVERIFIED", "assumption")}
    assert {r["name"] for r in rows} == expected
    rules = SleEligibility.from_dict(result.scenario.eligibility).rules()
    rule_rows = uncertain_rules(rules)
    # "high disease activity" read as SLEDAI-2K >= 8 is an assumption of the scenario's rules
    assert any("SLEDAI-2K 8 or more" in r["name"] and r["label"] == "ASSUMPTION"
               for r in rule_rows)
    labels = [p.source.verified for p in result.model.parameters] + \
        [r.source.verified for r in rules]
    # the cost and manufacturing inputs of the arms with a product are listed too
    costs = [r["label"] for r in cost_inputs(result.scenario)]
    assert costs and "UNVERIFIED" in costs  # the CAR-T list price
    n_unv = labels.count("UNVERIFIED") + costs.count("UNVERIFIED")
    n_ass = labels.count("assumption") + costs.count("ASSUMPTION")
    assert f"This run used {n_unv} UNVERIFIED and {n_ass} ASSUMPTION value(s)" in \
        visible_text(html)


def test_caveats_flag_implausible_results(result, summary):
    panels = panels_for(result)
    _, series = report.arm_series(result, panels)
    few = {"arms": {"a": {"endpoints": {
        "crs_any_rate": {"value": 0.5, "k": 2, "n": 4, "ci_low": 0.07, "ci_high": 0.93},
        "sri4_6m_rate": {"value": 0.4, "k": 2, "n": 5, "ci_low": 0.05, "ci_high": 0.85}}},
        "b": {"endpoints": {
            "crs_any_rate": {"value": 0.0, "k": 0, "n": 3, "ci_low": 0.0, "ci_high": 0.7},
            "sri4_6m_rate": {"value": None, "n": 0, "note": "no patients"}}}}}
    flags = implausible_results(dataclasses.replace(result, arms=[], notes=[]), few, panels,
                                {}, ENDPOINTS)
    assert flags == [
        f"Arm a: 1 estimate(s) rest on fewer than {MIN_PATIENTS} patients and are not "
        f"reliable: {ENDPOINTS['crs_any_rate']} (n = 4).",
        f"Arm b: every estimate rests on fewer than {MIN_PATIENTS} patients (at most 3); "
        "none is reliable."]

    # a non-ok patient, every patient flaring, a score beyond its plausible range
    arm = result.arms[1]
    broken = arm.patients.copy()
    broken.loc[0, "status"] = "implausible"
    fake = dataclasses.replace(result, arms=[dataclasses.replace(arm, patients=broken),
                                             *result.arms[2:]])
    summ = {"arms": {arm.name: {"endpoints": {"flare_6m_rate": {
        "value": 1.0, "k": 5, "n": 5, "ci_low": 0.48, "ci_high": 1.0}}}}}
    ser = {arm.name: {"SLEDAI": np.array([[10.0, 60.0], [8.0, 9.0]])}}
    flags = implausible_results(fake, summ, panels, ser)
    assert any("1 of 5 patients not analysed (1 left the plausible range)" in f for f in flags)
    assert any("every patient flared by 6 months (5/5)" in f for f in flags)
    assert any("1 of 2 patients reach SLEDAI-2K" in f and "outside the plausible range" in f
               for f in flags)


def test_compile_time_is_reported_apart_from_run_time(result):
    fake = dataclasses.replace(result, arms=[dataclasses.replace(
        a, simulation=dataclasses.replace(a.simulation, run_time=1.5, compile_time=20.0))
        for a in result.arms[:1]])
    text = report._timing(fake)
    assert "simulation 1.5 s" in text and "compilation or loading 20 s" in text


# ------------------------------------------------------------------ the page

SECTIONS = ("research-use-only", "caveats", "design", "regimens", "flow", "baseline",
            "endpoints", "comparisons", "figures")


def test_report_stands_alone_and_has_every_section(html):
    for section in SECTIONS:
        assert f'id="{section}"' in html
    # parameter citations may name their documents; the report's own text may not
    own = html.split('<details id="uncertain-parameters">')[0] + html.split("</details>", 1)[1]
    text = visible_text(own)
    assert "Research use only" in text
    for pointer in ("docs/", ".csv", ".json", ".parquet", "see file"):
        assert pointer not in text


@pytest.mark.slow
def test_report_renders_in_headless_chromium(outputs, tmp_path):
    dom, console = browse(outputs / "report.html", tmp_path)
    assert console == [], console
    images, broken = probe(dom)
    assert images >= 6 and broken == 0
    for section in SECTIONS:
        assert f'id="{section}"' in dom
    assert "Table 1: baseline characteristics" in dom
    assert "Flow of virtual patients" in dom
