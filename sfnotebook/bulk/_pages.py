"""Downloading Bulk API 2.0 result pages: one at a time by locator, or several at once.

* Sequentially, each page's ``Sforce-Locator`` names the next one (the literal ``null`` ends
  the chain); the next page downloads while the previous one is parsed in a worker thread.
* Concurrently (API 58.0+), ``GET jobs/query/{id}/resultPages`` lists independent page URLs,
  fetched by a thread pool on the connection's session; pages are handed on in order.

Every request goes through ``Connection.request``, so an expired session is re-exchanged and
a 5xx is retried there. A connection dropped while a page's body is being read is retried
here, for that page only: a locator can be read again (the pages are idempotent).

Every page is checked at the edge as it arrives (:func:`sfnotebook._answers.check_csv`): an
HTML page, a JSON value, a Content-Type of another format or a body cut mid-row raises
:class:`~sfnotebook.errors.UnexpectedAnswerError`; its header and its rows are checked where it
is parsed (:mod:`sfnotebook.bulk._collect`), with the :class:`Page`'s ``response`` at hand.

Nothing here decides that the result is complete: the caller compares the rows received with
the job's ``numberRecordsProcessed``. What is decided here is that no answer of an unknown
shape ever ends the chain quietly: a ``resultPages`` answer without ``done``, or with ``done:
false`` and no next link under a spelling we know, raises :class:`IncompleteResultError`.

The worker threads never outlive :func:`run_pages`: when it stops (the last page, an error, a
KeyboardInterrupt in the consumer) it tells them to stop (they check between 1 MiB pieces of a
body and before parsing) and joins them, so nothing is parsed or written after the call ends.

A page's body is read in 1 MiB pieces (requests' default is 10 KB) into its own anonymous
memory map (:class:`~sfnotebook.bulk._buffer.PageBytes`), which :meth:`Page.release` gives
back to the system as soon as the page is parsed, or when reading or checking it fails: freed
pages never pile up in the heap. At most ``concurrency`` pages (one being read and one being
parsed, by locator) are in flight.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3.exceptions

from sfnotebook._answers import Body, check_csv, unexpected
from sfnotebook._api import OrgApi
from sfnotebook.bulk._buffer import PageBytes
from sfnotebook.errors import (
    IncompleteResultError,
    NotFoundError,
    SalesforceError,
    ServerUnavailableError,
    SessionExpiredError,
)

__all__ = ["Page", "Stopped", "csv_headers", "fetch_page", "result_urls", "run_pages"]

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
# The first capacity of a page's map when its decoded size is not known: compressed pages
# (CSV shrinks several times under gzip) and answers without a Content-Length. Unwritten pages
# of the map are never resident; a larger page grows it (mremap, no copy on Linux).
_GZIP_RATIO = 8
_UNKNOWN_SIZE = 16 << 20


@dataclass
class Page:
    """One downloaded result page: its bytes, what the response headers said, and the response
    (closed, its body consumed) for the error that names it if the page does not parse."""

    index: int
    data: Body | PageBytes = field(repr=False)
    locator: str | None
    records: int | None
    response: requests.Response = field(repr=False)

    @property
    def endpoint(self) -> str:
        """The endpoint an error names: ``GET /services/data/vXX.X/jobs/query/750.../results``."""
        return f"GET {urlsplit(self.response.url or '').path}"

    def release(self) -> None:
        """Give the page's bytes back to the system (once parsed, or when it failed)."""
        data, self.data = self.data, Body()
        if isinstance(data, PageBytes):
            data.release()


class Stopped(Exception):
    """Raised in a worker thread when :func:`run_pages` has been told to stop."""


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped


def _read_body(resp: requests.Response, stop: threading.Event | None = None) -> Body | PageBytes:
    """The (decompressed) body, read in 1 MiB pieces into a map of its own (an empty body:
    an empty :class:`Body`, as no map has length 0). The map is released if reading fails."""
    body = PageBytes(_capacity(resp))
    try:
        for piece in resp.iter_content(chunk_size=_READ_SIZE):
            _check(stop)
            body = body.extend(piece)
        if not body.written:
            body.release()
            return Body()
        return body.finish()
    except BaseException:
        body.release()
        raise


def _capacity(resp: requests.Response) -> int:
    """The first capacity of a page's map: its size when the headers tell it."""
    length = resp.headers.get("Content-Length", "")
    if not length.isdigit():
        return _UNKNOWN_SIZE
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    return int(length) if encoding in ("", "identity") else int(length) * _GZIP_RATIO


