"""A polite client for the ClinicalTrials.gov API v2 (``/studies`` and ``/version``).

Behaviour, with sources (evidence.md §1):

* paging by ``nextPageToken``; every later page repeats the first page's parameters
  except ``countTotal`` (only the first page reports ``totalCount``) — OpenAPI spec;
* at most one request per second by default — robots.txt ``Crawl-delay: 1``; the API
  publishes no rate limit;
* retries with exponential backoff on HTTP 429, 5xx, read timeouts and dropped
  connections, honouring ``Retry-After`` — 429s at peak hours are reported
  (cyanheads/clinicaltrialsgov-mcp-server#20); a request that overruns its overall
  deadline, and a complete answer that is not JSON (an HTML page, another encoding,
  malformed JSON), are not retried: asking again would not help;
* one overall deadline per request, from the moment it is sent: a watchdog shuts the
  connection when it passes, even while the response headers are still arriving;
* ``filter.phase`` does not exist (HTTP 400) and ``aggFilters=phase:PHASE3`` silently
  returns nothing: both are refused here with the working alternative.

Time is injectable (``clock`` and ``sleep``) so that tests never really sleep.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from nksim.errors import OfflineError, UserError

BASE_URL = "https://clinicaltrials.gov/api/v2"
USER_AGENT = "nksim-evidence (research; +https://github.com/nksim)"

#: Whole modules of the Study schema (evidence.md §1.3). Dotted module paths are
#: used instead of piece names such as ``LocationCountry``, which are unconfirmed [M].
DEFAULT_FIELDS: tuple[str, ...] = (
    "protocolSection.identificationModule",
    "protocolSection.statusModule",
    "protocolSection.sponsorCollaboratorsModule",
    "protocolSection.descriptionModule",
    "protocolSection.conditionsModule",
    "protocolSection.designModule",
    "protocolSection.armsInterventionsModule",
    "protocolSection.contactsLocationsModule",
    "HasResults",
)

#: The NK query recipe of evidence.md §1.4: free text in ``query.intr``, the study-type
#: predicate in ``filter.advanced``.
DEFAULT_QUERY: dict[str, str] = {
    "query.intr": '"NK cell" OR "NK cells" OR "natural killer"',
    "filter.advanced": "AREA[StudyType]INTERVENTIONAL",
}


class RegistryError(UserError):
    """The registry answered, but not with usable data (after retries)."""


@dataclass(frozen=True)
class Page:
    """One page of ``/studies``: its studies, the token of the next page, the total."""

    number: int
    studies: list[dict[str, Any]]
    next_page_token: str | None
    total_count: int | None


def check_params(params: Mapping[str, str]) -> None:
    """Refuse parameters known to fail or to mislead (evidence.md §1.2).

    Raises
    ------
    UserError
        For ``filter.phase``, ``aggFilters`` phase keys such as ``PHASE3`` or ``na``,
        and unknown parameter prefixes.
    """
    for key, value in params.items():
        if key == "filter.phase":
            raise UserError(
                "does not exist in API v2 (HTTP 400); use filter.advanced=AREA[Phase]PHASE3",
                field=key,
            )
        if key == "aggFilters":
            for part in re.split(r"[,|]", value):
                fid, _, opts = part.partition(":")
                if fid.strip() == "phase" and any(
                    o.upper().startswith("PHASE") or o.lower() == "na" for o in opts.split()
                ):
                    raise UserError(
                        "phase keys are bare numbers (phase:0 1 2 3 4); "
                        f"{part.strip()!r} silently returns 0 studies. "
                        "For NA use filter.advanced=AREA[Phase]NA",
                        field=key,
                    )
        if key == "format" and value.lower() != "json":
            raise UserError("nksim reads JSON pages only; leave format unset", field=key)
        if not re.match(r"^(query|filter|postFilter)\.\w+$|^(aggFilters|fields|sort|format)$", key):
            if key in ("pageToken", "pageSize", "countTotal"):
                raise UserError("set by the client; do not pass it", field=key)
            raise UserError("not a /studies parameter", field=key)


class RegistryClient:
    """Client for ``https://clinicaltrials.gov/api/v2``.

    Parameters
    ----------
    base_url
        API root (tests point it at a fake).
    min_interval
        Seconds between the starts of two requests (default 1.0: robots.txt
        ``Crawl-delay: 1``).
    max_retries
        Retries per request after the first try (429, 5xx, read timeouts, dropped connections).
    backoff_base, backoff_max
        Delay before retry *k* (0-based) is ``min(backoff_max, backoff_base * 2**k)``,
        or the server's ``Retry-After`` when that is longer.
    timeout
        Seconds; an ``httpx.Timeout`` or a number.
    transport
        An ``httpx`` transport (tests pass ``httpx.MockTransport``).
    clock, sleep
        Monotonic clock and sleep function (tests pass fakes).
    deadline
        Overall seconds allowed for one request, from sending it to the last byte of the
        body: a server that trickles header or body bytes is given up on (``timeout``
        alone bounds each read). A request that overruns it is not retried.
    max_response_bytes
        Largest response body read (default 64 MiB; a full page of 1000 records with
        the default fields is a few MiB). Larger answers are refused, not read whole.
    max_redirects
        Redirects followed per request; a redirect loop ends in a one-line error.
    """

    def __init__(
        self,
        base_url: str = BASE_URL,
        *,
        min_interval: float = 1.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        deadline: float = 120.0,
        max_response_bytes: int = 64 * 2**20,
        max_redirects: int = 5,
    ) -> None:
        if min_interval < 0 or max_retries < 0:
            raise ValueError("min_interval and max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._last_request: float | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
            max_redirects=max_redirects,
            # a fresh connection per request, so that the deadline's watchdog always
            # learns its socket (at one request a second, keep-alive saves little)
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    # -- context management
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- low level
    def _wait_turn(self) -> None:
        if self._last_request is not None:
            wait = self.min_interval - (self._clock() - self._last_request)
            if wait > 0:
                self._sleep(wait)
        self._last_request = self._clock()

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2**attempt)
        retry_after = _retry_after(response) if response is not None else None
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and decode JSON, retrying transient failures.

        Raises
        ------
        OfflineError
            When the host cannot be reached at all (DNS or connection failure).
        RegistryError
            On HTTP 4xx (other than 429), or when retries are exhausted.
        """
        url = f"{self.base_url}{path}"
        problem = ""
        for attempt in range(self.max_retries + 1):
            self._wait_turn()
            response: httpx.Response | None = None
            try:
                response, body = self._get(path, params)
            except httpx.ConnectError as exc:
                raise OfflineError(
                    f"cannot reach {self.base_url} ({_short(exc)}); check the network, "
                    "or use `nksim landscape report --snapshot FILE` offline"
                ) from exc
            except _DeadlinePassed:
                raise RegistryError(f"GET {url}: no complete answer within the "
                                    f"{self.deadline:g} s deadline; not retried") from None
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
                if isinstance(exc, httpx.ConnectTimeout) and attempt == self.max_retries:
                    raise OfflineError(
                        f"cannot reach {self.base_url} (connection timed out); check the network"
                    ) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                problem = f"connection dropped ({_short(exc)})"
            except httpx.TooManyRedirects:
                raise RegistryError(f"GET {url}: redirect loop (more than "
                                    f"{self._http.max_redirects} redirects)") from None
            except httpx.HTTPError as exc:
                raise RegistryError(f"GET {url} failed: {_short(exc)}") from None
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                elif response.status_code >= 400:
                    raise RegistryError(
                        f"GET {url} answered HTTP {response.status_code}: {_short_body(body)}"
                    )
                else:
                    return _decode_json(url, response, body)
            if attempt < self.max_retries:
                self._sleep(self._backoff(attempt, response))
        raise RegistryError(
            f"GET {url} failed {self.max_retries + 1} times; last problem: {problem}"
        )

    def _get(self, path: str, params: Mapping[str, Any] | None) -> tuple[httpx.Response, bytes]:
        """One GET, its body read in chunks within the size limit and the overall deadline.

        The deadline runs from the moment the request is sent: a watchdog thread shuts
        the connection's socket when it passes (headers still arriving included), and
        the body loop checks it between chunks too.
        """
        start = time.monotonic()
        watchdog = _Watchdog(self.deadline)
        try:
            with self._http.stream("GET", path, params=dict(params or {}),
                                   extensions={"trace": watchdog.trace}) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise RegistryError(
                            f"GET {self.base_url}{path}: response larger than "
                            f"{self.max_response_bytes // 2**20} MiB; refused")
                    if time.monotonic() - start > self.deadline:
                        raise _DeadlinePassed
                    chunks.append(chunk)
        except httpx.HTTPError:
            if watchdog.fired:
                raise _DeadlinePassed from None
            raise
        finally:
            watchdog.cancel()
        if watchdog.fired:
            raise _DeadlinePassed
        return response, b"".join(chunks)

    # -- API
    def version(self) -> dict[str, Any]:
        """``GET /version``: ``apiVersion`` and ``dataTimestamp`` (UTC)."""
        data = self.get_json("/version")
        if not isinstance(data, dict):
            raise RegistryError("GET /version did not return a JSON object")
        return data

    def iter_pages(
        self,
        params: Mapping[str, str] | None = None,
        *,
        fields: tuple[str, ...] | None = DEFAULT_FIELDS,
        page_size: int = 1000,
        count_total: bool = True,
        max_pages: int | None = None,
    ) -> Iterator[Page]:
        """Yield the pages of ``GET /studies`` for ``params`` (default: the NK recipe).

        Every page repeats the first page's parameters with the new ``pageToken``;
        ``countTotal`` is sent on the first page only. Pages are yielded as they
        arrive, so a caller can store each one before the next is asked for.
        """
        params = dict(DEFAULT_QUERY if params is None else params)
        check_params(params)
        if not 1 <= page_size <= 1000:
            raise UserError(f"must be 1..1000 (got {page_size})", field="page_size")
        base = dict(params)
        if fields and "fields" not in base:
            base["fields"] = ",".join(fields)
        base["pageSize"] = str(page_size)
        token: str | None = None
        seen: set[str] = set()
        number = 0
        while True:
            number += 1
            request = dict(base)
            if number == 1 and count_total:
                request["countTotal"] = "true"
            if token:
                request["pageToken"] = token
            data = self.get_json("/studies", request)
            problem = _not_a_page(data)
            if problem is not None:
                raise RegistryError(f"GET /studies page {number}: not a page of studies "
                                    f"({problem})")
            token = _next_token(data.get("nextPageToken"), seen, number)
            total = _total_count(data.get("totalCount"), number)
            yield Page(
                number=number,
                studies=list(data["studies"]),
                next_page_token=token,
                total_count=total,
            )
            if token is None or (max_pages is not None and number >= max_pages):
                return

    def count(self, params: Mapping[str, str]) -> int:
        """The ``totalCount`` of a query (one request with ``pageSize=1``)."""
        page = next(self.iter_pages(params, fields=("NCTId",), page_size=1, max_pages=1))
        if page.total_count is None:
            raise RegistryError("the API returned no totalCount")
        return page.total_count


