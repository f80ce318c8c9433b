"""Forward sensitivities against closed forms and central finite differences; Sobol
indices against the Ishigami function's analytic values."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from nksim.analysis import local_sensitivities, sensitivity_model, sobol_indices
from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.library import get_model
from nksim.model import Citation, Model, Parameter, State

TEST = Citation("test", "toy model written for the tests", "assumption")
TIGHT = SolverOptions(rtol=1e-11, atol=1e-11, threads=1, progress=False)


def toy(name, states, params, equations, **kw):
    return Model(name=name, title=name, description="test model",
                 states=tuple(State(*s) for s in states),
                 parameters=tuple(Parameter(p, v, u, p, TEST) for p, v, u in params),
                 equations=equations, **kw)


LOGISTIC = toy("sens_logistic", [("x", "cell", "x", 10.0)],
               [("r", 0.5, "1/day"), ("K", 1000.0, "cell")], {"x": "r*x*(1 - x/K)"})


def test_logistic_matches_closed_form_derivatives():
    """x(t) = K x0 e^{rt} / (K + x0 (e^{rt} - 1)); d/dr and d/dK by sympy."""
    r, K, x0, t = sp.symbols("r K x0 t", positive=True)
    x = K * x0 * sp.exp(r * t) / (K + x0 * (sp.exp(r * t) - 1))
    dr = sp.lambdify(t, sp.diff(x, r).subs({r: 0.5, K: 1000.0, x0: 10.0}))
    dK = sp.lambdify(t, sp.diff(x, K).subs({r: 0.5, K: 1000.0, x0: 10.0}))
    times = np.linspace(0, 25, 11)
    _, S = local_sensitivities(LOGISTIC, times, options=TIGHT)
    np.testing.assert_allclose(S[0, :, 0, 0], dr(times), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(S[0, :, 0, 1], dK(times), rtol=1e-7, atol=1e-10)


def central_differences(model, times, names, values, rel=1e-4, doses=(), t_start=0.0):
    base = dict(zip(model.parameter_names, model.parameter_vector(), strict=True))
    base.update(values)
    cols = []
    for p in names:
        h = rel * abs(base[p])
        up, down = dict(base, **{p: base[p] + h}), dict(base, **{p: base[p] - h})
        res = simulate(model, times, parameters={k: [up[k], down[k]] for k in base},
                       doses=doses, options=TIGHT, t_start=t_start)
        traj = np.stack([res.dataset[s].values for s in model.state_names], -1)
        cols.append((traj[0] - traj[1]) / (2 * h))
    return np.stack(cols, -1)  # times, states, parameters


def test_depillis2005_with_doses_matches_central_differences():
    """Nonlinear, three states, bolus doses of NK cells: forward sensitivities equal
    central finite differences (error O(h^2) ~ 1e-8 relative) at tight tolerance."""
    model = get_model("depillis2005", "patient9")
    import dataclasses
    model = dataclasses.replace(model, states=tuple(
        dataclasses.replace(s, extinction=None) for s in model.states))
    names = ["a", "d", "f"]
    times = np.array([0.0, 2.0, 5.0, 10.0, 20.0])
    doses = [Dose("N", 1e5, 3.0, every=4.0, count=3)]
    _, S = local_sensitivities(model, times, parameters=names, doses=doses, options=TIGHT)
    fd = central_differences(model, times, names, {}, doses=doses)
    scale = np.abs(fd).max(axis=0, keepdims=True) + 1e-300
    np.testing.assert_array_less(np.abs(S[0] - fd) / scale, 1e-5)


def test_sensitivities_to_tiny_parameters_are_integrated():
    """de Pillis 2006 (patient 9, untreated): r2 and c are ~6e-11 per cell per day, so
    d state / d r2 is ~1e10 times the state; with the state's own absolute tolerance the
    first step fell below the smallest allowed (``nksim sensitivity`` failed on the
    shipped untreated scenario). Tolerances scaled by the parameter's magnitude (as CVODES
    does) integrate them, and the result equals central differences."""
    model = get_model("depillis2006", "patient9")
    names = ["r2", "c", "a"]
    times = np.array([0.0, 10.0, 30.0])
    res, S = local_sensitivities(model, times, parameters=names)
    assert (res.patients["status"] == "ok").all(), res.patients["message"].iloc[0]
    fd = central_differences(model, times, names, {})
    # errors of p dx/dp on the scale of each state (the sensitivities of a state that the
    # parameter hardly moves are compared with the state, not with their own tiny size)
    p = np.array([model.parameter(n).value for n in names])
    x = np.stack([res.dataset[s].values[0] for s in model.state_names], -1)
    moving = np.abs(x).max(axis=0) > 0
    err = np.abs(S[0] - fd)[:, moving] * p / np.abs(x).max(axis=0)[moving][None, :, None]
    assert err.max() < 1e-6, err.max()
    assert np.abs(S[0, -1, 0, 0] * p[0] / x[-1, 0]) > 1e-4  # r2 moves T measurably


def test_time_dependent_model_matches_central_differences():
    """x' = -k x + a sin(w t): uses the explicit time t."""
    m = toy("sens_forced", [("x", "cell", "x", 1.0)],
            [("k", 0.3, "1/day"), ("a", 2.0, "cell/day"), ("w", 1.5, "1/day")],
            {"x": "-k*x + a*sin(w*t)"}, unit_exempt={"sin(w*t)": "radians"})
    times = np.linspace(0, 10, 6)
    _, S = local_sensitivities(m, times, options=TIGHT)
    fd = central_differences(m, times, list(m.parameter_names), {})
    np.testing.assert_allclose(S[0], fd, rtol=1e-6, atol=1e-7)


