"""nksim's own calibrations as bundled PEtab problems (docs/calibrations-petab.md).

Problem ``gemcitabine_tgi``: García-Cremades 2018's published summary (22.3 % TGI at the end
of 6 cycles, 57 % loss of effect in cycle 6) refitted with ``nksim fit``. Independent truths:
a hand-written SciPy integration of the *full* 18-infusion schedule (30-min infusions, no
superposition) for the likelihood, the closed form of derive_gemcitabine_tgi for the
estimates, and closed-form profile likelihoods for the intervals.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import integrate, optimize, stats

import nksim
from nksim.cli import cli
from nksim.therapy._chemotherapy import (
    GEM_INFUSION_DAYS,
    GEM_MONO_CYCLE_DAYS,
    GEM_MONO_DAYS,
    GEM_MONO_MG_M2,
    GEM_TGI,
    REFERENCE_BSA_M2,
    chemotherapy_component,
    gemcitabine_auc,
)

FOLDER = Path(nksim.__file__).parent / "data" / "petab" / "gemcitabine_tgi"
PROBLEM = FOLDER / "problem.yaml"
TGI, RETAINED = 0.223, 0.43          # García-Cremades 2018 abstract [V-src]
T_END, T_MID = 168.0, 154.0          # end and middle of cycle 6
SIGMA = 0.1                          # the problem's assumed relative noise
DOSE_TIMES = [c * GEM_MONO_CYCLE_DAYS + d for c in range(6) for d in GEM_MONO_DAYS]


def _pk():
    p = {q.name: q.value for q in chemotherapy_component().parameters}
    return p["gem_cl"], p["gem_vc"], p["gem_q"], p["gem_vp"]


def full_schedule_observables(kd: float, lam: float) -> tuple[float, float]:
    """TGI at day 168 and retained effect at day 154 from the full schedule (18 infusions of
    30 min), integrated with SciPy (LSODA, rtol 1e-11; Radau agrees to 1e-13) over each
    infusion and its washout.
    Equations written here, not taken from nksim: two-compartment PK (Jiang 2008 values),
    dLK/dt = kd C exp(-lam t), TGI (diameters) = 1 - exp(-LK/3)."""
    cl, vc, q, vp = _pk()
    rate = GEM_MONO_MG_M2 * REFERENCE_BSA_M2 / GEM_INFUSION_DAYS

    def rhs(t, x, on):
        c1, c2, _ = x
        return [(rate if on else 0.0) - (cl + q) / vc * c1 + q / vp * c2,
                q / vc * c1 - q / vp * c2, kd * c1 / vc * math.exp(-lam * t)]

    def jac(t, x, on):
        return [[-(cl + q) / vc, q / vp, 0.0], [q / vc, -q / vp, 0.0],
                [kd / vc * math.exp(-lam * t), 0.0, 0.0]]

    y = np.zeros(3)
    for t in DOSE_TIMES:  # infusion, then 2 days of washout (t1/2 of minutes)
        for a, b, on in ((t, t + GEM_INFUSION_DAYS, True), (t + GEM_INFUSION_DAYS, t + 2, False)):
            y = integrate.solve_ivp(rhs, (a, b), y, method="LSODA", args=(on,), jac=jac,
                                    rtol=1e-11,
                                    atol=[1e-9, 1e-9, 1e-14]).y[:, -1]
        # the rest of the week adds nothing: the drug is gone (checked, not assumed)
        assert abs(y[0]) + abs(y[1]) < 1e-6
    return 1.0 - math.exp(-y[2] / 3.0), math.exp(-lam * T_MID)


def lognormal_llh(y, h, sigma=SIGMA) -> float:
    """PEtab's log-likelihood of log-normal noise (with the Jacobian term -log y)."""
    y, h = np.asarray(y), np.asarray(h)
    return float(np.sum(-0.5 * math.log(2 * math.pi) - math.log(sigma) - np.log(y)
                        - 0.5 * ((np.log(y) - np.log(h)) / sigma) ** 2))


