"""Rituximab PK (Rozman 2017 two-compartment, time-varying clearance) and FCGR3A draws,
against independent truths: the closed-form biexponential solution, a second solver
(scipy, tight tolerance) on Rozman's explicit CL(t), and the multinomial frequencies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp

from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.model import compose
from nksim.therapy._antibodies import (
    FCGR3A_FREQUENCIES,
    FCGR3A_GENOTYPE_COUNTS,
    draw_fcgr3a,
    rituximab_clearance,
    rituximab_doses,
    rituximab_pk_component,
)

OPTS = SolverOptions(rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def model():
    return compose("rtx_only", "rituximab PK", "test", [rituximab_pk_component()])


def _p(model, **values):
    return model.with_values(values)


def test_linear_two_compartment_bolus_matches_closed_form(model):
    m = _p(model, rtx_cl_spec=0.0)
    v1, v2, q, cl = (m.parameter(n).value for n in ("rtx_v1", "rtx_v2", "rtx_q", "rtx_cl"))
    dose = 700.0
    t = np.linspace(0, 120, 121)
    res = simulate(m, t, doses=[rituximab_doses(dose / 1.9, 1.9, [0.0], infusion_hours=0.0)[0]],
                   options=OPTS)
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    alpha = (s + np.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - np.sqrt(s * s - 4 * k10 * k21)) / 2
    a = dose / v1 * (alpha - k21) / (alpha - beta)
    b = dose / v1 * (k21 - beta) / (alpha - beta)
    exact = a * np.exp(-alpha * t) + b * np.exp(-beta * t)
    got = res.dataset["rtx_conc"].values[0]
    np.testing.assert_allclose(got, exact, rtol=1e-6)


def test_time_varying_clearance_matches_second_solver(model):
    """Rozman's CL(t) = CL_lin + CL_spec,0 exp(-k_des t), clock started by the first dose
    (given on day 3, with a second dose on day 24), against scipy on the explicit form."""
    v1, v2, q = 4.62, 5.0, 0.5
    doses = rituximab_doses(375.0, 1.8, [3.0, 24.0], infusion_hours=0.0)
    t = np.linspace(0, 90, 181)
    res = simulate(model, t, doses=doses, options=OPTS)
    amount = 375.0 * 1.8

    def rhs(tt, y, t0):
        cl = rituximab_clearance(tt - t0)
        c = y[0] / v1
        return [-cl * c - q * (c - y[1] / v2), q * (c - y[1] / v2)]

    y = [amount, 0.0]
    out = []
    seg1 = solve_ivp(rhs, (3.0, 24.0), y, args=(3.0,), rtol=1e-11, atol=1e-11,
                     dense_output=True)
    y2 = seg1.y[:, -1] + [amount, 0.0]
    seg2 = solve_ivp(rhs, (24.0, 90.0), y2, args=(3.0,), rtol=1e-11, atol=1e-11,
                     dense_output=True)
    for tt in t:
        if tt < 3.0:
            out.append(0.0)
        elif tt < 24.0:
            out.append(seg1.sol(tt)[0] / v1)
        else:
            out.append(seg2.sol(tt)[0] / v1)
    got = res.dataset["rtx_conc"].values[0]
    mask = ~np.isin(t, [3.0, 24.0])  # the jump instants themselves are one-sided
    np.testing.assert_allclose(got[mask], np.array(out)[mask], rtol=1e-6, atol=1e-8)


def test_specific_clearance_speeds_early_elimination(model):
    """Target-mediated clearance: with CL_spec the AUC is lower than without (mechanism)."""
    t = np.linspace(0, 60, 61)
    doses = rituximab_doses(375.0, 1.8, [0.0], infusion_hours=0.0)
    with_spec = simulate(model, t, doses=doses, options=OPTS).dataset["rtx_conc"].values[0]
    without = simulate(_p(model, rtx_cl_spec=0.0), t, doses=doses,
                       options=OPTS).dataset["rtx_conc"].values[0]
    assert np.trapezoid(with_spec, t) < np.trapezoid(without, t)


def test_genotype_draws_follow_koene_frequencies_and_are_per_patient():
    ids = np.arange(6000)
    g = draw_fcgr3a(7, ids)
    counts = [int((g == k).sum()) for k in ("VV", "VF", "FF")]
    expected = [FCGR3A_FREQUENCIES[k] * ids.size for k in ("VV", "VF", "FF")]
    assert stats.chisquare(counts, expected).pvalue > 0.001
    assert sum(FCGR3A_GENOTYPE_COUNTS.values()) == 87  # Koene 1997 Table 1
    # a patient's genotype does not depend on who else is drawn
    assert list(draw_fcgr3a(7, [5, 17, 900])) == [g[5], g[17], g[900]]


def test_bad_antibody_inputs_are_user_errors():
    with pytest.raises(UserError):
        rituximab_doses(-1.0, 1.8, [0.0])
    with pytest.raises(UserError):
        draw_fcgr3a(1, [0], {"VV": 0.5, "VF": 0.6, "FF": 0.1})
