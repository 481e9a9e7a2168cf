"""``extract()``: large SOQL results through Bulk API 2.0, as a DataFrame or a Parquet folder.

The life of one extract:

1. ``POST jobs/query`` creates the job (``query``, or ``queryAll`` with deleted rows);
2. ``GET jobs/query/{id}`` is polled on a schedule that notices the end within 10% of the job's age, until ``JobComplete``
   (``Failed`` / ``Aborted`` raise :class:`~sfnotebook.errors.BulkJobError` with Salesforce's
   ``errorMessage``);
3. the result pages are downloaded (concurrently through ``resultPages`` on API 58.0+, else by
   ``Sforce-Locator``), each parsed straight from its bytes by ``pyarrow.csv`` and typed with
   the dtype table from the describes (see :mod:`sfnotebook.bulk._csv`);
4. the typed pages become one DataFrame (the same columns and dtypes as ``org.query`` gives),
   or one Parquet file each in a folder.

Nothing is returned that is not complete: the rows received must equal the job's
``numberRecordsProcessed`` (and each page its ``Sforce-NumberOfRecords``, where given), else
:class:`~sfnotebook.errors.IncompleteResultError`. With ``to=`` the folder is replaced only
once the new files are complete (see :mod:`sfnotebook.bulk._parquet`).

A KeyboardInterrupt (a cancelled notebook cell), at any point, stops and joins the download
workers, aborts the job on the server, removes the half-written new folder, then re-raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

from sfnotebook import _gc, _options, _output
from sfnotebook import _soql_parse as sp
from sfnotebook._api import Dtypes, Frame, OrgApi, Params, Progress
from sfnotebook._paths import record_id
from sfnotebook._polling import POLL_INTERVAL, poll_until
from sfnotebook._progress import Enabled, Tally, progress_bar
from sfnotebook._rerun import CacheAge, rerunnable
from sfnotebook._soql_bind import with_params
from sfnotebook.bulk._collect import Collector
from sfnotebook.bulk._folder import ExtractFolder, folder_result
from sfnotebook.bulk._job import COMPLETE, decode_created, decode_status
from sfnotebook.bulk._pages import csv_headers, run_pages
from sfnotebook.bulk._parquet import OutputTarget, prepare_folder
from sfnotebook.bulk._soql_check import check_bulk_soql
from sfnotebook.errors import BulkJobError, OutputFolderError, SfNotebookError

__all__ = ["extract", "job_results"]

log = logging.getLogger("sfnotebook.bulk")

_FAILED = {"Failed", "Aborted"}


def extract(
    conn: OrgApi,
    soql: str,
    *,
    params: Params | None = None,
    include_deleted: bool = False,
    to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: Progress = "auto",
    dtypes: Dtypes | None = None,
    max_records: int | None = None,
    poll_interval: float = POLL_INTERVAL,
    concurrency: int = 4,
    compress: bool | None = None,
    output: _output.Output | None = None,
    cache: CacheAge = None,
    refresh: bool = False,
) -> Frame | ExtractFolder:
    """Run ``soql`` as a Bulk API 2.0 query job; return a typed DataFrame or a Parquet folder.

    Prefer it to ``org.query`` past a few hundred thousand rows: Salesforce sends up to
    hundreds of thousands of rows per result page instead of 2,000 per REST call.

    Parameters
    ----------
    soql : str
        A Bulk-compatible SOQL query: no GROUP BY, OFFSET, TYPEOF, aggregates, compound
        fields or child subqueries; dotted parent fields are fine.
    params : dict, optional
        Values for the ``:name`` binds in ``soql``, each written as one SOQL literal of the
        same meaning, as for ``org.query`` (a name or value that cannot be bound raises
        :class:`~sfnotebook.errors.SoqlBindError` before the job is created).
    include_deleted : bool
        Include deleted and archived rows (``queryAll``).
    to : str or path, optional
        A folder: stream every result page to ``part-NNNNN.parquet`` there (one schema for all
        files) and return the folder's path, holding only the pages in flight in memory.
    overwrite : bool
        With ``to=``, replace a folder of Parquet files instead of refusing. The old folder is
        swapped for the new one only once every new file is written and checked; a failed or
        cancelled extract leaves it as it was. A folder holding anything else is refused
        before any job is created.
    progress : bool or "auto"
        Show the job state, then the rows downloaded (``"auto"``: only in a notebook).
    dtypes : dict, optional
        ``{column: dtype}`` overrides; they win over the dtype table.
    max_records : int, optional
        Rows per result page (Salesforce picks when omitted); smaller pages use less memory.
    poll_interval : float
        The smallest gap between status checks (default 0.2 s); the first is sent at once,
        and gaps grow to a tenth of the job's age, at most 30 s. A job is noticed within
        0.2 s or 10% of its age when this is at most 0.2 (see ``sfnotebook._polling``).
    concurrency : int
        Result pages downloaded at once when the API offers independent page URLs (58.0+).
    compress : bool, optional
        Ask for gzip-compressed pages. By default yes, except from a server on this machine
        (``localhost``), where compressing costs time and saves nothing.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result without ``to=``: a pandas DataFrame, a polars DataFrame or a
        ``pyarrow.Table`` (the Parquet files' types). Default: the connection's ``output``.

    cache : str, int or timedelta, optional
        DataFrame results only (not with ``to=``): keep the result on disk and return it again, with no API call, while it is younger
        than this: ``"1h"``, ``"30min"``, ``"2d"``, seconds or a ``timedelta``. Default: the
        connection's ``cache`` (none unless ``connect(cache=...)``). See :mod:`sfnotebook._rerun`.
    refresh : bool
        Fetch again even if a kept result is young enough, and keep the new one.

    Returns
    -------
    pandas.DataFrame (or polars DataFrame, pyarrow.Table), or, when ``to=`` is given, an
    :class:`~sfnotebook.bulk._folder.ExtractFolder`: the folder's path (``os.PathLike``, equal
    to its ``Path``) with ``rows``, ``files`` and ``bytes``.

    Raises
    ------
    SoqlBindError
        A ``params=`` name or value that cannot be bound (before the job is created).
    BulkJobError
        The job ended ``Failed`` or ``Aborted`` (``.error_message`` holds Salesforce's).
    MalformedQueryError, InvalidFieldError, SalesforceError
        Salesforce refused to create the job (its message says why).

    Examples
    --------
    >>> df = org.extract("SELECT Id, Name, Account.Name, Amount FROM Opportunity")  # doctest: +SKIP
    >>> org.extract("SELECT Id, Amount FROM Opportunity", to="opps/")  # doctest: +SKIP
    ExtractFolder('opps', rows=1,204, files=1, bytes=25.3 kB)
    >>> import duckdb; duckdb.sql("select count(*) from 'opps/*.parquet'")  # doctest: +SKIP
    >>> org.extract("SELECT Id FROM Lead WHERE Status IN :open", params={"open": ["New", "Working"]})  # doctest: +SKIP
    """
    soql = with_params(soql, params)
    check_bulk_soql(soql)  # before any round trip: GROUP BY, OFFSET, TYPEOF, aggregates ...
    _check_options(
        to=to,
        progress=progress,
        concurrency=concurrency,
        max_records=max_records,
        poll_interval=poll_interval,
    )
    _check_extract_dtypes(soql, dtypes)
    output = _output.resolve(output, conn)
    _output.check_dtype_values(dtypes, output)
    target = prepare_folder(to, overwrite=overwrite) if to is not None else None
    tally = Tally.start(conn.session)  # the progress summary counts the job's creation too
    job = _create_job(conn, soql, include_deleted=include_deleted)
    return _results(
        conn,
        str(job["id"]),
        created=True,
        tally=tally,
        soql=soql,
        root=job.get("object"),
        target=target,
        progress=progress,
        dtypes=dtypes,
        max_records=max_records,
        poll_interval=poll_interval,
        concurrency=concurrency,
        compress=compress,
        output=output,
    )


def job_results(
    conn: OrgApi,
    job_id: str,
    *,
    to: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: Progress = "auto",
    dtypes: Dtypes | None = None,
    max_records: int | None = None,
    poll_interval: float = POLL_INTERVAL,
    concurrency: int = 4,
    compress: bool | None = None,
    output: _output.Output | None = None,
) -> Frame | ExtractFolder:
    """Wait for an existing Bulk API 2.0 query job and download its results, as ``extract`` does.

    For a job created elsewhere (another session, a scheduled integration): results stay on
    Salesforce for 7 days and can be read again.

    Parameters
    ----------
    job_id : str
        The query job's Id (``750...``).
    to, overwrite, progress, dtypes, max_records, poll_interval, concurrency, compress
        As for ``org.extract``.

    Returns
    -------
    pandas.DataFrame, or an ``ExtractFolder`` (a path) when ``to=`` is given.

    Examples
    --------
    >>> df = org.job_results("750XX0000000001AAA")  # doctest: +SKIP
    >>> from sfnotebook.bulk import job_results      # the same function, org first
    >>> df = job_results(org, "750XX0000000001AAA")  # doctest: +SKIP
    """
    record_id(job_id, argument="job_id", what="a Bulk API query job Id", prefix="750")
    _check_options(
        to=to,
        progress=progress,
        concurrency=concurrency,
        max_records=max_records,
        poll_interval=poll_interval,
    )
    output = _output.resolve(output, conn)
    _output.check_dtype_values(dtypes, output)
    target = prepare_folder(to, overwrite=overwrite) if to is not None else None
    return _results(
        conn,
        job_id,
        created=False,
        soql="",
        root=None,
        target=target,
        progress=progress,
        dtypes=dtypes,
        max_records=max_records,
        poll_interval=poll_interval,
        concurrency=concurrency,
        compress=compress,
        output=output,
    )


def _check_options(
    *,
    to: object,
    progress: object,
    concurrency: object,
    max_records: object,
    poll_interval: object,
) -> None:
    """Every option is checked before the job exists: a bad one never fails after it ran."""
    if to is not None:
        if not isinstance(to, str | os.PathLike):
            raise TypeError(f"to must be a folder path (str or pathlib.Path), not {to!r}")
        if "\x00" in str(os.fspath(to)):
            # The OS refuses it only when the folder is made, after the job was created.
            raise OutputFolderError(
                f"to={to!r} holds a NUL byte, which no path can; nothing was sent."
            )
    _options.check_progress(progress)
    _options.check_count("concurrency", concurrency)
    _options.check_count("max_records", max_records, optional=True)
    _options.check_seconds("poll_interval", poll_interval)


def _check_extract_dtypes(soql: str, dtypes: Mapping[str, Any] | None) -> None:
    """``dtypes=`` keys must be columns of the SELECT list (when it can be read here)."""
    if not dtypes:
        return
    select = sp.parse_select(soql)
    if select is None or not all(isinstance(i, sp.FieldRef) for i in select.items):
        return  # checked against the result's columns instead
    _options.check_dtypes(dtypes, [i.key for i in select.items if isinstance(i, sp.FieldRef)])


def _results(
    conn: OrgApi,
    job_id: str,
    *,
    created: bool,
    soql: str,
    root: str | None,
    target: OutputTarget | None,
    progress: Enabled,
    dtypes: Mapping[str, Any] | None,
    max_records: int | None,
    poll_interval: float,
    concurrency: int,
    compress: bool | None,
    output: _output.Output,
    tally: Tally | None = None,
) -> Any:
    """Wait for the job, download, convert and check its pages.

    The job is aborted on a KeyboardInterrupt, and, when this call ``created`` it, on any
    failure before it completed: nobody else knows its id, so nothing may be left running.
    """
    collector: Collector | None = None
    bar = _Progress(progress, job_id, tally or Tally.start(conn.session))
    complete = False
    try:
        collector = Collector(conn, soql, root=root, target=target, dtypes=dtypes, output=output)
        info = _wait(conn, job_id, poll_interval=poll_interval, bar=bar)
        complete = True
        collector.root = info.get("object") or collector.root
        expected = info.get("numberRecordsProcessed")  # a whole number: checked at the edge
        bar.downloading(expected)
        # Downloads, Arrow tables and the frame make few Python containers but many
        # allocations: collections meanwhile would only walk the heap (sfnotebook._gc).
        with _gc.paused():
            pages = run_pages(
                conn,
                job_id,
                collector.handle,
                max_records=max_records,
                concurrency=concurrency,
                headers=csv_headers(conn, compress),
            )
            try:
                for result in pages:
                    collector.keep(result)
                    bar.update(result.rows)
            finally:
                pages.close()  # stops and joins the workers: nothing is written after this
            return collector.finish(expected, job_id=job_id)
    except KeyboardInterrupt:
        try:
            _abort(conn, job_id)
        finally:
            if collector is not None:
                collector.discard()
        raise
    except BaseException as exc:
        try:
            if created and not complete and not isinstance(exc, BulkJobError):
                _abort(conn, job_id)
        finally:
            if collector is not None:
                collector.discard()
        raise
    finally:
        bar.close()


# --------------------------------------------------------------------------- the job


def _create_job(conn: OrgApi, soql: str, *, include_deleted: bool) -> dict[str, Any]:
    body = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    # Never retried (retry=False): a 5xx may come after the job was created, and a blind retry
    # would start a second job (one of the 10,000 a day) running the same query.
    job = decode_created(conn.request("POST", "jobs/query", json=body, retry=False))
    log.info("bulk query job %s created (%s)", job.get("id"), job.get("state"))
    return job


def _poll(conn: OrgApi, job_id: str) -> dict[str, Any]:
    """One status check (``GET jobs/query/{id}``), its shape checked at the edge."""
    return decode_status(conn.request("GET", f"jobs/query/{job_id}"))


def _wait(conn: OrgApi, job_id: str, *, poll_interval: float, bar: _Progress) -> dict[str, Any]:
    """Poll until the job completes; raise :class:`BulkJobError` if it fails or is aborted.

    The first check is sent at once (a job read again may be long finished), the next ones on
    :mod:`sfnotebook._polling`'s schedule, so a finished job is noticed within 0.2 s or a
    tenth of its age.
    """

    def check() -> dict[str, Any]:
        info = _poll(conn, job_id)
        state = str(info.get("state"))
        bar.state(state, info.get("numberRecordsProcessed"))
        if state in _FAILED:
            message = info.get("errorMessage") or "no error message given"
            raise BulkJobError(
                f"Bulk API query job {job_id} ended {state}: {message}",
                job_id=job_id,
                state=state,
                error_message=info.get("errorMessage"),
            )
        return info

    return poll_until(check, lambda info: info.get("state") == COMPLETE, interval=poll_interval)


def _abort(conn: OrgApi, job_id: str) -> None:
    """Ask Salesforce to stop the job (best effort: the interrupt must still propagate)."""
    try:
        conn.request("PATCH", f"jobs/query/{job_id}", json={"state": "Aborted"}, timeout=(5, 10))
        log.info("bulk query job %s aborted", job_id)
    except (SfNotebookError, requests.RequestException) as exc:
        log.warning("could not abort bulk query job %s: %s", job_id, exc)


# --------------------------------------------------------------------------- progress


class _Progress:
    """The job's state and rows processed while it runs (``Bulk job 750...: InProgress ·
    40,000 rows``, no empty counter), then rows downloaded out of ``numberRecordsProcessed``,
    then one summary line (``JobComplete · 120,000 rows · 4 API calls · 6.2 s``)."""

    def __init__(self, progress: Enabled, job_id: str, tally: Tally | None = None) -> None:
        self.job_id = job_id
        self.bar = progress_bar(None, enabled=progress, tally=tally)
        self.bar.status(f"Bulk job {job_id}: queued")

    def state(self, state: str, processed: int | None) -> None:
        text = f"Bulk job {self.job_id}: {state}"
        if processed:
            text += f" · {processed:,} rows"
        self.bar.status(text)
        self.bar.finish_state(state)

    def downloading(self, total: int | None) -> None:
        self.bar.reset(total=total)
        self.bar.set_description("Downloading")

    def update(self, rows: int) -> None:
        self.bar.update(rows)

    def close(self) -> None:
        self.bar.close()


if not TYPE_CHECKING:  # metadata and the rerun cache (sfnotebook._rerun); mypy sees the verbs
    extract = rerunnable("bulk", finish=folder_result)(extract)
    job_results = rerunnable("bulk", cacheable=False, finish=folder_result)(job_results)
