"""Inputs that cannot hurt, outputs that cannot mix (issue 8 §6), through the command line:
every bad input is one line ``nksim: error: FIELD: problem (got VALUE)``, exit status 2,
nothing written; the output folder is replaced as a whole."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from nksim.cli import cli

BASE = """
[model]
name = "depillis2006"
parameter_set = "patient9"
[[doses]]
state = "M"
amount = 5
times = [2]
[simulation]
t_end = 4
record_every = 1
"""


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args)


def simulate(tmp_path: Path, text: str, *extra: str, out: Path | None = None,
             name: str = "s.toml"):
    scenario = tmp_path / name
    scenario.parent.mkdir(parents=True, exist_ok=True)
    scenario.write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "out" if out is None else out
    return invoke(["simulate", str(scenario), "--out", str(out), *extra]), out


def assert_one_line_error(result, expected: str, out: Path | None = None) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error: "), result.output
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output and "function-after" not in result.output
    assert len(lines[0]) <= 420
    if out is not None:
        assert not out.exists()
        assert not list(out.parent.glob(f".{out.name}.*"))  # no staging folder left
    return lines[0]


SIMULATE_BAD = {
    "t_end inf": (BASE.replace("t_end = 4", "t_end = inf"),
                  "simulation.t_end: must be a finite number (got inf)"),
    "t_end nan": (BASE.replace("t_end = 4", "t_end = nan"), "simulation.t_end: must be a finite"),
    "t_end huge in a unit": (BASE.replace("t_end = 4", 't_end = "1e308 year"'),
                             "simulation.t_end: not a finite number in day"),
    "t_end arithmetic": (BASE.replace("t_end = 4", 't_end = "1e200*1e200 day"'),
                         "simulation.t_end: cannot read quantity '1e200*1e200 day'"),
    "t_end power tower": (BASE.replace("t_end = 4", 't_end = "9**9**9 day"'),
                          "simulation.t_end: cannot read quantity '9**9**9 day'"),
    "record_every tiny": (BASE.replace("record_every = 1", "record_every = 1e-12"),
                          "simulation.record_every: more than 1,000,000 output times"),
    "output times not distinct": (BASE.replace("t_end = 4", "t_start = 1e16\nt_end = 1e16")
                                  .replace("t_end = 1e16", "t_end = 10000000000000004"),
                                  "simulation.record_every: output times 1 apart are not "
                                  "distinct at t = 1e+16"),
    "negative seed": (BASE + "[population]\nsize = 2\nseed = -1\n",
                      "population.seed: must be >= 0 (got -1)"),
    "nan sigma": (BASE + "[population]\nsize = 2\nlognormal_sigma = nan\n",
                  "population.lognormal_sigma: must be a finite number (got nan)"),
    "inf sigma by name": (BASE + "[population]\nsize = 2\nlognormal_sigma = { a = inf }\n",
                          "population.lognormal_sigma.a: must be a finite number (got inf)"),
    "a billion patients": (BASE + "[population]\nsize = 1000000000\n",
                           "population.size: must be <= 1000000 (got 1000000000)"),
    "a billion doses": (BASE.replace("times = [2]", "start = 0\nevery = 1\ncount = 1000000000"),
                        "doses[0].count: must be <= 10000 (got 1000000000)"),
    "boolean parameter": (BASE + "[parameters]\nr2 = true\n",
                          "parameters.r2: must be a number or a 'VALUE UNIT' string (got True)"),
    "size as a string": (BASE + "[population]\nsize = \"10\"\n",
                         "population.size: must be an integer (got '10')"),
    "misspelled key": (BASE.replace("record_every = 1", "record_every = 1\nrtool = 1e-6"),
                       "simulation.rtool: unknown field; did you mean 'rtol'?"),
    "dose before the start": (BASE.replace("t_end = 4", "t_start = 1\nt_end = 4").replace(
        "times = [2]", "times = [0.5]"),
        "doses[0].times[0]: dose at 0.5 is before simulation.t_start (1)"),
    "dose after the end": (BASE.replace("times = [2]", "times = [2, 9]"),
                           "doses[0].times[1]: dose at 9 is after simulation.t_end (4)"),
    "repeats after the end": (BASE.replace("times = [2]", "start = 1\nevery = 1\ncount = 10"),
                              "doses[0].count: dose at 10 is after simulation.t_end (4)"),
    "start after the end": (BASE.replace("times = [2]", "start = 5"),
                            "doses[0].start: dose at 5 is after simulation.t_end (4)"),
    "infusion past the end": (BASE.replace("times = [2]", "times = [2]\nduration = 3"),
                              "doses[0].duration: the infusion from 2 for 3 ends after "
                              "simulation.t_end (4): only part of it would be given"),
    "duration error named": (BASE.replace("times = [2]", "times = [2]\nduration = -1"),
                             "doses[0].duration: must be >= 0"),
    "per-kg dose without weights": (BASE.replace("amount = 5", 'amount = "1e7 cell/kg"').replace(
        'state = "M"', 'state = "L"'), "doses[0].amount: "),
    "a huge model name": (BASE.replace('name = "depillis2006"', 'name = "' + "x" * 100_000 + '"'),
                          "model.name: unknown model"),
    "a multi-line value": (BASE.replace('name = "depillis2006"', 'name = """a\nb\nc"""'),
                           "model.name: unknown model"),
    "deep nesting": ("a = " + "[" * 2000 + "]" * 2000 + "\n" + BASE,
                     "scenario: malformed TOML in"),
    "deep tables": ("a = " + "{b = " * 2000 + "1" + "}" * 2000 + "\n" + BASE,
                    "scenario: malformed TOML in"),
}


@pytest.mark.parametrize("name", sorted(SIMULATE_BAD))
def test_simulate_bad_input(tmp_path, name):
    text, expected = SIMULATE_BAD[name]
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, expected, out)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "s.toml").write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(BASE).encode())
    result = invoke(["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- files named in a scenario
def write_patients(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_parameters_file_is_relative_to_the_scenario_folder(tmp_path):
    write_patients(tmp_path / "study" / "patients.csv", "patient,a\np1,0.4\np2,0.5\n")
    text = BASE + '[population]\nparameters_file = "patients.csv"\n'
    result, out = simulate(tmp_path, text, name="study/s.toml")
    assert result.exit_code == 0, result.output
    patients = json.loads((out / "summary.json").read_text())["patients"]
    assert [p["patient"] for p in patients] == ["p1", "p2"]


@pytest.mark.parametrize("where", ["../patients.csv", "ABSOLUTE"])
def test_parameters_file_outside_the_folder_is_refused(tmp_path, where):
    write_patients(tmp_path / "patients.csv", "a\n0.4\n")
    where = str(tmp_path / "patients.csv") if where == "ABSOLUTE" else where
    text = BASE + f'[population]\nparameters_file = "{where}"\n'
    result, out = simulate(tmp_path, text, name="study/s.toml")
    assert_one_line_error(result, "population.parameters_file: must be inside the scenario's "
                          "folder", out)


def test_parameters_file_given_on_the_command_line_may_lie_anywhere(tmp_path):
    write_patients(tmp_path / "elsewhere" / "p.csv", "a\n0.4\n0.5\n0.6\n")
    result, out = simulate(tmp_path, BASE, "--parameters-file",
                           str(tmp_path / "elsewhere" / "p.csv"), name="study/s.toml")
    assert result.exit_code == 0, result.output
    assert len(json.loads((out / "summary.json").read_text())["patients"]) == 3


def test_duplicate_patient_ids_are_refused(tmp_path):
    write_patients(tmp_path / "p.csv", "patient,a\nx,0.4\ny,0.5\nx,0.6\n")
    text = BASE + '[population]\nparameters_file = "p.csv"\n'
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, "population.parameters_file: duplicate patient id: row 3 "
                          "repeats the id of row 1", out)


@pytest.mark.parametrize(("table", "expected"), [
    ("patient,weight_kg\n1,50\n1,60\n",
     "population.covariates_file.patient: patient id 1 appears twice"),
    ("patient,weight_kg\n1,50\n2,\n",
     "population.covariates_file.weight_kg: row 2: must be a number in [0.2, 700] (got nan)"),
])
def test_covariate_file_errors_show_plain_values(tmp_path, table, expected):
    # they showed np.int64(1) and np.float64(nan)
    (tmp_path / "c.csv").write_text(table)
    text = BASE + '[population]\ncovariates_file = "c.csv"\n'
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, expected, out)


@pytest.mark.parametrize(("ids", "expected"), [
    (["a", None], "(found float, str)"),  # pandas reads the gap as NaN
    ([b"a", b"b"], "(found bytes)"),
    ([1.0, float("nan")], "(a missing or fractional value)"),
    ([1.5, 2.0], "(a missing or fractional value)"),
    ([True, False], "(found bool)"),
    ([2**63, 1], "(a number is 2^63 or more)"),
    (["", "a"], "(an empty id)"),
    ([1e300, 1.0], "(a number is 2^63 or more)"),
])
def test_patient_ids_of_other_kinds_are_one_line_errors(tmp_path, ids, expected):
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.array(ids, type=pa.uint64()) if ids[0] == 2**63 else ids
    pq.write_table(pa.table({"patient": column, "a": [0.4, 0.5]}), tmp_path / "p.parquet")
    text = BASE + '[population]\nparameters_file = "p.parquet"\n'
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, "population.parameters_file: the patient column must hold "
                          "whole numbers below 2^63 or text, without gaps " + expected, out)


def test_a_folder_or_device_given_as_a_file_says_so(tmp_path):
    (tmp_path / "adir").mkdir()
    result = invoke(["simulate", str(tmp_path / "adir"), "--out", str(tmp_path / "o")])
    assert_one_line_error(result, "scenario: is a folder, not a file")
    if Path("/dev/null").exists():
        result, out = simulate(tmp_path, BASE, "--parameters-file", "/dev/null")
        assert_one_line_error(result, "population.parameters_file: not a regular file", out)


@pytest.mark.parametrize(("args", "expected"), [
    (["--seed", str(2**63 - 1), "--replicates", "2"], "--seed: must be >= 0"),
    (["--out", ""], "--out: must name a folder"),
])
def test_power_options(args, expected):
    scenario = Path(__file__).parents[1] / "scenarios" / "sle_adult_cart.toml"
    assert_one_line_error(invoke(["power", str(scenario), *args]), expected)


def test_bounds_of_a_parameter_are_shown(tmp_path):
    write_patients(tmp_path / "p.csv", "patient,a\n1,-0.4\n")
    text = BASE + '[population]\nparameters_file = "p.csv"\n'
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, "column 'a' has values outside [0, inf]", out)


def test_a_file_content_is_never_echoed(tmp_path):
    secret = "root:x:0:0:SECRET-TOKEN-123:/root:/bin/bash"
    write_patients(tmp_path / "p.csv", f"{secret}\n1\n")
    text = BASE + '[population]\nparameters_file = "p.csv"\n'
    result, out = simulate(tmp_path, text)
    line = assert_one_line_error(result, "population.parameters_file", out)
    assert "SECRET" not in line and "root:x" not in line


# ---------------------------------------------------------------- the output folder
def test_out_is_checked_before_any_computation(tmp_path):
    (tmp_path / "file").write_text("x")
    for out, expected in [("", "--out: must name a folder"),
                          (str(tmp_path / "file"), "--out: is an existing file"),
                          (str(tmp_path / "file" / "sub"), "is not a folder")]:
        # a scenario that would take long (a million patients) must not start
        text = BASE + "[population]\nsize = 1000000\n"
        (tmp_path / "s.toml").write_text(textwrap.dedent(text))
        result = invoke(["simulate", str(tmp_path / "s.toml"), "--out", out])
        assert_one_line_error(result, expected)
    assert (tmp_path / "file").read_text() == "x"


def test_out_in_a_read_only_place(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root: use a read-only mount instead, if there is one
            ro = next((Path(p) for p in ("/proc/sys",) if Path(p).is_dir()
                       and not os.access(p, os.W_OK)), None)
            if ro is None:
                pytest.skip("no read-only place for this user")
        result, _ = simulate(tmp_path, BASE, out=ro / "nksim-out")
        assert_one_line_error(result, "--out: cannot write there (read-only place)")
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_out_where_no_folder_can_be_made_even_by_root(tmp_path):
    """os.access says yes to root in /proc; the check makes (and removes) a folder there."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    result, _ = simulate(tmp_path, BASE, out=Path("/proc/nksim-out"))
    assert_one_line_error(result, "--out: cannot write there (read-only place")


