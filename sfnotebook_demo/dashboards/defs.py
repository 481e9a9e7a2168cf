"""The demo org's seeded dashboards: folders, components, dashboard filters, running users.

Every component is a ``Report`` component over one of the seeded reports
(:data:`sfnotebook_demo.reports.defs.REPORTS`). Its ``aggregates`` are some of the report's
own; its ``groupings`` are the report's row groupings or a leading part of them (a chart of
"Closed Bookings by Industry, Year and Stage" grouped by Industry only), ``None`` meaning the
report's. Dashboard filters name one report column each; a component applies a filter to its
report's column of that name (``filterColumns`` in the describe, as in Salesforce's "Get
Dashboard Metadata" example: one entry per dashboard filter, in filter order).

Shapes follow Salesforce's Dashboard Describe resource and its examples
(developer.salesforce.com/docs/atlas.en-us.api_analytics.meta/api_analytics/
analytics_api_dashboard_describe_resource.htm and analytics_api_dashboard_get_results.htm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.ids import to_18
from sfnotebook_demo.reports.defs import COLUMNS, ReportDef, report_by_id

__all__ = [
    "DASHBOARDS",
    "DASHBOARD_FOLDERS",
    "ComponentDef",
    "DashboardDef",
    "FilterDef",
    "FilterOption",
    "dashboard_by_id",
]

_ORG_PART = "Dm00000"  # 3 + 7 + 5 = 15 characters, like the seeded reports' ids


def _sfid(prefix: str, n: int) -> str:
    return to_18(f"{prefix}{_ORG_PART}{n:05d}")


def _report(n: int) -> ReportDef:
    found = report_by_id(_sfid("00O", n))
    if found is None:  # pragma: no cover - the seeded reports are constants
        raise LookupError(f"no seeded report number {n}")
    return found


#: Dashboard folders (name -> Id); report folders use 00l00001-00003.
DASHBOARD_FOLDERS: dict[str, str] = {
    "Sales Dashboards": _sfid("00l", 11),
    "Executive Dashboards": _sfid("00l", 12),
    "Marketing Dashboards": _sfid("00l", 13),
}


@dataclass(frozen=True)
class FilterOption:
    """One option of a dashboard filter: ``operation`` with ``value`` (or a start/end range)."""

    id: str
    operation: str
    value: str | None = None
    alias: str | None = None
    start: str | None = None
    end: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "endValue": self.end,
            "id": self.id,
            "operation": self.operation,
            "startValue": self.start,
            "value": self.value,
        }

    def report_filters(self, column: str) -> list[dict[str, Any]]:
        """The report filters this option adds to a component's report (``between``: two)."""

        def flt(operator: str, value: str | None) -> dict[str, Any]:
            return {"column": column, "operator": operator, "value": value or ""}

        if self.operation == "between":
            return [flt("greaterOrEqual", self.start), flt("lessOrEqual", self.end)]
        return [flt(self.operation, self.value)]


@dataclass(frozen=True)
class FilterDef:
    """A dashboard filter on one report column; Salesforce allows 0 to 3 per dashboard."""

    id: str
    name: str
    column: str
    options: tuple[FilterOption, ...]


@dataclass(frozen=True)
class ComponentDef:
    """A ``Report`` component: a visualization of one report's aggregates."""

    id: str
    report: ReportDef
    visualization: str
    aggregates: tuple[str, ...]
    header: str | None = None
    title: str | None = None
    footer: str | None = None
    groupings: tuple[str, ...] | None = None
    max_rows: int | None = None
    sort: tuple[str, str] | None = None
    shows_rows: bool = False
    breaks: tuple[float, float] | None = None

    @property
    def grouping_names(self) -> list[str]:
        """The row groupings the component's data is grouped by (the report's when unset)."""
        if self.groupings is not None:
            return list(self.groupings)
        return [g["name"] for g in self.report.groupings_down]


@dataclass(frozen=True)
class DashboardDef:
    """A saved dashboard: its components in layout order, filters and running user."""

    number: int
    name: str
    developer_name: str
    folder: str
    components: tuple[ComponentDef, ...]
    filters: tuple[FilterDef, ...] = ()
    dashboard_type: str = "SpecifiedUser"  # or "LoggedInUser" (dynamic), "MyTeamUser"
    can_change_running_user: bool = False
    running_user_rank: int = 0  # the n-th active user (by Id) runs a SpecifiedUser dashboard
    columns: tuple[tuple[int, ...], ...] = ()
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return _sfid("01Z", self.number)

    @property
    def folder_id(self) -> str:
        return DASHBOARD_FOLDERS[self.folder]


def _option(n: int, operation: str, value: str | None = None, **kw: Any) -> FilterOption:
    return FilterOption(_sfid("0IC", n), operation, value, **kw)


def _component(n: int, report: int, visualization: str, *aggs: str, **kw: Any) -> ComponentDef:
    return ComponentDef(_sfid("01a", n), _report(report), visualization, aggs, **kw)


