"""``nksim simulate``, ``models``, ``demo`` and ``export-sbml``: outputs and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from nksim.cli import cli

BASE = """
[model]
name = "depillis2006"
parameter_set = "patient9"
[parameters]
r2 = 6.5e-11
[initial]
T = 1e6
N = 1e3
[[doses]]
state = "M"
amount = 5
times = [7, 14]
[simulation]
t_end = 30
record_every = 1
rtol = 1e-6
atol = 1e-6
"""


def run(args, tmp_path: Path, text: str | None = BASE):
    if text is not None:
        (tmp_path / "s.toml").write_text(textwrap.dedent(text))
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_simulate_writes_timecourse_and_summary(tmp_path):
    out = tmp_path / "out"
    result = run(["simulate", str(tmp_path / "s.toml"), "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "timecourse.csv")
    assert list(table.columns) == ["patient", "time", "T", "N", "L", "C", "M", "I"]
    assert len(table) == 31 and table["time"].iloc[-1] == 30
    # the chemotherapy bolus is visible at day 7 (post-dose) and decays with gamma
    m = table.set_index("time")["M"]
    assert m[7] == pytest.approx(5.0) and m[8] == pytest.approx(5.0 * np.exp(-0.9), rel=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status_counts"] == {"ok": 1}
    assert summary["patients"][0]["status"] == "ok"
    assert summary["scenario"]["parameters"] == {"r2": 6.5e-11}
    assert "Research use only" in summary["notice"]
    assert {"nksim", "numpy", "numba"} <= set(summary["versions"])


def test_simulate_population_parquet(tmp_path):
    text = BASE + "[population]\nsize = 40\nseed = 1\nlognormal_sigma = { all = 0.2 }\n"
    out = tmp_path / "out"
    result = run(["simulate", str(tmp_path / "s.toml"), "--out", str(out),
                  "--format", "parquet"], tmp_path, text)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "timecourse.parquet")
    assert table["patient"].nunique() == 40
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status_counts"] == {"ok": 40}


def test_units_in_scenario_are_converted(tmp_path):
    text = BASE.replace("amount = 5", 'amount = "5 drug_unit"').replace(
        "t_end = 30", 't_end = "720 hour"').replace("r2 = 6.5e-11", 'r2 = "6.5e-11 1/(cell*day)"')
    out = tmp_path / "out"
    result = run(["simulate", str(tmp_path / "s.toml"), "--out", str(out)], tmp_path, text)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "timecourse.csv")["time"].iloc[-1] == pytest.approx(30.0)


BAD_INPUTS = {
    "unknown model": (BASE.replace('"depillis2006"', '"nope"'), "model.name"),
    "unknown state": (BASE.replace("N = 1e3", "Q = 1"), "initial.Q"),
    "unknown dose state": (BASE.replace('state = "M"', 'state = "Z"'), "doses[0].state"),
    "unknown parameter": (BASE.replace("r2 =", "zz ="), "parameters.zz"),
    "unit does not convert": (BASE.replace("amount = 5", 'amount = "5 kg"'), "doses[0].amount"),
    "negative amount": (BASE.replace("amount = 5", "amount = -5"), "doses[0].amount"),
    "t_end zero": (BASE.replace("t_end = 30", "t_end = 0"), "simulation.t_end"),
    "t_end negative": (BASE.replace("t_end = 30", "t_end = -3"), "simulation.t_end"),
    "malformed toml": (BASE.replace("[model]", "[model"), "malformed TOML"),
    "unknown field": (BASE + "[simulation2]\nx = 1\n", "simulation2"),
    "bad parameter set": (BASE.replace('"patient9"', '"patient99"'), "model.parameter_set"),
    "both schedules": (BASE.replace("times = [7, 14]", "times = [7]\nstart = 3"), "doses[0]"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, name):
    text, expected = BAD_INPUTS[name]
    out = tmp_path / "out"
    (tmp_path / "s.toml").write_text(textwrap.dedent(text))
    result = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error:"), result.output
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))  # no staging folder left behind


def test_missing_file_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nksim", "simulate", str(tmp_path / "none.toml"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_models_list_and_show():
    runner = CliRunner()
    listing = runner.invoke(cli, ["models"]).output
    assert "depillis2006" in listing and "patient9" in listing
    shown = runner.invoke(cli, ["models", "--show", "depillis2006"]).output
    assert "| r2 | 6.5e-11 | 1/(cell*day)" in shown and "\\frac{d\\,T}{dt}" in shown
    assert "de Pillis 2006 [V-code]" in shown


def test_export_sbml(tmp_path):
    out = tmp_path / "m.xml"
    result = CliRunner().invoke(cli, ["export-sbml", "depillis2006", "-o", str(out)])
    assert result.exit_code == 0
    assert "<sbml" in out.read_text() and 'id="depillis2006"' in out.read_text()


def test_demo_writes_plot_and_html(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "demo.html").read_text()
    assert "Research use only" in html and "chemotherapy + IL-2 + TIL" in html
    arms = json.loads((out / "demo.json").read_text())["arms"]
    assert [a["name"] for a in arms] == ["untreated", "chemotherapy", "chemotherapy + IL-2 + TIL"]
