"""Disease-activity readouts on hand-made series with known answers.

Expected values are worked out by hand from the definitions in docs/sle-disease.md:
SLEDAI-2K weights (anti-dsDNA 2, low complement 2), DORIS 2021, SRI-4 (Furie 2009), the
SELENA-SLEDAI flare index and the B-cell return rule. No expected number here is produced
by nksim.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nksim.disease import (
    FLARE_MILD_MODERATE,
    FLARE_NONE,
    FLARE_SEVERE,
    SledaiMapping,
    any_flare,
    b_cell_recovery_day,
    clinical_sledai,
    doris_remission,
    flares,
    pga,
    prednisone_mg_per_day,
    sledai,
    sledai_components,
    sri4_response,
    steroid_free_at,
)
from nksim.disease._sle_activity import b_cell_depleted
from nksim.dosing import Dose
from nksim.errors import UserError


def _states(inf, ab=None, c3=None):
    inf = np.atleast_2d(np.asarray(inf, dtype=float))
    ab = np.full(inf.shape, 5.0) if ab is None else np.atleast_2d(np.asarray(ab, float))
    c3 = np.full(inf.shape, 120.0) if c3 is None else np.atleast_2d(np.asarray(c3, float))
    return {"INF": inf, "AB": ab, "C3": c3}


# ============================================================== SLEDAI-2K surrogate
def test_sledai_domains_sum_with_thresholds():
    data = _states([[0.0, 0.99, 1.0, 12.7, 3.2]], [[10, 30, 29.9, 500, 31]],
                   [[100, 90, 89.9, 50, 120]])
    parts = sledai_components(data)
    assert parts["clinical"].tolist() == [[0, 0, 1, 12, 3]]
    assert parts["anti_dsdna"].tolist() == [[0, 2, 0, 2, 2]]  # >= 30 IU/mL
    assert parts["low_complement"].tolist() == [[0, 0, 2, 2, 0]]  # < 90 mg/dL
    assert parts["total"].tolist() == [[0, 2, 3, 16, 5]]
    assert sledai(data).tolist() == [[0, 2, 3, 16, 5]]
    assert clinical_sledai(data).tolist() == [[0, 0, 1, 12, 3]]
    assert parts["total"].dtype.kind == "i"


def test_sledai_range_is_0_to_105():
    data = _states([[1e6]], [[1e5]], [[1.0]])
    assert sledai(data)[0, 0] == 105
    assert sledai(_states([[-1.0]]))[0, 0] == 0


def test_sledai_keeps_xarray_labels():
    ds = xr.Dataset(
        {n: (("patient", "time"), v) for n, v in
         _states([[0.5, 4.2], [9.0, 0.0]], [[50, 50], [10, 10]]).items()},
        coords={"patient": [0, 1], "time": [0.0, 30.0]},
    )
    out = sledai(ds)
    assert isinstance(out, xr.DataArray) and out.dims == ("patient", "time")
    assert out.sel(patient=0, time=30.0).item() == 4 + 2
    assert out.attrs["units"] == "points"


def test_pga_surrogate_and_custom_mapping():
    assert pga(_states([[0.0, 7.0, 1e9]])).tolist()[0] == pytest.approx([0.0, 1.5, 3.0])
    strict = SledaiMapping(anti_dsdna_positive=15.0, c3_low=80.0)
    assert sledai(_states([[2.0]], [[20.0]], [[85.0]]), strict)[0, 0] == 2 + 2 + 0


# ============================================================== DORIS
def test_doris_remission_criteria():
    times = np.array([0.0, 90.0, 180.0])
    inf = [[9.0, 0.5, 0.5], [9.0, 1.0, 0.2], [9.0, 0.3, 0.3], [9.0, 0.3, 0.3]]
    ab = [[400, 400, 400], [400, 5, 5], [400, 5, 5], [400, 5, 5]]  # serology ignored
    c3 = [[50, 50, 50], [50, 120, 120], [50, 120, 120], [50, 120, 120]]
    data = _states(inf, ab, c3)
    pred = np.array([5.0, 0.0, 5.01, 2.5])
    assert doris_remission(data, pred, 90.0, times=times).tolist() == [True, False, False, True]
    # a prescribed-dose time course: the dose in force at the assessment day counts
    course = np.array([[20.0, 7.5, 0.0]] * 4)
    assert doris_remission(data, course, 90.0, times=times).tolist() == [False] * 4
    assert doris_remission(data, course, 180.0, times=times).tolist() == [True] * 4
    # between output times the states are interpolated: INF at day 45 of patient 3 is 4.65
    assert not doris_remission(data, 0.0, 45.0, times=times)[3]
    with pytest.raises(UserError):
        doris_remission(data, 0.0, 400.0, times=times)


def test_doris_on_a_dataset_uses_its_time_axis():
    ds = xr.Dataset({n: (("patient", "time"), v) for n, v in _states([[3.0, 0.4]]).items()},
                    coords={"patient": [0], "time": [0.0, 90.0]})
    assert doris_remission(ds, 0.0, 90.0).tolist() == [True]
    assert doris_remission(ds, 0.0, 0.0).tolist() == [False]


# ============================================================== SRI-4
def test_sri4_response():
    times = np.array([0.0, 180.0])
    # 0: 10 -> 6 by clinical improvement; 1: 10 -> 7; 2: serology-only response 10 -> 6
    # (clinical unchanged, anti-dsDNA negative, C3 normal); 3: 16 -> 12 while clinical rose
    inf = [[6.5, 2.5], [6.5, 3.5], [6.5, 6.5], [12.5, 12.8]]
    ab = [[200, 200], [200, 200], [200, 10], [500, 10]]
    c3 = [[60, 60], [60, 60], [60, 120], [50, 120]]
    data = _states(inf, ab, c3)
    assert sledai(data).tolist() == [[10, 6], [10, 7], [10, 6], [16, 12]]
    assert sri4_response(data, 180.0, times=times).tolist() == [True, False, True, True]
    worse = _states([[6.5, 7.6]], [[200, 10]], [[60, 120]])  # 10 -> 7, clinical 6 -> 7
    assert sledai(worse).tolist() == [[10, 7]]
    assert not sri4_response(worse, 180.0, times=times)[0]


# ============================================================== flares
def test_flares_visit_to_visit():
    times = np.array([0.0, 28.0, 56.0, 84.0, 112.0])
    # SLEDAI with normal serology: 2, 2, 5, 5, 14 -> mild/moderate at 56, severe at 112
    data = _states([[2.0, 2.5, 5.2, 5.9, 14.0], [8.0, 6.0, 4.0, 2.0, 0.0]])
    codes = flares(data, times, times=times)
    assert codes.tolist() == [[0, 0, FLARE_MILD_MODERATE, 0, FLARE_SEVERE], [FLARE_NONE] * 5]
    assert any_flare(data, times, times=times).tolist() == [True, False]
    # a rise of 2 per visit is not a flare, however long it goes on
    slow = _states([[0.0, 2.0, 4.0, 6.0, 8.0]])
    assert not any_flare(slow, times, times=times)[0]


# ============================================================== steroid-free
def test_steroid_free_at():
    times = np.array([0.0, 30.0, 60.0, 90.0, 120.0])
    dose = np.array([[10.0, 10.0, 5.0, 0.0, 0.0], [0.0] * 5, [10.0, 0, 0, 0, 2.5]])
    assert steroid_free_at(dose, times, 90.0).tolist() == [True, True, True]
    assert steroid_free_at(dose, times, 60.0).tolist() == [False, True, True]
    assert steroid_free_at(dose, times, 120.0, since_days=30).tolist() == [True, True, False]
    assert steroid_free_at(dose, times, 90.0, since_days=30).tolist() == [False, True, True]
    assert steroid_free_at(dose, times, 100.0).tolist() == [True, True, True]  # day 90 dose


def test_prednisone_from_dose_records():
    recs = [Dose("GC", 70.0, 10.0, duration=7.0),  # 10 mg/day on days 10-16
            Dose("GC", 5.0, 20.0, every=1.0, count=3),  # 5 mg tablets on days 20, 21, 22
            Dose("KILL", 9.0, 0.0)]  # another state: ignored
    t = np.array([9.9, 10.0, 16.9, 17.0, 20.5, 22.99, 23.0])
    assert prednisone_mg_per_day(recs, t).tolist() == [0, 10, 10, 0, 5, 5, 0]
    two = prednisone_mg_per_day([recs, []], t)
    assert two.shape == (2, 7) and two[1].sum() == 0


# ============================================================== B-cell return
def test_b_cell_recovery_day_exact_on_a_synthetic_series():
    t = np.arange(0.0, 201.0)
    b = np.where(t < 100, 0.0, 4.0 * (t - 100))  # crosses 10 cells/uL at day 102.5
    b[:5] = 200.0  # baseline before the infusion on day 4 (first infusion)
    never_low = np.full(t.shape, 300.0)
    never_back = np.where(t < 5, 200.0, 1.0)
    out = b_cell_recovery_day(np.stack([b, never_low, never_back]), t, 4.0)
    assert out[0] == pytest.approx(102.5 - 4.0, abs=1e-12)
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert b_cell_recovery_day(b, t, 4.0, threshold=50.0)[0] == pytest.approx(112.5 - 4.0)
    # B cells that fall below only later (slow killing) still count from the first infusion
    slow = np.where(t < 30, 200.0, np.where(t < 60, 5.0, 20.0))
    assert b_cell_recovery_day(slow, t, 4.0)[0] == pytest.approx(59.0 + 5.0 / 15.0 - 4.0)


def test_short_dips_are_not_depletion():
    """A dip below the threshold shorter than min_depleted_days (e.g. lymphodepletion alone
    around the infusion) is skipped; the return is counted after the first long episode."""
    t = np.arange(0.0, 201.0, 0.5)
    b = np.full(t.shape, 50.0)
    b[(t >= 2.0) & (t < 5.0)] = 6.0  # 3-day dip around the infusion: not depletion
    b[(t >= 12.0) & (t < 90.0)] = 0.5  # deep depletion for 78 days
    b[t >= 90.0] = 40.0
    day = b_cell_recovery_day(b, t, 0.0)[0]
    # downward crossing between 11.5 and 12 (50 -> 0.5), back between 89.5 and 90 (0.5 -> 40)
    assert day == pytest.approx(89.5 + 0.5 * (10.0 - 0.5) / 39.5)
    assert b_cell_recovery_day(b, t, 0.0, min_depleted_days=0.0)[0] == pytest.approx(
        4.5 + 0.5 * (10.0 - 6.0) / 44.0)  # the old definition: the first dip
    assert b_cell_depleted(b, t, 0.0)[0]
    only_dip = np.where((t >= 2.0) & (t < 5.0), 6.0, 50.0)
    assert np.isnan(b_cell_recovery_day(only_dip, t, 0.0)[0])
    assert not b_cell_depleted(only_dip, t, 0.0)[0]
    # still depleted at the end of follow-up: depleted, not back
    late = np.where(t < 150.0, 50.0, 1.0)
    assert b_cell_depleted(late, t, 0.0)[0] and np.isnan(b_cell_recovery_day(late, t, 0.0)[0])
