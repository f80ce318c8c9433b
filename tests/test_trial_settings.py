"""Trials for any disease (issue 8 section 3): the disease-setting interface, a new setting
defined here without editing ``trials/``, the paired design, between-arm comparisons, the
lupus refactor regression and the progress bar."""

from __future__ import annotations

import ast
import json
import math
import textwrap
import tomllib
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import Field

from nksim._spec import Table
from nksim.cli import cli
from nksim.config import TrialScenario
from nksim.errors import UserError
from nksim.model import Citation, Component, State, compose
from nksim.population import patient_rng
from nksim.scenario import validate
from nksim.therapy import (
    car_nk_component,
    car_t_component,
    lymphodepletion_component,
    therapy_components,
)
from nksim.trials import (
    Baseline,
    Criterion,
    DiseaseSetting,
    Endpoint,
    Panel,
    get_setting,
    register_setting,
    run_trial,
)

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- a one-compartment tumour
TUMOUR_ASSUMPTION = Citation("test tumour", "A test setting, not a model of any cancer.",
                             verified="assumption", note="growth 0.01-0.2/day")


def doc_blocks() -> list[str]:
    """The Python blocks of docs/trials.md's "Writing a disease setting" section."""
    text = (ROOT / "docs/trials.md").read_text().split("## Writing a disease setting")[1]
    text = text.split("\n## ")[0]
    return [b.split("```")[0] for b in text.split("```python")[1:]]


DOC: dict = {}
exec(doc_blocks()[0], DOC)  # the documented setting: defines MODEL and registers "tumour"
MODEL = DOC["MODEL"]  # logistic tumour + lymphodepletion + CAR-NK with targets=("T",)


def logistic(t: np.ndarray, t0: float, y0: float, r: float, k: float) -> np.ndarray:
    """Closed-form solution of dT/dt = r T (1 - T/K), T(t0) = y0."""
    e = np.exp(r * (t - t0))
    return k * y0 * e / (k + y0 * (e - 1.0))


class TumourCohort(Table):
    """``[cohort]`` of the test setting, validated by the scenario loader."""

    n_candidates: Annotated[int, Field(ge=1, le=1000)] = 40


class TumourSetting(DiseaseSetting):
    """Defined in the tests only: nothing under ``trials/`` knows it."""

    name = "tumour_test"
    tables = {"cohort": TumourCohort}

    def check(self, scenario):
        for i, arm in enumerate(scenario.arms):
            if arm.product == "car_t":
                raise UserError("this test setting infuses CAR-NK cells only (got 'car_t')",
                                field=f"arms[{i}].product")
    endpoints = (
        Endpoint("shrinkage_28d_rate", "shrunk_28d", "binary", (),
                 "tumour smaller on day 28 than on day 0"),
        Endpoint("progression_day_median", "progression_day", "time_to_event", (),
                 "tumour doubled from day 0, median day"),
    )
    report_panels = (Panel("T", "tumour cells", "cell/uL", lambda ds: ds["T"].values),)

    def model(self, scenario):
        return MODEL.with_values(scenario.parameters)

    def candidates(self, scenario):
        ids = np.arange(int(scenario.cohort.get("n_candidates", 40)))
        draw = [patient_rng(scenario.trial.seed, int(i), 201).random(3) for i in ids]
        u = np.array(draw)
        return pd.DataFrame({"candidate": ids, "age_years": 40 + 40 * u[:, 0],
                             "weight_kg": 55 + 40 * u[:, 1],
                             "tumour_burden": 200 * u[:, 2]})

    def criteria(self, scenario):
        return [Criterion("min_burden", "tumour_burden", ">=", 20.0, "tumour", "cell/uL",
                          "measurable tumour", TUMOUR_ASSUMPTION)]

    def baseline(self, model, patients, parameters, scenario):
        initial = np.tile(model.initial_vector(), (len(patients), 1))
        initial[:, model.state_names.index("T")] = patients["tumour_burden"].to_numpy(float)
        initial[:, model.state_names.index("TH")] = parameters[
            :, model.parameter_names.index("th_normal")]
        return Baseline(patients, parameters, initial)

    def patient_endpoints(self, dataset, doses, patients, rngs, scenario):
        t = dataset["time"].values
        tum = dataset["T"].values
        day0 = tum[:, np.searchsorted(t, 0.0)]
        after = t >= 0
        doubled = tum[:, after] >= 2 * day0[:, None]
        first = np.where(doubled.any(axis=1), t[after][doubled.argmax(axis=1)], np.nan)
        return pd.DataFrame({"shrunk_28d": tum[:, np.searchsorted(t, 28.0)] < day0,
                             "progression_day": first})