@pytest.mark.parametrize(("name", "expected"), [
    ("x" * 250, "--out: the folder name is longer than 200 bytes"),  # its siblings: longer
    ("d" * 300 + "/out", "--out: cannot use this path (File name too long)"),
    ("link", "--out: is a link (to nothing)"),
    ("dirlink", "--out: is a link (to "),  # its target would never get the results
])
def test_out_names_that_cannot_be_made(tmp_path, name, expected):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere" / "zzz")
    (tmp_path / "real").mkdir()
    (tmp_path / "dirlink").symlink_to(tmp_path / "real")
    result, _ = simulate(tmp_path, BASE, out=tmp_path / name)
    assert_one_line_error(result, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dirlink", "link", "real", "s.toml"]
    assert not any((tmp_path / "real").iterdir())


def test_out_may_not_be_the_current_folder(tmp_path, monkeypatch):
    """The output folder is replaced as a whole: never the folder the user is in (click
    turns --out "" into ".") or one above it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "s.toml").write_text(textwrap.dedent(BASE))
    (tmp_path / ".nksim-output").write_text("")  # a parent nksim wrote: not 'foreign'
    for out in (".", "..", "../work"):  # ".." and links collapsed before comparing
        result = invoke(["simulate", str(tmp_path / "s.toml"), "--out", out])
        assert_one_line_error(result, "--out: is the current folder or contains it")
    assert work.is_dir() and not any(work.iterdir())


def test_utf8_byte_order_mark_in_a_parameters_file(tmp_path):
    (tmp_path / "p.csv").write_bytes(b"\xef\xbb\xbfpatient,a\nA,0.4\n")
    result, out = simulate(tmp_path, BASE + '[population]\nparameters_file = "p.csv"\n')
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["patients"][0]["patient"] == "A"


def test_a_folder_nksim_did_not_write_is_never_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    result, _ = simulate(tmp_path, BASE, out=mine)
    assert_one_line_error(result, "--out: is a folder that nksim did not write")
    assert (mine / "thesis.tex").read_text() == "precious"


def test_output_folder_is_replaced_as_a_whole(tmp_path):
    out = tmp_path / "out"
    first, _ = simulate(tmp_path, BASE, out=out)
    assert first.exit_code == 0, first.output
    assert (out / "timecourse.csv").exists()
    (out / "stray-from-an-old-run.txt").write_text("old")
    second, _ = simulate(tmp_path, BASE, "--format", "parquet", out=out)
    assert second.exit_code == 0, second.output
    names = {p.name for p in out.iterdir()}
    assert "timecourse.parquet" in names and "summary.json" in names
    assert "timecourse.csv" not in names and "stray-from-an-old-run.txt" not in names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_failed_rerun_leaves_the_previous_output_untouched(tmp_path):
    out = tmp_path / "out"
    first, _ = simulate(tmp_path, BASE, out=out)
    assert first.exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad, _ = simulate(tmp_path, BASE.replace("t_end = 4", "t_end = -1"), out=out)
    assert bad.exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_staging_left_by_a_killed_run_is_cleaned_up(tmp_path):
    dead_pid = 2**22 + 12345  # above the usual pid_max: no such process
    stale = tmp_path / f".out.staging-{dead_pid}-abc123.tmp"
    stale.mkdir()
    (stale / "timecourse.csv").write_text("half-written")
    other = tmp_path / f".other.staging-{dead_pid}-abc123.tmp"  # another output's: kept
    other.mkdir()
    live = tmp_path / f".out.staging-{os.getppid()}-zzz.tmp"  # a live process's: kept
    live.mkdir()
    result, out = simulate(tmp_path, BASE)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and other.exists() and live.exists()


# ---------------------------------------------------------------- trials
TRIAL = """
[trial]
name = "t"
seed = 3
patients_per_arm = 2
follow_up_days = 200
run_in_days = 30
[cohort]
n_candidates = 20
[[arms]]
name = "car_t"
product = "car_t"
dose_per_kg = "1e6 cell/kg"
"""

TRIAL_BAD = {
    "no eligible candidate": (TRIAL.replace("n_candidates = 20",
                                            "n_candidates = 20\n[eligibility]\nmin_sledai = 105"),
                              "eligibility: no candidate is eligible"),
    "unknown design": (TRIAL.replace("seed = 3", 'seed = 3\ndesign = "crossover"'),
                       "trial.design: must be 'randomised', 'single_arm' or 'paired' "
                       "(got 'crossover')"),
    "unknown setting": (TRIAL.replace("seed = 3", 'seed = 3\nsetting = "sel"'),
                        "trial.setting: unknown setting; did you mean 'sle'?"),
    "follow-up inf": (TRIAL.replace("follow_up_days = 200", "follow_up_days = inf"),
                      "trial.follow_up_days: must be a finite number (got inf)"),
    "follow-up nan": (TRIAL.replace("follow_up_days = 200", "follow_up_days = nan"),
                      "trial.follow_up_days: must be a finite number (got nan)"),
    "a billion candidates": (TRIAL.replace("n_candidates = 20", "n_candidates = 1000000000"),
                             "cohort.n_candidates: must be <= 1000000 (got 1000000000)"),
    "rtol": (TRIAL.replace("seed = 3", "seed = 3\nrtol = 0"), "trial.rtol: must be >= 1e-13"),
    "run-in as a string": (TRIAL.replace("run_in_days = 30", 'run_in_days = "30"'),
                           "trial.run_in_days: a number must not be quoted"),
    "lymphodepletion before the run-in": (TRIAL + "[arms.lymphodepletion]\nfirst_day = -40\n",
                                          "arms[0].lymphodepletion.first_day: must not be "
                                          "before the run-in starts (day -30) (got -40)"),
    "infusions after follow-up": (TRIAL.replace('dose_per_kg = "1e6 cell/kg"',
                                                'dose_per_kg = "1e6 cell/kg"\ninfusions = 3\n'
                                                'interval_days = "20 week"'),
                                  "arms[0].infusions: the last infusion (day 280) is after the "
                                  "end of follow-up (day 200)"),
    # a product arm given no cells was counted as infused and charged the product's price
    "zero dose per kg": (TRIAL.replace('"1e6 cell/kg"', '"0 cell/kg"'),
                         "arms[0].dose_per_kg: must be > 0"),
    "zero flat dose": (TRIAL.replace('dose_per_kg = "1e6 cell/kg"', 'dose = "0 cell"'),
                       "arms[0].dose: must be > 0"),
}


@pytest.mark.parametrize("name", sorted(TRIAL_BAD))
def test_trial_bad_input(tmp_path, name):
    text, expected = TRIAL_BAD[name]
    (tmp_path / "t.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(["trial", str(tmp_path / "t.toml"), "--out", str(out)])
    assert_one_line_error(result, expected, out)


def test_concurrent_runs_into_one_folder_never_mix(tmp_path):
    """Many writers at once: the folder ends up holding exactly one writer's files."""
    import threading

    from nksim._io import MARKER, atomic_output_dir

    out = tmp_path / "out"
    errors = []

    def write(k: int) -> None:
        try:
            with atomic_output_dir(out) as staging:
                for j in range(5):
                    (staging / f"w{k}-{j}.txt").write_text(str(k))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = {p.name for p in out.iterdir()} - {MARKER}
    writers = {n.split("-")[0] for n in names}
    assert len(writers) == 1 and len(names) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_engine_errors_in_a_trial_name_the_trial_field(tmp_path, monkeypatch):
    """The engine names its own arguments (``atol``); the command line names the trial's
    field."""
    import nksim.trials
    from nksim.errors import UserError

    def fails(*args, **kwargs):
        raise UserError("must be > 0 (got 0)", field="atol")

    monkeypatch.setattr(nksim.trials, "plan_trial", fails)  # nksim trial streams: plans first
    (tmp_path / "t.toml").write_text(textwrap.dedent(TRIAL), encoding="utf-8")
    result = invoke(["trial", str(tmp_path / "t.toml"), "--out", str(tmp_path / "out")])
    assert_one_line_error(result, "nksim: error: trial.atol: must be > 0 (got 0)",
                          tmp_path / "out")


# ---------------------------------------------------------------- plain errors, mapped fields
@pytest.mark.parametrize("text, expected", [
    (BASE + "atol = { nope = 1e-6 }\n",
     "nksim: error: simulation.atol.nope: model 'depillis2006' has no state 'nope'"),
    (BASE + "[population]\nsize = 3\nseed = 1\nlognormal_sigma = { nope = 0.1 }\n",
     "nksim: error: population.lognormal_sigma: unknown parameter(s) ['nope']"),
    (BASE.replace('"patient9"', '"patient99"'),
     "nksim: error: model.parameter_set: model 'depillis2006' has no parameter set"),
])
def test_engine_and_population_errors_get_the_scenario_field(tmp_path, text, expected):
    """The engine, model and population modules name their own arguments (``atol.nope``,
    ``sigma``, ``parameter_set``); the scenario loader names the scenario's field."""
    result, out = simulate(tmp_path, text)
    assert_one_line_error(result, expected, out)


def test_engine_and_population_modules_name_no_scenario_field():
    """issue 8 §1: the engine, models, dosing and population raise plain errors naming
    their arguments; only the loaders (nksim.scenario, nksim.config, the trial runner and
    the settings, which read scenarios) name scenario fields."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src/nksim"
    files = [*(root / "engine").glob("*.py"), *(root / "model").glob("*.py"),
             *(root / "population").glob("*.py"), root / "dosing.py", root / "units.py"]
    sections = ("simulation.", "population.", "doses.", "execution.", "trial.", "model.")
    named = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "field":
                parts = [node.value] if isinstance(node.value, ast.Constant) else [
                    v for v in getattr(node.value, "values", [])
                    if isinstance(v, ast.Constant)][:1]
                for part in parts:
                    if isinstance(part.value, str) and part.value.startswith(sections):
                        named.append(f"{path.name}:{node.lineno} {part.value}")
    assert named == []


def test_a_grid_that_floating_point_ends_just_past_t_end_is_not_refused(tmp_path):
    """-0.3 + 3 * 0.1 is 5.6e-17, not 0: the last output time is t_end itself."""
    text = (BASE.replace("t_end = 4", "t_start = -0.3\nt_end = 0")
            .replace("record_every = 1", "record_every = 0.1").replace("times = [2]",
                                                                       "times = [-0.1]"))
    result, out = simulate(tmp_path, text)
    assert result.exit_code == 0, result.output
    import pandas as pd

    times = sorted(pd.read_csv(out / "timecourse.csv")["time"].unique())
    assert len(times) == 4 and times[-1] == 0.0


# ------------------------------------------------------------------ found by a review (session 16)
def test_an_input_inside_the_output_folder_is_never_deleted(tmp_path):
    """The output folder is replaced as a whole: a scenario file kept inside an earlier
    output folder would be deleted by a run into that folder."""
    out = tmp_path / "out"
    first, _ = simulate(tmp_path, BASE, out=out)
    assert first.exit_code == 0, first.output
    inside = out / "mine.toml"
    inside.write_text(textwrap.dedent(BASE))
    result = invoke(["simulate", str(inside), "--out", str(out)])
    assert_one_line_error(result, "--out: holds the input")
    assert inside.read_text() == textwrap.dedent(BASE)


@pytest.mark.parametrize("where, expected", [
    ("folder", "is a folder, not a file"),
    ("device", "is a device or other special file"),
    ("below_a_file", "is not a folder"),
    ("link", "is a link"),
])
def test_export_sbml_output_is_checked(tmp_path, where, expected):
    # a named pipe stands for a device: a regression must not replace a real one
    os.mkfifo(tmp_path / "pipe")
    target = {"folder": tmp_path, "device": tmp_path / "pipe",
              "below_a_file": tmp_path / "a_file" / "m.xml",
              "link": tmp_path / "link.xml"}[where]
    (tmp_path / "a_file").write_text("")
    (tmp_path / "link.xml").symlink_to(tmp_path / "a_file")
    assert_one_line_error(invoke(["export-sbml", "depillis2006", "-o", str(target)]),
                          f"--output: {expected}" if where != "below_a_file" else expected)
    assert (tmp_path / "pipe").is_fifo()


def test_deeply_nested_inputs_are_one_line_errors(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text('[cohort]\nname = "x"\na = ' + "[" * 5000 + "]" * 5000 + "\n")
    assert_one_line_error(invoke(["ageing", str(deep), "--out", str(tmp_path / "o")]),
                          "nested too deeply")
    snapshot = tmp_path / "s.json"
    snapshot.write_text("[" * 100_000 + "]" * 100_000)
    assert_one_line_error(invoke(["landscape", "report", "--snapshot", str(snapshot)]),
                          "nested too deeply")


def test_fit_seed_and_nominal_values_are_checked(tmp_path):
    import shutil

    import nksim

    problem = Path(nksim.__file__).parent / "data" / "petab" / "gemcitabine_tgi"
    assert_one_line_error(invoke(["fit", str(problem / "problem.yaml"), "--out",
                                  str(tmp_path / "f"), "--seed", "-1"]), "--seed: must be")
    copy = tmp_path / "p"
    shutil.copytree(problem, copy)
    table = (copy / "parameters.tsv").read_text().splitlines()
    header = table[0].split("\t")
    row = table[1].split("\t")
    row[header.index("nominalValue")] = "nan"
    (copy / "parameters.tsv").write_text("\n".join([table[0], "\t".join(row), *table[2:]]))
    assert_one_line_error(invoke(["fit", str(copy / "problem.yaml"), "--nominal"]),
                          f"parameters.{row[0]}: nominalValue must be a finite number")


def test_power_names_the_replicates_when_they_are_out_of_range():
    scenario = Path(__file__).resolve().parents[1] / "src/nksim/data/scenarios/" \
        "sle_pediatric_cart_vs_carnk.toml"
    assert_one_line_error(invoke(["power", str(scenario), "--replicates", str(10**20)]),
                          "--replicates: must be")


@pytest.mark.parametrize("args, field", [
    (["models", "--set", "patient9"], "--set: is only used with --show"),
    (["assay", "src/nksim/data/scenarios/assay_car_nk.toml", "--out", "OUT", "--duration", "5"],
     "--duration: is only used with --fit"),
    (["check-claim", "phase 3 NK", "--snapshot", "s.json", "--no-landscape"],
     "--no-landscape: --snapshot and --store name a landscape"),
])
def test_an_option_that_would_be_ignored_is_refused(tmp_path, args, field):
    """Options that do nothing in that combination were silently ignored (found by a
    review); now one line."""
    root = Path(__file__).resolve().parents[1]
    args = [str(root / a) if a.startswith("src/") else str(tmp_path / "o") if a == "OUT"
            else a for a in args]
    assert_one_line_error(invoke(args), field)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [["models"], ["models", "--show", "depillis2005"],
                                  ["landscape", "--help"]])
def test_standard_output_on_a_full_device_is_one_line(args):
    # /dev/full is only opened for writing by the shell-like redirection here, never
    # given to nksim as a path (nksim would replace a path it writes).
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "nksim", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == "nksim: error: cannot write the output: No space left on device\n"


@pytest.mark.parametrize(("files", "args", "expected"), [
    # a misspelt section was reported as the section it was meant to be, missing
    ({"s.toml": '[model]\nname = "depillis2006"\n[simulaton]\nt_end = 5\n'},
     ["simulate", "s.toml", "--out", "o"], "simulaton: unknown field; did you mean "
     "'simulation'?"),
    # pandas renamed the second 'gamma' 'gamma.1', reported as an unknown column
    ({"s.toml": BASE + '[population]\nparameters_file = "p.csv"\n',
      "p.csv": "patient,gamma,gamma\n1,0.1,0.2\n"},
     ["simulate", "s.toml", "--out", "o"],
     "population.parameters_file: 'gamma' appears twice in the header"),
    # a missing problem file was reported after the options about fitting it
    ({}, ["fit", "nope.yaml"], "problem: file not found: nope.yaml"),
])
def test_the_first_problem_named_is_the_real_one(tmp_path, monkeypatch, files, args,
                                                  expected):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = invoke(args)
    assert result.exit_code == 2
    assert result.output == f"nksim: error: {expected}\n"


def test_blank_header_cells_of_a_covariates_file_are_not_repeated_names(tmp_path):
    # a spreadsheet export with empty trailing columns (",,") was refused by the new check
    (tmp_path / "c.csv").write_text("patient,weight_kg,,\n1,50,,\n2,60,,\n")
    text = BASE + '[population]\ncovariates_file = "c.csv"\n'
    result, out = simulate(tmp_path, text)
    assert result.exit_code == 0, result.output
