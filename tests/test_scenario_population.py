"""``nksim simulate`` scenarios with covariates: per-kg and per-m² doses resolved for each
patient from its own weight or body-surface area, covariate effects on parameters, and a
per-kg dose without weights refused in one line."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.config import Scenario, validate
from nksim.errors import UserError
from nksim.population import CovariateSpec, sample_covariates
from nksim.scenario import plan_simulation

BASE = """
[model]
name = "depillis2006"
parameter_set = "patient9"
[[doses]]
state = "L"
amount = "1e7 cell/kg"
times = [1]
[simulation]
t_end = 2
record_every = 1
[population]
size = 5
seed = 4
[population.covariates]
age_years = [20, 60]
"""


def plan(text: str, base_dir="."):
    return plan_simulation(validate(Scenario, tomllib.loads(text)), base_dir)


def test_per_kg_dose_is_weight_times_dose():
    result = plan(BASE).run(progress=False)
    weights = sample_covariates(5, 4, CovariateSpec(age_years=(20.0, 60.0)))["weight_kg"]
    after = result.dataset["L"].sel(time=1.0).values  # post-dose record at the dose time
    # L holds ~10 cells before the dose: the value after it is 1e7 cell/kg x the weight
    assert np.allclose(after, 1e7 * weights.to_numpy(), rtol=1e-3)
    assert len(set(np.round(after, -3))) == 5  # five different weights, five doses


def test_per_m2_dose_uses_body_surface_area():
    text = BASE.replace('amount = "1e7 cell/kg"', 'amount = "1e8 cell/m^2"')
    result = plan(text).run(progress=False)
    bsa = sample_covariates(5, 4, CovariateSpec(age_years=(20.0, 60.0)))["bsa_m2"].to_numpy()
    after = result.dataset["L"].sel(time=1.0).values
    assert np.allclose(after, 1e8 * bsa, rtol=1e-3)


def test_per_kg_dose_without_weights_is_one_line():
    text = BASE.replace("[population.covariates]\nage_years = [20, 60]\n", "")
    with pytest.raises(UserError) as info:
        plan(text)
    assert str(info.value).startswith("doses[0].amount: a per kg dose needs body weights")


def test_per_kg_dose_in_the_wrong_unit_is_refused_before_running():
    text = BASE.replace('amount = "1e7 cell/kg"', 'amount = "1 mg/kg"')
    with pytest.raises(UserError, match=r"^doses\[0\]\.amount: .*does not convert"):
        plan(text)


def test_covariate_effect_scales_the_parameter_allometrically():
    text = BASE + """
[[population.covariate_effects]]
parameter = "alpha"
covariate = "weight_kg"
reference = 70
exponent = 0.75
source = "allometric production rate (ASSUMPTION)"
"""
    with_effect = plan(text)
    without = plan(BASE)
    j = with_effect.model.parameter_names.index("alpha")
    weights = with_effect.covariates["weight_kg"].to_numpy()
    assert np.allclose(with_effect.parameters[:, j] / without.parameters[:, j],
                       (weights / 70.0) ** 0.75, rtol=1e-12)
    others = [k for k in range(with_effect.parameters.shape[1]) if k != j]
    assert np.array_equal(with_effect.parameters[:, others], without.parameters[:, others])


@pytest.mark.parametrize("coefficient", [1e6, -1e6])
def test_a_covariate_effect_that_overflows_is_refused(coefficient):
    """exp(1e6 (weight - 70)) is 0 or infinity: it was clipped to the parameter's bound for
    every patient, silently, with numpy's warning on stderr (found by a review)."""
    text = BASE + f"""
[[population.covariate_effects]]
parameter = "alpha"
covariate = "weight_kg"
model = "exponential"
reference = 70
coefficient = {coefficient}
source = "a typo (ASSUMPTION)"
"""
    with pytest.raises(UserError, match=r"covariate_effects\[0\]: the effect gives a factor of 0"):
        plan(text)


def test_covariates_file_relative_to_the_scenario(tmp_path):
    (tmp_path / "cov.csv").write_text("patient,weight_kg,height_cm\nA,50,160\nB,100,180\n")
    text = BASE.replace("size = 5\n", "").replace(
        "[population.covariates]\nage_years = [20, 60]\n", 'covariates_file = "cov.csv"\n')
    result = plan(text, tmp_path).run(progress=False)
    assert np.allclose(result.dataset["L"].sel(time=1.0).values, [5e8, 1e9], rtol=1e-3)


def test_covariates_and_parameters_files_are_matched_by_patient_id(tmp_path):
    """Rows in another order in the two files: each patient's per-kg dose uses its own
    weight (they were paired by row, so patient 1 got patient 3's weight; found by a
    review), and files with other patients are refused in one line."""
    (tmp_path / "cov.csv").write_text("patient,weight_kg,height_cm\n3,30,140\n1,10,80\n"
                                      "2,20,110\n")
    (tmp_path / "par.csv").write_text("patient,gamma\n1,0.9\n2,0.9\n3,0.9\n")
    text = BASE.replace("size = 5\n", "").replace(
        "[population.covariates]\nage_years = [20, 60]\n",
        'covariates_file = "cov.csv"\nparameters_file = "par.csv"\n')
    result = plan(text, tmp_path).run(progress=False)
    assert np.allclose(result.dataset["L"].sel(time=1.0).values, [1e8, 2e8, 3e8], rtol=1e-3)
    (tmp_path / "par.csv").write_text("patient,gamma\n1,0.9\n2,0.9\n4,0.9\n")
    with pytest.raises(UserError, match="population.covariates_file: its patient ids are not"):
        plan(text, tmp_path)


