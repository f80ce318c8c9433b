"""A virtual patient whose model fails is reported for that patient and never crashes the
trial: no baseline steady state -> left out at screening with the reason logged
(``model_baseline``); a failed simulation -> ``status = failed`` with the solver's message,
every outcome column null (never a NaN cast to a number or a flag), out of the summary."""

from __future__ import annotations

import json
import math
import textwrap
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.config import TrialScenario
from nksim.disease import sle_initial_state
from nksim.disease._sle import _P, _STABILITY_MARGIN, _hill, _stable_from
from nksim.disease._sle_activity import sledai
from nksim.errors import UserError
from nksim.scenario import validate
from nksim.trials import plan_trial, run_trial
from nksim.trials._setting import get_setting

#: Adult CAR-T lupus trial with very wide log-normal variability (sigma 5): candidate 13's
#: loop saturates below 1e-12 of its largest anti-dsDNA, where the stability root was
#: bracketed before (the root finder raised, and the run crashed).
WIDE = textwrap.dedent("""\
    [trial]
    name = "wide variability"
    seed = 2022
    patients_per_arm = 2
    follow_up_days = 200
    run_in_days = 30
    [cohort]
    population = "adult"
    n_candidates = 14
    sledai_median = 16
    sledai_sigma = 0.2
    [eligibility]
    min_age_years = 18
    max_age_years = "off"
    min_failed_regimens = 2
    min_sledai = 6
    [variability]
    lognormal_sigma = { all = 5, Emax_INF = 0.0, Emax_auto = 0.0, f_INF_PB = 0.0, n_ic = 0.0 }
    [[arms]]
    name = "car_t"
    product = "car_t"
    dose_per_kg = "1e6 cell/kg"
    [arms.steroids]
    after = "stop"
    """)

#: Outcome columns of the lupus setting (what ``patient_endpoints`` computes).
OUTCOMES = ["crs_grade", "icans_grade", "crs_any", "crs_grade3plus", "icans_any",
            "peak_il6_pg_ml", "peak_car_cells_ul", "carnk_expanded", "b_depleted",
            "b_cell_return_day", "sledai_day0", "sledai_6m", "doris_3m", "doris_6m", "sri4_6m",
            "flare_6m", "steroid_free_6m", "doris_12m", "lldas_12m", "lldas_or_doris_12m",
            "flare_12m"]


def _scenario(text: str) -> TrialScenario:
    return validate(TrialScenario, tomllib.loads(text))


# ------------------------------------------------------------------ baseline (bug 1)
def test_stability_root_found_when_the_loop_saturates_early():
    # candidate 13 of WIDE: G ~ 1.2e16 IU/mL, K_ic ~ 138: slope < 0 already at 1e-12 G
    p = _P({"n_ic": 4.0, "K_ic": 138.15066004340048, "p_PB": 1562.3694940390178,
            "p_LL": 0.7515025303063768, "f_LL": 2.2402085545989848e-05, "d_LL": 10.0,
            "d_AB": 0.000323226426098606, "rho_PB": 583.9980338103701,
            "s_B": 4193.447546082248, "d_PB": 0.001})
    ab = _stable_from(p)
    assert 0 < ab < 1e-12 * 1.2e16
    assert math.isclose(p.n_ic * (1 - _hill(p, ab)), _STABILITY_MARGIN, rel_tol=1e-9)


def test_wide_variability_trial_plans_every_baseline():
    plan = plan_trial(_scenario(WIDE))  # raised ValueError (f(a) and f(b) ...) before
    log = plan.screening_log
    assert 13 in set(log.loc[log["eligible"].astype(bool), "candidate"])
    excluded = log[log["failed_criteria"].astype(str).eq("model_baseline")]
    assert excluded["reasons"].str.startswith("baseline not representable").all()
    # the root search of the stability bound finds every candidate's baseline: none is
    # excluded for want of one (the candidates the fix concerns are among the eligible)
    assert not log["reasons"].astype(str).str.contains("no baseline steady state").any()


def test_no_baseline_steady_state_is_a_per_patient_user_error():
    model = get_setting("sle").model(_scenario(WIDE))
    with pytest.raises(UserError, match="no baseline steady state found"):
        sle_initial_state(model, {"d_LL": 0.0}, 16)  # infinite gain: no stable disease root


