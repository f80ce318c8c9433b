"""The SR model of senescent cells, NK clearance and interventions, ageing cohorts and CLI.

Truths used: the deterministic skeleton (noise 0) against SciPy's Radau with an event at
X = Xc; analytic NK capacity after an infusion (exponential decay with the stated
half-life); properties that the published work reports and the model must show, checked
from simulations, not assumed: Gompertz-like human hazard (doubling time between 40 and 90
years), Weibull-like ("ballistic") mouse hazard (Raz 2026), senescent-cell turnover of days
in young and weeks in old mice (Karin 2019 abstract), Prf1-/- mice with more senescent
cells and shorter lives (Ovadya 2018, qualitative), senolysis from 12 months lengthening
life (Baker 2016).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import solve_ivp

from nksim.cli import cli
from nksim.data import __file__ as data_init
from nksim.disease.ageing import (
    ArmInputs,
    Cytokines,
    Infusions,
    NKLayer,
    Senolysis,
    burden_by_age,
    gain_estimate,
    gompertz_fit,
    hazard_ratio,
    nk_capacity,
    removal_multiplier,
    simulate_arm,
    sr_drift,
    turnover_half_life,
    weibull_vs_gompertz,
)
from nksim.disease.ageing._endpoints import quantile_estimate
from nksim.disease.ageing._interventions import input_table
from nksim.disease.ageing._scenario import load_scenario, parse_scenario
from nksim.engine import integrate_sde
from nksim.library import get_model
from nksim.library._karin2019 import SPECIES

Y = 365.0
SCENARIOS = ("ageing_sr_presets", "ageing_mice_senolysis", "ageing_human_nk_infusions")
SCENARIO_DIR = Path(data_init).parent / "scenarios"


def _baker_rate() -> float:
    """The senolytic rate (1/day) calibrated to Baker 2016's ~+25 % (docs/calibration.md),
    read from the bundled scenario, the one place it is written."""
    raw = tomllib.loads((SCENARIO_DIR / "ageing_mice_senolysis.toml").read_text())
    arm = next(a for a in raw["arms"] if a["name"] == "senolysis")
    return float(arm["senolysis"][0]["rate_per_day"])


# ---------------------------------------------------------------- model and parameter sets
def test_parameter_sets_carry_published_values_units_and_labels():
    m = get_model("karin2019", parameter_set="karin2019_mouse")
    assert m.parameter("eta").value == pytest.approx(0.084 / 365)
    assert m.parameter("beta").source.label() == "Karin 2019 [V-src]"
    h = get_model("karin2019", parameter_set="karin2019_human")
    assert h.parameter("eta").value == pytest.approx(0.00135 / 365)
    assert h.parameter("h_ext").value == pytest.approx(0.4e-3 / 365)
    raz = {"raz2026_mice_F": (7.26e-4, 0.630, 1.479, 29.7),
           "raz2026_mice_M": (3.36e-4, 0.181, 1.302, 42.6),
           "raz2026_human_F": (1.50e-5, 0.617, 0.335, 12.88),
           "raz2026_human_M": (1.14e-5, 0.478, 0.098, 6.32)}
    for name, (eta, beta, eps, xc) in raz.items():
        m = get_model("karin2019", parameter_set=name)
        got = [m.parameter(p).value for p in ("eta", "beta", "epsilon", "Xc")]
        assert got == [eta, beta, eps, xc]
        assert m.parameter("eta").source.verified == "V-code"
        assert m.parameter("kappa").value == 0.5
        # the Raz 2026 cross-species regularity: Xc^2/epsilon within ~3x of 600 d
        assert 600 / 3 < xc**2 / eps < 600 * 3
    assert set(SPECIES) == set(get_model("karin2019").parameter_sets)
    for p in get_model("karin2019").parameters:
        assert p.unit and p.source.verified in ("V-src", "V-code", "assumption")


def test_numba_drift_is_the_declared_equation():
    m = get_model("karin2019", parameter_set="raz2026_mice_F")
    v = {p.name: p.value for p in m.parameters}
    p = np.array([v["eta"], v["beta"], v["kappa"]])
    for t, x in [(0.0, 0.0), (100.0, 0.3), (700.0, 12.0)]:
        declared = eval(m.equations["X"], {}, {**v, "X": x, "age": t})  # noqa: S307
        assert sr_drift(t, x, p, np.array([1.0, 1.0, 0.0])) == pytest.approx(declared)


@pytest.mark.parametrize("delta", [0.0, 0.02])
def test_noise_free_death_is_the_ode_threshold_crossing(delta):
    # epsilon = 0: death age = the time the ODE reaches Xc (Radau with an event)
    eta, beta, kappa, xc, start = 0.084 / 365, 0.15, 0.5, 17.0, 365.0
    arm = ArmInputs(senolysis=(Senolysis(delta, start / Y),)) if delta else ArmInputs()
    table = input_table(arm, 0.05, 3000.0)
    res = integrate_sde(sr_drift, n=1, sigma=0.0, threshold=xc,
                        params=np.array([[eta, beta, kappa]]), inputs=table, dt=0.05,
                        t_end=3000.0, reflect=True)

    def f(t, y):
        d = delta if t >= start else 0.0
        return [eta * t - beta * y[0] / (y[0] + kappa) - d * y[0]]

    def hit(t, y):
        return y[0] - xc
    hit.terminal = True
    ode = solve_ivp(f, (0, 3000), [0.0], method="Radau", rtol=1e-10, atol=1e-12,
                    events=hit, max_step=5.0)
    assert res.exit_time[0] == pytest.approx(ode.t_events[0][0], abs=0.2)


# ---------------------------------------------------------------- properties of the model
@pytest.mark.slow
@pytest.mark.parametrize("ps", ["karin2019_human", "raz2026_human_F"])
def test_human_hazard_is_gompertz_like(ps):
    r = simulate_arm(ps, ps, 2000, dt=1.0, follow_up_days=125 * Y, seed=7)
    d = r.durations / Y
    g = gompertz_fit(d, r.observed, 40, 90)
    # the demographic Gompertz law: log hazard linear in age, doubling every ~4-10 years
    assert 3.0 < g["doubling_time"] < 12.0, g
    assert g["pseudo_r2"] > 0.95, g
    assert 65 < np.median(d) < 90


@pytest.mark.parametrize("ps", ["karin2019_mouse", "raz2026_mice_F", "raz2026_mice_M"])
def test_mouse_hazard_is_weibull_like(ps):
    r = simulate_arm(ps, ps, 4000, dt=0.5, follow_up_days=6 * Y, seed=3)
    d = r.durations / Y
    lo, hi = np.quantile(d, [0.02, 0.98])
    shape = weibull_vs_gompertz(d, r.observed, lo, hi)
    # Raz 2026: mice are in the "ballistic" regime (Weibull-like hazard)
    assert shape["weibull_r2"] > shape["gompertz_r2"], shape
    assert 1.7 < np.median(d) < 3.0


@pytest.mark.parametrize("ps", ["karin2019_mouse", "raz2026_mice_F"])
def test_critical_slowing_down_days_young_weeks_old(ps):
    young = turnover_half_life(ps, 0.25 * Y, n=800, seed=1)
    old = turnover_half_life(ps, 1.8 * Y, n=800, seed=1)
    assert young < 10.0, young   # days
    assert old > 14.0, old       # weeks
    assert old > 3 * young


# ---------------------------------------------------------------- NK layer, interventions
def test_nk_capacity_after_an_infusion_decays_with_its_half_life():
    nk = NKLayer(share=0.5, per_cell_decline_per_year=0.0, pool_cells=1e10)
    inf = Infusions(start_years=60, every_years=1, count=1, cells=2e9, half_life_days=10.0)
    arm = ArmInputs(nk=nk, infusions=(inf,))
    t0 = 60 * Y
    c = nk_capacity(np.array([t0 - 1, t0, t0 + 10, t0 + 20]), arm)
    np.testing.assert_allclose(c, [1.0, 1.2, 1.1, 1.05])
    np.testing.assert_allclose(removal_multiplier(np.array([t0]), arm), 0.5 + 0.5 * 1.2)
    assert np.all(removal_multiplier(np.arange(0, 1e4, 100.0), ArmInputs()) == 1.0)
    # per-cell decline and perforin loss, cytokine courses multiply killing
    old = ArmInputs(nk=NKLayer(per_cell_decline_per_year=0.01, decline_start_years=20,
                               perforin_residual=0.3, pool_cells=1e10),
                    cytokines=(Cytokines(70, 1, 1, 14, 1.5),))
    np.testing.assert_allclose(nk_capacity(np.array([60 * Y, 70 * Y + 1, 70 * Y + 20]), old),
                               [0.6 * 0.3, 0.5 * 0.3 * 1.5, 0.5 * 0.3], rtol=2e-3)
    # relative to the fit (default), the endogenous decline alone leaves the published beta;
    # on an absolute scale it lowers removal with age
    t = np.arange(0, 100 * Y, 30.0)
    decl = NKLayer(share=0.5, per_cell_decline_per_year=0.01, decline_start_years=20)
    np.testing.assert_allclose(removal_multiplier(t, ArmInputs(nk=decl)), 1.0, rtol=1e-12)
    absolute = NKLayer(share=0.5, per_cell_decline_per_year=0.01, decline_start_years=20,
                       relative_to_fit=False)
    np.testing.assert_allclose(removal_multiplier(np.array([80 * Y]), ArmInputs(nk=absolute)),
                               0.5 + 0.5 * 0.4)


def test_perforin_deficient_mice_carry_more_senescent_cells_and_die_sooner():
    kw = dict(n=2000, dt=0.5, follow_up_days=6 * Y, seed=18, record_every_days=730.0)
    wt = simulate_arm("wt", "karin2019_mouse", **kw)
    prf = simulate_arm("prf1", "karin2019_mouse", inputs=ArmInputs(
        nk=NKLayer(perforin_residual=0.3, per_cell_decline_per_year=0.0)), **kw)
    b_wt, b_prf = burden_by_age(wt), burden_by_age(prf)
    at = lambda b: b.loc[b["age_days"] == 730.0, "mean"].item()  # noqa: E731
    assert at(b_prf) > 1.3 * at(b_wt)
    assert np.median(prf.durations) < 0.9 * np.median(wt.durations)
    hr = hazard_ratio(prf, wt, paired=True)
    assert hr["ci_low"] > 1.0


def test_senolysis_from_12_months_gives_the_calibrated_baker_gain():
    rate = _baker_rate()
    kw = dict(n=4000, dt=0.5, follow_up_days=6 * Y, seed=12)
    control = simulate_arm("control", "karin2019_mouse", **kw)
    gains = []
    for r in (0.5 * rate, rate):
        arm = simulate_arm("s", "karin2019_mouse",
                           inputs=ArmInputs(senolysis=(Senolysis(r, 1.0),)), **kw)
        gains.append(gain_estimate(arm, control, paired=True, seed=1, n_resamples=300))
    assert gains[0]["value"] < gains[1]["value"]  # more removal, longer life
    g = gains[1]
    assert 20.0 < g["value"] < 30.0, g   # Baker 2016: ~ +25 %
    assert g["ci_low"] < 25.0 < g["ci_high"] or abs(g["value"] - 25.0) < 3.0
    # before 12 months the arms are the same individuals living the same lives
    early = control.lifespan < Y
    assert early.sum() == 0 or np.all(arm.lifespan[early] == control.lifespan[early])


def test_nk_infusions_and_cytokines_lengthen_life_more_with_more_cells():
    nk = NKLayer(share=0.5, per_cell_decline_per_year=0.2, decline_start_years=0.25,
                 pool_cells=1e7)
    kw = dict(n=2000, dt=0.5, follow_up_days=6 * Y, seed=4)
    control = simulate_arm("c", "karin2019_mouse", inputs=ArmInputs(nk=nk), **kw)
    med = [np.median(control.durations)]
    for cells in (5e6, 2e7):
        inf = Infusions(1.0, 0.1, 30, cells, 10.0)
        arm = simulate_arm("i", "karin2019_mouse", inputs=ArmInputs(nk=nk, infusions=(inf,)),
                           **kw)
        med.append(np.median(arm.durations))
    assert med[0] < med[1] < med[2]
    cyto = simulate_arm("k", "karin2019_mouse", inputs=ArmInputs(
        nk=nk, cytokines=(Cytokines(1.0, 0.1, 30, 14.0, 1.5),)), **kw)
    assert np.median(cyto.durations) > med[0]


# ---------------------------------------------------------------- endpoints
def test_quantiles_with_censoring_and_identical_arms():
    rng = np.random.default_rng(0)
    d = rng.exponential(100.0, 2000)
    obs = d < 150
    est = quantile_estimate(np.minimum(d, 150), obs, 0.5)
    assert est["value"] == pytest.approx(np.quantile(d, 0.5, method="inverted_cdf"))
    assert est["ci_low"] < 100 * math.log(2) < est["ci_high"]
    assert quantile_estimate(np.minimum(d, 150), obs, 0.9)["value"] is None  # not reached
    r = simulate_arm("a", "karin2019_mouse", 1500, dt=0.5, follow_up_days=6 * Y, seed=9)
    g = gain_estimate(r, r, paired=True, seed=0, n_resamples=200)
    assert g["value"] == 0.0
    hr = hazard_ratio(r, simulate_arm("b", "karin2019_mouse", 1500, dt=0.5,
                                      follow_up_days=6 * Y, seed=99), paired=False)
    assert hr["ci_low"] < 1.0 < hr["ci_high"]


def test_heterogeneity_is_per_individual_and_widens_lifespans():
    kw = dict(dt=0.5, follow_up_days=6 * Y, seed=5)
    flat = simulate_arm("f", "karin2019_mouse", 3000, **kw)
    het = simulate_arm("h", "karin2019_mouse", 3000, heterogeneity={"eta": 0.2}, **kw)
    iqr = lambda r: np.subtract(*np.quantile(r.durations, [0.75, 0.25]))  # noqa: E731
    assert iqr(het) > 1.2 * iqr(flat)
    part = simulate_arm("p", "karin2019_mouse", 10, ids=np.arange(100, 110),
                        heterogeneity={"eta": 0.2}, **kw)
    np.testing.assert_array_equal(part.params, het.params[100:110])
    np.testing.assert_array_equal(part.lifespan, het.lifespan[100:110])


# ---------------------------------------------------------------- scenarios and CLI
@pytest.mark.parametrize("name", SCENARIOS)
def test_bundled_scenarios_are_valid(name):
    s = load_scenario(SCENARIO_DIR / f"{name}.toml")
    if name == "ageing_sr_presets":
        assert [a.name for a in s.arms] == list(SPECIES)
        assert all(a.n == 20000 and not a.senolysis and not a.nk_infusions and a.nk is None
                   for a in s.arms)
        assert all(a.extrinsic_hazard_per_year in (None, 0) for a in s.arms)
    if name == "ageing_mice_senolysis":
        assert [a.name for a in s.arms] == ["control", "senolysis"]
        assert s.arms[1].senolysis[0].start_years == 1.0


SMALL = """
[cohort]
name = "small"
seed = 3
[[arms]]
name = "control"
parameter_set = "karin2019_mouse"
n = 300
[[arms]]
name = "senolysis"
parameter_set = "karin2019_mouse"
n = 300
[[arms.senolysis]]
rate_per_day = 0.005
start_years = 1
"""


def test_cli_writes_summary_and_report(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(SMALL)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["ageing", str(f), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Research use only" in res.output
    s = json.loads((out / "summary.json").read_text())
    ep = s["arms"]["senolysis"]["endpoints"]
    for key in ("lifespan_median_days", "lifespan_q25_days", "lifespan_q75_days",
                "lifespan_gain_pct", "hazard_ratio", "healthspan_median_days"):
        assert ep[key]["ci_low"] <= ep[key]["value"] <= ep[key]["ci_high"], key
    assert "lifespan_gain_pct" not in s["arms"]["control"]["endpoints"]
    assert (out / "report.png").stat().st_size > 10_000
    assert "Research use only" in (out / "report.html").read_text()


@pytest.mark.parametrize(("patch", "field"), [
    ('n = 300\n', "arms[0].n"),
    ('parameter_set = "karin2019_mouse"\n', "arms[0].parameter_set"),
    ('rate_per_day = 0.005\n', "arms[1].senolysis[0].rate_per_day"),
    ('seed = 3\n', "cohort.seed"),
    ('name = "small"\n', "cohort.colour"),
    ('name = "small"\n', "cohort.follow_up_years"),
    ('name = "small"\n', "cohort.dt_days"),
    ('n = 300\n', "arms[0].extrinsic_hazard_per_year"),
])
def test_bad_input_gets_one_line_and_exit_2(tmp_path, patch, field):
    bad = {
        "arms[0].n": 'n = -5\n',
        "arms[0].parameter_set": 'parameter_set = "karin2020_mouse"\n',
        "arms[1].senolysis[0].rate_per_day": 'rate_per_day = "0.1 kg"\n',
        "cohort.seed": 'seed = 1.5\n',
        "cohort.colour": 'name = "small"\ncolour = "red"\n',
        # arrays that would not fit in memory are refused before they are made
        "cohort.follow_up_years": 'name = "small"\nfollow_up_years = 1e5\n',
        "cohort.dt_days": 'name = "small"\ndt_days = 1e-9\n',
        # 1e300 gave a median lifespan of 1e-298 days (found by a review)
        "arms[0].extrinsic_hazard_per_year": 'n = 300\nextrinsic_hazard_per_year = 1e300\n',
    }[field]
    f = tmp_path / "s.toml"
    f.write_text(SMALL.replace(patch, bad, 1))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["ageing", str(f), "--out", str(out)])
    assert res.exit_code == 2, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"nksim: error: {field}"), res.output
    assert not out.exists()


def test_scenario_rules():
    raw = {"arms": [{"name": "a", "parameter_set": "karin2019_mouse", "n": 10},
                    {"name": "b", "parameter_set": "karin2019_mouse", "n": 20}]}
    with pytest.raises(Exception, match="cohort.paired"):
        parse_scenario(raw)
    raw["cohort"] = {"paired": False, "control": "zz"}
    with pytest.raises(Exception, match="cohort.control"):
        parse_scenario(raw)


def test_the_python_example_of_the_docs_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "docs" / "ageing.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/ageing.md", "exec"), {})  # noqa: S102
    median, gain = (float(x) for x in capsys.readouterr().out.split())
    assert 800 < median < 920
    assert 18 < gain < 32


def test_failed_individuals_are_left_out_and_counted():
    r = simulate_arm("a", "karin2019_mouse", 50, dt=0.5, follow_up_days=6 * Y, seed=2)
    cause = r.cause.copy()
    cause[[3, 7]] = 3  # NON_FINITE
    broken = dataclasses.replace(r, cause=cause)
    assert broken.failed.sum() == 2
    kept = broken.analysed()
    assert kept.ids.size == 48 and 3 not in kept.ids and 7 not in kept.ids


def test_a_cohort_that_dies_young_has_no_gompertz_fit_and_no_traceback(tmp_path):
    # 0.365 extrinsic deaths per year: almost nobody reaches 40, and the 40-90 fit
    # divided by a zero deviance (a traceback)
    (tmp_path / "m.toml").write_text(
        '[cohort]\nname = "m"\nseed = 1\npaired = false\ncompare = false\n[[arms]]\n'
        'name = "human"\nparameter_set = "karin2019_human"\nn = 200\n'
        "extrinsic_hazard_per_year = 0.365\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["ageing", str(tmp_path / "m.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    arm = json.loads((out / "summary.json").read_text())["arms"]["human"]
    assert "hazard_doubling_time_years_40_90" not in arm


def test_deaths_of_one_age_bin_give_no_gompertz_fit_and_no_traceback():
    from nksim.disease.ageing._endpoints import gompertz_fit

    years = np.array([40.2, 40.5, 40.7, 41.0, 41.0])
    observed = np.array([True, True, True, False, False])
    fit = gompertz_fit(years, observed, 40.0, 90.0)  # every death in [40, 41)
    assert math.isnan(fit["pseudo_r2"])
