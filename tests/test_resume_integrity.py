"""``--resume`` keeps nothing that is not its chunk's own: a part copied over another, a
stray copy beside the parts, a CSV part cut at a line boundary or doubled, a status part
of another chunk (all computed again, never trusted); one run at a time per folder (a lock
the kernel releases when a killed run ends); a finished folder with a part missing is
refused, not reported complete; a full disk or a lost Dask cluster is one line, and
``--resume`` continues (found by a review of the execution layer)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _interrupted_runs import SCENARIO, interrupted, one_line_error, plan, run_summary
from nksim.cli import cli
from nksim.errors import UserError
from nksim.execution import partial_dir, run_to_folder

N_TIMES = 21









_REFERENCE: dict[str, pd.DataFrame] = {}


def _reference(tmp_path_factory, fmt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The uninterrupted run's time course and status table (computed once per format)."""
    if fmt not in _REFERENCE:
        folder = tmp_path_factory.mktemp(f"ref-{fmt}")
        run_to_folder(plan(folder).population(), folder / "ref", fmt=fmt, chunk_size=5,
                      summary=run_summary)
        _REFERENCE[fmt] = (_read(folder / "ref", fmt),
                           pd.read_parquet(folder / "ref" / "patients.parquet"))
    return _REFERENCE[fmt]


def _read(out: Path, fmt: str) -> pd.DataFrame:
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    return read(out / f"timecourse.{fmt}")


def _same_as_reference(out: Path, fmt: str, tmp_path_factory) -> None:
    """Every patient once, with the uninterrupted run's values: nothing lost or doubled."""
    want_tc, want_status = _reference(tmp_path_factory, fmt)
    got = _read(out, fmt)
    assert len(got) == 30 * N_TIMES and got["patient"].value_counts().eq(N_TIMES).all()
    pd.testing.assert_frame_equal(got, want_tc, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "patients.parquet"), want_status)
    summary = json.loads((out / "summary.json").read_text())
    assert sum(summary["status_counts"].values()) == 30




def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


# ------------------------------------------------------------ parts that are not their own


def _double(path: Path) -> None:
    path.write_bytes(path.read_bytes() * 2)


def _cut_at_a_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-N_TIMES]))  # the last patient's rows, whole lines


@pytest.mark.parametrize("fmt, folder, spoil", [
    ("parquet", "timecourse", "copy-over"),   # part 1 copied over part 2: V1
    ("csv", "timecourse", "copy-over"),
    ("csv", "timecourse", "cut-at-a-line"),   # V2
    ("csv", "timecourse", "doubled"),
    ("parquet", "patients", "copy-over"),     # a status part of another chunk: V3
])
def test_a_part_of_another_chunk_or_cut_whole_is_computed_again(tmp_path, tmp_path_factory,
                                                                fmt, folder, spoil):
    population, work = interrupted(tmp_path, fmt)
    ext = "parquet" if folder == "patients" else fmt
    part = work / folder / f"part-000002.{ext}"
    if spoil == "copy-over":
        shutil.copyfile(work / folder / f"part-000001.{ext}", part)
    elif spoil == "doubled":
        _double(part)
    else:
        _cut_at_a_line(part)
    outcome = run_to_folder(population, tmp_path / "out", fmt=fmt, summary=run_summary,
                            resume=True)
    assert (outcome.chunks, outcome.chunks_resumed, outcome.chunks_recomputed) == (6, 3, 1)
    assert not work.exists()
    _same_as_reference(tmp_path / "out", fmt, tmp_path_factory)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["execution"]["chunks_recomputed"] == 1


@pytest.mark.parametrize("fmt, folder", [("parquet", "timecourse"), ("csv", "timecourse"),
                                         ("parquet", "patients")])