_TYPE_FILTER = FilterDef(
    _sfid("0IB", 1),
    "Opportunity Type",
    "TYPE",
    (
        _option(1, "equals", "New Customer", alias="New Business"),
        _option(
            2,
            "equals",
            "Existing Customer - Upgrade,Existing Customer - Replacement,"
            "Existing Customer - Downgrade",
            alias="Existing Business",
        ),
        _option(3, "startsWith", "Existing Customer"),
    ),
)
_SOURCE_FILTER = FilterDef(
    _sfid("0IB", 2),
    "Lead Source",
    "LEAD_SOURCE",
    (
        _option(4, "equals", "Web,Phone Inquiry", alias="Inbound"),
        _option(5, "equals", "Partner Referral"),
        _option(6, "equals", "Trade Show", alias="Events"),
    ),
)
_CLOSE_FILTER = FilterDef(
    _sfid("0IB", 3),
    "Close Date",
    "CLOSE_DATE",
    (
        _option(7, "between", alias="2024", start="2024-01-01", end="2024-12-31"),
        _option(8, "between", alias="2025", start="2025-01-01", end="2025-12-31"),
        _option(9, "lessThan", "2024-01-01", alias="Before 2024"),
    ),
)

_DASHBOARD_LIST: tuple[DashboardDef, ...] = (
    DashboardDef(
        1,
        "Sales Pipeline",
        "Sales_Pipeline",
        "Sales Dashboards",
        (
            _component(1, 4, "Bar", "s!AMOUNT", title="Pipeline by stage"),
            _component(2, 4, "Donut", "RowCount", header="Deals by stage"),
            _component(
                3,
                8,
                "Metric",
                "s!AMOUNT",
                title="Open pipeline",
                footer="Sum of Amount, open deals",
            ),
            _component(
                4,
                8,
                "Table",
                "RowCount",
                "s!AMOUNT",
                title="Top 10 open deals",
                max_rows=10,
                sort=("AMOUNT", "desc"),
                shows_rows=True,
            ),
            _component(5, 2, "Gauge", "s!AMOUNT", title="Closing in 2025", breaks=(5e8, 1.5e9)),
        ),
        filters=(_TYPE_FILTER, _SOURCE_FILTER),
        columns=((0, 1), (2, 3), (4,)),
        description="Open pipeline and bookings by stage, for the sales team.",
    ),
    DashboardDef(
        2,
        "Executive Overview",
        "Executive_Overview",
        "Executive Dashboards",
        (
            _component(
                6,
                5,
                "Column",
                "s!AMOUNT",
                "RowCount",
                groupings=("INDUSTRY",),
                title="Closed bookings by industry",
            ),
            _component(
                7,
                5,
                "Table",
                "s!AMOUNT",
                "a!AMOUNT",
                groupings=("INDUSTRY", "CLOSE_DATE"),
                header="Bookings by industry and year",
            ),
            _component(8, 6, "Bar", "s!AMOUNT", title="Won bookings by owner and year"),
            _component(9, 1, "Metric", "RowCount", title="Opportunities"),
        ),
        dashboard_type="LoggedInUser",
        columns=((0, 1), (2, 3)),
        description="A dynamic dashboard: it runs as whoever views it.",
    ),
    DashboardDef(
        3,
        "Marketing Funnel",
        "Marketing_Funnel",
        "Marketing Dashboards",
        (
            _component(10, 4, "Funnel", "RowCount", title="Funnel by stage"),
            _component(
                11,
                9,
                "Table",
                "RowCount",
                "s!AMOUNT",
                title="Marketing pipeline",
                max_rows=20,
                sort=("CLOSE_DATE", "asc"),
                shows_rows=True,
            ),
            _component(
                12, 9, "Gauge", "s!AMOUNT", title="Marketing pipeline value", breaks=(1e8, 3e8)
            ),
            _component(13, 7, "Line", "RowCount", "x!AMOUNT", title="Sources by quarter"),
        ),
        filters=(_CLOSE_FILTER,),
        can_change_running_user=True,
        running_user_rank=1,
        columns=((0, 1), (2, 3)),
        description="Marketing-sourced pipeline; the running user can be changed.",
    ),
)

DASHBOARDS: dict[str, DashboardDef] = {d.id: d for d in _DASHBOARD_LIST}


def dashboard_by_id(dashboard_id: str) -> DashboardDef | None:
    """The seeded dashboard with this Id (15 or 18 characters), or ``None``."""
    key = to_18(dashboard_id) if len(dashboard_id) == 15 else dashboard_id
    return DASHBOARDS.get(key)


def _check() -> None:
    """The definitions stay consistent with the seeded reports (checked at import)."""
    for dashboard in _DASHBOARD_LIST:
        if len(dashboard.filters) > 3:
            raise ValueError(f"{dashboard.name}: a dashboard has at most 3 filters")
        for flt in dashboard.filters:
            if flt.column not in COLUMNS:
                raise ValueError(f"{dashboard.name}: filter column {flt.column} is unknown")
        for comp in dashboard.components:
            missing = set(comp.aggregates) - set(comp.report.aggregates)
            own = [g["name"] for g in comp.report.groupings_down]
            if missing or comp.grouping_names != own[: len(comp.grouping_names)]:
                raise ValueError(f"{dashboard.name}: component {comp.id} does not fit its report")


_check()
