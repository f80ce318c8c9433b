"""The engine against analytic solutions, a second solver, and its failure contract.

Every expected value here is derived by hand (closed-form solutions) or by SciPy's
Radau at tight tolerance on an independent NumPy right-hand side.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from nksim.dosing import Dose
from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError
from nksim.model import Citation, Model, Parameter, State

TEST = Citation("test", "toy model written for the tests", "assumption")


def toy(name: str, states, params, equations, **kw) -> Model:
    return Model(
        name=name, title=name, description="test model",
        states=tuple(State(*s) if isinstance(s, tuple) else s for s in states),
        parameters=tuple(Parameter(p, v, u, p, TEST) for p, v, u in params),
        equations=equations, **kw,
    )


CHAIN = toy(
    "chain",
    [("x", "cell", "first", 100.0), ("y", "cell", "second", 0.0)],
    [("k", 0.7, "1/day"), ("m", 0.2, "1/day")],
    {"x": "-k*x", "y": "k*x - m*y"},
)


def chain_exact(t, x0, y0, k, m):
    """x' = -k x, y' = k x - m y (k != m)."""
    x = x0 * np.exp(-k * t)
    y = y0 * np.exp(-m * t) + x0 * k / (m - k) * (np.exp(-k * t) - np.exp(-m * t))
    return x, y


TIGHT = SolverOptions(rtol=1e-10, atol=1e-10, threads=1)


def test_linear_chain_matches_closed_form():
    t = np.linspace(0, 20, 41)
    res = simulate(CHAIN, t, options=TIGHT)
    x, y = chain_exact(t, 100.0, 0.0, 0.7, 0.2)
    np.testing.assert_allclose(res.dataset["x"].values[0], x, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(res.dataset["y"].values[0], y, rtol=1e-8, atol=1e-9)
    assert res.status_counts == {"ok": 1}


def test_default_tolerance_error_is_within_tolerance_scale():
    t = np.linspace(0, 20, 201)  # dense output between steps is checked too
    res = simulate(CHAIN, t)
    x, y = chain_exact(t, 100.0, 0.0, 0.7, 0.2)
    np.testing.assert_allclose(res.dataset["x"].values[0], x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(res.dataset["y"].values[0], y, rtol=1e-5, atol=1e-5)


def test_repeated_boluses_superpose():
    doses = [Dose("x", 50.0, 2.0, every=3.0, count=4)]
    t = np.array([0.0, 1.9, 2.0, 4.5, 11.0, 15.0])
    res = simulate(CHAIN, t, doses=doses, options=TIGHT)
    x_expected = 100.0 * np.exp(-0.7 * t)
    for td in 2.0 + 3.0 * np.arange(4):
        x_expected += np.where(t >= td, 50.0 * np.exp(-0.7 * (t - td)), 0.0)
    # a value recorded at a dose time is the post-dose value
    np.testing.assert_allclose(res.dataset["x"].values[0], x_expected, rtol=1e-8)


def test_zero_order_infusion():
    # 30 cells/day for 2 days into x, starting at day 1; x(0) = 0
    res = simulate(CHAIN, np.array([0.5, 1.0, 2.0, 3.0, 6.0]), initial=[[0.0, 0.0]],
                   doses=[Dose("x", 60.0, 1.0, duration=2.0)], options=TIGHT)
    k, rate = 0.7, 30.0
    during = lambda s: rate / k * (1 - np.exp(-k * s))  # noqa: E731
    expected = [0.0, 0.0, during(1.0), during(2.0), during(2.0) * np.exp(-k * 3.0)]
    np.testing.assert_allclose(res.dataset["x"].values[0], expected, rtol=1e-8, atol=1e-10)


ROBERTSON = toy(
    "robertson",
    [State("y1", "dimensionless", "A", 1.0, nonnegative=True),
     State("y2", "dimensionless", "B", 0.0), State("y3", "dimensionless", "C", 0.0)],
    [("k1", 0.04, "1/day"), ("k2", 3e7, "1/day"), ("k3", 1e4, "1/day")],
    {"y1": "-k1*y1 + k3*y2*y3", "y2": "k1*y1 - k3*y2*y3 - k2*y2**2", "y3": "k2*y2**2"},
)


def test_stiff_robertson_against_scipy_radau():
    t = np.array([0.0, 0.4, 4.0, 40.0, 400.0, 4e3, 4e4])
    res = simulate(ROBERTSON, t, options=SolverOptions(rtol=1e-9, atol=1e-13, threads=1))

    def f(_t, y):
        return [-0.04 * y[0] + 1e4 * y[1] * y[2],
                0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2]

    ref = solve_ivp(f, (0, t[-1]), [1.0, 0.0, 0.0], method="Radau", t_eval=t,
                    rtol=1e-12, atol=1e-16)
    got = np.stack([res.dataset[s].values[0] for s in ("y1", "y2", "y3")])
    np.testing.assert_allclose(got, ref.y, rtol=1e-6, atol=1e-12)
    # mass is conserved: y1 + y2 + y3 = 1
    np.testing.assert_allclose(got.sum(axis=0), 1.0, rtol=1e-9)


DAMPED = toy(
    "damped",
    [State("u", "dimensionless", "position", 1.0, nonnegative=False),
     State("v", "1/day", "velocity", 0.0, nonnegative=False)],
    [("w2", 1e6, "1/day**2"), ("c", 1e3, "1/day")],
    {"u": "v", "v": "-w2*u - c*v"},
)


def test_stiff_oscillator_with_small_diagonal_needs_pivoting():
    # W = I/(h gamma) - J has |W10| = 1e6 >> |W00| = 1/(h gamma) once steps grow:
    # the LU without row exchanges fails its pivot test and the lane is pivoted.
    t = np.array([0.0, 1e-3, 5e-3, 2e-2, 0.1, 1.0])
    res = simulate(DAMPED, t, options=SolverOptions(rtol=1e-9, atol=1e-12, threads=1))
    a, b = -500.0, math.sqrt(1e6 - 500.0**2)
    exact = np.exp(a * t) * (np.cos(b * t) - a / b * np.sin(b * t))
    np.testing.assert_allclose(res.dataset["u"].values[0], exact, rtol=1e-6, atol=1e-12)


def test_generated_lu_flags_bad_pivots():
    from nksim.model import compile_model
    from nksim.model._codegen import LANES

    fns = compile_model(DAMPED)
    n = 2
    w = np.zeros(n * n * LANES)
    w[0 * LANES:1 * LANES] = 1e-3  # W00: tiny pivot
    w[1 * LANES:2 * LANES] = -1.0  # W01
    w[2 * LANES:3 * LANES] = 1e6  # W10
    w[3 * LANES:4 * LANES] = 1.0  # W11
    w[0] = 1e7  # lane 0: a fine pivot
    dinv, bad = np.zeros(n * LANES), np.zeros(LANES)
    fns.lu_lanes(w, dinv, bad, LANES)
    assert bad[0] == 0.0 and np.all(bad[1:] == 1.0)


DECAY = toy("decay", [State("x", "cell", "cells", 1e6, extinction=1.0)],
            [("r", 0.5, "1/day")], {"x": "-r*x"})


def test_extinction_time_is_where_the_population_falls_below_one_cell():
    t = np.linspace(0, 40, 81)
    res = simulate(DECAY, t, options=TIGHT)
    t_ext = res.patients["extinction_time_x"].iloc[0]
    assert t_ext == pytest.approx(math.log(1e6) / 0.5, rel=1e-8)
    x = res.dataset["x"].values[0]
    assert np.all(x[t > t_ext] == 0.0)  # held at exactly zero
    np.testing.assert_allclose(x[t < t_ext], 1e6 * np.exp(-0.5 * t[t < t_ext]), rtol=1e-8)


def test_a_dose_brings_an_extinct_population_back():
    res = simulate(DECAY, np.array([0.0, 30.0, 31.0, 32.0]),
                   doses=[Dose("x", 100.0, 31.0)], options=TIGHT)
    x = res.dataset["x"].values[0]
    assert x[1] == 0.0 and x[2] == pytest.approx(100.0)
    assert x[3] == pytest.approx(100.0 * math.exp(-0.5), rel=1e-8)
    assert np.isnan(res.patients["extinction_time_x"].iloc[0])  # alive at the end


def test_the_end_of_an_infusion_does_not_bring_an_extinct_population_back():
    """Infusions 0.1/day over [0, 10] and 0.2/day over [0, 2] into x' = -x/2 from 20
    (threshold 1): x = x2 e^{-(t-2)/2} + 0.2 (1 - e^{-(t-2)/2}) after day 2 reaches 1 at
    about day 6.5, while the long infusion runs; its end at day 10 (summed rate 0.1 + 0.2 -
    0.2 - 0.1, 3e-17 in floating point) is not a dose and must not revive x or erase the
    extinction time."""
    t = np.linspace(0, 20, 21)
    doses = [Dose("x", 1.0, 0.0, duration=10.0), Dose("x", 0.4, 0.0, duration=2.0)]
    res = simulate(DECAY, t, initial=np.array([[20.0]]), doses=doses, options=TIGHT)
    x, t_ext = res.dataset["x"].values[0], res.patients["extinction_time_x"].iloc[0]
    x2 = 20 * math.exp(-1) + 0.6 * (1 - math.exp(-1))
    assert t_ext == pytest.approx(2 + 2 * math.log((x2 - 0.2) / 0.8), rel=1e-7)
    assert np.all(x[t > t_ext] == 0.0)


def test_a_model_with_its_own_events_reports_its_extinction_time():
    """x' = -k x from 1e6 (threshold 1), k = 0.5 and an event at t > 2 setting k = 2:
    extinct at 2 + ln(1e6 e^{-1}) / 2."""
    from nksim.model import Event

    model = Model(name="decay_event", title="decay with an event", description="test",
                  states=(State("x", "cell", "cells", 1e6, extinction=1.0),),
                  parameters=(Parameter("k", 0.5, "1/day", "death rate", TEST),),
                  equations={"x": "-k*x"}, events=(Event("faster", "t > 2", {"k": "2"}),))
    res = simulate(model, np.linspace(0, 10, 11), options=TIGHT)
    expected = 2 + math.log(1e6 * math.exp(-1.0)) / 2
    assert res.patients["extinction_time_x"].iloc[0] == pytest.approx(expected, rel=1e-7)


def test_dose_events_a_few_ulps_apart_are_one_time_not_a_failure():
    """An infusion from 0.1 for 0.2 days ends at 0.30000000000000004: a bolus at 0.3 asked
    for a step below the solver's smallest and failed the patient. Nearly equal times are
    one time; the result equals the bolus given exactly at the infusion's end."""
    two = toy("two", [State("a", "mg", "depot", 0.0), State("c", "mg", "central", 0.0)],
              [("ka", 1.3, "1/day"), ("ke", 0.4, "1/day")], {"a": "-ka*a", "c": "ka*a - ke*c"})
    t = np.linspace(0, 2, 5)
    near = simulate(two, t, doses=[Dose("a", 1.0, 0.1, duration=0.2), Dose("c", 1.0, 0.3)],
                    options=TIGHT)
    exact = simulate(two, t, doses=[Dose("a", 1.0, 0.1, duration=0.2),
                                    Dose("c", 1.0, 0.1 + 0.2)], options=TIGHT)
    assert near.patients["status"].iloc[0] == "ok"
    np.testing.assert_allclose(near.dataset["c"].values, exact.dataset["c"].values, rtol=1e-9)
    twice = simulate(two, t, doses=[Dose("c", 1.0, 1.0), Dose("c", 1.0, 1.0 + 2.3e-16)],
                     options=TIGHT)
    assert twice.patients["status"].iloc[0] == "ok"
    assert twice.dataset["c"].values[0, 2] == pytest.approx(2.0)


