"""Salesforce as a Dask source: a Bulk API 2.0 query as a ``dask.dataframe``, one partition per page.

>>> import sfnotebook.dask                                                  # doctest: +SKIP
>>> ddf = sfnotebook.dask.read_soql("SELECT Id, Amount FROM Opportunity", org=org)
>>> ddf.Amount.sum().compute()                                              # doctest: +SKIP

``read_soql`` runs the job and plans the read here, in the calling process (so an interrupt
while the job runs aborts it), then builds the graph with :func:`dask.dataframe.from_map`:
each task downloads and parses its result pages on a worker
(:mod:`sfnotebook.bulk._partitions`) and returns a pandas frame with the dtypes ``org.extract``
gives. Credentials on the workers: :mod:`sfnotebook._worker` (``credentials=``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sfnotebook import _options
from sfnotebook._api import Dtypes
from sfnotebook._polling import POLL_INTERVAL
from sfnotebook._worker import Credentials, WorkerGrant, grant_for, worker_connection
from sfnotebook.bulk import _csv
from sfnotebook.bulk._frame import FrameAssembler
from sfnotebook.bulk._partitions import PageRef, plan_read, read_pages
from sfnotebook.connection import Connection, get_default
from sfnotebook.errors import IncompleteResultError, OutputLibraryMissingError

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = ["read_soql"]


def read_soql(
    soql: str | None = None,
    *,
    org: Connection | None = None,
    job_id: str | None = None,
    credentials: Credentials = "token",
    include_deleted: bool = False,
    max_records: int | None = None,
    pages_per_partition: int = 1,
    poll_interval: float = POLL_INTERVAL,
    compress: bool | None = None,
    dtypes: Dtypes | None = None,
) -> dd.DataFrame:
    """Run ``soql`` as a Bulk API 2.0 query job; return its result as a lazy Dask DataFrame.

    The job runs (and is waited for) now; the result pages are downloaded when the frame is
    computed, one partition per page (or per ``pages_per_partition`` pages), on the workers.
    Every partition is checked against the row count its pages announced, and those counts
    against the job's ``numberRecordsProcessed`` before the frame is returned, so a computed
    result is whole or raises :class:`~sfnotebook.errors.IncompleteResultError`.

    Parameters
    ----------
    soql : str
        Bulk-compatible SOQL, as for ``org.extract``. Or give ``job_id`` instead.
    org : Connection, optional
        The driver's connection (default: the default connection).
    job_id : str, optional
        Read a finished (or running) query job's results instead of running ``soql``.
    credentials : {"token", "environment"}
        ``"token"``: workers get this connection's access token (never the consumer secret);
        ``"environment"``: each worker logs in from its own ``SF_*`` settings. See the README.
    include_deleted, max_records, poll_interval, compress
        As for ``org.extract``; ``max_records`` sets the rows per page, so per partition.
    pages_per_partition : int
        Result pages per partition (consecutive pages).
    dtypes : dict, optional
        ``{column: dtype}`` overrides applied to every partition.

    Returns
    -------
    dask.dataframe.DataFrame
        Columns and dtypes as ``org.extract`` returns for the same SOQL (a column no describe
        types is text here, where ``extract`` would infer it: partitions must agree).

    Examples
    --------
    >>> ddf = sfnotebook.dask.read_soql("SELECT Id, StageName, Amount FROM Opportunity")
    ...     # doctest: +SKIP
    >>> ddf.groupby("StageName").Amount.sum().compute()                      # doctest: +SKIP
    """
    dd = _dask()
    _options.check_count("pages_per_partition", pages_per_partition)
    _options.check_count("max_records", max_records, optional=True)
    _options.check_seconds("poll_interval", poll_interval)
    if soql is not None and dtypes:
        columns, _ = _csv.select_columns(soql)
        if columns:
            _options.check_dtypes(dtypes, columns)
    conn = org if org is not None else get_default()
    grant = grant_for(conn, credentials)  # a bad credentials= fails before the job exists
    plan = plan_read(
        conn,
        soql=soql,
        job_id=job_id,
        include_deleted=include_deleted,
        max_records=max_records,
        poll_interval=poll_interval,
        compress=compress,
    )
    overrides = dict(dtypes) if dtypes else None
    return dd.from_map(
        _partition,
        plan.partitions(pages_per_partition),
        meta=_frame(plan.schema, [], overrides),
        label=f"salesforce-{plan.job_id}",
        enforce_metadata=False,
        grant=grant,
        schema=plan.schema,
        dtypes=overrides,
        compress=compress,
    )


def _partition(
    pages: Sequence[PageRef],
    *,
    grant: WorkerGrant,
    schema: _csv.PageSchema,
    dtypes: Mapping[str, Any] | None,
    compress: bool | None,
) -> pd.DataFrame:
    """On a worker: one partition's pages, downloaded, parsed and checked, as one frame."""
    conn = worker_connection(grant)
    tables = list(read_pages(conn, schema, pages, compress=compress))
    rows = sum(t.num_rows for t in tables)
    wanted = sum(p.rows for p in pages)
    if rows != wanted:  # read_pages checks each page; this guards the partition as a whole
        raise IncompleteResultError(
            f"a partition of {len(pages)} result pages held {rows:,} rows, not {wanted:,}",
            expected=wanted,
            received=rows,
        )
    return _frame(schema, tables, dtypes)


def _frame(
    schema: _csv.PageSchema, tables: Sequence[pa.Table], dtypes: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Typed pages -> the pandas frame ``extract`` would build (the same output seam)."""
    assembler = FrameAssembler(schema)
    for table in tables:
        assembler.add(table)
    frame: pd.DataFrame = assembler.frame(dtypes=dtypes, output="pandas")
    return frame


def _dask() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError:
        raise OutputLibraryMissingError(
            "sfnotebook.dask needs Dask: pip install 'sfnotebook[dask]'", library="dask"
        ) from None
    return dd
