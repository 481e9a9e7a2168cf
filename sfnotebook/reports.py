"""Report verbs: ``report()`` runs a report whole, ``reports()`` lists them, ``describe_report()``.

A run answers at most 2,000 detail rows; past that :mod:`sfnotebook._report_paging` re-runs the
report with keyset paging until every row is in, checks the count against the report's own
record count, and never returns fewer rows than the report has without raising.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import orjson
import pandas as pd

from . import _report_paging as paging
from .errors import (
    AmbiguousReportError,
    IncompleteResultError,
    ReportNotFoundError,
    SfNotebookError,
    SfNotebookWarning,
)
from .report_frames import (
    DetailRow,
    cell_text,
    cell_value,
    detail_rows,
    frame_from_detail_rows,
    pivot_matrix,
    report_aggregates,
)

__all__ = ["ReportResult", "describe_report", "report", "reports"]

_ID_RE = re.compile(r"^00O[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
_DESCRIBE_AT_MOST = 50
_REPORT_SOQL = "SELECT Id, Name, DeveloperName, FolderName, Format FROM Report ORDER BY Name"
FilterSpec = Mapping[str, Any] | Sequence[Any]


class ReportResult:
    """A report run fetched whole: the detail rows, the aggregates and what it cost.

    Behaves like its detail DataFrame for reading (``result["Amount"]``, ``result.head()``,
    ``len(result)``); ``result.df`` is the DataFrame itself.

    Attributes
    ----------
    details : pandas.DataFrame
        One row per detail row (see :func:`sfnotebook.report_frames.report_details`).
    aggregates : pandas.DataFrame
        Groups, subtotals and grand total (see :func:`sfnotebook.report_frames.report_aggregates`).
    name, id, format : str
        The report's name, 18-character Id and format (TABULAR, SUMMARY, MATRIX).
    groupings : list of str
        Grouping labels, down levels then across levels.
    runs : int
        Report runs made (one per 2,000 detail rows, plus one or two).
    metadata : dict
        The ``reportMetadata`` of the first run (the definition, with any filter overrides).
    paged_on : str or None
        The column keyset paging used, or None when one run sufficed.
    """

    def __init__(
        self,
        *,
        details: pd.DataFrame,
        aggregates: pd.DataFrame,
        payload: Mapping[str, Any],
        runs: int,
        paged_on: str | None = None,
    ) -> None:
        metadata = dict(payload.get("reportMetadata") or {})
        attributes = payload.get("attributes") or {}
        self.details = details
        self.aggregates = aggregates
        self.metadata = metadata
        self.extended_metadata = dict(payload.get("reportExtendedMetadata") or {})
        self.id = str(metadata.get("id") or attributes.get("reportId") or "")
        self.name = str(metadata.get("name") or attributes.get("reportName") or "")
        self.format = str(metadata.get("reportFormat") or "TABULAR").upper()
        self.groupings = list(aggregates.index.names) if self.format != "TABULAR" else []
        self.runs = runs
        self.paged_on = paged_on

    @property
    def df(self) -> pd.DataFrame:
        """The detail rows as a DataFrame."""
        return self.details

    @property
    def row_count(self) -> int:
        """Number of detail rows."""
        return len(self.details)

    def to_pandas(self) -> pd.DataFrame:
        """The detail rows as a DataFrame."""
        return self.details

    def pivot(self, aggregate: str | None = None, *, totals: bool = True) -> pd.DataFrame:
        """MATRIX reports: one aggregate laid out as Salesforce's grid (see ``pivot_matrix``)."""
        return pivot_matrix(self.aggregates, aggregate, totals=totals)

    def __len__(self) -> int:
        return len(self.details)

    def __getitem__(self, key: Any) -> Any:
        return self.details[key]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the result lacks: read them from the detail frame.
        if name.startswith("_") or "details" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["details"], name)

    def __repr__(self) -> str:
        return (
            f"<ReportResult {self.name!r} ({self.format}): {self.row_count:,} rows x "
            f"{len(self.details.columns)} columns, {self.runs} run{'s' * (self.runs != 1)}>"
        )

    def _repr_html_(self) -> str:
        from .display import report_html

        return report_html(self)


# --- listing and lookup ---------------------------------------------------------------------


