"""PEtab problems: the objective against a closed-form likelihood, its gradient against
central differences, recovery of known parameters from synthetic data with the coverage
of the profile-likelihood intervals, and bad tables refused in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from nksim.analysis import multistart, profiles, read_petab
from nksim.cli import cli
from nksim.errors import UserError
from nksim.model import Citation, Model, Parameter, State, to_sbml

TEST = Citation("test", "toy model written for the tests", "assumption")
DECAY = Model(name="decay", title="decay", description="x' = -k x",
              states=(State("x", "mmol/L", "x", 10.0),),
              parameters=(Parameter("k", 0.3, "1/hour", "rate", TEST),),
              equations={"x": "-k*x"}, time_unit="hour")
TIMES = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0])


def write_problem(folder: Path, data: np.ndarray, *, sigma="0.5", obs_formula="x",
                  transformation="lin", observable_parameters="", k_scale="log10",
                  extra_params=()):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(to_sbml(DECAY, extinction_events=False))
    pd.DataFrame({"conditionId": ["c1"], "x": ["x0"]}).to_csv(
        folder / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": ["obs_x"], "observableFormula": [obs_formula],
                  "noiseFormula": ["noiseParameter1_obs_x"],
                  "observableTransformation": [transformation],
                  "noiseDistribution": ["normal"]}).to_csv(
        folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": "obs_x", "simulationConditionId": "c1",
                  "time": np.tile(TIMES, data.size // TIMES.size), "measurement": data,
                  "observableParameters": observable_parameters,
                  "noiseParameters": sigma}).to_csv(
        folder / "measurements.tsv", sep="\t", index=False)
    rows = [("k", k_scale, 1e-3, 10.0, 0.3, 1), ("x0", "lin", 0.1, 50.0, 10.0, 1),
            *extra_params]
    pd.DataFrame(rows, columns=["parameterId", "parameterScale", "lowerBound", "upperBound",
                                "nominalValue", "estimate"]).to_csv(
        folder / "parameters.tsv", sep="\t", index=False)
    return write_problem_yaml(folder)


def write_problem_yaml(folder: Path) -> Path:
    """The PEtab v1 problem file of the four tables and model.xml in ``folder``."""
    (folder / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
        "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n")
    return folder / "problem.yaml"


def synthetic(rng, k=0.3, x0=10.0, sigma=0.5, replicates=1):
    t = np.tile(TIMES, replicates)
    return x0 * np.exp(-k * t) + sigma * rng.standard_normal(t.size)


def test_nominal_llh_matches_closed_form(tmp_path):
    data = synthetic(np.random.default_rng(0))
    prob = read_petab(write_problem(tmp_path, data))
    out = prob.nominal_summary()
    expected = stats.norm.logpdf(data, 10.0 * np.exp(-0.3 * TIMES), 0.5).sum()
    assert out["llh"] == pytest.approx(expected, rel=1e-7)
    resid = (data - 10 * np.exp(-0.3 * TIMES)) / 0.5
    assert out["chi2"] == pytest.approx((resid**2).sum(), rel=1e-6)
    assert out["n_measurements"] == TIMES.size


def test_log_normal_llh_with_scaling_parameter_matches_closed_form(tmp_path):
    """observable s*x on log10 scale, s an estimated PEtab-only parameter (placeholder),
    sigma estimated: PEtab's log10-normal density includes the 1/(y ln 10) term."""
    rng = np.random.default_rng(5)
    data = 2.0 * 10.0 * np.exp(-0.3 * TIMES) * 10 ** (0.05 * rng.standard_normal(TIMES.size))
    folder = write_problem(tmp_path, data, sigma="sd", obs_formula="observableParameter1_obs_x*x",
                           transformation="log10", observable_parameters="s",
                           extra_params=[("s", "log10", 0.01, 100.0, 2.0, 1),
                                         ("sd", "log10", 1e-3, 1.0, 0.05, 1)])
    prob = read_petab(folder)
    h = 2.0 * 10.0 * np.exp(-0.3 * TIMES)
    expected = (stats.norm.logpdf(np.log10(data), np.log10(h), 0.05)
                - np.log(data * math.log(10))).sum()
    assert prob.nominal_summary()["llh"] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("method", ["sensitivities", "differences"])
