"""Execution against hostile surroundings: a "scheduler" that never answers or answers
with other bytes (a bounded, one-line error), and a resumed run whose part files were
cut short (the chunks are computed again, never trusted)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from _interrupted_runs import SCENARIO, interrupted, one_line_error, plan, run_summary
from nksim.cli import cli
from nksim.errors import UserError
from nksim.execution import connect_scheduler, run_to_folder

pytest.importorskip("distributed")



class _Server:
    """A TCP listener on 127.0.0.1 that accepts connections and then says nothing, or
    sends ``reply`` (bytes that are not Dask's protocol)."""

    def __init__(self, reply: bytes | None = None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.reply, self.conns, self.stop = reply, [], threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()




def test_a_silent_server_is_a_one_line_error_within_the_timeout(tmp_path):
    with _Server() as server:
        start = time.monotonic()
        with pytest.raises(UserError) as info:
            connect_scheduler(server.address, timeout_s=1.0)
        took = time.monotonic() - start
    assert took < 5, took
    assert info.value.field == "--scheduler"
    assert str(info.value) == (f"--scheduler: no Dask scheduler answered at {server.address} "
                               "within 1 s")


def test_a_silent_server_writes_nothing_and_the_process_exits(tmp_path):
    """Through run_to_folder, in a process of its own: nothing written, and no client
    left behind that keeps the process from exiting."""
    (tmp_path / "s.toml").write_text(SCENARIO)
    script = textwrap.dedent("""\
        import sys
        from pathlib import Path
        from nksim.errors import UserError
        from nksim.execution import run_to_folder
        from nksim.scenario import load_scenario, plan_simulation
        folder, address = Path(sys.argv[1]), sys.argv[2]
        plan = plan_simulation(load_scenario(folder / "s.toml"), base_dir=folder)
        try:
            run_to_folder(plan.population(), folder / "out", scheduler=address,
                          connect_timeout_s=1.0, summary=lambda *a: {})
        except UserError as exc:
            print(exc)
        """)
    (tmp_path / "connect.py").write_text(script)
    with _Server() as server:
        start = time.monotonic()
        p = subprocess.run([sys.executable, str(tmp_path / "connect.py"), str(tmp_path),
                            server.address], capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == (f"--scheduler: no Dask scheduler answered at "
                                f"{server.address} within 1 s")
    assert "Traceback" not in p.stderr
    assert took < 60, took  # start-up and compiling included; the connection itself ~1 s
    assert sorted(q.name for q in tmp_path.iterdir()) == ["connect.py", "s.toml"]


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 3,  # "3.07 EiB" to read
    b"\xff" * 64,
    b"SSH-2.0-OpenSSH_9.6\r\n",
])
def test_a_server_speaking_another_protocol_is_a_one_line_error(tmp_path, reply):
    (tmp_path / "s.toml").write_text(SCENARIO)
    with _Server(reply) as server:
        start = time.monotonic()
        r = CliRunner().invoke(cli, ["simulate", str(tmp_path / "s.toml"), "--out",
                                     str(tmp_path / "out"), "--scheduler", server.address])
        took = time.monotonic() - start
    one_line_error(r, f"--scheduler: no Dask scheduler answered at {server.address}")
    assert took < 15, took  # the default timeout (10 s) at most
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_bad_address_is_refused_at_once():
    for bad in ("", "tcp://host", "http://127.0.0.1:8786", "a b:1", "tcp://127.0.0.1:70000"):
        with pytest.raises(UserError, match="expected an address such as tcp://HOST:PORT"):
            connect_scheduler(bad)


def test_an_empty_scheduler_option_is_refused_not_taken_for_local(tmp_path):
    with pytest.raises(UserError, match="--scheduler: expected an address"):
        run_to_folder(plan(tmp_path).population(), tmp_path / "out", scheduler="",
                      summary=run_summary)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ resume and bad parts









def _cut(path, size=100):
    data = path.read_bytes()
    assert len(data) > size
    path.write_bytes(data[:size])


def _empty_parquet_like(path):
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 0), path)  # a whole file, with no rows


@pytest.mark.parametrize("fmt, spoil", [
    ("parquet", "timecourse-cut"),
    ("parquet", "patients-cut"),
    ("parquet", "timecourse-zeros"),
    ("parquet", "timecourse-rows"),
    ("csv", "timecourse-cut"),
    ("csv", "timecourse-empty"),
])
def test_resume_computes_spoilt_chunks_again(tmp_path, fmt, spoil):
    population, work = interrupted(tmp_path, fmt)
    what, how = spoil.split("-")
    part = work / what / f"part-000001.{'parquet' if what == 'patients' else fmt}"
    if how == "cut":
        _cut(part)
    elif how == "zeros":  # a crash before the data reached the disk
        part.write_bytes(b"\0" * part.stat().st_size)
    elif how == "empty":
        part.write_bytes(b"")
    else:
        _empty_parquet_like(part)
    outcome = run_to_folder(population, tmp_path / "out", fmt=fmt, summary=run_summary,
                            resume=True)
    assert (outcome.chunks, outcome.chunks_resumed, outcome.chunks_recomputed) == (6, 3, 1)
    assert not work.exists()
    ref = run_to_folder(population, tmp_path / "ref", fmt=fmt, chunk_size=5,
                        summary=run_summary)
    assert ref.chunks_recomputed == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    got = read(tmp_path / "out" / f"timecourse.{fmt}")
    want = read(tmp_path / "ref" / f"timecourse.{fmt}")
    assert len(got) == 30 * population.times.size and got["patient"].nunique() == 30
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "patients.parquet"),
                                  pd.read_parquet(tmp_path / "ref" / "patients.parquet"))
    import json

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["execution"]["chunks_recomputed"] == 1
    assert summary["execution"]["chunks_resumed"] == 3
    assert np.sum(list(summary["status_counts"].values())) == 30


def test_whole_parts_are_resumed_as_before(tmp_path):
    population, work = interrupted(tmp_path, "parquet", k=2)
    outcome = run_to_folder(population, tmp_path / "out", summary=run_summary, resume=True)
    assert (outcome.chunks_resumed, outcome.chunks_recomputed) == (2, 0)
    import json

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "chunks_recomputed" not in summary["execution"]
