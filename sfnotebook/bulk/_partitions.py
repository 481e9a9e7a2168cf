"""A finished Bulk API 2.0 query job as independent partitions, for engines that read in parallel.

The Spark data source (:mod:`sfnotebook.spark`) and the Dask reader (:mod:`sfnotebook.dask`)
share this module; it reuses ``extract``'s pieces (the job's creation, wait and abort in
:mod:`sfnotebook.bulk`, the page listing and download in :mod:`sfnotebook.bulk._pages`, the
CSV-to-Arrow parser in :mod:`sfnotebook.bulk._csv`) and adds only what reading apart needs.

On the driver, :func:`plan_read` turns a job into a :class:`ReadPlan`:

1. the job is waited for (:func:`run_job` creates it first, and aborts it if anything, a
   KeyboardInterrupt included, stops the wait);
2. every result page is listed (``resultPages`` URLs on API 58.0+, else the ``Sforce-Locator``
   chain) and **probed**: requested, its headers read, its body left unread. The probe gives
   each page's ``Sforce-NumberOfRecords`` (and, for the chain, the next locator), so the
   plan knows how many rows every partition must hold before any worker starts;
3. the pages' counts must add up to the job's ``numberRecordsProcessed``, else
   :class:`~sfnotebook.errors.IncompleteResultError` before anything is read;
4. the schema is fixed from the first page's header line and the describes, as ``extract``
   fixes it; a column no describe types stays text (every partition must agree on it).

Why probe: partitions are read on other machines and never meet, so the total that ``extract``
checks at the end cannot be checked there. Checking each partition against counts known in
advance is the same check, split. It costs one extra request per page (headers only).

On a worker, :func:`read_pages` downloads its pages with :func:`~sfnotebook.bulk._pages.fetch_page`
(a dropped body is read again, for that page only), parses them with
:func:`~sfnotebook.bulk._csv.read_page`, and checks each page's rows against the plan; a page
still short after the retries raises :class:`~sfnotebook.errors.IncompleteResultError`, which
fails the read.

The thin public wrappers :func:`run_job`, :func:`wait_job` and :func:`abort_job` call the
private job functions of :mod:`sfnotebook.bulk` (which another change owns) unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import requests
import urllib3.exceptions

from sfnotebook import bulk as _bulk
from sfnotebook._api import OrgApi
from sfnotebook._polling import POLL_INTERVAL
from sfnotebook.bulk import _csv
from sfnotebook.bulk._pages import Page, csv_headers, fetch_page, result_urls
from sfnotebook.errors import (
    BulkJobError,
    IncompleteResultError,
    ServerUnavailableError,
    SfNotebookError,
    UnexpectedAnswerError,
)

__all__ = [
    "PageRef",
    "ReadPlan",
    "abort_job",
    "plan_read",
    "read_pages",
    "run_job",
    "wait_job",
]

log = logging.getLogger("sfnotebook.bulk")

_HEAD_LIMIT = 1 << 20  # bytes read for the first page's header line, at most
_PROBES_AT_ONCE = 4


# --------------------------------------------------------------------------- the job


def run_job(
    conn: OrgApi, soql: str, *, include_deleted: bool = False, poll_interval: float = POLL_INTERVAL
) -> dict[str, Any]:
    """Create a query job for ``soql`` and wait for it; abort it if the wait is stopped.

    Returns the finished job's info (``id``, ``object``, ``numberRecordsProcessed``, ...).
    Any exception but the job's own failure (a KeyboardInterrupt, a lost network) aborts it,
    so that nothing keeps running on the org for a read that will not happen.
    """
    job = _bulk._create_job(conn, soql, include_deleted=include_deleted)
    job_id = str(job["id"])
    try:
        return wait_job(conn, job_id, poll_interval=poll_interval)
    except BulkJobError:
        raise  # it ended Failed or Aborted: nothing to stop
    except BaseException:
        abort_job(conn, job_id)
        raise


def wait_job(conn: OrgApi, job_id: str, *, poll_interval: float = POLL_INTERVAL) -> dict[str, Any]:
    """Poll the job until ``JobComplete`` as ``extract`` does; ``BulkJobError`` if it fails."""
    bar = _bulk._Progress(False, job_id)
    try:
        return _bulk._wait(conn, job_id, poll_interval=poll_interval, bar=bar)
    finally:
        bar.close()


def abort_job(conn: OrgApi, job_id: str) -> None:
    """Ask Salesforce to stop the job (best effort, as ``extract`` does on an interrupt)."""
    _bulk._abort(conn, job_id)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PageRef:
    """One result page as a worker reads it: its URL, query parameters and row count."""

    index: int
    url: str
    params: tuple[tuple[str, str], ...]
    rows: int


@dataclass(frozen=True)
class ReadPlan:
    """A finished job, ready to be read apart: its pages, their rows, one fixed schema."""

    job_id: str
    expected: int
    schema: _csv.PageSchema
    pages: tuple[PageRef, ...]
    compress: bool | None = None

    def partitions(self, pages_per_partition: int = 1) -> list[tuple[PageRef, ...]]:
        """Consecutive pages, ``pages_per_partition`` at a time (at least one partition)."""
        size = max(1, pages_per_partition)
        groups = [self.pages[i : i + size] for i in range(0, len(self.pages), size)]
        return groups or [()]


def plan_read(
    conn: OrgApi,
    *,
    soql: str | None = None,
    job_id: str | None = None,
    include_deleted: bool = False,
    max_records: int | None = None,
    poll_interval: float = POLL_INTERVAL,
    compress: bool | None = None,
) -> ReadPlan:
    """Run ``soql`` as a job (or wait for the job ``job_id``), then list and probe its pages."""
    if (soql is None) == (job_id is None):
        raise SfNotebookError("Give the SOQL to run (soql=) or a query job's Id (job_id=).")
    if soql is not None:
        info = run_job(conn, soql, include_deleted=include_deleted, poll_interval=poll_interval)
    else:
        info = wait_job(conn, str(job_id), poll_interval=poll_interval)
    found_id = str(info.get("id") or job_id)
    headers = csv_headers(conn, compress)
    refs, head = _probe_pages(conn, found_id, max_records=max_records, headers=headers)
    # decode_status (bulk/_job.py) has checked it is a whole number on a completed job.
    count = info.get("numberRecordsProcessed")
    expected = count if isinstance(count, int) else None
    announced = sum(r.rows for r in refs)
    if expected is None or announced != expected:
        processed = f"{expected:,}" if expected is not None else "an unknown number of"
        raise IncompleteResultError(
            f"The result pages of bulk job {found_id} announce {announced:,} rows but the job "
            f"processed {processed} rows; nothing was read. Read the job again, or use "
            "org.extract.",
            expected=expected,
            received=announced,
        )
    schema = _plan_schema(conn, head, soql=soql or "", root=info.get("object"))
    log.info("bulk job %s: %d rows in %d result pages", found_id, expected, len(refs))
    return ReadPlan(found_id, expected, schema, tuple(refs), compress)


def _plan_schema(conn: OrgApi, head: bytes, *, soql: str, root: Any) -> _csv.PageSchema:
    """The schema from the first page's header and the describes; untyped columns stay text."""
    columns = _csv.read_header(_csv.strip_nul(head))
    if not columns:  # no header at all (no rows, on some API versions): the SELECT list
        columns, parsed_root = _csv.select_columns(soql)
        root = root or parsed_root

    def describe_of(name: str) -> Any:
        try:
            return conn.describe(name)
        except SfNotebookError:
            return None  # an object this user cannot describe: its columns stay text

    schema = _csv.page_schema(columns, describe_of=describe_of, root=str(root) if root else None)
    return _csv.PageSchema(schema.headers, schema.names, tuple(t or "string" for t in schema.types))


