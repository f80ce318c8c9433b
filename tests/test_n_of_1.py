"""One case proves nothing: the n-of-1 view of one virtual pancreatic patient. With an
inactive product on a stable tumour, apparent responders arise from measurement error at
the analytically predicted rate; the same treatment gives different best responses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.config import TrialScenario, read_toml, validate
from nksim.errors import UserError
from nksim.trials._n_of_1 import apparent_response_probability, run_n_of_1

SCENARIO = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios/pancreatic_nk_gs.toml"


def _scenario(sigma: float = 0.2, n: int = 20):
    raw = read_toml(SCENARIO)
    raw["cohort"]["measurement_sigma"] = sigma
    raw["cohort"]["n_candidates"] = n
    return validate(TrialScenario, raw)


def _single_lesion_index(scenario) -> int:
    from nksim.trials._eligibility import screen
    from nksim.trials._setting import get_setting

    s = get_setting("pancreatic")
    eligible, _ = screen(s.candidates(scenario), s.criteria(scenario))
    ones = [i for i, t in enumerate(eligible["lesions_mm"].astype(str)) if ";" not in t]
    assert ones, "no single-lesion candidate"
    return ones[0]


def test_inactive_product_gives_apparent_responders_at_the_analytic_rate():
    sc = _scenario(0.2)
    reps = 2000
    res = run_n_of_1(sc, patient=_single_lesion_index(sc), replicates=reps, inactive=True)
    np.testing.assert_allclose(res.true_change, 0.0, atol=1e-6)  # the tumour is stable
    p = apparent_response_probability(0.2)  # Phi(ln 0.7 / (0.2 sqrt 2)) = 0.1036
    assert p == pytest.approx(0.10365, abs=1e-4)
    n = int(np.isfinite(res.changes[:, 0]).sum())
    assert res.apparent_first_visit_rate() == pytest.approx(p, abs=4 * math.sqrt(
        p * (1 - p) / n))
    # best response over all visits: more "responders" than at the first visit alone
    share_pr = res.best_response_counts().get("PR", 0) / reps
    assert share_pr > p


def test_no_measurement_error_means_no_apparent_response():
    sc = _scenario(0.0)
    res = run_n_of_1(sc, patient=_single_lesion_index(sc), replicates=50, inactive=True)
    assert res.apparent_first_visit_rate() == 0.0
    assert "PR" not in res.best_response_counts() and "CR" not in res.best_response_counts()


def test_same_treatment_same_patient_different_outcomes():
    sc = _scenario(0.08)
    res = run_n_of_1(sc, patient=0, replicates=200)
    assert len(res.best_response_counts()) >= 2  # one course is one draw
    assert res.endpoints["os_months"].nunique(dropna=False) > 100


def test_bad_input_is_a_user_error():
    sc = _scenario()
    with pytest.raises(UserError) as e:
        run_n_of_1(sc, arm="magic")
    assert e.value.field == "arm"
    with pytest.raises(UserError):
        run_n_of_1(sc, patient=10_000)
    with pytest.raises(UserError):
        apparent_response_probability(0.0)


def test_cli_n_of_1_writes_json_and_figure(tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["n-of-1", str(SCENARIO), "--replicates", "30",
                                   "--inactive", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Research use only" in res.output
    doc = json.loads((out / "n_of_1.json").read_text())
    assert doc["replicates"] == 30 and doc["inactive"] and (out / "n_of_1.png").exists()


@pytest.mark.parametrize("args, field", [
    (["--arm", "magic"], "arm"),
    (["--patient", "-1"], "patient"),
    (["--replicates", "0"], "replicates"),
])
def test_cli_n_of_1_bad_input_one_line_exit_2(tmp_path, args, field):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["n-of-1", str(SCENARIO), *args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith("nksim: error:") and field in line, line
    assert not out.exists()


def test_the_arms_own_parameters_are_used_as_in_the_trial(monkeypatch):
    # [arms.parameters] (e.g. the paediatric CD19/BCMA dual CAR-NK) were dropped: n-of-1
    # simulated another product than the trial's arm
    import nksim.engine

    raw = read_toml(SCENARIO)
    raw["cohort"]["n_candidates"] = 20
    raw["arms"][0]["parameters"] = {"pdac_nk_gain": 7.5}
    scenario = validate(TrialScenario, raw)
    seen = {}

    class Stop(Exception):
        pass

    def capture(model, times, *, parameters, **kw):
        seen.update(zip(model.parameter_names, np.asarray(parameters, float)[0], strict=True))
        raise Stop

    monkeypatch.setattr(nksim.engine, "simulate", capture)
    with pytest.raises(Stop):
        run_n_of_1(scenario, arm=scenario.arms[0].name, patient=0, replicates=1)
    assert seen["pdac_nk_gain"] == 7.5


def test_a_dose_too_small_to_model_names_the_arms_dose_field():
    raw = read_toml(SCENARIO)
    raw["cohort"]["n_candidates"] = 20
    raw["arms"][0]["regimen"].pop("nk_dose_levels", None)
    raw["arms"][0]["regimen"].pop("nk_dose_weights", None)
    raw["arms"][0]["dose"] = "100 cell"
    raw["arms"][0].pop("dose_per_kg", None)
    scenario = validate(TrialScenario, raw)
    with pytest.raises(UserError, match=r"^arms\[0\]\.dose: gives"):
        run_n_of_1(scenario, arm=scenario.arms[0].name, patient=0, replicates=1)