def test_a_stray_copy_beside_the_parts_is_not_kept(tmp_path, tmp_path_factory, fmt, folder):
    population, work = interrupted(tmp_path, fmt)
    ext = "parquet" if folder == "patients" else fmt
    for name in (f"part-000001 (copy).{ext}", f"part-000001.{ext}.bak"):
        shutil.copyfile(work / folder / f"part-000001.{ext}", work / folder / name)
    outcome = run_to_folder(population, tmp_path / "out", fmt=fmt, summary=run_summary,
                            resume=True)
    assert (outcome.chunks_resumed, outcome.chunks_recomputed) == (4, 0)
    if fmt == "parquet":
        assert sorted(p.name for p in (tmp_path / "out" / "timecourse.parquet").iterdir()) \
            == [f"part-{k:06d}.parquet" for k in range(6)]
    _same_as_reference(tmp_path / "out", fmt, tmp_path_factory)


def test_the_command_resumes_a_run_with_a_doubled_status_part(tmp_path, tmp_path_factory):
    """The reviewer's case: a status part copied over another made every resume end in a
    traceback; now that chunk is computed again and reported."""
    interrupted(tmp_path, "parquet")
    work = partial_dir(tmp_path / "out")
    shutil.copyfile(work / "patients" / "part-000001.parquet",
                    work / "patients" / "part-000002.parquet")
    r = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out",
                                 str(tmp_path / "out"), "--format", "parquet", "--resume"])
    assert r.exit_code == 0, r.output
    assert "3 of 6 chunks resumed, 1 damaged and recomputed" in r.output
    _same_as_reference(tmp_path / "out", "parquet", tmp_path_factory)


# ------------------------------------------------------------------ one run at a time


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path, tmp_path_factory):
    """A second run starts while the first writes (here from the first's progress hook,
    the same process: a lock, not a process id, tells them apart): one line, and the first
    run finishes with nothing lost."""
    population = plan(tmp_path).population()
    refused = []

    def hook(chunk, done, total):
        if done == 2:
            with pytest.raises(UserError) as info:
                run_to_folder(population, tmp_path / "out", fmt="parquet", chunk_size=5,
                              summary=run_summary)
            refused.append(str(info.value))

    run_to_folder(population, tmp_path / "out", fmt="parquet", chunk_size=5,
                  summary=run_summary, on_chunk=hook)
    assert refused == [f"--out: another nksim run (process {os.getpid()}) is writing "
                       f"{tmp_path / 'out'}; wait for it or choose another folder"]
    _same_as_reference(tmp_path / "out", "parquet", tmp_path_factory)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]  # no lock left


