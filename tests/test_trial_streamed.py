"""``nksim trial`` streamed (issue 13 §1-2): the arms simulated in chunks, each chunk's time
course written at once, endpoints and report from the per-patient table at the end; a
killed trial resumes with nothing lost or counted twice; the chunks on a Dask cluster.

The reference is the in-memory runner (:func:`nksim.trials.run_trial`, the path the
command took before), compared value for value.
"""

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
from nksim.config import TrialScenario, read_toml, validate
from nksim.execution import partial_dir
from nksim.report.trial import arm_series, run_trial_to_folder, trial_summary
from nksim.trials import run_trial
from test_chunked import _one_line_error, _snapshot

SCENARIOS = Path(__file__).resolve().parents[1] / "src" / "nksim" / "data" / "scenarios"


def _scenario(path: Path):
    raw = read_toml(path)
    return validate(TrialScenario, raw), raw


def _in_memory_timecourse(result) -> pd.DataFrame:
    """The time course as ``nksim trial`` wrote it before it streamed (one file)."""
    return pd.concat([a.simulation.to_frame().assign(arm=a.name) for a in result.arms
                      if a.simulation is not None], ignore_index=True)


def _same_trial(streamed, ref) -> None:
    """Per-patient tables, summaries, comparisons and report series: equal, exactly."""
    assert [a.name for a in streamed.arms] == [a.name for a in ref.arms]
    for got, want in zip(streamed.arms, ref.arms, strict=True):
        assert len(got.patients) == len(want.patients) > 0
        pd.testing.assert_frame_equal(got.patients, want.patients, check_exact=True)
        pd.testing.assert_frame_equal(got.simulation.patients, want.simulation.patients,
                                      check_exact=True)
        assert got.summary == want.summary
    assert streamed.comparisons == ref.comparisons
    s_got, s_ref = trial_summary(streamed), trial_summary(ref)
    assert {k: v for k, v in s_got.items() if k != "versions"} == \
        {k: v for k, v in s_ref.items() if k != "versions"}
    (t_got, v_got), (t_ref, v_ref) = arm_series(streamed), arm_series(ref)
    assert set(v_got) == set(v_ref) and v_got
    for arm in v_ref:
        np.testing.assert_array_equal(t_got[arm], t_ref[arm])
        for key in v_ref[arm]:
            np.testing.assert_array_equal(v_got[arm][key], v_ref[arm][key])


@pytest.mark.parametrize("design", [pytest.param("randomised", marks=pytest.mark.slow),
                                    "paired"])  # randomised: also the lymphoma test below
def test_streamed_trial_is_bit_identical_to_the_in_memory_run(tmp_path, small_trial_toml,
                                                              design):
    # 6 patients per arm in chunks of 4: chunks 1 and 4 hold patients of two arms; in the
    # paired design every candidate is in every arm (the same patient ids three times)
    text = small_trial_toml(name="streamed", seed=7, patients_per_arm=6, follow_up_days=200,
                            n_candidates=90).replace("seed = 7", f'seed = 7\ndesign = "{design}"')
    (tmp_path / "t.toml").write_text(text)
    scenario, raw = _scenario(tmp_path / "t.toml")
    ref = run_trial(scenario, progress=False)
    streamed, outcome = run_trial_to_folder(scenario, tmp_path / "out", raw, chunk_size=4,
                                            progress=False)
    assert outcome.chunks == 5 and outcome.n_patients == 18
    _same_trial(streamed, ref)
    for arm in streamed.arms:  # nothing of the time course stays in memory
        assert arm.simulation.dataset is None
        # the report panels' values are in unnamed files beside the output, not in memory
        assert all(isinstance(v.base, np.memmap) for v in arm.simulation.series.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "t.toml"]
    parts = sorted(p.name for p in (tmp_path / "out" / "timecourse.parquet").iterdir())
    assert parts == [f"part-{k:06d}.parquet" for k in range(5)]
    got = pd.read_parquet(tmp_path / "out" / "timecourse.parquet")
    pd.testing.assert_frame_equal(got, _in_memory_timecourse(ref), check_exact=True)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["execution"]["chunks"] == 5 and summary["status_counts"] == {"ok": 18}
    patients = pd.read_csv(tmp_path / "out" / "patients.csv")
    assert len(patients) == 18 and list(patients["arm"].unique()) == ["car_t", "car_nk",
                                                                       "control"]
    assert not partial_dir(tmp_path / "out").exists()


def test_streamed_lymphoma_trial_is_identical_to_the_in_memory_run(tmp_path):
    """Another setting (oncology endpoints, per-patient response draws)."""
    text = (SCENARIOS / "lymphoma_ft516_rituximab.toml").read_text()
    for old, new in (("patients_per_arm = 40", "patients_per_arm = 3"),
                     ("follow_up_days = 730", "follow_up_days = 182")):
        assert old in text
        text = text.replace(old, new, 1)
    import re

    (tmp_path / "t.toml").write_text(re.sub(r"n_candidates = \d+", "n_candidates = 30", text))
    scenario, raw = _scenario(tmp_path / "t.toml")
    ref = run_trial(scenario, progress=False)
    streamed, outcome = run_trial_to_folder(scenario, tmp_path / "out", raw, chunk_size=2,
                                            progress=False)
    assert outcome.chunks == 5
    _same_trial(streamed, ref)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "timecourse.parquet"),
                                  _in_memory_timecourse(ref), check_exact=True)