def test_a_patient_without_baseline_leaves_at_screening_the_others_stay():
    scenario = _scenario(WIDE.replace("all = 5", "all = 0.1"))
    setting = get_setting("sle")
    model = setting.model(scenario)
    patients = setting.candidates(scenario).iloc[:3].reset_index(drop=True)
    params = np.tile(model.parameter_vector(), (3, 1))
    params = setting.covariate_parameters(model, patients, params)
    params[1, model.parameter_names.index("d_LL")] = 0.0
    base = setting.baseline(model, patients, params, scenario)
    cand = patients["candidate"].tolist()
    assert list(base.excluded) == [cand[1]]
    assert "no baseline steady state found" in base.excluded[cand[1]]
    assert base.patients["candidate"].tolist() == [cand[0], cand[2]]
    assert np.isfinite(base.initial).all()


# ------------------------------------------------------------------ failed solves (bug 2)
@pytest.fixture(scope="module")
def huge_dose(small_trial_toml) -> str:
    """CAR-T at 1e300 cells/kg (every solve fails) beside a control arm (solves fine)."""
    text = small_trial_toml(name="failing arm", seed=7, patients_per_arm=2,
                            follow_up_days=200, n_candidates=40, arms=("car_t", "control"))
    assert 'dose_per_kg = "1e6 cell/kg"' in text
    return text.replace('dose_per_kg = "1e6 cell/kg"', 'dose_per_kg = "1e300 cell/kg"')


def _check_patients(patients: pd.DataFrame) -> None:
    failed = patients[patients["arm"].eq("car_t")]
    ok = patients[patients["arm"].eq("control")]
    assert len(failed) == 2 and len(ok) == 2
    assert failed["status"].eq("failed").all()
    assert failed["message"].astype(str).str.len().gt(0).all()
    assert not failed["message"].astype(str).eq("ok").any()
    assert failed[OUTCOMES].isna().all().all(), failed[OUTCOMES].T
    assert ok["status"].eq("ok").all()
    assert ok[["crs_grade", "sledai_day0", "sledai_6m", "doris_6m", "flare_6m"]] \
        .notna().all().all()


def test_failed_patients_have_null_outcomes_in_memory(huge_dose):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "invalid value encountered in cast")
        result = run_trial(_scenario(huge_dose))
    patients = pd.concat([a.patients.assign(arm=a.name) for a in result.arms],
                         ignore_index=True)
    _check_patients(patients)
    arms = {a.name: a for a in result.arms}
    assert arms["car_t"].summary["n_failed_integration"] == 2
    assert arms["car_t"].summary["endpoints"]["doris_remission_6m_rate"]["n"] == 0
    assert arms["control"].summary["endpoints"]["doris_remission_6m_rate"]["n"] == 2
    # what is known before the simulation still counts: both were manufactured (and,
    # unless it failed, infused and paid for) whatever the solver did afterwards
    ends = arms["car_t"].summary["endpoints"]
    assert ends["manufacturing_failure_rate"]["n"] == 2
    infused = int(arms["car_t"].patients["infused"].sum())
    assert ends["cost_per_patient_median"]["n"] == infused > 0
    assert arms["car_t"].summary["n_infused"] == infused  # the same count (it was 0)
    # nullable dtypes: a missing outcome is never a number cast from NaN
    car_t = arms["car_t"].patients
    assert str(car_t["sledai_6m"].dtype) == "Int64"
    assert str(car_t["flare_6m"].dtype) == "boolean"


def test_failed_patients_have_null_outcomes_on_disk(tmp_path: Path, huge_dose):
    (tmp_path / "t.toml").write_text(huge_dose)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "invalid value encountered in cast")
        res = CliRunner().invoke(cli, ["trial", str(tmp_path / "t.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "invalid value encountered" not in res.output
    text = (out / "patients.csv").read_text()
    assert "-9223372036854775808" not in text
    _check_patients(pd.read_csv(out / "patients.csv"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arms"]["car_t"]["n_failed_integration"] == 2
    assert summary["arms"]["car_t"]["endpoints"]["crs_any_rate"]["n"] == 0


def test_sledai_of_a_failed_time_course_is_nan_not_a_cast():
    data = {"INF": np.array([[3.2, np.nan]]), "AB": np.array([[50.0, np.nan]]),
            "C3": np.array([[80.0, np.nan]])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = sledai(data)
    assert score[0, 0] == 3 + 2 + 2 and np.isnan(score[0, 1])
    finite = sledai({k: v[:, :1] for k, v in data.items()})
    assert finite.dtype.kind == "i"