def test_time_dependent_model_started_later_matches_central_differences():
    """The same forced model started at t = 2 (x(2) = 1): the sensitivities are those of
    simulate(..., t_start=2), not of a run from 0."""
    m = toy("sens_forced", [("x", "cell", "x", 1.0)],
            [("k", 0.3, "1/day"), ("a", 2.0, "cell/day"), ("w", 1.5, "1/day")],
            {"x": "-k*x + a*sin(w*t)"}, unit_exempt={"sin(w*t)": "radians"})
    times = np.array([2.0, 4.0, 7.0])
    res, S = local_sensitivities(m, times, options=TIGHT, t_start=2.0)
    fd = central_differences(m, times, list(m.parameter_names), {}, t_start=2.0)
    np.testing.assert_allclose(S[0], fd, rtol=1e-6, atol=1e-7)
    assert res.dataset["x"].values[0, 0] == 1.0


def test_initial_state_sensitivity_is_propagated():
    """dx/dx0 of x' = -k x is e^{-kt}: start the sensitivity at 1."""
    m = toy("sens_decay", [("x", "cell", "x", 5.0)], [("k", 0.4, "1/day"), ("x0", 5.0, "cell")],
            {"x": "-k*x"})
    times = np.array([0.0, 1.0, 3.0])
    _, S = local_sensitivities(m, times, parameters=["x0"],
                               initial_sensitivities=np.ones((1, 1, 1)), options=TIGHT)
    np.testing.assert_allclose(S[0, :, 0, 0], np.exp(-0.4 * times), rtol=1e-9)


def test_unknown_parameter_is_a_user_error():
    with pytest.raises(UserError) as err:
        sensitivity_model(LOGISTIC, ["q"])
    assert err.value.field == "sensitivity.parameters.q"


ISHIGAMI = toy("sens_ishigami", [("y", "dimensionless", "Ishigami output", 0.0, False)],
               [(x, 0.0, "dimensionless") for x in ("x1", "x2", "x3")],
               {"y": "sin(x1) + 7*sin(x2)**2 + 0.1*x3**4*sin(x1)"}, time_unit="day",
               unit_exempt={"dy/dt": "Ishigami test function integrated over one unit of time"})


