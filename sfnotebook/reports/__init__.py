"""Report verbs: ``report()`` runs a report whole, ``reports()`` lists them, ``describe_report()``.

A run answers at most 2,000 detail rows; past that :mod:`sfnotebook.reports._paging` re-runs the
report with keyset paging until every row is in, checks the count against the report's own
record count, and never returns fewer rows than the report has without raising.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sfnotebook import _gc, _options, _output
from sfnotebook._api import OrgApi, Progress
from sfnotebook._rerun import CacheAge, rerunnable
from sfnotebook.errors import (
    IncompleteResultError,
    SalesforceError,
    SfNotebookWarning,
)
from sfnotebook.reports import _budget, _filters, _moves, _windows
from sfnotebook.reports import _paging as paging
from sfnotebook.reports._catalog import describe_by_id, describe_report, reports, resolve
from sfnotebook.reports._cells import cell_text, cell_value
from sfnotebook.reports._filters import FilterSpec
from sfnotebook.reports._groups import GroupLabeler, grouped_as_tabular
from sfnotebook.reports._result import ReportResult
from sfnotebook.reports._run_columns import Converter
from sfnotebook.reports._runner import Runner
from sfnotebook.reports.frames import (
    DetailRow,
    check_empty_label,
    detail_rows,
    frame_from_detail_rows,
    report_aggregates,
)

__all__ = ["ReportResult", "describe_report", "report", "reports"]

log = logging.getLogger(__name__)


# --- running --------------------------------------------------------------------------------


def report(
    conn: OrgApi,
    report: str,
    *,
    filters: Iterable[FilterSpec] | None = None,
    boolean_filter: str | None = None,
    column_names: Literal["label", "api"] = "label",
    folder: str | None = None,
    empty_label: str | None = None,
    progress: Progress = "auto",
    output: _output.Output | None = None,
    cache: CacheAge = None,
    refresh: bool = False,
) -> ReportResult:
    """Run a report whole, every detail row, and return its rows and aggregates.

    Parameters
    ----------
    report : str
        A report Id (``00O...``, 15 or 18 characters) or a report name.
    filters : list, optional
        Extra filters for this run only, ANDed onto the report's own filters and filter logic:
        tuples ``(column, operator, value)`` such as ``("Amount", ">", 100000)``, or dicts
        ``{"column", "operator", "value"}``. The column is its label as results show it
        ("Stage") or its API name (``STAGE_NAME``); the operator is one of ``=`` ``!=`` ``<``
        ``>`` ``<=`` ``>=`` ``contains`` ``in`` ``not in`` or an API operator (``equals``,
        ``notEqual``, ``startsWith``, ``includes``, ...).
        Several values are a list (``["Closed Won", "Closed Lost"]``, joined with commas); a
        value holding a comma is refused, since the API would split it and has no way to keep
        it one value; ``None`` means blank; dates are ``YYYY-MM-DD``, time-zone-aware
        datetimes go in UTC. Columns and operators are checked
        against the report type before the run (see :mod:`sfnotebook.reports._filters`).
    boolean_filter : str, optional
        Filter logic over all filters (the saved ones first, then ``filters``), replacing the
        saved logic, e.g. ``"(1 OR 2) AND 3"``; it must name every filter, and only those.
    column_names : {"label", "api"}
        Name columns by label (default) or API name.
    folder : str, optional
        The folder's name, to pick one of several reports with the same name.
    empty_label : str, optional
        The label of an empty group in ``.aggregates``, pivots and charts; default ``"-"`` as
        Salesforce shows it (``sfnotebook.reports.frames.EMPTY_LABEL``).
    progress : bool or "auto"
        Progress bar while paging (auto: only in a notebook).
    output : {"pandas", "polars", "arrow"}, optional
        The library of ``.details`` and ``.aggregates``. Default: the connection's ``output``.

    cache : str, int or timedelta, optional
        Keep the result on disk and return it again, with no API call, while it is younger
        than this: ``"1h"``, ``"30min"``, ``"2d"``, seconds or a ``timedelta``. Default: the
        connection's ``cache`` (none unless ``connect(cache=...)``). See :mod:`sfnotebook._rerun`.
    refresh : bool
        Fetch again even if a kept result is young enough, and keep the new one.

    Returns
    -------
    ReportResult
        ``.details`` (DataFrame of every detail row), ``.aggregates``, ``.runs`` and more.

    Raises
    ------
    ReportFilterError
        A filter or filter logic that cannot work (before the report runs).
    ReportNotFoundError, AmbiguousReportError
        The name matches no report, or several (the message lists them with folder and Id).
    ReportPagingError
        More than 2,000 rows and no column to page on, or no filter slot left.
    IncompleteResultError
        The rows fetched do not add up to the report's record count.

    Examples
    --------
    >>> res = org.report("Pipeline by Stage", filters=[("Amount", ">", 100000)])
    >>> res.level("Stage", value="Sum of Amount").plot.barh()  # doctest: +SKIP
    """
    if column_names not in ("label", "api"):
        raise ValueError(f'column_names must be "label" or "api", not {column_names!r}.')
    _options.check_progress(progress)
    check_empty_label(empty_label)
    if boolean_filter is not None and not isinstance(boolean_filter, str):
        raise TypeError(
            f"boolean_filter must be a string such as '1 AND 2', not {boolean_filter!r}"
        )
    # Filters are read before any request, and checked against the describe before the run:
    # a malformed one never costs a run.
    added = _filters.read_filters(filters)
    if boolean_filter is not None and boolean_filter.strip():
        _filters.check_logic_syntax(boolean_filter)
    output = _output.resolve(output, conn)
    report_id = resolve(conn, report, folder=folder)
    runner = Runner(conn, report_id)
    ledger = _budget.Ledger(conn, runner)
    try:
        return _fetch_whole(
            conn,
            runner,
            ledger,
            added=added,
            boolean_filter=boolean_filter,
            column_names=column_names,
            empty_label=empty_label,
            progress=progress,
            output=output,
        )
    finally:
        ledger.close()  # the runs made are spent on the cached hourly budget


def _fetch_whole(
    conn: OrgApi,
    runner: Runner,
    ledger: _budget.Ledger,
    *,
    added: list[_filters.Filter] | None,
    boolean_filter: str | None,
    column_names: Literal["label", "api"],
    empty_label: str | None,
    progress: Progress,
    output: _output.Output,
) -> ReportResult:
    """The first run, then (past 2,000 rows) the planned paging runs; every row checked."""
    report_id = runner.report_id
    tally = _tally(conn)  # the progress summary's API calls and time
    describe: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    sent: list[dict[str, str]] | None = None
    if added is not None or boolean_filter is not None:
        describe = describe_by_id(conn, report_id)
        sent = _filters.check_against(describe, added, boolean_filter)
        metadata = _override_filters(describe["reportMetadata"], sent, boolean_filter)
    try:
        first = runner(metadata)
    except SalesforceError as exc:
        saved = (describe or {}).get("reportMetadata", {}).get("reportFilters") or []
        told = _filters.explain_run_error(exc, added or [], sent or [], saved)
        if told is not None:
            raise told from exc
        raise
    aggregates = report_aggregates(
        first, column_names=column_names, output=output, empty_label=empty_label
    )
    if not paging.truncated(first):
        rows = detail_rows(first)
        _check_count(first, paging.record_count(first), len(rows))
        details = frame_from_detail_rows(first, rows, column_names=column_names, output=output)
        return ReportResult(
            details=details,
            aggregates=aggregates,
            payload=first,
            runs=runner.runs,
            column_names=column_names,
            empty_label=empty_label,
        )
    expected = paging.record_count(first)
    if describe is None:
        # Paging needs the describe (filterable columns) and, with a record count, the hour's
        # run budget: independent reads, so one round trip for both.
        describe = _describe_and_budget(conn, report_id, ledger if expected is not None else None)
    base = copy.deepcopy(first.get("reportMetadata") or {})
    # Extended metadata of this run wins over describe's (same definition, fresher labels).
    describe = {**describe, "reportExtendedMetadata": first.get("reportExtendedMetadata") or {}}
    sample = [cells for _, cells in detail_rows(first)]
    cursors = paging.choose_cursors(base, describe, sample=sample, total=expected)
    # A grouped report is paged as a table (refused past the column cap before any other run).
    tabular = base if _is_tabular(base) else grouped_as_tabular(base)[0]
    # Paging on a column edits can change ends with a check run (more when over 2,000 records
    # changed meanwhile, which the plan cannot know).
    checks = 1 if any(c.changeable for c in cursors) else 0
    if expected is not None:  # without a record count the runs cannot be planned
        ledger.plan(total=expected, name=first_name(first), checks=checks)
    bar = _progress_bar(
        expected,
        enabled=progress,
        desc=f"Report {first_name(first)}",
        tally=tally,
        runs=lambda: runner.runs,
    )
    windows = None
    if expected is not None and ledger.fits_async(_windows.runs_bound(expected) + checks):
        windows = _Windowed(runner, ledger, expected, first_name(first), checks)
    converter = Converter(first)
    # Paging keeps every row until the frame is built (tens of thousands of row lists, no
    # cycles): collections meanwhile would walk them all again for nothing (sfnotebook._gc).
    with _gc.paused():
        try:
            rows, counted, order = _fetch_rows(
                runner,
                first,
                base,
                tabular,
                cursors,
                on_rows=bar.update,
                windows=windows,
                converter=converter,
                expected=expected,
            )
        finally:
            bar.close()
        _check_count(first, expected if expected is not None else counted, len(rows))
        _moves.check_moves(
            runner,
            tabular,
            cursors,
            describe,
            [cells for _, cells in rows],
            since=runner.began,
            answered=runner.answered,
            name=first_name(first),
            created_of=lambda ids: _moves.creation_times(conn, ids),
        )
        # Every run was converted as it came (the rows are only read for their group labels).
        converted = converter.columns(order) if converter.rows == len(rows) else None
        details = frame_from_detail_rows(
            first, rows, column_names=column_names, output=output, converted=converted
        )
    return ReportResult(
        details=details,
        aggregates=aggregates,
        payload=first,
        runs=runner.runs,
        paged_on=cursors[0].column,
        column_names=column_names,
        empty_label=empty_label,
    )


def _describe_and_budget(
    conn: OrgApi, report_id: str, ledger: _budget.Ledger | None
) -> dict[str, Any]:
    """The report's describe, with the run budget read at the same time (``ledger``)."""
    if ledger is None:
        return describe_by_id(conn, report_id)
    with ThreadPoolExecutor(1, thread_name_prefix="sfnotebook-report-budget") as pool:
        budget = pool.submit(ledger.read)
        try:
            describe = describe_by_id(conn, report_id)
        except BaseException:
            budget.cancel()
            raise
        budget.result()  # its error (e.g. the org's request limit) is the report's
    return describe