def test_bundled_problem_carries_sources_and_current_values():
    meas = pd.read_csv(FOLDER / "measurements.tsv", sep="\t")
    assert list(meas["measurement"]) == [TGI, RETAINED]
    assert list(meas["time"]) == [T_END, T_MID]
    assert meas["source"].str.contains("García-Cremades 2018").all()
    assert meas["source"].str.contains(r"\[V-src\]").all()
    par = pd.read_csv(FOLDER / "parameters.tsv", sep="\t").set_index("parameterId")
    assert par.loc["gem_kd", "nominalValue"] == pytest.approx(GEM_TGI.kd, rel=1e-12)
    assert par.loc["tgi_lam", "nominalValue"] == pytest.approx(GEM_TGI.lam, rel=1e-12)
    assert par.loc["sigma_rel", "source"].startswith("ASSUMPTION")
    assert par["source"].notna().all()
    # the SBML is nksim's chemotherapy component as it is now (PK values of Jiang 2008)
    doc = libsbml.readSBMLFromFile(str(FOLDER / "model.xml"))
    sbml = {p.getId(): p.getValue() for p in doc.getModel().getListOfParameters()}
    for name, value in zip(("gem_cl", "gem_vc", "gem_q", "gem_vp"), _pk(), strict=True):
        assert sbml[name] == pytest.approx(value, rel=1e-12)
    cond = pd.read_csv(FOLDER / "conditions.tsv", sep="\t")
    assert cond.loc[0, "GEMC"] == GEM_MONO_MG_M2 * REFERENCE_BSA_M2