def fetch_page(
    conn: OrgApi,
    url: str,
    *,
    index: int = 0,
    params: dict[str, Any] | None = None,
    check: Callable[[Page], int] | None = None,
    headers: dict[str, str] = CSV_HEADERS,
    stop: threading.Event | None = None,
) -> tuple[Page, int]:
    """GET one result page; retry it when its body breaks off or holds too few rows.

    ``check(page)`` parses the page and returns its row count (``-1`` when not parsed here);
    a count different from ``Sforce-NumberOfRecords`` means the body was cut short.
    """
    policy = conn.session.policy
    attempt = 0
    renewed = False
    while True:
        _check(stop)
        try:
            resp = conn.request("GET", url, params=params, headers=headers, stream=True)
        except SessionExpiredError:
            # The token was renewed for this call and expired again before it was re-sent
            # (other pages in flight, a very short session timeout): renew once more.
            if renewed:
                raise
            renewed = True
            continue
        page: Page | None = None
        kept = False
        try:
            page = Page(
                index, _read_body(resp, stop), resp.headers.get("Sforce-Locator"), None, resp
            )
            # The page owns the bytes (no local holds them); ``check`` releases them once parsed.
            check_csv(resp, page.data, endpoint=page.endpoint)
            page.records = _announced(page)
            _check(stop)
            rows = check(page) if check is not None else -1
            if page.records is not None and rows >= 0 and rows != page.records:
                raise IncompleteResultError(
                    f"result page {index} held {rows:,} rows; Salesforce said {page.records:,}",
                    expected=page.records,
                    received=rows,
                    url=conn.url(url).split("?")[0],
                )
            kept = True
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
            if page is not None:
                page.release()  # before the wait: a page read again needs no old bytes
            delay = policy.delay(attempt)
            log.info("re-reading result page %d after %s (%.2fs)", index, exc, delay)
            time.sleep(delay)
            attempt += 1
        finally:
            resp.close()
            if page is not None and not kept:
                page.release()  # a page that failed: its bytes go back at once


def _announced(page: Page) -> int | None:
    """The page's ``Sforce-NumberOfRecords`` (None when absent); anything but a count is an
    error, not a reason to skip the page's row check."""
    count = page.response.headers.get("Sforce-NumberOfRecords")
    if count is None:
        return None
    if not count.strip().isdigit():
        raise unexpected(
            page.response,
            page.endpoint,
            f"a page whose Sforce-NumberOfRecords is {count[:40]!r}, not a count",
            "Something between you and Salesforce rewrote the answer: check SF_DOMAIN and "
            "any proxy, then run the extract again.",
            body=page.data,
        )
    return int(count)


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
        first = conn.get_json(f"jobs/query/{job_id}/resultPages", params=params, expect=dict)
    except NotFoundError:
        return None
    except SalesforceError as exc:
        if exc.status in {405, 501}:
            return None
        raise
    if max_records and not _pages_hold(first, max_records):
        # resultPages' documentation lists no maxRecords (only queryJobId; fidelity-audit D6).
        # Pages of the org's own size, `concurrency` at once, would break the memory bound of
        # `concurrency` pages of `max_records` rows: the caller reads them by locator instead.
        log.info("resultPages ignored maxRecords=%d: pages come one at a time", max_records)
        return None
    return _follow(conn, first)


def _pages_hold(payload: Any, max_records: int) -> bool:
    """False when a listed page URL does not say it holds at most ``max_records`` rows."""
    entries = _field(payload, "resultPages", "resultLinks") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        url = _field(entry, "resultUrl", "resultLink") if isinstance(entry, dict) else entry
        if isinstance(url, str):  # a page without a URL is _follow's to refuse
            sizes = parse_qs(urlsplit(url).query).get("maxRecords", [""])
            if not sizes[0].isdigit() or int(sizes[0]) > max_records:
                return False
    return True


