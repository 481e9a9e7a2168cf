"""Refreshing a dashboard: one ``PUT``, then its status until every component is IDLE.

A dashboard shows its data as of its last refresh; ``PUT .../dashboards/{id}`` (with the same
``filterN`` and ``runningUser`` parameters, which refresh only that view) starts a refresh and
answers the status URL ("Refresh a Dashboard", analytics_api_dashboard_refresh.htm). The
status lists each component IDLE or RUNNING ("Get Dashboard Status").

Each refresh spends one of the org's dashboard refreshes: "Your org can request up to 200
dashboard refreshes per hour" (Requirements and Limitations,
sforce_analytics_rest_api_limits_limitations.htm), shared by every user and integration. So the
``PUT`` is never retried (``retry=False``), and a refresh already running is waited for rather
than started again: Salesforce answers 400 "You can't refresh this dashboard. A refresh is
already in progress." (Dashboard and Component Error Codes, analytics_api_dashboard_errors.htm).
Salesforce documents no answer for a used-up allowance; a 403 is read as that (the documented
sync report run limit answers 403), any other error is raised as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from sfnotebook._api import OrgApi
from sfnotebook.dashboards._decode import decode_refresh, decode_status
from sfnotebook.errors import DashboardRefreshError, SalesforceError, SfNotebookError

__all__ = ["HOURLY_REFRESHES", "refresh_and_wait", "wait_until_idle"]

log = logging.getLogger(__name__)

#: Salesforce's documented allowance of dashboard refreshes per org and hour.
HOURLY_REFRESHES = 200
_IN_PROGRESS = "refresh is already in progress"


def refresh_and_wait(
    conn: OrgApi,
    dashboard_id: str,
    params: Mapping[str, str],
    *,
    timeout: float,
    poll: float = 0.1,
) -> list[str]:
    """Refresh the dashboard view and wait for it; the info lines to show the analyst."""
    path = f"analytics/dashboards/{dashboard_id}"
    notes: list[str] = []
    try:
        resp = conn.request("PUT", path, params=dict(params), retry=False)
    except SalesforceError as exc:
        if exc.status == 400 and _IN_PROGRESS in str(exc.sf_message or exc).lower():
            notes.append(
                "A refresh of this dashboard was already running: it was waited for, and no "
                "refresh was spent."
            )
        elif exc.status == 403:
            raise DashboardRefreshError(
                f"Salesforce refused to refresh the dashboard ({exc.sf_message or exc}). The "
                f"org's {HOURLY_REFRESHES} dashboard refreshes per hour are probably used up: "
                "read the data as of its last refresh with refresh=False, or try again later.",
                dashboard_id=dashboard_id,
                status=exc.status,
                error_code=exc.error_code,
                url=exc.url,
            ) from exc
        else:
            raise
    else:
        decode_refresh(resp, dashboard_id)
        notes.append(_spent(conn))
    log.info("dashboard %s: %s", dashboard_id, notes[-1])
    wait_until_idle(conn, dashboard_id, params, timeout=timeout, poll=poll)
    return notes


def wait_until_idle(
    conn: OrgApi,
    dashboard_id: str,
    params: Mapping[str, str],
    *,
    timeout: float,
    poll: float = 0.1,
) -> list[dict[str, Any]]:
    """Poll the dashboard's status until no component is RUNNING; its last status."""
    deadline = time.monotonic() + timeout
    delay = poll
    path = f"analytics/dashboards/{dashboard_id}/status"
    while True:
        statuses = decode_status(conn.request("GET", path, params=dict(params)), dashboard_id)
        running = [s["componentId"] for s in statuses if s["refreshStatus"] == "RUNNING"]
        if not running:
            return statuses
        if time.monotonic() > deadline:
            raise DashboardRefreshError(
                f"The dashboard's refresh was still running after {timeout:.0f} s "
                f"({len(running)} of {len(statuses)} components). Read it later with "
                "refresh=False, or allow longer with refresh_timeout=.",
                dashboard_id=dashboard_id,
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _spent(conn: OrgApi) -> str:
    """The info line of a refresh made: it spent one of the org's hourly refreshes."""
    text = (
        f"Refreshed on request: this spent one of the org's {HOURLY_REFRESHES} dashboard "
        "refreshes per hour"
    )
    try:
        limits = conn.get_json("limits")
        entry = limits.get("HourlyDashboardRefreshes") if isinstance(limits, dict) else None
        remaining, most = entry["Remaining"], entry["Max"]  # type: ignore[index]
        text += f" ({int(remaining):,} of {int(most):,} left this hour)"
    except (SfNotebookError, KeyError, TypeError, ValueError):
        pass  # /limits needs "View Setup and Configuration": the count is a nicety
    return text + "."
