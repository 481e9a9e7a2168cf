"""The effective definition of one report run: the saved report merged with a POST body.

Private to the demo reports feature. :func:`make_plan` validates everything a run needs and
raises :class:`~sfnotebook_demo.reports.filters.ReportError` (400 ``BAD_REQUEST``) with
Salesforce's wording where the documentation gives it ("A report can only be sorted by one
column.", "The sort column name must be from a selected column.", "Column sorting isn't
supported for matrix reports.", and the 100-column cap: "Only a report with fewer than 100
columns can be run. ...", counting detail columns and summaries, RowCount aside).

Merge rules for ``{"reportMetadata": {...}}`` bodies: every key given replaces the saved one
(``reportFilters`` replaces the saved filters; the saved ``reportBooleanFilter`` is kept
unless the body sends one, so new filters must be referenced by matching logic); keys not
given keep the saved values. Switching ``reportFormat`` to ``TABULAR`` without sending
groupings drops the saved groupings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.reports.defs import COLUMNS, REPORT_TYPE, Column, ReportDef
from sfnotebook_demo.reports.filters import ReportError, compile_filters

__all__ = ["FORMATS", "GRANULARITIES", "MAX_COLUMNS", "Aggregate", "Grouping", "Plan", "make_plan"]

FORMATS = ("TABULAR", "SUMMARY", "MATRIX")
GRANULARITIES = ("None", "Day", "Week", "Month", "Quarter", "Year", "FiscalQuarter", "FiscalYear")
_AGG_KINDS = {"s": "Sum of", "a": "Average of", "m": "Min of", "x": "Max of", "u": "Unique"}
_MAX_DOWN = {"TABULAR": 0, "SUMMARY": 3, "MATRIX": 2}
_MAX_ACROSS = {"TABULAR": 0, "SUMMARY": 0, "MATRIX": 2}
MAX_COLUMNS = 100  # "fewer than 100 columns" (Report Error Codes page): 100 is refused
TOO_MANY_COLUMNS = (
    "Only a report with fewer than 100 columns can be run. The columns are fields specified as "
    "detail columns, summaries, or custom summary formulas. Remove unneeded columns from the "
    "report and try again."
)


@dataclass(frozen=True)
class Aggregate:
    """``RowCount`` or ``<kind>!<column>`` with kind s (sum), a (avg), m (min), x (max), u."""

    name: str
    kind: str
    column: Column | None

    @property
    def label(self) -> str:
        if self.column is None:
            return "Record Count"
        if self.kind == "u":
            return f"Unique {self.column.label}"
        return f"{_AGG_KINDS[self.kind]} {self.column.label}"

    @property
    def data_type(self) -> str:
        if self.column is None or self.kind == "u":
            return "int"
        if self.kind == "a" and self.column.data_type == "int":
            return "double"
        return self.column.data_type


@dataclass(frozen=True)
class Grouping:
    column: Column
    granularity: str
    descending: bool

    def as_metadata(self) -> dict[str, Any]:
        return {
            "dateGranularity": self.granularity,
            "name": self.column.name,
            "sortAggregate": None,
            "sortOrder": "Desc" if self.descending else "Asc",
        }


@dataclass
class Plan:
    """Everything one run needs, validated."""

    report: ReportDef
    format: str
    detail_columns: list[Column]
    aggregates: list[Aggregate]
    filters: list[dict[str, Any]]
    boolean_filter: str | None
    sort_column: Column | None
    sort_descending: bool
    down: list[Grouping]
    across: list[Grouping]
    where_sql: str = "1"
    where_params: list[Any] = field(default_factory=list)

    def metadata(self, *, has_detail_rows: bool) -> dict[str, Any]:
        """``reportMetadata`` as a run (or describe) returns it, keys in Salesforce's order."""
        r = self.report
        sort = []
        if self.sort_column is not None:
            order = "Desc" if self.sort_descending else "Asc"
            sort = [{"sortColumn": self.sort_column.name, "sortOrder": order}]
        return {
            "aggregates": [a.name for a in self.aggregates],
            "chart": None,
            "crossFilters": [],
            "currency": None,
            "dashboardSetting": None,
            "description": r.description,
            "detailColumns": [c.name for c in self.detail_columns],
            "developerName": r.developer_name,
            "division": None,
            "folderId": r.folder_id,
            "groupingsAcross": [g.as_metadata() for g in self.across],
            "groupingsDown": [g.as_metadata() for g in self.down],
            "hasDetailRows": has_detail_rows,
            "hasRecordCount": True,
            "historicalSnapshotDates": [],
            "id": r.id,
            "name": r.name,
            "presentationOptions": {"hasStackedSummaries": True},
            "reportBooleanFilter": self.boolean_filter,
            "reportFilters": [dict(f) for f in self.filters],
            "reportFormat": self.format,
            "reportType": dict(REPORT_TYPE),
            "scope": "organization",
            "showGrandTotal": True,
            "showSubtotals": True,
            "sortBy": sort,
            "standardDateFilter": {
                "column": "CLOSE_DATE",
                "durationValue": "CUSTOM",
                "endDate": None,
                "startDate": None,
            },
            "standardFilters": None,
            "supportsRoleHierarchy": True,
            "userOrHierarchyFilterId": None,
        }


def _column(name: Any, what: str) -> Column:
    col = COLUMNS.get(name) if isinstance(name, str) else None
    if col is None:
        raise ReportError(f"The {what} {name!r} isn't a valid column for this report type.")
    return col


