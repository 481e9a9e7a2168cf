"""SOQL -> complete, typed DataFrames: ``query`` and ``query_iter``.

* **Complete.** Every page is fetched (``nextRecordsUrl`` to the end), and every page of every
  child subquery too, before the next parent page (fetching it would release the child
  cursors). The row count must equal ``totalSize``, else :class:`IncompleteResultError` is
  raised and no partial frame is returned.
* **Typed.** Column types come from the objects' describes (cached per connection) through the
  table in :mod:`sfnotebook.dtypes`; the caller's ``dtypes=`` win.
* **Fast and lean.** Pages are decoded from the response bytes straight into typed structs
  (:mod:`sfnotebook.soql._decode`) and kept only as compact Arrow column chunks. Without child
  subqueries a background thread downloads page n+1 while page n is converted.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson

from sfnotebook import _options
from sfnotebook import _soql_parse as sp
from sfnotebook._api import Dtypes, Frame, OrgApi, Params, Progress
from sfnotebook._describe_paths import COMPOUND_PARTS
from sfnotebook._progress import Enabled, progress_bar
from sfnotebook._soql_bind import with_params
from sfnotebook.errors import (
    IncompleteResultError,
    LargeResultWarning,
    QueryLocatorExpiredError,
)
from sfnotebook.soql import _offset, _parallel
from sfnotebook.soql import _plan as _soql_plan
from sfnotebook.soql._pages import CursorLost
from sfnotebook.soql._pages import Pages as _Pages
from sfnotebook.soql._pages import next_url as _next_url

if TYPE_CHECKING:  # imported while page 1 is in flight (``_load_frames``), not before
    from sfnotebook import _output
    from sfnotebook.soql._frames import Children, FrameBuilder, QueryResult

__all__ = [
    "DESCRIBE_THREADS",
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

#: Describes one query loads at once (the objects on its parent paths and of its children).
DESCRIBE_THREADS = 8

#: The most query-more calls ``concurrency=`` may have in flight at once (each holds a page).
MAX_CONCURRENCY = 16


def _complete_children(pages: _Pages, builder: FrameBuilder, records: list[Any]) -> None:
    """Fetch every remaining page of every child result of these records, in place."""
    for rel, result in builder.pending_children(records):
        url = _next_url(False, builder.child_next_url(result), received=None)
        while url:
            builder.extend_child(rel, result, pages.get(url))
            url = _next_url(
                bool(_field(result, "done")), builder.child_next_url(result), received=None
            )
    for rel, result in builder.child_results(records):
        size = _field(result, "totalSize")
        got = len(_field(result, "records") or ())
        if size is not None and got != size:
            raise IncompleteResultError(
                f"The {rel} subquery of one record returned {got:,} of {size:,} rows; "
                "no partial result is returned. Rerun the query.",
                expected=size,
                received=got,
            )


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


# --------------------------------------------------------------------------- the verbs


def _check_large(total: int, limit: int | None) -> None:
    threshold = limit or LARGE_RESULT_ROWS
    if threshold and total > threshold:
        warnings.warn(
            LargeResultWarning(
                f"This query returns {total:,} rows through the REST API. For results this "
                "large org.extract(soql) (Bulk API 2.0) is faster and lighter; set "
                "sfnotebook.soql.LARGE_RESULT_ROWS (or large_result_rows=) to move this threshold."
            ),
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside sfnotebook."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # sfnotebook/
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


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


def _run(
    conn: OrgApi, soql: str, **options: Any
) -> Iterator[tuple[FrameBuilder | None, int | None]]:
    """:func:`_run_once`, started again from page 1 when its cursor is lost to a new session.

    A cursor may belong to the session that opened it (``_pages``); after a token re-exchange
    the query is read again from its first page, at most ``MAX_RESTARTS`` times, and the
    result says how often (``builder.restarts``). Rows of the lost cursor are dropped with its
    builder, so no result mixes pages of two cursors. Chunks already yielded by ``query_iter``
    cannot be taken back: then the loss is raised, saying to restart the iteration.
    """
    restarts = 0
    while True:
        yielded = False
        try:
            for builder, count in _run_once(conn, soql, **options):
                if builder is not None:
                    builder.restarts = restarts
                yielded = True
                yield builder, count
            return
        except CursorLost as lost:
            if yielded or restarts >= MAX_RESTARTS:
                raise _lost_error(lost, restarts, iterating=yielded) from None
            restarts += 1
            log.info("query cursor lost with its session (%s); reading again from page 1", lost)


def _lost_error(lost: CursorLost, restarts: int, *, iterating: bool) -> QueryLocatorExpiredError:
    """The typed error for a cursor lost to a new session that is not (or no more) restarted."""
    error = lost.error
    got = f" after {lost.received:,} of {lost.expected:,} rows" if lost.expected else ""
    if iterating:
        what = (
            "the chunks already yielded cannot be taken back, so the iteration stops here: "
            "start it again from the beginning (a fresh query_iter) and discard what it gave"
        )
    else:
        what = f"it was read again from the start {restarts} times; rerun the query"
    return QueryLocatorExpiredError(
        f"The query's server-side cursor was refused{got} after the session was renewed "
        f"(Salesforce answered {error.status} {error.error_code}): a cursor may belong to the "
        f"session that opened it. No partial result is returned; {what}. Long reads: "
        "org.extract (Bulk API 2.0) has no cursor.",
        status=error.status,
        error_code=error.error_code,
        url=error.url,
        sf_message=error.sf_message,
        received=lost.received,
        expected=lost.expected,
    )


def _early_output(output: _output.Output | None, conn: OrgApi, dtypes: Dtypes | None) -> str:
    """``output=`` resolved and ``dtypes=`` checked before any request.

    Both need :mod:`sfnotebook._output` (pyarrow); for the usual call (neither given, the
    connection's output pandas or arrow) the answer is plain and that import waits until page
    1 is on its way (``_load_frames``), so the first request goes out sooner (issue 13).
    """
    default = getattr(conn, "output", None) or "pandas"
    if output is None and not dtypes and default in ("pandas", "arrow"):
        return str(default)
    from sfnotebook import _output

    resolved = _output.resolve(output, conn)
    _output.check_dtype_values(dtypes, resolved)
    return resolved


def _load_frames(output: str) -> tuple[Any, Any]:
    """Import what converting pages needs (pyarrow; pandas for ``output="pandas"``), called
    once page 1 and the root describe are sent: the import runs while they are in flight."""
    from sfnotebook.soql._frames import FrameBuilder, Layout

    if output == "pandas":
        import pandas  # noqa: F401 - imported now, while the requests are out

    return FrameBuilder, Layout


def _run_once(
    conn: OrgApi,
    soql: str,
    *,
    include_deleted: bool,
    progress: Enabled,
    batch_size: int | None,
    split_multipicklist: bool,
    large_result_rows: int | None,
    chunk_rows: int | None,
    concurrency: int,
    output: str,
) -> Iterator[tuple[FrameBuilder | None, int | None]]:
    """Yield filled builders: one at the end, or one per ``chunk_rows`` rows when chunking.

    A count-only query yields ``(None, count)``.
    """
    select = sp.parse_select(soql)
    # Without child subqueries a thread can follow the pages on its own (no child cursor to
    # protect), so downloads run ahead of the conversion.
    prefetch = select is not None and not any(isinstance(i, sp.SubSelect) for i in select.items)
    window = _offset.window(soql)
    batch_size = window.batch_size(batch_size)
    # Pages several at once by locator offset (``_parallel``) only where the thread follows
    # them alone; an OFFSET query has one page (``_offset``).
    pages = _Pages(
        conn,
        soql,
        include_deleted=include_deleted,
        batch_size=batch_size,
        prefetch=prefetch,
        concurrency=concurrency if prefetch and window.offset is None else 1,
    )
    planner = ThreadPoolExecutor(DESCRIBE_THREADS, thread_name_prefix="sfnotebook-describe")
    bar: Any = None
    try:
        # Two round trips one after the other on a fresh connection (``_plan``): page 1 and
        # the root describe together, then every describe page 1 names at once.
        describe_of = _soql_plan.describer(conn)
        root = planner.submit(describe_of, select.object_name) if select is not None else None
        sent = planner.submit(pages.first_page)
        pages.sent.wait()  # then pandas and pyarrow are imported while page 1 is out
        new_builder, new_layout = _load_frames(output)
        first, head = sent.result()
        raw: bytes | None = first
        root_describe = root.result() if root is not None else None
        if select is None or not select.is_count_only:
            _soql_plan.load_describes(
                planner,
                describe_of,
                _soql_plan.object_types(first) + _soql_plan.parent_objects(select, root_describe),
            )
        plan = _soql_plan.plan(conn, select, describe_of)
        if plan.count_only:
            yield None, head.totalSize
            return
        _check_large(head.totalSize, large_result_rows)
        layout = plan.layout
        builder: FrameBuilder | None = None
        if layout is not None:
            builder = new_builder(layout, split_multipicklist=split_multipicklist)
        if not head.done:
            bar = progress_bar(head.totalSize, enabled=progress, desc="query")
        received = 0
        try:
            while raw is not None:
                if builder is None:  # unreadable SELECT: the first page's records give the columns
                    body = orjson.loads(raw)
                    records: list[Any] = body.get("records") or []
                    done, next_url = bool(body.get("done", True)), body.get("nextRecordsUrl")
                    builder = new_builder(
                        _soql_plan.layout_from_records(plan, records),
                        split_multipicklist=split_multipicklist,
                    )
                else:
                    page = builder.decode(raw)
                    records, done, next_url = page.records, page.done, page.next_url
                    del page
                del raw  # no raw JSON is kept: only the typed chunks below
                if builder.has_children:
                    _complete_children(pages, builder, records)  # before the next parent page
                pages.start_next(_next_url(done, next_url, received=received + len(records)))
                builder.add(records)  # converts while the next page downloads
                received += len(records)
                if bar is not None:
                    bar.update(len(records))
                del records
                raw = pages.next_page()
                if chunk_rows and builder.rows >= chunk_rows and raw is not None:
                    yield builder, None
                    builder = new_builder(builder.layout, split_multipicklist=split_multipicklist)
        except CursorLost as lost:
            lost.received, lost.expected = received, head.totalSize
            raise
        except QueryLocatorExpiredError as exc:
            raise QueryLocatorExpiredError(
                f"The query's server-side cursor was no longer valid after {received:,} of "
                f"{head.totalSize:,} rows had been read; no partial result is returned. Rerun "
                "the query. Salesforce keeps query cursors for 2 days with no limit on how many "
                "are open (since API 56.0; before, they expired after 15 minutes idle, and a "
                "user's 11th cursor released the oldest); use org.extract (Bulk API 2.0, no "
                "cursor) for reads that long.",
                status=exc.status,
                error_code=exc.error_code,
                url=exc.url,
                received=received,
                expected=head.totalSize,
            ) from exc
        window.check(head.totalSize, received)
        if received != head.totalSize:
            raise IncompleteResultError(
                f"Salesforce announced {head.totalSize:,} rows but {received:,} arrived; no "
                "partial result is returned. Rerun the query (or use org.extract for very "
                "large results).",
                expected=head.totalSize,
                received=received,
            )
        if builder is None:
            builder = new_builder(new_layout(()), split_multipicklist=split_multipicklist)
        yield builder, None
    finally:
        planner.shutdown(wait=True)
        pages.close()
        if bar is not None:
            bar.close()


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
    resolved = _early_output(output, conn, dtypes)
    for builder, count in _run(
        conn,
        soql,
        include_deleted=include_deleted,
        progress=progress,
        batch_size=batch_size,
        split_multipicklist=split_multipicklist,
        large_result_rows=large_result_rows,
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
    resolved = _early_output(output, conn, dtypes)
    for builder, count in _run(
        conn,
        soql,
        include_deleted=include_deleted,
        progress=progress,
        batch_size=batch_size,
        split_multipicklist=split_multipicklist,
        large_result_rows=large_result_rows,
        chunk_rows=chunk_rows,
        concurrency=concurrency,
        output=resolved,
    ):
        if builder is None:
            yield _count_frame(count or 0, resolved)
            return
        result = builder.result(dtypes=dtypes, children=children, output=resolved)  # type: ignore[arg-type]
        from sfnotebook.soql._frames import QueryResult as Result  # imported by now

        if isinstance(result, Result) or len(result) or builder.rows == 0:
            yield result


def _count_frame(count: int, output: str) -> Frame:
    """``SELECT COUNT()`` as one frame with a ``count`` column (for ``query_iter``)."""
    import pyarrow as pa

    from sfnotebook import _output
    from sfnotebook import dtypes as _dt

    ints = _dt.field_type("int")
    counted = _output.Column("count", ints, [pa.array([count], type=ints.arrow)])
    return _output.table([counted], rows=1, output=output)  # type: ignore[arg-type]