def reports(conn: Any) -> pd.DataFrame:
    """The reports this user can see: id, name, developer_name, folder, format.

    Uses SOQL on the ``Report`` object (every report, with folder name and format); where that
    is not available, the Analytics API's list (the ~200 recently viewed reports), with folder
    (its Id) and format read from each report's ``/describe`` when there are at most 50.

    Examples
    --------
    >>> org.reports().query("format == 'SUMMARY'")  # doctest: +SKIP
    """
    rows = _catalog(conn)
    if len(rows) <= _DESCRIBE_AT_MOST:
        _describe_missing(conn, rows)
    frame = pd.DataFrame(rows, columns=["id", "name", "developer_name", "folder", "format"])
    return frame.astype("string[pyarrow]")


def _catalog(conn: Any) -> list[dict[str, Any]]:
    try:
        records = _soql_all(conn, _REPORT_SOQL)
    except SfNotebookError:
        # No Report object here (INVALID_TYPE) or no SOQL access: the Analytics list will do.
        listed = conn.get_json("analytics/reports")
        return [
            {"id": r.get("id"), "name": r.get("name"), "developer_name": None, "folder": None,
             "format": None}
            for r in listed or []
        ]  # fmt: skip
    return [
        {
            "id": r.get("Id"),
            "name": r.get("Name"),
            "developer_name": r.get("DeveloperName"),
            "folder": r.get("FolderName"),
            "format": str(r.get("Format") or "").upper() or None,
        }
        for r in records
    ]


def _soql_all(conn: Any, soql: str) -> list[dict[str, Any]]:
    page = conn.get_json("query", params={"q": soql})
    records = list(page.get("records") or [])
    while not page.get("done", True) and page.get("nextRecordsUrl"):
        page = conn.get_json(page["nextRecordsUrl"])
        records.extend(page.get("records") or [])
    return records


def _resolve(conn: Any, report: str) -> str:
    """The report Id for an Id or a report name (exact, then case-insensitive, then API name)."""
    text = str(report).strip()
    if _ID_RE.match(text):
        return text
    catalog = _catalog(conn)
    for match in (
        lambda r: r["name"] == text,
        lambda r: str(r["name"] or "").casefold() == text.casefold(),
        lambda r: r["developer_name"] == text,
    ):
        found = [r for r in catalog if match(r)]
        if len(found) == 1:
            return str(found[0]["id"])
        if len(found) > 1:
            _describe_missing(conn, found)
            listing = "\n".join(
                f"  {r['id']}  {r['name']!r} in folder {r['folder'] or '?'} ({r['format'] or '?'})"
                for r in found
            )
            raise AmbiguousReportError(
                f"{len(found)} reports are called {text!r}; pass the Id of the one you mean:\n"
                f"{listing}",
                candidates=found,
            )
    names = [str(r["name"]) for r in catalog if r["name"]]
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.5)
    close += [n for n in names if text.casefold() in n.casefold() and n not in close][:5]
    hint = ("Close matches: " + ", ".join(repr(n) for n in close)) if close else ""
    raise ReportNotFoundError(
        f"No report called {text!r} is visible to this user. {hint}".strip()
        + "\nList them with org.reports(), or pass the report's Id (00O...).",
        candidates=close,
    )


def _describe_missing(conn: Any, found: list[dict[str, Any]]) -> None:
    """Fill folder/format of candidates from ``/describe`` when the list lacked them."""
    for r in found:
        if r["folder"] and r["format"]:
            continue
        try:
            md = describe_report(conn, str(r["id"]))["reportMetadata"]
        except SfNotebookError:
            continue
        r["folder"] = r["folder"] or md.get("folderId")
        r["format"] = r["format"] or md.get("reportFormat")
        r["developer_name"] = r["developer_name"] or md.get("developerName")


def describe_report(conn: Any, report: str) -> dict[str, Any]:
    """A report's ``/describe``: reportMetadata, reportExtendedMetadata, reportTypeMetadata.

    ``report`` is an Id or a name (resolved as in :func:`report`).
    """
    report_id = _resolve(conn, report)
    result: dict[str, Any] = conn.get_json(f"analytics/reports/{report_id}/describe")
    return result


# --- running --------------------------------------------------------------------------------


