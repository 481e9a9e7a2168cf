"""The edge of the dashboards wing: each Dashboards API answer decoded and its shape checked.

Shapes (Salesforce Reports and Dashboards REST API Developer Guide, Dashboards resources):

* Dashboard List (``GET /analytics/dashboards``): an array of ``{id, name, statusUrl, url}``
  (analytics_api_dashboard_list_resource.htm).
* Dashboard Describe (``GET .../{id}/describe``): ``components`` (each with ``id``, ``type``,
  ``componentData``: its index in the results' array, ``reportId``, ``properties``),
  ``filters`` (0 to 3, each with ``options``), ``runningUser``, ``folderId``
  (analytics_api_dashboard_describe_resource.htm).
* Dashboard Results (``GET .../{id}``): ``componentData`` (``componentId``, ``reportResult``,
  ``status``) and ``dashboardMetadata`` (the describe) (analytics_api_dashboard_get_results.htm).
* Dashboard Status (``GET .../{id}/status``): ``componentStatus`` (``componentId``,
  ``refreshDate``, ``refreshStatus`` IDLE or RUNNING) (analytics_api_dashboard_status_resource.htm).
* Refresh (``PUT .../{id}``): ``{"statusUrl": ...}`` (analytics_api_dashboard_refresh.htm).

Anything else (an HTML page, a list where an object belongs, a component without an Id) is an
:class:`~sfnotebook.errors.UnexpectedAnswerError` naming the answer, never a ``KeyError`` later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._paths import is_record_id
from sfnotebook._values import api_datetime

__all__ = [
    "decode_describe",
    "decode_list",
    "decode_refresh",
    "decode_results",
    "decode_status",
]

_HINT = (
    "This is not the Dashboards API's answer: check SF_DOMAIN is the org's My Domain, then "
    "run it again."
)


def decode_list(resp: requests.Response) -> list[dict[str, Any]]:
    """Dashboard List: ``[{id, name, ...}]`` with dashboard Ids (``01Z``) and names."""
    endpoint = "dashboard list"
    listed = decode_json(resp, endpoint=endpoint, expect=list)
    for item in listed:
        if not (
            isinstance(item, dict)
            and is_record_id(item.get("id"), "01Z")
            and isinstance(item.get("name"), str)
        ):
            raise unexpected(resp, endpoint, "a list with an entry that is not a dashboard", _HINT)
    return listed


def decode_describe(resp: requests.Response, dashboard_id: str) -> dict[str, Any]:
    """Dashboard Describe: components with Ids and result indexes, filters with options."""
    endpoint = f"dashboard describe {dashboard_id}"
    body: dict[str, Any] = decode_json(resp, endpoint=endpoint, expect=dict)
    problem = _metadata_problem(body)
    if problem:
        raise unexpected(resp, endpoint, problem, _HINT)
    return body


def decode_results(resp: requests.Response, dashboard_id: str) -> dict[str, Any]:
    """Dashboard Results: ``componentData`` entries and ``dashboardMetadata``, both checked."""
    endpoint = f"dashboard results {dashboard_id}"
    body: dict[str, Any] = decode_json(resp, endpoint=endpoint, expect=dict)
    metadata = body.get("dashboardMetadata")
    data = body.get("componentData")
    problem = _metadata_problem(metadata) if isinstance(metadata, dict) else "no dashboardMetadata"
    if not problem:
        problem = (
            _data_problem(data) if isinstance(data, list) else "an answer without componentData"
        )
    if problem:
        raise unexpected(resp, endpoint, problem, _HINT)
    return body


def decode_status(resp: requests.Response, dashboard_id: str) -> list[dict[str, Any]]:
    """Dashboard Status: one ``{componentId, refreshDate, refreshStatus}`` per component."""
    endpoint = f"dashboard status {dashboard_id}"
    body = decode_json(resp, endpoint=endpoint, expect=dict)
    statuses = body.get("componentStatus")
    if not isinstance(statuses, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("componentId"), str)
        and s.get("refreshStatus") in ("IDLE", "RUNNING")
        for s in statuses
    ):
        raise unexpected(resp, endpoint, "an answer without a componentStatus list", _HINT)
    for s in statuses:
        if s.get("refreshDate") is not None and api_datetime(s["refreshDate"]) is None:
            raise unexpected(resp, endpoint, f"a refreshDate {s['refreshDate']!r}", _HINT)
    return statuses


def decode_refresh(resp: requests.Response, dashboard_id: str) -> str:
    """The refresh answer: the dashboard's status URL (a path under ``/services/data``)."""
    endpoint = f"dashboard refresh {dashboard_id}"
    body = decode_json(resp, endpoint=endpoint, expect=dict)
    url = body.get("statusUrl")
    if not isinstance(url, str) or not url.startswith("/services/data/") or "?" in url:
        raise unexpected(resp, endpoint, "an answer without a statusUrl", _HINT)
    return url


def _metadata_problem(body: Mapping[str, Any]) -> str | None:
    """What is wrong with a describe / ``dashboardMetadata`` body, or None."""
    if not is_record_id(body.get("id"), "01Z") or not isinstance(body.get("name"), str):
        return "an answer without the dashboard's id and name"
    components = body.get("components")
    if not isinstance(components, list):
        return "an answer without a components list"
    for comp in components:
        if not isinstance(comp, dict) or not isinstance(comp.get("id"), str):
            return "a component without an id"
        if comp.get("type") == "Report" and not (
            is_record_id(comp.get("reportId"), "00O") and isinstance(comp.get("componentData"), int)
        ):
            return f"report component {comp['id']} without a reportId and a componentData index"
        if comp.get("properties") is not None and not isinstance(comp["properties"], dict):
            return f"component {comp['id']} whose properties are not an object"
    filters = body.get("filters")
    if not isinstance(filters, list) or len(filters) > 3:
        return "an answer without a list of at most 3 filters"
    for flt in filters:
        if not isinstance(flt, dict) or not isinstance(flt.get("name"), str):
            return "a filter without a name"
        options = flt.get("options")
        if not isinstance(options, list) or not all(
            isinstance(o, dict) and isinstance(o.get("id"), str) for o in options
        ):
            return f"filter {flt['name']!r} without options that have ids"
    user = body.get("runningUser")
    if user is not None and not isinstance(user, dict):
        return "a runningUser that is not an object"
    return None


def _data_problem(data: list[Any]) -> str | None:
    """What is wrong with a ``componentData`` list, or None."""
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("componentId"), str):
            return "a componentData entry without a componentId"
        if not isinstance(entry.get("status"), dict):
            return f"component {entry['componentId']} without a status"
        if entry.get("reportResult") is not None and not _is_run(entry["reportResult"]):
            return f"component {entry['componentId']} with a reportResult that is not a run"
    return None


def _is_run(result: object) -> bool:
    """A report run payload: a factMap with the grand total, and the run's metadata."""
    return (
        isinstance(result, dict)
        and isinstance(result.get("factMap"), dict)
        and isinstance(result["factMap"].get("T!T"), dict)
        and isinstance(result.get("reportMetadata"), dict)
    )
