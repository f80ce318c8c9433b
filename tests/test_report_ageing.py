"""The ageing report (``nksim ageing``) on the shared templates, against independent truths:
the flow against the causes of death counted afresh from each individual's record, Table 1
against numpy over the individuals' parameters, endpoints and comparisons against
``summary.json``, every figure's legend and fixed arm colours, the interventions marked on
the age axis, the caveats (assumed values listed, implausible results flagged on
constructed summaries), readable labels, the layering (the ageing layer imports no report,
the report no command line) and the page in headless Chromium."""

from __future__ import annotations

import ast
import copy
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from nksim.data import __file__ as data_init
from nksim.disease.ageing._run import run_scenario
from nksim.disease.ageing._scenario import parse_scenario
from nksim.engine._sde import EXTRINSIC, THRESHOLD
from nksim.report import ageing as report
from nksim.report._caveats import MIN_PATIENTS
from nksim.report._plots import pyplot
from nksim.report._render import ARM_COLOURS, fmt_number
from test_report_render import browse, probe, visible_text

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(data_init).parent / "scenarios"
SECTIONS = ("research-use-only", "caveats", "design", "regimens", "flow", "baseline",
            "endpoints", "comparisons", "figures")
N = 300  # individuals per arm: the bundled scenarios, scaled down


def bundled(name: str, n: int = N, **arm_changes) -> dict:
    raw = tomllib.loads((SCENARIOS / f"{name}.toml").read_text(encoding="utf-8"))
    for arm in raw["arms"]:
        arm["n"] = n
        arm.update(arm_changes)
    return raw


def _run(raw: dict):
    scenario = parse_scenario(raw)
    return scenario, run_scenario(scenario)


@pytest.fixture(scope="module")
def senolysis():
    """The bundled senolysis scenario (paired mice), 300 per arm, with between-individual
    heterogeneity so that Table 1 has spread to check."""
    return _run(bundled("ageing_mice_senolysis", heterogeneity_cv=0.1))


@pytest.fixture(scope="module")
def page(senolysis, tmp_path_factory):
    scenario, run = senolysis
    folder = tmp_path_factory.mktemp("ageing-report")
    report.write_ageing_outputs(folder, scenario, run)
    return folder


