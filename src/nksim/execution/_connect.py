"""Connecting to a Dask scheduler within a bounded time (``--scheduler``).

``distributed.Client(address, timeout=...)`` does not bound the whole connection: on a
server that accepts TCP connections and never answers, the Dask handshake waits for ever,
and one that answers with other bytes can make it read a frame of "3 EiB" (a
``MemoryError`` after a while, then a 20 s wait in ``Client.__del__``). So before a client
is made, :func:`connect_scheduler` asks the server who it is (Dask's handshake, then the
``identity`` call) in a daemon thread with a hard deadline; only a server that answers as
a Dask scheduler gets a ``Client``, which is made in a daemon thread with a deadline too
(and closed if it comes after that). Any failure is a one-line :class:`UserError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from nksim.errors import UserError

DEFAULT_CONNECT_TIMEOUT_S = 10.0
#: what a thread doing the connection is given beyond the deadline of its own work
_GRACE_S = 1.0


class _Unreachable(Exception):
    """The plain TCP connection failed (refused, no route, unknown host)."""


def parse_address(scheduler: Any, field: str) -> tuple[str, str, int]:
    """``(tcp://HOST:PORT or tls://HOST:PORT, HOST, PORT)``; a one-line UserError for
    anything else (``HOST:PORT`` means ``tcp://HOST:PORT``)."""
    text = str(scheduler).strip()
    bad = UserError(f"expected an address such as tcp://HOST:PORT (got {scheduler!r})",
                    field=field)
    if not text or any(c.isspace() for c in text):
        raise bad
    if "://" not in text:
        text = "tcp://" + text
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit() or \
            not 0 < int(port) < 65536:
        raise bad
    return text, host.strip("[]"), int(port)


def _in_thread(work: Callable[[], Any], wait_s: float,
               abandon: Callable[[Any], None] | None = None) -> tuple[bool, Any]:
    """``work()`` in a daemon thread, waited for at most ``wait_s`` seconds:
    ``(True, result)``, its exception raised, or ``(False, None)`` when it has not finished
    by then (it goes on in the background; ``abandon(result)`` is called on what it
    returns later, e.g. to close it)."""
    lock = threading.Lock()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            value = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            with lock:
                box["error"] = exc
            return
        with lock:
            box["value"] = value
            late = box.get("abandoned", False)
        if late and abandon is not None:
            with contextlib.suppress(BaseException):
                abandon(value)

    thread = threading.Thread(target=target, name="nksim-connect", daemon=True)
    thread.start()
    thread.join(wait_s)
    with lock:
        if "error" in box:
            raise box["error"]
        if "value" in box:
            return True, box["value"]
        box["abandoned"] = True
    return False, None


async def _identity(address: str, timeout_s: float, connection_args: dict) -> dict:
    """What the server at ``address`` says it is (Dask's handshake, then ``identity``)."""
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout_s, **connection_args)
    try:
        await comm.write({"op": "identity", "reply": True})
        answer = await comm.read()
    finally:
        comm.abort()
    return answer if isinstance(answer, dict) else {"type": type(answer).__name__}


def _ask(address: str, host: str, port: int, timeout_s: float) -> dict:
    """A TCP probe (a refused connection is reported at once), then :func:`_identity`
    with a hard deadline; runs in its own thread (and its own event loop)."""
    import socket

    start = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise _Unreachable(exc.strerror or type(exc).__name__) from None
    connection_args: dict = {}
    if address.startswith("tls://"):
        from distributed.security import Security

        connection_args = Security().get_connection_args("client")
    left = max(0.1, timeout_s - (time.monotonic() - start))
    return asyncio.run(asyncio.wait_for(_identity(address, left, connection_args), left))


def _close(client) -> None:
    client.close(timeout=2)


def connect_scheduler(scheduler: str, *, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                      field: str = "--scheduler"):
    """A ``distributed.Client`` on ``scheduler`` (``tcp://HOST:PORT``), or a one-line
    :class:`UserError` naming ``field`` if the address is malformed, Dask is missing, or
    no Dask scheduler answers there within ``timeout_s`` seconds (twice that at most in
    all: the scheduler is asked first, then the client is made)."""
    address, host, port = parse_address(scheduler, field)
    try:
        from distributed import Client
    except ImportError:
        raise UserError("needs dask.distributed (pip install 'dask[distributed]') "
                        f"(got {scheduler!r})", field=field) from None
    timeout_s = float(timeout_s)
    silent = f"no Dask scheduler answered at {address} within {timeout_s:g} s"
    try:
        finished, identity = _in_thread(lambda: _ask(address, host, port, timeout_s),
                                        timeout_s + _GRACE_S)
    except _Unreachable as exc:
        raise UserError(f"cannot reach the Dask scheduler: {exc} (got {scheduler!r})",
                        field=field) from None
    except TimeoutError:
        raise UserError(silent, field=field) from None
    except TypeError as exc:  # e.g. tls:// without a TLS configuration
        raise UserError(f"cannot connect to {address}: {_reason(exc)} (check the Dask "
                        "configuration, e.g. TLS)", field=field) from None
    except Exception as exc:  # noqa: BLE001 - MemoryError, OSError, a decoding error...
        raise UserError(f"{silent}: what answered there does not speak Dask's protocol "
                        f"({_reason(exc)})", field=field) from None
    if not finished:
        raise UserError(silent, field=field)
    kind = identity.get("type")
    if "Scheduler" not in str(kind):  # a subclass of Scheduler names itself
        raise UserError(f"{address} answers, but as a Dask {kind or 'server'}, not a "
                        "scheduler", field=field)
    try:
        finished, client = _in_thread(
            lambda: Client(address, timeout=f"{timeout_s}s", set_as_default=False),
            timeout_s + _GRACE_S, abandon=_close)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"cannot connect to the Dask scheduler at {address}: "
                        f"{_reason(exc)}", field=field) from None
    if not finished:
        raise UserError(silent, field=field)
    return client


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
