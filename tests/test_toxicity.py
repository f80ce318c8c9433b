"""CRS and ICANS surrogate grading (nksim.therapy._toxicity): hand-computed truths."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nksim.therapy import (
    DEFAULT_CRS,
    DEFAULT_ICANS,
    CRSMapping,
    ICANSMapping,
    crs_grade,
    crs_index,
    icans_grade,
    icans_index,
    toxicity_table,
)

BASE = 5.0  # default IL-6 and IFN-gamma baselines (pg/mL)


def test_default_thresholds_are_as_documented():
    assert DEFAULT_CRS.thresholds == (9.0, 100.0, 500.0, 2500.0)
    assert DEFAULT_CRS.ifng_weight == 0.5
    assert DEFAULT_ICANS.thresholds == (1.0, 2.0, 4.0, 8.0)
    assert (DEFAULT_ICANS.il6_scale, DEFAULT_ICANS.car_scale) == (500.0, 1000.0)


@pytest.mark.parametrize(
    ("il6", "ifng", "index", "grade"),
    [
        (BASE, BASE, 0.0, 0),              # baseline: no CRS
        (BASE + 8.9, BASE, 8.9, 0),
        (BASE + 30.0, BASE + 20.0, 40.0, 1),  # 30 + 0.5 * 20
        (BASE + 100.0, BASE, 100.0, 2),    # exactly at a threshold counts
        (BASE, BASE + 300.0, 150.0, 2),    # IFN-gamma alone, half weight
        (BASE + 500.0, BASE, 500.0, 3),
        (BASE + 2000.0, BASE + 1000.0, 2500.0, 4),
        (1.0, 1.0, 0.0, 0),                # below baseline: no negative index
    ],
)
def test_crs_grade_by_hand(il6, ifng, index, grade):
    assert crs_index(il6, ifng)[0] == pytest.approx(index)
    assert crs_grade(il6, ifng) == grade
    assert isinstance(crs_grade(il6, ifng), int)


def test_crs_threshold_factor_scales_every_threshold():
    # factor 2: thresholds 18, 200, 1000, 5000
    il6 = BASE + np.array([17.9, 18.0, 199.0, 200.0, 1000.0, 5000.0])
    grades = crs_grade(il6, np.full(il6.shape, BASE), threshold_factor=2.0)
    assert grades.tolist() == [0, 1, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("il6", "car", "index", "grade"),
    [
        (BASE + 500.0, 1000.0, 1.0, 1),
        (BASE + 2000.0, 4000.0, 4.0, 3),        # sqrt(4 * 4)
        (BASE + 500.0, 0.0, 0.0, 0),             # no CAR cells, no ICANS
        (BASE, 1e5, 0.0, 0),                     # no cytokine excess, no ICANS
        (BASE + 8000.0, 8000.0, 11.3137085, 4),  # sqrt(16 * 8)
    ],
)
def test_icans_grade_by_hand(il6, car, index, grade):
    assert icans_index(il6, car)[0] == pytest.approx(index)
    assert icans_grade(il6, car) == grade


def test_grades_are_monotone_in_every_input():
    rng = np.random.default_rng(1)
    n = 500
    il6 = BASE + 10 ** rng.uniform(-1, 4, n)
    ifng = BASE + 10 ** rng.uniform(-1, 4, n)
    car = 10 ** rng.uniform(-1, 4, n)
    f = np.exp(0.5 * rng.standard_normal(n))
    for bump in (1.01, 1.5, 3.0):
        g = crs_grade(il6, ifng, threshold_factor=f)
        assert np.all(crs_grade(il6 * bump, ifng, threshold_factor=f) >= g)
        assert np.all(crs_grade(il6, ifng * bump, threshold_factor=f) >= g)
        h = icans_grade(il6, car, threshold_factor=f)
        assert np.all(icans_grade(il6 * bump, car, threshold_factor=f) >= h)
        assert np.all(icans_grade(il6, car * bump, threshold_factor=f) >= h)
    # a more sensitive patient (smaller factor) never gets a lower grade
    assert np.all(crs_grade(il6, ifng, threshold_factor=f / 2) >= crs_grade(
        il6, ifng, threshold_factor=f))


def test_individual_variability_is_lognormal_around_the_threshold():
    n = 4000
    rngs = [np.random.default_rng([11, i]) for i in range(n)]
    at_threshold = np.full(n, BASE + DEFAULT_CRS.thresholds[0])
    grades = crs_grade(at_threshold, np.full(n, BASE), rng=rngs)
    # factor exp(0.5 z) <= 1 for half of the patients: half reach grade 1
    assert 0.46 < (grades >= 1).mean() < 0.54
    # grade 2 needs a factor <= 12/100, exp(0.5 z) <= 0.12: z <= -4.2 (p ~ 1e-5)
    assert (grades >= 2).mean() < 0.005


def test_per_patient_streams_make_grades_independent_of_batching():
    il6 = BASE + np.array([15.0, 30.0, 80.0, 120.0, 400.0, 700.0])
    ifng = np.full(il6.shape, BASE + 10.0)
    whole = crs_grade(il6, ifng, rng=[np.random.default_rng([3, i]) for i in range(6)])
    first = crs_grade(il6[:2], ifng[:2], rng=[np.random.default_rng([3, i]) for i in range(2)])
    rest = crs_grade(il6[2:], ifng[2:], rng=[np.random.default_rng([3, i]) for i in range(2, 6)])
    assert whole.tolist() == first.tolist() + rest.tolist()
    with pytest.raises(ValueError):
        crs_grade(il6, ifng, rng=[np.random.default_rng(0)])  # one stream for six patients
    with pytest.raises(ValueError):
        crs_grade(il6, ifng, rng=np.random.default_rng(0), threshold_factor=1.0)


def test_mapping_validation():
    with pytest.raises(ValueError):
        CRSMapping(thresholds=(100.0, 20.0, 500.0, 2500.0))
    with pytest.raises(ValueError):
        ICANSMapping(il6_scale=0.0)
    custom = CRSMapping(thresholds=(1.0, 2.0, 3.0, 4.0), ifng_weight=0.0)
    assert crs_grade(BASE + 3.5, BASE + 1e6, mapping=custom) == 3


def test_toxicity_table_from_a_dataset():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    il6 = np.array([[5.0, 40.0, 25.0, 5.0], [5.0, 5.0, 5.0, 5.0], [np.nan] * 4])
    ifng = np.array([[5.0, 25.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0], [np.nan] * 4])
    cart = np.array([[0.1, 50.0, 300.0, 100.0], [0.0, 0.0, 0.0, 0.0], [np.nan] * 4])
    ds = xr.Dataset(
        {"IL6": (("patient", "time"), il6), "IFNG": (("patient", "time"), ifng),
         "CART": (("patient", "time"), cart)},
        coords={"patient": [0, 1, 2], "time": times},
    )
    table = toxicity_table(ds)
    assert table.loc[0, "peak_il6"] == 40.0 and table.loc[0, "day_peak_il6"] == 1.0
    assert table.loc[0, "peak_car"] == 300.0 and table.loc[0, "day_peak_car"] == 2.0
    assert table.loc[0, "crs_index"] == pytest.approx(35.0 + 10.0)
    assert table.loc[0, "crs_grade"] == 1
    assert table.loc[1, "crs_grade"] == 0 and table.loc[1, "icans_grade"] == 0
    assert table["crs_grade"].isna().tolist() == [False, False, True]  # failed patient


def test_each_patients_own_baseline_is_subtracted():
    # Two patients with other untreated levels (the baselines are model parameters that
    # vary between patients) and the same rise: the same index. With the typical
    # baselines, patient 1's higher untreated IL-6 alone counted as cytokine release.
    times = np.array([-30.0, 0.0, 1.0, 2.0])
    il6 = np.array([[3.0, 3.0, 13.0, 3.0], [8.5, 8.5, 18.5, 8.5]])
    ifng = np.array([[4.0, 4.0, 24.0, 4.0], [9.0, 9.0, 29.0, 9.0]])
    cart = np.zeros_like(il6)
    ds = xr.Dataset({"IL6": (("patient", "time"), il6), "IFNG": (("patient", "time"), ifng),
                     "CART": (("patient", "time"), cart)},
                    coords={"patient": [0, 1], "time": times})
    own = toxicity_table(ds, t_from=0.0, baseline_time=-30.0)
    assert own["crs_index"].tolist() == pytest.approx([10.0 + 0.5 * 20.0] * 2)
    typical = toxicity_table(ds, t_from=0.0)
    assert typical.loc[1, "crs_index"] > own.loc[1, "crs_index"]