@pytest.mark.parametrize("x0, words", [(-5.0, "x must be >= 0 (got -5"),
                                        (0.5, "below its extinction threshold 1")])
def test_initial_values_a_state_cannot_take_are_refused_by_name(x0, words):
    """A negative cell count failed later as 'step size fell below ...'; a start below the
    extinction threshold was never counted extinct (extinction is crossing it)."""
    with pytest.raises(UserError, match=r"initial: .*" + re.escape(words)):
        simulate(DECAY, np.linspace(0, 1, 3), initial=np.array([[1e6], [x0]]))


def test_cell_counts_never_negative_under_fast_decay():
    fast = toy("fast", [State("x", "cell", "cells", 1.0)], [("r", 1e4, "1/day")],
               {"x": "-r*x"})
    res = simulate(fast, np.linspace(0, 10, 1001))
    assert np.all(res.dataset["x"].values >= 0.0)


BLOWUP = toy("blowup", [State("x", "dimensionless", "x", 1.0)], [("a", 1.0, "1/day")],
             {"x": "a*x**2"})


def test_a_failing_patient_is_reported_and_the_others_finish():
    # x' = a x^2 blows up at t = 1/(a x0): a = 1 fails before day 5, a = 0.1 does not.
    params = np.array([[1.0], [0.1], [np.nan], [0.05]])
    res = simulate(BLOWUP, np.linspace(0, 5, 11), parameters=params)
    status = res.patients["status"].tolist()
    assert status == ["failed", "ok", "failed", "ok"]
    assert res.patients["t_reached"].iloc[0] == pytest.approx(1.0, abs=1e-3)
    assert "not finite" in res.patients["message"].iloc[2]
    x = res.dataset["x"].values
    np.testing.assert_allclose(x[1], 1.0 / (1.0 - 0.1 * np.linspace(0, 5, 11)), rtol=1e-5)
    assert np.all(np.isnan(x[0, 3:]))  # nothing invented after the failure
    assert res.status_counts == {"ok": 2, "failed": 2}