def _follow(conn: OrgApi, payload: dict[str, Any]) -> Iterator[str]:
    while True:
        entries = _field(payload, "resultPages", "resultLinks")
        if not isinstance(entries, list):
            raise _unknown_shape(payload, "lists no result pages")
        for entry in entries:
            url = entry if isinstance(entry, str) else None
            if isinstance(entry, dict):
                url = _field(entry, "resultUrl", "resultLink")
            if not url:
                raise _unknown_shape(payload, f"has a result page without a URL ({entry!r})")
            yield str(url)
        done = payload.get("done")
        following = _field(payload, "nextRecordsUrl", "nextRecordUrl", "nextRecordsLink")
        if done is True:
            return
        if done is not False:
            raise _unknown_shape(payload, "has no done: true or false")
        if not following:
            raise _unknown_shape(payload, "says done: false but names no next link we know")
        payload = conn.get_json(str(following), expect=dict)


def _unknown_shape(payload: dict[str, Any], what: str) -> IncompleteResultError:
    """An answer we cannot read as complete is an error, never the end of the result."""
    return IncompleteResultError(
        f"Salesforce's resultPages answer {what} (keys: {', '.join(sorted(payload))}); "
        "pages would be lost, so nothing is returned. Run the extract again with "
        "concurrency=1 (pages by Sforce-Locator).",
        expected=None,
        received=None,
    )


def run_pages(
    conn: OrgApi,
    job_id: str,
    handle: Callable[[Page], T],
    *,
    max_records: int | None,
    concurrency: int,
    headers: dict[str, str] = CSV_HEADERS,
) -> Generator[T, None, None]:
    """Download every result page and yield ``handle(page)`` for each, in page order.

    ``handle`` runs in worker threads (it parses, and may write a file); at most
    ``concurrency`` pages are in flight. When the consumer stops (the end, an error, a
    KeyboardInterrupt in the main thread, ``close()``), pending work is cancelled, running
    work told to stop, and every worker joined before this generator finishes.
    """
    stop = threading.Event()
    urls = result_urls(conn, job_id, max_records=max_records) if concurrency > 1 else None
    if urls is None:
        pages = _sequential(
            conn, job_id, handle, max_records=max_records, headers=headers, stop=stop
        )
    else:
        pages = _concurrent(conn, urls, handle, concurrency=concurrency, headers=headers, stop=stop)
    yield from pages


def _process(
    conn: OrgApi,
    url: str,
    index: int,
    params: dict[str, Any] | None,
    handle: Callable[..., T],
    headers: dict[str, str],
    stop: threading.Event,
) -> T:
    results: list[T] = []

    def check(page: Page) -> int:
        result = handle(page)
        results.append(result)
        return int(getattr(result, "rows", -1))

    fetch_page(conn, url, index=index, params=params, check=check, headers=headers, stop=stop)
    return results[-1]


def _stop_workers(pool: ThreadPoolExecutor, stop: threading.Event) -> None:
    """Cancel what has not started, tell running workers to stop, and wait for them."""
    stop.set()
    pool.shutdown(wait=True, cancel_futures=True)


def _concurrent(
    conn: OrgApi,
    urls: Iterator[str],
    handle: Callable[[Page], T],
    *,
    concurrency: int,
    headers: dict[str, str],
    stop: threading.Event,
) -> Iterator[T]:
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sfnotebook-bulk")
    pending: deque[Future[T]] = deque()
    try:
        for index, url in enumerate(urls):
            pending.append(pool.submit(_process, conn, url, index, None, handle, headers, stop))
            while len(pending) >= concurrency:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        _stop_workers(pool, stop)


def _sequential(
    conn: OrgApi,
    job_id: str,
    handle: Callable[[Page], T],
    *,
    max_records: int | None,
    headers: dict[str, str],
    stop: threading.Event,
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
            pending = pool.submit(_checked, conn, url, dict(params), handle, page, headers, stop)
            locator = page.locator
            index += 1
            # ``null`` ends the chain; a page that ended it early is found by the caller's
            # count against the job's numberRecordsProcessed.
            if not locator or locator == "null":
                break
        if pending is not None:
            result, pending = pending.result(), None
            yield result
    finally:
        _stop_workers(pool, stop)


def _checked(
    conn: OrgApi,
    url: str,
    params: dict[str, Any],
    handle: Callable[[Page], T],
    page: Page,
    headers: dict[str, str],
    stop: threading.Event,
) -> T:
    """``handle(page)``; a page with fewer rows than announced is downloaded again."""
    _check(stop)
    result = handle(page)
    rows = int(getattr(result, "rows", -1))
    if page.records is not None and rows >= 0 and rows != page.records:
        log.info(
            "result page %d was short (%d of %d rows); reading it again",
            page.index,
            rows,
            page.records,
        )
        return _process(conn, url, page.index, params, handle, headers, stop)
    return result