def test_gradient_matches_central_differences(tmp_path, method):
    rng = np.random.default_rng(5)
    data = 2.0 * 10.0 * np.exp(-0.3 * TIMES) * 10 ** (0.05 * rng.standard_normal(TIMES.size))
    prob = read_petab(write_problem(
        tmp_path, data, sigma="sd", obs_formula="observableParameter1_obs_x*x",
        transformation="log10", observable_parameters="s",
        extra_params=[("s", "log10", 0.01, 100.0, 2.0, 1), ("sd", "log10", 1e-3, 1.0, 0.05, 1)]))
    prob.gradient = method
    theta = np.array([[math.log10(0.25), 12.0, math.log10(1.7), math.log10(0.08)]])
    _, grad, _ = prob.objective(theta)
    h = 1e-5
    fd = []
    for m in range(theta.shape[1]):
        e = np.zeros_like(theta)
        e[0, m] = h
        up, _, _ = prob.objective(theta + e, gradient=False)
        dn, _, _ = prob.objective(theta - e, gradient=False)
        fd.append((up - dn)[0] / (2 * h))
    np.testing.assert_allclose(grad[0], fd, rtol=1e-4, atol=1e-6)


def test_multistart_recovers_known_parameters(tmp_path):
    data = synthetic(np.random.default_rng(11), replicates=3)
    prob = read_petab(write_problem(tmp_path, data))
    res = multistart(prob, 8, seed=1)
    k_hat, x0_hat = 10 ** res.best[0], res.best[1]
    assert k_hat == pytest.approx(0.3, rel=0.05) and x0_hat == pytest.approx(10.0, rel=0.05)
    # the best start is a least-squares optimum: compare with scipy's curve_fit
    from scipy.optimize import curve_fit

    t = np.tile(TIMES, 3)
    (k_ls, x0_ls), _ = curve_fit(lambda t, k, a: a * np.exp(-k * t), t, data, p0=[0.2, 8.0])
    assert k_hat == pytest.approx(k_ls, rel=1e-4) and x0_hat == pytest.approx(x0_ls, rel=1e-4)
    assert (res.starts["nll"] - res.best_nll < 1e-3).sum() >= 6  # most starts agree
    # "converged" means a stationary point within the bounds, checked here by the objective
    # itself (not the optimiser's word): the projected gradient is small at the best point
    from nksim.analysis._estimate import GTOL, _projected_gradient

    assert res.starts["status"].iloc[0] == "converged"
    f, g, _ = prob.objective(res.best[None])
    assert _projected_gradient(res.best, g[0], prob.lower, prob.upper) <= \
        GTOL * max(1.0, abs(f[0])) * 1.01


def test_lbfgsb_is_restarted_where_it_stops_short(monkeypatch):
    """Every L-BFGS-B call is made to stop after 20 iterations (as its relative-reduction
    rule stopped Fiedler_BMCSystBiol2016 far from the optimum); the restarts carry it on to
    the minimum of a banana-shaped valley (Rosenbrock, 6-D, minimum at 1)."""
    from scipy.optimize import rosen, rosen_der

    from nksim.analysis import _estimate

    real = _estimate.optimize.minimize

    def short(*args, options=None, **kwargs):
        return real(*args, options={**(options or {}), "maxiter": 20}, **kwargs)

    monkeypatch.setattr(_estimate.optimize, "minimize", short)
    x0 = np.full(6, -1.2)
    bounds, lo, hi = [(-5, 5)] * 6, np.full(6, -5.0), np.full(6, 5.0)
    first = short(lambda x: (rosen(x), rosen_der(x)), x0, jac=True, method="L-BFGS-B",
                  bounds=bounds)
    assert np.abs(first.x - 1).max() > 0.1  # one call stops far from the minimum
    r = _estimate._lbfgsb(lambda x: (rosen(x), rosen_der(x)), x0, bounds, 3000, lo, hi)
    assert r.restarts > 1 and r.success and r.projected_gradient <= _estimate.GTOL
    np.testing.assert_allclose(r.x, 1.0, atol=1e-3)


