"""Between-patient variability: OMEGA blocks, covariate models, uncertain THETA.

Truths: the declared OMEGA (sample variances tested with chi-square bounds, sample
correlations with Fisher-z bounds, both at a two-sided 1e-6 level with Bonferroni over
the entries) and closed forms of the covariate models.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nksim.errors import UserError
from nksim.model import Citation, Model, Parameter, State
from nksim.population import (
    CovariateEffect,
    omega_from_sd,
    omega_matrix,
    population_parameters,
    sample_covariates,
)

TEST = Citation("test", "toy model written for the tests", "assumption")
PK = Model(
    name="pk_toy", title="pk", description="one-compartment toy",
    states=(State("A", "mg", "amount"),),
    parameters=(Parameter("CL", 5.0, "L/day", "clearance", TEST),
                Parameter("V", 40.0, "L", "volume", TEST),
                Parameter("ka", 1.2, "1/day", "absorption", TEST),
                Parameter("F", 0.8, "dimensionless", "bioavailability", TEST, bounds=(0, 1))),
    equations={"A": "-CL/V*A"},
)
THETA = PK.parameter_vector()
OMEGA = omega_from_sd({"CL": 0.3, "V": 0.2, "ka": 0.5},
                      {("CL", "V"): 0.6, ("CL", "ka"): -0.3, ("V", "ka"): 0.1})
ALPHA = 1e-6


def test_sampled_random_effects_have_the_declared_covariance():
    n = 4000
    p = population_parameters(PK, n, seed=1, omega=OMEGA)
    eta = np.log(p[:, :3] / THETA[:3])
    om = OMEGA.to_numpy()
    k = 3
    a = ALPHA / (k + k * (k - 1) / 2)  # Bonferroni over 3 variances and 3 correlations
    # variances: (n-1) s^2 / sigma^2 ~ chi2(n-1) (mean of eta known to be 0: use n dof)
    s2 = (eta ** 2).mean(axis=0)
    lo, hi = stats.chi2.ppf([a / 2, 1 - a / 2], n) / n
    assert np.all((s2 / np.diag(om) > lo) & (s2 / np.diag(om) < hi)), s2 / np.diag(om)
    r = np.corrcoef(eta.T)
    rho = om / np.sqrt(np.outer(np.diag(om), np.diag(om)))
    half = stats.norm.ppf(1 - a / 2) / math.sqrt(n - 3)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert abs(math.atanh(r[i, j]) - math.atanh(rho[i, j])) < half, (i, j, r[i, j])
    # the mean of eta is 0 (z test)
    assert np.all(np.abs(eta.mean(axis=0)) < stats.norm.ppf(1 - a / 2) * np.sqrt(np.diag(om) / n))
    # parameters not in OMEGA are untouched
    assert np.all(p[:, 3] == THETA[3])


def test_a_patient_is_the_same_whatever_the_size_or_batch():
    whole = population_parameters(PK, 30, seed=3, omega=OMEGA)
    part = population_parameters(PK, 10, seed=3, omega=OMEGA, start=20)
    np.testing.assert_array_equal(whole[20:], part)


def test_perfect_correlation_is_positive_semi_definite_and_works():
    om = omega_from_sd({"CL": 0.3, "V": 0.3}, {("CL", "V"): 1.0})
    p = population_parameters(PK, 50, seed=0, omega=om)
    np.testing.assert_allclose(np.log(p[:, 0] / THETA[0]), np.log(p[:, 1] / THETA[1]),
                               atol=1e-12)


@pytest.mark.parametrize("omega, match", [
    ((["CL", "V"], [[0.1, 0.2], [0.2, 0.1]]), "positive semi-definite"),
    ((["CL", "V"], [[0.1, 0.01], [0.02, 0.1]]), "symmetric"),
    ((["CL", "V"], [[0.1, 0.0]]), "2 x 2"),
    ({"CL": float("nan")}, "finite"),
    ({"CL": -0.1}, "positive semi-definite"),
])
def test_bad_omega_is_a_clear_error(omega, match):
    with pytest.raises(UserError, match=match) as err:
        omega_matrix(omega)
    assert err.value.field == "omega"  # the argument; the scenario loader names its field


def test_omega_naming_an_unknown_parameter():
    with pytest.raises(UserError, match="no parameter 'Q'"):
        population_parameters(PK, 3, seed=0, omega={"Q": 0.1})


def test_allometric_exponential_and_categorical_models_match_closed_forms():
    cov = pd.DataFrame({"weight_kg": [35.0, 70.0, 140.0], "age_years": [10.0, 40.0, 70.0],
                        "sex": ["F", "M", "F"]})
    effects = [CovariateEffect("CL", "weight_kg", "power", reference=70, exponent=0.75),
               CovariateEffect("V", "weight_kg", "power", reference=70, exponent=1.0),
               CovariateEffect("ka", "age_years", "exponential", reference=40, coefficient=-0.01),
               CovariateEffect("CL", "sex", "categorical", factors={"F": 0.8, "M": 1.0})]
    p = population_parameters(PK, 3, seed=0, covariates=cov, effects=effects)
    w = cov["weight_kg"].to_numpy()
    np.testing.assert_allclose(p[:, 0], 5.0 * (w / 70) ** 0.75 * np.array([0.8, 1.0, 0.8]))
    np.testing.assert_allclose(p[:, 1], 40.0 * w / 70)
    np.testing.assert_allclose(p[:, 2], 1.2 * np.exp(-0.01 * (cov["age_years"] - 40)))
    assert p[1, 0] == pytest.approx(5.0)  # the reference patient gets THETA
    # halving the weight multiplies clearance by 2^-0.75 = 0.5946
    assert p[0, 0] / 0.8 / p[1, 0] == pytest.approx(0.5946, abs=1e-4)


def test_effects_with_omega_and_sampled_covariates():
    cov = sample_covariates(200, 4)
    eff = [CovariateEffect("CL", "weight_kg", reference=70, exponent=0.75)]
    p = population_parameters(PK, 200, seed=4, omega={"CL": 0.09}, covariates=cov, effects=eff)
    eta = np.log(p[:, 0] / (5.0 * (cov["weight_kg"].to_numpy() / 70) ** 0.75))
    eta_alone = np.log(population_parameters(PK, 200, seed=4, omega={"CL": 0.09})[:, 0] / 5.0)
    np.testing.assert_allclose(eta, eta_alone, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "sigmoid"}, "model must be one of"),
    ({"model": "power", "reference": 70}, "needs exponent"),
    ({"model": "power", "reference": 0, "exponent": 1}, "must be > 0"),
    ({"model": "categorical"}, "needs factors"),
])
def test_bad_effects(kwargs, match):
    with pytest.raises(UserError, match=match):
        CovariateEffect("CL", "weight_kg", **kwargs)


def test_effect_errors_at_sampling():
    cov = pd.DataFrame({"sex": ["F", "X"]})
    with pytest.raises(UserError, match="no factor for sex"):
        population_parameters(PK, 2, seed=0, covariates=cov, effects=[
            CovariateEffect("CL", "sex", "categorical", factors={"F": 0.8, "M": 1.0})])
    with pytest.raises(UserError, match="unknown covariate 'weight_kg'"):
        population_parameters(PK, 2, seed=0, covariates=cov, effects=[
            CovariateEffect("CL", "weight_kg", reference=70, exponent=0.75)])
    with pytest.raises(UserError, match="need covariates"):
        population_parameters(PK, 2, seed=0, effects=[
            CovariateEffect("CL", "weight_kg", reference=70, exponent=0.75)])


def test_theta_uncertainty_is_drawn_once_per_replicate():
    unc = {"CL": 0.04, "V": 0.01}
    one = population_parameters(PK, 5, seed=9, theta_uncertainty=unc, replicate=0)
    assert np.all(one == one[0])  # every patient of a replicate shares THETA
    n = 1500
    thetas = np.array([population_parameters(PK, 1, seed=9, theta_uncertainty=unc,
                                             replicate=r)[0] for r in range(n)])
    log_ratio = np.log(thetas[:, :2] / THETA[:2])
    s2 = (log_ratio ** 2).mean(axis=0)
    lo, hi = stats.chi2.ppf([ALPHA / 4, 1 - ALPHA / 4], n) / n
    assert np.all((s2 / [0.04, 0.01] > lo) & (s2 / [0.04, 0.01] < hi))
    assert np.all(thetas[:, 2:] == THETA[2:])


def test_omega_as_a_scenario_table():
    om = omega_matrix({"names": ["CL", "V"], "matrix": [[0.09, 0.02], [0.02, 0.04]]})
    assert om.loc["CL", "V"] == 0.02 and list(om.index) == ["CL", "V"]