def test_nominal_llh_agrees_with_an_independent_likelihood():
    out = CliRunner().invoke(cli, ["fit", str(PROBLEM), "--nominal", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output.strip().splitlines()[-1])
    assert got["n_measurements"] == 2
    h = full_schedule_observables(GEM_TGI.kd, GEM_TGI.lam)
    assert got["llh"] == pytest.approx(lognormal_llh([TGI, RETAINED], h), abs=1e-4)
    # and the closed form reproduces the published numbers with the ODE too (the claim of
    # docs/calibration.md), so the nominal chi2 is ~0
    assert h[0] == pytest.approx(TGI, rel=1e-3)
    assert got["chi2"] < 1e-4


def _closed_form_tgi(kd_vol, lam):
    """derive_gemcitabine_tgi's relation written out: AUC at the dose time."""
    auc = gemcitabine_auc(GEM_MONO_MG_M2 * REFERENCE_BSA_M2)
    return 1.0 - math.exp(-kd_vol / 3.0 * auc * sum(math.exp(-lam * t) for t in DOSE_TIMES))


def _profile_interval_closed_form(which: str) -> tuple[float, float]:
    """95 % profile interval (linear scale) with the closed-form observables."""
    q = stats.chi2.ppf(0.95, 1)

    def nll(kd, lam):
        h = np.array([_closed_form_tgi(kd, lam), math.exp(-lam * T_MID)])
        return 0.5 * np.sum(((np.log([TGI, RETAINED]) - np.log(h)) / SIGMA) ** 2)

    if which == "tgi_lam":  # kd compensates exactly in the TGI: only the retained effect
        half = stats.norm.ppf(0.975) * SIGMA
        return ((-math.log(RETAINED) - half) / T_MID, (-math.log(RETAINED) + half) / T_MID)

    def prof(log_kd):
        r = optimize.minimize_scalar(lambda ll: nll(10 ** log_kd, 10 ** ll),
                                     bounds=(-4, -1), method="bounded",
                                     options={"xatol": 1e-10})
        return 2 * r.fun - q

    best = math.log10(GEM_TGI.kd)
    lo = optimize.brentq(prof, best - 1.0, best)
    hi = optimize.brentq(prof, best, best + 1.0)
    return 10 ** lo, 10 ** hi


def test_refit_with_nksim_fit_recovers_the_calibration(tmp_path):
    out = CliRunner().invoke(cli, ["fit", str(PROBLEM), "--starts", "8", "--seed", "1",
                                   "--out", str(tmp_path / "fit")])
    assert out.exit_code == 0, out.output
    best = pd.read_csv(tmp_path / "fit" / "best.tsv", sep="\t").set_index("parameterId")
    ci = pd.read_csv(tmp_path / "fit" / "intervals.csv").set_index("parameter")
    starts = pd.read_csv(tmp_path / "fit" / "starts.csv")
    assert (starts["nll"] - starts["nll"].min() < 1e-3).sum() >= 3   # several starts agree
    for pid, calibrated in (("gem_kd", GEM_TGI.kd), ("tgi_lam", GEM_TGI.lam)):
        row = ci.loc[pid]
        assert not row["lower_open"] and not row["upper_open"]
        assert row["lower_linear"] < calibrated < row["upper_linear"]
        # the ODE refit and the closed form agree far inside the interval
        assert best.loc[pid, "value"] == pytest.approx(calibrated, rel=1e-3)
    # the published numbers are met at the refit (residuals ~0: two data, two parameters)
    h = full_schedule_observables(best.loc["gem_kd", "value"], best.loc["tgi_lam", "value"])
    assert h == pytest.approx((TGI, RETAINED), rel=1e-3)
    assert (tmp_path / "fit" / "profiles.png").is_file()


def test_profile_intervals_match_closed_form_profiles():
    from nksim.analysis import multistart, profiles, read_petab

    problem = read_petab(PROBLEM)
    res = profiles(problem, multistart(problem, 4, seed=3,
                                       x0=problem.nominal_scaled()), steps=300)
    for pid in ("gem_kd", "tgi_lam"):
        lo, hi = _profile_interval_closed_form(pid)
        row = res.intervals.loc[pid]
        assert row["lower_linear"] == pytest.approx(lo, rel=5e-3), pid
        assert row["upper_linear"] == pytest.approx(hi, rel=5e-3), pid


def test_bundled_tables_equal_a_fresh_build(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "calibration_petab", Path(__file__).resolve().parents[1] / "docs" / "calibration_petab.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.build_gemcitabine_tgi(tmp_path)
    for name in ("conditions.tsv", "observables.tsv", "measurements.tsv", "parameters.tsv",
                 "problem.yaml"):
        assert (tmp_path / name).read_text() == (FOLDER / name).read_text(), (
            f"{name} is stale: rebuild with .venv/bin/python docs/calibration_petab.py build")


def test_a_broken_copy_is_one_line_and_exit_2(tmp_path):
    import shutil

    shutil.copytree(FOLDER, tmp_path / "p")
    meas = pd.read_csv(tmp_path / "p" / "measurements.tsv", sep="\t")
    meas.loc[0, "measurement"] = 0.0  # log-normal noise needs measurements > 0
    meas.to_csv(tmp_path / "p" / "measurements.tsv", sep="\t", index=False)
    out = CliRunner().invoke(cli, ["fit", str(tmp_path / "p" / "problem.yaml"), "--nominal"])
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error: measurements")


def test_docs_examples_run(capsys):
    import re

    page = Path(__file__).resolve().parents[1] / "docs" / "calibrations-petab.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/calibrations-petab.md[{i}]", "exec"), namespace)
        assert capsys.readouterr().out, f"example {i} prints nothing"
    ci = namespace["fit"].intervals
    for pid, lo_hi in (("gem_kd", (0.1058, 0.1702)), ("tgi_lam", (0.004208, 0.006753))):
        # the numbers the page prints in its table (checked, not copied: closed form above)
        assert ci.loc[pid, "lower_linear"] == pytest.approx(lo_hi[0], rel=2e-3)
        assert ci.loc[pid, "upper_linear"] == pytest.approx(lo_hi[1], rel=2e-3)
    # the car_t_stein_shape numbers the page prints (checked against the native run in
    # test_car_t_calibration_is_inside_the_joint_region_but_not_the_optimum)
    assert namespace["car_t"].nominal_summary()["llh"] == pytest.approx(-55.4114, abs=1e-3)
    assert namespace["local"].best_nll == pytest.approx(51.4164, abs=1e-3)


