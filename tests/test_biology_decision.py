"""The NK decision (issue 9 §1): the Vav1 switch and the per-encounter receptor balance.

Truths used here are independent of the code under test: the steady-state equation itself
(residual of the right-hand side written out by hand), the engine's integration versus the
Goldbeter-Koshland closed form, Monte-Carlo encounters versus the closed-form rate law, and
qualitative properties (monotonicity, invariances) that follow from the biology, not from
numbers printed by nksim.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nksim.biology import (
    VAV1_SWITCH_MODEL,
    Microenvironment,
    NKReceptors,
    Signals,
    TargetLigands,
    activation_probability,
    activation_rate_law,
    goldbeter_koshland,
    inhibitory_cutoff,
    signals,
    simulate_encounters,
    vav1_dose_response,
    vav1_steady_state,
)
from nksim.errors import UserError

LA_GRID = np.logspace(-3, 2, 61)


def hill_coefficient(x, y):
    """Effective Hill coefficient ln 81 / ln(EC90/EC10) of an increasing response."""
    y = (y - y.min()) / (y.max() - y.min())
    lx = np.log(x)
    ec10, ec90 = np.interp(0.1, y, lx), np.interp(0.9, y, lx)
    return math.log(81.0) / (ec90 - ec10)


# ------------------------------------------------------------------ Vav1 switch
def test_goldbeter_koshland_solves_the_steady_state_equation():
    rng = np.random.default_rng(1)
    v1, v2 = rng.uniform(0.01, 3, 200), rng.uniform(0.01, 3, 200)
    j1, j2 = rng.uniform(0.005, 2, 200), rng.uniform(0.005, 2, 200)
    w = goldbeter_koshland(v1, v2, j1, j2)
    residual = v1 * (1 - w) / (j1 + 1 - w) - v2 * w / (j2 + w)
    assert np.all((w >= 0) & (w <= 1))
    assert np.max(np.abs(residual)) < 1e-9


def test_engine_steady_state_matches_the_closed_form():
    LA = np.repeat([0.01, 0.1, 1.0, 10.0], 4)
    LI = np.tile([0.0, 0.05, 0.3, 3.0], 4)
    simulated = vav1_dose_response(LA, LI, t_end=5000.0)
    assert np.max(np.abs(simulated - vav1_steady_state(LA, LI))) < 1e-5


def test_phosphorylation_is_ultrasensitive_only_with_saturated_enzymes():
    switch = vav1_dose_response(LA_GRID)
    graded = vav1_dose_response(LA_GRID, Km_K=10.0, Km_P=10.0)
    assert np.all(np.diff(switch) >= -1e-9)  # more ligand never lowers pVav1
    assert hill_coefficient(LA_GRID, switch) > 3.0  # switch-like (Mesecke 2011)
    assert hill_coefficient(LA_GRID, graded) < 1.2  # first-order enzymes: graded


def test_inhibition_is_switch_like_and_dominant_over_activation():
    li = np.logspace(-3, 1, 41)
    v = vav1_dose_response(np.full_like(li, 100.0), li)
    assert hill_coefficient(li, -v) > 3.0  # switch-like dephosphorylation
    both = vav1_dose_response([1.0, 10.0, 100.0], [1.0, 10.0, 100.0])
    assert np.all(both < 0.05)  # equal engagement of both: inhibition wins
    # dominance needs the enhanced activity of receptor-bound SHP-1 (Mesecke 2011)
    p0 = next(p.value for p in VAV1_SWITCH_MODEL.parameters if p.name == "kcat_P0")
    plain = vav1_dose_response([1.0, 10.0, 100.0], [1.0, 10.0, 100.0], kcat_P=p0)
    assert np.all(plain > 0.9)


def test_positive_feedback_makes_the_switch_bistable():
    up = vav1_dose_response(LA_GRID, fb=5.0, V0=0.0)
    down = vav1_dose_response(LA_GRID, fb=5.0, V0=1.0)
    assert np.max(down - up) > 0.5  # hysteresis: the history decides
    up0 = vav1_dose_response(LA_GRID, V0=0.0)
    down0 = vav1_dose_response(LA_GRID, V0=1.0)
    assert np.max(np.abs(down0 - up0)) < 1e-4  # no feedback: a single steady state


# ------------------------------------------------------------------ the decision
def test_activation_is_all_or_none_for_strong_ligands():
    rng = np.random.default_rng(2)
    pv_strong, act = simulate_encounters(Signals(1.0, 0.0, 1.0), 20000, rng)
    assert act.all() and pv_strong.min() > 0.9
    # at half activation, encounters are bimodal with the zero-order switch ...
    pv, act = simulate_encounters(Signals(0.015, 0.0, 1.0), 20000, rng)
    assert 0.3 < act.mean() < 0.7
    middle = np.mean((pv > 0.1) & (pv < 0.9))
    assert middle < 0.35 and min(np.mean(pv <= 0.1), np.mean(pv >= 0.9)) > middle
    # ... and graded with first-order enzymes
    pv_g, _ = simulate_encounters(Signals(0.015, 0.0, 1.0), 20000, rng, Km_K=1.0, Km_P=1.0)
    assert np.mean((pv_g > 0.1) & (pv_g < 0.9)) > 0.6


@pytest.mark.parametrize("LI", [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5])
def test_closed_form_rate_law_agrees_with_encounters(LI):
    rng = np.random.default_rng(3)
    for LA in np.logspace(-2.5, 1.5, 9):
        sig = Signals(float(LA), LI, 1.0)
        _, act = simulate_encounters(sig, 20000, rng)
        mc, se = act.mean(), max(math.sqrt(act.mean() * (1 - act.mean()) / act.size), 1e-3)
        assert abs(activation_probability(sig) - mc) < 5 * se
        assert abs(activation_rate_law(sig) - mc) < 0.035 + 4 * se


def test_inhibition_vetoes_any_activating_signal_above_the_cutoff():
    lic = inhibitory_cutoff()
    rng = np.random.default_rng(4)
    _, act = simulate_encounters(Signals(1e4, 3 * lic, 1.0), 20000, rng, sigma_i=0.05)
    assert act.sum() == 0
    assert activation_probability(Signals(1e4, 3 * lic, 1.0), sigma_i=0.05) < 1e-6


def _p(nk=None, **target):
    nk = nk or NKReceptors()
    return activation_probability(signals(nk, TargetLigands(**target)))


def test_missing_self_induced_self_and_licensing():
    mhc = [0.0, 0.25, 0.5, 1.0, 2.0]
    licensed = [_p(mhc_i=m, nkg2d_ligand=1.0) for m in mhc]
    assert all(a > b for a, b in zip(licensed, licensed[1:], strict=False))  # missing self
    unlicensed = [_p(NKReceptors(licensed=False), mhc_i=m, nkg2d_ligand=1.0) for m in mhc]
    assert max(unlicensed) - min(unlicensed) < 1e-12  # deaf to self MHC
    ligand = [0.1, 0.3, 1.0, 3.0]
    induced = [_p(mhc_i=0.5, nkg2d_ligand=x) for x in ligand]
    assert all(a < b for a, b in zip(induced, induced[1:], strict=False))  # induced self
    for x in ligand:  # education: licensed cells respond more to MHC-negative targets
        assert _p(mhc_i=0.0, nkg2d_ligand=x) > _p(NKReceptors(licensed=False), mhc_i=0.0,
                                                   nkg2d_ligand=x)


def test_cd16_v158_beats_f158_only_with_antibody():
    target = dict(nkg2d_ligand=0.2, mhc_i=0.5)
    v = _p(NKReceptors(cd16_allele="V158"), antibody_coating=1.0, **target)
    f = _p(NKReceptors(cd16_allele="F158"), antibody_coating=1.0, **target)
    assert v > f > _p(NKReceptors(cd16_allele="F158"), antibody_coating=0.0, **target)
    assert _p(NKReceptors(cd16_allele="V158"), **target) == _p(
        NKReceptors(cd16_allele="F158"), **target)
    assert _p(NKReceptors(car=1.0), car_antigen=1.0, **target) > _p(car_antigen=1.0, **target)


def test_escape_factors_lower_activation():
    nk, tgt = NKReceptors(pd1=1.0), TargetLigands(nkg2d_ligand=1.0, mhc_i=0.3)
    base = activation_probability(signals(nk, tgt))
    smica = activation_probability(signals(nk, tgt, Microenvironment(soluble_mica=2.0)))
    tgf = activation_probability(signals(nk, tgt, Microenvironment(tgf_beta=5.0)))
    pdl1 = activation_probability(signals(nk, TargetLigands(nkg2d_ligand=1.0, mhc_i=0.3,
                                                            pdl1=1.0)))
    assert smica < base and tgf < base and pdl1 < base


@pytest.mark.parametrize("bad", [dict(mhc_i=-1.0), dict(nkg2d_ligand=float("nan")),
                                 dict(antibody_coating=2.0)])
def test_bad_inputs_name_the_field(bad):
    with pytest.raises(UserError, match=r"^target\."):
        signals(NKReceptors(), TargetLigands(**bad))
    with pytest.raises(UserError, match="nk.cd16_allele"):
        signals(NKReceptors(cd16_allele="X"), TargetLigands())


def test_sbml_export_runs_to_the_closed_form_in_libroadrunner():
    roadrunner = pytest.importorskip("roadrunner")
    from nksim.model import to_sbml

    rr = roadrunner.RoadRunner(to_sbml(VAV1_SWITCH_MODEL))
    for la, li in ((0.02, 0.05), (1.0, 0.0), (10.0, 1.0)):
        rr.resetAll()
        rr.setValue("LA", la)
        rr.setValue("LI", li)
        rr.integrator.absolute_tolerance = 1e-12
        rr.integrator.relative_tolerance = 1e-10
        v_final = rr.simulate(0, 5000, 2)[-1, 3]
        assert abs(v_final - float(vav1_steady_state(la, li))) < 1e-6