KILLER = textwrap.dedent("""\
    import os, signal, sys
    from pathlib import Path
    from nksim.config import TrialScenario, read_toml, validate
    from nksim.report.trial import run_trial_to_folder
    folder, k = Path(sys.argv[1]), int(sys.argv[2])
    raw = read_toml(folder / "t.toml")

    def hook(chunk, done, total):
        if done == k:  # killed hard after k chunks were written
            os.kill(os.getpid(), signal.SIGKILL)

    run_trial_to_folder(validate(TrialScenario, raw), folder / "out", raw, chunk_size=4,
                        progress=False, on_chunk=hook)
    """)


def _trial(*args):
    return CliRunner().invoke(cli, ["trial", *map(str, args)], catch_exceptions=False)


def test_a_killed_trial_resumes_with_nothing_lost_or_counted_twice(tmp_path,
                                                                   small_trial_toml):
    kw = dict(name="killed", seed=7, patients_per_arm=6, follow_up_days=200, n_candidates=90)
    (tmp_path / "t.toml").write_text(small_trial_toml(**kw))
    (tmp_path / "kill.py").write_text(KILLER)
    p = subprocess.run([sys.executable, str(tmp_path / "kill.py"), str(tmp_path), "2"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -9, p.stderr[-2000:]
    out, work = tmp_path / "out", partial_dir(tmp_path / "out")
    # killed: no output folder, no summary.json anywhere, 2 finished chunks kept
    assert not out.exists()
    assert not list(tmp_path.rglob("summary.json"))
    assert len(list((work / "timecourse").glob("part-*.parquet"))) == 2
    assert len(list((work / "patients").glob("part-*.parquet"))) == 2

    # resumed with another scenario: one line, exit 2, nothing changed
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "t.toml").write_text(small_trial_toml(**{**kw, "seed": 8}))
    before = _snapshot(tmp_path)
    r = CliRunner().invoke(cli, ["trial", str(tmp_path / "o" / "t.toml"), "--out", str(out),
                                 "--resume"])
    _one_line_error(r, "--resume: the interrupted run in")
    assert _snapshot(tmp_path) == before

    r = _trial(tmp_path / "t.toml", "--out", out, "--resume")  # the chunk size is kept
    assert r.exit_code == 0, r.output
    assert "2 of 5 chunks resumed" in r.output and "Research use only" in r.output
    assert not work.exists()
    r = _trial(tmp_path / "t.toml", "--out", tmp_path / "ref", "--chunk-size", 4)
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(out / "timecourse.parquet")
    ref = pd.read_parquet(tmp_path / "ref" / "timecourse.parquet")
    assert len(got) == len(ref) > 0
    assert got.groupby("arm")["patient"].nunique().to_dict() == \
        {"car_t": 6, "car_nk": 6, "control": 6}
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(out / "patients.csv"),
                                  pd.read_csv(tmp_path / "ref" / "patients.csv"),
                                  check_exact=True)
    s_got = json.loads((out / "summary.json").read_text())
    s_ref = json.loads((tmp_path / "ref" / "summary.json").read_text())
    assert s_got["arms"] == s_ref["arms"] and s_got["comparisons"] == s_ref["comparisons"]
    assert s_got["status_counts"] == s_ref["status_counts"] == {"ok": 18}
    assert s_got["execution"]["chunks_resumed"] == 2
    assert s_got["execution"]["fingerprint"] == s_ref["execution"]["fingerprint"]

    # resuming a finished run does nothing; a finished run of another scenario is refused
    r = _trial(tmp_path / "t.toml", "--out", out, "--resume")
    assert r.exit_code == 0 and "already complete" in r.output
    before = _snapshot(out)
    r = CliRunner().invoke(cli, ["trial", str(tmp_path / "o" / "t.toml"), "--out", str(out),
                                 "--resume"])
    _one_line_error(r, "--resume:")
    assert _snapshot(out) == before