def _check_count(first: Mapping[str, Any], expected: int | None, received: int) -> None:
    """The detail rows must add up to the report's grand-total Record Count (when it has one)."""
    if expected is not None and received != expected:
        raise IncompleteResultError(
            f"Fetched {received:,} detail rows of report {first_name(first)!r} but it has "
            f"{expected:,} (its Record Count). The data may have changed while paging; run it "
            "again.",
            expected=expected,
            received=received,
        )


def _progress_bar(total: int | None, *, enabled: bool | str, desc: str, **summary: Any) -> Any:
    from sfnotebook._progress import progress_bar  # front-end: loaded only when paging

    return progress_bar(total, enabled=enabled, desc=desc, **summary)


def _tally(conn: OrgApi) -> Any:
    from sfnotebook._progress import Tally

    return Tally.start(getattr(conn, "session", None))


def first_name(payload: Mapping[str, Any]) -> str:
    """The report's name in a run payload."""
    md = payload.get("reportMetadata") or {}
    return str(md.get("name") or (payload.get("attributes") or {}).get("reportName") or "")


@dataclass
class _Windowed:
    """Paging in parallel windows (:mod:`sfnotebook.reports._windows`), planned to fit."""

    runner: Runner
    ledger: _budget.Ledger
    total: int
    name: str
    checks: int = 0


