"""Fetches and imports against a registry (or a file) that answers wrongly: pages without
a ``studies`` list, fewer studies than announced, endless empty pages, trickled headers,
bad ``Retry-After`` dates and ``dataTimestamp`` values, records with unpaired surrogates or
wrong-shape fields, and runs that are interrupted or die. Each ends with a recorded
outcome and one clear error (or a record kept aside with its reason). Everything runs
against in-process fakes or a server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from click.testing import CliRunner

from nksim.evidence import RegistryError, StudyStore, build_landscape, fetch_to_store

from .conftest import FakeRegistry, fetch_script, make_study, page


def _studies(*ids):
    return [make_study(i, title=f"NK cells {i}") for i in ids]


# ------------------------------------------------------------ 1. pages without studies
@pytest.mark.parametrize("body, message", [
    ({"error": "temporarily unavailable"}, "error: \"temporarily unavailable\""),
    ({"studies": None}, "'studies' is a JSON null"),
    ({"nextPageToken": "t3"}, "no 'studies' list"),
])
def test_a_page_without_studies_is_an_error_not_the_last_page(tmp_path, body, message):
    script = [page(_studies("NCT98400001", "NCT98400002"), next_token="t2", total=6),
              httpx.Response(200, json=body)]
    store, _, error = fetch_script(tmp_path, script)
    assert error is not None and "page 2: not a page of studies" in error and message in error
    (info,) = store.fetches()
    assert not info.complete and info.finished_at is not None
    assert "not a page of studies" in info.error and info.n_studies == 2


def test_a_fetch_well_short_of_total_count_is_incomplete(tmp_path):
    script = [page(_studies("NCT98400011", "NCT98400012"), next_token="t2", total=100),
              page(_studies("NCT98400013"))]
    store, _, error = fetch_script(tmp_path, script)
    assert error is None
    (info,) = store.fetches()
    assert not info.complete and info.n_studies == 3
    assert "announced 100 studies" in info.error and "sent 3" in info.error


# ------------------------------------------------------------ 10. endless paging
def test_endless_empty_pages_without_total_are_stopped_and_recorded(tmp_path):
    script = [page([], next_token=f"t{i}") for i in range(200)]
    store, fake, error = fetch_script(tmp_path, script)
    assert error is not None and "avoid paging forever" in error
    assert len(fake.requests) <= 12
    (info,) = store.fetches()
    assert not info.complete and "avoid paging forever" in info.error


# ------------------------------------------------------------ 4. Retry-After dates
@pytest.mark.parametrize("when", ["Wed, 21 Oct 2015 07:28:00 -0000",
                                  "Wed, 21 Oct 2015 07:28:00"])
def test_retry_after_date_without_a_zone_is_read_as_utc(tmp_path, when):
    script = [httpx.Response(503, headers={"Retry-After": when}, text="busy"),
              page(_studies("NCT98400021"), total=1)]
    store, fake, error = fetch_script(tmp_path, script)
    assert error is None
    (info,) = store.fetches()
    assert info.complete and info.n_studies == 1
    assert fake.clock.sleeps == [1.0]  # a date in the past: the ordinary backoff
    assert info.data_timestamp == "2025-01-02T03:04:05"  # a date-like one is kept


# ------------------------------------------------------------ 5. dataTimestamp
@pytest.mark.parametrize("stamp", [["x", {"y": 1}], {"y": 1}, 20250101,
                                   "2025-01-01T00:00:00" + "X" * 5_000_000, "soon"])
def test_a_bad_data_timestamp_is_dropped(tmp_path, stamp):
    store, _, error = fetch_script(tmp_path, [page(_studies("NCT98400031"), total=1)],
                             version={"apiVersion": "2.0.5", "dataTimestamp": stamp})
    assert error is None
    (info,) = store.fetches()
    assert info.complete and info.data_timestamp is None


# ------------------------------------------------------------ 3. unpaired surrogates
def test_a_record_with_an_unpaired_surrogate_is_set_aside(tmp_path):
    good = _studies("NCT98400041", "NCT98400042")
    body = json.dumps({"studies": good, "totalCount": 2}).replace(
        "NK cells NCT98400042", "NK \\udc80 title")
    store, _, error = fetch_script(tmp_path, [httpx.Response(200, content=body.encode())])
    assert error is None
    (info,) = store.fetches()
    assert info.complete and info.n_studies == 1 and info.n_rejected == 1
    ((_, reason),) = store.rejected(info.fetch_id)
    assert "surrogate" in reason


def test_import_sets_aside_surrogate_records_and_keeps_bad_metadata_storable(tmp_path):
    from nksim.cli_evidence import landscape

    snap = tmp_path / "snap.json"
    text = json.dumps({"_comment": "note \udc80", "_meta": {"data_timestamp": "x\udc80"},
                       "studies": _studies("NCT98400043", "NCT98400044")})
    snap.write_text(text.replace("NK cells NCT98400044", "NK \\ud800 title"))
    res = CliRunner().invoke(landscape, ["import", str(snap), "--store",
                                         str(tmp_path / "s.duckdb")])
    assert res.exit_code == 0, res.output
    assert "imported 1 studies" in res.output and "1 malformed record(s) set aside" in res.output
    res = CliRunner().invoke(landscape, ["history", "--store", str(tmp_path / "s.duckdb")])
    assert "1 set aside" in res.output


# ------------------------------------------------------------ 6. wrong-shape fields
def _with(nct, **design):
    s = make_study(nct, title="NK cells", phases=["PHASE1"])
    s["protocolSection"]["designModule"].update(design)
    return s


@pytest.mark.parametrize("record, reason", [
    (_with("NCT98400051", phases="PHASE3"), "phases is a JSON str"),
    (_with("NCT98400052", phases={"PHASE3": 1}), "phases is a JSON dict"),
    (_with("NCT98400053", phases=["PHASE1", "FOO", "BAR"]), "'FOO'"),
    (_with("NCT98400054", phases=["PHASE1", None]), "holds None"),
    (make_study("NCT\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"), "not of the form"),
])
def test_wrong_shape_fields_are_set_aside_on_arrival(tmp_path, record, reason):
    script = [page([record, make_study("NCT98400059", phases=["PHASE2"])], total=2)]
    store, _, error = fetch_script(tmp_path, script)
    assert error is None
    (info,) = store.fetches()
    assert info.n_studies == 1 and info.n_rejected == 1
    ((_, why),) = store.rejected(info.fetch_id)
    assert reason in why


def test_a_study_counts_once_in_missing_and_a_phase_string_is_not_letters():
    from nksim.evidence._record import parse_study

    assert parse_study(_with("NCT98400061", phases="PHASE3")).phases == ()
    odd = _with("NCT98400062", phases=["FOO", "BAR", "BAZ"])
    land = build_landscape([odd, make_study("NCT98400063", phases=["PHASE1"])])
    assert sum(land.by_phase().values()) <= 2


# ------------------------------------------------------------ 9. absurd enrollment
@pytest.mark.parametrize("count", [2**63, 10**40, -5, True])
def test_out_of_range_enrollment_is_missing(tmp_path, count):
    rec = make_study("NCT98400071", title="NK cells",
                     interventions=[("BIOLOGICAL", "NK cells")])
    rec["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": count}
    land = build_landscape([rec])
    assert land.classifications[0].record.enrollment is None
    table = land.trials_table()
    table.to_parquet(tmp_path / "t.parquet")
    assert table["enrollment"].isna().all()


# ------------------------------------------------------------ 7. recorded outcomes
def test_sigterm_during_a_fetch_records_it_interrupted(tmp_path):
    from nksim.cli_evidence import _sigterm_interrupts

    fake = FakeRegistry([page(_studies("NCT98400081"), next_token="t2", total=2),
                         page(_studies("NCT98400082"))])
    store = StudyStore(tmp_path / "s.duckdb")

    def progress(page, stored):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs here

    with fake.client(min_interval=0.0) as client, pytest.raises(KeyboardInterrupt):
        with _sigterm_interrupts():
            fetch_to_store(store, client, progress=progress)
    (info,) = store.fetches()
    assert info.finished_at is not None and not info.complete
    assert info.error.startswith("interrupted") and info.n_studies == 1


def test_a_run_left_unfinished_by_a_dead_process_is_marked_on_open(tmp_path):
    path = tmp_path / "s.duckdb"
    code = ("import os, sys; from nksim.evidence import StudyStore; "
            "s = StudyStore(sys.argv[1]); f = s.begin_fetch(source='api'); "
            "s.add_page(f, 1, [{'protocolSection': {'identificationModule': "
            "{'nctId': 'NCT98400091'}}}]); s.close(); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=120)
    with StudyStore(path) as store:
        (info,) = store.fetches()
        assert info.finished_at is not None and not info.complete
        assert info.error == "interrupted (process ended)" and info.n_studies == 1


def test_a_failed_import_records_its_outcome(tmp_path, monkeypatch):
    store = StudyStore(tmp_path / "s.duckdb")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "add_page", broken)
    with pytest.raises(RuntimeError):
        store.import_records(_studies("NCT98400092"))
    (info,) = store.fetches()
    assert info.finished_at is not None and not info.complete
    assert "disk full" in info.error


# ------------------------------------------------------------ 8. older stores
def test_unvalidated_records_of_an_older_store_are_skipped_with_a_warning(tmp_path):
    from nksim.cli_evidence import landscape
    from nksim.evidence import landscape_from_store

    path = tmp_path / "s.duckdb"
    with StudyStore(path) as store:
        info = store.import_records([make_study("NCT98400101", title="NK cells",
                                                interventions=[("BIOLOGICAL", "NK cells")])])
        bad = make_study("NCT98400102")
        bad["protocolSection"]["statusModule"] = "RECRUITING"  # as an older nksim kept it
        store._con.execute("INSERT INTO studies VALUES (?, ?, 1, ?)",
                           [info.fetch_id, "NCT98400102", json.dumps(bad)])
        land = landscape_from_store(store)
        assert land.records_skipped == 1 and len(land.classifications) == 1
    res = CliRunner().invoke(landscape, ["report", "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert "1 stored record(s) of fetch #1 are malformed" in res.output


# ------------------------------------------------------------ 2, 11. deadline
class _SlowHeaders(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).calls += 1
        try:  # the status line, then one header byte every 0.2 s (for 8 s at most)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(40):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass


@pytest.fixture
def slow_headers():
    _SlowHeaders.calls = 0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHeaders)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_trickled_headers_meet_the_deadline_and_are_not_retried(slow_headers):
    from nksim.evidence import RegistryClient

    start = time.monotonic()
    with RegistryClient(f"http://127.0.0.1:{slow_headers.server_address[1]}",
                        min_interval=0.0, max_retries=3, sleep=lambda s: None,
                        timeout=5.0, deadline=1.0) as client:
        with pytest.raises(RegistryError, match="deadline"):
            client.get_json("/studies")
    assert time.monotonic() - start < 4.0
    assert _SlowHeaders.calls == 1
