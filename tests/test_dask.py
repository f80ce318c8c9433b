"""Chunks as tasks on a dask.distributed cluster (issue 13 §2): the same bytes as a local run.

The test starts a LocalCluster of two worker processes and stops it.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
from click.testing import CliRunner

from nksim.cli import cli

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # ~40 s: two worker processes start and load the compiled model

SCENARIO = textwrap.dedent("""\
    [model]
    name = "depillis2006"
    parameter_set = "patient9"

    [[doses]]
    state = "M"
    amount = 5
    start = 7
    every = 7
    count = 4

    [simulation]
    t_end = 40
    record_every = 1

    [population]
    size = 200
    seed = 11
    lognormal_sigma = { all = 0.3 }
    """)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0,
                      worker_dashboard_address=None) as c:
        yield c


def _simulate(tmp_path, *args):
    return CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), *args],
                              catch_exceptions=False)


def test_dask_run_is_bit_identical_to_a_local_run(tmp_path, cluster):
    (tmp_path / "s.toml").write_text(SCENARIO)
    r = _simulate(tmp_path, "--out", str(tmp_path / "dask"), "--format", "parquet",
                  "--chunk-size", "30", "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.output
    r = _simulate(tmp_path, "--out", str(tmp_path / "local"), "--format", "parquet",
                  "--chunk-size", "30")
    assert r.exit_code == 0, r.output
    for name in ("timecourse.parquet", "patients.parquet"):
        got = pd.read_parquet(tmp_path / "dask" / name)
        ref = pd.read_parquet(tmp_path / "local" / name)
        assert len(got) == len(ref) > 0
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    local = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert summary["execution"]["scheduler"] == cluster.scheduler_address
    assert summary["execution"]["chunks"] == 7
    assert summary["execution"]["fingerprint"] == local["execution"]["fingerprint"]
    assert summary["status_counts"] == local["status_counts"]
    # the chunks really ran on the workers (two processes other than this one)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
    finally:
        client.close()


def test_scenario_execution_section_uses_the_cluster(tmp_path, cluster):
    text = SCENARIO.replace("size = 200", "size = 50") + \
        f'\n[execution]\nscheduler = "{cluster.scheduler_address}"\nchunk_size = 20\n'
    (tmp_path / "s.toml").write_text(text)
    r = _simulate(tmp_path, "--out", str(tmp_path / "o"), "--format", "parquet")
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["execution"]["scheduler"] == cluster.scheduler_address
    assert summary["execution"]["chunk_size"] == 20 and summary["n_patients"] == 50