@pytest.mark.slow
def test_dosing_as_sbml_events_gives_the_same_likelihood(tmp_path):
    """The infusions as 36 SBML events (the engine's event path) instead of superposition:
    the same nominal llh as the independent SciPy computation (slow: ~minutes)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "calibration_petab", Path(__file__).resolve().parents[1] / "docs" / "calibration_petab.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    yaml = builder.build_gemcitabine_tgi_events(tmp_path)
    out = CliRunner().invoke(cli, ["fit", str(yaml), "--nominal", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output.strip().splitlines()[-1])
    h = full_schedule_observables(GEM_TGI.kd, GEM_TGI.lam)
    assert got["llh"] == pytest.approx(lognormal_llh([TGI, RETAINED], h), abs=1e-6)


def test_profile_steps_option_reaches_the_profiles(tmp_path, monkeypatch):
    """``nksim fit --profile-steps N`` profiles with N steps (the interval ends are
    interpolated between grid points, so more steps give ends closer to the exact ones);
    values outside 5..10000 are one line and exit 2."""
    import nksim.analysis

    seen = {}
    real = nksim.analysis.profiles

    def spy(problem, result, **kwargs):
        seen.update(kwargs)
        return real(problem, result, **kwargs)

    monkeypatch.setattr(nksim.analysis, "profiles", spy)
    out = CliRunner().invoke(cli, ["fit", str(PROBLEM), "--starts", "2", "--profile-steps",
                                   "40", "--out", str(tmp_path / "fit")])
    assert out.exit_code == 0, out.output
    assert seen == {"steps": 40}
    bad = CliRunner().invoke(cli, ["fit", str(PROBLEM), "--profile-steps", "2",
                                   "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert bad.output.strip() == "nksim: error: --profile-steps: must be from 5 to 10000 (got 2)"
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------ car_t_stein_shape
CART_FOLDER = Path(nksim.__file__).parent / "data" / "petab" / "car_t_stein_shape"
CART_PROBLEM = CART_FOLDER / "problem.yaml"
#: Stein 2019 Table 1 typical values, as science.md §3a gives them [V-src].
STEIN = {"foldx": 3900.0, "tmax": 9.3, "alpha": 0.16, "fb": 0.0079, "beta": 0.0032}
SIGMA_STEIN = 0.56  # the problem's assumed log-scale noise
CART_ESTIMATED = ("cart_rho", "cart_kill", "cart_k_exh", "cart_conv")


def stein_curve(t):
    """Stein 2019's typical curve relative to the level at infusion, written here from
    science.md §3a: R0 e^(rho t) before Tmax (rho = ln(foldx)/Tmax, R0 = Cmax/foldx), then
    Cmax ((1 - F_B) e^(-alpha (t - Tmax)) + F_B e^(-beta (t - Tmax)))."""
    s = STEIN
    t = np.asarray(t, float)
    rho = math.log(s["foldx"]) / s["tmax"]
    after = s["foldx"] * ((1 - s["fb"]) * np.exp(-s["alpha"] * (t - s["tmax"]))
                          + s["fb"] * np.exp(-s["beta"] * (t - s["tmax"])))
    return np.where(t < s["tmax"], np.exp(rho * t), after)


def lupus_cart_fold(days, overrides=None):
    """(CART + CARTM) / infused level of the SLEDAI-16 adult of the Stein-shape stage, from
    nksim's lupus model run natively as docs/calibration_sle10.py cart_metrics runs it: from
    day -6 with the Flu/Cy and CAR-T dose records (not the PEtab problem's initial values,
    SBML export or reader), at tight tolerance."""
    from nksim.disease import sle_initial_state
    from nksim.engine import SolverOptions, simulate
    from nksim.library import get_model
    from nksim.therapy import CellProduct, lymphodepletion_doses

    m = get_model("sle_cd19")
    base = sle_initial_state(m, {"weight_GC": 70.0, "th_normal": 1200.0, **(overrides or {})},
                             16)
    y0 = base.initial.copy()
    y0[0, m.state_names.index("TH")] = 1200.0
    doses = (lymphodepletion_doses(-5, 3, 25, [0, 0, 1000])
             + CellProduct("t", "car_t", dose_per_kg=1e6).doses_for(70.0, 0.0))
    times = np.array([-6.0, *days])
    ds = simulate(m, times, parameters=base.parameters, initial=y0, doses=[doses],
                  t_start=-6.0, options=SolverOptions(rtol=1e-10, atol=1e-12)).dataset
    return (ds.CART.values[0] + ds.CARTM.values[0])[1:] / doses[-1].amount


def _cart_measurements():
    meas = pd.read_csv(CART_FOLDER / "measurements.tsv", sep="\t")
    return meas["time"].to_numpy(float), meas["measurement"].to_numpy(float)


def test_car_t_problem_carries_sources_and_current_values():
    from nksim.therapy import car_t_component

    days, y = _cart_measurements()
    assert y == pytest.approx(stein_curve(days), rel=1e-5)  # 6 significant digits
    assert 9.3 in days and days.max() >= 365
    meas = pd.read_csv(CART_FOLDER / "measurements.tsv", sep="\t")
    assert meas["source"].str.contains("Stein 2019").all()
    assert meas["source"].str.contains("NOT observed data").all()
    par = pd.read_csv(CART_FOLDER / "parameters.tsv", sep="\t").set_index("parameterId")
    current = {p.name: p.value for p in car_t_component().parameters}
    for pid in CART_ESTIMATED:  # the calibrated values as they are in nksim now
        assert par.loc[pid, "nominalValue"] == pytest.approx(current[pid], rel=1e-12), pid
        assert par.loc[pid, "estimate"] == 1 and par.loc[pid, "parameterScale"] == "log10"
        assert par.loc[pid, "lowerBound"] < current[pid] < par.loc[pid, "upperBound"]
    assert par.loc["sigma_stein", "nominalValue"] == SIGMA_STEIN
    assert par.loc["sigma_stein", "source"].startswith("ASSUMPTION")
    assert par["source"].notna().all()
    doc = libsbml.readSBMLFromFile(str(CART_FOLDER / "model.xml"))
    sbml = {p.getId(): p.getValue() for p in doc.getModel().getListOfParameters()}
    for name, value in current.items():  # the SBML is the CAR-T component as it is now
        assert sbml[name] == pytest.approx(value, rel=1e-12), (
            f"{name} is stale: rebuild with .venv/bin/python docs/calibration_petab.py build")
    assert doc.getModel().getNumEvents() == 0
    # the condition puts the infusion (1e6/kg, 70 kg) into CART
    from nksim.therapy import CellProduct

    c0 = CellProduct("t", "car_t", dose_per_kg=1e6).doses_for(70.0)[0].amount
    cond = pd.read_csv(CART_FOLDER / "conditions.tsv", sep="\t")
    assert cond.loc[0, "CART"] == pytest.approx(c0, rel=1e-12)
    assert par.loc["cart_c0", "nominalValue"] == pytest.approx(c0, rel=1e-12)


def test_car_t_nominal_llh_equals_the_full_lupus_simulation():
    """Starting at the infusion with the state after Flu/Cy as initial values is exact: the
    PEtab likelihood equals the one of the native run with the dose schedule from day -6."""
    out = CliRunner().invoke(cli, ["fit", str(CART_PROBLEM), "--nominal", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output.strip().splitlines()[-1])
    assert got["n_measurements"] == 10 and math.isfinite(got["llh"])
    days, y = _cart_measurements()
    h = lupus_cart_fold(days)
    assert got["llh"] == pytest.approx(lognormal_llh(y, h, SIGMA_STEIN), abs=1e-3)
    assert got["chi2"] == pytest.approx(np.sum((np.log(y / h) / SIGMA_STEIN) ** 2), rel=1e-4)


def test_car_t_calibration_is_inside_the_joint_region_but_not_the_optimum():
    """A local refit from nksim's calibrated values: the gradient there is far from zero and
    the fit lowers -log L, but by less than the 95 % joint likelihood-ratio bound for the 4
    parameters (chi2_4(0.95)/2 = 4.74). The refit's likelihood is checked with the native
    simulation. Its cart_rho would expand CAR-T without lymphodepletion, which the
    calibration forbids (docs/calibration.md §14.6); the PEtab problem has no such bound."""
    from nksim.analysis import multistart, read_petab

    problem = read_petab(CART_PROBLEM)
    assert problem.estimated_ids == list(CART_ESTIMATED)
    x0 = problem.nominal_scaled()
    nll0, g0, _ = problem.objective(x0)
    assert np.abs(g0).max() > 10.0
    res = multistart(problem, 1, seed=0, x0=x0)
    assert res.starts["status"].iloc[0] == "converged"
    drop = float(nll0[0] - res.best_nll)
    assert 1.0 < drop < stats.chi2.ppf(0.95, 4) / 2
    best = dict(zip(problem.estimated_ids, 10 ** res.best, strict=True))
    days, y = _cart_measurements()
    h = lupus_cart_fold(days, best)
    assert -res.best_nll == pytest.approx(lognormal_llh(y, h, SIGMA_STEIN), abs=1e-3)
    from nksim.therapy import car_t_component

    k_hom = {p.name: p.value for p in car_t_component().parameters}["cart_K_hom"]
    at_set_point = best["cart_rho"] * k_hom**2 / (k_hom**2 + 1.0)
    assert at_set_point > STEIN["alpha"]  # the refit expands without lymphodepletion


@pytest.mark.slow
def test_car_t_multistart_refit_is_unique(tmp_path):
    """20 starts over the bounds: every converged start reaches the optimum of the local fit
    from the calibrated values (one optimum), and the profile intervals are closed."""
    from nksim.analysis import multistart, read_petab

    out = CliRunner().invoke(cli, ["fit", str(CART_PROBLEM), "--starts", "20", "--seed", "0",
                                   "--out", str(tmp_path / "fit")])
    assert out.exit_code == 0, out.output
    starts = pd.read_csv(tmp_path / "fit" / "starts.csv")
    best = pd.read_csv(tmp_path / "fit" / "best.tsv", sep="\t").set_index("parameterId")
    ci = pd.read_csv(tmp_path / "fit" / "intervals.csv").set_index("parameter")
    assert (starts["nll"] - starts["nll"].min() < 1e-3).sum() >= 15
    problem = read_petab(CART_PROBLEM)
    local = multistart(problem, 1, seed=0, x0=problem.nominal_scaled())
    assert starts["nll"].min() == pytest.approx(local.best_nll, abs=1e-4)
    for pid, value in zip(problem.estimated_ids, 10 ** local.best, strict=True):
        assert best.loc[pid, "value"] == pytest.approx(value, rel=1e-2)
        assert not ci.loc[pid, "lower_open"] and not ci.loc[pid, "upper_open"]


def test_car_t_bundled_problem_equals_a_fresh_build(tmp_path):
    """The bundled folder is what the builder writes from the lupus model as it is now
    (tables exactly; SBML parameter values and initial amounts to 1e-8): a change to the
    lupus model shows up here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "calibration_petab", Path(__file__).resolve().parents[1] / "docs" / "calibration_petab.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.build_car_t_stein_shape(tmp_path)
    for name in ("conditions.tsv", "observables.tsv", "measurements.tsv", "parameters.tsv",
                 "problem.yaml"):
        assert (tmp_path / name).read_text() == (CART_FOLDER / name).read_text(), (
            f"{name} is stale: rebuild with .venv/bin/python docs/calibration_petab.py build")

    def values(path):
        m = libsbml.readSBMLFromFile(str(path)).getModel()
        return ({p.getId(): p.getValue() for p in m.getListOfParameters()},
                {s.getId(): s.getInitialAmount() for s in m.getListOfSpecies()})

    (p_new, x_new), (p_old, x_old) = values(tmp_path / "model.xml"), values(
        CART_FOLDER / "model.xml")
    assert p_new.keys() == p_old.keys() and x_new.keys() == x_old.keys()
    for k in p_new:
        assert p_new[k] == pytest.approx(p_old[k], rel=1e-8, abs=1e-300), k
    for k in x_new:
        assert x_new[k] == pytest.approx(x_old[k], rel=1e-8, abs=1e-12), k
