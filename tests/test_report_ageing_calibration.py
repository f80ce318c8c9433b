"""The ageing report says plainly when an arm's outcome is its calibration target (the
bundled Baker-like senolysis: +25 % median lifespan) and what its intervals cover."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from nksim.data import __file__ as data_init
from nksim.disease.ageing._run import run_scenario
from nksim.disease.ageing._scenario import parse_scenario
from nksim.report import ageing as report
from test_report_render import visible_text

SCENARIOS = Path(data_init).parent / "scenarios"


def _raw(n: int = 200, **changes) -> dict:
    raw = tomllib.loads((SCENARIOS / "ageing_mice_senolysis.toml").read_text("utf-8"))
    for arm in raw["arms"]:
        arm["n"] = n
        arm.update(changes)
    return raw


@pytest.fixture(scope="module")
def page() -> str:
    scenario = parse_scenario(_raw())
    return visible_text(report.render_html(scenario, run_scenario(scenario), figures=[]))


def test_calibrated_gain_is_said_to_reproduce_its_target_not_to_predict(page):
    assert "reproduces this calibration target" in page
    assert "not a prediction" in page
    assert "chosen (or calibrated)" not in page
    assert ("calibration target (+25 % median lifespan against untreated controls (Baker "
            "2016; nksim's calibration)): reproduced by construction, not a prediction") in page


def test_the_page_says_what_the_intervals_cover(page):
    assert "cover only the Monte-Carlo noise" in page
    assert "every individual sharing the same parameter values" in page
    assert "not cover the uncertainty of the model's parameters" in page


def test_a_rate_not_calibrated_is_not_called_calibrated():
    raw = _raw(n=50)
    del raw["arms"][1]["senolysis"][0]["calibrated_to"]  # the scenario does not say so
    scenario = parse_scenario(raw)
    assert report.calibration_notes(scenario, {"comparisons": []}) == []
    row = next(r for r in report.uncertain_values(scenario)
               if r["name"] == "senolytic removal rate")
    assert row["label"] == "set by the scenario" and "calibrated" not in row["note"]
    cal = parse_scenario(_raw(n=50))
    row = next(r for r in report.uncertain_values(cal) if r["name"] == "senolytic removal rate")
    assert "reproduces its calibration target" in row["note"]