register_setting(TumourSetting)

TUMOUR = """
[trial]
name = "test tumour: CAR-NK versus nothing"
setting = "tumour_test"
design = "paired"
seed = 3
patients_per_arm = 8
follow_up_days = 182
run_in_days = 7
[cohort]
n_candidates = 30
[variability]
lognormal_sigma = { all = 0.0, r_T = 0.3 }
[[arms]]
name = "car_nk"
product = "car_nk"
dose_per_kg = "1e8 cell/kg"
infusions = 3
interval_days = 7
[arms.lymphodepletion]
fludarabine_mg_m2 = 30
cyclophosphamide_mg_m2 = 500
[[arms]]
name = "none"
product = "none"
"""


def tumour_scenario(**trial) -> TrialScenario:
    raw = tomllib.loads(textwrap.dedent(TUMOUR))
    raw["trial"].update(trial)
    return validate(TrialScenario, raw)


@pytest.fixture(scope="module")
def tumour():
    return run_trial(tumour_scenario())


def test_documented_setting_example_runs(capsys):
    assert get_setting("tumour") is not None
    exec(doc_blocks()[1], dict(DOC))
    out = capsys.readouterr().out
    assert out.startswith("paired_risk_difference ")


def test_new_setting_runs_end_to_end_without_touching_trials(tumour):
    assert tumour.setting.name == "tumour_test" and tumour.model.name == "tumour_carnk"
    log = tumour.screening_log
    excluded = log.loc[~log["eligible"], "failed_criteria"]
    assert len(excluded) and set(excluded) == {"min_burden"}  # the setting's own rule
    for arm in tumour.arms:
        assert arm.summary["n"] == 8
        assert set(arm.summary["endpoints"]) >= {"shrinkage_28d_rate",
                                                 "progression_day_median"}
        assert all("n" in ep for ep in arm.summary["endpoints"].values())


def test_untreated_tumour_grows_exactly_as_the_logistic_solution(tumour):
    none = next(a for a in tumour.arms if a.name == "none")
    ds = none.simulation.dataset
    t = ds["time"].values
    params = none.parameters
    r = params[:, MODEL.parameter_names.index("r_T")]
    k = params[:, MODEL.parameter_names.index("K_T")]
    assert np.ptp(r) > 0  # patients differ (variability on r_T) ...
    for i in range(len(none.patients)):
        y0 = none.patients["tumour_burden"].iloc[i]
        exact = logistic(t, -7.0, y0, r[i], k[i])  # ... and each follows its own solution
        np.testing.assert_allclose(ds["T"].values[i], exact, rtol=1e-4)


def test_paired_design_gives_every_patient_every_arm(tumour):
    a, b = tumour.arms
    assert list(a.patients["candidate"]) == list(b.patients["candidate"])
    np.testing.assert_array_equal(a.parameters, b.parameters)
    np.testing.assert_array_equal(a.initial, b.initial)
    # same patient, same start: killing only removes tumour cells
    ta, tb = a.simulation.dataset["T"].values, b.simulation.dataset["T"].values
    assert np.all(ta <= tb * (1 + 1e-6)) and np.all(ta[:, -1] < tb[:, -1])


