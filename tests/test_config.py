"""The scenario schema (``nksim.config``): one quantity type parsed without arithmetic,
strict types, one error format naming the field, did-you-mean for misspelled keys, the
published JSON Schema and the generated reference page."""

from __future__ import annotations

import contextlib
import json
import signal
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from nksim.cli import cli, model_catalog
from nksim.config import Scenario, json_schema, reference_markdown, validate
from nksim.errors import UserError
from nksim.units import parse_quantity, parse_unit, to_magnitude

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCENARIOS = resources.files("nksim.data") / "scenarios"

SIM = {
    "model": {"name": "depillis2006", "parameter_set": "patient9"},
    "doses": [{"state": "M", "amount": 5, "times": [7]}],
    "simulation": {"t_end": 30, "record_every": 1},
}


def sim(**sections) -> dict:
    raw = json.loads(json.dumps(SIM))
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(raw.get(name), dict):
            raw[name].update(values)
        else:
            raw[name] = values
    return raw


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a unit string must never be evaluated as arithmetic)."""
    def stop(*_):
        raise TimeoutError(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def error_of(raw: dict, schema=Scenario) -> str:
    with pytest.raises(UserError) as info:
        validate(schema, raw)
    message = str(info.value)
    assert "\n" not in message and "function-" not in message and "constrained-" not in message
    assert "Value error" not in message and "Input should" not in message
    return message


# ---------------------------------------------------------------- quantities
@pytest.mark.parametrize("text, unit, expected", [
    ("12 hour", "day", 0.5),
    ("1e7 cell/kg", "cell/kg", 1e7),
    ("6.5e-11 1/(cell*day)", "1/(cell*day)", 6.5e-11),
    ("2 cell**2/day**2", "cell**2/day**2", 2.0),
    ("1000 mg/m^2", "mg/m**2", 1000.0),
    ("  5   drug_unit ", "drug_unit", 5.0),
    ("2 week", "day", 14.0),
])
def test_quantities_convert(text, unit, expected):
    assert to_magnitude(text, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", [
    "9**9**9 day", "1e200*1e200 day", "3 day**9**9**9", "2 3 day", "1e400 day",
    "(1+1) day", "1 day+1", "__import__('os') day", "1 (day", "day", "1 day" + " " * 200,
    "2 * day", "1e5**1e5 day",
])
def test_arithmetic_and_junk_are_one_line_errors_at_once(text):
    with deadline(5), pytest.raises(UserError) as info:
        to_magnitude(text, "day", field="simulation.t_end")
    message = str(info.value)
    assert message.startswith("simulation.t_end: ") and "\n" not in message
    assert len(message) < 250


def test_unit_grammar_refuses_huge_exponents_without_evaluating():
    with deadline(5):
        with pytest.raises(UserError):
            parse_unit("day**9**9**9")
        with pytest.raises(UserError):
            parse_unit("day**999")
        assert str(parse_unit("day**-2")) == "1 / day ** 2"


def test_quantity_keeps_its_unit_until_the_model_is_known():
    scenario = validate(Scenario, sim(doses=[{"state": "L", "amount": "1e9 cell",
                                              "times": ["12 hour"]}]))
    amount = scenario.doses[0].amount
    assert str(amount.units) == "cell" and amount.magnitude == 1e9
    assert to_magnitude(scenario.doses[0].times[0], "day") == 0.5
    assert parse_quantity("1e7 cell/kg").units == parse_unit("cell/kg")


# ---------------------------------------------------------------- strict types, one format
@pytest.mark.parametrize("raw, expected", [
    (sim(parameters={"r2": True}), "parameters.r2: must be a number or a 'VALUE UNIT' string "
                                   "(got True)"),
    (sim(population={"size": "10"}), "population.size: must be an integer (got '10')"),
    (sim(population={"size": 10.0}), "population.size: must be an integer (got 10.0)"),
    (sim(simulation={"rtol": True}), "simulation.rtol: must be a number (got True)"),
    (sim(simulation={"t_end": float("inf")}), "simulation.t_end: must be a finite number "
                                              "(got inf)"),
    (sim(simulation={"t_end": "9**9**9 day"}), "simulation.t_end: cannot read quantity"),
    (sim(simulation={"t_end": "30"}), "simulation.t_end: a number must not be quoted"),
    (sim(population={"size": 3, "seed": -1}), "population.seed: must be >= 0 (got -1)"),
    (sim(population={"size": 3, "lognormal_sigma": float("nan")}),
     "population.lognormal_sigma: must be a finite number (got nan)"),
    (sim(population={"size": 3, "lognormal_sigma": {"a": float("inf")}}),
     "population.lognormal_sigma.a: must be a finite number (got inf)"),
    (sim(population={"size": 1_000_000_000}), "population.size: must be <= 1000000 "
                                              "(got 1000000000)"),
    (sim(doses=[{"state": "M", "amount": 5, "start": 0, "every": 1, "count": 10**9}]),
     "doses[0].count: must be <= 10000"),
    (sim(simulation={"atol": {"T": 0}}), "simulation.atol.T: must be > 0"),
    (sim(extinction={"T": -1}), "extinction.T: must be a threshold > 0 or \"off\" (got -1)"),
    (sim(model="depillis2006"), "model: must be a table (got 'depillis2006')"),
])
def test_strict_types_and_one_line_errors(raw, expected):
    assert error_of(raw).startswith(expected)


@pytest.mark.parametrize("raw, expected", [
    (sim(simulation={"rtool": 1e-6}), "simulation.rtool: unknown field; did you mean 'rtol'?"),
    (sim(simulaton={"t_end": 1}), "simulaton: unknown field; did you mean 'simulation'?"),
    (sim(doses=[{"state": "M", "amount": 5, "time": [7]}]),
     "doses[0].time: unknown field; did you mean 'times'?"),
    (sim(population={"size": 3, "lognormal_sigmas": 0.2}),
     "population.lognormal_sigmas: unknown field; did you mean 'lognormal_sigma'?"),
    (sim(simulation={"zzz": 1}), "simulation.zzz: unknown field (fields: atol, max_steps"),
])
def test_misspelled_keys_name_the_closest_valid_key(raw, expected):
    assert error_of(raw).startswith(expected)


def kind_of(raw: dict) -> str | None:
    """``"trial"``, ``"simulate"`` or ``None`` (another command's file, e.g. an assay)."""
    return "trial" if "trial" in raw else "simulate" if "simulation" in raw else None


def test_bundled_scenarios_are_valid():
    from nksim.config import TrialScenario

    kinds = []
    for path in sorted(SCENARIOS.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".toml"):
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            kind = kind_of(raw)
            if kind:
                validate(TrialScenario if kind == "trial" else Scenario, raw)
                kinds.append(kind)
    assert kinds.count("simulate") >= 4 and kinds.count("trial") >= 2


# ---------------------------------------------------------------- trial fields
@pytest.fixture(scope="module")
def trial_toml(small_trial_toml) -> str:
    """One CAR-NK arm of the shared small trial, 2 patients, 10 candidates."""
    return small_trial_toml(name="t", seed=1, patients_per_arm=2, follow_up_days=200,
                            n_candidates=10, population=None, variability=False,
                            arms=("car_nk",))


@pytest.mark.parametrize("change, expected", [
    (("seed = 1", "seed = 1\nrtol = 1e-20"), "trial.rtol: must be >= 1e-13"),
    (("run_in_days = 30", "run_in_days = 1e9"), "trial.run_in_days: must be <= 3650 day"),
    (("run_in_days = 30", "run_in_days = nan"), "trial.run_in_days: must be a finite number"),
    (("follow_up_days = 200", "follow_up_days = inf"), "trial.follow_up_days: must be a "
                                                        "finite number"),
    (("follow_up_days = 200", 'follow_up_days = "1 year"'), None),
    (("run_in_days = 30", 'run_in_days = "1e200*1e200 day"'), "trial.run_in_days: cannot read"),
    (("cyclophosphamide_mg_m2 = 300", "cyclophosphamide_mg_m2 = 300\nfirst_day = -400"),
     "arms[0].lymphodepletion.first_day: must not be before the run-in starts (day -30)"),
    (("cyclophosphamide_mg_m2 = 300", "cyclophosphamide_mg_m2 = 300\nfirst_day = 300"),
     "arms[0].lymphodepletion.first_day: the last lymphodepletion day (302) is after the end "
     "of follow-up (day 200)"),
    (("interval_days = 3", "interval_days = 150"),
     "arms[0].infusions: the last infusion (day 300) is after the end of follow-up"),
    (('after = "keep_then_taper"', 'after = "keep_then_taper"\ntaper_weeks = 40'),
     "arms[0].steroids.taper_weeks: the taper ends on day 308"),
    (("n_candidates = 10", "n_candidates = 1000000000"), "cohort.n_candidates: must be <= "),
    (("n_candidates = 10", "n_candidate = 10"),
     "cohort.n_candidate: unknown field; did you mean 'n_candidates'?"),
    (("n_candidates = 10", 'n_candidates = "10"'), "cohort.n_candidates: must be an integer"),
    (("n_candidates = 10", "n_candidates = 10\nage_max_years = true"),
     "cohort.age_max_years: must be a number or a 'VALUE UNIT' string (got True)"),
    (("[cohort]", "[eligibility]\nmin_sledia = 8\n[cohort]"),
     "eligibility.min_sledia: unknown field; did you mean 'min_sledai'?"),
    (("[cohort]", "[eligibility]\nmin_age_years = \"9**9**9 year\"\n[cohort]"),
     "eligibility.min_age_years: cannot read quantity"),
    (("patients_per_arm = 2", "patients_per_arm = 1000000000"),
     "trial.patients_per_arm: must be <= 1000000"),
    (("seed = 1", "seed = -1"), "trial.seed: must be >= 0"),
    (('name = "car_nk"', 'name = "car_nk"\ndoze_per_kg = 1'),
     "arms[0].doze_per_kg: unknown field; did you mean 'dose_per_kg'?"),
    (("interval_days = 3", "interval_days = 3\n[arms.manufacturing]\nprocesss = 'x'"),
     "arms[0].manufacturing.processs: unknown field; did you mean 'process'?"),
    (("seed = 1", 'seed = 1\nmodel = "sle_cd91"'), "trial.model: unknown model; did you mean "
                                                   "'sle_cd19'?"),
    (("fludarabine_mg_m2 = 25", "fludarabine_mg_m2 = [25, true, 25]"),
     "arms[0].lymphodepletion.fludarabine_mg_m2[1]: must be a number"),
    (('dose_per_kg = "3e7 cell/kg"', 'dose = "1e8 cell/m^2"'),
     "arms[0].dose: a cell dose per m\u00b2 is not supported"),
    (('dose_per_kg = "3e7 cell/kg"', 'dose = "1e6 kg"'), "arms[0].dose: '1e+06 kilogram' does "
                                                         "not convert to 'cell'"),
    (("interval_days = 3", "interval_days = 3\n[arms.cost]\nbatch_cots_rmb = 1"),
     "arms[0].cost.batch_cots_rmb: unknown field; did you mean 'batch_cost_rmb'?"),
    (("interval_days = 3", "interval_days = 3\n[arms.cost]\nbatch_cost_rmb = '3 USD'"),
     "arms[0].cost.batch_cost_rmb: unknown unit 'USD'"),
    (("interval_days = 3", "interval_days = 3\n[arms.manufacturing]\nshipping_sigma = nan"),
     "arms[0].manufacturing.shipping_sigma: must be a finite number (got nan)"),
])
def test_trial_fields_are_named_correctly(change, expected, trial_toml):
    from nksim.config import TrialScenario

    raw = tomllib.loads(trial_toml.replace(*change))
    if expected is None:
        assert validate(TrialScenario, raw).trial.follow_up_days == pytest.approx(365.25)
        return
    assert error_of(raw, TrialScenario).startswith(expected)


# ---------------------------------------------------------------- published schema
@pytest.mark.parametrize("kind", ["simulate", "trial"])
def test_nksim_schema_prints_json_schema(kind):
    result = CliRunner().invoke(cli, ["schema", kind])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema == json.loads(json.dumps(json_schema(kind)))
    top = {"simulate": {"model", "simulation", "doses", "population"},
           "trial": {"trial", "cohort", "eligibility", "arms"}}[kind]
    assert top <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    for name, node in schema["$defs"].items():  # every section refuses unknown keys
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, name


def test_schema_matches_the_bundled_scenarios_keys():
    """Every key used by a bundled scenario is declared in the published schema."""
    for kind, schema in (("simulate", json_schema("simulate")), ("trial", json_schema("trial"))):
        defs = schema["$defs"]

        def props(node, defs=defs):
            node = defs[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node
            return node.get("properties", {})

        for path in SCENARIOS.iterdir():
            if not path.name.endswith(".toml"):
                continue
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            if kind_of(raw) != kind:
                continue
            for section, value in raw.items():
                assert section in schema["properties"], (path.name, section)
                node = schema["properties"][section]
                options = node.get("anyOf", [node])
                if isinstance(value, dict):
                    known = set().union(*(props(o) for o in options))
                    if known:
                        assert set(value) <= known, (path.name, section)


def test_reference_page_is_generated_from_the_code():
    page = DOCS / "schema.md"
    assert page.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/schema.md is stale: run `python -m nksim.config > docs/schema.md`")
    text = reference_markdown()
    for field in ("`t_end`", "`lognormal_sigma`", "`follow_up_days`", "`dose_per_kg`",
                  "### [[doses]]", "### [arms.lymphodepletion]", "### [eligibility]"):
        assert field in text


def test_published_schema_does_not_depend_on_settings_registered_at_run_time():
    from nksim.trials import get_setting, register_setting
    from nksim.trials._setting import _REGISTRY

    before = reference_markdown()

    class Extra(type(get_setting("pancreatic"))):  # same tables, another name
        name = "extra_for_schema_test"

    register_setting(Extra)
    try:
        assert reference_markdown() == before
        assert "extra_for_schema_test" not in json.dumps(json_schema("trial"))
    finally:
        _REGISTRY.pop("extra_for_schema_test")


# ---------------------------------------------------------------- nksim models
def test_model_listing_matches_the_built_models():
    from nksim.library import get_model, model_names

    catalog = model_catalog()
    assert [name for name, _, _ in catalog] == model_names()
    for name, title, sets in catalog:
        model = get_model(name)
        assert title == model.title and sets == tuple(model.parameter_sets), name


def test_nksim_models_does_not_build_models():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from nksim.cli import cli; "
            "r = CliRunner().invoke(cli, ['models']); assert r.exit_code == 0, r.output; "
            "assert 'sle_cd19' in r.output; "
            "print(sorted(m for m in ('sympy', 'numba', 'nksim.library', 'nksim.model') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_lazy_commands_are_registered_under_their_own_names():
    import click

    from nksim.cli import _LAZY, _lazy_docstring

    ctx = cli.make_context("nksim", ["--help"], resilient_parsing=True)
    for name in _LAZY:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        doc = _lazy_docstring(name)  # --help reads it from the source, without importing
        if doc is not None:
            short = click.Command(name, help=doc).get_short_help_str(60)
            assert short == command.get_short_help_str(60), name


def test_the_examples_of_the_scenario_page_work_as_written(tmp_path):
    import re

    from nksim.scenario import plan_simulation

    page = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        plan = plan_simulation(validate(Scenario, tomllib.loads(block)), tmp_path)
        assert plan.times[-1] > plan.times[0] and plan.doses


def test_arm_tables_are_converted_to_the_units_their_keys_name(trial_toml):
    from nksim.config import TrialScenario
    from nksim.therapy._manufacturing import CostSpec, ManufacturingSpec

    text = trial_toml + ("[arms.cost]\nbatch_cost_rmb = \"300000 CNY\"\n"
                         "[arms.manufacturing]\nallogeneic_lead_median_days = \"2 week\"\n")
    arm = validate(TrialScenario, tomllib.loads(text)).arms[0]
    assert arm.cost == {"batch_cost_rmb": 300000.0}
    assert ManufacturingSpec.from_dict(arm.manufacturing, product="car_nk") \
        .allogeneic_lead_median_days == 14.0
    assert CostSpec.from_dict(arm.cost, product="car_nk").batch_cost_rmb == 300000.0


def test_an_arm_dose_may_be_flat_or_per_kg(trial_toml):
    from nksim.config import TrialScenario

    per_kg = trial_toml.replace('dose_per_kg = "3e7 cell/kg"', 'dose = "3e7 cell/kg"')
    arm = validate(TrialScenario, tomllib.loads(per_kg)).arms[0]
    assert arm.dose is None and arm.dose_per_kg == 3e7
    flat = trial_toml.replace('dose_per_kg = "3e7 cell/kg"', 'dose = "7.5e8 cell"')
    arm = validate(TrialScenario, tomllib.loads(flat)).arms[0]
    assert arm.dose == 7.5e8 and arm.dose_per_kg is None
