"""Shared by the resume tests (tests/test_execution_hostile.py,
tests/test_resume_integrity.py): a small W1-like scenario, a run of it stopped after some
chunks, and the one-line error check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nksim.execution import partial_dir, run_to_folder

# 30 patients in chunks of 5: six chunks, a few seconds in all.
SCENARIO = textwrap.dedent("""\
    [model]
    name = "depillis2006"
    parameter_set = "patient9"

    [simulation]
    t_end = 20
    record_every = 1

    [population]
    size = 30
    seed = 3
    lognormal_sigma = { all = 0.3 }
    """)


class Killed(Exception):
    pass


def plan(folder: Path):
    from nksim.scenario import load_scenario, plan_simulation

    (folder / "s.toml").write_text(SCENARIO)
    return plan_simulation(load_scenario(folder / "s.toml"), base_dir=folder)


def run_summary(counts, n, run_time, execution):
    return {"status_counts": counts, "n_patients": n, "execution": execution}


def interrupted(tmp_path: Path, fmt: str, k: int = 4):
    """A run of 30 patients in chunks of 5 stopped after ``k`` chunks were written:
    ``(population, its hidden work folder)``."""
    population = plan(tmp_path).population()

    def hook(chunk, done, total):
        if done == k:
            raise Killed

    with pytest.raises(Killed):
        run_to_folder(population, tmp_path / "out", fmt=fmt, chunk_size=5,
                      summary=run_summary, on_chunk=hook)
    work = partial_dir(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert len(list((work / "patients").glob("part-*.parquet"))) == k
    return population, work


def one_line_error(result, start: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nksim: error: " + start), result.output
    assert "Traceback" not in result.output
    return lines[0]