@pytest.mark.slow
def test_profile_intervals_have_their_coverage(tmp_path):
    """40 seeded replicates: the 95 % profile interval of k covers the truth in 34 or more
    (binomial(40, 0.95): P(X <= 33) = 0.007)."""
    covered = 0
    for rep in range(40):
        data = synthetic(np.random.default_rng(100 + rep))
        prob = read_petab(write_problem(tmp_path / f"r{rep}", data))
        res = profiles(prob, multistart(prob, 3, seed=rep), which=["k"], steps=200)
        ci = res.intervals.loc["k"]
        covered += ci["lower_linear"] <= 0.3 <= ci["upper_linear"]
    assert covered >= 34


def test_profile_interval_matches_a_direct_scan(tmp_path):
    """The profile interval of k: where 2*(min over x0 of nll - nll*) = 3.84, found here
    independently by brentq on a scan with scipy's bounded scalar optimiser."""
    from scipy.optimize import brentq, minimize_scalar

    data = synthetic(np.random.default_rng(3))
    prob = read_petab(write_problem(tmp_path, data))
    res = profiles(prob, multistart(prob, 3, seed=0), which=["k"], steps=100)
    ci = res.intervals.loc["k"]

    def nll(logk, x0):
        mu = x0 * np.exp(-(10 ** logk) * TIMES)
        return -stats.norm.logpdf(data, mu, 0.5).sum()

    def prof(logk):
        return minimize_scalar(lambda a: nll(logk, a), bounds=(0.1, 50), method="bounded",
                               options={"xatol": 1e-10}).fun

    best = res.best_nll
    q = stats.chi2.ppf(0.95, 1)
    lo = brentq(lambda v: 2 * (prof(v) - best) - q, res.best[0] - 1, res.best[0])
    hi = brentq(lambda v: 2 * (prof(v) - best) - q, res.best[0], res.best[0] + 1)
    assert ci["lower"] == pytest.approx(lo, abs=2e-3)
    assert ci["upper"] == pytest.approx(hi, abs=2e-3)


