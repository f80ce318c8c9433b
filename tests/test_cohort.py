"""Virtual candidates: per-candidate streams and the documented distributions."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nksim.disease import SLE_CANDIDATE_COLUMNS, SleCohortSpec, sle_candidates
from nksim.errors import UserError
from nksim.population import cdc_weight_lms

P_MIN = 1e-3  # distribution tests fail only below this p-value (seeded, so deterministic)


def test_a_candidate_is_the_same_whatever_the_number_generated():
    small = sle_candidates(20, seed=7)
    large = sle_candidates(300, seed=7)
    pd.testing.assert_frame_equal(small, large.iloc[:20])
    batch = sle_candidates(30, seed=7, start=100)
    pd.testing.assert_frame_equal(batch.reset_index(drop=True),
                                  large.iloc[100:130].reset_index(drop=True))
    assert not sle_candidates(20, seed=8).equals(small)
    assert list(small.columns) == list(SLE_CANDIDATE_COLUMNS)
    assert small["candidate"].tolist() == list(range(20))


def test_each_covariate_has_its_own_stream():
    base = sle_candidates(200, seed=1)
    other = sle_candidates(200, seed=1, spec=SleCohortSpec(sledai_median=14.0,
                                                             alc_sigma=0.3))
    for col in ("age_years", "sex", "weight_kg", "disease_duration_months",
                "failed_regimens"):
        pd.testing.assert_series_equal(base[col], other[col])
    assert not base["sledai"].equals(other["sledai"])
    # an age change moves age-dependent covariates only
    older = sle_candidates(200, seed=1, spec=SleCohortSpec(age_mean_years=14.0))
    for col in ("sex", "sledai", "alc_per_ul"):
        pd.testing.assert_series_equal(base[col], older[col])
    assert not base["weight_kg"].equals(older["weight_kg"])


def test_independent_covariates_are_uncorrelated():
    """Separate streams: sex, SLEDAI and lymphocytes do not depend on age or each other."""
    c = sle_candidates(3000, seed=12)
    female = (c["sex"] == "F").astype(float)
    pairs = [(c["age_years"], female), (c["age_years"], c["sledai"]),
             (c["age_years"], c["alc_per_ul"]), (c["sledai"], c["alc_per_ul"]),
             (female, c["alc_per_ul"])]
    for x, y in pairs:
        assert stats.spearmanr(x, y).pvalue > P_MIN
    # the documented dependence: more disease years, more failed regimens
    assert stats.spearmanr(c["disease_duration_months"], c["failed_regimens"])[0] > 0.3


def test_age_is_the_documented_truncated_normal():
    c = sle_candidates(3000, seed=2)
    lo, hi, mu, sd = 3.0, 18.0, 12.5, 3.5
    assert c["age_years"].between(lo, hi, inclusive="left").all()
    ref = stats.truncnorm((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd)
    assert stats.kstest(c["age_years"], ref.cdf).pvalue > P_MIN
    uni = sle_candidates(2000, seed=2, spec=SleCohortSpec(age_distribution="uniform",
                                                            age_min_years=5,
                                                            age_max_years=17))
    assert stats.kstest(uni["age_years"], stats.uniform(5, 12).cdf).pvalue > P_MIN


@pytest.mark.parametrize("population, fraction", [("pediatric", 0.82), ("adult", 0.90)])
def test_sex_ratio(population, fraction):
    c = sle_candidates(3000, seed=4, spec=SleCohortSpec(population=population))
    k = int((c["sex"] == "F").sum())
    assert stats.binomtest(k, 3000, fraction).pvalue > P_MIN
    assert set(c["sex"]) == {"F", "M"}


def test_cdc_lms_reproduces_the_cdc_file_percentiles():
    """P3/P50/P97 columns of CDC wtage.csv at nodes, from the LMS parameters."""
    z3, z97 = stats.norm.ppf([0.03, 0.97])
    cases = [("M", 120.5, 24.19264433, 32.08799062, 49.41515104),
             ("F", 180.5, 39.59012338, 52.13568193, 81.64830091),
             ("F", 60.5, 14.34277271, 18.02313904, 24.94401317),
             ("M", 240.0, 54.00391729, 70.59761453, 100.7783809)]
    for sex, months, p3, p50, p97 in cases:
        L, M, S = (float(v) for v in cdc_weight_lms(months / 12, sex))
        assert M == pytest.approx(p50, rel=1e-9)
        for z, ref in ((z3, p3), (z97, p97)):
            assert M * (1 + L * S * z) ** (1 / L) == pytest.approx(ref, rel=2e-4)
    # between nodes: linear interpolation of the monthly table is within 1 %
    L, M, S = cdc_weight_lms(138.5 / 12, "M")  # file: M(138.5) = 38.2977703
    assert float(M) == pytest.approx(38.2977703, rel=0.005)


def test_weight_follows_the_lms_curve_at_a_fixed_age():
    spec = SleCohortSpec(age_distribution="uniform", age_min_years=10.0, age_max_years=10.001,
                      female_fraction=1.0)
    c = sle_candidates(4000, seed=5, spec=spec)
    L, M, S = (float(v) for v in cdc_weight_lms(10.0005, "F"))
    # invert the LMS transform: z must be standard normal
    z = ((c["weight_kg"] / M) ** L - 1) / (L * S)
    assert abs(z.mean()) < 4 / math.sqrt(4000) and abs(z.std() - 1) < 0.05
    assert stats.kstest(z, "norm").pvalue > P_MIN


def test_adult_weights_are_log_normal_by_sex():
    c = sle_candidates(4000, seed=6, spec=SleCohortSpec(population="adult",
                                                          age_min_years=25))
    for sex, median in (("F", 58.0), ("M", 70.0)):
        logs = np.log(c.loc[c["sex"] == sex, "weight_kg"] / median) / 0.15
        assert stats.kstest(logs, "norm").pvalue > P_MIN


def test_disease_duration_is_bounded_by_age():
    c = sle_candidates(2000, seed=9)
    assert (c["disease_duration_months"] >= 0).all()
    assert (c["disease_duration_months"] <= 12 * (c["age_years"] - 2.0) + 1e-9).all()
    assert (c["age_at_diagnosis_years"] >= 2.0 - 1e-9).all()
    # in old children (rarely truncated) the median is close to the documented 30 months
    old = c.loc[c["age_years"] > 14, "disease_duration_months"]
    assert 24 < old.median() < 36


def test_failed_regimens_are_poisson_given_duration():
    c = sle_candidates(3000, seed=10)
    lam = 1.0 + 0.8 * c["disease_duration_months"] / 12
    keep = lam < 6  # the cap of 12 is then practically never reached
    resid = (c["failed_regimens"] - lam)[keep]
    assert abs(resid.mean()) < 4 * math.sqrt(lam[keep].mean() / keep.sum())
    assert (resid ** 2).mean() / lam[keep].mean() == pytest.approx(1.0, abs=0.1)
    assert c["failed_regimens"].dtype.kind == "i" and c["failed_regimens"].max() <= 12


def test_sledai_and_lymphocyte_counts():
    c = sle_candidates(3000, seed=11)
    assert c["sledai"].dtype.kind == "i" and c["sledai"].between(0, 105).all()
    p8 = stats.norm.sf(math.log(7.5 / 10.0) / 0.5)  # round(10 e^{0.5 z}) >= 8
    assert stats.binomtest(int((c["sledai"] >= 8).sum()), 3000, p8).pvalue > P_MIN
    z = np.log(c["alc_per_ul"] / 1200.0) / 0.6
    assert stats.kstest(z, "norm").pvalue > P_MIN


def test_cohort_spec_from_a_scenario_table():
    spec = SleCohortSpec.from_dict({"population": "adult", "n_candidates": 50,
                                 "age_max_years": "600 month", "alc_median_per_ul": 900})
    r = spec.resolved()
    assert (r["age_min_years"], r["age_max_years"], r["female_fraction"]) == (18.0, 50.0, 0.9)
    c = sle_candidates(seed=0, spec=spec)
    assert len(c) == 50 and c["age_years"].between(18, 50).all()
    assert (c["population"] == "adult").all()
    assert SleCohortSpec(**{f.name: getattr(spec, f.name)
                         for f in dataclasses.fields(spec)}) == spec


@pytest.mark.parametrize("raw, field", [
    ({"populaton": "adult"}, "cohort.populaton"),
    ({"population": "elderly"}, "cohort.population"),
    ({"n_candidates": 0}, "cohort.n_candidates"),
    ({"n_candidates": 2.5}, "cohort.n_candidates"),
    ({"age_min_years": 10, "age_max_years": 8}, "cohort.age_max_years"),
    ({"female_fraction": 1.2}, "cohort.female_fraction"),
    ({"alc_sigma": -0.1}, "cohort.alc_sigma"),
    ({"age_max_years": "18 kg"}, "cohort.age_max_years"),
    ({"sledai_median": "high"}, "cohort.sledai_median"),
])
def test_bad_cohort_tables_name_the_field(raw, field):
    with pytest.raises(UserError) as info:
        SleCohortSpec.from_dict(raw)
    assert info.value.field == field


def test_bad_arguments():
    with pytest.raises(UserError):
        sle_candidates(-1, seed=0)
    assert len(sle_candidates(0, seed=0)) == 0


@pytest.mark.parametrize("name", ["sledai_sigma", "alc_sigma", "duration_sigma",
                                  "adult_weight_sigma"])
def test_log_normal_spreads_are_bounded(name):
    """A spread of 1e300 gave a traceback deep in the trial (every draw 0 or infinite)."""
    with pytest.raises(UserError, match=f"{name}: must be from 0 to 5 on the log scale"):
        SleCohortSpec(**{name: 1e300})
    SleCohortSpec(**{name: 5.0})  # the bound itself is allowed