PAUSED = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from nksim.execution import run_to_folder
    from nksim.scenario import load_scenario, plan_simulation
    folder = Path(sys.argv[1])
    plan = plan_simulation(load_scenario(folder / "s.toml"), base_dir=folder)

    def hook(chunk, done, total):
        if done == 2:  # writing, and waiting to be killed
            (folder / "paused").write_text("")
            time.sleep(300)

    run_to_folder(plan.population(), folder / "out", fmt="parquet", chunk_size=5,
                  summary=lambda *a: {}, on_chunk=hook)
    """)


def test_a_live_run_locks_its_folder_and_a_killed_one_does_not(tmp_path, tmp_path_factory):
    plan(tmp_path)
    (tmp_path / "paused.py").write_text(PAUSED)
    p = subprocess.Popen([sys.executable, str(tmp_path / "paused.py"), str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "paused").exists():
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()[-2000:]
            time.sleep(0.1)
        args = ["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"),
                "--format", "parquet"]
        for extra in ([], ["--resume"]):
            before = _snapshot(tmp_path)
            r = CliRunner().invoke(cli, args + extra)
            one_line_error(r, f"--out: another nksim run (process {p.pid}) is writing")
            assert _snapshot(tmp_path) == before
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    # the kernel released the killed run's lock: --resume continues its two chunks
    r = CliRunner().invoke(cli, args + ["--resume"])
    assert r.exit_code == 0, r.output
    assert "2 of 6 chunks resumed" in r.output
    _same_as_reference(tmp_path / "out", "parquet", tmp_path_factory)


# ---------------------------------------------------------- a finished folder, resumed


@pytest.mark.parametrize("fmt, spoil, named", [
    ("parquet", "delete-part", "timecourse.parquet/part-000003.parquet is missing"),
    ("parquet", "stray-copy", "timecourse.parquet/ holds a file it did not write"),
    ("parquet", "delete-status", "patients.parquet is missing"),
    ("csv", "cut-at-a-line", "timecourse.csv is damaged"),
])
def test_resume_on_a_finished_folder_checks_its_parts(tmp_path, fmt, spoil, named):
    (tmp_path / "s.toml").write_text(SCENARIO)
    args = ["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"),
            "--format", fmt]
    r = CliRunner().invoke(cli, args + ["--chunk-size", "5"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, args + ["--resume"])
    assert r.exit_code == 0 and "already complete" in r.output, r.output
    out = tmp_path / "out"
    if spoil == "delete-part":
        (out / "timecourse.parquet" / "part-000003.parquet").unlink()
    elif spoil == "stray-copy":
        shutil.copyfile(out / "timecourse.parquet" / "part-000001.parquet",
                        out / "timecourse.parquet" / "part-000001 (copy).parquet")
    elif spoil == "delete-status":
        (out / "patients.parquet").unlink()
    else:
        _cut_at_a_line(out / "timecourse.csv")
    before = _snapshot(tmp_path)
    r = CliRunner().invoke(cli, args + ["--resume"])
    line = one_line_error(r, f"--resume: {out} holds this run finished, but ")
    assert named in line and "without --resume" in line
    assert _snapshot(tmp_path) == before


# ------------------------------------------------ stopped by the surroundings: one line


def test_a_full_disk_is_one_line_and_resume_continues(tmp_path, tmp_path_factory,
                                                      monkeypatch):
    from nksim.execution import _folder

    real, written = _folder._write_chunk, []

    def write(work, out, *args):
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "Error writing bytes to file")  # as pyarrow says
        real(work, out, *args)
        written.append(out.index)

    monkeypatch.setattr(_folder, "_write_chunk", write)
    (tmp_path / "s.toml").write_text(SCENARIO)
    args = ["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"),
            "--format", "parquet", "--chunk-size", "5"]
    r = CliRunner().invoke(cli, args)
    line = one_line_error(r, "cannot write the output: No space left on device", code=1)
    assert line.endswith("run the same command with --resume to continue")
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(_folder, "_write_chunk", real)
    r = CliRunner().invoke(cli, args + ["--resume"])
    assert r.exit_code == 0 and "3 of 6 chunks resumed" in r.output, r.output
    _same_as_reference(tmp_path / "out", "parquet", tmp_path_factory)


def test_a_lost_dask_cluster_is_one_line_and_a_bug_keeps_its_traceback(tmp_path,
                                                                         monkeypatch):
    pytest.importorskip("distributed")
    from distributed.comm.core import CommClosedError

    from nksim.execution import _folder

    class _Client:
        def close(self):
            pass

    real = _folder.simulate_chunks
    failure: list[Exception] = []

    def chunks(population, chunk_size, *, skip=(), client=None):
        for k, out in enumerate(real(population, chunk_size, skip=skip)):
            if k == 2:
                raise failure[0]
            yield out

    monkeypatch.setattr(_folder, "connect_scheduler", lambda *a, **kw: _Client())
    monkeypatch.setattr(_folder, "simulate_chunks", chunks)
    (tmp_path / "s.toml").write_text(SCENARIO)
    args = ["simulate", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"),
            "--format", "parquet", "--chunk-size", "5", "--scheduler", "tcp://10.0.0.5:8786"]
    failure[:] = [CommClosedError("in <TCP (closed) ConnectionPool.gather>: Stream is closed")]
    r = CliRunner().invoke(cli, args)
    line = one_line_error(r, "the Dask cluster at tcp://10.0.0.5:8786 failed "
                           "(CommClosedError: in <TCP (closed)", code=1)
    assert "--resume to continue" in line
    assert len(list((partial_dir(tmp_path / "out") / "patients").iterdir())) == 2
    failure[:] = [RuntimeError("a bug")]  # not the surroundings: raised as it is
    r = CliRunner().invoke(cli, args + ["--resume"])
    assert r.exit_code == 1 and isinstance(r.exception, RuntimeError), r.output