@pytest.fixture(scope="module")
def html(page):
    return (page / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def nk_mice():
    """Mice with an NK layer, infusions and cytokine courses, next to people (two species
    in one scenario: figures per species)."""
    raw = {
        "cohort": {"name": "NK layer test", "seed": 5, "paired": False,
                   "follow_up_years": 125},
        "arms": [
            {"name": "mice", "parameter_set": "karin2019_mouse", "n": 200,
             "nk": {"share": 0.6}},
            {"name": "mice_nk", "parameter_set": "karin2019_mouse", "n": 200,
             "nk": {"share": 0.6},
             "nk_infusions": [{"start_years": 1.0, "every_years": 0.25, "count": 4,
                               "cells": 5e6}],
             "cytokines": [{"start_years": 1.5, "duration_days": 14, "count": 2,
                            "every_years": 0.5}]},
            {"name": "women", "parameter_set": "raz2026_human_F", "n": 200},
        ],
    }
    return _run(raw)


# ------------------------------------------------------------------ sections, words

def test_report_stands_alone_and_has_every_section(html):
    for section in SECTIONS:
        assert f'id="{section}"' in html
    assert html.count('id="research-use-only"') == 1
    # parameter citations and model sources may name their documents; the report may not
    own = html.split('<details id="uncertain-parameters">')[0] + \
        html.split("</details>", 1)[1].split("<p>Sources:</p>")[0]
    text = visible_text(own)
    assert "Research use only" in text
    for pointer in ("docs/", ".csv", ".json", ".parquet", ".png", "see file"):
        assert pointer not in text


def test_design_and_interventions_in_words(senolysis, html):
    scenario, _ = senolysis
    text = visible_text(html)
    assert f"random seed {scenario.cohort.seed}" in text
    assert "paired: every virtual individual is simulated in every arm" in text
    assert "from birth to the age of 6 years" in text  # mice default follow-up
    rate = scenario.arms[1].senolysis[0].rate_per_day
    assert (f"Senolysis: {fmt_number(100 * rate)} % of senescent cells removed per day from "
            "the age of 12 months, until death or the end of follow-up") in text
    assert "Karin 2019 fit, mice" in text
    assert "senolysis against the control arm control" in text


def test_no_raw_identifier_is_shown(senolysis, html):
    _, run = senolysis
    summary = run["summary"]
    text = visible_text(html.split('<details id="uncertain-parameters">')[0]
                        + html.split("</details>", 1)[1].split("<p>Sources:</p>")[0])
    keys = {k for a in summary["arms"].values() for k in a["endpoints"]}
    keys |= {c["endpoint"] for c in summary["comparisons"]}
    keys |= {c["measure"] for c in summary["comparisons"]}
    keys |= {a["parameter_set"] for a in summary["arms"].values()}
    keys |= {"heterogeneity_cv", "rate_per_day", "start_years", "healthspan_fraction",
             "h_ext", "karin2019"}
    for key in keys:
        if "_" in key or key == "karin2019":  # single words are words, not identifiers
            assert key not in text, key
        if key in report.ENDPOINTS:
            assert "_" not in report.ENDPOINTS[key]


# ------------------------------------------------------------------ flow and Table 1

def test_flow_counts_equal_the_individual_records(senolysis, html):
    scenario, run = senolysis
    flow = report.flow_table(run["summary"])
    assert [f["name"] for f in flow] == [a.name for a in scenario.arms]
    for i, f in enumerate(flow):
        r = run["results"][f["name"]]
        assert f["colour"] == ARM_COLOURS[i]
        assert f["simulated"] == r.ids.size == N
        assert f["failed"] == int(r.failed.sum()) and f["analysed"] == N - f["failed"]
        assert f["threshold"] == int(np.sum(r.cause == THRESHOLD))
        assert f["extrinsic"] == int(np.sum(r.cause == EXTRINSIC))
        assert f["alive"] == int(np.isnan(r.lifespan).sum())
        assert f["threshold"] + f["extrinsic"] + f["alive"] == f["analysed"]
    text = visible_text(html)
    for f in flow:
        assert (f"{f['name']} {f['simulated']} {f['failed']} {f['analysed']} "
                f"{f['threshold']} {f['extrinsic']} {f['alive']}") in text


def test_table1_parameters_equal_numpy_over_the_individuals(senolysis, html):
    scenario, run = senolysis
    rows = report.baseline_table(scenario, run["results"])
    text = visible_text(html)
    assert "Table 1: the arms at the start" in text
    for c, name in enumerate(("eta", "beta", "kappa", "epsilon", "Xc")):
        words = report.PARAMETERS[name][0]
        row = next(r for r in rows if r["label"] == words)
        for arm in scenario.arms:
            p = run["results"][arm.name].params[:, c]
            q1, med, q3 = np.quantile(p, [0.25, 0.5, 0.75])
            assert q1 < q3  # heterogeneity 0.1: the individuals differ
            want = f"{fmt_number(med)} [{fmt_number(q1)} to {fmt_number(q3)}]"
            assert row["cells"][arm.name] == want
        cells = " ".join(row["cells"][a.name] for a in scenario.arms)
        assert f"{words} {row['unit']} {cells}" in text
    # paired arms: the same virtual individuals, hence the same parameters
    a, b = (run["results"][x.name].params for x in scenario.arms)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ endpoints, comparisons

def test_endpoint_table_shows_n_estimate_and_interval(senolysis, html):
    _, run = senolysis
    summary = run["summary"]
    rows = report.arm_endpoint_table(summary)
    keys = [r["key"] for r in rows]
    assert "lifespan_median_days" in keys and "healthspan_median_days" in keys
    assert not set(keys) & set(report.COMPARISON_KEYS)  # those are comparisons
    text = visible_text(html)
    for row in rows:
        for arm, cell in row["cells"].items():
            e = summary["arms"][arm]["endpoints"][row["key"]]
            assert cell["n"] == e["n"] == N
            assert cell["estimate"] == fmt_number(e["value"])
            assert cell["ci"] == f"{fmt_number(e['ci_low'])} to {fmt_number(e['ci_high'])}"
            assert e["ci_low"] <= e["value"] <= e["ci_high"]
        cells = " ".join(f"{c['n']} {c['estimate']} {c['ci']}" for c in row["cells"].values())
        assert f"{row['label']} {cells}" in text


def test_comparisons_come_from_the_arm_endpoints_and_are_in_the_page(senolysis, html):
    _, run = senolysis
    summary = run["summary"]
    comps = summary["comparisons"]
    assert [(c["arm_a"], c["arm_b"], c["measure"]) for c in comps] == [
        ("senolysis", "control", "relative_difference_pct"),
        ("senolysis", "control", "hazard_ratio")]
    ep = summary["arms"]["senolysis"]["endpoints"]
    for c, key in zip(comps, ("lifespan_gain_pct", "hazard_ratio"), strict=True):
        assert (c["value"], c["ci_low"], c["ci_high"]) == (
            ep[key]["value"], ep[key]["ci_low"], ep[key]["ci_high"])
        assert c["n_a"] == c["n_b"] == N
    # the gain is the ratio of the two medians, computed afresh from the lifespans
    med = {a: np.quantile(np.where(np.isnan(r.lifespan), np.inf, r.lifespan), 0.5,
                          method="inverted_cdf") for a, r in run["results"].items()}
    assert comps[0]["value"] == pytest.approx(100 * (med["senolysis"] / med["control"] - 1))
    assert comps[1]["value"] < 1  # senolysis lowers the hazard
    text = visible_text(html)
    assert "No between-arm comparison" not in text
    for row in report.comparison_rows(summary):
        assert (f"{row['endpoint']} {row['arms']} {row['n']} {row['measure']} "
                f"{row['value']} {row['ci']}") in text
    assert "Virtual twins" in text


def test_no_comparison_without_a_control():
    scenario, run = _run({"cohort": {"seed": 1, "compare": False, "paired": False},
                          "arms": [{"name": "a", "parameter_set": "karin2019_mouse", "n": 50},
                                   {"name": "b", "parameter_set": "raz2026_mice_F", "n": 50}]})
    assert run["summary"]["comparisons"] == []
    text = visible_text(report.render_html(scenario, run, figures=[]))
    assert "No between-arm comparison was computed for this cohort." in text


# ------------------------------------------------------------------ figures

def _arm_line(ax, name: str):
    return next(ln for ln in ax.lines if ln.get_label().startswith(name + " ")
                or ln.get_label().startswith(name + ":") or ln.get_label() == name)


def test_every_figure_has_a_legend_and_each_arm_its_fixed_colour(senolysis):
    scenario, run = senolysis
    figures = report.ageing_figures(scenario, run["results"])
    assert [f[0] for f in figures] == ["survival", "burden", "hazard"]
    for _, caption, fig in figures:
        (ax,) = fig.axes
        legend = ax.get_legend()
        assert legend is not None and caption
        texts = [t.get_text() for t in legend.get_texts()]
        for i, arm in enumerate(scenario.arms):
            assert any(t.startswith(arm.name) for t in texts)
            assert _arm_line(ax, arm.name).get_color() == ARM_COLOURS[i]
        # senolysis from 12 months is marked on the age axis (months), in its arm's colour
        mark = next(ln for ln in ax.lines if "senolysis from 12 months" in ln.get_label())
        assert mark.get_color() == ARM_COLOURS[1]
        assert mark.get_xdata()[0] == pytest.approx(365.0 / report.DAYS_PER_MONTH)
        assert ax.get_xlabel() == "age (months)"
        pyplot().close(fig)


def test_survival_curve_is_the_kaplan_meier_estimate(senolysis):
    scenario, run = senolysis
    (_, _, fig), *rest = report.ageing_figures(scenario, run["results"])
    ax = fig.axes[0]
    r = run["results"]["control"]
    line = _arm_line(ax, "control")
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    # no censoring before the end: KM is the empirical survival function of the lifespans
    life = np.sort(r.lifespan[~np.isnan(r.lifespan)])
    for age_months, s in zip(x[1:], y[1:], strict=True):
        assert s == pytest.approx(np.mean(r.lifespan > age_months * report.DAYS_PER_MONTH
                                          * (1 + 1e-12)), abs=1e-9)
    assert x[-1] * report.DAYS_PER_MONTH == pytest.approx(life[-1])
    for _, _, f in [(None, None, fig), *rest]:
        pyplot().close(f)


def test_two_species_get_their_own_figures_and_interventions_are_marked(nk_mice):
    scenario, run = nk_mice
    figures = report.ageing_figures(scenario, run["results"])
    assert [f[0] for f in figures] == ["survival-mouse", "burden-mouse", "hazard-mouse",
                                       "survival-human", "burden-human", "hazard-human"]
    mouse, human = figures[0][2].axes[0], figures[3][2].axes[0]
    assert mouse.get_xlabel() == "age (months)" and human.get_xlabel() == "age (years)"
    texts = [t.get_text() for t in mouse.get_legend().get_texts()]
    assert "mice_nk: NK infusions (4, every 0.25 years from 12 months)" in texts
    assert "mice_nk: cytokine courses (2, every 0.5 years from 18 months)" in texts
    inf = next(ln for ln in mouse.lines if "NK infusions" in ln.get_label())
    np.testing.assert_allclose(inf.get_xdata(), (1.0 + 0.25 * np.arange(4)) * 365.0
                               / report.DAYS_PER_MONTH)
    assert inf.get_color() == ARM_COLOURS[1]
    assert _arm_line(human, "women").get_color() == ARM_COLOURS[2]  # scenario position
    for _, _, fig in figures:
        pyplot().close(fig)


# ------------------------------------------------------------------ caveats

def test_caveats_list_the_assumed_and_scenario_values(nk_mice):
    scenario, run = nk_mice
    rows = report.uncertain_values(scenario)
    names = {r["name"]: r for r in rows}
    for key in ("NK share of removal", "NK per-cell killing decline",
                "perforin-independent killing", "mouse body NK pool", "infused NK killing",
                "cytokine boost", "healthspan threshold", "NK-removal bridge",
                "plausible median lifespan of mice", "plausible median lifespan of people"):
        assert names[key]["label"] == "ASSUMPTION", key
    assert names["NK share of removal"]["value"] == "0.6"
    assert "set by the scenario (default 0.5)" in names["NK share of removal"]["note"]
    assert "arms: mice, mice_nk" in names["NK share of removal"]["note"]
    assert names["infused NK cells per infusion"]["label"] == "set by the scenario"
    assert "body weight" not in names  # cells given: no per-kg dose
    # the parameter set's extrinsic mortality of 0 is an assumption of the mouse set only
    h = [r for r in rows if r["name"] == "extrinsic mortality"]
    assert len(h) == 1 and h[0]["label"] == "ASSUMPTION" and "arms: mice, mice_nk" in \
        h[0]["note"]
    html = report.render_html(scenario, run, figures=[])
    n_ass = sum(r["label"] == "ASSUMPTION" for r in rows)
    n_unv = sum(r["label"] == "UNVERIFIED" for r in rows)
    assert f"This run used {n_unv} UNVERIFIED and {n_ass} ASSUMPTION value(s)" in \
        visible_text(html)


def test_caveats_flag_implausible_results(senolysis):
    scenario, run = senolysis
    assert report.implausible_results(run["summary"], scenario) == []
    bad = copy.deepcopy(run["summary"])
    ctrl, sen = bad["arms"]["control"], bad["arms"]["senolysis"]
    ctrl["failed"]["count"] = 2
    ctrl["endpoints"]["lifespan_median_days"]["value"] = 9 * 365.0
    sen["endpoints"]["lifespan_median_days"].update(value=None, note="not reached")
    sen["endpoints"]["healthspan_median_days"]["n"] = 3
    bad["comparisons"][0]["value"] = 180.0
    flags = report.implausible_results(bad, scenario)
    assert flags == [
        f"Arm control: 2 of {N} virtual individuals not analysed (the integration gave a "
        "value that is not a number); they are left out of every endpoint.",
        f"Arm senolysis: 1 estimate(s) rest on fewer than {MIN_PATIENTS} patients and are "
        f"not reliable: {report.ENDPOINTS['healthspan_median_days']} (n = 3).",
        "Arm control: median lifespan 9 years, outside the plausible range for mice (1 to "
        "4 years); check the parameters and the interventions.",
        f"Arm senolysis: the median lifespan was not reached within follow-up "
        f"({sen['alive_at_end']} of {N} alive at the end); lengthen the follow-up.",
        "Arm senolysis: median lifespan 180 % against control, beyond ±100 % (no "
        "intervention is known to double a mammal's median lifespan); check the "
        "intervention's strength."]
    html = report.render_html(scenario, {**run, "summary": bad}, figures=[])
    text = visible_text(html)
    assert "Flagged automatically:" in text and "outside the plausible range for mice" in text


# ------------------------------------------------------------------ files and layering

def test_files_written(page, senolysis):
    _, run = senolysis
    names = {p.name for p in page.iterdir()}
    assert {"summary.json", "report.html", "report.png", "lifespans.csv"} <= names
    assert (page / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import json

    assert json.loads((page / "summary.json").read_text())["comparisons"] == \
        run["summary"]["comparisons"]


def _imports(folder: Path) -> set[str]:
    out = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.add(node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
    return out


def test_layers_ageing_knows_no_report_and_report_no_cli():
    src = ROOT / "src" / "nksim"
    ageing = _imports(src / "disease" / "ageing")
    assert not {m for m in ageing if m.startswith(("nksim.report", "nksim.cli"))}
    assert not {m for m in _imports(src / "report") if re.match(r"nksim\.cli", m)}
    cli = (src / "cli_ageing.py").read_text(encoding="utf-8")
    assert "nksim.report.ageing" in cli and "nksim.disease.ageing" in cli


@pytest.mark.slow
def test_ageing_report_renders_in_headless_chromium(page, tmp_path):
    dom, console = browse(page / "report.html", tmp_path)
    assert console == [], console
    images, broken = probe(dom)
    assert images == 3 and broken == 0
    for section in SECTIONS:
        assert f'id="{section}"' in dom
    assert "Table 1: the arms at the start" in dom
    assert "Flow of virtual individuals" in dom


def test_an_endpoint_of_people_only_is_not_shown_as_missing_for_mice(nk_mice):
    _, run = nk_mice
    rows = report.arm_endpoint_table(run["summary"])
    years = next(r for r in rows if r["key"] == "lifespan_median_years")
    assert years["cells"]["mice"] == {"n": "–", "estimate": "–",
                                      "ci": "not computed for mice"}
    e = run["summary"]["arms"]["women"]["endpoints"]["lifespan_median_years"]
    assert years["cells"]["women"]["estimate"] == fmt_number(e["value"])
    days = run["summary"]["arms"]["women"]["endpoints"]["lifespan_median_days"]["value"]
    assert e["value"] == pytest.approx(days / 365.0)
