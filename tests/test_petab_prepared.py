"""The prepared PEtab objective (nksim.analysis._prepared, built once per problem) against
the direct one (evaluate_direct: the tables mapped, formulas evaluated and the engine's
simulate called afresh on every evaluation): the same log-likelihood, chi-square and
gradient, on problems that use every part of the mapping (condition parameters and
species from the table, shared preequilibration, placeholders, PEtab-only parameters,
log/Laplace noise, a model using t, SBML events, initial assignments); the gradient
against central differences; multi-start fits through it unchanged."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nksim
from nksim.analysis import _objective, multistart, read_petab
from nksim.analysis._objective import evaluate, evaluate_direct
from nksim.engine import SolverOptions
from nksim.model import Citation, Model, Parameter, State, to_sbml
from test_estimation import write_problem_yaml

TEST = Citation("test", "toy model written for the tests", "assumption")
OPTS = SolverOptions(rtol=1e-8, atol=1e-10, max_steps=200_000, threads=1, progress=False)
TIMES = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])


def _model(uses_time: bool) -> Model:
    source = "a*exp(-w*t) - k*x" if uses_time else "a - k*x"
    return Model(
        name="prep_t" if uses_time else "prep", title="prep", description="x -> y",
        states=(State("x", "mmol/L", "x", 2.0), State("y", "mmol/L", "y", 0.3)),
        parameters=(Parameter("a", 1.0, "mmol/L/hour", "production", TEST),
                    Parameter("k", 0.4, "1/hour", "transfer", TEST),
                    Parameter("b", 0.2, "1/hour", "loss", TEST),
                    Parameter("w", 0.05, "1/hour", "decline of production", TEST)),
        equations={"x": source, "y": "k*x - b*y"}, time_unit="hour")


def write_problem(folder: Path, *, pre: bool, uses_time: bool = False) -> Path:
    """Three conditions: c1 sets a and y from estimated parameters, c2 sets them to
    numbers, c3 sets a only; with ``pre`` c1 and c2 share the preequilibration ``pre``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(to_sbml(_model(uses_time), extinction_events=False))
    pd.DataFrame({"conditionId": ["pre", "c1", "c2", "c3"],
                  "a": ["1.0", "a1", "2.5", "a1"],
                  "y": ["0.2", "y0par", "0.5", "nan"]}).to_csv(
        folder / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": ["obs_x", "obs_y"],
                  "observableFormula": ["observableParameter1_obs_x*x", "y + off"],
                  "noiseFormula": ["noiseParameter1_obs_x", "0.1 + 0.05*y"],
                  "observableTransformation": ["lin", "log"],
                  "noiseDistribution": ["normal", "laplace"]}).to_csv(
        folder / "observables.tsv", sep="\t", index=False)
    rng = np.random.default_rng(3)
    rows = []
    for cond, obs_par in (("c1", "sx"), ("c2", "1.5"), ("c3", "sx")):
        for t in TIMES:
            rows.append(("obs_x", "pre" if pre and cond != "c3" else "", cond, t,
                         abs(1.0 + rng.normal()), obs_par, "sd_x"))
            if cond != "c2":
                rows.append(("obs_y", "pre" if pre and cond != "c3" else "", cond, t,
                             0.5 + abs(rng.normal()), "", ""))
    pd.DataFrame(rows, columns=["observableId", "preequilibrationConditionId",
                                "simulationConditionId", "time", "measurement",
                                "observableParameters", "noiseParameters"]).to_csv(
        folder / "measurements.tsv", sep="\t", index=False)
    pars = [("k", "log10", 1e-3, 10.0, 0.4, 1), ("b", "log", 1e-3, 10.0, 0.2, 1),
            ("a1", "lin", 0.0, 10.0, 3.0, 1), ("y0par", "lin", 0.0, 5.0, 0.7, 1),
            ("sx", "log10", 0.1, 10.0, 1.2, 1), ("sd_x", "log10", 0.01, 10.0, 0.3, 1),
            ("off", "lin", 0.0, 2.0, 0.1, 1)]
    pd.DataFrame(pars, columns=["parameterId", "parameterScale", "lowerBound", "upperBound",
                                "nominalValue", "estimate"]).to_csv(
        folder / "parameters.tsv", sep="\t", index=False)
    return write_problem_yaml(folder)