def test_cli_nominal_json(tmp_path):
    data = synthetic(np.random.default_rng(0))
    path = write_problem(tmp_path, data)
    out = CliRunner().invoke(cli, ["fit", str(path), "--nominal", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert set(got) == {"llh", "chi2", "n_measurements"}
    assert got["llh"] == pytest.approx(
        stats.norm.logpdf(data, 10.0 * np.exp(-0.3 * TIMES), 0.5).sum(), rel=1e-7)


@pytest.mark.parametrize("extra", [["--out", "fo"], ["--starts", "3"]])
def test_cli_nominal_refuses_fit_options(tmp_path, extra):
    # --nominal --out DIR exited 0 and wrote nothing
    path = write_problem(tmp_path, synthetic(np.random.default_rng(0)))
    out = CliRunner().invoke(cli, ["fit", str(path), "--nominal", *extra])
    assert out.exit_code == 2
    assert out.output == (f"nksim: error: {extra[0]}: is not used with --nominal (which "
                          "prints the log-likelihood at the nominal parameters)\n")


def test_cli_fit_writes_its_outputs(tmp_path):
    data = synthetic(np.random.default_rng(2), replicates=2)
    path = write_problem(tmp_path / "p", data)
    out = CliRunner().invoke(cli, ["fit", str(path), "--starts", "4", "--out",
                                   str(tmp_path / "fit")])
    assert out.exit_code == 0, out.output
    for name in ("best.tsv", "starts.csv", "waterfall.png", "intervals.csv", "profiles.csv",
                 "profiles.png", "summary.json"):
        assert (tmp_path / "fit" / name).is_file(), name
    assert len(pd.read_csv(tmp_path / "fit" / "starts.csv")) == 4


@pytest.mark.parametrize("break_it, field", [
    (lambda f: (f / "parameters.tsv").write_text(
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "k\tlog7\t1\t2\t1\t1\nx0\tlin\t0\t1\t1\t1\n"), "parameters.parameterScale"),
    (lambda f: (f / "observables.tsv").write_text(
        "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\n"
        "obs_x\tx\t1\tsqrt\n"), "observables.observableTransformation"),
    (lambda f: (f / "measurements.tsv").write_text(
        "observableId\tsimulationConditionId\ttime\tmeasurement\n"
        "obs_y\tc1\t1\t2.0\n"), "measurements.observableId"),
])
def test_invalid_table_is_one_line_and_exit_2(tmp_path, break_it, field):
    path = write_problem(tmp_path, synthetic(np.random.default_rng(0)))
    break_it(tmp_path)
    with pytest.raises(UserError):
        read_petab(path)
    out = CliRunner().invoke(cli, ["fit", str(path), "--nominal", "--json"])
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error:"), out.output
    assert field.split(".")[0] in lines[0]


PRODUCTION = Model(name="production", title="production", description="x' = a - k x",
                   states=(State("x", "mmol/L", "x", 0.0),),
                   parameters=(Parameter("a", 2.0, "mmol/L/hour", "production", TEST),
                               Parameter("k", 0.4, "1/hour", "loss", TEST)),
                   equations={"x": "a - k*x"}, time_unit="hour")


def test_preequilibration_starts_from_the_steady_state(tmp_path):
    """Preequilibrate with a = 1 (x* = 1/k), then a = 3: x(t) = 3/k + (1/k - 3/k) e^{-kt}."""
    (tmp_path / "model.xml").write_text(to_sbml(PRODUCTION, extinction_events=False))
    pd.DataFrame({"conditionId": ["pre", "main"], "a": [1.0, 3.0]}).to_csv(
        tmp_path / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": ["obs_x"], "observableFormula": ["x"],
                  "noiseFormula": ["0.2"]}).to_csv(tmp_path / "observables.tsv", sep="\t",
                                                   index=False)
    rng = np.random.default_rng(4)
    k = 0.4
    truth = 3 / k + (1 / k - 3 / k) * np.exp(-k * TIMES)
    data = truth + 0.2 * rng.standard_normal(TIMES.size)
    pd.DataFrame({"observableId": "obs_x", "preequilibrationConditionId": "pre",
                  "simulationConditionId": "main", "time": TIMES, "measurement": data}).to_csv(
        tmp_path / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame({"parameterId": ["k"], "parameterScale": ["log10"], "lowerBound": [1e-3],
                  "upperBound": [10.0], "nominalValue": [k], "estimate": [1]}).to_csv(
        tmp_path / "parameters.tsv", sep="\t", index=False)
    prob = read_petab(write_problem_yaml(tmp_path))
    expected = stats.norm.logpdf(data, truth, 0.2).sum()
    assert prob.nominal_summary()["llh"] == pytest.approx(expected, rel=1e-6)  # solver rtol 1e-8


def test_difference_gradient_at_the_bound_of_a_uniform_prior_is_finite():
    """Central differences step across a bound; the uniform prior is zero beyond it, so the
    differences are of the likelihood alone and the prior is added at the point itself (a
    multi-start run stopped after one iteration at a bound before)."""
    from importlib import resources

    prob = read_petab(resources.files("nksim.data") / "petab" / "gemcitabine_tgi"
                      / "problem.yaml")
    at_bound = np.array([[-1.0, -4.0]])  # tgi_lam on its lower bound (log10 1e-4)
    exact = prob.objective(at_bound)
    prob.gradient = "differences"
    nll, grad, _ = prob.objective(at_bound)
    assert np.isfinite(grad).all()
    assert nll[0] == pytest.approx(exact[0][0], rel=1e-9)
    np.testing.assert_allclose(grad, exact[1], rtol=1e-4)


# (PEtab objectivePriorType, objectivePriorParameters, scipy log-density of the prior as a
# function of theta = log10 k, the parameter on its scale). PEtab v1: the types without
# "parameterScale" are densities of the linear value k (no Jacobian of the log10 scale);
# logNormal(mu; sigma) and logLaplace(mu; b) are the laws of exp(Z), Z normal or Laplace,
# so their densities carry the 1/k. PEtab spells the types in camel case.
PRIOR_CASES = [
    ("normal", "0.4;0.2", lambda th: stats.norm(0.4, 0.2).logpdf(10**th)),
    ("laplace", "0.4;0.2", lambda th: stats.laplace(0.4, 0.2).logpdf(10**th)),
    ("uniform", "0.01;2", lambda th: stats.uniform(0.01, 1.99).logpdf(10**th)),
    ("logNormal", "-1.5;0.6",
     lambda th: stats.lognorm(s=0.6, scale=math.exp(-1.5)).logpdf(10**th)),
    ("logLaplace", "-1.5;0.6",
     lambda th: stats.loglaplace(c=1 / 0.6, scale=math.exp(-1.5)).logpdf(10**th)),
    ("parameterScaleNormal", "-0.7;0.3", lambda th: stats.norm(-0.7, 0.3).logpdf(th)),
    ("parameterScaleLaplace", "-0.7;0.3", lambda th: stats.laplace(-0.7, 0.3).logpdf(th)),
    ("parameterScaleUniform", "-2;1", lambda th: stats.uniform(-2, 3).logpdf(th)),
]


@pytest.mark.parametrize("ptype, ppars, logpdf", PRIOR_CASES, ids=[c[0] for c in PRIOR_CASES])
def test_every_prior_type_adds_its_scipy_log_density_and_gradient(tmp_path, ptype, ppars,
                                                                  logpdf):
    """The objective with priors minus without is -log p(k) for the prior on k (log10
    scale), and its gradient in theta = log10 k is -d log p / d theta, here by central
    differences of scipy's log-density (logNormal and logLaplace added nothing before:
    the types were compared in lower case)."""
    folder = tmp_path / "p"
    write_problem(folder, synthetic(np.random.default_rng(0)))
    par = pd.read_csv(folder / "parameters.tsv", sep="\t")
    par["objectivePriorType"] = [ptype, ""]
    par["objectivePriorParameters"] = [ppars, ""]
    par.to_csv(folder / "parameters.tsv", sep="\t", index=False)
    prob = read_petab(folder / "problem.yaml")
    for logk in (math.log10(0.25), math.log10(0.45)):
        theta = np.array([[logk, 9.0]])
        f1, g1, _ = prob.objective(theta, priors=True)
        f0, g0, _ = prob.objective(theta, priors=False)
        assert f1[0] - f0[0] == pytest.approx(-logpdf(logk), rel=1e-10, abs=1e-12)
        h = 1e-6
        d = -(logpdf(logk + h) - logpdf(logk - h)) / (2 * h)
        assert g1[0, 0] - g0[0, 0] == pytest.approx(d, rel=1e-6, abs=1e-8)
        assert g1[0, 1] == pytest.approx(g0[0, 1], rel=1e-12)  # no prior on x0


LINE = Model(name="line", title="line", description="y' = k: y = k t (+ off in the observable)",
             states=(State("y", "mmol/L", "y", 0.0, nonnegative=False),),
             parameters=(Parameter("k", 1.0, "mmol/L/hour", "slope", TEST, (-1e9, 1e9)),),
             equations={"y": "k"}, time_unit="hour")
LINE_T = np.array([1.0, 2, 3, 4, 5, 6])
LINE_SIGMA = 0.5


def _line_problem(folder: Path, k_lower: float):
    """y = k t + off with known sigma: the profile of k is exactly quadratic and its
    interval is the linear-regression one, beta_k -/+ sqrt(chi2_1(0.95)) se_k."""
    rng = np.random.default_rng(1)
    data = 1.0 + 0.8 * LINE_T + LINE_SIGMA * rng.standard_normal(LINE_T.size)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.xml").write_text(to_sbml(LINE, extinction_events=False))
    pd.DataFrame({"conditionId": ["c1"]}).to_csv(folder / "conditions.tsv", sep="\t",
                                                 index=False)
    pd.DataFrame({"observableId": ["o"], "observableFormula": ["y + off"],
                  "noiseFormula": [str(LINE_SIGMA)]}).to_csv(
        folder / "observables.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": "o", "simulationConditionId": "c1", "time": LINE_T,
                  "measurement": data}).to_csv(folder / "measurements.tsv", sep="\t",
                                               index=False)
    pd.DataFrame({"parameterId": ["k", "off"], "parameterScale": "lin",
                  "lowerBound": [k_lower, -10.0], "upperBound": [5.0, 10.0],
                  "nominalValue": [0.8, 1.0], "estimate": 1}).to_csv(
        folder / "parameters.tsv", sep="\t", index=False)
    X = np.column_stack([LINE_T, np.ones_like(LINE_T)])
    beta = np.linalg.lstsq(X, data, rcond=None)[0]
    se = LINE_SIGMA * np.sqrt(np.diag(np.linalg.inv(X.T @ X)))
    half = math.sqrt(stats.chi2.ppf(0.95, 1)) * se
    return read_petab(write_problem_yaml(folder)), beta, beta - half, beta + half


def test_profile_interval_of_a_line_equals_the_regression_interval(tmp_path):
    """With the default 30 steps (a grid step wider than the half-interval here) the ends
    equal the exact ones: sqrt(2 dnll) is linear in the parameter and is what is
    interpolated (interpolating 2 dnll itself gave ends ~30 % too close to the estimate)."""
    prob, beta, lower, upper = _line_problem(tmp_path, -5.0)
    res = profiles(prob, multistart(prob, 3, seed=0))
    np.testing.assert_allclose(res.best, beta, atol=1e-6)
    ci = res.intervals.loc[["k", "off"]]
    np.testing.assert_allclose(ci["lower"], lower, atol=1e-5)
    np.testing.assert_allclose(ci["upper"], upper, atol=1e-5)
    assert not ci[["lower_open", "upper_open"]].to_numpy().any()


def test_profile_evaluates_the_bound_and_finds_a_crossing_before_it(tmp_path):
    """k >= 0.5: the last grid point above the bound is below the quantile, the bound
    itself above it, so the lower end is closed (exact 0.553), not open at the bound."""
    prob, _, lower, upper = _line_problem(tmp_path, 0.5)
    assert 0.5 < lower[0] < 0.6
    res = profiles(prob, multistart(prob, 3, seed=0), which=["k"])
    ci = res.intervals.loc["k"]
    assert not ci["lower_open"] and not ci["upper_open"]
    assert ci["lower"] == pytest.approx(lower[0], abs=1e-5)
    assert ci["upper"] == pytest.approx(upper[0], abs=1e-5)
    assert res.profiles["k"]["value"].min() == 0.5


def test_a_failed_simulation_is_not_taken_for_the_end_of_a_profile():
    """nll = (a^2 + b^2) / 2, so a's 95 % interval is +-1.96; where a > 1.2 the simulation
    fails. The upper end is open at the last point that ran (1.0 on this grid), not
    interpolated towards the failure's 1e20 as if the likelihood had crossed there."""
    class Quadratic:
        estimated_ids = ["a", "b"]
        lower, upper = np.array([-5.0, -5.0]), np.array([5.0, 5.0])
        scale, estimated = np.array([0, 0]), np.array([True, True])
        limit = 1.2

        def objective(self, x, options=None):
            x = np.atleast_2d(x)
            nll = 0.5 * (x ** 2).sum(axis=1)
            return np.where(x[:, 0] > self.limit, np.nan, nll), x.copy(), None

    problem = Quadratic()
    fit = profiles(problem, multistart(problem, starts=4, seed=0), steps=40)
    a = fit.intervals.loc["a"]
    assert a["lower"] == pytest.approx(-np.sqrt(stats.chi2.ppf(0.95, 1)), abs=1e-3)
    assert not a["lower_open"] and a["upper_open"] and 0.9 <= a["upper"] <= 1.2
    assert "failed beyond" in a["note"] and fit.intervals.loc["b", "note"] == ""
    # a failure after the crossing leaves a closed end and no note
    Quadratic.limit = 2.1
    fit = profiles(problem, multistart(problem, starts=4, seed=0), steps=40)
    a = fit.intervals.loc["a"]
    assert not a["upper_open"] and a["upper"] == pytest.approx(1.96, abs=1e-2)
    assert a["note"] == ""
