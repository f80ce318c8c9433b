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


def test_trial_batches_on_the_cluster_are_the_same(cluster):
    """The trial runner's simulation batches as Dask tasks (``nksim trial --scheduler``)."""
    from types import SimpleNamespace

    import numpy as np

    from nksim.dosing import Dose
    from nksim.library import get_model
    from nksim.population import lognormal_parameters
    from nksim.trials._trial import _simulate_in_batches

    model = get_model("depillis2006", "patient9")
    n = 23
    params = lognormal_parameters(model, n, 5, 0.3)
    initial = np.tile(model.initial_vector(), (n, 1))
    doses = [[Dose("M", 5.0, 7.0 + k % 3, every=7.0, count=3)] for k in range(n)]
    patients = pd.DataFrame({"candidate": np.arange(100, 100 + n)})
    trial = SimpleNamespace(trial=SimpleNamespace(batch_size=5, rtol=1e-6, atol=1e-6,
                                                  threads=None, run_in_days=0.0))
    times = np.arange(0.0, 41.0)

    class Bar:
        done = 0

        def update(self, k):
            self.done += k

    bar = Bar()
    local = _simulate_in_batches(model, times, params, initial, doses, patients, trial, Bar())
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        remote = _simulate_in_batches(model, times, params, initial, doses, patients, trial,
                                      bar, client)
    finally:
        client.close()
    assert bar.done == n and list(remote.patients.index) == list(range(100, 100 + n))
    assert remote.dataset.equals(local.dataset)  # every value, bit for bit
    pd.testing.assert_frame_equal(remote.patients, local.patients, check_exact=True)


def test_trial_cli_with_an_unreachable_scheduler_writes_nothing(tmp_path, small_trial_toml):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "t.toml").write_text(small_trial_toml(
        name="small test trial", seed=7, patients_per_arm=6, follow_up_days=200,
        n_candidates=90))
    r = CliRunner().invoke(cli, ["trial", str(tmp_path / "t.toml"), "--out",
                                 str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert r.exit_code == 2, r.output
    assert r.output.strip().startswith("nksim: error: --scheduler: cannot reach the Dask")
    assert len(r.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml"]