def report(
    conn: Any,
    report: str,
    *,
    filters: Iterable[FilterSpec] | None = None,
    boolean_filter: str | None = None,
    column_names: Literal["label", "api"] = "label",
    progress: bool | Literal["auto"] = "auto",
) -> ReportResult:
    """Run a report whole, every detail row, and return its rows and aggregates.

    Parameters
    ----------
    conn : Connection
        The connection (``org.report(...)`` passes itself).
    report : str
        A report Id (``00O...``, 15 or 18 characters) or a report name.
    filters : list, optional
        Extra filters for this run only, ANDed onto the report's own filters and filter logic:
        dicts ``{"column", "operator", "value"}`` or tuples ``(column, operator, value)``;
        list values are joined with commas, dates written ``YYYY-MM-DD``.
    boolean_filter : str, optional
        Filter logic over all filters (the saved ones first, then ``filters``), replacing the
        saved logic, e.g. ``"(1 OR 2) AND 3"``.
    column_names : {"label", "api"}
        Name columns by label (default) or API name.
    progress : bool or "auto"
        Progress bar while paging (auto: only in a notebook).

    Returns
    -------
    ReportResult
        ``.details`` (DataFrame of every detail row), ``.aggregates``, ``.runs`` and more.

    Raises
    ------
    ReportNotFoundError, AmbiguousReportError
        The name matches no report, or several (the message lists them with folder and Id).
    ReportPagingError
        More than 2,000 rows and no column to page on, or no filter slot left.
    IncompleteResultError
        The rows fetched do not add up to the report's record count.

    Examples
    --------
    >>> res = org.report("Pipeline by Stage", filters=[("AMOUNT", "greaterThan", 100000)])
    >>> res.details.groupby("Stage")["Amount"].sum()  # doctest: +SKIP
    """
    report_id = _resolve(conn, report)
    runner = _Runner(conn, report_id)
    describe: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if filters is not None or boolean_filter is not None:
        describe = conn.get_json(f"analytics/reports/{report_id}/describe")
        metadata = _override_filters(describe["reportMetadata"], filters, boolean_filter)
    first = runner(metadata)
    aggregates = report_aggregates(first, column_names=column_names)
    if not paging.truncated(first):
        details = frame_from_detail_rows(first, detail_rows(first), column_names=column_names)
        return ReportResult(details=details, aggregates=aggregates, payload=first, runs=1)
    if describe is None:
        describe = conn.get_json(f"analytics/reports/{report_id}/describe")
    base = copy.deepcopy(first.get("reportMetadata") or {})
    # Extended metadata of this run wins over describe's (same definition, fresher labels).
    describe = {**describe, "reportExtendedMetadata": first.get("reportExtendedMetadata") or {}}
    cursor = paging.choose_cursor(base, describe)
    expected = _record_count(first)
    bar = _progress_bar(expected, enabled=progress, desc=f"Report {first_name(first)}")
    try:
        rows = _fetch_rows(runner, first, base, cursor, on_rows=bar.update)
    finally:
        bar.close()
    if expected is not None and len(rows) != expected:
        raise IncompleteResultError(
            f"Fetched {len(rows):,} detail rows of report {first_name(first)!r} but it has "
            f"{expected:,} (its Record Count). The data may have changed while paging; run it "
            "again.",
            expected=expected,
            fetched=len(rows),
        )
    details = frame_from_detail_rows(first, rows, column_names=column_names)
    return ReportResult(
        details=details,
        aggregates=aggregates,
        payload=first,
        runs=runner.runs,
        paged_on=cursor.column,
    )


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _progress_bar(total: int | None, *, enabled: bool | str, desc: str) -> Any:
    try:
        from ._progress import progress_bar
    except ImportError:  # the shared progress module is optional here
        return _NoBar()
    return progress_bar(total, enabled=enabled, desc=desc)


def first_name(payload: Mapping[str, Any]) -> str:
    """The report's name in a run payload."""
    md = payload.get("reportMetadata") or {}
    return str(md.get("name") or (payload.get("attributes") or {}).get("reportName") or "")


