"""Fetching a query from the registry into the store, page by page.

Each page is committed before the next is requested, so when a later page fails
(after the client's retries) the earlier pages stay in the store, in a fetch marked
incomplete, and the error message says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from nksim.errors import UserError

from ._client import DEFAULT_QUERY, Page, RegistryClient, RegistryError, check_params
from ._store import FetchInfo, StudyStore


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
    data_timestamp = None
    try:
        data_timestamp = client.version().get("dataTimestamp")
    except RegistryError:
        data_timestamp = None  # /version is a nicety; the studies are what matter
    fetch_id = store.begin_fetch(
        source="api", query=query, base_url=client.base_url, data_timestamp=data_timestamp
    )
    stored = 0
    total = None
    pages = 0
    last_token: str | None = None
    try:
        for page in client.iter_pages(query, page_size=page_size, max_pages=max_pages):
            pages = page.number
            if page.total_count is not None:
                total = page.total_count
            stored += store.add_page(fetch_id, page.number, page.studies)
            if progress is not None:
                progress(page, stored)
            last_token = page.next_page_token
            _check_paging(pages, page_size, total)
    except BaseException as exc:  # every fetch ends with a recorded outcome
        reason = str(exc) if isinstance(exc, UserError) else f"interrupted ({type(exc).__name__})"
        if stored == 0:
            store.delete_fetch(fetch_id)
            raise
        store.finish_fetch(fetch_id, complete=False, total_count=total, error=reason)
        if not isinstance(exc, UserError):
            raise
        kept = f"; {stored} studies from {pages} page(s) were kept as incomplete fetch #{fetch_id}"
        raise type(exc)(f"{exc}{kept}") from exc
    complete = last_token is None
    info = store.finish_fetch(
        fetch_id,
        complete=complete,
        total_count=total,
        error=None if complete else f"stopped after {pages} page(s) (--max-pages)",
    )
    return info


def _check_paging(pages: int, page_size: int, total: int | None) -> None:
    """Stop a registry that keeps sending pages beyond its own ``totalCount``."""
    if total is not None and pages > math.ceil(total / page_size) + 2:
        raise RegistryError(f"the registry sent {pages} pages of {page_size} for "
                            f"{total} studies; stopped to avoid paging forever")