def test_paired_comparisons_use_paired_methods(tumour):
    items = {(c["endpoint"], c["measure"]): c for c in tumour.comparisons}
    shrink = items[("shrinkage_28d_rate", "paired_risk_difference")]
    a, b = (arm.patients.set_index("candidate")["shrunk_28d"] for arm in tumour.arms)
    assert shrink["value"] == pytest.approx(a.mean() - b.loc[a.index].mean())
    assert shrink["ci_low"] <= shrink["value"] <= shrink["ci_high"]
    assert shrink["n_a"] == shrink["n_b"] == 8
    assert ("progression_day_median", "hazard_ratio") in items
    assert not any(c["measure"] == "risk_difference" for c in tumour.comparisons)
    for c in tumour.comparisons:
        assert {"endpoint", "arm_a", "arm_b", "measure", "value", "ci_low", "ci_high"} <= set(c)
        assert (c["arm_a"], c["arm_b"]) == ("car_nk", "none")


def test_randomised_design_uses_disjoint_patients_and_parallel_methods():
    res = run_trial(tumour_scenario(design="randomised", patients_per_arm=5))
    a, b = (set(arm.patients["candidate"]) for arm in res.arms)
    assert not (a & b) and len(a) == len(b) == 5
    measures = {c["measure"] for c in res.comparisons}
    assert {"risk_difference", "risk_ratio", "hazard_ratio", "median_difference"} <= measures
    assert "paired_risk_difference" not in measures


def test_setting_declarations_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Endpoint("x", "x", "proportion")

    class Twice(TumourSetting):
        name = "twice"
        endpoints = (Endpoint("a", "a", "binary"), Endpoint("a", "b", "binary"))

    with pytest.raises(ValueError, match="distinct"):
        register_setting(Twice)
    with pytest.raises(TypeError):
        register_setting(object())


def test_unknown_setting_is_a_user_error():
    with pytest.raises(UserError, match="tumour_test") as info:
        run_trial(tumour_scenario(setting="tumor_test"))
    assert info.value.field == "trial.setting"


def test_a_setting_declares_its_tables_and_the_loader_checks_them():
    """Tables and cross-checks of a setting defined here are checked when the scenario is
    loaded, before any computation, with the usual one-line errors."""
    raw = tomllib.loads(textwrap.dedent(TUMOUR))
    raw["cohort"] = {"n_candidate": 30}
    with pytest.raises(UserError) as info:
        validate(TrialScenario, raw)
    assert str(info.value) == ("cohort.n_candidate: unknown field; did you mean "
                               "'n_candidates'?")
    raw["cohort"] = {"n_candidates": 5000}
    with pytest.raises(UserError, match=r"^cohort\.n_candidates: .*1000"):
        validate(TrialScenario, raw)
    raw["cohort"] = {"n_candidates": 30}
    raw["arms"][0]["product"] = "car_t"
    with pytest.raises(UserError) as info:
        validate(TrialScenario, raw)
    assert info.value.field == "arms[0].product" and "CAR-NK" in str(info.value)


def _imports(path: Path) -> list[str]:
    """Modules imported by a file, outside ``if TYPE_CHECKING:`` blocks; relative imports
    resolved against the file's package."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and getattr(node.test, "id", "") == "TYPE_CHECKING"
               for n in ast.walk(node)}
    package = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            out.append(".".join(x for x in (base, node.module or "") if x))
    return out


def test_only_the_command_line_and_the_loaders_import_config():
    """issue 8 §1: the schema has one home; the engine, models, trials and diseases
    receive validated objects and raise plain errors (type hints only otherwise)."""
    allowed = {"scenario.py", "_article_checks.py", "_scenario.py"}  # simulate, article, ageing
    # loaders (disease/ageing/_scenario.py reads its TOML as every scenario file is read)
    offenders = []
    for path in (ROOT / "src/nksim").rglob("*.py"):
        rel = path.relative_to(ROOT / "src/nksim")
        if rel.parts[0] == "config" or rel.name.startswith("cli") or rel.name in allowed:
            continue
        if any(m == "nksim.config" or m.startswith("nksim.config.") for m in _imports(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_trials_runner_imports_no_disease():
    """Nothing under trials/ imports a disease module; the runner reaches a setting only
    through the registry (nksim.disease.SETTINGS names the bundled ones)."""
    for path in (ROOT / "src/nksim/trials").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "nksim.disease"):
                assert node.module == "nksim.disease" and [a.name for a in node.names] == [
                    "SETTINGS"], (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("nksim.disease") for a in node.names), path
    runner = (ROOT / "src/nksim/trials/_trial.py").read_text().lower()
    assert "sledai" not in runner and "lupus" not in runner.split('"""', 2)[2]