def _probe_pages(
    conn: OrgApi, job_id: str, *, max_records: int | None, headers: dict[str, str]
) -> tuple[list[PageRef], bytes]:
    """Every page's reference (probed), and the start of the first page's body."""
    urls = result_urls(conn, job_id, max_records=max_records)
    if urls is None:
        return _probe_chain(conn, job_id, max_records=max_records, headers=headers)
    listed = list(urls)
    with ThreadPoolExecutor(_PROBES_AT_ONCE, thread_name_prefix="sfnotebook-bulk") as pool:
        probes = list(
            pool.map(
                lambda item: _probe(conn, item[1], (), headers, index=item[0], head=item[0] == 0),
                enumerate(listed),
            )
        )
    refs = [
        PageRef(i, url, (), rows)
        for i, (url, (rows, _, _)) in enumerate(zip(listed, probes, strict=True))
    ]
    return refs, probes[0][2] if probes else b""


def _probe_chain(
    conn: OrgApi, job_id: str, *, max_records: int | None, headers: dict[str, str]
) -> tuple[list[PageRef], bytes]:
    """Walk the ``Sforce-Locator`` chain by headers alone (each page's body left unread)."""
    url = f"jobs/query/{job_id}/results"
    refs: list[PageRef] = []
    head = b""
    locator: str | None = None
    while True:
        params: list[tuple[str, str]] = []
        if max_records:
            params.append(("maxRecords", str(max_records)))
        if locator:
            params.append(("locator", locator))
        index = len(refs)
        rows, locator, start = _probe(conn, url, tuple(params), headers, index=index, head=not refs)
        head = head or start
        refs.append(PageRef(index, url, tuple(params), rows))
        if not locator or locator == "null":
            return refs, head


