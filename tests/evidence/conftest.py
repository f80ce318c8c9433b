"""Shared helpers for the evidence tests: constructed study records, a fake clock and an
in-process fake of the ClinicalTrials.gov API (an ``httpx.MockTransport``).

Nothing here touches the network. Tests that read ``../shared/data`` skip cleanly when
that folder is absent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_CTGOV = (REPO_ROOT / ".." / "shared" / "data" / "ctgov").resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_file(name: str) -> Path:
    """A file of ../shared/data/ctgov, or skip the test when it is not there."""
    path = SHARED_CTGOV / name
    if not path.is_file():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Never read or write the user's real nksim store during tests."""
    d = tmp_path_factory.mktemp("nksim-data")
    monkeypatch.setenv("NKSIM_DATA_DIR", str(d))
    return d


def make_study(
    nct_id: str,
    *,
    title: str = "",
    interventions: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
    conditions: Iterable[str] = (),
    phases: list[str] | None = None,
    study_type: str | None = "INTERVENTIONAL",
    status: str = "RECRUITING",
    last_known_status: str | None = None,
    start: str | None = None,
    start_type: str | None = None,
    countries: Iterable[str] = (),
    sponsor_class: str = "OTHER",
    summary: str = "",
) -> dict[str, Any]:
    """A CONSTRUCTED study record in the API v2 shape (evidence.md §1.3)."""
    status_module: dict[str, Any] = {"overallStatus": status}
    if last_known_status:
        status_module["lastKnownStatus"] = last_known_status
    if start is not None:
        status_module["startDateStruct"] = {"date": start}
        if start_type:
            status_module["startDateStruct"]["type"] = start_type
    design: dict[str, Any] = {}
    if study_type:
        design["studyType"] = study_type
    if phases is not None:
        design["phases"] = phases
    ivs = []
    for item in interventions:
        kind, name, *rest = item
        iv = {"type": kind, "name": name}
        if rest:
            iv["description"] = rest[0]
        ivs.append(iv)
    ps: dict[str, Any] = {
        "identificationModule": {"nctId": nct_id, "briefTitle": title},
        "statusModule": status_module,
        "sponsorCollaboratorsModule": {
            "leadSponsor": {"name": "Constructed Sponsor", "class": sponsor_class}
        },
        "conditionsModule": {"conditions": list(conditions)},
        "designModule": design,
        "armsInterventionsModule": {"interventions": ivs},
        "contactsLocationsModule": {
            "locations": [{"facility": "x", "country": c} for c in countries]
        },
    }
    if summary:
        ps["descriptionModule"] = {"briefSummary": summary}
    return {"_constructed": True, "protocolSection": ps, "hasResults": False}


@dataclass
class FakeClock:
    """A monotonic clock whose ``sleep`` only moves time forward (no real sleeping)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Reply = Callable[[httpx.Request], httpx.Response] | httpx.Response | Exception


@dataclass
class FakeRegistry:
    """Replays scripted answers for ``/studies`` (in order) and answers ``/version``.

    Each scripted item is an ``httpx.Response``, an exception to raise (e.g.
    ``httpx.ReadTimeout``) or a callable taking the request. Every request is recorded
    with the fake clock's time, so tests can check paging parameters and pacing.
    """

    script: list[Reply]
    clock: FakeClock = field(default_factory=FakeClock)
    requests: list[tuple[float, httpx.Request]] = field(default_factory=list)
    version: dict[str, Any] = field(
        default_factory=lambda: {"apiVersion": "2.0.5", "dataTimestamp": "2025-01-02T03:04:05"}
    )
    offline: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution")
        if request.url.path.endswith("/version"):
            return httpx.Response(200, json=self.version)
        self.requests.append((self.clock(), request))
        if not self.script:
            raise AssertionError(f"unexpected request {request.url}")
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def client(self, **kw: Any):
        from nksim.evidence import RegistryClient

        kw.setdefault("clock", self.clock)
        kw.setdefault("sleep", self.clock.sleep)
        return RegistryClient("https://fake.test/api/v2", transport=self.transport(), **kw)

    def params(self, i: int) -> dict[str, str]:
        return dict(self.requests[i][1].url.params)


def fetch_script(tmp_path: Path, script, version: Any = None, **client_kw: Any):
    """Fetch from a :class:`FakeRegistry` answering ``script`` into a new store:
    ``(store, fake, error message or None)``."""
    from nksim.evidence import RegistryError, StudyStore, fetch_to_store

    fake = FakeRegistry(script)
    if version is not None:
        fake.version = version
    store = StudyStore(tmp_path / "s.duckdb")
    client_kw.setdefault("min_interval", 0.0)
    with fake.client(**client_kw) as client:
        try:
            fetch_to_store(store, client)
            error = None
        except RegistryError as exc:
            error = str(exc)
    return store, fake, error


def page(
    studies: list[dict[str, Any]], next_token: str | None = None, total: int | None = None
) -> httpx.Response:
    """A JSON page of /studies in the API's shape."""
    body: dict[str, Any] = {"studies": studies}
    if next_token:
        body["nextPageToken"] = next_token
    if total is not None:
        body["totalCount"] = total
    return httpx.Response(200, json=body)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