#: Longest page token accepted (real tokens are a few dozen characters).
MAX_TOKEN_CHARS = 4096
#: Largest plausible ``totalCount`` (the whole registry holds about 5 x 10^5 studies).
MAX_TOTAL_COUNT = 10_000_000


def _not_a_page(data: Any) -> str | None:
    """Why an answer is not a page of ``/studies`` (None when it is one). Every page,
    the last and an empty one included, has a ``studies`` list (OpenAPI
    ``PagedStudies``); an answer without one (``{"error": ...}`` with HTTP 200, say) is
    an error, never the end of the paging."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if isinstance(data.get("studies"), list):
        return None
    for key in ("error", "message", "errors"):
        if key in data:
            return f"the registry answered {key}: {_one_line(json.dumps(data[key], default=str))}"
    if "studies" not in data:
        keys = ", ".join(sorted(str(k) for k in data)[:6]) or "none"
        return f"no 'studies' list; its keys: {_one_line(keys)}"
    return f"'studies' is a JSON {_json_type(data['studies'])}, not a list"


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _next_token(value: Any, seen: set[str], page: int) -> str | None:
    """The next page token, checked: a repeated or absurd token ends the fetch."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > MAX_TOKEN_CHARS:
        size = len(value) if isinstance(value, str) else type(value).__name__
        raise RegistryError(f"GET /studies page {page}: implausible nextPageToken ({size})")
    if value in seen:
        raise RegistryError(f"GET /studies page {page}: the registry sent an earlier page "
                            "token again; stopped to avoid paging forever")
    seen.add(value)
    return value


