"""Steady states against equilibria derived by hand (nksim.analysis.steady_state)."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.analysis import steady_state
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State

TEST = Citation("test", "toy model written for the tests", "assumption")


def toy(name, states, params, equations):
    return Model(name=name, title=name, description="test model",
                 states=tuple(State(*s) for s in states),
                 parameters=tuple(Parameter(p, v, u, p, TEST) for p, v, u in params),
                 equations=equations)


# x' = a - b x, y' = b x - c y: x* = a/b, y* = a/c (linear, globally stable)
LINEAR = toy("ss_linear", [("x", "cell", "x", 1.0), ("y", "cell", "y", 0.0)],
             [("a", 10.0, "cell/day"), ("b", 0.5, "1/day"), ("c", 0.1, "1/day")],
             {"x": "a - b*x", "y": "b*x - c*y"})
# logistic: roots 0 (unstable) and K (stable)
LOGISTIC = toy("ss_logistic", [("x", "cell", "x", 10.0)],
               [("r", 0.5, "1/day"), ("K", 1000.0, "cell")], {"x": "r*x*(1 - x/K)"})
# no steady state: x' = a > 0
DRIFT = toy("ss_drift", [("x", "cell", "x", 1.0)], [("a", 2.0, "cell/day")], {"x": "a"})


def test_linear_population_matches_closed_form():
    rng = np.random.default_rng(1)
    a, b, c = rng.uniform(1, 20, 7), rng.uniform(0.05, 2, 7), rng.uniform(0.01, 1, 7)
    ss = steady_state(LINEAR, parameters={"a": a, "b": b, "c": c})
    np.testing.assert_allclose(ss.states["x"], a / b, rtol=1e-12)
    np.testing.assert_allclose(ss.states["y"], a / c, rtol=1e-12)
    assert ss.status_counts == {"newton": 7}
    assert (ss.patients["residual"] <= 1e-10).all()


@pytest.mark.parametrize("pset", ["nn", "ll", "patient9"])
def test_depillis2005_tumour_free_equilibrium(pset):
    """T = L = 0: N* = sigma/f (de Pillis 2005), from a guess far from it."""
    model = get_model("depillis2005", pset)
    P = dict(zip(model.parameter_names, model.parameter_vector(), strict=True))
    ss = steady_state(model, guess={"T": 0.0, "N": 1e3, "L": 0.0})
    assert ss.patients["status"].iloc[0] == "newton"
    assert ss.states["N"].iloc[0] == pytest.approx(P["sigma"] / P["f"], rel=1e-12)
    assert ss.states["T"].iloc[0] == 0.0 and ss.states["L"].iloc[0] == 0.0


def test_depillis2006_tumour_free_equilibrium():
    """C* = alpha/beta, N* = e C*/f, T = L = M = I = 0 (de Pillis 2006)."""
    model = get_model("depillis2006")
    P = dict(zip(model.parameter_names, model.parameter_vector(), strict=True))
    guess = dict.fromkeys(model.state_names, 0.0)
    guess.update(N=1e3, C=1e9)
    ss = steady_state(model, guess=guess)
    c_star = P["alpha"] / P["beta"]
    assert ss.patients["status"].iloc[0] == "newton"
    assert ss.states["C"].iloc[0] == pytest.approx(c_star, rel=1e-12)
    assert ss.states["N"].iloc[0] == pytest.approx(P["e"] * c_star / P["f"], rel=1e-12)


def test_integration_fallback_reaches_the_stable_root():
    """Newton allowed one step fails; integrating forward reaches K, the stable root."""
    ss = steady_state(LOGISTIC, parameters={"K": [1000.0, 50.0]}, max_iter=1)
    np.testing.assert_allclose(ss.states["x"], [1000.0, 50.0], rtol=1e-10)
    assert list(ss.patients["status"]) == ["integration", "integration"]
    assert (ss.patients["t_integrated"] > 0).all()


def test_no_steady_state_is_reported_per_patient_not_raised():
    ss = steady_state(DRIFT, t_max=1e3)
    assert ss.patients["status"].iloc[0] == "failed"
    assert ss.patients["message"].iloc[0]
    assert np.isnan(ss.states["x"].iloc[0])


def test_bad_guess_name_is_a_user_error():
    with pytest.raises(UserError) as err:
        steady_state(LINEAR, guess={"z": 1.0})
    assert err.value.field == "guess.z"


def test_scenario_preequilibrate_starts_at_the_steady_state(tmp_path):
    """[simulation] preequilibrate = true: de Pillis 2005 without tumour starts at
    N* = sigma/f (hand-derived), then a dose of NK cells is added on day 1."""
    from nksim.scenario import load_scenario, plan_simulation

    path = tmp_path / "s.toml"
    path.write_text('[model]\nname = "depillis2005"\nparameter_set = "patient9"\n'
                    '[initial]\nT = 0\nN = 1000\nL = 0\n'
                    '[[doses]]\nstate = "N"\namount = "1e4 cell"\nstart = "1 day"\n'
                    '[simulation]\nt_end = 2\ntimes = [0, 0.5, 1]\npreequilibrate = true\n'
                    'rtol = 1e-10\natol = 1e-10\n')
    plan = plan_simulation(load_scenario(path), tmp_path)
    model = plan.model
    P = dict(zip(model.parameter_names, model.parameter_vector(), strict=True))
    n_star = P["sigma"] / P["f"]
    res = plan.run(progress=False)
    np.testing.assert_allclose(res.dataset["N"].values[0, :3], [n_star, n_star, n_star + 1e4],
                               rtol=1e-9)
