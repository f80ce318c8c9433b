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


# A <-> B (rates k1, k2): A + B is conserved, so the Jacobian is singular everywhere;
# the equilibrium the dynamics reach from (A0, B0) is A* = T k2/(k1+k2), B* = T k1/(k1+k2)
# with T = A0 + B0.
ISOMER = toy("ss_isomer", [("A", "cell", "A", 1.0), ("B", "cell", "B", 0.0)],
             [("k1", 1.0, "1/day"), ("k2", 2.0, "1/day")],
             {"A": "-k1*A + k2*B", "B": "k1*A - k2*B"})
# A + B <-> C (binding k1, unbinding k2): A + C and B + C conserved; C* solves
# k1 (TA - C)(TB - C) = k2 C, the root below min(TA, TB).
BINDING = toy("ss_binding", [("A", "cell", "A", 3.0), ("B", "cell", "B", 2.0),
                             ("C", "cell", "C", 0.5)],
              [("k1", 0.7, "1/cell/day"), ("k2", 1.3, "1/day")],
              {"A": "-k1*A*B + k2*C", "B": "-k1*A*B + k2*C", "C": "k1*A*B - k2*C"})


@pytest.mark.parametrize("max_iter", [50, 1])  # Newton from the guess; after integration
def test_conservation_law_keeps_the_totals_of_the_start(max_iter):
    """Newton's step on a singular Jacobian is confined to the conserved totals (a
    least-squares step went to (0.8, 0.4) from (1, 0) with k1 = 1, k2 = 2)."""
    k1 = np.array([1.0, 0.3, 0.1, 5.0, 0.37, 2.0])
    k2 = np.array([2.0, 0.7, 3.0, 0.2, 1.91, 2.0])
    start = np.array([[1.0, 0.0], [0.2, 0.9], [5.0, 5.0], [0.0, 3.0], [1e3, 1.0],
                      [0.0, 0.0]])
    ss = steady_state(ISOMER, parameters={"k1": k1, "k2": k2}, guess=start,
                      max_iter=max_iter)
    total = start.sum(axis=1)
    np.testing.assert_allclose(ss.states["A"], total * k2 / (k1 + k2), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ss.states["B"], total * k1 / (k1 + k2), rtol=1e-10, atol=1e-14)
    assert (ss.patients["status"] != "failed").all()


def test_two_conservation_laws_of_a_binding_reaction():
    guesses = np.array([[3.0, 2.0, 0.5], [1.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    ss = steady_state(BINDING, guess=guesses)
    k1, k2 = 0.7, 1.3
    TA, TB = guesses[:, 0] + guesses[:, 2], guesses[:, 1] + guesses[:, 2]
    # k1 C^2 - (k1 (TA + TB) + k2) C + k1 TA TB = 0, smaller root
    bq = k1 * (TA + TB) + k2
    c = (bq - np.sqrt(bq**2 - 4 * k1 * k1 * TA * TB)) / (2 * k1)
    np.testing.assert_allclose(ss.states["C"], c, rtol=1e-10)
    np.testing.assert_allclose(ss.states["A"], TA - c, rtol=1e-10)
    np.testing.assert_allclose(ss.states["B"], TB - c, rtol=1e-10)
    assert ss.status_counts == {"newton": 3}


def test_jacobian_singular_at_the_guess_only_is_not_a_conservation_law():
    """x' = r (K - x^2/K) has J = 0 at x = 0 but conserves nothing: x* = K is found."""
    model = toy("ss_quadratic", [("x", "cell", "x", 0.0)],
                [("r", 0.5, "1/day"), ("K", 40.0, "cell")], {"x": "r*(K - x*x/K)"})
    ss = steady_state(model)
    assert ss.states["x"].iloc[0] == pytest.approx(40.0, rel=1e-10)
    assert ss.patients["status"].iloc[0] != "failed"
