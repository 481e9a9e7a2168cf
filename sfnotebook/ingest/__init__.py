"""``insert``, ``update``, ``upsert``, ``delete``: a DataFrame into Salesforce through Bulk API 2.0.

The safety rules every write follows:

1. **Checked before anything is sent.** The frame is checked against the object's describe
   (fields, access, required fields, types, lengths, restricted picklists, Ids, the upsert key:
   :mod:`sfnotebook.ingest._validate`); any problem raises
   :class:`~sfnotebook.errors.IngestValidationError` listing every one, and no job exists.
2. **``dry_run=True``** returns an :class:`~sfnotebook.ingest._plan.IngestPlan` (columns and
   types, rows, jobs, API calls) and sends nothing but the describe reads.
3. **Every row accounted for.** The results frame has one row per input row (the input's
   index): ``success``, ``created``, ``id``, ``error_code``, ``error_message``, ``job_id``.
   Each job's successful, failed and unprocessed results must add up to the rows it was sent,
   or :class:`~sfnotebook.errors.IngestIncompleteError` is raised.
4. **Never silently partial.** When any row failed the call raises
   :class:`~sfnotebook.errors.RowsFailedError` (or warns, with ``errors="warn"``); a job that
   fails raises :class:`~sfnotebook.errors.IngestJobError` and no further job is created. Each
   carries ``.results``, so what was written is always known.
5. **Nothing applied twice.** Job creation, upload and close are never retried
   (:mod:`sfnotebook.ingest._job`); a KeyboardInterrupt aborts the open job, then propagates
   (rows a job processed before its abort stay written, as on Salesforce).
6. **Within Salesforce's limits.** Rows are split into jobs of at most 100 MB of CSV (one
   upload each), or ``rows_per_job``.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from sfnotebook import _options, _output
from sfnotebook._api import Frame, OrgApi, Progress
from sfnotebook._paths import api_name
from sfnotebook._polling import POLL_INTERVAL
from sfnotebook._progress import Tally, progress_bar
from sfnotebook.errors import (
    IngestIncompleteError,
    IngestJobError,
    RowsFailedError,
    RowsFailedWarning,
)
from sfnotebook.ingest._csv import Chunk, split
from sfnotebook.ingest._input import read_frame
from sfnotebook.ingest._job import Job
from sfnotebook.ingest._plan import IngestPlan
from sfnotebook.ingest._results import Outcomes
from sfnotebook.ingest._validate import Prepared, prepare

__all__ = ["IngestPlan", "delete", "insert", "update", "upsert"]

log = logging.getLogger("sfnotebook.ingest")

Errors = Literal["raise", "warn"]


def insert(
    conn: OrgApi,
    df: Any,
    sobject: str,
    *,
    dry_run: bool = False,
    errors: Errors = "raise",
    skip_nulls: bool = False,
    rows_per_job: int | None = None,
    progress: Progress = "auto",
    poll_interval: float = POLL_INTERVAL,
    output: _output.Output | None = None,
) -> Frame | IngestPlan:
    """Create one record per row of ``df`` in ``sobject`` (Bulk API 2.0 ``insert``).

    Parameters
    ----------
    df : pandas DataFrame, polars DataFrame or pyarrow.Table
        Columns named by field API names (any case), or ``Relationship.ExternalIdField``
        (``ReportsTo.External_Id__c``) to point a lookup at a record by its external id.
    sobject : str
        The object's API name (``"Contact"``, ``"Invoice__c"``).
    dry_run : bool
        Check everything and return the :class:`IngestPlan` of what would be sent: columns and
        types, rows, jobs, API calls. Nothing is sent but the describe reads.
    errors : {"raise", "warn"}
        When some rows fail: raise :class:`~sfnotebook.errors.RowsFailedError` (its
        ``.results`` holds the frame), or warn (:class:`~sfnotebook.errors.RowsFailedWarning`)
        and return the frame.
    skip_nulls : bool
        A missing value (None, NaN, NaT, ``""``) leaves the field as it is (an empty cell)
        instead of setting it to null (``#N/A``).
    rows_per_job : int, optional
        At most this many rows per job (jobs are also kept under 100 MB of CSV each).
    progress : bool or "auto"
        Show the rows written and each job's state (``"auto"``: only in a notebook).
    poll_interval : float
        The smallest gap between status checks of each job (default 0.2 s); the first is
        sent at once, and gaps grow to a tenth of the job's age, at most 30 s.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the results frame. Default: the connection's ``output``.

    Returns
    -------
    DataFrame (or polars DataFrame, pyarrow.Table), or IngestPlan with ``dry_run=True``
        One row per input row (the input's index in pandas; ``row`` is the position):
        ``success``, ``created``, ``id`` (the record Id), ``error_code``, ``error_message``
        (Salesforce's, or ``NOT_PROCESSED`` / ``NOT_SENT`` for rows no job reached),
        ``job_id``.

    Raises
    ------
    IngestValidationError
        Rows that cannot be written as given (``.problems``); nothing was sent.
    RowsFailedError
        Some rows failed (``.results``), unless ``errors="warn"``.
    IngestJobError
        A job ended Failed or Aborted (``.results``); no further job was created.
    IngestIncompleteError
        A job's results do not account for the rows it was sent.

    Examples
    --------
    >>> new = pd.DataFrame({"LastName": ["Lovelace", "Hopper"], "Email": ["ada@x.org", None]})
    >>> org.insert(new, "Contact", dry_run=True)  # doctest: +SKIP
    >>> results = org.insert(new, "Contact")  # doctest: +SKIP
    >>> new["Id"] = results["id"]  # doctest: +SKIP
    """
    return _write(
        conn,
        df,
        sobject,
        "insert",
        None,
        dry_run,
        errors,
        skip_nulls,
        rows_per_job,
        progress,
        poll_interval,
        output,
    )


def update(
    conn: OrgApi,
    df: Any,
    sobject: str,
    *,
    dry_run: bool = False,
    errors: Errors = "raise",
    skip_nulls: bool = False,
    rows_per_job: int | None = None,
    progress: Progress = "auto",
    poll_interval: float = POLL_INTERVAL,
    output: _output.Output | None = None,
) -> Frame | IngestPlan:
    """Change the records named by ``df``'s ``Id`` column (Bulk API 2.0 ``update``).

    Only the frame's columns are written; fields without a column keep their values. A
    missing value sets the field to null, unless ``skip_nulls=True``. Each Id must appear once.
    Parameters, returns and errors as for ``org.insert``.

    Examples
    --------
    >>> df = org.query("SELECT Id, Title FROM Contact WHERE Title = 'VP Sales'")  # doctest: +SKIP
    >>> org.update(df.assign(Title="VP, Sales"), "Contact")  # doctest: +SKIP
    """
    return _write(
        conn,
        df,
        sobject,
        "update",
        None,
        dry_run,
        errors,
        skip_nulls,
        rows_per_job,
        progress,
        poll_interval,
        output,
    )


def upsert(
    conn: OrgApi,
    df: Any,
    sobject: str,
    *,
    external_id: str,
    dry_run: bool = False,
    errors: Errors = "raise",
    skip_nulls: bool = False,
    rows_per_job: int | None = None,
    progress: Progress = "auto",
    poll_interval: float = POLL_INTERVAL,
    output: _output.Output | None = None,
) -> Frame | IngestPlan:
    """Update the records whose ``external_id`` matches a row, create the others (``upsert``).

    Parameters
    ----------
    external_id : str
        An External ID field of ``sobject`` (or ``"Id"``), present as a column, set in every
        row and each value given once. Other parameters, returns and errors as for
        ``org.insert``; ``created`` tells which rows made new records.

    Examples
    --------
    >>> org.upsert(df, "Contact", external_id="External_Id__c")  # doctest: +SKIP
    """
    if not isinstance(external_id, str) or not external_id:
        raise TypeError(f"external_id must be a field's API name, not {external_id!r}")
    return _write(
        conn,
        df,
        sobject,
        "upsert",
        external_id,
        dry_run,
        errors,
        skip_nulls,
        rows_per_job,
        progress,
        poll_interval,
        output,
    )


def delete(
    conn: OrgApi,
    df: Any,
    sobject: str,
    *,
    dry_run: bool = False,
    errors: Errors = "raise",
    rows_per_job: int | None = None,
    progress: Progress = "auto",
    poll_interval: float = POLL_INTERVAL,
    output: _output.Output | None = None,
) -> Frame | IngestPlan:
    """Delete the records of ``df``'s ``Id`` column (Bulk API 2.0 ``delete``: to the Recycle
    Bin, restorable for 15 days; never ``hardDelete``).

    Only the ``Id`` column is sent; the frame's other columns are ignored. Parameters, returns
    and errors as for ``org.insert``.

    Examples
    --------
    >>> org.delete(org.query("SELECT Id FROM Contact WHERE LastName = 'Test'"), "Contact")  # doctest: +SKIP
    """
    return _write(
        conn,
        df,
        sobject,
        "delete",
        None,
        dry_run,
        errors,
        False,
        rows_per_job,
        progress,
        poll_interval,
        output,
    )


# --------------------------------------------------------------------------- the write


def _write(
    conn: OrgApi,
    df: Any,
    sobject: str,
    operation: str,
    external_id: str | None,
    dry_run: bool,
    errors: Errors,
    skip_nulls: bool,
    rows_per_job: int | None,
    progress: Progress,
    poll_interval: float,
    output: _output.Output | None,
) -> Frame | IngestPlan:
    api_name(sobject, argument="sobject", what="an object's API name")
    if external_id is not None:
        api_name(external_id, argument="external_id", what="a field's API name")
    if errors not in ("raise", "warn"):
        raise ValueError(f'errors must be "raise" or "warn", not {errors!r}')
    if not isinstance(dry_run, bool) or not isinstance(skip_nulls, bool):
        raise TypeError("dry_run and skip_nulls must be True or False")
    _options.check_progress(progress)
    _options.check_count("rows_per_job", rows_per_job, optional=True)
    _options.check_seconds("poll_interval", poll_interval)
    chosen = _output.resolve(output, conn)
    rows = read_frame(df)
    prepared = prepare(
        conn, rows, sobject, operation, external_id=external_id, skip_nulls=skip_nulls
    )
    chunks = split(prepared.columns, rows.count, skip_nulls=skip_nulls, rows_per_job=rows_per_job)
    if dry_run:
        return _plan(prepared, chunks)
    outcomes = Outcomes(rows.count)
    _run(conn, prepared, chunks, outcomes, skip_nulls, progress, poll_interval, chosen)
    results = outcomes.frame(rows.labels, rows.index_name, chosen)
    failed = outcomes.failed
    if failed:
        message = _failed_message(prepared, outcomes)
        if errors == "raise":
            raise RowsFailedError(message, results=results, failed=failed)
        warnings.warn(RowsFailedWarning(message), stacklevel=3)
    return results


def _plan(prepared: Prepared, chunks: list[Chunk]) -> IngestPlan:
    sample = b"".join(chunks[0].data.splitlines(keepends=True)[:6]).decode() if chunks else ""
    return IngestPlan(
        operation=prepared.operation,
        sobject=prepared.sobject,
        external_id=prepared.key if prepared.operation == "upsert" else None,
        columns=[(c.source, c.header, str(c.field.get("type"))) for c in prepared.columns],
        rows=prepared.rows.count,
        jobs=[(c.start, c.stop, len(c.data)) for c in chunks],
        sample=sample,
    )


def _run(
    conn: OrgApi,
    prepared: Prepared,
    chunks: list[Chunk],
    outcomes: Outcomes,
    skip_nulls: bool,
    progress: Progress,
    poll_interval: float,
    output: _output.Output,
) -> None:
    """Run the jobs one after the other; stop at the first that does not complete."""
    key = prepared.key if prepared.operation == "upsert" else None
    bar = progress_bar(
        prepared.rows.count,
        enabled=progress,
        desc=f"{prepared.operation} {prepared.sobject}",
        tally=Tally.start(getattr(conn, "session", None)),
    )
    job: Job | None = None
    try:
        for number, chunk in enumerate(chunks, 1):
            job = Job(conn, prepared.sobject, prepared.operation, key)
            _send(job, chunk)
            label = f"{prepared.operation} {prepared.sobject}: job {number} of {len(chunks)}"
            info = job.wait(poll_interval, _describing(bar, label))
            outcome = job.results(info)
            assert job.id is not None  # noqa: S101 - set by create()
            try:
                outcomes.record(
                    chunk, prepared.columns, prepared.key, job.id, outcome, skip_nulls=skip_nulls
                )
            except IngestIncompleteError as exc:
                exc.results = outcomes.frame(prepared.rows.labels, prepared.rows.index_name, output)
                raise
            bar.update(chunk.rows)
            if outcome.state != "JobComplete":
                raise _job_error(job.id, outcome.info, prepared, outcomes, output)
            job = None
    except KeyboardInterrupt:
        if job is not None:
            job.abort()
        log.warning(_interrupted(prepared, outcomes))
        raise
    finally:
        bar.close()


def _describing(bar: Any, label: str) -> Any:
    """A status callback that shows the job's state on the bar."""

    def show(info: dict[str, Any]) -> None:
        bar.set_description(f"{label}: {info.get('state')}")

    return show


def _send(job: Job, chunk: Chunk) -> None:
    """Create, upload, close; a job not closed applied nothing, so it is aborted on failure."""
    job.create()
    try:
        job.upload(chunk.data)
        job.close()
    except Exception:
        if not job.closed:
            job.abort()
        raise


def _job_error(
    job_id: str,
    info: dict[str, Any],
    prepared: Prepared,
    outcomes: Outcomes,
    output: _output.Output,
) -> IngestJobError:
    state = str(info.get("state"))
    reason = info.get("errorMessage") or "no error message given"
    written = sum(1 for s in outcomes.success if s)
    return IngestJobError(
        f"Ingest job {job_id} ({prepared.operation} {prepared.sobject}) ended {state}: {reason}. "
        f"{written:,} of {outcomes.count:,} rows were written and stay written; no further job "
        "was created. .results holds every row's outcome (NOT_PROCESSED, NOT_SENT for the rest).",
        job_id=job_id,
        state=state,
        error_message=info.get("errorMessage"),
        results=outcomes.frame(prepared.rows.labels, prepared.rows.index_name, output),
    )


def _failed_message(prepared: Prepared, outcomes: Outcomes) -> str:
    failed = outcomes.failed
    codes = Counter(c for c, s in zip(outcomes.codes, outcomes.success, strict=True) if not s)
    summary = ", ".join(f"{n:,} {code}" for code, n in codes.most_common())
    return (
        f"{failed:,} of {outcomes.count:,} rows were not written to {prepared.sobject} "
        f"({outcomes.count - failed:,} were): {summary}. The results (.results on this error) "
        "have one row per input row; results[~results.success] are the rows to fix and send "
        "again."
    )


def _interrupted(prepared: Prepared, outcomes: Outcomes) -> str:
    jobs: Iterable[str] = sorted({j for j in outcomes.jobs if j})
    written = sum(1 for s in outcomes.success if s)
    return (
        f"{prepared.operation} {prepared.sobject} interrupted: the open job was aborted; "
        f"{written:,} rows of completed jobs ({', '.join(jobs) or 'none'}) stay written, and "
        "rows the aborted job processed before the abort too."
    )