_BODY_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


def _probe(
    conn: OrgApi,
    url: str,
    params: tuple[tuple[str, str], ...],
    headers: dict[str, str],
    *,
    index: int,
    head: bool,
) -> tuple[int, str | None, bytes]:
    """``(Sforce-NumberOfRecords, Sforce-Locator, first bytes)`` of one page; body unread."""
    resp = conn.request("GET", url, params=dict(params) or None, headers=headers, stream=True)
    try:
        count = resp.headers.get("Sforce-NumberOfRecords", "")
        locator = resp.headers.get("Sforce-Locator")
        start = b""
        if head:
            for piece in resp.iter_content(chunk_size=64 << 10):
                start += piece
                if b"\n" in start or len(start) >= _HEAD_LIMIT:
                    break
    except _BODY_ERRORS as exc:
        raise ServerUnavailableError(
            f"result page {index} of the job broke off while its header was read "
            f"({exc.__class__.__name__}); read again.",
            url=conn.url(url).split("?")[0],
        ) from None
    finally:
        resp.close()  # the body is the worker's to read
    if not count.isdigit():
        raise IncompleteResultError(
            f"Salesforce sent result page {index} without a row count (Sforce-NumberOfRecords); "
            "a partitioned read checks every page against it, so this job cannot be read in "
            "parts. Use org.extract, which checks the total on one machine.",
            expected=None,
            received=None,
            url=conn.url(url).split("?")[0],
        )
    return int(count), locator, start


# --------------------------------------------------------------------------- on a worker


def read_pages(
    conn: OrgApi,
    schema: _csv.PageSchema,
    pages: Sequence[PageRef],
    *,
    compress: bool | None = None,
) -> Iterator[pa.Table]:
    """Download, parse and check the pages of one partition; one typed table per page.

    ``conn`` is the worker's connection (:func:`sfnotebook._worker.worker_connection`).
    """
    headers = csv_headers(conn, compress)
    for ref in pages:
        yield _read_page(conn, schema, ref, headers)


def _read_page(
    conn: OrgApi, schema: _csv.PageSchema, ref: PageRef, headers: Mapping[str, str]
) -> pa.Table:
    tables: list[pa.Table] = []

    def check(page: Page) -> int:
        if page.records is None:
            page.records = ref.rows  # this answer lacks the count: the probed one must hold
        elif page.records != ref.rows:
            raise IncompleteResultError(
                f"result page {ref.index} now announces {page.records:,} rows; the plan "
                f"probed {ref.rows:,}",
                expected=ref.rows,
                received=page.records,
            )
        try:
            tables.append(_typed(_csv.strip_nul(page.data), schema, ref.index, page.records))
        finally:
            page.release()  # the bytes are not needed once parsed
        return int(tables[-1].num_rows)

    fetch_page(
        conn,
        ref.url,
        index=ref.index,
        params=dict(ref.params) or None,
        check=check,
        headers=dict(headers),
    )
    return tables[-1]


def _typed(
    data: _csv.Data, schema: _csv.PageSchema, index: int, rows: int | None = None
) -> pa.Table:
    """One page's bytes as a table of the plan's schema (header spelling may differ in case)."""
    columns = _csv.read_header(data)
    if not columns:
        return schema.arrow_schema().empty_table()
    if tuple(columns) != schema.headers:
        if [c.lower() for c in columns] != [h.lower() for h in schema.headers]:
            raise UnexpectedAnswerError(
                f"Result page {index} has the columns {columns}, the first page had "
                f"{list(schema.headers)}; read the job again.",
                endpoint=f"bulk result page {index}",
                body_start=",".join(columns)[:200],
            )
        schema = _csv.PageSchema(tuple(columns), schema.names, schema.types)
    return _csv.read_page(data, schema, rows=rows)