# ---------------------------------------------------------------- targets as arguments
def test_product_components_take_their_targets():
    default = car_t_component()
    explicit = car_t_component(targets=("B", "PB"))
    assert default.terms == explicit.terms and default.requires == explicit.requires
    tumour = car_t_component(targets=("T",))
    assert set(tumour.terms) == {"CART", "CARTM", "CARTF", "CARTX", "CARTP", "T"}
    assert "B" not in tumour.requires and "T" in tumour.requires
    assert tumour.terms["T"] == "-cart_kill*(CART + cart_mem_kill*CARTM)*T/(cart_K_kill + (T))"
    nk = car_nk_component(targets=("T",))
    assert nk.terms["T"] == "-carnk_kill*CARNK*T/(carnk_K_kill + (T))"
    assert "T" in nk.expressions["kill_carnk"][0]
    assert lymphodepletion_component(depletes=()).requires == ()
    tumour_state = Component("tumour", "test", states=(State("T", "cell/uL", "tumour"),))
    composed = compose("tumour_all_products", "t", "t",
                       [tumour_state, *therapy_components(targets=("T",), depletes=())])
    assert "kill_cart" in composed.equations["IL6"] and "T" in composed.equations["T"]
    assert "B" not in composed.state_names
    for bad in ((), ("B", "B"), ("1x",)):
        with pytest.raises(ValueError, match="targets"):
            car_nk_component(targets=bad)


# ---------------------------------------------------------------- arm parameters
# The c9c60d2 regression fixture (lupus trials reproduced exactly after the move behind
# DiseaseSetting) was retired in issue 10, which changed the lupus model on purpose (B-cell
# precursor stages, flare triggers, CAR-T without a capacity limit); pinning a legacy
# configuration was not cheap (new states). The lupus trials are now checked against their
# calibration anchors (tests/test_calibration.py, tests/test_sle_regeneration.py).
def test_arm_parameters_are_set_on_every_patient_of_that_arm_only():
    raw = tomllib.loads(textwrap.dedent(TUMOUR))
    raw["trial"]["patients_per_arm"] = 3
    raw["arms"][0]["parameters"] = {"carnk_kill": "2.5 1/day"}
    res = run_trial(validate(TrialScenario, raw))
    names = res.model.parameter_names
    i = names.index("carnk_kill")
    assert np.all(res.arms[0].parameters[:, i] == 2.5)
    assert np.all(res.arms[1].parameters[:, i] == res.model.parameter("carnk_kill").value)
    raw["arms"][0]["parameters"] = {"no_such_parameter": 1.0}
    with pytest.raises(UserError, match=r"arms\[0\]\.parameters\.no_such_parameter"):
        run_trial(validate(TrialScenario, raw))


# ---------------------------------------------------------------- progress bar
def test_progress_bar_on_stderr(monkeypatch, capsys):
    import nksim.trials._trial as runner

    monkeypatch.setattr(runner, "PROGRESS_DELAY_S", 0.0)
    run_trial(tumour_scenario(patients_per_arm=3), progress=True)
    err = capsys.readouterr().err
    assert "trial" in err and "patient" in err
    run_trial(tumour_scenario(patients_per_arm=3), progress=False)
    assert capsys.readouterr().err == ""


