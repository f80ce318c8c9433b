"""Gemcitabine (Jiang 2008) and S-1 (Booka formula) PK and the derived Claret-type
inhibition, against independent truths: the closed-form two-compartment solution, AUC =
dose/CL, the published renal-function formula's target AUC, and the published summary the
inhibition constants were derived from, integrated by the engine with the real PK."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nksim.disease._pancreatic import pancreatic_model
from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.model import compose
from nksim.therapy._chemotherapy import (
    GEM_TGI,
    S1_TARGET_AUC_MG_H_L,
    chemotherapy_component,
    cockcroft_gault_ml_min,
    derive_gemcitabine_tgi,
    gs_doses,
    s1_apparent_clearance_l_h,
    s1_daily_dose_mg,
)

TIGHT = SolverOptions(rtol=1e-9, atol=1e-12, progress=False)


@pytest.fixture(scope="module")
def chemo():
    return compose("chemo_only", "chemo", "gemcitabine and S-1 PK", [chemotherapy_component()])


def _biexponential(t, dose, cl, vc, q, vp):
    """Closed-form two-compartment bolus solution (Gibaldi & Perrier macro-constants)."""
    k10, k12, k21 = cl / vc, q / vc, q / vp
    s = k10 + k12 + k21
    alpha = (s + math.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - math.sqrt(s * s - 4 * k10 * k21)) / 2
    a = (alpha - k21) / (alpha - beta)
    b = (k21 - beta) / (alpha - beta)
    return dose / vc * (a * np.exp(-alpha * t) + b * np.exp(-beta * t))


def test_gemcitabine_matches_the_closed_form_two_compartment_solution(chemo):
    t = np.linspace(0.0, 0.25, 121)  # 6 hours (gemcitabine t1/2 is minutes)
    res = simulate(chemo, t, doses=[Dose("GEMC", 1800.0, 0.0)], options=TIGHT)
    conc = res.dataset["gem_conc"].values[0]
    p = {x.name: x.value for x in chemo.parameters}
    exact = _biexponential(t, 1800.0, p["gem_cl"], p["gem_vc"], p["gem_q"], p["gem_vp"])
    np.testing.assert_allclose(conc, exact, rtol=1e-5, atol=1e-9)
    assert p["gem_cl"] == pytest.approx(2.7 * 1440) and p["gem_vc"] == 15.0  # Jiang 2008


def test_gemcitabine_infusion_auc_is_dose_over_clearance(chemo):
    t = np.linspace(0.0, 0.5, 4001)
    res = simulate(chemo, t, doses=[Dose("GEMC", 1800.0, 0.0, duration=30 / 1440)],
                   options=TIGHT)
    auc = np.trapezoid(res.dataset["gem_conc"].values[0], t)
    assert auc == pytest.approx(1800.0 / (2.7 * 1440), rel=2e-3)


def test_s1_booka_dose_gives_the_target_daily_5fu_auc(chemo):
    clcr, bsa, male = 75.0, 1.7, True
    cl_l_h = s1_apparent_clearance_l_h(clcr, bsa, male)
    daily_mg = S1_TARGET_AUC_MG_H_L * cl_l_h  # the published formula solved for the dose
    t = np.linspace(0.0, 14.0, 14 * 96 + 1)
    res = simulate(chemo, t, parameters={"s1_cl": cl_l_h * 24.0},
                   doses=[Dose("TEG", daily_mg / 2, 0.0, every=0.5, count=28)], options=TIGHT)
    c = res.dataset["fu_conc"].values[0]
    last = t >= 13.0 - 1e-12
    auc_mg_h_l = np.trapezoid(c[last], t[last]) * 24.0
    assert auc_mg_h_l == pytest.approx(S1_TARGET_AUC_MG_H_L, rel=0.02)
    # the refined formula's value for this patient: (14.5 + 8.23 + 0.301*75) * 1.7
    assert cl_l_h == pytest.approx((14.5 + 8.23 + 0.301 * 75) * 1.7)


def test_derived_inhibition_reproduces_the_published_summary_with_the_real_pk():
    """6 cycles of gemcitabine 1000 mg/m2 d1, 8, 15 q28d (30-min infusions, two-compartment
    PK, resistance): tumour SLD inhibited by 22.3 % vs untreated, i.e. volume x 0.777^3."""
    m = pancreatic_model(None)
    doses = gs_doses(1.8, 6, s1_mg_per_day=0.0, cycle_days=28.0, gem_days=(0.0, 7.0, 14.0))
    t = np.array([0.0, 168.0])
    res = simulate(m, t, parameters={"pdac_kg": 0.0}, doses=doses,
                   options=SolverOptions(rtol=1e-8, atol=1e-10, progress=False))
    y = res.dataset["Y"].values[0]
    assert y[1] / y[0] == pytest.approx((1 - 0.223) ** 3, rel=3e-3)
    assert math.exp(-GEM_TGI.lam * (168 - 14)) == pytest.approx(0.43, rel=1e-9)
    sld = derive_gemcitabine_tgi(volume=False)
    assert GEM_TGI.kd == pytest.approx(3 * sld.kd)


def test_inhibition_with_constant_exposure_has_the_claret_closed_form():
    """dY/dt = (kg - kd C e^{-lam t}) Y  =>  Y = Y0 exp(kg t - kd C (1 - e^{-lam t})/lam)."""
    m = pancreatic_model(None)
    kg, c = 0.004, 0.05  # 5-FU held at 0.05 mg/L: no elimination, no tegafur
    p = {"pdac_kg": kg, "s1_cl": 0.0, "pdac_K": 1e9}
    v = dict((x.name, x.value) for x in m.parameters)
    init = m.initial_vector()
    s = list(m.state_names)
    init[s.index("FU")] = c * v["s1_v"]
    t = np.linspace(0, 200, 11)
    res = simulate(m, t, parameters=p, initial=init[None], options=TIGHT)
    lam, kd = v["tgi_lam"], v["fu_kd"]
    exact = init[s.index("Y")] * np.exp(kg * t - kd * c * (1 - np.exp(-lam * t)) / lam)
    np.testing.assert_allclose(res.dataset["Y"].values[0], exact, rtol=1e-5)


def test_dosing_tables_and_formulas():
    assert [s1_daily_dose_mg(b) for b in (1.2, 1.25, 1.49, 1.5, 2.0)] == [60, 80, 80, 100, 100]
    assert cockcroft_gault_ml_min(60, 72, 1.0, False) == pytest.approx(80.0)
    assert cockcroft_gault_ml_min(60, 72, 1.0, True) == pytest.approx(68.0)
    d = gs_doses(1.7, 3)
    gem = [x for x in d if x.state == "GEMC"]
    s1 = [x for x in d if x.state == "TEG"]
    assert [x.time for x in gem] == [0, 7, 21, 28, 42, 49]
    assert all(x.amount == pytest.approx(1700.0) for x in gem)
    assert [x.count for x in s1] == [28] * 3 and s1[0].amount == pytest.approx(50.0)  # 100 mg/d


@pytest.mark.parametrize("call", [lambda: s1_daily_dose_mg(0.1),
                                  lambda: gs_doses(1.7, -1),
                                  lambda: derive_gemcitabine_tgi(inhibition=1.5),
                                  lambda: cockcroft_gault_ml_min(60, 70, 0.0, False)])
def test_bad_input_is_a_user_error(call):
    with pytest.raises(UserError):
        call()