def test_execution_section_of_a_trial(tmp_path, small_trial_toml):
    import socket

    text = small_trial_toml(name="exec", seed=7, patients_per_arm=3, follow_up_days=200,
                            n_candidates=60, arms=("car_t", "control"))
    (tmp_path / "t.toml").write_text(text + "[execution]\nchunk_size = 2\n")
    r = _trial(tmp_path / "t.toml", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["execution"]["chunk_size"] == 2 and summary["execution"]["chunks"] == 3
    assert summary["execution"]["scheduler"] == "local"
    # an unreachable scheduler of [execution]: one line naming the field, nothing written
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "u.toml").write_text(
        text + f'[execution]\nscheduler = "tcp://127.0.0.1:{port}"\n')
    r = CliRunner().invoke(cli, ["trial", str(tmp_path / "u.toml"), "--out",
                                 str(tmp_path / "u")])
    _one_line_error(r, "execution.scheduler: cannot reach the Dask scheduler")
    assert not (tmp_path / "u").exists() and not partial_dir(tmp_path / "u").exists()
    # a bad chunk size in [execution]: one line naming the field
    (tmp_path / "b.toml").write_text(text + "[execution]\nchunk_size = 0\n")
    r = CliRunner().invoke(cli, ["trial", str(tmp_path / "b.toml"), "--out",
                                 str(tmp_path / "b")])
    _one_line_error(r, "execution.chunk_size")
    assert not (tmp_path / "b").exists()


@pytest.mark.slow  # ~40 s: two worker processes start and load the compiled model
def test_trial_chunks_on_a_dask_cluster_are_identical(tmp_path, small_trial_toml):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    (tmp_path / "t.toml").write_text(small_trial_toml(
        name="dask", seed=7, patients_per_arm=4, follow_up_days=200, n_candidates=60))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0,
                      worker_dashboard_address=None) as cluster:
        r = _trial(tmp_path / "t.toml", "--out", tmp_path / "dask", "--chunk-size", 3,
                   "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.output
    r = _trial(tmp_path / "t.toml", "--out", tmp_path / "local", "--chunk-size", 3)
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(tmp_path / "dask" / "timecourse.parquet")
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "local" /
                                                       "timecourse.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask" / "patients.csv"),
                                  pd.read_csv(tmp_path / "local" / "patients.csv"),
                                  check_exact=True)
    s_dask = json.loads((tmp_path / "dask" / "summary.json").read_text())
    s_local = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert s_dask["arms"] == s_local["arms"]
    n = sum(arm["n"] for arm in s_dask["arms"].values())
    assert n >= 9 and len(got) == n * got["time"].nunique()
    assert s_dask["execution"]["scheduler"] == cluster.scheduler_address
    assert s_dask["execution"]["chunks"] == -(-n // 3) > 1


def test_a_trial_stopped_while_gathering_keeps_its_chunks(tmp_path, small_trial_toml,
                                                          monkeypatch):
    """Stopped after the last chunk, while endpoints and report are computed: the output
    folder does not appear, every chunk is kept, and --resume only gathers them."""
    import nksim.report.trial as report

    (tmp_path / "t.toml").write_text(small_trial_toml(
        name="gather", seed=7, patients_per_arm=3, follow_up_days=200, n_candidates=60,
        arms=("car_t", "control")))
    scenario, raw = _scenario(tmp_path / "t.toml")
    real = report.write_trial_outputs

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_trial_outputs", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_trial_to_folder(scenario, tmp_path / "out", raw, chunk_size=2, progress=False)
    work = partial_dir(tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.rglob("summary.json"))
    assert len(list((work / "timecourse").glob("part-*.parquet"))) == 3
    monkeypatch.setattr(report, "write_trial_outputs", real)
    result, outcome = run_trial_to_folder(scenario, tmp_path / "out", raw, resume=True,
                                          progress=False)
    assert (outcome.chunks, outcome.chunks_resumed) == (3, 3) and not work.exists()
    ref = run_trial(scenario, progress=False)
    _same_trial(result, ref)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "timecourse.parquet"),
                                  _in_memory_timecourse(ref), check_exact=True)


def test_a_trial_part_copied_over_another_is_computed_again(tmp_path, small_trial_toml):
    """A resumed trial checks each part's candidates and arms (the footer's statistics)
    and each status part's rows: a part copied over another chunk's is computed again."""
    import shutil

    (tmp_path / "t.toml").write_text(small_trial_toml(
        name="copied", seed=7, patients_per_arm=3, follow_up_days=200, n_candidates=60,
        arms=("car_t", "control")))
    scenario, raw = _scenario(tmp_path / "t.toml")

    class Stopped(Exception):
        pass

    def stop(chunk, done, total):
        if done == 2:
            raise Stopped

    with pytest.raises(Stopped):
        run_trial_to_folder(scenario, tmp_path / "out", raw, chunk_size=2, progress=False,
                            on_chunk=stop)
    work = partial_dir(tmp_path / "out")
    for folder in ("timecourse", "patients"):
        shutil.copyfile(work / folder / "part-000000.parquet",
                        work / folder / "part-000001.parquet")
    result, outcome = run_trial_to_folder(scenario, tmp_path / "out", raw, resume=True,
                                          progress=False)
    assert (outcome.chunks, outcome.chunks_resumed, outcome.chunks_recomputed) == (3, 1, 1)
    ref = run_trial(scenario, progress=False)
    _same_trial(result, ref)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "timecourse.parquet"),
                                  _in_memory_timecourse(ref), check_exact=True)