def _aggregate(name: Any) -> Aggregate:
    if name == "RowCount":
        return Aggregate("RowCount", "RowCount", None)
    if isinstance(name, str) and "!" in name:
        kind, col_name = name.split("!", 1)
        col = COLUMNS.get(col_name)
        if kind in _AGG_KINDS and col is not None and (kind == "u" or col.is_numeric):
            return Aggregate(name, kind, col)
    raise ReportError(f"The aggregate {name!r} isn't valid for this report.")


def _grouping(raw: Any) -> Grouping:
    if not isinstance(raw, dict):
        raise ReportError("A grouping must be an object with name, sortOrder, dateGranularity.")
    col = _column(raw.get("name"), "grouping column")
    granularity = raw.get("dateGranularity") or "None"
    if granularity not in GRANULARITIES:
        raise ReportError(f"The date granularity {granularity!r} isn't valid.")
    if granularity != "None" and col.data_type not in ("date", "datetime"):
        raise ReportError(
            f"The column {col.name} isn't a date column: it can't use a date granularity."
        )
    order = raw.get("sortOrder") or "Asc"
    if str(order).lower() not in ("asc", "desc"):
        raise ReportError(f"The sort order {order!r} isn't valid: use Asc or Desc.")
    return Grouping(col, granularity, str(order).lower() == "desc")


def _list(body: dict[str, Any], key: str) -> list[Any] | None:
    if key not in body or body[key] is None:
        return None
    value = body[key]
    if not isinstance(value, list):
        raise ReportError(f"{key} must be a list.")
    return value


def make_plan(
    report: ReportDef,
    body: dict[str, Any] | None = None,
    *,
    today: dt.date | None = None,
    operators: dict[str, tuple[str, ...]] | None = None,
) -> Plan:
    """Merge ``body`` (the ``reportMetadata`` object of a POST, or ``None``) into ``report``.

    ``operators``: the filter operators per data type (default: the documented map).
    """
    body = body or {}
    if not isinstance(body, dict):
        raise ReportError("reportMetadata must be an object.")
    fmt = body.get("reportFormat") or report.format
    if fmt not in FORMATS:
        raise ReportError(f"The report format {fmt!r} isn't supported.")
    details = _list(body, "detailColumns")
    detail_columns = [_column(n, "detail column") for n in (details or report.detail_columns)]
    aggregates = [_aggregate(a) for a in (_list(body, "aggregates") or report.aggregates)]
    if len(detail_columns) + sum(a.column is not None for a in aggregates) >= MAX_COLUMNS:
        raise ReportError(TOO_MANY_COLUMNS)
    down_raw = _list(body, "groupingsDown")
    across_raw = _list(body, "groupingsAcross")
    if fmt == "TABULAR":
        down_raw = down_raw or []
        across_raw = across_raw or []
    down = [_grouping(g) for g in (report.groupings_down if down_raw is None else down_raw)]
    across = [_grouping(g) for g in (report.groupings_across if across_raw is None else across_raw)]
    if len(down) > _MAX_DOWN[fmt] or len(across) > _MAX_ACROSS[fmt]:
        raise ReportError(
            f"A {fmt.lower()} report can have at most {_MAX_DOWN[fmt]} row groupings and "
            f"{_MAX_ACROSS[fmt]} column groupings."
        )
    if fmt == "SUMMARY" and not down:
        raise ReportError("A summary report needs at least one row grouping.")
    if fmt == "MATRIX" and (not down or not across):
        raise ReportError("A matrix report needs at least one row and one column grouping.")
    sort_column, descending = _sort(report, body, fmt, detail_columns)
    filters = _list(body, "reportFilters")
    filters = list(report.filters) if filters is None else filters
    logic = body.get("reportBooleanFilter", report.boolean_filter)
    if logic is not None and not str(logic).strip():
        logic = None
    where_sql, where_params = compile_filters(filters, logic, today=today, operators=operators)
    # Echoed the way Salesforce returns filters: every key present, values as strings.
    filters = [
        {
            "column": f["column"],
            "filterType": f.get("filterType") or "fieldValue",
            "isRunPageEditable": bool(f.get("isRunPageEditable", True)),
            "operator": f["operator"],
            "value": "" if f.get("value") is None else str(f["value"]),
        }
        for f in filters
    ]
    return Plan(
        report=report,
        format=fmt,
        detail_columns=detail_columns,
        aggregates=aggregates,
        filters=filters,
        boolean_filter=logic,
        sort_column=sort_column,
        sort_descending=descending,
        down=down,
        across=across,
        where_sql=where_sql,
        where_params=where_params,
    )


def _sort(
    report: ReportDef, body: dict[str, Any], fmt: str, detail_columns: list[Column]
) -> tuple[Column | None, bool]:
    sort_by = _list(body, "sortBy")
    if sort_by is None:
        sort_by = list(report.sort_by)
        if "detailColumns" in body or fmt == "MATRIX":
            # A saved sort on a column the body removed is dropped rather than refused.
            names = {c.name for c in detail_columns}
            sort_by = [s for s in sort_by if s.get("sortColumn") in names and fmt != "MATRIX"]
    if not sort_by:
        return None, False
    if fmt == "MATRIX":
        raise ReportError("Column sorting isn't supported for matrix reports.")
    if len(sort_by) > 1:
        raise ReportError("A report can only be sorted by one column.")
    spec = sort_by[0]
    if not isinstance(spec, dict) or not spec.get("sortColumn"):
        raise ReportError("The sort column name can't be null.")
    if spec["sortColumn"] not in {c.name for c in detail_columns}:
        raise ReportError("The sort column name must be from a selected column.")
    order = str(spec.get("sortOrder") or "Asc").lower()
    if order not in ("asc", "desc"):
        raise ReportError(f"The sort order {spec.get('sortOrder')!r} isn't valid: use Asc or Desc.")
    return COLUMNS[spec["sortColumn"]], order == "desc"
