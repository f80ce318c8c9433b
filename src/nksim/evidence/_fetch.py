"""Fetching a query from the registry into the store, page by page.

Each page is committed before the next is requested, so when a later page fails
(after the client's retries) the earlier pages stay in the store, in a fetch marked
incomplete, and the error message says so. Every fetch is recorded from its start and
ends with a recorded outcome (finish time, complete or not, and the error), also when it
failed before anything was stored or was interrupted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from nksim.errors import UserError

from ._client import (
    DEFAULT_QUERY,
    MAX_TOTAL_COUNT,
    Page,
    RegistryClient,
    RegistryError,
    check_params,
)
from ._store import FetchInfo, StudyStore

#: Pages in a row that bring no new study before a fetch is stopped (a registry that
#: sends fresh page tokens for ever with empty or repeated pages).
MAX_FRUITLESS_PAGES = 10


def fetch_to_store(
    store: StudyStore,
    client: RegistryClient,
    params: Mapping[str, str] | None = None,
    *,
    page_size: int = 1000,
    max_pages: int | None = None,
    progress: Callable[[Page, int], None] | None = None,
) -> FetchInfo:
    """Run one query against the API and keep every page in ``store``.

    Parameters
    ----------
    params
        ``/studies`` parameters (default: the NK recipe of evidence.md §1.4).
    progress
        Called after each stored page with the page and the running study count.

    Returns
    -------
    FetchInfo
        The completed fetch.

    Raises
    ------
    OfflineError, RegistryError
        As raised by the client; when pages were already stored, the message says how
        many studies were kept and under which fetch id.
    """
    query = dict(DEFAULT_QUERY if params is None else params)
    check_params(query)
    fetch_id = store.begin_fetch(source="api", query=query, base_url=client.base_url)
    stored = 0
    received = 0
    total = None
    pages = 0
    fruitless = 0
    last_token: str | None = None
    try:
        try:
            data_timestamp = client.version().get("dataTimestamp")
        except RegistryError:
            data_timestamp = None  # /version is a nicety; the studies are what matter
        store.set_data_timestamp(fetch_id, data_timestamp)
        for page in client.iter_pages(query, page_size=page_size, max_pages=max_pages):
            pages = page.number
            if page.total_count is not None:
                total = page.total_count
            new = store.add_page(fetch_id, page.number, page.studies)
            stored += new
            received += len(page.studies)
            fruitless = 0 if new else fruitless + 1
            if progress is not None:
                progress(page, stored)
            last_token = page.next_page_token
            _check_paging(pages, page_size, total, fruitless if last_token else 0)
    except BaseException as exc:  # every fetch ends with a recorded outcome
        reason = str(exc) if isinstance(exc, UserError) else f"interrupted ({type(exc).__name__})"
        store.finish_fetch(fetch_id, complete=False, total_count=total, error=reason)
        if not isinstance(exc, UserError) or stored == 0:
            raise
        kept = f"; {stored} studies from {pages} page(s) were kept as incomplete fetch #{fetch_id}"
        raise type(exc)(f"{exc}{kept}") from exc
    error = None
    if last_token is not None:
        error = f"stopped after {pages} page(s) (--max-pages)"
    elif total is not None and total - received > total // 100:
        error = (f"the registry announced {total} studies (totalCount) but sent {received} "
                 f"before its last page")
    return store.finish_fetch(fetch_id, complete=error is None, total_count=total, error=error)


def _check_paging(pages: int, page_size: int, total: int | None, fruitless: int) -> None:
    """Stop a registry that keeps sending pages beyond its own ``totalCount``, pages that
    bring nothing new, or more pages than the whole registry could fill."""
    if total is not None and pages > math.ceil(total / page_size) + 2:
        raise RegistryError(f"the registry sent {pages} pages of {page_size} for "
                            f"{total} studies; stopped to avoid paging forever")
    if fruitless >= MAX_FRUITLESS_PAGES:
        raise RegistryError(f"{fruitless} pages in a row brought no new study (page "
                            f"{pages}); stopped to avoid paging forever")
    if pages > math.ceil(MAX_TOTAL_COUNT / page_size) + 2:
        raise RegistryError(f"the registry sent {pages} pages of {page_size}, more than "
                            "it could hold; stopped to avoid paging forever")
