"""Lupus products come from the shared product catalogue (issue 9 §6, issue 10 §2).

The lupus setting doses the catalogue's products (:func:`nksim.therapy.car_t`,
:func:`nksim.therapy.car_nk`), and the lupus model's CAR-NK component carries the
catalogue's CAR-NK kinetics (one definition for lupus, lymphoma, pancreatic cancer and
ageing). Checked here: the parameter values and sources are the catalogue's, the dose records
are the catalogue product's and equal the dose arithmetic written out independently, the
IL-15 armour switch follows the catalogue's kinetics in closed form, and the anchors of
infused NK persistence (FT596 <= 15 d; IL-15 cord-blood CAR-NK for months, Liu 2020) hold in
the lupus model. Research use only.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pytest

from nksim.config import TrialScenario
from nksim.disease import sle_initial_state
from nksim.disease._sle_setting import PRODUCT_STATE, SETTING, arm_product
from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.library import get_model
from nksim.model import Citation, Component, Parameter, State, compose
from nksim.scenario import read_toml, validate
from nksim.therapy import (
    car_nk,
    car_nk_component,
    lymphodepletion_component,
    lymphodepletion_doses,
)
from nksim.therapy._nk_products import (
    FRACTION_IN_BLOOD,
    IL15_ARMOUR_RHO,
    K_REJ,
    KINETICS,
    NK_FRACTION_IN_BLOOD,
    SUPPORT_LOSS_FACTOR,
)

BUNDLED = ("sle_pediatric_cart_vs_carnk.toml", "sle_adult_carnk_kn5501.toml",
           "sle_adult_cart.toml")
DETECTION = 0.1  # cell/uL: flow/qPCR detection (assumption, 0.1-1), as in test_calibration


def _scenario(name: str) -> TrialScenario:
    return validate(TrialScenario, read_toml(resources.files("nksim.data") / "scenarios" / name))


def test_lupus_carnk_parameters_are_the_catalogue_values():
    model = get_model("sle_cd19")
    cat = KINETICS["car_nk"]
    pairs = {"carnk_delta": cat.delta, "carnk_rho": cat.rho, "carnk_rej": cat.rej,
             "carnk_kill": cat.kill, "carnk_K_kill": cat.k_kill, "carnk_K_rej": K_REJ,
             "carnk_il15_rho": IL15_ARMOUR_RHO, "carnk_il15_loss": SUPPORT_LOSS_FACTOR["il15"]}
    for name, value in pairs.items():
        p = model.parameter(name)
        assert p.value == value.value and p.unit == value.unit, name
        assert p.source == value.source, name
        assert f"{value.low:g}-{value.high:g}" in p.description, name


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_arms_dose_the_catalogue_products(name):
    """Each arm's product is the catalogue's; its dose records are the product's own and equal
    cells x blood share / blood volume written out here (CAR-T 0.004, NK 0.02; 75 mL/kg
    under 18 years, else 70)."""
    sc = _scenario(name)
    weight, age = 30.0, 12.0
    for arm in sc.arms:
        product = arm_product(arm)
        assert product.kind == arm.product
        assert product.car_antigen == "CD19"
        dual = float(arm.parameters.get("carnk_dual", 0)) == 1
        assert product.second_antigen == ("BCMA" if dual else None)
        row = type("Row", (), {"infused": True, "weight_kg": weight, "age_years": age,
                               "background_prednisone_mg_day": 0.0, "candidate": 1})()
        ld = [Dose("LD", 1.0, -5.0)]
        records = [d for d in SETTING.doses(arm, row, ld, sc) if d.state in PRODUCT_STATE.values()]
        assert records == product.doses_for(PRODUCT_STATE[arm.product], weight, 0.0,
                                            blood_ml_per_kg=75.0)
        cells = arm.dose if arm.dose is not None else arm.dose_per_kg * weight
        share = FRACTION_IN_BLOOD.get(arm.product, NK_FRACTION_IN_BLOOD)
        (rec,) = records
        assert rec.amount == pytest.approx(cells * share / (weight * 75.0 * 1000.0), rel=1e-12)
        assert rec.count == arm.infusions
        assert (rec.every or None) == (arm.interval_days if arm.infusions > 1 else None)


def test_an_arm_not_infused_gets_no_product():
    sc = _scenario("sle_adult_cart.toml")
    row = type("Row", (), {"infused": False, "weight_kg": 70.0, "age_years": 40.0,
                           "background_prednisone_mg_day": 0.0, "candidate": 1})()
    doses = SETTING.doses(sc.arms[0], row, [], sc)
    assert not any(d.state in PRODUCT_STATE.values() for d in doses)


_TEST = Citation("test stand-in", "test-only target state", "assumption")


@pytest.fixture(scope="module")
def stand_in():
    """CAR-NK with no targets, host T cells held at their set-point (no drug)."""
    target = Component(name="no_targets", description="test-only empty target",
                       states=(State("X", "cell/uL", "targets (none)", 0.0),),
                       parameters=(Parameter("tst_x", 0.0, "1/day", "none", _TEST),),
                       terms={"X": "-tst_x*X"})
    return compose("test_carnk_catalogue", "CAR-NK alone", "test only",
                   [target, lymphodepletion_component(()), car_nk_component(("X",))])


@pytest.mark.parametrize("armoured", [False, True])
@pytest.mark.parametrize("th", [20.0, 100.0, 1200.0])
def test_il15_switch_follows_the_catalogue_kinetics_in_closed_form(stand_in, armoured, th):
    """CARNK(t) = C0 exp(net t) with net = rho - delta - rej TH/(K_rej + TH) from
    ``car_nk(il15_armoured=...).kinetics()`` of the catalogue (no support, no LD factor: host
    T cells carry lymphodepletion in the lupus model)."""
    m = stand_in
    names = m.parameter_names
    P = m.parameter_vector()[None, :].copy()
    P[0, names.index("th_normal")] = th
    P[0, names.index("carnk_il15")] = 1.0 if armoured else 0.0
    Y = m.initial_vector()[None, :].copy()
    Y[0, m.state_names.index("TH")] = th
    times = np.linspace(0.0, 30.0, 31)
    ds = simulate(m, times, parameters=P, initial=Y, doses=[[Dose("CARNK", 5.0, 0.0)]],
                  options=SolverOptions(rtol=1e-10, atol=1e-12)).dataset
    k = car_nk("CD19", il15_armoured=armoured).kinetics()
    net = k["rho"] - k["delta"] - k["rej"] * th / (K_REJ.value + th)
    expected = 5.0 * np.exp(net * times)
    alive = expected > 1e-3
    np.testing.assert_allclose(ds.CARNK.values[0][alive], expected[alive], rtol=1e-6)


@pytest.fixture(scope="module")
def persistence():
    """One 60-kg adult (SLEDAI 12), Gao's regimen: Flu 25 + Cy 300 x 3, three infusions of
    0.75e9 CD19 CAR-NK on days 0, 3, 6: unarmoured and IL-15-armoured with T cells at 1000
    cells/uL, and IL-15-armoured in a lymphopenic host (T cells 250 cells/uL, like the
    heavily pretreated lymphoma patients of Liu 2020; assumption)."""
    m = get_model("sle_cd19")
    rows, inits = [], []
    for th, il15 in ((1000.0, 0.0), (1000.0, 1.0), (250.0, 1.0)):
        base = sle_initial_state(m, {"th_normal": th, "weight_GC": 60.0, "carnk_il15": il15},
                                 12)
        y = base.initial.copy()
        y[0, m.state_names.index("TH")] = th
        rows.append(base.parameters[0])
        inits.append(y[0])
    P, Y = np.array(rows), np.array(inits)
    product = dataclasses.replace(car_nk("CD19"), purity=1.0, viability=1.0)  # viable cells
    doses = lymphodepletion_doses(-5, 3, 25, 300) + product.doses_for("CARNK", 60.0, 0.0)
    times = np.round(np.arange(-6.0, 400.0, 0.25), 10)
    ds = simulate(m, times, parameters=P, initial=Y, doses=[doses] * 3, t_start=-6.0).dataset
    return times, ds.CARNK.values


def _detectable_days_after(times, x, last=6.0):
    above = times[(times > last) & (x >= DETECTION)]
    return float(above.max() - last) if above.size else 0.0


def test_unarmoured_carnk_persists_about_two_weeks(persistence):
    """FT596 (science.md §4, V-src): NK cells peaked at day 1 and persisted <= 15 d."""
    times, x = persistence
    days = _detectable_days_after(times, x[0])
    assert 3.0 <= days <= 15.0, days


def test_il15_armoured_carnk_persists_for_months_in_a_lymphopenic_host(persistence):
    """Cord-blood CAR-NK with IL-15 persisted at low levels for >= 12 months in lymphoma
    patients (Liu 2020, science.md §4, V-src): with the catalogue's armour (autocrine growth
    0.1/d, loss halved) the product outlasts rejection by few host T cells for months (about
    three, not twelve: a gap recorded in docs/calibration.md §13). In a
    lupus adult whose T cells recover to 1000/uL rejection ends it within weeks: a model
    prediction for lupus, not an anchor (docs/calibration.md §13)."""
    times, x = persistence
    unarmoured = _detectable_days_after(times, x[0])
    lupus_adult = _detectable_days_after(times, x[1])
    lymphopenic = _detectable_days_after(times, x[2])
    assert lymphopenic >= 60.0, lymphopenic  # months (~3); Liu's >= 12 months is not reached
    assert lupus_adult > 2 * unarmoured, (lupus_adult, unarmoured)
    assert np.all(np.isfinite(x)) and x.max() < 1000.0  # no runaway expansion


@pytest.fixture(scope="module")
def allogeneic_cart():
    """A SLEDAI-16 adult (70 kg, T cells 1200/uL), Flu 25 x 3 + Cy 1000, 1e6 CD19 CAR-T/kg:
    autologous and allogeneic (catalogue car_t(allogeneic=True): rejected by host T cells)."""
    from nksim.therapy import car_t, toxicity_table

    m = get_model("sle_cd19")
    rows, inits = [], []
    for allo in (0.0, 1.0):
        base = sle_initial_state(m, {"th_normal": 1200.0, "cart_allo": allo}, 16)
        y = base.initial.copy()
        y[0, m.state_names.index("TH")] = 1200.0
        rows.append(base.parameters[0])
        inits.append(y[0])
    times = np.round(np.arange(-6.0, 60.0, 0.1), 10)
    doses = [lymphodepletion_doses(-5, 3, 25, [0, 0, 1000])
             + dataclasses.replace(car_t("CD19", allogeneic=allo), purity=1.0, viability=1.0)
             .doses_for("CART", 70.0, 0.0) for allo in (False, True)]
    ds = simulate(m, times, parameters=np.array(rows), initial=np.array(inits), doses=doses,
                  t_start=-6.0).dataset
    return times, ds, toxicity_table(ds, t_from=0.0)


def test_allogeneic_car_t_peaks_about_day_14_lower_and_without_crs(allogeneic_cart):
    """Wang (NCT05859997, science.md §4, V-src; n = 3, 1e6/kg): allogeneic CD19 CAR-T in SLE
    peaked on day 14 with no CRS. The rejection rate is calibrated to the peak day; the
    absence of CRS is a check."""
    times, ds, tox = allogeneic_cart
    total = ds.CART.values + ds.CARTM.values
    t_auto, t_allo = times[np.argmax(total[0])], times[np.argmax(total[1])]
    assert 12.0 <= t_allo <= 16.0 and t_allo > t_auto
    assert total[1].max() < 0.5 * total[0].max()
    assert tox["crs_grade"].iloc[1] == 0


_VARIANT_ARMS = """[[arms]]
name = "allogeneic_car_t"
product = "car_t"
dose_per_kg = "1e6 cell/kg"
[arms.parameters]
cart_allo = 1
[arms.lymphodepletion]
fludarabine_mg_m2 = 25
cyclophosphamide_mg_m2 = [0, 0, 1000]
[arms.steroids]
after = "stop"

