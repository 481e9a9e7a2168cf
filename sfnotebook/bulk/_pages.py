"""Downloading Bulk API 2.0 result pages: one at a time by locator, or several at once.

* Sequentially, each page's ``Sforce-Locator`` names the next one (the literal ``null`` ends
  the chain); the next page downloads while the previous one is parsed in a worker thread.
* Concurrently (API 58.0+), ``GET jobs/query/{id}/resultPages`` lists independent page URLs,
  fetched by a thread pool on the connection's session; pages are handed on in order.

Every request goes through ``Connection.request``, so an expired session is re-exchanged and
a 5xx is retried there. A connection dropped while a page's body is being read is retried
here, for that page only: a locator can be read again (the pages are idempotent).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from sfnotebook._api import OrgApi
from sfnotebook.errors import (
    IncompleteResultError,
    NotFoundError,
    SalesforceError,
    ServerUnavailableError,
    SessionExpiredError,
)

__all__ = ["Page", "csv_headers", "fetch_page", "result_urls", "run_pages"]

log = logging.getLogger("sfnotebook.bulk")

T = TypeVar("T")

CSV_HEADERS = {"Accept": "text/csv", "Accept-Encoding": "gzip"}
PLAIN_HEADERS = {"Accept": "text/csv", "Accept-Encoding": "identity"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def csv_headers(conn: OrgApi, compress: bool | None) -> dict[str, str]:
    """Request headers for result pages: gzip, except (by default) from a loopback host.

    Compression trades CPU for bandwidth. Over a network Salesforce's gzip shrinks CSV several
    times; from a server on this machine (the demo org, a local proxy) there is no bandwidth to
    save and compressing and decompressing 100+ MB costs most of the download's time.
    """
    if compress is None:
        compress = urlsplit(conn.instance_url).hostname not in _LOOPBACK
    return CSV_HEADERS if compress else PLAIN_HEADERS


_BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
)
_READ_SIZE = 1 << 20


@dataclass
class Page:
    """One downloaded result page: its bytes and what the response headers said."""

    index: int
    data: bytearray
    locator: str | None
    records: int | None


def _read_body(resp: requests.Response) -> bytearray:
    """The (decompressed) body, read in 1 MiB pieces into one growing buffer."""
    body = bytearray()
    for piece in resp.iter_content(chunk_size=_READ_SIZE):
        body += piece
    return body


def fetch_page(
    conn: OrgApi,
    url: str,
    *,
    index: int = 0,
    params: dict[str, Any] | None = None,
    check: Callable[[Page], int] | None = None,
    headers: dict[str, str] = CSV_HEADERS,
) -> tuple[Page, int]:
    """GET one result page; retry it when its body breaks off or holds too few rows.

    ``check(page)`` parses the page and returns its row count (``-1`` when not parsed here);
    a count different from ``Sforce-NumberOfRecords`` means the body was cut short.
    """
    policy = conn.session.policy
    attempt = 0
    renewed = False
    while True:
        try:
            resp = conn.request("GET", url, params=params, headers=headers, stream=True)
        except SessionExpiredError:
            # The token was renewed for this call and expired again before it was re-sent
            # (other pages in flight, a very short session timeout): renew once more.
            if renewed:
                raise
            renewed = True
            continue
        try:
            body = _read_body(resp)
            locator = resp.headers.get("Sforce-Locator")
            count = resp.headers.get("Sforce-NumberOfRecords")
            page = Page(index, body, locator, int(count) if count and count.isdigit() else None)
            del body  # the page owns the bytes now; ``check`` may drop them once parsed
            rows = check(page) if check is not None else -1
            if page.records is not None and rows >= 0 and rows != page.records:
                raise IncompleteResultError(
                    f"result page {index} held {rows:,} rows; Salesforce said {page.records:,}",
                    expected=page.records,
                    received=rows,
                    url=conn.url(url).split("?")[0],
                )
            return page, rows
        except (*_BODY_ERRORS, IncompleteResultError) as exc:
            if attempt >= policy.retries:
                if isinstance(exc, IncompleteResultError):
                    raise
                raise ServerUnavailableError(
                    f"result page {index} could not be read whole after {attempt + 1} tries "
                    f"({exc.__class__.__name__}); run the extract again.",
                    url=conn.url(url).split("?")[0],
                ) from exc
            delay = policy.delay(attempt)
            log.info("re-reading result page %d after %s (%.2fs)", index, exc, delay)
            time.sleep(delay)
            attempt += 1
        finally:
            resp.close()


def _field(payload: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    return None


def result_urls(conn: OrgApi, job_id: str, *, max_records: int | None) -> Iterator[str] | None:
    """The job's independent page URLs (``resultPages``, API 58.0+), or None if not offered.

    Field spellings vary between Salesforce's own documents; all are accepted: ``resultUrl``
    or ``resultLink``, ``nextRecordsUrl`` or ``nextRecordUrl``.
    """
    try:
        version = float(conn.api_version)
    except ValueError:
        return None
    if version < 58.0:
        return None
    params = {"maxRecords": max_records} if max_records else None
    try:
        first = conn.get_json(f"jobs/query/{job_id}/resultPages", params=params)
    except NotFoundError:
        return None
    except SalesforceError as exc:
        if exc.status in {405, 501}:
            return None
        raise
    return _follow(conn, first)


def _follow(conn: OrgApi, payload: Any) -> Iterator[str]:
    while True:
        if not isinstance(payload, dict):
            raise SalesforceError(f"unexpected resultPages answer: {str(payload)[:200]}")
        for entry in _field(payload, "resultPages", "resultLinks") or ():
            url = entry if isinstance(entry, str) else _field(entry, "resultUrl", "resultLink")
            if url:
                yield str(url)
        following = _field(payload, "nextRecordsUrl", "nextRecordUrl", "nextRecordsLink")
        if payload.get("done", True) or not following:
            return
        payload = conn.get_json(str(following))


def run_pages(
    conn: OrgApi,
    job_id: str,
    handle: Callable[[Page], T],
    *,
    max_records: int | None,
    concurrency: int,
    headers: dict[str, str] = CSV_HEADERS,
) -> Iterator[T]:
    """Download every result page and yield ``handle(page)`` for each, in page order.

    ``handle`` runs in worker threads (it parses, and may write a file); at most
    ``concurrency`` pages are in flight. Pending work is cancelled if the consumer stops
    (an error, or a KeyboardInterrupt in the main thread).
    """
    urls = result_urls(conn, job_id, max_records=max_records) if concurrency > 1 else None
    if urls is None:
        yield from _sequential(conn, job_id, handle, max_records=max_records, headers=headers)
    else:
        yield from _concurrent(conn, urls, handle, concurrency=concurrency, headers=headers)


def _process(
    conn: OrgApi,
    url: str,
    index: int,
    params: dict[str, Any] | None,
    handle: Callable[..., T],
    headers: dict[str, str],
) -> T:
    results: list[T] = []

    def check(page: Page) -> int:
        result = handle(page)
        results.append(result)
        return int(getattr(result, "rows", -1))

    fetch_page(conn, url, index=index, params=params, check=check, headers=headers)
    return results[-1]


def _concurrent(
    conn: OrgApi,
    urls: Iterator[str],
    handle: Callable[[Page], T],
    *,
    concurrency: int,
    headers: dict[str, str],
) -> Iterator[T]:
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sfnotebook-bulk")
    pending: deque[Future[T]] = deque()
    try:
        for index, url in enumerate(urls):
            pending.append(pool.submit(_process, conn, url, index, None, handle, headers))
            while len(pending) >= concurrency:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _sequential(
    conn: OrgApi,
    job_id: str,
    handle: Callable[[Page], T],
    *,
    max_records: int | None,
    headers: dict[str, str],
) -> Iterator[T]:
    """Follow the locator chain; parse page k in a worker while page k+1 downloads."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfnotebook-bulk")
    pending: Future[T] | None = None
    url = f"jobs/query/{job_id}/results"
    locator: str | None = None
    index = 0
    try:
        while True:
            params: dict[str, Any] = {}
            if max_records:
                params["maxRecords"] = max_records
            if locator:
                params["locator"] = locator
            page, _ = fetch_page(conn, url, index=index, params=params, headers=headers)
            if pending is not None:
                yield pending.result()
            pending = pool.submit(_checked, conn, url, dict(params), handle, page, headers)
            locator = page.locator
            index += 1
            if not locator or locator == "null":
                break
        if pending is not None:
            result, pending = pending.result(), None
            yield result
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _checked(
    conn: OrgApi,
    url: str,
    params: dict[str, Any],
    handle: Callable[[Page], T],
    page: Page,
    headers: dict[str, str],
) -> T:
    """``handle(page)``; a page with fewer rows than announced is downloaded again."""
    result = handle(page)
    rows = int(getattr(result, "rows", -1))
    if page.records is not None and rows >= 0 and rows != page.records:
        log.info(
            "result page %d was short (%d of %d rows); reading it again",
            page.index,
            rows,
            page.records,
        )
        return _process(conn, url, page.index, params, handle, headers)
    return result