def _vectors(prob, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([prob.nominal_scaled()[None],
                      rng.uniform(prob.lower, prob.upper, size=(n, prob.lower.size))])


def _same(prob, thetas, gradient=False, rtol=1e-12):
    a = evaluate_direct(prob, thetas, gradient=gradient, options=OPTS)
    b = evaluate(prob, thetas, gradient=gradient, options=OPTS)
    assert np.isfinite(a[0][0])
    np.testing.assert_array_equal(np.isfinite(a[0]), np.isfinite(b[0]))
    ok = np.isfinite(a[0])
    np.testing.assert_allclose(b[0][ok], a[0][ok], rtol=rtol, atol=0)   # nll
    np.testing.assert_allclose(b[2][ok], a[2][ok], rtol=rtol, atol=0)   # chi2
    if gradient:
        np.testing.assert_allclose(b[1][ok], a[1][ok], rtol=1e-8, atol=1e-9)
    return a, b


@pytest.mark.parametrize("pre,uses_time", [(True, False), (False, False), (True, True),
                                           (False, True)])
def test_prepared_equals_direct(tmp_path, pre, uses_time):
    prob = read_petab(write_problem(tmp_path, pre=pre, uses_time=uses_time))
    assert prob._has_pre.any() == pre
    _same(prob, _vectors(prob))
    if pre:  # c1 and c2 share one preequilibration: solved once per vector
        from nksim.analysis._prepared import prepared

        assert prepared(prob).pre_n == 1 and prepared(prob).pre_has.size == 2
    # batched: the same values one vector at a time
    X = _vectors(prob, 2, seed=1)
    one = np.concatenate([evaluate(prob, x[None], gradient=False, options=OPTS)[0]
                          for x in X])
    np.testing.assert_allclose(evaluate(prob, X, gradient=False, options=OPTS)[0], one,
                               rtol=1e-13)


def test_many_vectors_over_threads_equal_direct(tmp_path):
    """120 patients in chunks over 2 threads, one failed vector in the middle."""
    prob = read_petab(write_problem(tmp_path, pre=False))
    X = _vectors(prob, 39, seed=7)
    X[20, 0] = 400.0
    opts = SolverOptions(rtol=1e-8, atol=1e-10, max_steps=200_000, threads=2,
                         progress=False)
    a = evaluate_direct(prob, X, gradient=False, options=opts)
    b = evaluate(prob, X, gradient=False, options=opts)
    np.testing.assert_array_equal(b[0], a[0])
    assert np.isinf(b[0][20]) and np.isfinite(np.delete(b[0], 20)).all()


def test_failed_vector_is_infinite_in_both(tmp_path):
    prob = read_petab(write_problem(tmp_path, pre=True))
    X = _vectors(prob, 1)
    X[1, 0] = 400.0  # k = 10**400: not finite, the simulation fails before integration
    a, b = _same(prob, X)
    assert a[0][1] == b[0][1] == np.inf


@pytest.mark.parametrize("uses_time", [False, True])
def test_sensitivity_gradient_equals_direct_and_differences(tmp_path, uses_time):
    prob = read_petab(write_problem(tmp_path, pre=False, uses_time=uses_time))
    prob.gradient = "sensitivities"
    X = _vectors(prob, 2, seed=2)
    _, (nll, grad, _) = _same(prob, X, gradient=True)
    h = 1e-5
    for m in range(X.shape[1]):
        e = np.zeros_like(X)
        e[:, m] = h
        up = evaluate(prob, X + e, gradient=False, options=OPTS)[0]
        dn = evaluate(prob, X - e, gradient=False, options=OPTS)[0]
        np.testing.assert_allclose(grad[:, m], (up - dn) / (2 * h), rtol=1e-4, atol=1e-5)


def test_initial_assignment_and_its_sensitivities(tmp_path):
    """An SBML initial assignment x(0) = 2 a / k, re-evaluated per condition (a set by the
    condition table): values, and the sensitivity gradient through dx(0)/dp."""
    import libsbml

    yaml = write_problem(tmp_path, pre=False)
    doc = libsbml.readSBMLFromFile(str(tmp_path / "model.xml"))
    ia = doc.getModel().createInitialAssignment()
    ia.setSymbol("x")
    ia.setMath(libsbml.parseL3Formula("2 * a / k"))
    libsbml.writeSBMLToFile(doc, str(tmp_path / "model.xml"))
    prob = read_petab(yaml)
    assert prob._x0[0] is not None
    prob.gradient = "sensitivities"
    X = _vectors(prob, 2, seed=5)
    _same(prob, X, gradient=True)
    from nksim.analysis._prepared import prepared

    params, x0 = prepared(prob).inputs(prob.full_linear(X))
    names = list(prob.model.parameter_names)
    a, k = params[:, names.index("a")], params[:, names.index("k")]
    np.testing.assert_allclose(x0[:, prob.model.state_names.index("x")], 2 * a / k,
                               rtol=1e-14)


def test_difference_gradient_equals_direct(tmp_path):
    prob = read_petab(write_problem(tmp_path, pre=True))
    assert _objective.gradient_method(prob) == "differences"
    _same(prob, _vectors(prob, 1), gradient=True)


def test_multistart_through_the_prepared_path_reaches_the_same_optimum(tmp_path,
                                                                       monkeypatch):
    prob = read_petab(write_problem(tmp_path, pre=False))
    fast = multistart(prob, 3, seed=4, max_iter=300)
    assert getattr(prob, "_prepared", None) is not None
    monkeypatch.setattr(_objective, "evaluate", evaluate_direct)
    slow = multistart(read_petab(tmp_path / "problem.yaml"), 3, seed=4, max_iter=300)
    assert fast.best_nll == pytest.approx(slow.best_nll, rel=1e-9)


def test_bundled_problems_prepared_equals_direct():
    folder = Path(nksim.__file__).parent / "data" / "petab"
    yamls = sorted(folder.glob("*/problem.yaml"))
    assert yamls
    for yaml in yamls:
        prob = read_petab(yaml)
        _same(prob, _vectors(prob, 2))


COLLECTION = Path(__file__).resolve().parents[2] / "shared" / "data" / "petab-benchmark" \
    / "Benchmark-Models"


@pytest.mark.slow  # numba compiles each model on a fresh machine (20-60 s each)
@pytest.mark.skipif(not COLLECTION.exists(), reason="PEtab benchmark collection not present")
@pytest.mark.parametrize("name", ["Boehm_JProteomeRes2014", "Bertozzi_PNAS2020",
                                  "Fiedler_BMCSystBiol2016", "Brannmark_JBC2010",
                                  "Zheng_PNAS2012"])
def test_benchmark_problems_prepared_equals_direct(name):
    """Initial assignments (Boehm, Fiedler), preequilibration shared by 8 conditions
    (Brannmark), a model using t, 1-8 conditions."""
    prob = read_petab(sorted((COLLECTION / name).glob("*.yaml"))[0])
    th = prob.nominal_scaled()[None]
    rng = np.random.default_rng(0)
    _same(prob, np.vstack([th, th + 0.05 * rng.standard_normal((2, th.shape[1]))]))
    assert math.isfinite(prob.nominal_summary(OPTS)["llh"])


def _isomer(uses_time: bool) -> Model:
    back = "k2*exp(-w*t)*B" if uses_time else "k2*B"
    return Model(
        name="iso_t" if uses_time else "iso", title="iso", description="A <-> B",
        states=(State("A", "mmol/L", "A", 1.0), State("B", "mmol/L", "B", 0.0)),
        parameters=(Parameter("k1", 1.0, "1/hour", "forward", TEST),
                    Parameter("k2", 2.0, "1/hour", "backward", TEST),
                    Parameter("w", 0.3, "1/hour", "decline of the backward rate", TEST)),
        equations={"A": f"-k1*A + {back}", "B": f"k1*A - {back}"}, time_unit="hour")


@pytest.mark.parametrize("uses_time", [False, True])
def test_preequilibration_with_a_conservation_law_matches_scipy(tmp_path, uses_time):
    """A <-> B conserves A + B: the preequilibration (k1 = 1, from A = 1, B = 0) must end
    at A + B = 1, checked against scipy's LSODA run to t = 200 with the preequilibration's
    rates (t held at 0 for the model using t, as PEtab does), then the main condition
    (k1 = 3) from there; both objective paths. A least-squares Newton step ended at
    (0.8, 0.4) before."""
    from scipy import stats
    from scipy.integrate import solve_ivp

    (tmp_path / "model.xml").write_text(to_sbml(_isomer(uses_time), extinction_events=False))
    pd.DataFrame({"conditionId": ["pre", "main"], "k1": [1.0, 3.0]}).to_csv(
        tmp_path / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": ["obs_b"], "observableFormula": ["B"],
                  "noiseFormula": ["0.1"]}).to_csv(tmp_path / "observables.tsv", sep="\t",
                                                   index=False)
    t = np.array([0.0, 0.5, 2.0, 5.0])
    y = np.array([0.3, 0.6, 0.7, 0.75])
    pd.DataFrame({"observableId": "obs_b", "preequilibrationConditionId": "pre",
                  "simulationConditionId": "main", "time": t, "measurement": y}).to_csv(
        tmp_path / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame({"parameterId": ["k2"], "parameterScale": ["log10"], "lowerBound": [1e-2],
                  "upperBound": [1e2], "nominalValue": [2.0], "estimate": [1]}).to_csv(
        tmp_path / "parameters.tsv", sep="\t", index=False)
    prob = read_petab(write_problem_yaml(tmp_path))
    w = 0.3 if uses_time else 0.0

    def llh(k2):
        def rhs(k1, frozen):
            def f(s, x):
                back = k2 * math.exp(-w * (0.0 if frozen else s)) * x[1]
                return [-k1 * x[0] + back, k1 * x[0] - back]
            return f

        x0 = solve_ivp(rhs(1.0, True), (0, 200), [1.0, 0.0], method="LSODA", rtol=1e-12,
                       atol=1e-14).y[:, -1]
        sol = solve_ivp(rhs(3.0, False), (0, 5), x0, t_eval=t, method="LSODA",
                        rtol=1e-12, atol=1e-14)
        return stats.norm.logpdf(y, sol.y[1], 0.1).sum()

    thetas = np.log10([[2.0], [0.5], [7.0]])
    for fn in (evaluate, evaluate_direct):
        nll = fn(prob, thetas, gradient=False, options=OPTS)[0]
        np.testing.assert_allclose(-nll, [llh(10 ** th[0]) for th in thetas], rtol=1e-6)
