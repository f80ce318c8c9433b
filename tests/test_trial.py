"""The virtual-trial runner and ``nksim trial``: reproducibility, mechanistic truths,
statistics shape, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.config import TrialScenario
from nksim.errors import UserError
from nksim.scenario import read_toml, validate
from nksim.trials import proportion_ci, run_trial


@pytest.fixture(scope="module")
def small(small_trial_toml) -> str:
    return small_trial_toml(name="small test trial", seed=7, patients_per_arm=6,
                            follow_up_days=200, n_candidates=90)


def scenario(text: str, **trial) -> TrialScenario:
    raw = read_toml_text(text)
    raw["trial"].update(trial)
    return validate(TrialScenario, raw)


def read_toml_text(text: str) -> dict:
    import tomllib

    return tomllib.loads(textwrap.dedent(text))


@pytest.fixture(scope="module")
def result(small):
    return run_trial(scenario(small))


def test_same_seed_same_results_whatever_the_batch_size(result, small):
    other = run_trial(scenario(small, batch_size=4))
    for a, b in zip(result.arms, other.arms, strict=True):
        assert a.summary == b.summary
        np.testing.assert_array_equal(a.simulation.dataset["B"].values,
                                      b.simulation.dataset["B"].values)


def test_different_seed_different_patients(result, small):
    other = run_trial(scenario(small, seed=8))
    assert not result.arms[0].patients["candidate"].equals(other.arms[0].patients["candidate"])


def test_arms_are_disjoint_and_eligible(result):
    ids = [set(a.patients["candidate"]) for a in result.arms]
    assert all(not (x & y) for i, x in enumerate(ids) for y in ids[i + 1:])
    log = result.screening_log.set_index("candidate")
    for arm in result.arms:
        assert log.loc[list(arm.patients["candidate"]), "eligible"].all()
        assert (arm.patients["age_years"] >= 5).all() and (arm.patients["sledai"] >= 8).all()


def test_no_cd19_therapy_no_b_cell_depletion(result):
    control = next(a for a in result.arms if a.name == "control")
    b = control.simulation.dataset["B"].values
    np.testing.assert_allclose(b[:, -1], b[:, 0], rtol=1e-3)  # stays at its equilibrium
    assert not control.patients["b_depleted"].any()
    assert control.summary["endpoints"]["crs_any_rate"]["n"] == 0  # nobody infused


def test_cd19_therapy_spares_cd19_negative_plasma_cells(result):
    car_t = result.arms[0].simulation.dataset
    llpc, b = car_t["LLPC"].values, car_t["B"].values
    t = car_t["time"].values
    day30 = np.searchsorted(t, 30.0)
    assert np.all(b[:, day30] < 0.2 * b[:, 0])  # CD19+ B cells deeply depleted ...
    assert np.all(llpc[:, day30] > 0.5 * llpc[:, 0])  # ... CD19- plasma cells are not


def test_car_nk_does_not_expand_and_car_t_does(result):
    t = result.arms[0].simulation.dataset["time"].values
    after = t >= 0
    cart = result.arms[0].simulation.dataset["CART"].values[:, after]
    nk = result.arms[1].simulation.dataset["CARNK"].values[:, after]
    first_dose = nk[:, np.searchsorted(t[after], 0.0)]
    assert np.all(nk.max(axis=1) < 3.5 * first_dose)  # three infusions, no expansion
    assert np.all(cart.max(axis=1) > 100 * cart[:, 0])


def test_the_run_in_starts_at_each_patients_own_cytokine_baseline(result):
    # the lupus setting grades CRS above the IL-6 and IFN-gamma at the run-in start
    # (toxicity_table's baseline_time): those are the patient's il6_base and ifng_base,
    # which vary between patients (10 % log-normal here)
    arm = result.arms[0]
    ds = arm.simulation.dataset
    start = ds.sel(time=ds["time"].values[0])
    params = dict(zip(result.model.parameter_names, arm.parameters.T, strict=True))
    for state, base in (("IL6", "il6_base"), ("IFNG", "ifng_base")):
        assert np.ptp(params[base]) > 0.1
        assert np.allclose(start[state].values, params[base], rtol=1e-12)


def test_endpoint_intervals_are_exact_binomial(result):
    for arm in result.arms:
        for name, ep in arm.summary["endpoints"].items():
            if name.endswith("_rate") and ep["n"]:
                exact = proportion_ci(ep["k"], ep["n"])
                lo, hi = exact.ci_low, exact.ci_high
                assert ep["value"] == pytest.approx(ep["k"] / ep["n"])
                assert (ep["ci_low"], ep["ci_high"]) == pytest.approx((lo, hi))


def test_summary_has_the_required_endpoints(result):
    required = {"crs_any_rate", "crs_grade3plus_rate", "icans_any_rate",
                "b_cell_return_day_median", "doris_remission_3m_rate", "doris_remission_6m_rate",
                "steroid_free_6m_rate", "manufacturing_failure_rate", "cost_per_patient_median"}
    for arm in result.arms:
        assert required <= set(arm.summary["endpoints"])
        for ep in arm.summary["endpoints"].values():
            assert {"value", "ci_low", "ci_high"} <= set(ep)


def test_cli_trial_writes_outputs(tmp_path: Path, small):
    (tmp_path / "t.toml").write_text(small)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["trial", str(tmp_path / "t.toml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["arms"]) == {"car_t", "car_nk", "control"}
    assert summary["arms"]["car_t"]["n"] == 6
    assert "Research use only" in (out / "report.html").read_text()
    assert (out / "screening_log.csv").read_text().startswith("candidate,")
    assert (out / "patients.csv").exists() and (out / "timecourse.parquet").exists()


@pytest.mark.parametrize("change, field", [
    (("patients_per_arm = 6", "patients_per_arm = 0"), "trial.patients_per_arm"),
    (('dose_per_kg = "1e6 cell/kg"', 'dose_per_kg = "1e6 kg"'), "arms[0].dose_per_kg"),
    (('product = "car_t"', 'product = "car_x"'), "arms[0].product"),
    (("n_candidates = 90", "n_candidate = 90"), "cohort"),
    (("[variability]", "[variability]\nbogus = 1"), "variability.bogus"),
    (("follow_up_days = 200", "follow_up_days = 30"), "trial.follow_up_days"),
    (("seed = 7", 'seed = 7\nsetting = "lupus"'), "trial.setting"),
    (("seed = 7", 'seed = 7\ndesign = "crossover"'), "trial.design"),
])
def test_bad_trial_input_is_one_line_and_no_output(tmp_path: Path, change, field, small):
    (tmp_path / "t.toml").write_text(small.replace(*change))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["trial", str(tmp_path / "t.toml"), "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith("nksim: error:") and field in line
    assert not out.exists()


def test_bundled_trial_scenarios_validate():
    root = Path(__file__).resolve().parents[1] / "scenarios"
    for name in ("sle_pediatric_cart_vs_carnk.toml", "sle_adult_cart.toml"):
        sc = validate(TrialScenario, read_toml(root / name))
        assert sc.arms


def test_unknown_variability_parameter(small):
    sc = scenario(small.replace("n_ic = 0.0", "nope = 0.1"))
    with pytest.raises(UserError, match="nope"):
        run_trial(sc)


def test_paired_lupus_design_same_patients_same_course_until_treatment_differs(small):
    sc = scenario(small, design="paired", patients_per_arm=3)
    res = run_trial(sc)
    ids = [a.patients["candidate"].tolist() for a in res.arms]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 3
    t = res.arms[0].simulation.dataset["time"].values
    before = t < -5.0  # lymphodepletion starts on day -5: until then every arm is identical
    b = [a.simulation.dataset["B"].values[:, before] for a in res.arms]
    # (equal up to round-off: the solver's steps depend on where each arm's doses change)
    np.testing.assert_allclose(b[0], b[1], rtol=1e-10)
    np.testing.assert_allclose(b[0], b[2], rtol=1e-10)
    measures = {c["measure"] for c in res.comparisons}
    assert "paired_risk_difference" in measures and "risk_difference" not in measures
    pairs = {(c["arm_a"], c["arm_b"]) for c in res.comparisons}
    assert pairs == {("car_t", "car_nk"), ("car_t", "control"), ("car_nk", "control")}


def test_every_endpoint_carries_its_n(result):
    for arm in result.arms:
        for name, ep in arm.summary["endpoints"].items():
            assert isinstance(ep["n"], int), name


def test_a_lymphodepletion_only_control_arm_gets_its_lymphodepletion():
    """An arm without a product whose [arms.lymphodepletion] table is written gets it (it
    was dropped silently); the default Flu/Cy still comes only before a cell product."""
    from types import SimpleNamespace

    from nksim.config._trial import ArmSection
    from nksim.trials._trial import _treatment

    row = SimpleNamespace(infused=False, weight_kg=70.0, age_years=40.0)
    written = ArmSection.model_validate({"name": "ld_only", "product": "none",
                                         "lymphodepletion": {"first_day": -5, "days": 3}})
    days = sorted({d.time for d in _treatment(written, None, row) if d.state == "LD"})
    assert days == [-5.0, -4.0, -3.0]
    default = ArmSection.model_validate({"name": "control", "product": "none"})
    assert default.given_lymphodepletion is None and _treatment(default, None, row) == []


def test_follow_up_limits_are_the_lupus_settings_own():
    """A 56-day tumour trial was refused by a lupus rule in the generic schema ('>= 182
    day'); the lupus setting keeps it for its 6-month endpoints."""
    from nksim.config import TrialScenario
    from nksim.scenario import read_toml, validate

    scenarios = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"
    lymphoma = read_toml(scenarios / "lymphoma_cd19_carnk.toml")
    lymphoma["trial"].update(follow_up_days=56, run_in_days=6)
    assert validate(TrialScenario, lymphoma).trial.follow_up_days == 56
    lupus = read_toml(scenarios / "sle_pediatric_cart_vs_carnk.toml")
    lupus["trial"]["follow_up_days"] = 90
    with pytest.raises(UserError, match=r"trial.follow_up_days: must be >= 182 day in the "
                                        r"sle setting"):
        validate(TrialScenario, lupus)


def test_a_control_arm_follows_a_steroid_plan_only_where_one_is_written():
    """A lymphodepletion-only lupus control that stops steroids kept prednisone on (its
    written plan was dropped), so a product that kills nothing differed from it."""
    from types import SimpleNamespace

    from nksim.config import TrialScenario
    from nksim.scenario import read_toml, validate
    from nksim.trials import get_setting

    raw = read_toml(Path(__file__).resolve().parents[1] / "scenarios"
                    / "sle_pediatric_cart_vs_carnk.toml")
    control = {"name": "ld_only", "product": "none", "steroids": {"after": "stop"},
               "lymphodepletion": {"first_day": -5, "days": 3}}
    raw["arms"] = [raw["arms"][0], control, {"name": "soc", "product": "none"}]
    scenario = validate(TrialScenario, raw)
    row = SimpleNamespace(infused=False, weight_kg=30.0, age_years=12.0, candidate=1,
                          background_prednisone_mg_day=10.0)
    setting = get_setting("sle")

    def prednisone_end(arm):
        gc = [d for d in setting.doses(arm, row, [], scenario) if d.state == "GC"]
        return max(d.time + d.duration for d in gc)

    assert prednisone_end(scenario.arms[1]) == -5.0  # stopped with Flu/Cy
    assert prednisone_end(scenario.arms[2]) == scenario.trial.follow_up_days  # unchanged


def test_steroid_tables_are_refused_where_the_setting_gives_no_steroids():
    """[standard_of_care] and [arms.steroids] were accepted and ignored outside lupus."""
    from nksim.config import TrialScenario
    from nksim.scenario import read_toml, validate

    scenarios = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"
    raw = read_toml(scenarios / "lymphoma_cd19_carnk.toml")
    raw["arms"][0]["steroids"] = {"after": "keep_then_taper"}
    with pytest.raises(UserError, match=r"arms\[0\].steroids: the lymphoma setting gives no "
                                        r"glucocorticoids"):
        validate(TrialScenario, raw)
    del raw["arms"][0]["steroids"]
    raw["standard_of_care"] = {"prednisone_mg_per_kg_per_day": 1.0}
    with pytest.raises(UserError, match=r"^standard_of_care: the lymphoma setting"):
        validate(TrialScenario, raw)


def test_a_cancer_trial_needs_follow_up_to_its_first_assessment():
    """With follow-up before the first response assessment every patient read as 'not
    evaluable', counted as no response (ORR 0/3 instead of a refusal)."""
    from nksim.config import TrialScenario
    from nksim.scenario import read_toml, validate

    scenarios = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"
    for name, first in (("lymphoma_cd19_carnk.toml", 28), ("pancreatic_nk_gs.toml", 56)):
        raw = read_toml(scenarios / name)
        raw["trial"]["follow_up_days"] = 14
        with pytest.raises(UserError, match=rf"trial.follow_up_days: must be >= {first} day"):
            validate(TrialScenario, raw)


def test_nothing_is_recorded_after_the_end_of_follow_up():
    from nksim.trials._trial import _output_times

    times = _output_times(7.0, 20.0)
    assert times.max() == 20.0 and times.min() == -7.0
    assert _output_times(60.0, 365.0).max() == 365.0
