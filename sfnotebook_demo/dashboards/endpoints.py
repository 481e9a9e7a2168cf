"""Demo org: the Dashboards REST API over the seeded dashboards (:mod:`.defs`) and reports.

Served under ``/services/data/vXX.X/analytics`` (Reports and Dashboards REST API Developer
Guide, "Dashboards API Resource Reference"; bodies in :mod:`.bodies`):

=============================================  ==================================================
``GET /dashboards``                            Dashboard List: ``[{id, name, statusUrl, url}]``,
                                               most recently refreshed first (as documented)
``GET /dashboards/{id}/describe``              Dashboard Describe (components, filters, layout,
                                               running user)
``GET /dashboards/{id}[?filter1..3&runningUser]``  Dashboard Results: ``componentData`` +
                                               ``dashboardMetadata``
``PUT /dashboards/{id}[?filter1..3&runningUser]``  refresh: ``{"statusUrl": ...}``; components are
                                               RUNNING for :data:`REFRESH_SECONDS`, then IDLE
``GET /dashboards/{id}/status[?...]``          Dashboard Status: ``{"componentStatus": [...]}``
=============================================  ==================================================

Results are a snapshot, as on Salesforce: a dashboard shows its data as of its last refresh.
Each view (dashboard, selected filter options, running user) keeps its own snapshot; the first
request of a view computes it (GUESS: Salesforce's answer for a view never refreshed is not
documented) and a refresh recomputes it when it completes. So a record written after the last
refresh shows in a report run at once but in the dashboard only after ``PUT``.

Limits (Requirements and Limitations: "Your org can request up to 200 dashboard refreshes per
hour", "results for up to 5,000 dashboards per hour"): each refresh uses one
``HourlyDashboardRefreshes``, each results GET one ``HourlyDashboardResults`` (see
:mod:`sfnotebook_demo.rest.platform`). Once the refreshes are used up, a refresh answers 403
(GUESS: the code and message are undocumented; modelled on the documented sync report run
limit, "You can't run more than 500 reports synchronously every 60 minutes"). The demo's hour
never rolls over; ``State.refresh_max`` sets the allowance (tests lower it).

Errors, as ``[{"errorCode", "message"}]`` (messages from "Dashboard and Component Error Codes",
analytics_api_dashboard_errors.htm, all 400; the ``errorCode`` ``BAD_REQUEST`` is a GUESS, the
page gives only the status and message): an unknown filter option, or a ``filterN`` beyond the
dashboard's filters -> "The selected filter item isn't valid."; ``runningUser`` on a dashboard
whose running user cannot be changed, or naming no active user -> "You don't have permission to
view data as this user."; a refresh while one runs -> "You can't refresh this dashboard. A
refresh is already in progress."; an unknown dashboard -> 404 ``NOT_FOUND`` (as reports).
A component whose report was marked unavailable (``State.broken``, tests) answers
``dataStatus: ERROR`` with error 202 in its status and no ``reportResult``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.dashboards import bodies
from sfnotebook_demo.dashboards.defs import DASHBOARDS, DashboardDef, FilterOption, dashboard_by_id
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.rest.platform import ApiUsage
from sfnotebook_demo.state import OrgState

__all__ = ["REFRESH_SECONDS", "State", "register"]

#: How long a refresh keeps a dashboard's components RUNNING.
REFRESH_SECONDS = 0.3

_BASE = "/services/data/{v}/analytics/dashboards"
_ID = r"(?P<dashboard_id>[^/]+)"
_NOT_FOUND = "The requested resource does not exist"
_BAD_FILTER = "The selected filter item isn't valid."
_NO_RUNNING_USER = "You don't have permission to view data as this user."
_IN_PROGRESS = "You can't refresh this dashboard. A refresh is already in progress."

View = tuple[str, tuple[int | None, ...], str]  # dashboard, selected options, running user


@dataclass
class _Snapshot:
    refreshed: float | None = None
    results: list[dict[str, Any] | None] = field(default_factory=list)
    running_until: float = 0.0


@dataclass
class State:
    """What the dashboards feature keeps: snapshots per view, limits, broken components."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    snapshots: dict[View, _Snapshot] = field(default_factory=dict)
    refresh_max: int = 200
    broken: set[str] = field(default_factory=set)  # component Ids whose report is unavailable
    viewed: dict[str, float] = field(default_factory=dict)  # dashboard Id -> last refresh


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error_response(status, code, message)


def _bad(message: str) -> _Refused:
    return _Refused(400, "BAD_REQUEST", message)


def _users(org: OrgState) -> list[tuple[str, str]]:
    """Active users (Id, Name) by Id: the running users a dashboard may have."""
    rows = (
        org.database.connect()
        .execute('SELECT "Id", "Name" FROM "User" WHERE "IsActive" = 1 ORDER BY "Id"')
        .fetchall()
    )
    return [(str(i), str(n)) for i, n in rows]