def test_a_covariates_file_alone_keeps_its_patient_ids(tmp_path):
    """Output rows carry the file's ids (they were numbered 0, 1, ... by row, so joining
    the output to the covariate table on ``patient`` gave other patients' weights)."""
    (tmp_path / "cov.csv").write_text("patient,weight_kg,height_cm\n17,10,80\n5,20,110\n")
    text = BASE.replace("size = 5\n", "").replace(
        "[population.covariates]\nage_years = [20, 60]\n", 'covariates_file = "cov.csv"\n')
    (tmp_path / "s.toml").write_text(text)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "timecourse.csv").set_index(["patient", "time"])
    assert table.loc[(17, 1.0), "L"] == pytest.approx(1e8, rel=1e-3)  # 10 kg
    assert table.loc[(5, 1.0), "L"] == pytest.approx(2e8, rel=1e-3)  # 20 kg


@pytest.mark.parametrize("change, expected", [
    (("age_years = [20, 60]", "age_years = [20, true]"),
     "population.covariates.age_years[1]: must be a number"),
    (("age_years = [20, 60]", "age_years = [20, 60]\nfemale_fraction = 1.5"),
     "population.covariates.female_fraction: must be <= 1"),
    (("age_years = [20, 60]", "age_years = [20, 60]\nbsa_formula = 'mostelller'"),
     "population.covariates.bsa_formula: must be 'mosteller' or 'dubois'"),
    (("age_years = [20, 60]", "age_years = [20, 60]\nage_yeras = 1"),
     "population.covariates.age_yeras: unknown field; did you mean 'age_years'?"),
])
def test_covariate_fields_are_checked(change, expected):
    with pytest.raises(UserError) as info:
        validate(Scenario, tomllib.loads(BASE.replace(*change)))
    assert str(info.value).startswith(expected)


def test_a_patients_random_draws_follow_its_id_not_its_row_in_a_file(tmp_path):
    """Patient 7's parameters are the same whether the covariates file holds patients 0-9
    or only 5-9 (they followed the row: 7 drew patient 2's numbers in the second file,
    and two files of one study gave different patients identical random effects); and a
    parameters file's patients get the covariates drawn for their ids."""
    table = sample_covariates(10, seed=1)
    table.to_csv(tmp_path / "all.csv", index=False)
    table.iloc[5:].to_csv(tmp_path / "half.csv", index=False)
    plans = {}
    for name in ("all", "half"):
        plans[name] = plan(BASE.replace("size = 5\n", "lognormal_sigma = 0.2\n").replace(
            "[population.covariates]\nage_years = [20, 60]\n",
            f'covariates_file = "{name}.csv"\n'), tmp_path)
    full, half = plans["all"], plans["half"]
    assert list(half.patient_ids) == [5, 6, 7, 8, 9]
    np.testing.assert_array_equal(half.parameters, full.parameters[5:])
    # text ids: keyed by the id, so the same patient draws the same in any file
    for name, rows in (("a", [0, 1, 2]), ("b", [2, 1])):
        t = table.iloc[rows].assign(patient=[f"p{i}" for i in rows])
        t.to_csv(tmp_path / f"{name}.csv", index=False)
    a, b = (plan(BASE.replace("size = 5\n", "lognormal_sigma = 0.2\n").replace(
        "[population.covariates]\nage_years = [20, 60]\n", f'covariates_file = "{n}.csv"\n'),
        tmp_path) for n in ("a", "b"))
    np.testing.assert_array_equal(b.parameters[0], a.parameters[2])  # patient p2
    # a parameters file with [population.covariates]: covariates drawn by the file's ids
    (tmp_path / "par.csv").write_text("patient,a\n7,1e-5\n3,1e-5\n")
    both = plan(BASE.replace("size = 5\n", 'parameters_file = "par.csv"\n'), tmp_path)
    drawn = sample_covariates(10, 4, CovariateSpec(age_years=(20, 60)))
    np.testing.assert_array_equal(both.covariates["weight_kg"],
                                  drawn["weight_kg"].to_numpy()[[7, 3]])


def test_an_age_distribution_reaching_outside_0_to_130_years_is_refused():
    """A normal age (mean 8, sd 6) drew ages down to -8.8 years, silently given a 2-year
    old's weight; the list form and covariate files were already held to 0-130. The
    distribution's range is checked, not the draws (so the answer does not depend on n)."""
    text = BASE.replace("size = 5", "size = 3").replace(
        "age_years = [20, 60]", "age_years = { normal = { mean = 8, sd = 6 } }")
    with pytest.raises(UserError, match=r"population.covariates.age_years: the distribution "
                                        r"reaches ages outside 0-130 years"):
        plan(text)
    bounded = plan(text.replace("sd = 6 }", "sd = 6, low = 0, high = 18 }"))
    assert bounded.covariates["age_years"].between(0, 18).all()
    # a log-normal age can be bounded too
    lognormal = plan(BASE.replace("age_years = [20, 60]", "age_years = { lognormal = { "
                                  "median = 40, sigma = 0.3, low = 18, high = 90 } }"))
    assert lognormal.covariates["age_years"].between(18, 90).all()