def test_sobol_indices_of_the_ishigami_function():
    """y(1) = Ishigami(x) with x_i ~ U(-pi, pi), a = 7, b = 0.1: analytic
    S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437) (Ishigami & Homma 1990)."""
    bounds = {k: (-np.pi, np.pi) for k in ("x1", "x2", "x3")}
    table = sobol_indices(ISHIGAMI, bounds, output="y", at=1.0, n=4096, seed=3,
                          options=SolverOptions(rtol=1e-8, atol=1e-10, progress=False))
    a, b = 7.0, 0.1
    V = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    V1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    V2 = a**2 / 8
    V13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    np.testing.assert_allclose(table["S1"], [V1 / V, V2 / V, 0.0], atol=0.03)
    np.testing.assert_allclose(table["ST"], [(V1 + V13) / V, V2 / V, V13 / V], atol=0.03)


SCENARIO = """
[model]
name = "depillis2005"
parameter_set = "patient9"

[[doses]]
state = "N"
amount = "1e5 cell"
start = "3 day"
every = "4 day"
count = 3

[simulation]
t_end = 20
rtol = 1e-11
atol = 1e-11
"""


def test_cli_sensitivity_table_matches_central_differences(tmp_path):
    import json

    from click.testing import CliRunner

    from nksim.cli import cli

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    out = CliRunner().invoke(cli, ["sensitivity", str(path), "--output", "T", "--at", "10 day",
                                   "--parameters", "a,d,f", "--out", str(tmp_path / "o"),
                                   "--json"])
    assert out.exit_code == 0, out.output
    got = {r["parameter"]: r for r in json.loads(out.stdout)["sensitivities"]}
    model = get_model("depillis2005", "patient9")
    import dataclasses
    model = dataclasses.replace(model, states=tuple(
        dataclasses.replace(s, extinction=None) for s in model.states))
    fd = central_differences(model, np.array([0.0, 10.0]), ["a", "d", "f"], {},
                             doses=[Dose("N", 1e5, 3.0, every=4.0, count=3)])
    for j, p in enumerate(["a", "d", "f"]):
        assert got[p]["derivative"] == pytest.approx(fd[-1, 0, j], rel=1e-5)
    for name in ("sensitivity.csv", "tornado.png", "summary.json"):
        assert (tmp_path / "o" / name).is_file()
    bad = CliRunner().invoke(cli, ["sensitivity", str(path), "--output", "Q", "--at", "10"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


def test_cli_sensitivity_starts_at_the_scenario_t_start(tmp_path):
    """[simulation] t_start = 5 with a dose on day 6: the value and derivatives at day 10
    are those of simulate(..., t_start=5) (they were of a run from 0 before)."""
    import json

    from click.testing import CliRunner

    from nksim.cli import cli

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.replace('start = "3 day"', 'start = "6 day"')
                    .replace("t_end = 20", "t_start = 5\nt_end = 20"))
    out = CliRunner().invoke(cli, ["sensitivity", str(path), "--output", "T", "--at", "10 day",
                                   "--parameters", "a,d,f", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)  # stdout: a first compile prints to stderr
    model = get_model("depillis2005", "patient9")
    import dataclasses
    model = dataclasses.replace(model, states=tuple(
        dataclasses.replace(s, extinction=None) for s in model.states))
    doses = [Dose("N", 1e5, 6.0, every=4.0, count=3)]
    times = np.array([5.0, 10.0])
    ref = simulate(model, times, doses=doses, options=TIGHT, t_start=5.0)
    assert got["value"] == pytest.approx(float(ref.dataset["T"].values[0, -1]), rel=1e-8)
    fd = central_differences(model, times, ["a", "d", "f"], {}, doses=doses, t_start=5.0)
    rows = {r["parameter"]: r for r in got["sensitivities"]}
    for j, p in enumerate(["a", "d", "f"]):
        assert rows[p]["derivative"] == pytest.approx(fd[-1, 0, j], rel=1e-5)