def test_too_many_steps_is_a_failure_with_a_reason():
    res = simulate(CHAIN, np.linspace(0, 20, 5), options=SolverOptions(max_steps=3))
    assert res.patients["status"].iloc[0] == "failed"
    assert "too many steps" in res.patients["message"].iloc[0]


def test_results_do_not_depend_on_threads_or_batch():
    rng = np.random.default_rng(3)
    params = CHAIN.parameter_vector() * np.exp(0.3 * rng.standard_normal((70, 2)))
    doses = [Dose("x", 10.0, 1.5, every=2.0, count=3)]
    t = np.linspace(0, 10, 21)
    full = simulate(CHAIN, t, parameters=params, doses=doses,
                    options=SolverOptions(threads=2))
    part = simulate(CHAIN, t, parameters=params[37:41], doses=doses,
                    options=SolverOptions(threads=1))
    np.testing.assert_array_equal(full.dataset["y"].values[37:41], part.dataset["y"].values)
    # fewer patients than SIMD lanes: the model's functions compute only the lanes in use
    alone = simulate(CHAIN, t, parameters=params[5:6], doses=doses,
                     options=SolverOptions(threads=1))
    np.testing.assert_array_equal(full.dataset["y"].values[5:6], alone.dataset["y"].values)


def test_per_patient_doses_and_initial_states():
    t = np.array([0.0, 1.0])
    res = simulate(CHAIN, t, parameters=np.tile(CHAIN.parameter_vector(), (2, 1)),
                   initial=[[1.0, 0.0], [2.0, 0.0]],
                   doses=[[Dose("x", 5.0, 0.5)], []], options=TIGHT)
    x = res.dataset["x"].values[:, 1]
    assert x[0] == pytest.approx(math.exp(-0.7) + 5.0 * math.exp(-0.35), rel=1e-8)
    assert x[1] == pytest.approx(2.0 * math.exp(-0.7), rel=1e-8)


def test_dataset_is_labelled_with_units():
    res = simulate(CHAIN, [0.0, 1.0])
    assert res.dataset["x"].attrs["units"] == "cell"
    assert res.dataset["time"].attrs["units"] == "day"
    frame = res.to_frame()
    assert list(frame.columns) == ["patient", "time", "x", "y"]


@pytest.mark.parametrize("kwargs, field", [
    ({"times": [1.0, 0.5]}, "times"),
    ({"times": [0.0]}, "times"),
    ({"times": [1.0], "parameters": np.ones((1, 3))}, "parameters"),
    ({"times": [1.0], "doses": [Dose("nope", 1.0, 0.0)]}, "doses"),
    ({"times": [1.0], "options": SolverOptions(atol={"nope": 1e-6})}, "atol.nope"),
])
def test_bad_arguments_name_the_field(kwargs, field):
    times = kwargs.pop("times")
    with pytest.raises(UserError) as err:
        simulate(CHAIN, times, **kwargs)
    assert err.value.field == field