def _total_count(value: Any, page: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOTAL_COUNT:
        raise RegistryError(f"GET /studies page {page}: implausible totalCount {str(value)[:40]}")
    return value


class _DeadlinePassed(Exception):
    """A request overran its overall deadline (not retried)."""


class _Watchdog:
    """Shuts a request's socket when its deadline passes.

    The socket is learned from httpcore's ``connection.connect_tcp.complete`` trace
    event (each request opens a fresh connection); shutting it down wakes a read that is
    blocked, wherever the response is (headers or body).
    """

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sock = sock
            if self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shutdown(self._sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _decode_json(url: str, response: httpx.Response, body: bytes) -> Any:
    """The JSON of a complete answer; a body that is not JSON is one error, not retried
    (the server sent all of it: asking again would bring the same)."""
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip() or "no type"
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegistryError(f"GET {url}: the answer is not UTF-8 text ({ctype})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise RegistryError(f"GET {url}: the JSON answer is nested too deeply") from None
    except json.JSONDecodeError as exc:
        what = "an HTML page" if text.lstrip()[:1] == "<" else "not valid JSON"
        raise RegistryError(f"GET {url}: the answer is {what} ({ctype}; {exc.msg} at "
                            f"character {exc.pos} of {len(text)}): "
                            f"{_short_body(body)[:80]}") from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000" or no zone: RFC 5322 says UTC
            when = when.replace(tzinfo=UTC)
        try:
            return max(0.0, (when - datetime.now(UTC)) / timedelta(seconds=1))
        except OverflowError:
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _short_body(body: bytes) -> str:
    text = " ".join(body[:2000].decode("utf-8", "replace").split())
    return text[:200] or "(empty body)"