[[arms]]
name = "il15_car_nk"
product = "car_nk"
dose = "7.5e8 cell"
infusions = 3
interval_days = 3
[arms.parameters]
carnk_il15 = 1
[arms.lymphodepletion]
fludarabine_mg_m2 = 25
cyclophosphamide_mg_m2 = 300
[arms.steroids]
after = "keep_then_taper"
"""


def test_variant_products_run_end_to_end_in_a_trial(small_trial_toml):
    """Allogeneic CAR-T and IL-15-armoured CAR-NK arms through the trial runner: the arms'
    switches select the catalogue products (names, doses) and the simulated cells follow them
    (allogeneic CAR-T without CRS above grade 1; armoured CAR-NK still
    detectable a month after the last infusion in most patients)."""
    import tomllib

    from nksim.trials import run_trial

    head = small_trial_toml(name="variants", seed=11, patients_per_arm=3, follow_up_days=182,
                            n_candidates=60, population=None, arms=())
    sc = validate(TrialScenario, tomllib.loads(head + _VARIANT_ARMS))
    assert [arm_product(a).name for a in sc.arms] == ["CD19 allogeneic CAR-T",
                                                      "CD19 IL-15 CAR-NK"]
    res = run_trial(sc, progress=False)
    allo, nk = res.arms
    t = allo.simulation.dataset["time"].values
    on = allo.patients["infused"].to_numpy(bool)
    car = (allo.simulation.dataset["CART"].values + allo.simulation.dataset["CARTM"].values)[on]
    assert on.any() and np.all(car.max(axis=1) > 0.5)
    # Wang: no CRS in 3 (95 % CI of the rate 0-0.71); the model gives grade 1 in some patients
    assert np.all(allo.patients["crs_grade"].to_numpy()[on] <= 1)
    x = nk.simulation.dataset["CARNK"].values[nk.patients["infused"].to_numpy(bool)]
    seen = [t[np.flatnonzero(row >= DETECTION)[-1]] - 6.0 for row in x]
    assert np.median(seen) >= 20.0, seen


def _row(candidate: int):
    return type("Row", (), {"infused": True, "weight_kg": 60.0, "age_years": 40.0,
                            "background_prednisone_mg_day": 0.0, "candidate": candidate})()


@pytest.mark.parametrize("il15", [False, True])
def test_in_vivo_expansion_is_a_per_patient_event_at_the_catalogue_rate(il15):
    """Expansion of infused NK cells happens in a minority of patients (Bachanova 2014: 10 %
    with IL-2; Cooley 2019: 27-36 % with IL-15; science-nk-cancer-ageing.md §3b), drawn per
    patient, never a mean rate: the lupus arm draws the catalogue's event with the product's
    probability (unarmoured CAR-NK after Flu/Cy 0.05; IL-15-armoured >= 0.5)."""
    from scipy.stats import binomtest

    from nksim.therapy._nk_products import KINETICS

    sc = _scenario("sle_adult_carnk_kn5501.toml")
    arm = sc.arms[0]
    if il15:
        arm = arm.model_copy(update={"parameters": {**arm.parameters, "carnk_il15": 1.0}})
    ids = range(1000, 1600)
    flags = [any(d.state == "CARNKX" for d in SETTING.doses(arm, _row(i), [], sc)) for i in ids]
    p = 0.5 if il15 else KINETICS["car_nk"].p_expand[("none", True)].value
    assert binomtest(sum(flags), len(flags), p).pvalue > 0.001
    again = [any(d.state == "CARNKX" for d in SETTING.doses(arm, _row(i), [], sc)) for i in ids]
    assert flags == again  # the patient's own stream: reproducible


def test_an_expansion_event_deepens_and_prolongs_depletion():
    """Same adult and regimen (Gao's Flu/Cy, 0.75e9 x 3): with the event the CAR-NK grow
    towards the catalogue's plateau (kexp 1000 cells/uL, Bachanova 2014's median) and B cells
    stay below 10 cells/uL for longer."""
    m = get_model("sle_cd19")
    base = sle_initial_state(m, {"th_normal": 1000.0, "weight_GC": 60.0}, 12)
    Y = np.repeat(base.initial, 2, axis=0)
    Y[:, m.state_names.index("TH")] = 1000.0
    product = dataclasses.replace(car_nk("CD19"), purity=1.0, viability=1.0)
    doses = lymphodepletion_doses(-5, 3, 25, 300) + product.doses_for("CARNK", 60.0, 0.0)
    times = np.round(np.arange(-6.0, 120.0, 0.25), 10)
    ds = simulate(m, times, parameters=np.repeat(base.parameters, 2, axis=0), initial=Y,
                  doses=[doses, doses + [Dose("CARNKX", 1.0, 0.0)]], t_start=-6.0).dataset
    x, b = ds.CARNK.values, ds.B.values
    assert x[1].max() > 10 * x[0].max() and x[1].max() < KINETICS["car_nk"].kexp.value
    low = [(times[(times > 0) & (row < 10.0)]).size for row in b]
    assert low[1] > low[0]
