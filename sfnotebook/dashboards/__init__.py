"""Dashboard verbs: ``dashboards()`` lists them, ``dashboard()`` reads one as report frames.

Through the Analytics REST API's Dashboards resources (list, describe, results, refresh,
status; see :mod:`sfnotebook.dashboards._decode` for the documented shapes). A dashboard shows
its data as of its last refresh: reading it costs no refresh; ``refresh=True`` recomputes it
first and spends one of the org's 200 hourly dashboard refreshes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import requests

from sfnotebook import _output
from sfnotebook._answers import unexpected
from sfnotebook._api import OrgApi
from sfnotebook._values import api_datetime
from sfnotebook.dashboards._components import DashboardComponent, read_components
from sfnotebook.dashboards._decode import (
    decode_describe,
    decode_list,
    decode_results,
    decode_status,
)
from sfnotebook.dashboards._refresh import refresh_and_wait
from sfnotebook.dashboards._result import DashboardResult
from sfnotebook.dashboards._select import (
    check_name,
    choose_filters,
    choose_running_user,
    is_dashboard_id,
    match_dashboard,
)
from sfnotebook.errors import DashboardWarning, InvalidArgumentError

__all__ = ["DashboardComponent", "DashboardResult", "dashboard", "dashboards"]

_LIST_COLUMNS = (
    "id",
    "name",
    "developer_name",
    "folder",
    "dashboard_type",
    "running_user",
    "components",
    "last_refreshed",
)


def dashboards(conn: OrgApi) -> pd.DataFrame:
    """The dashboards this user can list: id, name, folder, running user, last refreshed.

    The Dashboards API lists the dashboards the user used recently (Dashboard List); each one's
    folder and running user come from its describe and its last refresh from its status, so
    this makes ``1 + 2 x`` (number of dashboards) API calls and spends no refresh.

    Returns
    -------
    pandas.DataFrame
        One row per dashboard: ``id``, ``name``, ``developer_name``, ``folder`` (its folder's
        Id), ``dashboard_type`` (``SpecifiedUser``, ``LoggedInUser`` for a dynamic dashboard,
        ``MyTeamUser``), ``running_user`` (display name), ``components`` (how many),
        ``last_refreshed`` (UTC; the latest component refresh, NaT if never).

    Examples
    --------
    >>> org.dashboards()[["name", "running_user", "last_refreshed"]]  # doctest: +SKIP
    """
    listed = decode_list(conn.request("GET", "analytics/dashboards"))
    rows = []
    for item in listed:
        dashboard_id = str(item["id"])
        meta = _describe(conn, dashboard_id)
        path = f"analytics/dashboards/{dashboard_id}/status"
        statuses = decode_status(conn.request("GET", path), dashboard_id)
        dates = [api_datetime(s.get("refreshDate")) for s in statuses]
        known = [d for d in dates if d is not None]
        rows.append(
            {
                "id": dashboard_id,
                "name": item["name"],
                "developer_name": meta.get("developerName"),
                "folder": meta.get("folderId"),
                "dashboard_type": meta.get("dashboardType"),
                "running_user": (meta.get("runningUser") or {}).get("displayName"),
                "components": len(meta["components"]),
                "last_refreshed": max(known) if known else None,
            }
        )
    frame = pd.DataFrame(rows, columns=list(_LIST_COLUMNS))
    text = [c for c in _LIST_COLUMNS if c not in ("components", "last_refreshed")]
    frame[text] = frame[text].astype("string[pyarrow]")
    frame["components"] = frame["components"].astype("Int64")
    frame["last_refreshed"] = pd.to_datetime(frame["last_refreshed"], utc=True)
    return frame


def dashboard(
    conn: OrgApi,
    dashboard: str,
    *,
    refresh: bool = False,
    filters: Mapping[str, object] | None = None,
    running_user: str | None = None,
    refresh_timeout: float = 300.0,
    column_names: Literal["label", "api"] = "label",
    output: _output.Output | None = None,
) -> DashboardResult:
    """Read a dashboard: every component's data as report frames, with what was applied.

    Parameters
    ----------
    dashboard : str
        A dashboard Id (``01Z...``, 15 or 18 characters) or a dashboard's name.
    refresh : bool
        ``False`` (default) reads the data as of the dashboard's last refresh, as Salesforce
        shows it, and costs no refresh. ``True`` refreshes it first and waits for it: that
        **spends one of the org's 200 dashboard refreshes per hour**, shared by every user and
        integration. The result says so in ``.notes`` (with the refreshes left, when
        ``/limits`` is readable); a refresh already running is waited for instead.
    filters : dict, optional
        Dashboard filters: ``{filter name: option}``, the option given by its label (alias),
        its value or its Id, e.g. ``{"Opportunity Type": "New Business"}``. Only the
        dashboard's own filters and options exist; anything else is refused before the data
        is read, with the choices listed.
    running_user : str, optional
        A User Id to view the dashboard as, where the dashboard lets you change it.
    refresh_timeout : float
        Seconds to wait for a refresh to finish.
    column_names : {"label", "api"}
        Name columns by label (default) or API name, as in ``org.report``.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the frames. Default: the connection's ``output``.

    Returns
    -------
    DashboardResult
        ``.components``: each with ``.aggregates`` (always), ``.details`` (where the component
        shows detail rows), ``.title``, ``.type``, ``.report_id``, ``.dashboard_filters`` and
        ``.report_filters``; ``.filters``, ``.running_user``, ``.last_refreshed``, ``.notes``.

    Raises
    ------
    DashboardNotFoundError, AmbiguousDashboardError
        The name matches no listed dashboard, or several.
    DashboardFilterError
        A filter, option or running user the dashboard does not have (nothing is read).
    DashboardComponentError
        Components answered an error, or no data (all of them are named; nothing is returned).
    DashboardRefreshError
        The refresh was refused (hourly allowance used up) or did not finish in time.

    Examples
    --------
    >>> res = org.dashboard("Sales Pipeline", filters={"Opportunity Type": "New Business"})
    >>> res["Pipeline by stage"].aggregates  # doctest: +SKIP
    """
    if not isinstance(refresh, bool):
        raise InvalidArgumentError(
            f"refresh must be True or False, not {refresh!r}.", argument="refresh"
        )
    if column_names not in ("label", "api"):
        raise ValueError(f'column_names must be "label" or "api", not {column_names!r}.')
    output = _output.resolve(output, conn)
    name = check_name(dashboard)
    dashboard_id = name if is_dashboard_id(name) else _find(conn, name)
    metadata = _describe(conn, dashboard_id)
    params, applied = choose_filters(metadata, filters)
    params.update(choose_running_user(metadata, running_user))
    notes: list[str] = []
    if refresh:
        notes = refresh_and_wait(conn, dashboard_id, params, timeout=refresh_timeout)
    resp = conn.request("GET", f"analytics/dashboards/{dashboard_id}", params=params)
    body = decode_results(resp, dashboard_id)
    _check_same_dashboard(resp, body, metadata, applied)
    components = read_components(
        resp, body, applied=applied, column_names=column_names, output=output
    )
    for comp in components:
        if comp.warning:
            warnings.warn(
                f"Dashboard component {comp.title!r} answered a warning ({comp.warning}): its "
                "data may be incomplete. It is flagged as component.warning.",
                DashboardWarning,
                stacklevel=2,
            )
    return DashboardResult(
        metadata=body["dashboardMetadata"],
        components=components,
        filters=applied,
        refreshed=refresh,
        notes=notes,
    )


def _find(conn: OrgApi, name: str) -> str:
    return match_dashboard(decode_list(conn.request("GET", "analytics/dashboards")), name)


def _describe(conn: OrgApi, dashboard_id: str) -> dict[str, Any]:
    resp = conn.request("GET", f"analytics/dashboards/{dashboard_id}/describe")
    return decode_describe(resp, dashboard_id)


def _check_same_dashboard(
    resp: requests.Response,
    body: Mapping[str, Any],
    described: Mapping[str, Any],
    applied: list[dict[str, Any]],
) -> None:
    """The results are the described dashboard's: same Id, same components, filters as asked."""
    metadata = body["dashboardMetadata"]
    endpoint = f"dashboard results {described['id']}"
    problem = None
    if str(metadata["id"])[:15] != str(described["id"])[:15]:
        problem = f"the results of dashboard {metadata['id']}"
    elif [c["id"] for c in metadata["components"]] != [c["id"] for c in described["components"]]:
        problem = "components other than the describe lists"
    else:
        selected = [f.get("selectedOption") for f in metadata.get("filters") or []]
        for flt in applied:
            at = int(flt["position"])
            chosen = selected[at] if at < len(selected) else None
            options = (metadata["filters"][at].get("options") or []) if at < len(selected) else []
            if isinstance(chosen, int) and not (
                0 <= chosen < len(options) and options[chosen].get("id") == flt["option_id"]
            ):
                problem = f"filter {flt['filter']!r} set to another option than asked"
    if problem:
        raise unexpected(
            resp, endpoint, f"an answer with {problem}", "Run it again; nothing was kept."
        )