def _page(
    runner: Callable[[Mapping[str, Any] | None], dict[str, Any]],
    metadata: dict[str, Any],
    cursors: list[paging.Cursor],
    *,
    on_rows: Callable[[int], Any],
    first: dict[str, Any] | None = None,
    windows: _Windowed | None = None,
    converter: Converter | None = None,
    expected: int | None = None,
) -> tuple[list[Any], int | None]:
    """The detail cells of TABULAR runs of ``metadata``: in windows when they can, else one
    keyset chain; and the record count they add up to. ``converter`` converts each run's
    rows as they come; ``expected`` is the report's Record Count, as its first run gave it."""
    segment = converter.segment if converter is not None else None
    if windows is not None and _windows.usable(metadata, cursors, windows.total):
        seen = 0

        def counted(n: int) -> None:
            nonlocal seen
            seen += n
            on_rows(n)

        try:
            got = _windows.fetch_windows(
                windows.runner.run_async,
                metadata,
                cursors,
                total=windows.total,
                on_rows=counted,
                segment=segment,
                stop=windows.runner.stopped,
            )
            return got.rows, got.total
        except _windows.WindowMismatch as exc:
            # The windows did not add up (the data changed, or the org bounds ranges in a way
            # the docs do not say): page one by one instead, if the hour's runs allow it.
            log.info("report windows given up (%s); paging sequentially", exc)
            windows.ledger.plan(total=windows.total, name=windows.name, checks=windows.checks)
            on_rows(-seen)
            first = None
            if converter is not None:
                converter.reset()
    return paging.page_details_counted(
        runner,
        metadata,
        cursors,
        on_rows=on_rows,
        first=first,
        on_page=segment() if segment is not None else None,
        expected=expected,
    )


