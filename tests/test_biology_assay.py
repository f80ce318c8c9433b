"""The virtual cytotoxicity assay (issue 9 §3): bundled scenarios, the well model, fits, CLI.

Truths: the orderings the issue names (missing self, induced self, CAR, CD16 V158 > F158)
follow from the biology; monotonicity in E:T; the exponential lytic-unit curve as the
analytic limit of the well model (unlimited capacity, brief conjugates); recovery of known
curve parameters from synthetic data; one-line errors with exit status 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nksim.biology import (
    AssayCondition,
    KillingParameters,
    TargetLigands,
    expected_killed_fraction,
    fit_lysis_curve,
)
from nksim.cli import cli

SCENARIOS = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"
PAIRS = {
    "assay_missing_self": ("mhc_negative", "mhc_high"),
    "assay_nkg2d_ligand": ("ligand_high", "parental"),
    "assay_car_nk": ("car_nk", "parental_nk"),
    "assay_adcc_cd16": ("cd16_v158", "cd16_f158"),
}


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = {}
    for name in [*PAIRS, "serial_killing_il2_nk"]:
        d = tmp_path_factory.mktemp(name)
        res = run_cli("assay", SCENARIOS / f"{name}.toml", "--out", d / "out")
        assert res.exit_code == 0, res.output
        assert "Research use only" in res.output
        out[name] = (json.loads((d / "out" / "summary.json").read_text()),
                     json.loads((d / "out" / "details.json").read_text()), d / "out")
    return out


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_bundled_assays_order_the_conditions_as_the_biology_says(outputs, name):
    summary, details, folder = outputs[name]
    assert set(summary) == {"conditions", "kill_counts"}
    assert [c["name"] for c in summary["conditions"]] == list(PAIRS[name])
    for c in summary["conditions"]:
        for p in c["lysis"]:
            assert set(p) == {"et_ratio", "specific_lysis_pct", "ci_low", "ci_high"}
            assert p["ci_low"] <= p["specific_lysis_pct"] <= p["ci_high"]
        assert abs(sum(summary["kill_counts"][c["name"]].values()) - 1) < 1e-9
    assert (folder / "lysis.png").stat().st_size > 1000
    hi, lo = ({c["name"]: c for c in details["conditions"]}[n] for n in PAIRS[name])
    assert hi["activation_probability"] > lo["activation_probability"]
    for et, e_hi in hi["expected_pct"].items():
        assert e_hi > lo["expected_pct"][et]  # the model's expectation, every E:T
    by_name = {c["name"]: c["lysis"] for c in summary["conditions"]}
    for p_hi, p_lo in zip(by_name[PAIRS[name][0]], by_name[PAIRS[name][1]], strict=True):
        if hi["expected_pct"][str(p_hi["et_ratio"])] - lo["expected_pct"][str(p_lo["et_ratio"])] \
                > 10:
            assert p_hi["specific_lysis_pct"] > p_lo["specific_lysis_pct"]  # the wells too


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_lysis_rises_with_the_effector_target_ratio(outputs, name):
    summary, details, _ = outputs[name]
    for c, d in zip(summary["conditions"], details["conditions"], strict=True):
        pts = sorted(c["lysis"], key=lambda p: p["et_ratio"])
        expected = [d["expected_pct"][str(p["et_ratio"])] for p in pts]
        assert all(a < b for a, b in zip(expected, expected[1:], strict=False))
        for a, b in zip(pts, pts[1:], strict=False):  # replicate means, within their CIs
            assert b["specific_lysis_pct"] >= a["specific_lysis_pct"] - (
                (a["ci_high"] - a["ci_low"]) + (b["ci_high"] - b["ci_low"])) / 2 - 1.0


def test_serial_killing_scenario_reports_kill_counts(outputs):
    summary, details, folder = outputs["serial_killing_il2_nk"]
    assert set(summary) == {"conditions", "kill_counts", "nonkiller_fraction"}
    fr = summary["kill_counts"]
    assert abs(sum(fr.values()) - 1) < 1e-9
    assert fr["0"] == summary["nonkiller_fraction"]
    assert 0.4 <= summary["nonkiller_fraction"] <= 0.6  # Vanherberghen 2013
    assert details["model_comparison"]["best"] != "poisson"
    assert not (folder / "lysis.png").exists()


def test_well_model_reduces_to_the_exponential_lytic_curve():
    kp = KillingParameters(granules_max=1e6, exhaustion=0.0, noact_conjugate_min=1e-3,
                           grz_kill_min=1e-3, detach_min=0.0, grz_success=1.0)
    cond = AssayCondition("x", target=TargetLigands(nkg2d_ligand=1.0, mhc_i=0.05), killing=kp)
    p = cond.activation()
    for et in (0.5, 2.0, 8.0):
        f = expected_killed_fraction(cond, et, duration_h=4.0, encounter_rate_per_h=0.5)
        analytic = 1 - math.exp(-0.5 * p * et * 4.0)
        assert abs(f - analytic) < 0.01 * max(analytic, 0.05)


def test_granule_capacity_limits_killing_per_nk_cell():
    target = TargetLigands(nkg2d_ligand=3.0, mhc_i=0.05)
    few = AssayCondition("few", target=target, killing=KillingParameters(granules_max=1.0))
    many = AssayCondition("many", target=target, killing=KillingParameters(granules_max=6.0))
    assert expected_killed_fraction(few, 0.25) < expected_killed_fraction(many, 0.25)


def _synthetic(seed, A=70.0, k=0.15, sd=3.0):
    rng = np.random.default_rng(seed)
    et = np.repeat([40, 20, 10, 5, 2.5, 1.25], 3).astype(float)
    return et, A * (1 - np.exp(-k * et)) + rng.normal(0, sd, et.size)


def test_lysis_fit_recovers_known_parameters_with_honest_intervals():
    cover_a = cover_k = 0
    for seed in range(40):
        f = fit_lysis_curve(*_synthetic(seed))
        cover_a += f.A_ci[0] <= 70.0 <= f.A_ci[1]
        cover_k += f.k_ci[0] <= 0.15 <= f.k_ci[1]
        assert abs(f.A - 70) < 8 and abs(f.k - 0.15) < 0.05
    assert cover_a >= 34 and cover_k >= 34  # ~95 % intervals: >= 85 % of 40 cover


def test_a_rate_the_data_do_not_bound_is_reported_as_a_lower_bound():
    # lysis at its plateau at every E:T: k was printed as exact, [62.02, 62.02]
    et = np.repeat([10.0, 5.0, 2.5, 1.25], 2)
    y = np.array([58, 61, 59, 62, 60, 58, 61, 59], float)
    f = fit_lysis_curve(et, y)
    lo, hi = f.k_ci
    assert hi is None and f.et50 is None and f.et20 is None
    # the lower bound: the smallest k whose best curve is still acceptable (F test)
    g = 1 - np.exp(-lo * et)
    a = (g @ y) / (g @ g)
    rss_min = float(np.sum((y - y.mean()) ** 2))  # k -> infinity: A = the mean
    from scipy import stats

    crit = rss_min * (1 + stats.f.ppf(0.95, 1, et.size - 2) / (et.size - 2))
    assert np.sum((y - a * g) ** 2) == pytest.approx(crit, rel=1e-6)


def test_the_profile_interval_of_k_is_where_the_f_test_says():
    et, y = _synthetic(3)
    f = fit_lysis_curve(et, y)
    from scipy import stats

    crit = f.rss * (1 + stats.f.ppf(0.95, 1, et.size - 2) / (et.size - 2))
    for k in f.k_ci:
        g = 1 - np.exp(-k * et)
        a = (g @ y) / (g @ g)
        assert np.sum((y - a * g) ** 2) == pytest.approx(crit, rel=1e-6)


def test_a_plateau_above_complete_lysis_is_flagged(tmp_path):
    # data that stop short of the plateau: A was 152 % with a confident interval, unflagged
    csv = tmp_path / "steep.csv"
    csv.write_text("et_ratio,specific_lysis_pct\n0.5,30\n0.5,31\n0.75,45\n0.75,44\n"
                   "1,58\n1,57\n")
    res = CliRunner().invoke(cli, ["assay", "--fit", str(csv)])
    assert res.exit_code == 0, res.output
    assert "note: the fitted plateau is above 100 % lysis" in res.output


@pytest.mark.parametrize("lysis", ["0,0,0,0", "-1,0.5,-0.3,0.2"])
def test_no_lysis_is_not_called_a_plateau(tmp_path, lysis):
    csv = tmp_path / "zero.csv"
    csv.write_text("et_ratio,specific_lysis_pct\n" + "\n".join(
        f"{e},{y}" for e, y in zip((1, 2, 5, 10), lysis.split(","), strict=True)) + "\n")
    res = CliRunner().invoke(cli, ["assay", "--fit", str(csv)])
    assert res.exit_code == 0, res.output
    assert "k not determined" in res.output and "plateau" not in res.output
    assert "the data do not determine a lysis curve" in res.output


def test_fit_through_the_cli(tmp_path):
    et, y = _synthetic(1)
    csv = tmp_path / "data.csv"
    csv.write_text("et_ratio,specific_lysis_pct\n" + "".join(f"{a},{b}\n" for a, b in zip(
        et, y, strict=True)))
    res = run_cli("assay", "--fit", csv, "--out", tmp_path / "fit")
    assert res.exit_code == 0, res.output
    fit = json.loads((tmp_path / "fit" / "fit.json").read_text())["fits"][0]
    assert fit["A_ci"][0] < 70 < fit["A_ci"][1]
    assert (tmp_path / "fit" / "fit.png").exists()


BAD_SCENARIOS = {
    "unknown field": ("[assay]\net_ratios = [1, 2]\ncolour = 1\n[[conditions]]\nname = 'a'\n",
                      "assay.colour"),
    "one ratio": ("[assay]\net_ratios = [1]\n[[conditions]]\nname = 'a'\n", "assay.et_ratios"),
    "negative mhc": ("[assay]\net_ratios = [1, 2]\n[[conditions]]\nname = 'a'\n"
                     "target = { mhc_i = -1 }\n", "conditions[0].target.mhc_i"),
    "duplicate": ("[assay]\net_ratios = [1, 2]\n[[conditions]]\nname = 'a'\n[[conditions]]\n"
                  "name = 'a'\n", "conditions"),
    "bad allele": ("[assay]\net_ratios = [1, 2]\n[[conditions]]\nname = 'a'\n"
                   "nk = { cd16_allele = 'X' }\n", "conditions[0].nk.cd16_allele"),
    "bad duration": ("[serial_killing]\nduration = '3 kg'\n", "serial_killing.duration"),
    "bad killing": ("[serial_killing]\nn_cells = 100\n[killing]\ngrz_success = 2\n",
                    "killing.grz_success"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_scenarios_get_one_line_and_exit_2(tmp_path, case):
    text, field = BAD_SCENARIOS[case]
    path = tmp_path / "s.toml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["assay", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nksim: error: {field}")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args,field", [
    (["assay"], "SCENARIO.toml"),
    (["assay", "x.toml"], "--out"),
    (["assay", "--fit", "nonexistent.csv"], "--fit"),
])
def test_bad_command_lines_get_one_line(args, field):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and res.output.startswith(f"nksim: error: {field}")


def test_bad_csv_gets_one_line(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("ratio,lysis\n1,2\n")
    res = CliRunner().invoke(cli, ["assay", "--fit", str(csv)])
    assert res.exit_code == 2 and "missing column" in res.output
    csv.write_text("et_ratio,specific_lysis_pct\n1,2\n-1,3\n4,5\n")
    res = CliRunner().invoke(cli, ["assay", "--fit", str(csv)])
    assert res.exit_code == 2 and "data.et_ratio" in res.output


@pytest.mark.parametrize("ligand,hours", [(1.0, 12.0), (3.0, 4.0), (3.0, 12.0)])
def test_well_model_agrees_with_the_single_cell_simulator(ligand, hours):
    """Targets in excess, homogeneous cells: kills per NK cell from two implementations."""
    from nksim.biology import signals, simulate_serial_killing

    kp = KillingParameters(sigma_cell=0.05, search_rate_per_h=0.5)
    cond = AssayCondition("x", target=TargetLigands(nkg2d_ligand=ligand, mhc_i=0.05),
                          killing=kp)
    et = 0.01  # 100 targets per NK cell: depletion negligible
    per_nk = expected_killed_fraction(cond, et, duration_h=hours, encounter_rate_per_h=0.5) / et
    sim = simulate_serial_killing(signals(cond.nk, cond.target), 40000, duration_h=hours,
                                  params=kp, seed=3)
    assert abs(per_nk - sim.kills.mean()) < 0.07 * sim.kills.mean() + 3 * sim.kills.std() / 200


@pytest.mark.parametrize("perforin", [True, False])
@pytest.mark.parametrize("hours", [4.0, 8.0])
def test_well_model_agrees_with_the_single_cell_simulator_where_capacity_binds(perforin,
                                                                               hours):
    """Frequent encounters (3 per hour): granule and death-receptor units run out. The
    well model spread kills as unbounded Poisson numbers: 7.1 kills per NK cell at 8 h
    where a cell can make 4, 2.5 for perforin-deficient cells that kill once."""
    from nksim.biology import signals, simulate_serial_killing

    kp = KillingParameters(sigma_cell=0.05, search_rate_per_h=3.0, exhaustion=0.0,
                           perforin=perforin)
    cond = AssayCondition("x", target=TargetLigands(nkg2d_ligand=10.0, mhc_i=0.05),
                          killing=kp)
    et = 0.01  # targets in excess
    per_nk = expected_killed_fraction(cond, et, duration_h=hours, encounter_rate_per_h=3.0) / et
    sim = simulate_serial_killing(signals(cond.nk, cond.target), 20000, duration_h=hours,
                                  params=kp, seed=3)
    assert sim.kills.max() <= (4 if perforin else 1)
    assert abs(per_nk - sim.kills.mean()) < 0.08 * sim.kills.mean()


@pytest.mark.parametrize("granules", [0.0, 3.0])
def test_perforin_deficient_or_granule_free_cells_kill_at_most_once(granules):
    # the reviewer's flow assay: 8 h, 3 encounters per hour, E:T 0.25 (50 % lysis was
    # reported, 2 kills per NK cell); granules_max = 0 gave NaN
    kp = KillingParameters(granules_max=granules, perforin=granules == 0.0)
    cond = AssayCondition("x", target=TargetLigands(nkg2d_ligand=10.0, mhc_i=0.05),
                          killing=kp)
    for et in (0.25, 0.5):
        f = expected_killed_fraction(cond, et, duration_h=8.0, encounter_rate_per_h=3.0)
        assert 0.0 < f <= et * 1.0000001


def test_fitted_rate_recovers_the_well_models_lethal_conjugation_rate():
    kp = KillingParameters(granules_max=1e6, exhaustion=0.0, noact_conjugate_min=1e-3,
                           grz_kill_min=1e-3, detach_min=0.0, grz_success=1.0)
    cond = AssayCondition("x", target=TargetLigands(nkg2d_ligand=1.0, mhc_i=0.05), killing=kp)
    et = np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    lysis = [100 * expected_killed_fraction(cond, e, duration_h=4.0, encounter_rate_per_h=0.5)
             for e in et]
    f = fit_lysis_curve(et, lysis)
    assert abs(f.A - 100) < 1.5
    assert abs(f.k / 4.0 - 0.5 * cond.activation()) < 0.02 * 0.5 * cond.activation()
