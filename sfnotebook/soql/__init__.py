"""SOQL -> complete, typed DataFrames: ``query`` and ``query_iter``.

* **Complete.** Every page is fetched (``nextRecordsUrl`` to the end), and every page of every
  child subquery too, before the next parent page (fetching it would release the child
  cursors). The row count must equal ``totalSize``, else :class:`IncompleteResultError` is
  raised and no partial frame is returned.
* **Typed.** Column types come from the objects' describes (cached per connection) through the
  table in :mod:`sfnotebook.dtypes`; the caller's ``dtypes=`` win.
* **Fast and lean.** Pages are decoded from the response bytes straight into typed structs
  (:mod:`sfnotebook.soql._decode`) and kept only as compact Arrow column chunks. Without child
  subqueries the pages after page 1 download while earlier ones are converted, several at
  once by locator offset (``concurrency=``, :mod:`sfnotebook.soql._parallel`), verified and
  in order. A first query on a new connection costs two round trips one after the other
  (:mod:`sfnotebook.soql._plan`), and page 1 is sent before pandas is imported
  (:mod:`sfnotebook.soql._run`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sfnotebook import _meta, _options
from sfnotebook import _soql_parse as sp
from sfnotebook._api import Dtypes, Frame, OrgApi, Params, Progress
from sfnotebook._describe_paths import COMPOUND_PARTS
from sfnotebook._rerun import CacheAge, rerunnable
from sfnotebook._soql_bind import with_params
from sfnotebook.soql import _parallel, _run

if TYPE_CHECKING:  # imported while page 1 is in flight (``_run._load_frames``), not before
    from sfnotebook import _output
    from sfnotebook.soql._frames import Children, QueryResult

__all__ = [
    "LARGE_RESULT_ROWS",
    "MAX_CONCURRENCY",
    "MAX_RESTARTS",
    "query",
    "query_iter",
]

log = logging.getLogger("sfnotebook")

#: Results with more rows than this warn (:class:`LargeResultWarning`) that ``org.extract``
#: (Bulk API 2.0) would serve better. Set ``sfnotebook.soql.LARGE_RESULT_ROWS`` to change it,
#: or pass ``large_result_rows=`` to one call (``None`` or 0 there: the module value).
LARGE_RESULT_ROWS = 500_000

#: How often a query whose cursor was refused after a token re-exchange is read again from its
#: first page before the loss is raised (``df.attrs["sfnotebook"]["restarts"]`` says how many
#: restarts a result took).
MAX_RESTARTS = 2

#: The most query-more calls ``concurrency=`` may have in flight at once (each holds a page).
MAX_CONCURRENCY = 16


def _check_options(
    soql: str,
    *,
    progress: object,
    batch_size: object,
    children: object,
    large_result_rows: object,
    dtypes: object,
    concurrency: object = 1,
) -> None:
    """Checked before any request (``batchSize`` is 200 to 2,000: salesforce-api.md 3.3)."""
    _check_dtypes(soql, dtypes)
    _options.check_count("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
    _options.check_progress(progress)
    _options.check_count("batch_size", batch_size, minimum=200, maximum=2000, optional=True)
    _options.check_count("large_result_rows", large_result_rows, minimum=0, optional=True)
    if children not in ("frames", "drop"):
        raise ValueError(f'children must be "frames" or "drop", not {children!r}')


def _check_dtypes(soql: str, dtypes: object) -> None:
    """``dtypes=`` keys that no column of the SELECT list can have are refused before any
    request; when the SELECT list cannot be read here they are checked against the result."""
    if not dtypes:
        return
    if not isinstance(dtypes, Mapping):
        raise TypeError(f"dtypes must be a dict of {{column: dtype}}, not {dtypes!r}")
    select = sp.parse_select(soql)
    if select is None:
        return
    possible = sp.column_names(select, parts=tuple(COMPOUND_PARTS))
    unknown = [k for k in dtypes if str(k).lower() not in possible]
    if unknown:
        selected = [
            i.key if isinstance(i, sp.FieldRef | sp.Aggregate) else i.relationship
            for i in select.items
            if not isinstance(i, sp.SubSelect)
        ]
        raise KeyError(
            f"dtypes= names columns that the query does not select: {unknown}; "
            f"it selects {selected}"
        )


def query(
    conn: OrgApi,
    soql: str,
    *,
    params: Params | None = None,
    include_deleted: bool = False,
    progress: Progress = "auto",
    dtypes: Dtypes | None = None,
    batch_size: int | None = None,
    children: Children = "frames",
    split_multipicklist: bool = False,
    large_result_rows: int | None = None,
    output: _output.Output | None = None,
    concurrency: int = _parallel.DEFAULT_CONCURRENCY,
    cache: CacheAge = None,
    refresh: bool = False,
) -> Frame | QueryResult | int:
    """Run SOQL and return the whole result as a typed DataFrame.

    Parameters
    ----------
    soql : str
        The query. Parent paths (``Account.Owner.Name``), child subqueries, ``TYPEOF``,
        aggregates and ``GROUP BY`` are all supported.
    params : dict, optional
        Values for the ``:name`` binds in ``soql``, each written as one SOQL literal of the
        same meaning: strings quoted and escaped, numbers, booleans, dates, time-zone-aware
        datetimes (in UTC), ``None`` as ``null``, lists for ``IN``. Every bind needs an
        entry and every entry a bind; NaN, naive datetimes, empty lists and other values with
        no such literal raise :class:`~sfnotebook.errors.SoqlBindError` before any request.
        ``{name:like}`` inside a string escapes LIKE's ``%`` and ``_``; ``LAST_N_DAYS:30`` is
        a date literal, never a bind. Without ``params`` the SOQL is sent as written.
    include_deleted : bool
        Use ``queryAll``: include deleted and archived records.
    progress : bool or "auto"
        A progress bar for results spanning more than one page; "auto" shows it only in an
        interactive kernel.
    dtypes : dict, optional
        ``{column: dtype}`` overrides of the type table (they win); child frame columns too.
    batch_size : int, optional
        Rows per page (``Sforce-Query-Options: batchSize``), 200 to 2000; Salesforce's default
        2000 otherwise. Not sent for an ``OFFSET`` query: Salesforce may send only its first
        batch (an ``OFFSET`` query's result is at most 2,000 rows; one that may be cut short
        raises ``IncompleteResultError``).
    children : {"frames", "drop"}
        With child subqueries: ``"frames"`` returns a :class:`~sfnotebook.soql.records.QueryResult`
        (parent frame plus one frame per relationship), ``"drop"`` the parent frame only.
    split_multipicklist : bool
        Multi-select picklists as lists (``["A", "B"]``) instead of ``"A;B"``.
    large_result_rows : int, optional
        Warn above this many rows (default :data:`LARGE_RESULT_ROWS`, 500,000).
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result: a pandas DataFrame, a polars DataFrame or a
        ``pyarrow.Table``, with the same columns (child frames too). Default: the connection's
        ``output`` (``"pandas"`` unless ``connect(output=...)`` chose another).
    concurrency : int
        Pages fetched at once after the first (1 to :data:`MAX_CONCURRENCY`, default 4), by
        choosing each page's locator offset; every page is verified and the frame is the one
        sequential paging gives. An org that refuses chosen offsets is paged in turn from
        where it refused, and remembered (per connection, and in ``sfnotebook doctor``'s
        findings when it keeps some). 1: one page after the other. Queries with child
        subqueries always page in turn (their child cursors depend on it).

    cache : str, int or timedelta, optional
        Keep the result on disk and return it again, with no API call, while it is younger
        than this: ``"1h"``, ``"30min"``, ``"2d"``, seconds or a ``timedelta``. Default: the
        connection's ``cache`` (none unless ``connect(cache=...)``). See :mod:`sfnotebook._rerun`.
    refresh : bool
        Fetch again even if a kept result is young enough, and keep the new one.

    Returns
    -------
    pandas.DataFrame, QueryResult, or int
        A DataFrame (or polars frame, Arrow table); a ``QueryResult`` when the SOQL has child
        subqueries; the count (an ``int``) for ``SELECT COUNT() FROM ...``.

    Raises
    ------
    MalformedQueryError, InvalidFieldError, InvalidTypeError
        Salesforce refused the SOQL (``error_code`` and its message are on the exception).
    IncompleteResultError
        Fewer rows arrived than Salesforce announced.

    Examples
    --------
    >>> df = org.query("SELECT Id, Name, Amount, Account.Owner.Name FROM Opportunity")  # doctest: +SKIP
    >>> org.query("SELECT COUNT() FROM Account")  # doctest: +SKIP
    5000
    >>> org.query(
    ...     "SELECT Id, Name FROM Account WHERE Name = :name AND CreatedDate > :since",
    ...     params={"name": "O'Brien", "since": datetime(2024, 1, 1, tzinfo=timezone.utc)},
    ... )  # doctest: +SKIP
    """
    soql = with_params(soql, params)
    _check_options(
        soql,
        progress=progress,
        batch_size=batch_size,
        children=children,
        large_result_rows=large_result_rows,
        dtypes=dtypes,
        concurrency=concurrency,
    )
    resolved = _run.early_output(output, conn, dtypes)
    for builder, count in _run.run(
        conn,
        soql,
        max_restarts=MAX_RESTARTS,
        include_deleted=include_deleted,
        progress=progress,
        batch_size=batch_size,
        split_multipicklist=split_multipicklist,
        large_result_rows=large_result_rows or LARGE_RESULT_ROWS,
        chunk_rows=None,
        concurrency=concurrency,
        output=resolved,
    ):
        if builder is None:
            return count
        return builder.result(dtypes=dtypes, children=children, output=resolved)  # type: ignore[arg-type]
    raise AssertionError("unreachable: _run always yields")  # pragma: no cover


def query_iter(
    conn: OrgApi,
    soql: str,
    *,
    params: Params | None = None,
    chunk_rows: int = 100_000,
    include_deleted: bool = False,
    progress: Progress = "auto",
    dtypes: Dtypes | None = None,
    batch_size: int | None = None,
    children: Children = "frames",
    split_multipicklist: bool = False,
    large_result_rows: int | None = None,
    output: _output.Output | None = None,
    concurrency: int = _parallel.DEFAULT_CONCURRENCY,
) -> Iterator[Frame | QueryResult]:
    """Run SOQL and yield the result as typed DataFrame chunks of about ``chunk_rows`` rows.

    Parameters
    ----------
    soql : str
        The query, as for ``org.query``.
    params : dict, optional
        Values for its ``:name`` binds, as for ``org.query``.
    chunk_rows : int
        Rows per chunk (about: whole pages are kept together).
    include_deleted, progress, dtypes, batch_size, children, split_multipicklist, large_result_rows
        As for ``org.query``.
    output, concurrency
        As for ``org.query``; chunks come in the result's order whatever the concurrency.

    Notes
    -----
    Each chunk has the same columns and dtypes (a column whose
    type the describes cannot tell is inferred per chunk). Completeness is checked at the end:
    if fewer rows than announced arrived, :class:`IncompleteResultError` is raised after the
    chunks already yielded. ``SELECT COUNT()`` yields one frame with a ``count`` column.

    Examples
    --------
    >>> for chunk in org.query_iter("SELECT Id, Amount FROM Opportunity"):  # doctest: +SKIP
    ...     total += chunk["Amount"].sum()
    """
    soql = with_params(soql, params)
    _check_options(
        soql,
        progress=progress,
        batch_size=batch_size,
        children=children,
        large_result_rows=large_result_rows,
        dtypes=dtypes,
        concurrency=concurrency,
    )
    _options.check_count("chunk_rows", chunk_rows)
    resolved = _run.early_output(output, conn, dtypes)
    chunks = _ChunkInfo(conn, soql)
    for builder, count in _run.run(
        conn,
        soql,
        max_restarts=MAX_RESTARTS,
        include_deleted=include_deleted,
        progress=progress,
        batch_size=batch_size,
        split_multipicklist=split_multipicklist,
        large_result_rows=large_result_rows or LARGE_RESULT_ROWS,
        chunk_rows=chunk_rows,
        concurrency=concurrency,
        output=resolved,
    ):
        if builder is None:
            yield chunks.attach(_count_frame(count or 0, resolved), rows=1)
            return
        result = builder.result(dtypes=dtypes, children=children, output=resolved)  # type: ignore[arg-type]
        from sfnotebook.soql._frames import QueryResult as Result  # imported by now

        if isinstance(result, Result) or len(result) or builder.rows == 0:
            yield chunks.attach(result, rows=builder.rows)


class _ChunkInfo:
    """The metadata of ``query_iter``'s chunks: each says which chunk it is and what it cost.

    ``rows`` is the chunk's own; ``rows_so_far``, ``api_calls`` and ``elapsed_s`` count from
    the start of the iteration, so the last chunk's say what the whole result cost.
    """

    def __init__(self, conn: OrgApi, soql: str) -> None:
        self._conn, self._soql = conn, soql
        self._started = time.monotonic()
        self._requests = _meta.requests_sent(conn)
        self._chunk = self._rows = 0

    def attach(self, result: Any, *, rows: int) -> Any:
        self._chunk += 1
        self._rows += rows
        now = _meta.requests_sent(self._conn)
        info = _meta.make_info(
            self._conn,
            kind="soql",
            request=self._soql,
            rows=rows,
            pages_or_runs=None,
            api_calls=None if now is None or self._requests is None else now - self._requests,
            elapsed_s=time.monotonic() - self._started,
        )
        return _meta.attach(result, {**info, "chunk": self._chunk, "rows_so_far": self._rows})


def _count_frame(count: int, output: str) -> Frame:
    """``SELECT COUNT()`` as one frame with a ``count`` column (for ``query_iter``)."""
    import pyarrow as pa

    from sfnotebook import _output
    from sfnotebook import dtypes as _dt

    ints = _dt.field_type("int")
    counted = _output.Column("count", ints, [pa.array([count], type=ints.arrow)])
    return _output.table([counted], rows=1, output=output)  # type: ignore[arg-type]


def _query_result(frame: Any, children: dict[str, Any]) -> Any:
    """A kept :class:`~sfnotebook.soql.records.QueryResult` put back together (imported only
    then: importing this package stays free of pyarrow)."""
    from sfnotebook.soql._frames import QueryResult as Result

    return Result(frame, children)


if not TYPE_CHECKING:  # metadata and the rerun cache (sfnotebook._rerun); mypy sees the verb
    query = rerunnable("soql", restorers={"children": _query_result})(query)
