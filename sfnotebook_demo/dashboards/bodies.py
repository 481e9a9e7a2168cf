"""The JSON bodies of the Dashboards API: describe (``dashboardMetadata``) and component data.

Sources (Salesforce Reports and Dashboards REST API Developer Guide):

* Dashboard Describe / "Get Dashboard Metadata" (analytics_api_dashboard_describe_resource.htm):
  ``attributes``, ``canChangeRunningUser``, ``canUseStickyFilter``, ``chartTheme``,
  ``colorPalette``, ``components`` (``componentData`` index, ``footer``, ``header``, ``id``,
  ``properties``, ``reportId``, ``title``, ``type``), ``dashboardType``, ``description``,
  ``developerName``, ``filters`` (0 to 3: ``errorMessage``, ``id``, ``name``, ``options``,
  ``selectedOption``), ``folderId``, ``id``, ``layout``, ``maxFilterOptions``, ``name``,
  ``runningUser`` (``displayName``, ``id``).
* "Get Dashboard Results" (analytics_api_dashboard_get_results.htm): ``componentData`` (one per
  component, in order: ``componentId``, ``reportResult``, ``status``) and ``dashboardMetadata``.
  A component's ``reportResult`` is a report run payload with ``attributes: null``,
  ``hasDetailRows: false``, ``detailColumns: []``, an empty ``detailColumnInfo`` and
  ``groupingsAcross: null`` for a summary report; its ``reportMetadata`` carries the component's
  aggregates and groupings. ``status``: ``dataStatus`` (NODATA, DATA, ERROR), ``errorCode``,
  ``errorMessage``, ``errorSeverity``, ``refreshDate`` (``2014-04-09T00:28:16.000+0000``),
  ``refreshStatus`` (IDLE, RUNNING).

Where the documentation shows no example, the demo guesses, and says so here:

* GUESS: a Table component over a tabular report (a "Lightning table") answers its first
  ``maxRows`` detail rows in its ``sort`` order (``hasDetailRows: true``, rows in ``T!T``);
  every documented example has ``hasDetailRows: false``.
* GUESS: a dashboard filter becomes one more report filter on the component's filter column
  (two for ``between``: ``greaterOrEqual`` start, ``lessOrEqual`` end), ANDed onto the report's
  filter logic, and shows in ``reportResult.reportMetadata.reportFilters``; the filter's
  ``selectedOption`` in ``dashboardMetadata`` is the index of the option applied (the index form
  is documented for sticky filters, "Set a Sticky Dashboard Filter").
* GUESS: the visualization properties of Donut components (``showPercentages``, ``showTotal``,
  ``legendPosition``); Bar, Column, Line, Funnel, Gauge, Metric and Table follow the
  "Get Dashboard Metadata" example.
* The demo's data does not depend on the running user (every user sees every record), so the
  running user changes ``runningUser`` only.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sfnotebook_demo.dashboards.defs import ComponentDef, DashboardDef, FilterOption
from sfnotebook_demo.reports.defs import COLUMNS
from sfnotebook_demo.reports.plan import make_plan
from sfnotebook_demo.reports.run import run_plan

__all__ = [
    "component_result",
    "dashboard_metadata",
    "list_item",
    "refresh_stamp",
    "status_object",
]

#: A component's source report is gone or hidden from the running user (Dashboard and Component
#: Error Codes, analytics_api_dashboard_errors.htm).
REPORT_UNAVAILABLE = (
    "202",
    "The source report isn't available; it's been deleted or isn't in a folder accessible to "
    "the dashboard's running user.",
)


def refresh_stamp(seconds: float) -> str:
    """``2014-04-09T00:28:16.000+0000``, the documented form of a component's refresh date."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _urls(version: str, dashboard: DashboardDef) -> dict[str, str]:
    base = f"/services/data/v{version}/analytics/dashboards/{dashboard.id}"
    return {"describeUrl": f"{base}/describe", "statusUrl": f"{base}/status", "url": base}


def list_item(version: str, dashboard: DashboardDef) -> dict[str, Any]:
    """One entry of ``GET /analytics/dashboards`` (Dashboard List: id, name, statusUrl, url)."""
    urls = _urls(version, dashboard)
    return {
        "id": dashboard.id,
        "name": dashboard.name,
        "statusUrl": urls["statusUrl"],
        "url": urls["url"],
    }


def _breakpoints(comp: ComponentDef) -> list[dict[str, Any]]:
    low, high = comp.breaks or (None, None)
    return [
        {
            "aggregateName": comp.aggregates[0],
            "breaks": [
                {"color": "c25454", "lowerBound": None, "upperBound": low},
                {"color": "c2c254", "lowerBound": low, "upperBound": high},
                {"color": "54c254", "lowerBound": high, "upperBound": None},
            ],
        }
    ]


def _visualization(comp: ComponentDef) -> dict[str, Any]:
    kind = comp.visualization
    if kind in ("Bar", "Column", "Line"):
        return {
            "axisRange": {"max": None, "min": None, "rangeType": "auto"},
            "groupByType": "stacked" if comp.report.groupings_across else "none",
            "legendPosition": "Bottom",
            "showValues": False,
        }
    if kind == "Funnel":
        return {
            "combineSmallGroups": True,
            "legendPosition": "Bottom",
            "showPercentages": False,
            "showValues": True,
        }
    if kind == "Donut":  # GUESS: no documented example
        return {"legendPosition": "Right", "showPercentages": True, "showTotal": True}
    if kind == "Gauge":
        return {"breakPoints": _breakpoints(comp), "showPercentages": False, "showTotal": False}
    if kind == "Metric":
        return {"breakPoints": _breakpoints(comp), "metricLabel": None}
    columns = [{"column": g, "type": "grouping"} for g in comp.grouping_names]
    if comp.shows_rows:
        columns += [{"column": c, "type": "detail"} for c in comp.report.detail_columns]
    columns += [{"column": a, "type": "aggregate"} for a in comp.aggregates]
    return {
        "breakPoints": _breakpoints(comp),
        "tableColumns": [
            {**c, "isPercent": False, "scale": None, "showTotal": c["type"] == "aggregate"}
            for c in columns
        ],
    }