def _fetch_rows(
    runner: Callable[[Mapping[str, Any] | None], dict[str, Any]],
    first: dict[str, Any],
    base: dict[str, Any],
    tabular: dict[str, Any],
    cursors: list[paging.Cursor],
    *,
    on_rows: Callable[[int], Any],
    windows: _Windowed | None = None,
    converter: Converter | None = None,
    expected: int | None = None,
) -> tuple[list[DetailRow], int | None, list[int] | None]:
    """Every detail row in report order, the record count paging saw (or None), and the
    order taken (positions in fetch order; None: as fetched). ``tabular``: ``base`` as the
    table it is paged as (``base`` itself when it is one)."""
    if tabular is base:
        sort = base.get("sortBy") or []
        reuse = sort == [{"sortColumn": cursors[0].column, "sortOrder": "Asc"}]
        cells, counted = _page(
            runner,
            base,
            cursors,
            on_rows=on_rows,
            first=first if reuse else None,
            windows=windows,
            converter=converter,
            expected=expected,
        )
        rows: list[DetailRow] = [((), c) for c in cells]
        order = _report_order(rows, first, None)
        return _take(rows, order), counted, order
    labeler = GroupLabeler(first, tabular["detailColumns"])
    width = len(base.get("detailColumns") or [])
    cells, counted = _page(
        runner,
        tabular,
        cursors,
        on_rows=on_rows,
        windows=windows,
        converter=converter,
        expected=expected,
    )
    grouped = [(labeler.labels(c), c[:width]) for c in cells]
    unplaced = sum(1 for labels, _ in grouped if not labeler.known(labels))
    if unplaced:
        warnings.warn(
            f"{unplaced:,} detail rows did not match a group of the report's grouping tree; "
            "they come last, with the grouping labels read from their cells.",
            SfNotebookWarning,
            stacklevel=3,
        )
    order = _report_order(grouped, first, labeler)
    return _take(grouped, order), counted, order


def _is_tabular(metadata: Mapping[str, Any]) -> bool:
    return str(metadata.get("reportFormat") or "TABULAR").upper() == "TABULAR"


def _take(rows: list[DetailRow], order: list[int] | None) -> list[DetailRow]:
    return rows if order is None else [rows[i] for i in order]


def _report_order(
    rows: list[DetailRow], first: Mapping[str, Any], labeler: GroupLabeler | None
) -> list[int] | None:
    """The positions of ``rows`` in report order: groups first, then the report's own sort
    column (None: they are in it already).

    Paging fetched them in cursor order; ties keep that order (record Id ascending).
    """
    base = first.get("reportMetadata") or {}
    info = (first.get("reportExtendedMetadata") or {}).get("detailColumnInfo") or {}
    columns = list(base.get("detailColumns") or [])
    sort = (base.get("sortBy") or [None])[0]
    order: list[int] | None = None
    if sort and sort.get("sortColumn") in columns:
        at = columns.index(sort["sortColumn"])
        data_type = str((info.get(sort["sortColumn"]) or {}).get("dataType") or "").lower()
        desc = str(sort.get("sortOrder") or "Asc").lower() == "desc"
        keyed = [(_sort_value(r[1][at], data_type), i) for i, r in enumerate(rows)]
        present = [kr for kr in keyed if kr[0] is not None]
        present.sort(key=lambda kr: kr[0], reverse=desc)
        blank = [i for k, i in keyed if k is None]
        ordered = [i for _, i in present]
        # Blank cells sort first in ascending order, last in descending order.
        order = ordered + blank if desc else blank + ordered
    if labeler is not None:
        order = list(range(len(rows))) if order is None else order
        order.sort(key=lambda i: labeler.sort_key(rows[i][0]))
    return order


def _sort_value(cell: Mapping[str, Any], data_type: str) -> Any:
    value = cell_value(cell)
    if value is None:
        return None
    if data_type in ("currency", "percent", "int", "double", "number"):
        return float(value) if isinstance(value, int | float) else None
    if data_type in ("date", "datetime", "id"):
        return str(value)
    if data_type == "boolean":
        return int(bool(value))
    text = cell_text(cell)
    return text.casefold() if text is not None else None


def _override_filters(
    saved: Mapping[str, Any],
    added: list[dict[str, str]] | None,
    boolean_filter: str | None,
) -> dict[str, Any]:
    """The saved definition with the ``added`` filters ANDed on (filter logic renumbered)."""
    metadata = copy.deepcopy(dict(saved))
    for flt in added or []:
        metadata = paging.with_added_filter(metadata, flt)
    if boolean_filter is not None:
        metadata["reportBooleanFilter"] = boolean_filter.strip() or None
    return metadata


if not TYPE_CHECKING:  # metadata and the rerun cache (sfnotebook._rerun); mypy sees the verb
    report = rerunnable("report", restorers={"report": ReportResult._from_cache_parts})(report)
