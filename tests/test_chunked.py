"""Chunked, streamed runs (issue 13 §1-2): identical to one call, bounded output, resumable.

Speed and memory are measured in benchmarks/bench_scale.py, never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from nksim.cli import cli
from nksim.dosing import Dose
from nksim.engine import (
    Population,
    SolverOptions,
    default_chunk_size,
    simulate,
    simulate_chunks,
    status_table,
    timecourse_table,
)
from nksim.execution import partial_dir, run_to_folder
from nksim.library import get_model

# A W1-like population (de Pillis 2006, patient 9, chemotherapy every week), 60 days.
SCENARIO = textwrap.dedent("""\
    [model]
    name = "depillis2006"
    parameter_set = "patient9"

    [[doses]]
    state = "M"
    amount = 5
    start = 7
    every = 7
    count = 8

    [simulation]
    t_end = 60
    record_every = 1
    rtol = 1e-6
    atol = 1e-6

    [population]
    size = 300
    seed = 3
    lognormal_sigma = { all = 0.3 }
    """)


def _population(n=300, seed=3):
    from nksim.population import lognormal_parameters

    model = get_model("depillis2006", "patient9")
    params = lognormal_parameters(model, n, seed, 0.3)
    return Population(model, np.arange(0.0, 61.0), params,
                      np.tile(model.initial_vector(), (n, 1)),
                      [Dose("M", 5.0, 7.0, every=7.0, count=8)], 0.0,
                      SolverOptions(rtol=1e-6, atol=1e-6))


def _concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables)


def test_chunks_are_bit_identical_to_one_call():
    pop = _population()
    whole = simulate(pop.model, pop.times, parameters=pop.parameters, initial=pop.initial,
                     doses=pop.doses, options=pop.options)
    assert whole.status_counts.get("ok", 0) > 250  # a real population, mostly ok
    chunks = sorted(simulate_chunks(pop, 47), key=lambda c: c.index)  # 7 chunks, last 18
    assert [c.n_patients for c in chunks] == [47] * 6 + [18]
    tc = _concat([c.timecourse for c in chunks])
    st = _concat([c.patients for c in chunks])
    assert tc.equals(timecourse_table(whole))  # every value, bit for bit
    assert st.equals(status_table(whole))
    # the Arrow table is the same as the pandas long table the library offers
    pd.testing.assert_frame_equal(tc.to_pandas(), whole.to_frame(), check_exact=True)


def test_skipped_chunks_are_not_run_and_ids_follow_the_population():
    pop = _population(50)
    got = list(simulate_chunks(pop, 20, skip={0, 2}))
    assert [c.index for c in got] == [1]
    assert got[0].patients["patient"].to_pylist() == list(range(20, 40))


def test_default_chunk_size_bounds_the_records_per_chunk():
    assert default_chunk_size(10**6, 151, 6) == 12_500_000 // (151 * 6)
    assert default_chunk_size(10, 151, 6) == 10
    assert default_chunk_size(10**6, 10**6, 6) == 256  # never below 256 patients


def _run(args, tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    return CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), *args],
                              catch_exceptions=False)


def test_cli_writes_a_partitioned_dataset_and_a_status_table(tmp_path):
    out = tmp_path / "out"
    r = _run(["--out", str(out), "--format", "parquet", "--chunk-size", "64"], tmp_path)
    assert r.exit_code == 0, r.output
    parts = sorted(p.name for p in (out / "timecourse.parquet").iterdir())
    assert parts == [f"part-{k:06d}.parquet" for k in range(5)]
    table = pd.read_parquet(out / "timecourse.parquet")
    pop = _population()
    whole = simulate(pop.model, pop.times, parameters=pop.parameters, initial=pop.initial,
                     doses=pop.doses, options=pop.options)
    pd.testing.assert_frame_equal(table, whole.to_frame(), check_exact=True)
    patients = pd.read_parquet(out / "patients.parquet").set_index("patient")
    pd.testing.assert_frame_equal(patients, whole.patients, check_exact=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status_counts"] == whole.status_counts
    assert summary["n_patients"] == 300 and len(summary["patients"]) == 300
    assert summary["execution"]["chunks"] == 5 and summary["execution"]["scheduler"] == "local"
    assert "Research use only" in summary["notice"]
    assert not partial_dir(out).exists()


def test_csv_through_pyarrow_holds_the_same_numbers(tmp_path):
    r = _run(["--out", str(tmp_path / "c"), "--chunk-size", "100"], tmp_path)
    assert r.exit_code == 0, r.output
    r = _run(["--out", str(tmp_path / "p"), "--format", "parquet"], tmp_path)
    assert r.exit_code == 0, r.output
    csv = pd.read_csv(tmp_path / "c" / "timecourse.csv")  # one header, 3 chunks
    par = pd.read_parquet(tmp_path / "p" / "timecourse.parquet")
    assert len(csv) == 300 * 61 and list(csv.columns) == list(par.columns)
    # shortest round-trip decimal text: the numbers read back exactly
    pd.testing.assert_frame_equal(csv, par, check_exact=True, check_dtype=False)


def test_summary_of_a_large_run_keeps_counts_not_patients(tmp_path):
    pop = _population(120)
    outcome = run_to_folder(pop, tmp_path / "o", chunk_size=50, patients_in_summary=100,
                            summary=lambda c, n, t, e: {"status_counts": c, "n_patients": n,
                                                        "execution": e, "patients": None})
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert isinstance(summary["patients"], str) and "patients.parquet" in summary["patients"]
    assert sum(summary["status_counts"].values()) == 120 == outcome.n_patients
    assert pq.read_table(tmp_path / "o" / "patients.parquet").num_rows == 120


KILLER = textwrap.dedent("""\
    import os, signal, sys
    from pathlib import Path
    from nksim.execution import run_to_folder
    from nksim.scenario import load_scenario, plan_simulation
    folder, k = Path(sys.argv[1]), int(sys.argv[2])
    plan = plan_simulation(load_scenario(folder / "s.toml"), base_dir=folder)

    def hook(chunk, done, total):
        if done == k:  # killed hard after k chunks were written
            os.kill(os.getpid(), signal.SIGKILL)

    run_to_folder(plan.population(), folder / "out", fmt=sys.argv[3], chunk_size=40,
                  summary=lambda *a: {}, on_chunk=hook)
    """)


@pytest.mark.parametrize("fmt", ["parquet", pytest.param("csv", marks=pytest.mark.slow)])
def test_a_killed_run_resumes_with_nothing_lost_or_counted_twice(tmp_path, fmt):
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "kill.py").write_text(KILLER)
    p = subprocess.run([sys.executable, str(tmp_path / "kill.py"), str(tmp_path), "3", fmt],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -9, p.stderr[-2000:]
    out = tmp_path / "out"
    work = partial_dir(out)
    # killed: no output folder, no summary.json anywhere, 3 finished chunks kept
    assert not out.exists()
    assert not list(tmp_path.rglob("summary.json"))
    assert len(list((work / "patients").glob("part-*.parquet"))) == 3

    r = _run(["--out", str(out), "--format", fmt, "--resume"], tmp_path)  # chunk size kept
    assert r.exit_code == 0, r.output
    assert "3 of 8 chunks resumed" in r.output
    r = _run(["--out", str(tmp_path / "ref"), "--format", fmt, "--chunk-size", "40"], tmp_path)
    assert r.exit_code == 0, r.output
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    got, ref = read(out / f"timecourse.{fmt}"), read(tmp_path / "ref" / f"timecourse.{fmt}")
    assert len(got) == 300 * 61 and got["patient"].nunique() == 300
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "patients.parquet"),
                                  pd.read_parquet(tmp_path / "ref" / "patients.parquet"))
    s_got = json.loads((out / "summary.json").read_text())
    s_ref = json.loads((tmp_path / "ref" / "summary.json").read_text())
    assert s_got["status_counts"] == s_ref["status_counts"]
    assert sum(s_got["status_counts"].values()) == 300
    assert s_got["execution"]["chunks_resumed"] == 3 and not work.exists()
    # resuming a finished run does nothing
    r = _run(["--out", str(out), "--format", fmt, "--resume"], tmp_path)
    assert r.exit_code == 0 and "already complete" in r.output
    # ... but in another format it is refused, not reported as done
    other = "parquet" if fmt == "csv" else "csv"
    r = _run(["--out", str(out), "--format", other, "--resume"], tmp_path)
    _one_line_error(r, f"--format: {out} holds this run finished as {fmt}")


def _one_line_error(result, start):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error: " + start), result.output


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


def test_resume_into_a_folder_of_another_scenario_is_refused(tmp_path):
    # an interrupted run of this scenario ...
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "kill.py").write_text(KILLER)
    subprocess.run([sys.executable, str(tmp_path / "kill.py"), str(tmp_path), "2", "parquet"],
                   capture_output=True, timeout=300)
    work = partial_dir(tmp_path / "out")
    assert len(list((work / "patients").iterdir())) == 2
    # ... resumed with another population: one line, exit 2, nothing changed
    other = SCENARIO.replace("seed = 3", "seed = 4")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "s.toml").write_text(other)
    before = _snapshot(tmp_path)
    r = CliRunner().invoke(cli, ["simulate", str(tmp_path / "o" / "s.toml"), "--out",
                                 str(tmp_path / "out"), "--format", "parquet", "--resume"])
    _one_line_error(r, "--resume: the interrupted run in")
    assert _snapshot(tmp_path) == before
    # a finished folder of another scenario: refused as well
    r = _run(["--out", str(tmp_path / "done"), "--chunk-size", "200"], tmp_path)
    assert r.exit_code == 0, r.output
    before = _snapshot(tmp_path / "done")
    r = CliRunner().invoke(cli, ["simulate", str(tmp_path / "o" / "s.toml"), "--out",
                                 str(tmp_path / "done"), "--resume"])
    _one_line_error(r, "--resume:")
    assert _snapshot(tmp_path / "done") == before


@pytest.mark.parametrize("how", ["option", "scenario"])
def test_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, how):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    text = SCENARIO + (f'\n[execution]\nscheduler = "{address}"\n' if how == "scenario" else "")
    (tmp_path / "s.toml").write_text(text)
    args = ["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]
    if how == "option":
        args += ["--scheduler", address]
    r = CliRunner().invoke(cli, args)
    field = "--scheduler" if how == "option" else "execution.scheduler"
    _one_line_error(r, f"{field}: cannot reach the Dask scheduler")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_bad_execution_section_is_refused(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO + "\n[execution]\nchunk_size = 0\n")
    r = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out",
                                 str(tmp_path / "out")])
    _one_line_error(r, "execution.chunk_size")
    assert not (tmp_path / "out").exists()