def _component_json(index: int, comp: ComponentDef, dashboard: DashboardDef) -> dict[str, Any]:
    sort = {"column": comp.sort[0], "sortOrder": comp.sort[1]} if comp.sort else None
    groupings = [{"name": g} for g in comp.groupings] if comp.groupings is not None else None
    return {
        "componentData": index,
        "footer": comp.footer,
        "header": comp.header,
        "id": comp.id,
        "properties": {
            "aggregates": [{"name": a} for a in comp.aggregates],
            "autoSelectColumns": False,
            "filterColumns": [
                {"label": COLUMNS[f.column].label, "name": f.column} for f in dashboard.filters
            ],
            "groupings": groupings,
            "maxRows": comp.max_rows,
            "sort": sort,
            "useReportChart": False,
            "visualizationProperties": _visualization(comp),
            "visualizationType": comp.visualization,
        },
        "reportId": comp.report.id,
        "title": comp.title,
        "type": "Report",
    }


def dashboard_metadata(
    version: str,
    dashboard: DashboardDef,
    *,
    running_user: tuple[str, str],
    selected: tuple[int | None, ...] = (),
) -> dict[str, Any]:
    """The describe body (also ``dashboardMetadata`` of the results), keys in order."""
    urls = _urls(version, dashboard)
    chosen = list(selected) + [None] * (len(dashboard.filters) - len(selected))
    return {
        "attributes": {
            "dashboardId": dashboard.id,
            "dashboardName": dashboard.name,
            "describeUrl": urls["describeUrl"],
            "statusUrl": urls["statusUrl"],
            "type": "Dashboard",
        },
        "canChangeRunningUser": dashboard.can_change_running_user,
        "canUseStickyFilter": False,
        "chartTheme": "light",
        "colorPalette": "unity",
        "components": [
            _component_json(i, c, dashboard) for i, c in enumerate(dashboard.components)
        ],
        "dashboardType": dashboard.dashboard_type,
        "description": dashboard.description,
        "developerName": dashboard.developer_name,
        "filters": [
            {
                "errorMessage": None,
                "id": f.id,
                "name": f.name,
                "options": [o.as_json() for o in f.options],
                "selectedOption": pick,
            }
            for f, pick in zip(dashboard.filters, chosen, strict=True)
        ],
        "folderId": dashboard.folder_id,
        "id": dashboard.id,
        "layout": {
            "columns": [{"components": list(col)} for col in dashboard.columns],
            "gridLayout": False,
        },
        "maxFilterOptions": 50,
        "name": dashboard.name,
        "runningUser": {"displayName": running_user[1], "id": running_user[0]},
    }


def _with_filters(comp: ComponentDef, added: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``reportMetadata`` override that runs the report as the component shows it."""
    report = comp.report
    filters = [dict(f) for f in report.filters] + added
    logic = report.boolean_filter
    if logic and added:
        first = len(report.filters) + 1
        logic = f"({logic}) AND " + " AND ".join(str(n) for n in range(first, len(filters) + 1))
    body: dict[str, Any] = {
        "aggregates": list(comp.aggregates),
        "reportFilters": filters,
        "reportBooleanFilter": logic,
    }
    if report.format != "MATRIX":
        body["groupingsDown"] = [
            g for g in report.groupings_down if g["name"] in comp.grouping_names
        ]
    if comp.sort and comp.shows_rows:
        body["sortBy"] = [{"sortColumn": comp.sort[0], "sortOrder": comp.sort[1].capitalize()}]
    return body


def component_result(
    conn: Any,
    comp: ComponentDef,
    options: list[tuple[str, FilterOption]],
) -> dict[str, Any]:
    """A component's ``reportResult``: its report run with the dashboard's selected filters."""
    added = [flt for column, option in options for flt in option.report_filters(column)]
    plan = make_plan(comp.report, _with_filters(comp, added))
    limit = comp.max_rows if comp.shows_rows and comp.max_rows else 2000
    payload = run_plan(conn, plan, include_details=comp.shows_rows, attributes={}, row_limit=limit)
    payload = copy.deepcopy(payload)
    payload["attributes"] = None
    if not comp.shows_rows:
        payload["reportMetadata"]["detailColumns"] = []
        payload["reportExtendedMetadata"]["detailColumnInfo"] = {}
        for cell in payload["factMap"].values():
            cell.pop("rows", None)
    if comp.report.format != "MATRIX":
        payload["groupingsAcross"] = None
    for key in ("hasExceededTabularRowLimit", "picklistColors"):
        payload.pop(key, None)
    return payload


def status_object(
    refreshed: float | None, running: bool, error: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A component's ``status`` in the results (Get Dashboard Results example)."""
    data = "ERROR" if error else ("DATA" if refreshed is not None else "NODATA")
    return {
        "dataStatus": data,
        "errorCode": error[0] if error else None,
        "errorMessage": error[1] if error else None,
        "errorSeverity": "Error" if error else None,
        "refreshDate": refresh_stamp(refreshed) if refreshed is not None else None,
        "refreshStatus": "RUNNING" if running else "IDLE",
    }
