"""A registry that misbehaves: repeated or absurd page tokens, malformed records, absurd
totals, redirect loops, trickling and oversized answers. Each ends in one clear error (or
a record kept aside with its reason), and every fetch that stored something ends with a
recorded outcome. Everything runs against in-process fakes or a server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from nksim.evidence import RegistryError, StudyStore, fetch_to_store

from .conftest import FakeRegistry, fetch_script, make_study, page


def test_repeated_page_token_ends_thefetch_script(tmp_path):
    looping = [page([make_study(f"NCT9831000{i % 4}")], next_token="same") for i in range(50)]
    store, fake, error = fetch_script(tmp_path, looping)
    assert "page token again" in error
    assert len(fake.requests) == 2  # the first repeat is caught, not the 325th
    (info,) = store.fetches()
    # the page that repeats a token is not trusted: only page 1 is kept
    assert info.n_studies == 1 and not info.complete and info.finished_at is not None


def test_fresh_tokens_beyond_total_count_end_thefetch_script(tmp_path):
    # a server that invents new tokens forever but re-sends the same 4 studies
    script = [page([make_study(f"NCT9832000{i % 4}")], next_token=f"t{i}", total=4)
              for i in range(40)]
    store, fake, error = fetch_script(tmp_path, script)
    assert "avoid paging forever" in error
    assert len(fake.requests) < 10
    (info,) = store.fetches()
    assert info.n_studies == 4  # distinct studies, not one per page received


def test_malformed_records_are_kept_aside_with_their_reason(tmp_path):
    good = make_study("NCT98330001")
    bad_module = make_study("NCT98330002")
    bad_module["protocolSection"]["statusModule"] = "RECRUITING"
    script = [page([good, bad_module, "not a record", {"protocolSection": []},
                    make_study("NCT1")])]
    store, _, error = fetch_script(tmp_path, script)
    assert error is None
    (info,) = store.fetches()
    assert info.n_studies == 1 and info.complete
    reasons = [r for _, r in store.rejected(info.fetch_id)]
    assert len(reasons) == 4
    assert any("statusModule is not an object" in r for r in reasons)
    assert any("not of the form NCT" in r for r in reasons)
    # and the stored fetch still makes a landscape
    from nksim.evidence import landscape_from_store

    assert landscape_from_store(store).to_dict()


@pytest.mark.parametrize("total", [10**12, -1, "many", 1.5])
def test_absurd_total_count_is_one_error(tmp_path, total):
    store, _, error = fetch_script(tmp_path, [httpx.Response(200, json={
        "studies": [make_study("NCT98340001")], "totalCount": total})])
    assert "implausible totalCount" in error
    (info,) = store.fetches()  # the fetch is recorded, with its error, and holds nothing
    assert info.n_studies == 0 and not info.complete and "implausible totalCount" in info.error


def test_huge_page_token_is_refused(tmp_path):
    store, _, error = fetch_script(tmp_path, [page([make_study("NCT98350001")],
                                             next_token="x" * 10_000_000)])
    assert "implausible nextPageToken" in error


def test_redirect_loop_is_one_error(tmp_path):
    loop = httpx.Response(302, headers={"Location": "https://fake.test/api/v2/studies"})
    store, _, error = fetch_script(tmp_path, [loop] * 20)
    assert "redirect loop" in error


def test_interrupted_fetch_records_its_outcome(tmp_path):
    def interrupt(request):
        raise KeyboardInterrupt

    fake = FakeRegistry([page([make_study("NCT98360001")], next_token="t1"), interrupt])
    store = StudyStore(tmp_path / "s.duckdb")
    with fake.client() as client, pytest.raises(KeyboardInterrupt):
        fetch_to_store(store, client)
    (info,) = store.fetches()
    assert info.finished_at is not None and not info.complete
    assert "interrupted" in info.error


# ------------------------------------------------------------ a real local server
class _Trickle(BaseHTTPRequestHandler):
    mode = "trickle"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            if self.mode == "trickle":  # one byte every 0.2 s, for ever
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            else:  # an endless stream of data, far past the size limit
                for _ in range(64):
                    self.wfile.write(b" " * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(srv, **kw):
    from nksim.evidence import RegistryClient

    return RegistryClient(f"http://127.0.0.1:{srv.server_address[1]}", min_interval=0.0,
                          max_retries=0, sleep=lambda s: None, **kw)


def test_trickling_server_meets_the_overall_deadline(server):
    _Trickle.mode = "trickle"
    start = time.monotonic()
    with _client(server, timeout=5.0, deadline=1.0) as client, pytest.raises(RegistryError):
        client.get_json("/studies")
    assert time.monotonic() - start < 4.0  # each read was quick; the deadline ended it


def test_oversized_response_is_not_read_whole(server):
    _Trickle.mode = "flood"
    with _client(server, max_response_bytes=2**20) as client:
        with pytest.raises(RegistryError, match="larger than 1 MiB"):
            client.get_json("/studies")
