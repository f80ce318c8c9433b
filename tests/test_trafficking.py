"""NK patrol (issue 9 §4) and the T1 reinfusion scenario: properties against independent truths.

Truths used: conservation (symbolic and simulated), the hand-derived closed-form steady
state of the linear circuit, the matrix exponential of an independently assembled rate
matrix, the definition of a circuit (lung passages per cell), the published pattern of
infused NK cells (Meller 2004: lungs first, then liver/spleen/marrow, no lymph nodes,
few in blood), and the closed form of first-order loss for the reinfusion scenario.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg as sl
import sympy as sp
from click.testing import CliRunner

from nksim.biology import (
    ReinfusionSpec,
    circuits_per_day,
    held_to_blood_ratio,
    patrol_answer,
    patrol_model,
    run_reinfusion,
    steady_state_shares,
)
from nksim.biology._patrol_reinfusion import (
    endogenous_steady_state,
    infused_alive_closed_form,
    rise_duration_closed_form,
    spec_from_mapping,
)
from nksim.biology._trafficking import (
    ACTIVATED,
    HELD,
    PHYSIOLOGY,
    POOLS,
    RESTING,
    held_litres,
    rate_matrix,
)
from nksim.cli import cli
from nksim.engine import SolverOptions, simulate
from nksim.errors import UserError

TIGHT = SolverOptions(rtol=1e-9, atol=1e-3)


@pytest.fixture(scope="module")
def resting():
    return patrol_model("resting")


@pytest.fixture(scope="module")
def activated():
    return patrol_model("activated")


def _states(result, model):
    return np.stack([result.dataset[s].values[0] for s in model.state_names], axis=1)


def test_every_parameter_has_unit_and_labelled_source(resting):
    for p in resting.parameters:
        assert p.unit and p.source.verified in ("V-src", "V-code", "UNVERIFIED", "assumption")
    for table in (PHYSIOLOGY, RESTING, ACTIVATED):
        for r in table.values():
            assert r.low <= r.value <= r.high and r.unit


def test_total_is_conserved_symbolically(resting):
    """Without death or production the equations sum to zero (sympy, no engine)."""
    names = {n: sp.Symbol(n) for n in (*resting.state_names, *resting.parameter_names)}
    subs = {}
    for name, (formula, _u, _d) in resting.expressions.items():
        subs[name] = sp.sympify(formula, locals={**names, **subs})
    total = sum(sp.sympify(resting.equations[s], locals={**names, **subs})
                for s in resting.state_names)
    total = total.subs({names["nk_death"]: 0, names["nk_prod"]: 0})
    assert sp.simplify(total) == 0


def test_total_is_conserved_in_the_engine(resting):
    x0 = np.array([3e8, 1e8, 2e8, 1e8, 5e7, 2e7, 1e7, 5e6, 4e8])
    r = simulate(resting, np.linspace(0, 5, 11), initial=x0[None, :], options=TIGHT)
    totals = _states(r, resting).sum(axis=1)
    assert np.allclose(totals, x0.sum(), rtol=1e-9)


def test_engine_matches_matrix_exponential(activated):
    """The declared equations and a hand-assembled rate matrix give the same solution."""
    x0 = np.zeros(len(POOLS))
    x0[0] = 1e9
    times = np.array([0.0, 1 / 1440, 0.01, 0.1, 0.5, 2.0, 10.0])
    r = simulate(activated, times, initial=x0[None, :], options=TIGHT)
    y = _states(r, activated)
    K = rate_matrix(profile="activated")
    for k, t in enumerate(times):
        assert np.allclose(y[k], sl.expm(K * t) @ x0, rtol=1e-6, atol=1e2)


def test_steady_state_matches_closed_form(resting):
    """Long run = ven:art:held = f_ven BV : (1-f_ven) BV : CO f_x E_x tau_x (hand formula)."""
    ph = {k: r.value for k, r in PHYSIOLOGY.items()}
    pr = {k: r.value for k, r in RESTING.items()}
    flow = {"lung": 1.0, "liver": ph["f_liver"], "spleen": ph["f_spleen"],
            "marrow": ph["f_marrow"], "node": ph["f_node"], "tissue": ph["f_tissue"]}
    w = np.array([ph["f_ven"] * ph["BV"], (1 - ph["f_ven"]) * ph["BV"]]
                 + [ph["CO"] * flow[h] * pr[f"E_{h}"] * pr[f"tau_{h}"] for h in HELD]
                 + [0.0])  # "first" (just infused) is empty at steady state
    x0 = np.zeros(len(POOLS))
    x0[0] = 1e9
    r = simulate(resting, np.array([0.0, 20.0]), initial=x0[None, :], options=TIGHT)
    end = _states(r, resting)[-1]
    assert np.allclose(end / end.sum(), w / w.sum(), rtol=1e-6)
    shares = steady_state_shares()
    assert np.allclose([shares[p] for p in POOLS], w / w.sum(), rtol=1e-12)


def test_circuits_equal_lung_passages_per_cell(resting):
    """Circuits/day = cells entering the lungs per day / cells in the pool (steady state)."""
    x0 = np.zeros(len(POOLS))
    x0[0] = 1e9
    r = simulate(resting, np.array([0.0, 20.0]), initial=x0[None, :], options=TIGHT)
    end = _states(r, resting)[-1]
    ph = {k: v.value for k, v in PHYSIOLOGY.items()}
    c_ven = end[0] / (ph["f_ven"] * ph["BV"])
    lung_entries_per_day = 1440 * ph["CO"] * c_ven
    assert lung_entries_per_day / end.sum() == pytest.approx(circuits_per_day(), rel=1e-6)
    assert circuits_per_day(profile=None) == pytest.approx(1440 * ph["CO"] / ph["BV"])


def test_dwell_lowers_circuits_and_no_dwell_gives_the_naive_count():
    base = {k: v.value for k, v in RESTING.items()}
    none = {k: (0.0 if k.startswith("E_") else v) for k, v in base.items()}
    assert circuits_per_day(profile=none) == pytest.approx(circuits_per_day(profile=None))
    for h in HELD:
        longer = dict(base, **{f"tau_{h}": base[f"tau_{h}"] * 2})
        assert circuits_per_day(profile=longer) < circuits_per_day(profile=base)
    assert held_to_blood_ratio() > 0


def test_infused_activated_cells_go_to_the_lungs_first_then_organs(activated):
    """Meller 2004: > 50 % in the lungs shortly after, then liver, spleen, marrow; no nodes;
    few in blood at all times."""
    dose = 1e9
    x0 = np.zeros(len(POOLS))
    x0[POOLS.index("first")] = dose
    times = np.array([0.0, 0.25, 0.5, 1, 2, 4, 8, 12, 24, 48]) / 24
    y = _states(simulate(activated, times, initial=x0[None, :], options=TIGHT), activated)
    share = {p: y[:, i] / dose for i, p in enumerate(POOLS)}
    early = times <= 1 / 24
    assert share["lung"][np.argmin(np.abs(times - 0.5 / 24))] > 0.5
    assert int(np.argmax(share["lung"])) in np.flatnonzero(early)  # lung peak within 1 h
    day1 = -2  # 24 h
    assert share["liver"][day1] + share["spleen"][day1] + share["marrow"][day1] \
        > share["lung"][day1]
    assert np.all(share["node"] < 0.01)
    blood = share["ven"] + share["art"]
    assert np.all(blood[times >= 1 / 24] < 0.05)


def test_patrol_answer_range_and_claim():
    ans = patrol_answer(1000, seed=3)
    assert ans.low < ans.circuits_per_day < ans.high
    assert ans.high < ans.naive_low  # dwell time can only lower the count
    assert ans == patrol_answer(1000, seed=3)
    assert ans.verdict == ("plausible" if ans.low <= 240 <= ans.high else
                           "too low" if 240 < ans.low else "too high")
    with pytest.raises(UserError):
        patrol_answer(5)


def test_cli_patrol_json_and_text():
    runner = CliRunner()
    out = runner.invoke(cli, ["patrol", "--json", "--samples", "500"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert list(data) == ["circuits_per_day", "range", "article_claim", "verdict",
                          "explanation"]
    assert data["article_claim"] == 240 and len(data["range"]) == 2
    text = runner.invoke(cli, ["patrol", "--samples", "500"])
    assert text.exit_code == 0 and "circuits a day" in text.output
    assert "Research use only" in text.output


@pytest.mark.parametrize("args, field", [
    (["patrol", "--samples", "3"], "samples"),
    (["patrol", "--seed", "-1"], "seed"),
    (["patrol", "--out", "x"], "--out"),
    (["patrol", "--reinfusion", "--infusions", "0"], "--infusions"),
    (["patrol", "--reinfusion", "--purity", "1.5"], "--purity"),
    (["patrol", "--reinfusion", "--dose", "-5"], "--dose:"),
    (["patrol", "--reinfusion", "--loss", "-1"], "--loss:"),
    (["patrol", "--reinfusion", "--interval", "0"], "--interval:"),
    (["patrol", "--dose", "5e9"], "--dose:"),
    (["patrol", "--reinfusion", "--scenario", "no/such/file.toml"], "scenario"),
    (["patrol", "--reinfusion", "--out", "/proc/nksim-out"], "--out: cannot write there"),
    (["patrol", "--reinfusion", "--samples", "100"], "--samples: is not used with"),
])
def test_cli_bad_input_is_one_line_exit_2(args, field, tmp_path):
    """One line naming the option as typed (not the scenario field it sets)."""
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 2
    assert out.output.count("\n") == 1 and out.output.startswith("nksim: error:")
    assert "Traceback" not in out.output
    assert field in out.output, out.output


# ---------------------------------------------------------------- T1 reinfusion
@pytest.fixture(scope="module")
def t1():
    return run_reinfusion(ReinfusionSpec(days_after=100.0))


def test_infused_cells_alive_follow_first_order_loss(t1):
    t = t1.table["time_day"].values
    expected = infused_alive_closed_form(t1.spec, t)
    assert np.allclose(t1.table["infused_alive"].values, expected, rtol=1e-5,
                       atol=1e-6 * t1.spec.cells_per_infusion)


def test_a_yearly_reinfusion_follows_first_order_loss_too():
    # an infusion into compartments emptied over a year: the first step guess fell below
    # the time's resolution and the run failed (any interval from about 320 days)
    spec = ReinfusionSpec(infusions=2, interval_days=365.0, days_after=30.0)
    res = run_reinfusion(spec)
    expected = infused_alive_closed_form(spec, res.table["time_day"].values)
    assert np.allclose(res.table["infused_alive"].values, expected, rtol=1e-5,
                       atol=1e-6 * spec.cells_per_infusion)


def test_endogenous_pool_is_a_steady_state_of_the_declared_model(resting):
    """The computed endogenous pool does not move when simulated with production and death."""
    spec = ReinfusionSpec()
    x0 = endogenous_steady_state(spec)
    prod = 0.069 * x0.sum()  # at steady state production = loss
    model = resting.with_values({"nk_death": 0.069, "nk_prod": prod})
    r = simulate(model, np.array([0.0, 30.0]), initial=x0[None, :], options=TIGHT)
    assert np.allclose(_states(r, model)[-1], x0, rtol=1e-6)
    blood = (x0[0] + x0[1]) / ((held_litres()["ven"] + held_litres()["art"]) * 1e6)
    assert blood == pytest.approx(15e6 / 0.069 / 1e6, rel=1e-9)  # Zhang 2007 ratio


def test_rise_decays_with_the_published_turnover_half_life(t1):
    """Late excess = resting blood share x infused alive, decaying at 6.9 %/d (t1/2 10 d)."""
    tab = t1.table
    last = t1.spec.infusion_days[-1]
    excess = tab["blood_nk_per_ul"] - tab["endogenous_per_ul"]
    late = (tab["time_day"] >= last + 40) & (tab["time_day"] <= last + 90)
    slope = np.polyfit(tab["time_day"][late], np.log(excess[late]), 1)[0]
    assert -slope == pytest.approx(0.069, rel=1e-3)
    assert math.log(2) / -slope == pytest.approx(10.05, abs=0.02)
    litres = held_litres()
    blood_share = (litres["ven"] + litres["art"]) / sum(litres.values())
    bv_ul = (litres["ven"] + litres["art"]) * 1e6
    t = tab["time_day"][late].values
    expected = blood_share * infused_alive_closed_form(t1.spec, t) / bv_ul
    assert np.allclose(excess[late].values, expected, rtol=1e-3)


def test_infused_share_is_computed_from_the_counts(t1):
    tab = t1.table
    litres = held_litres()
    bv_ul = (litres["ven"] + litres["art"]) * 1e6
    blood_share = (litres["ven"] + litres["art"]) / sum(litres.values())
    last = t1.spec.infusion_days[-1]
    late = (tab["time_day"] >= last + 40).values
    inf = blood_share * infused_alive_closed_form(t1.spec, tab["time_day"].values[late])
    endo = tab["endogenous_per_ul"].values[late] * bv_ul
    assert np.allclose(tab["infused_share_blood"].values[late], inf / (inf + endo),
                       rtol=1e-3)
    share = tab["infused_share_blood"].values
    assert np.all((share >= 0) & (share < 1))
    assert t1.summary["rise_lasts_days_after_last_infusion"] > 0
    assert "cannot" in t1.summary["feeling_better"]


def test_simulated_rise_duration_matches_the_closed_form(t1):
    sim = t1.summary["rise_lasts_days_after_last_infusion"]
    assert sim == pytest.approx(rise_duration_closed_form(t1.spec), abs=1.0)  # 0.5-d grid
    low, high = t1.summary["rise_lasts_days_range"]
    assert low < sim < high
    one = ReinfusionSpec(infusions=1, dose_cells=1e6)  # far below a visible rise
    assert rise_duration_closed_form(one) == 0.0


def test_bundled_scenario_is_the_catalogue_product_and_bad_keys_are_refused(tmp_path):
    from nksim.config import read_toml
    from nksim.therapy import autologous_nk

    root = Path(__file__).resolve().parents[1]
    raw = read_toml(root / "src/nksim/data/scenarios/nk_autologous_reinfusion.toml")
    spec = spec_from_mapping(raw["reinfusion"])
    prod = autologous_nk()
    assert spec.cells_per_infusion == pytest.approx(prod.cells_per_infusion(70.0))
    assert (spec.infusions, spec.interval_days) == (prod.infusions, prod.interval_days)
    assert spec.inf_death == pytest.approx(prod.kinetics()["delta"])
    bad = tmp_path / "bad.toml"
    for text in ("[reinfusion]\ndoses = 3\n", "[reinfusion]\ninfusions = 2.5\n",
                 "[other]\nx = 1\n"):
        bad.write_text(text)
        out = CliRunner().invoke(cli, ["patrol", "--reinfusion", "--scenario", str(bad)])
        assert out.exit_code == 2 and out.output.count("\n") == 1, out.output


def test_reinfusion_cli_writes_outputs(tmp_path):
    out = tmp_path / "t1"
    res = CliRunner().invoke(cli, ["patrol", "--reinfusion", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["research_use_only"] is True
    assert (out / "timecourse.csv").stat().st_size > 0 and (out / "reinfusion.png").exists()


def test_the_documented_patrol_output_is_what_the_command_prints():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "nk-patrol-and-products.md")
    text = doc.read_text(encoding="utf-8")
    start = text.index("circuits a day of a circulating NK cell:")
    shown = text[start:text.index("```", start)].strip().splitlines()
    printed = CliRunner().invoke(cli, ["patrol"]).output.splitlines()
    assert printed[:len(shown)] == shown