def register(router: Router, org: OrgState) -> None:
    """Add the dashboard routes to ``router``."""
    state: State = org.feature("dashboards", State)
    usage: ApiUsage = org.feature("api_usage", ApiUsage)

    def find(dashboard_id: str) -> DashboardDef:
        dashboard = dashboard_by_id(dashboard_id)
        if dashboard is None:
            raise _Refused(404, "NOT_FOUND", _NOT_FOUND)
        return dashboard

    def running_user(request: Request, dashboard: DashboardDef) -> tuple[str, str]:
        users = _users(org)
        asked = request.query.get("runningUser")
        if asked is not None:
            by_id = {u[0]: u for u in users} | {u[0][:15]: u for u in users}
            if not dashboard.can_change_running_user or asked not in by_id:
                raise _bad(_NO_RUNNING_USER)
            return by_id[asked]
        if dashboard.dashboard_type == "LoggedInUser":
            mine = [u for u in users if u[0] == request.user_id]
            return mine[0] if mine else (str(request.user_id), "Integration User")
        return users[min(dashboard.running_user_rank, len(users) - 1)]

    def selection(request: Request, dashboard: DashboardDef) -> tuple[int | None, ...]:
        for key in request.query:
            if key.startswith("filter") and key[6:] not in ("1", "2", "3"):
                raise _bad(_BAD_FILTER)
        chosen: list[int | None] = []
        for n in (1, 2, 3):
            asked = request.query.get(f"filter{n}")
            if asked is None:
                chosen.append(None)
                continue
            if n > len(dashboard.filters):
                raise _bad(_BAD_FILTER)
            ids = [o.id for o in dashboard.filters[n - 1].options]
            matches = [i for i, oid in enumerate(ids) if asked in (oid, oid[:15])]
            if not matches:
                raise _bad(_BAD_FILTER)
            chosen.append(matches[0])
        return tuple(chosen[: len(dashboard.filters)])

    def view_of(request: Request, dashboard_id: str) -> tuple[DashboardDef, View, tuple[str, str]]:
        dashboard = find(dashboard_id)
        user = running_user(request, dashboard)
        return dashboard, (dashboard.id, selection(request, dashboard), user[0]), user

    def compute(dashboard: DashboardDef, view: View) -> list[dict[str, Any] | None]:
        options: list[tuple[str, FilterOption]] = [
            (f.column, f.options[pick])
            for f, pick in zip(dashboard.filters, view[1], strict=True)
            if pick is not None
        ]
        conn = org.database.connect()
        return [
            None if comp.id in state.broken else bodies.component_result(conn, comp, options)
            for comp in dashboard.components
        ]

    def snapshot(dashboard: DashboardDef, view: View) -> tuple[_Snapshot, bool]:
        """The view's snapshot (computed when new or when its refresh has completed)."""
        now = time.time()
        with state.lock:
            snap = state.snapshots.setdefault(view, _Snapshot())
            running = now < snap.running_until
            if not running and (snap.refreshed is None or snap.running_until > snap.refreshed):
                snap.results = compute(dashboard, view)
                snap.refreshed = snap.running_until or now
                state.viewed[dashboard.id] = snap.refreshed
            return snap, running

    def list_dashboards(request: Request) -> Response:
        version = request.api_version or "68.0"
        with state.lock:
            order = sorted(DASHBOARDS.values(), key=lambda d: -state.viewed.get(d.id, 0.0))
        return json_response([bodies.list_item(version, d) for d in order])

    def describe(request: Request, dashboard_id: str) -> Response:
        try:
            dashboard = find(dashboard_id)
            user = running_user(request, dashboard)
        except _Refused as exc:
            return exc.response
        version = request.api_version or "68.0"
        return json_response(bodies.dashboard_metadata(version, dashboard, running_user=user))

    def results(request: Request, dashboard_id: str) -> Response:
        try:
            dashboard, view, user = view_of(request, dashboard_id)
        except _Refused as exc:
            return exc.response
        snap, running = snapshot(dashboard, view)
        data = []
        for i, comp in enumerate(dashboard.components):
            # No results yet: the view's first refresh is still running (NODATA).
            result = snap.results[i] if snap.results else None
            error = bodies.REPORT_UNAVAILABLE if snap.results and result is None else None
            data.append(
                {
                    "componentId": comp.id,
                    "reportResult": result,
                    "status": bodies.status_object(snap.refreshed, running, error),
                }
            )
        metadata = bodies.dashboard_metadata(
            request.api_version or "68.0", dashboard, running_user=user, selected=view[1]
        )
        return json_response({"componentData": data, "dashboardMetadata": metadata})

    def refresh(request: Request, dashboard_id: str) -> Response:
        try:
            dashboard, view, _user = view_of(request, dashboard_id)
            with state.lock:
                snap = state.snapshots.setdefault(view, _Snapshot())
                if time.time() < snap.running_until:
                    raise _bad(_IN_PROGRESS)
                if usage.used_of("HourlyDashboardRefreshes") >= state.refresh_max:
                    raise _Refused(
                        403,
                        "FORBIDDEN",
                        f"You can't refresh more than {state.refresh_max} dashboards every "
                        "60 minutes. Try again later.",
                    )
                snap.running_until = time.time() + REFRESH_SECONDS
        except _Refused as exc:
            return exc.response
        status_url = f"/services/data/v{request.api_version or '68.0'}/analytics/dashboards/"
        return json_response({"statusUrl": f"{status_url}{dashboard.id}/status"})

    def status(request: Request, dashboard_id: str) -> Response:
        try:
            dashboard, view, _user = view_of(request, dashboard_id)
        except _Refused as exc:
            return exc.response
        snap, running = snapshot(dashboard, view)
        stamp = bodies.refresh_stamp(snap.refreshed) if snap.refreshed is not None else None
        return json_response(
            {
                "componentStatus": [
                    {
                        "componentId": comp.id,
                        "refreshDate": stamp,
                        "refreshStatus": "RUNNING" if running else "IDLE",
                    }
                    for comp in dashboard.components
                ]
            }
        )

    router.add("GET", f"{_BASE}/?", list_dashboards)
    router.add("GET", f"{_BASE}/{_ID}/describe", describe)
    router.add("GET", f"{_BASE}/{_ID}/status", status)
    router.add("GET", f"{_BASE}/{_ID}", results)
    router.add("PUT", f"{_BASE}/{_ID}", refresh)