class _Runner:
    """Runs a report synchronously with details and counts the runs."""

    def __init__(self, conn: Any, report_id: str) -> None:
        self.conn = conn
        self.report_id = report_id
        self.runs = 0

    def __call__(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.runs += 1
        url = f"analytics/reports/{self.report_id}"
        params = {"includeDetails": "true"}
        if metadata is None:
            return dict(self.conn.get_json(url, params=params))
        # A run changes nothing server-side, so retrying it on a 5xx is safe.
        resp = self.conn.request(
            "POST", url, params=params, json={"reportMetadata": dict(metadata)}, retry=True
        )
        return dict(orjson.loads(resp.content))


def _record_count(payload: Mapping[str, Any]) -> int | None:
    """The grand-total RowCount aggregate (T!T), when the report has one."""
    keys = [str(k).lower() for k in (payload.get("reportMetadata") or {}).get("aggregates") or []]
    if "rowcount" not in keys:
        return None
    grand = ((payload.get("factMap") or {}).get("T!T") or {}).get("aggregates") or []
    i = keys.index("rowcount")
    value = grand[i].get("value") if i < len(grand) else None
    return int(value) if isinstance(value, int | float) else None


def _fetch_rows(
    runner: Callable[[Mapping[str, Any] | None], dict[str, Any]],
    first: dict[str, Any],
    base: dict[str, Any],
    cursor: paging.Cursor,
    *,
    on_rows: Callable[[int], Any],
) -> list[DetailRow]:
    fmt = str(base.get("reportFormat") or "TABULAR").upper()
    if fmt == "TABULAR":
        sort = base.get("sortBy") or []
        reuse = sort == [{"sortColumn": cursor.column, "sortOrder": "Asc"}]
        cells = paging.page_details(
            runner, base, cursor, on_rows=on_rows, first=first if reuse else None
        )
        rows: list[DetailRow] = [((), c) for c in cells]
        return _report_order(rows, first, None)
    tabular, _groups = paging.grouped_as_tabular(base)
    labeler = paging.GroupLabeler(first, tabular["detailColumns"])
    width = len(base.get("detailColumns") or [])
    cells = paging.page_details(runner, tabular, cursor, on_rows=on_rows)
    grouped = [(labeler.labels(c), c[:width]) for c in cells]
    unplaced = sum(1 for labels, _ in grouped if not labeler.known(labels))
    if unplaced:
        warnings.warn(
            f"{unplaced:,} detail rows did not match a group of the report's grouping tree; "
            "they come last, with the grouping labels read from their cells.",
            SfNotebookWarning,
            stacklevel=3,
        )
    return _report_order(grouped, first, labeler)


def _report_order(
    rows: list[DetailRow], first: Mapping[str, Any], labeler: paging.GroupLabeler | None
) -> list[DetailRow]:
    """Rows back in report order: groups first, then the report's own sort column.

    Paging fetched them in cursor order; ties keep that order (record Id ascending).
    """
    base = first.get("reportMetadata") or {}
    info = (first.get("reportExtendedMetadata") or {}).get("detailColumnInfo") or {}
    columns = list(base.get("detailColumns") or [])
    sort = (base.get("sortBy") or [None])[0]
    if sort and sort.get("sortColumn") in columns:
        at = columns.index(sort["sortColumn"])
        data_type = str((info.get(sort["sortColumn"]) or {}).get("dataType") or "").lower()
        desc = str(sort.get("sortOrder") or "Asc").lower() == "desc"
        keyed = [(_sort_value(r[1][at], data_type), r) for r in rows]
        present = [kr for kr in keyed if kr[0] is not None]
        present.sort(key=lambda kr: kr[0], reverse=desc)
        blank = [r for k, r in keyed if k is None]
        ordered = [r for _, r in present]
        # Blank cells sort first in ascending order, last in descending order.
        rows = ordered + blank if desc else blank + ordered
    if labeler is not None:
        rows.sort(key=lambda r: labeler.sort_key(r[0]))
    return rows


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
    filters: Iterable[FilterSpec] | None,
    boolean_filter: str | None,
) -> dict[str, Any]:
    """The saved definition with ``filters`` ANDed on (filter logic renumbered)."""
    metadata = copy.deepcopy(dict(saved))
    added = [_filter_dict(f) for f in filters or []]
    for flt in added:
        metadata = paging.with_added_filter(metadata, flt)
    if boolean_filter is not None:
        metadata["reportBooleanFilter"] = boolean_filter.strip() or None
    return metadata


def _filter_dict(spec: FilterSpec) -> dict[str, Any]:
    if isinstance(spec, Mapping):
        column, operator, value = spec["column"], spec.get("operator", "equals"), spec["value"]
    else:
        column, operator, value = spec
    return {"column": str(column), "operator": str(operator), "value": _filter_value(value)}


def _filter_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Iterable):
        return ",".join(_filter_value(v) for v in value)
    return str(value)
