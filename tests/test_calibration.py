"""Published anchors of the SLE + CD19 model, run through the virtual-trial runner.

docs/calibration.md gives the anchors, their sources and labels, how the parameters were
calibrated (docs/calibration_sle.py) and why each tolerance is what it is. In short:

* Mackensen 2022 (V-src, n = 5, adults, 1e6 CAR-T/kg after Flu/Cy, all immunosuppression
  stopped): DORIS remission 5/5 at 3 months; SLEDAI-2K median 16 (range 8-16) -> 0
  (range 0-2) at 3 months; B cells back after 110 +/- 32 days; drug-free remission kept
  over a median 8 months, also after B cells came back; CRS grade 1 in 3 of 5, no ICANS.
  Five patients carry wide uncertainty (5/5 has a 95 % interval of 0.48-1), so the model
  is held to ">= 4 of 5" in a five-patient replicate and to rates >= 0.6 in 40 patients.
* Liu 2020 / Marin 2024 (V-src): no CRS or ICANS with CD19 CAR-NK; FT596 (V-src): NK
  cells persisted <= 15 days.

The adult scenario is the bundled ``sle_adult_cart.toml`` with its cohort's baseline
SLEDAI-2K set to Mackensen's median (16, log-sd 0.2), since the bundled file draws a
generic referral population (median 10). Anchors the model does not reproduce are strict
``xfail``s with the reason: if a change makes one pass, the test fails and the doc must be
updated. Research use only.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from importlib import resources

import numpy as np
import pytest

from nksim.config import TrialScenario
from nksim.disease import sledai
from nksim.scenario import read_toml, validate
from nksim.trials import run_trial

MACKENSEN_COHORT = {"sledai_median": 16, "sledai_sigma": 0.2}
B_RETURN_MEAN, B_RETURN_SD = 110.0, 32.0  # Mackensen 2022, days (mean +/- SD, n = 5)


def _scenario(name: str) -> dict:
    return read_toml(resources.files("nksim.data") / "scenarios" / name)


def _run(raw: dict):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return run_trial(validate(TrialScenario, raw))


def _adult(n: int, cohort: dict):
    raw = copy.deepcopy(_scenario("sle_adult_cart.toml"))
    raw["trial"]["patients_per_arm"] = n
    raw.setdefault("cohort", {}).update(cohort)
    raw["cohort"]["n_candidates"] = max(int(raw["cohort"].get("n_candidates", 100)), 15 * n)
    result = _run(raw)
    arm = result.arms[0]
    infused = arm.patients["infused"].to_numpy(bool)
    return arm, infused


@pytest.fixture(scope="module")
def mackensen():
    """The adult scenario with five Mackensen-like patients (the published design)."""
    return _adult(5, MACKENSEN_COHORT)


@pytest.fixture(scope="module")
def mackensen40():
    """The same design with 40 patients, baseline SLEDAI-2K ~ Mackensen's (median 14,
    log-sd 0.25: most between 8 and 20)."""
    return _adult(40, {"sledai_median": 14, "sledai_sigma": 0.25})


@pytest.fixture(scope="module")
def pediatric():
    return _run(copy.deepcopy(_scenario("sle_pediatric_cart_vs_carnk.toml")))


# ============================================================== Mackensen 2022
def test_all_five_are_treated(mackensen):
    arm, infused = mackensen
    assert infused.sum() == 5  # the anchors below are over treated patients, as published


def test_doris_remission_at_3_months(mackensen):
    arm, infused = mackensen
    assert arm.patients["doris_3m"].to_numpy(bool)[infused].sum() >= 4  # published 5/5


def test_remission_is_kept_after_b_cells_return(mackensen):
    arm, infused = mackensen
    p = arm.patients[infused]
    assert (p["doris_6m"] & ~p["flare_6m"]).sum() >= 4  # drug-free remission, median 8 mo
    back = p["b_cell_return_day"].to_numpy(float)
    kept = (p["doris_6m"] & ~p["flare_6m"]).to_numpy(bool)
    assert (np.isfinite(back) & (back < 182.0) & kept).sum() >= 2  # also after B-cell return


def test_b_cells_return_after_about_110_days(mackensen):
    arm, infused = mackensen
    est = arm.summary["endpoints"]["b_cell_return_day_median"]["value"]
    assert est is not None
    assert B_RETURN_MEAN - 2 * B_RETURN_SD <= est <= B_RETURN_MEAN + 2 * B_RETURN_SD
    assert arm.patients["b_depleted"].to_numpy(bool)[infused].all()  # deep depletion in all


def test_only_mild_crs_and_no_icans(mackensen):
    arm, infused = mackensen
    p = arm.patients[infused]
    assert p["crs_grade"].max() <= 2  # published: grade 1 in 3 of 5
    assert (p["crs_grade"] >= 1).sum() >= 1  # CRS does occur
    assert p["icans_grade"].max() == 0


def test_rates_in_forty_mackensen_like_patients(mackensen40):
    """Wider cohort, same design: rates compatible with 5/5 (lower 95 % bound 0.48)."""
    arm, infused = mackensen40
    p = arm.patients[infused]
    assert p["doris_3m"].mean() >= 0.6
    assert (p["doris_6m"] & ~p["flare_6m"]).mean() >= 0.7
    back = p["b_cell_return_day"].to_numpy(float)
    assert B_RETURN_MEAN - B_RETURN_SD <= np.nanmean(back) <= B_RETURN_MEAN + 2 * B_RETURN_SD
    assert (p["crs_grade"] >= 3).sum() == 0 and p["icans_grade"].max() == 0


def test_doris_3m_rate_is_compatible_with_five_of_five(mackensen40):
    """Issue 10 §3: the model's DORIS rate at 3 months (~0.8) against Mackensen's 5/5. The
    check comes from the published count alone: the rate lies inside the exact (Clopper-
    Pearson) 95 % interval of 5/5 (0.478-1), and if it were the true rate, 5 of 5 patients
    in remission would not be a surprise at the 5 % level (p**5 >= 0.05, i.e. p >= 0.549)."""
    from scipy.stats import binomtest

    arm, infused = mackensen40
    p_model = float(arm.patients["doris_3m"].to_numpy(bool)[infused].mean())
    ci = binomtest(5, 5).proportion_ci(confidence_level=0.95, method="exact")
    assert ci.low <= p_model <= ci.high
    assert binomtest(5, 5, p_model, alternative="greater").pvalue >= 0.05


def _sledai_at_3_months(arm, infused):
    ds = arm.simulation.dataset
    i91 = int(np.searchsorted(ds["time"].values, 91.0))
    return np.asarray(sledai(ds))[infused, i91]


def test_total_sledai_at_3_months_is_median_0_range_0_2(mackensen):
    """Mackensen 2022: SLEDAI-2K median 0 (range 0-2) at 3 months, serology included. A
    strict xfail until the anti-dsDNA clearance took the IgG hypercatabolism measured in SLE
    (half-life 9.6 d instead of the normal 21 d; docs/calibration.md §15): with 21 d,
    anti-dsDNA (~500-1200 IU/mL at infusion for baselines scored on prednisone) was still
    >= 30 IU/mL, and C3 often still low, at 3 months (total median 2, up to 5)."""
    arm, infused = mackensen
    total = _sledai_at_3_months(arm, infused)
    assert np.median(total) == 0 and total.max() <= 2


def test_total_sledai_at_3_months_in_forty_mackensen_like_patients(mackensen40):
    """The same anchor over 40 patients: median 0, and the share with SLEDAI-2K <= 2 at 3
    months not below 0.549, the rate at which 5 of 5 would be a surprise at the 5 % level
    (p**5 < 0.05), as for DORIS above."""
    arm, infused = mackensen40
    total = _sledai_at_3_months(arm, infused)
    assert np.median(total) == 0
    assert (total <= 2).mean() >= 0.549


def test_b_cell_return_spread(mackensen40):
    """Mackensen's SD of 32 d (n = 5). A strict xfail until issue 10's CAR-T exhaustion
    state (SD was ~60-70 d: a smouldering effector pool sustained by marrow output lasted
    until host T cells recovered, which varied widely); docs/calibration.md §13."""
    arm, infused = mackensen40
    back = arm.patients["b_cell_return_day"].to_numpy(float)[infused]
    assert np.nanstd(back, ddof=1) <= 1.5 * B_RETURN_SD


# ============================================================== CAR-NK safety and persistence
def test_pediatric_car_nk_has_no_severe_crs_and_no_icans(pediatric):
    nk = next(a for a in pediatric.arms if a.spec.product == "car_nk")
    p = nk.patients[nk.patients["infused"].to_numpy(bool)]
    assert len(p) > 0
    assert p["crs_grade"].max() < 3
    assert (p["crs_grade"] >= 1).mean() <= 0.1  # Liu 2020, Marin 2024: no CRS
    assert p["icans_grade"].max() == 0


def test_pediatric_car_t_has_no_severe_crs(pediatric):
    car_t = next(a for a in pediatric.arms if a.spec.product == "car_t")
    p = car_t.patients[car_t.patients["infused"].to_numpy(bool)]
    assert p["crs_grade"].max() < 3 and p["icans_grade"].max() == 0


def test_car_nk_persist_about_two_weeks(pediatric):
    """FT596: NK cells persisted <= 15 days. Days from the last infusion (day 15) to the last
    time CAR-NK are >= 0.1 cell/uL (about the flow-cytometry limit). The children's arm gives
    six infusions of 9e7/kg, about five times FT596's per-kg dose, which keeps the cells above
    the detection limit ~ln(5)/0.34 = 5 d longer; FT596's <= 15 d itself is checked at Gao's
    flat 0.75e9 dose in tests/test_sle_products.py. Since the lupus arm uses the shared
    catalogue's CAR-NK (host rejection 0.5/d, was 0.8/d), the median child is at ~15 d, the
    longest at ~30 d (were 11 and <= 25 d; docs/calibration.md §13)."""
    nk = next(a for a in pediatric.arms if a.spec.product == "car_nk")
    ds = nk.simulation.dataset
    t = ds["time"].values
    last_infusion = (nk.spec.infusions - 1) * nk.spec.interval_days
    x = ds["CARNK"].values[nk.patients["infused"].to_numpy(bool)]
    seen = [t[np.flatnonzero(row >= 0.1)[-1]] - last_infusion for row in x if (row >= 0.1).any()]
    assert len(seen) == len(x)
    assert np.median(seen) <= 15.0 + 5.0 and max(seen) <= 35.0
    assert np.all(ds["CART"].values < 1e-6)  # no phantom CAR-T in a CAR-NK arm


# ============================================================== issue 10: plausible activity
def test_sledai_stays_in_the_plausible_range(pediatric):
    """SLEDAI-2K above ~30 needs a stated cause (issue 10). The model's one cause: stopping
    the baseline prednisone unmasks the patient's untreated equilibrium (baselines are scored
    on 0.3 mg/kg/day), so no child's score may exceed max(30, its untreated steady-state
    score + 4, a flare's worth)."""
    from nksim.disease import sle_steady_state

    for arm in pediatric.arms:
        score = np.asarray(sledai(arm.simulation.dataset))
        untreated = sle_steady_state(pediatric.model, arm.parameters, prednisone_mg_per_day=0.0)
        cap = np.maximum(30, np.asarray(sledai(untreated)) + 4)
        assert np.all(score.max(axis=1) <= cap), (arm.name, score.max(axis=1), cap)
        assert np.median(score.max(axis=1)) <= 30


def test_pediatric_crs_rates_move_toward_published_lupus_series(pediatric):
    """CRS of any grade in 60-87 % of lupus CAR-T series, mostly grade 1-2 (issue 10): the
    virtual children at 1e5/kg sit at the lower edge (about 0.6), never grade >= 3; CAR-NK
    gives almost none."""
    car_t = next(a for a in pediatric.arms if a.spec.product == "car_t")
    p = car_t.patients[car_t.patients["infused"].to_numpy(bool)]
    assert 0.45 <= (p["crs_grade"] >= 1).mean() <= 0.9
    assert (p["crs_grade"] >= 3).sum() == 0