def test_cli_trial_progress_and_comparisons_in_summary(tmp_path, monkeypatch):
    import nksim.trials._trial as runner

    monkeypatch.setattr(runner, "PROGRESS_DELAY_S", 0.0)
    (tmp_path / "t.toml").write_text(textwrap.dedent(TUMOUR).replace(
        "patients_per_arm = 8", "patients_per_arm = 4"))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["trial", str(tmp_path / "t.toml"), "--out", str(out),
                                   "--progress"])
    assert res.exit_code == 0, res.output
    assert "patient" in (res.stderr if hasattr(res, "stderr") else res.output)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["comparisons"] and all(
        c["value"] is None or math.isfinite(c["value"]) for c in summary["comparisons"])
    for arm in summary["arms"].values():
        assert all("n" in ep for ep in arm["endpoints"].values())
    # what each number is, for a setting of one's own too
    defs = summary["endpoints"]
    assert defs["progression_day_median"] == {
        "label": "tumour doubled from day 0, median day", "kind": "time_to_event",
        "column": "progression_day", "unit": "day"}
    assert defs["shrinkage_28d_rate"]["unit"] == "proportion"
    assert set(defs) >= set(next(iter(summary["arms"].values()))["endpoints"])


def test_time_to_event_in_months_is_censored_at_the_follow_up_in_months():
    # follow-up is in days: 730 days are 24 months, not 730 months (an event at 25 months
    # counted as observed, and censored patients were censored at 730 months)
    import pandas as pd

    from nksim.trials._setting import Endpoint
    from nksim.trials._trial import summarise_endpoint

    ep = Endpoint("os_median_months", "os_months", "time_to_event", (), "OS",
                  days_per_unit=30.4375)
    assert ep.censoring_time(730.0) == pytest.approx(730.0 / 30.4375)
    patients = pd.DataFrame({"status": ["ok"] * 3, "os_months": [25.0, 10.0, np.nan]})
    assert summarise_endpoint(ep, patients, 730.0)["k"] == 1  # 25 months: after follow-up


def test_an_endpoint_reading_a_column_the_setting_never_returns_is_named():
    """A setting author's typo gave a pandas KeyError traceback after the whole run."""
    class Typo(TumourSetting):
        name = "tumour_typo_test"
        endpoints = (Endpoint("resp_rate", "resp_28", "binary", (), "typo"),)

    register_setting(Typo)
    with pytest.raises(UserError, match=r"endpoint 'resp_rate' reads the column 'resp_28', "
                                        r"which neither the setting's patient_endpoints "
                                        r"nor its patient table has"):
        run_trial(tumour_scenario(setting="tumour_typo_test", patients_per_arm=2))


def test_a_covariate_frame_with_a_formula_in_its_attrs_is_allocated():
    """sample_covariates puts the BSA formula's name in attrs: allocation indexed it as if
    it were per-row data (a TypeError) and endpoint slices cut the string."""
    from nksim.trials._trial import rows_of_attrs

    frame = pd.DataFrame({"x": [1, 2, 3]})
    frame.attrs = {"bsa_formula": "mosteller", "parameters": np.arange(6.0).reshape(3, 2)}
    got = rows_of_attrs(frame, [2, 0])
    assert got["bsa_formula"] == "mosteller"
    np.testing.assert_array_equal(got["parameters"], [[4.0, 5.0], [0.0, 1.0]])
    assert rows_of_attrs(frame, slice(1, 2))["bsa_formula"] == "mosteller"


