"""The registry client against an in-process fake API: paging, pacing, retries and
errors, with a fake clock (no real sleeping). One test uses a real local HTTP server to
exercise genuine timeouts and truncated bodies. Nothing touches the internet."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from nksim.errors import OfflineError, UserError
from nksim.evidence import DEFAULT_FIELDS, RegistryClient, RegistryError, check_params

from .conftest import FakeRegistry, make_study, page, shared_file


def _studies(*ids):
    return [make_study(i) for i in ids]


def test_paging_repeats_first_page_parameters():
    fake = FakeRegistry(
        [
            page(_studies("NCT98300001", "NCT98300002"), "tok-2", total=5),
            page(_studies("NCT98300003", "NCT98300004"), "tok-3"),
            page(_studies("NCT98300005")),
        ]
    )
    with fake.client() as client:
        pages = list(
            client.iter_pages(
                {"query.intr": "NK cell", "filter.advanced": "AREA[StudyType]INTERVENTIONAL"},
                page_size=2,
            )
        )
    assert [p.number for p in pages] == [1, 2, 3]
    assert sum(len(p.studies) for p in pages) == 5
    assert pages[0].total_count == 5 and pages[1].total_count is None
    first, second, third = fake.params(0), fake.params(1), fake.params(2)
    assert first["countTotal"] == "true" and "pageToken" not in first
    assert (
        "countTotal" not in second
        and second["pageToken"] == "tok-2"
        and third["pageToken"] == "tok-3"
    )
    for later in (second, third):
        for key in ("query.intr", "filter.advanced", "fields", "pageSize"):
            assert later[key] == first[key]
    assert first["fields"].split(",") == list(DEFAULT_FIELDS)


def test_at_most_one_request_per_second():
    fake = FakeRegistry(
        [page(_studies("NCT98300001"), "t2"), page(_studies("NCT98300002"), "t3"), page([])]
    )
    with fake.client() as client:
        list(client.iter_pages())
    times = [t for t, _ in fake.requests]
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
    assert fake.clock.sleeps  # the client waited instead of firing at once


def test_empty_page_with_token_keeps_paging():
    fake = FakeRegistry([page([], "t2"), page(_studies("NCT98300001"))])
    with fake.client() as client:
        pages = list(client.iter_pages())
    assert [len(p.studies) for p in pages] == [0, 1]


def test_retries_429_and_500_with_exponential_backoff():
    fake = FakeRegistry(
        [
            httpx.Response(429, text="Too Many Requests"),
            httpx.Response(500, text="oops"),
            httpx.Response(503, text="busy"),
            page(_studies("NCT98300001")),
        ]
    )
    with fake.client(min_interval=0.0, backoff_base=1.0) as client:
        pages = list(client.iter_pages())
    assert len(pages[0].studies) == 1
    assert fake.clock.sleeps == [1.0, 2.0, 4.0]


def test_retry_after_header_is_honoured():
    fake = FakeRegistry(
        [httpx.Response(429, headers={"Retry-After": "7"}), page(_studies("NCT98300001"))]
    )
    with fake.client(min_interval=0.0) as client:
        list(client.iter_pages())
    assert fake.clock.sleeps == [7.0]


def test_backoff_is_capped():
    fake = FakeRegistry([httpx.Response(500)] * 4 + [page([])])
    with fake.client(min_interval=0.0, backoff_base=10.0, backoff_max=25.0) as client:
        list(client.iter_pages())
    assert fake.clock.sleeps == [10.0, 20.0, 25.0, 25.0]


def test_timeouts_and_dropped_connections_are_retried():
    fake = FakeRegistry(
        [
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("peer closed connection"),
            page(_studies("NCT98300001")),
        ]
    )
    with fake.client(min_interval=0.0) as client:
        pages = list(client.iter_pages())
    assert len(pages[0].studies) == 1 and len(fake.requests) == 3


@pytest.mark.parametrize("body, message", [
    (b'{"studies": [{"protocolSection": {"identifi', "not valid JSON"),
    (b"<html><body>maintenance</body></html>", "an HTML page"),
    ('{"studies": [], "x": "Caf\u00e9"}'.encode("latin-1"), "not UTF-8 text"),
])
def test_a_complete_answer_that_is_not_json_is_one_error_not_retried(body, message):
    # the server sent the whole body: asking again would bring the same (a truncated
    # transfer is a dropped connection, which is retried)
    fake = FakeRegistry([httpx.Response(200, content=body), page(_studies("NCT98300001"))])
    with fake.client(min_interval=0.0) as client, pytest.raises(RegistryError, match=message):
        list(client.iter_pages())
    assert len(fake.requests) == 1 and fake.clock.sleeps == []


def test_http_400_is_not_retried_and_names_the_problem():
    fake = FakeRegistry([httpx.Response(400, json={"error": "unknown parameter"})])
    with fake.client() as client, pytest.raises(RegistryError, match="HTTP 400.*unknown parameter"):
        list(client.iter_pages())
    assert len(fake.requests) == 1


def test_retries_exhausted_gives_one_line_error():
    fake = FakeRegistry([httpx.Response(503)] * 3)
    with (
        fake.client(min_interval=0.0, max_retries=2) as client,
        pytest.raises(RegistryError) as err,
    ):
        list(client.iter_pages())
    assert "3 times" in str(err.value) and "HTTP 503" in str(err.value)
    assert "\n" not in str(err.value)


def test_offline_is_a_clear_one_line_error():
    fake = FakeRegistry([httpx.ConnectError("[Errno -2] Name or service not known")])
    with fake.client() as client, pytest.raises(OfflineError) as err:
        list(client.iter_pages())
    assert "cannot reach" in str(err.value) and "\n" not in str(err.value)
    assert len(fake.requests) == 1  # no pointless retries when there is no network


def test_connect_timeouts_end_as_offline_error():
    fake = FakeRegistry([httpx.ConnectTimeout("t")] * 3)
    with fake.client(min_interval=0.0, max_retries=2) as client, pytest.raises(OfflineError):
        list(client.iter_pages())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter.phase": "PHASE3"}, "AREA\\[Phase\\]PHASE3"),
        ({"aggFilters": "phase:PHASE3"}, "bare numbers"),
        ({"aggFilters": "status:com,phase:na"}, "AREA\\[Phase\\]NA"),
        ({"pageToken": "x"}, "set by the client"),
        ({"phase": "3"}, "not a /studies parameter"),
    ],
)
def test_known_parameter_pitfalls_are_refused(params, message):
    with pytest.raises(UserError, match=message):
        check_params(params)


def test_working_phase_filters_are_allowed():
    check_params(
        {"filter.advanced": "AREA[Phase](PHASE1 OR PHASE2)", "aggFilters": "phase:2 3 4,status:com"}
    )


def test_count_uses_total_count():
    fake = FakeRegistry([page(_studies("NCT98300001"), "t", total=784)])
    with fake.client() as client:
        assert client.count({"query.intr": "NK"}) == 784
    assert fake.params(0)["pageSize"] == "1"


def test_real_shape_page_from_shared_data():
    body = shared_file("NCT02513394_v2_tracker_fields_only.json").read_bytes()
    fake = FakeRegistry(
        [httpx.Response(200, content=body, headers={"Content-Type": "application/json"})]
    )
    with fake.client() as client:
        pages = list(client.iter_pages())
    assert len(pages) == 1 and pages[0].next_page_token is None
    assert pages[0].studies[0]["protocolSection"]["identificationModule"]["nctId"] == "NCT02513394"


# ------------------------------------------------------------ a real local server


class _Handler(BaseHTTPRequestHandler):
    plan: list[str] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        action = self.plan.pop(0) if self.plan else "ok"
        body = json.dumps({"studies": [make_study("NCT98300009")]}).encode()
        if action == "slow":
            time.sleep(0.6)
        if action == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then close: fewer bytes than promised
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_slow_and_truncated_responses_from_a_real_server(local_server):
    _Handler.plan = ["slow", "truncated", "ok"]
    sleeps: list[float] = []
    with RegistryClient(local_server, timeout=0.2, min_interval=0.0, sleep=sleeps.append) as client:
        pages = list(client.iter_pages())
    assert pages[0].studies[0]["protocolSection"]["identificationModule"]["nctId"] == "NCT98300009"
    assert sleeps == [1.0, 2.0]  # one retry after the timeout, one after the truncated body


def test_connection_refused_is_offline_error():
    with RegistryClient("http://127.0.0.1:9", timeout=1.0, sleep=lambda s: None) as client:
        with pytest.raises(OfflineError):
            list(client.iter_pages())
