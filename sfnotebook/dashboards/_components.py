"""A dashboard's components read from its results, each checked against what the describe promised.

A component of type ``Report`` answers its report's run as the component shows it (its
aggregates, its groupings, the dashboard filters applied) in ``componentData[i].reportResult``,
where ``i`` is the component's ``componentData`` index in the describe, and a ``status`` with
``dataStatus`` DATA, NODATA or ERROR ("Get Dashboard Results"). Component errors carry
``errorCode``, ``errorMessage`` and ``errorSeverity``: "Errors are blocking issues that prevent
the query from returning any data. Warnings are non-blocking issues; queries will finish, but
they might return incomplete data." (Dashboard and Component Error Codes). So:

* the component at each index must be the one the describe names there, and name the same
  report; its aggregates and groupings must be the ones its properties list (when they do);
* ERROR, or NODATA, on any report component raises once, listing every component at fault;
* a warning is kept on the component (``.warning``) and warned about, never dropped;
* detail rows, where a component answers them, must number what its row limit and its
  record count say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import requests

from sfnotebook._answers import unexpected
from sfnotebook._output import Output
from sfnotebook._values import api_datetime
from sfnotebook.errors import DashboardComponentError, IncompleteResultError
from sfnotebook.reports.frames import (
    detail_rows,
    frame_from_detail_rows,
    grouping_names,
    report_aggregates,
)
from sfnotebook.reports.pivot import pivot_matrix

__all__ = ["DashboardComponent", "read_components"]

ColumnNames = Literal["label", "api"]


class DashboardComponent:
    """One component of a dashboard: its report's data as the component shows it.

    Attributes
    ----------
    id : str
        The component's Id (``01a...``).
    title : str
        Its title (else its header, else its report's name).
    type : str
        The visualization: ``Bar``, ``Column``, ``Line``, ``Donut``, ``Pie``, ``Funnel``,
        ``Gauge``, ``Metric``, ``Scatter``, ``Table``, ``FlexTable`` ...; ``VisualforcePage``
        and other non-report components have no data (``aggregates`` is None).
    header, footer : str or None
        The texts above and below the component.
    report_id, report_name : str
        The source report.
    aggregates : DataFrame
        The component's numbers, as :func:`sfnotebook.report_aggregates` makes them from a
        report run (grouping levels as index, ``"Is Total"`` on subtotals and the grand total).
    details : DataFrame or None
        The detail rows the component shows (a table component over a tabular report: its first
        ``row_limit`` rows, in its sort order), as :func:`sfnotebook.report_details` makes them;
        None when the component shows none. For every row of the report, run it:
        ``org.report(component.report_id)``.
    groupings : list of str
        The grouping labels its data is grouped by.
    report_filters : list of dict
        The filters its report ran with (``column``, ``operator``, ``value``), the dashboard's
        filters included.
    dashboard_filters : list of dict
        The dashboard filters applied (``filter``, ``option``, ``operation``, ``value``,
        ``column``: the report column each applies to in this component).
    refresh_date : datetime or None
        When its data was computed (UTC).
    row_limit : int or None
        The rows a table component shows at most (``maxRows``).
    warning : str or None
        A component warning from Salesforce: its data may be incomplete.
    payload : dict or None
        The ``reportResult`` as Salesforce sent it.
    """

    def __init__(
        self,
        meta: Mapping[str, Any],
        entry: Mapping[str, Any] | None,
        *,
        dashboard_filters: list[dict[str, Any]],
        column_names: ColumnNames,
        output: Output,
    ) -> None:
        props = meta.get("properties") or {}
        result = (entry or {}).get("reportResult")
        status = (entry or {}).get("status") or {}
        report_md = (result or {}).get("reportMetadata") or {}
        self.id = str(meta["id"])
        self.component_type = str(meta.get("type") or "")
        self.type = str(props.get("visualizationType") or self.component_type)
        self.header = meta.get("header")
        self.footer = meta.get("footer")
        self.report_id = str(meta.get("reportId") or "")
        self.report_name = str(report_md.get("name") or "")
        self.title = str(meta.get("title") or self.header or self.report_name or self.id)
        self.row_limit = props.get("maxRows") if isinstance(props.get("maxRows"), int) else None
        self.status = dict(status)
        self.refresh_date = api_datetime(status.get("refreshDate"))
        self.warning: str | None = None
        if status.get("errorSeverity") == "Warning":
            self.warning = f"{status.get('errorCode')}: {status.get('errorMessage')}"
        self.payload = result
        self.report_filters = [dict(f) for f in report_md.get("reportFilters") or []]
        self.dashboard_filters = dashboard_filters
        self.aggregates: Any = None
        self.details: Any = None
        self.groupings: list[str] = []
        if result is not None:
            self.aggregates = report_aggregates(result, column_names=column_names, output=output)
            self.groupings = grouping_names(result, column_names)
            if result.get("hasDetailRows"):
                rows = detail_rows(result)
                self.details = frame_from_detail_rows(
                    result, rows, column_names=column_names, output=output
                )

    @property
    def format(self) -> str:
        """The source report's format as the component ran it (TABULAR, SUMMARY, MATRIX)."""
        md = (self.payload or {}).get("reportMetadata") or {}
        return str(md.get("reportFormat") or "TABULAR").upper()

    def pivot(self, aggregate: str | None = None, *, totals: bool = True) -> Any:
        """A matrix component's aggregate as Salesforce's grid (see ``pivot_matrix``)."""
        if self.payload is None:
            raise ValueError(f"component {self.title!r} has no report data to pivot")
        return pivot_matrix(report_aggregates(self.payload), aggregate, totals=totals)

    def __repr__(self) -> str:
        rows = "no data" if self.aggregates is None else f"{len(self.aggregates):,} aggregate rows"
        if self.details is not None:
            rows += f", {len(self.details):,} detail rows"
        return (
            f"<DashboardComponent {self.title!r} ({self.type}) over {self.report_name!r}: {rows}>"
        )


def read_components(
    resp: requests.Response,
    body: Mapping[str, Any],
    *,
    applied: Sequence[Mapping[str, Any]],
    column_names: ColumnNames,
    output: Output,
) -> list[DashboardComponent]:
    """Every component of the results, checked (see the module docstring) and converted."""
    metadata = body["dashboardMetadata"]
    data: list[dict[str, Any]] = body["componentData"]
    dashboard_id = str(metadata["id"])
    endpoint = f"dashboard results {dashboard_id}"
    components: list[DashboardComponent] = []
    faults: list[tuple[str, str]] = []
    for meta in metadata["components"]:
        entry = _entry_of(resp, endpoint, meta, data)
        if entry is not None:
            fault = _fault(meta, entry)
            if fault:
                faults.append((str(meta["id"]), fault))
                continue
            _check_shape(resp, endpoint, meta, entry["reportResult"])
        filters = _applied_here(applied, meta)
        components.append(
            DashboardComponent(
                meta, entry, dashboard_filters=filters, column_names=column_names, output=output
            )
        )
    if faults:
        raise DashboardComponentError(
            f"{len(faults)} of {len(metadata['components'])} components of dashboard "
            f"{metadata.get('name')!r} have no data:\n"
            + "\n".join(f"  {cid}: {why}" for cid, why in faults)
            + "\nNo partial dashboard is returned. Fix the component in Salesforce (its source "
            "report), refresh it with refresh=True when it has no data yet, or run each report "
            "with org.report(...).",
            dashboard_id=dashboard_id,
            components=[cid for cid, _ in faults],
        )
    for comp in components:
        if comp.details is not None:
            _check_rows(comp)
    return components


def _entry_of(
    resp: requests.Response,
    endpoint: str,
    meta: Mapping[str, Any],
    data: Sequence[dict[str, Any]],
) -> dict[str, Any] | None:
    """The component's ``componentData`` entry (report components), checked to be its own."""
    if meta.get("type") != "Report":
        return None
    index = meta["componentData"]
    if not 0 <= index < len(data):
        raise unexpected(
            resp,
            endpoint,
            f"{len(data)} componentData entries, but component {meta['id']} is number {index + 1}",
            "The answer is missing components: run it again.",
        )
    entry = data[index]
    if entry["componentId"] != meta["id"]:
        raise unexpected(
            resp,
            endpoint,
            f"componentData[{index}] for component {entry['componentId']}, not {meta['id']}",
            "The answer does not match the dashboard's own layout: run it again.",
        )
    return entry


def _fault(meta: Mapping[str, Any], entry: Mapping[str, Any]) -> str | None:
    """Why a report component has no data (ERROR, NODATA, no reportResult), or None."""
    status = entry["status"]
    title = meta.get("title") or meta.get("header") or meta["id"]
    if status.get("errorSeverity") == "Error" or status.get("dataStatus") == "ERROR":
        return (
            f"{title!r}: error {status.get('errorCode')}: "
            f"{status.get('errorMessage') or 'no message'}"
        )
    if status.get("dataStatus") == "NODATA" or entry.get("reportResult") is None:
        running = status.get("refreshStatus") == "RUNNING"
        return f"{title!r}: no data yet" + (" (a refresh is running)" if running else "")
    return None


def _check_shape(
    resp: requests.Response, endpoint: str, meta: Mapping[str, Any], result: Mapping[str, Any]
) -> None:
    """The run is the component's: its report, its aggregates, its groupings, whole totals."""
    md = result["reportMetadata"]
    props = meta.get("properties") or {}
    problem = None
    if md.get("id") and str(md["id"])[:15] != str(meta["reportId"])[:15]:
        problem = f"component {meta['id']} with the data of report {md['id']}"
    promised = [a.get("name") for a in props.get("aggregates") or [] if isinstance(a, dict)]
    aggregates = list(md.get("aggregates") or [])
    if not problem and promised and promised != aggregates:
        problem = f"component {meta['id']} with aggregates {aggregates}, not {promised}"
    groups = props.get("groupings")
    down = [g.get("name") for g in md.get("groupingsDown") or [] if isinstance(g, dict)]
    if not problem and isinstance(groups, list) and [g.get("name") for g in groups] != down:
        problem = f"component {meta['id']} grouped by {down}, not {[g.get('name') for g in groups]}"
    if not problem:
        for key, cell in result["factMap"].items():
            if not isinstance(cell, dict) or len(cell.get("aggregates") or []) != len(aggregates):
                problem = f"component {meta['id']} whose factMap cell {key} lacks aggregates"
                break
    if problem:
        raise unexpected(
            resp, endpoint, f"an answer with {problem}", "Run it again; no partial data is kept."
        )


def _check_rows(comp: DashboardComponent) -> None:
    """A component's detail rows add up: its row limit, or all of its record count."""
    payload = comp.payload or {}
    md = payload.get("reportMetadata") or {}
    aggregates = list(md.get("aggregates") or [])
    received = len(comp.details)
    total = payload["factMap"]["T!T"]["aggregates"]
    count = total[aggregates.index("RowCount")].get("value") if "RowCount" in aggregates else None
    if isinstance(count, int | float):
        expected = int(count) if comp.row_limit is None else min(comp.row_limit, int(count))
    elif comp.row_limit is not None:
        if received <= comp.row_limit:
            return  # no Record Count to check against: the row limit is all there is
        expected = comp.row_limit
    elif payload.get("allData") is False:
        raise IncompleteResultError(
            f"Component {comp.title!r} answered {received:,} detail rows, cut short "
            f"(allData false). Run its report for every row: org.report({comp.report_id!r}).",
            expected=None,
            received=received,
        )
    else:
        return
    if received != expected:
        raise IncompleteResultError(
            f"Component {comp.title!r} answered {received:,} detail rows but should show "
            f"{expected:,} (its row limit and its report's Record Count). Run it again.",
            expected=expected,
            received=received,
        )


def _applied_here(
    applied: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The dashboard filters applied, with the column each one filters in this component."""
    columns = (meta.get("properties") or {}).get("filterColumns") or []
    out = []
    for flt in applied:
        at = int(flt["position"])
        column = columns[at] if at < len(columns) and isinstance(columns[at], dict) else {}
        out.append({**flt, "column": column.get("name")})
    return out