def test_a_setting_of_ones_own_runs_from_the_command_line(tmp_path):
    """--setting-file imports the user's setting (docs/trials.md's example, with a helper
    module beside it) before the scenario is read: the CLI knew only the bundled settings.
    Errors in the file, an exit included, are one line; the file is an input that --out
    must not hold."""
    from click.testing import CliRunner

    from nksim.cli import cli

    code = tmp_path / "code"
    code.mkdir()
    (code / "helper.py").write_text("NAME = 'tumour'\n")
    (code / "tumour_setting.py").write_text("import helper  # a module beside it\n"
                                            + doc_blocks()[0])
    scenario = tmp_path / "s.toml"
    scenario.write_text(textwrap.dedent('''
        [trial]
        name = "CAR-NK against a logistic tumour"
        setting = "tumour"
        design = "paired"
        patients_per_arm = 3
        follow_up_days = 60
        run_in_days = 7
        [[arms]]
        name = "car_nk"
        product = "car_nk"
        dose_per_kg = "1e8 cell/kg"
        [[arms]]
        name = "none"
        product = "none"
        '''))

    def run(*args):
        return CliRunner().invoke(cli, ["trial", str(scenario), *args])

    res = run("--out", str(tmp_path / "o"), "--no-progress",
              "--setting-file", str(code / "tumour_setting.py"))
    assert res.exit_code == 0, res.output
    assert "shrinkage_28d_rate" in res.output and (tmp_path / "o" / "report.html").exists()
    bad = code / "bad.py"
    for text, words in (("import numpy\n\nraise RuntimeError('oops')\n",
                         "bad.py, line 3: RuntimeError: oops"),
                        ("import sys\nsys.exit(0)\n", "bad.py, line 2: SystemExit: 0")):
        bad.write_text(text)
        res = run("--out", str(tmp_path / "p"), "--setting-file", str(bad))
        assert res.exit_code == 2 and f"--setting-file: {words}" in res.stderr, res.stderr
    # a setting file inside the output folder (one nksim wrote before) is not deleted
    inside = tmp_path / "o" / "tumour_setting.py"
    inside.write_text((code / "tumour_setting.py").read_text())
    (tmp_path / "o" / "helper.py").write_text("NAME = 'tumour'\n")
    res = run("--out", str(tmp_path / "o"), "--setting-file", str(inside))
    assert res.exit_code == 2 and inside.exists(), res.output


def test_a_model_without_the_products_state_is_named_with_the_fix():
    """A model of one's own (e.g. from SBML) without the CAR-NK component failed inside the
    engine as 'doses: unknown state ...', naming neither the arm nor the cure."""
    from nksim.model import compose

    bare = compose("tumour_only", "tumour only", "test", [DOC["tumour"]])

    class Bare(TumourSetting):
        name = "tumour_bare_test"

        def model(self, scenario):
            return bare

        def baseline(self, model, patients, parameters, scenario):
            initial = np.tile(model.initial_vector(), (len(patients), 1))
            return Baseline(patients, parameters, initial)

    register_setting(Bare)
    with pytest.raises(UserError, match=r"arms\[0\]: a dose goes into the state '\w+', which "
                                        r"the setting's model 'tumour_only' does not have"):
        run_trial(tumour_scenario(setting="tumour_bare_test", patients_per_arm=2))


def test_an_endpoint_may_read_a_column_of_the_patient_table():
    """A covariate made in candidates() is a valid endpoint column (the new missing-column
    check first looked only at what patient_endpoints returned)."""
    class Heavy(TumourSetting):
        name = "tumour_heavy_test"
        endpoints = (*TumourSetting.endpoints,
                     Endpoint("heavy_rate", "heavy", "binary", (), "weight above 75 kg"))

        def candidates(self, scenario):
            frame = super().candidates(scenario)
            return frame.assign(heavy=frame["weight_kg"] > 75)

    register_setting(Heavy)
    result = run_trial(tumour_scenario(setting="tumour_heavy_test", patients_per_arm=3))
    for arm in result.arms:
        est = arm.summary["endpoints"]["heavy_rate"]
        assert est["k"] == int(arm.patients["heavy"].sum()) and est["n"] == 3
