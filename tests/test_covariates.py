"""Covariates of virtual patients against independent truths.

Truths: the CDC 2000 files' own percentile columns (P3/P97, not used by the code),
binomial and Fisher-z confidence bounds for sampled frequencies and correlations,
published worked values of the BSA formulas, and the trial module's candidates drawn
from the same streams.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nksim.errors import UserError
from nksim.population import (
    CovariateSpec,
    body_surface_area,
    cdc_stature_lms,
    distribution,
    lms_value,
    read_covariates,
    sample_covariates,
)

Z3, Z97 = stats.norm.ppf(0.03), stats.norm.ppf(0.97)

# Rows of CDC statage.csv (Sex 1 = boys, 2 = girls): age in months, P3, P97 (cm).
# Copied from the file's own percentile columns, which the code does not use.
STATAGE_PERCENTILES = [
    ("M", 24.0, 79.91084447, 93.02265441),
    ("M", 60.5, 100.331847, 117.831386),
    ("M", 132.5, 130.8126976, 157.2715342),
    ("M", 180.5, 154.6055622, 184.1269767),
    ("M", 240.0, 163.3333326, 190.1943135),
    ("F", 36.5, 86.90307328, 101.7931359),
    ("F", 96.5, 117.2736916, 139.411004),
    ("F", 144.5, 137.4380555, 165.1502647),
    ("F", 204.5, 150.749138, 175.099002),
]


@pytest.mark.parametrize("sex, months, p3, p97", STATAGE_PERCENTILES)
def test_stature_lms_reproduces_the_cdc_percentile_columns(sex, months, p3, p97):
    L, M, S = cdc_stature_lms(months / 12.0, sex)
    assert float(lms_value(L, M, S, Z3)) == pytest.approx(p3, rel=1e-6)
    assert float(lms_value(L, M, S, Z97)) == pytest.approx(p97, rel=1e-6)


def test_bsa_formulas_against_published_values_and_each_other():
    # 70 kg, 170 cm: Mosteller sqrt(170*70/3600) = 1.818 m^2, DuBois 1.81 m^2 (calculators)
    assert float(body_surface_area(70, 170)) == pytest.approx(math.sqrt(170 * 70 / 3600))
    assert float(body_surface_area(70, 170)) == pytest.approx(1.82, abs=0.005)
    assert float(body_surface_area(70, 170, "dubois")) == pytest.approx(1.81, abs=0.005)
    # Two formulas fitted on different data agree within a few % for typical adults.
    w, h = np.meshgrid(np.linspace(45, 110, 14), np.linspace(150, 195, 10))
    ratio = body_surface_area(w, h, "mosteller") / body_surface_area(w, h, "dubois")
    plausible = (w / (h / 100) ** 2 > 18.5) & (w / (h / 100) ** 2 < 32)  # BMI 18.5-32
    assert plausible.sum() > 50 and np.all(np.abs(ratio[plausible] - 1) < 0.04)
    with pytest.raises(UserError, match="unknown formula"):
        body_surface_area(70, 170, "haycock2")


def test_the_formula_is_named_in_the_output():
    assert "Mosteller" in sample_covariates(3, 0).attrs["bsa_formula"]
    frame = sample_covariates(3, 0, CovariateSpec(bsa_formula="dubois"))
    assert "DuBois" in frame.attrs["bsa_formula"]
    np.testing.assert_allclose(frame["bsa_m2"], body_surface_area(
        frame["weight_kg"], frame["height_cm"], "dubois"))


def test_a_patient_is_the_same_whatever_the_size_or_batch():
    spec = CovariateSpec(age_years=(2, 60), extra={"ldh": stats.lognorm(s=0.4, scale=250)})
    whole = sample_covariates(40, 7, spec)
    batches = pd.concat([sample_covariates(15, 7, spec, start=s) for s in (0, 15)]
                        + [sample_covariates(10, 7, spec, start=30)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, batches)
    assert not whole.equals(sample_covariates(40, 8, spec))


def test_children_follow_the_cdc_curves_at_a_fixed_age():
    n = 4000
    spec = CovariateSpec(age_years=(10.0, 10.001), female_fraction=1.0)
    frame = sample_covariates(n, 3, spec)
    assert (frame["sex"] == "F").all()
    # Truth: the CDC file's percentiles at 120.5 months (girls), interpolation negligible.
    # statage 120.5 months: P3 125.9599043, P97 151.2919534 (cm).
    for col, p3, p97 in [("height_cm", 125.9599043, 151.2919534)]:
        below, above = (frame[col] < p3).sum(), (frame[col] > p97).sum()
        lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], n, 0.03)
        assert lo <= below <= hi and lo <= above <= hi
    # z-scores of weight and height correlated as declared (Fisher z, 1e-6 two-sided)
    from nksim.population import cdc_weight_lms

    def z(values, L, M, S):
        return ((values / M) ** L - 1) / (L * S)

    zw = z(frame["weight_kg"].to_numpy(), *cdc_weight_lms(frame["age_years"].to_numpy(), "F"))
    zh = z(frame["height_cm"].to_numpy(), *cdc_stature_lms(frame["age_years"].to_numpy(), "F"))
    r = np.corrcoef(zw, zh)[0, 1]
    half = stats.norm.ppf(1 - 5e-7) / math.sqrt(n - 3)
    assert abs(math.atanh(r) - math.atanh(spec.weight_height_correlation)) < half
    for zz in (zw, zh):  # standard normal scores
        assert abs(zz.mean()) < 5.5 / math.sqrt(n)
        assert abs(zz.var(ddof=1) - 1) < 5.5 * math.sqrt(2 / (n - 1))


def test_adults_match_the_declared_means():
    n = 3000
    spec = CovariateSpec(age_years=(30, 60), female_fraction=0.0)
    frame = sample_covariates(n, 11, spec)
    w, h = frame["weight_kg"], frame["height_cm"]
    # NHANES 2015-2016 men: 197.9 lb = 89.8 kg, 69.1 in = 175.5 cm (pint converts)
    from nksim.units import registry

    ureg = registry()
    mean_w = ureg.Quantity(197.9, "lb").to("kg").magnitude
    mean_h = ureg.Quantity(69.1, "inch").to("cm").magnitude
    # log-normal with that mean and log-sd 0.22: SE of the mean from its own SD
    sd_w = mean_w * math.sqrt(math.exp(0.22 ** 2) - 1)
    assert abs(w.mean() - mean_w) < 0.1 + 5.5 * sd_w / math.sqrt(n)  # 0.1: rounding to 89.8
    assert abs(h.mean() - mean_h) < 0.1 + 5.5 * 7.0 / math.sqrt(n)
    assert abs(np.log(w).std(ddof=1) - 0.22) < 5.5 * 0.22 / math.sqrt(2 * (n - 1))


def test_weights_equal_the_trial_candidates_drawn_from_the_same_streams():
    from nksim.disease import SleCohortSpec, sle_candidates

    cands = sle_candidates(30, seed=5, spec=SleCohortSpec(
        population="pediatric", age_distribution="uniform", age_min_years=5.0,
        age_max_years=18.0, female_fraction=0.82))
    mine = sample_covariates(30, 5, CovariateSpec(age_years=(5.0, 18.0), female_fraction=0.82))
    np.testing.assert_array_equal(mine["age_years"], cands["age_years"])
    np.testing.assert_array_equal(mine["sex"], cands["sex"])
    np.testing.assert_allclose(mine["weight_kg"], cands["weight_kg"], rtol=1e-12)


def test_extra_covariates_categorical_scipy_and_derived():
    n = 3000
    spec = CovariateSpec(extra={
        "stage": {"I": 0.2, "II": 0.5, "III": 0.3},
        "ldh_u_per_l": distribution({"lognormal": {"median": 250.0, "sigma": 0.4}}),
        "older": lambda frame, u: frame["age_years"] > 10,
    })
    frame = sample_covariates(n, 2, spec)
    for value, p in spec.extra["stage"].items():
        lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], n, p)
        assert lo <= (frame["stage"] == value).sum() <= hi
    lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], n, 0.5)
    assert lo <= (frame["ldh_u_per_l"] < 250.0).sum() <= hi
    assert (frame["older"] == (frame["age_years"] > 10)).all()
    # adding extra covariates does not change the standard ones
    base = sample_covariates(n, 2)
    pd.testing.assert_frame_equal(frame[base.columns], base)


@pytest.mark.parametrize("spec", [
    {"gamma": {"a": 1}}, {"normal": {"mean": 1}}, {"uniform": {"low": 2, "high": 1}},
    {"categorical": {"a": 0.3, "b": 0.3}}, {"lognormal": {"median": -1, "sigma": 1}},
    {"normal": {"mean": 1, "sd": 1, "oops": 2}},
])
def test_bad_distributions_are_one_line_errors(spec):
    with pytest.raises(UserError):
        distribution(spec)


def test_bad_specs():
    with pytest.raises(UserError, match="age_years"):
        CovariateSpec(age_years=(10, 5))
    with pytest.raises(UserError, match="female_fraction"):
        CovariateSpec(female_fraction=1.5)
    with pytest.raises(UserError, match="bsa_formula"):
        CovariateSpec(bsa_formula="nope")


def test_covariates_from_a_table(tmp_path):
    f = tmp_path / "cov.csv"
    f.write_text("patient,age_years,sex,weight_kg,height_cm,ecog\nA,40,F,60,165,1\nB,8,M,25,128,0\n")
    frame = read_covariates(f)
    assert list(frame["patient"]) == ["A", "B"]
    np.testing.assert_allclose(frame["bsa_m2"], np.sqrt([60 * 165 / 3600, 25 * 128 / 3600]))
    assert list(frame["ecog"]) == [1, 0]
    frame.to_parquet(tmp_path / "cov.parquet")
    pd.testing.assert_frame_equal(read_covariates(tmp_path / "cov.parquet")[frame.columns],
                                  frame)
    for bad, match in [("patient,sex\nA,X\n", "sex"), ("patient,weight_kg\nA,7000\n", "weight_kg"),
                       ("patient,weight_kg\nA,60\nA,61\n", "twice")]:
        f.write_text(bad)
        with pytest.raises(UserError, match=match):
            read_covariates(f)
    with pytest.raises(UserError, match="not found"):
        read_covariates(tmp_path / "missing.csv")


def test_scenario_tables_are_accepted_in_the_spec():
    spec = CovariateSpec(age_years={"normal": {"mean": 10, "sd": 3, "low": 5, "high": 18}},
                         extra={"ldh": {"lognormal": {"median": 250, "sigma": 0.4}},
                                "stage": {"I": 0.5, "II": 0.5}})
    frame = sample_covariates(300, 0, spec)
    assert frame["age_years"].between(5, 18).all()
    assert set(frame["stage"]) == {"I", "II"} and (frame["ldh"] > 0).all()
    with pytest.raises(UserError, match="age_years"):
        CovariateSpec(age_years={"normal": {"mean": 10}})
