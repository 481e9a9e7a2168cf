"""Org-level REST resources of the demo org: versions, the resource directory, limits.

``/limits/recordCount`` follows REST API's "Record Count" resource (API 40.0 and later;
developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_record_count.htm):
``{"sObjects": [{"count": n, "name": "Account"}, ...]}``; ``sObjects=A,B`` narrows the list and
"if a listed object is not found in the org, it is ignored and not returned"; without it every
object is listed. Records in the recycle bin are not counted. Salesforce's figure is a cached
snapshot; the demo's is always current (a client must not rely on either).

Also the API usage counter behind the ``Sforce-Limit-Info`` header, and the other ``/limits``
entries features use up. ``Hourly*`` limits count over a rolling hour (the runs of the last
3,600 seconds), others since the org started. Report runs are taken by the reports feature
itself, atomically, before a run (:meth:`ApiUsage.take`): ``HourlySyncReportRuns`` (500 an
hour per org) and ``HourlyAsyncReportRuns`` (1,200 an hour), both from the Reports and
Dashboards REST API's "Requirements and Limitations" page
(developer.salesforce.com/docs/atlas.en-us.api_analytics.meta/api_analytics/
sforce_analytics_rest_api_limits_limitations.htm); tests set what remains with
:meth:`ApiUsage.set_remaining` (``DemoOrg.set_limits``).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.state import API_VERSIONS, OrgState

__all__ = [
    "HOUR",
    "LIMIT_MAX",
    "ApiUsage",
    "limit_consumed",
    "record_counts",
    "register",
    "version_label",
    "versions_payload",
]

HOUR = 3600.0

_SEASONS = ("Winter", "Spring", "Summer")


def version_label(version: str) -> str:
    """The release name of an API version: ``"68.0"`` -> ``"Winter '27"``.

    Three releases a year, each one version up; 68.0 is Winter '27 (the reference, §0.1).
    """
    k = int(float(version)) - 68
    season = _SEASONS[k % 3]
    year = 27 + k // 3
    return f"{season} '{year:02d}"


def versions_payload() -> list[dict[str, str]]:
    """What ``GET /services/data/`` returns, oldest first."""
    return [
        {"label": version_label(v), "url": f"/services/data/v{v}", "version": v}
        for v in API_VERSIONS
    ]


class ApiUsage:
    """The org's rolling API request counter (``api-usage=used/max``) and other limits."""

    def __init__(self, daily_max: int = 15000, clock: Callable[[], float] = time.monotonic) -> None:
        self.daily_max = daily_max
        self.used = 0
        self._lock = threading.Lock()
        self._clock = clock
        # Other limits that feature modules may consume (e.g. "DailyBulkV2QueryJobs").
        self.consumed: dict[str, int] = {}
        # Hourly limits: when each use happened (pruned to the last hour when read).
        self._hourly: dict[str, deque[float]] = {}

    def count(self, limit: int | None = None) -> int | None:
        """Count one API request: the new total, or None when refused.

        With ``limit``, a call is refused (and not counted) once ``limit`` calls were made;
        check and count are one atomic step, so concurrent callers never overshoot.
        """
        with self._lock:
            if limit is not None and self.used >= limit:
                return None
            self.used += 1
            return self.used

    def consume(self, limit: str, n: int = 1) -> None:
        """Record use of another ``/limits`` entry (feature modules call this)."""
        with self._lock:
            self._add(limit, n)

    def take(self, limit: str) -> bool:
        """Use one of ``limit`` if any remains (check and use are one step); False if spent."""
        with self._lock:
            if self._used(limit) >= LIMIT_MAX[limit]:
                return False
            self._add(limit, 1)
            return True

    def remaining(self, limit: str) -> int:
        with self._lock:
            return max(0, LIMIT_MAX[limit] - self._used(limit))

    def set_remaining(self, limit: str, remaining: int) -> None:
        """Make ``/limits`` say ``remaining`` of ``limit`` are left, as if the rest were used now."""
        if limit not in LIMIT_MAX:
            raise KeyError(f"unknown limit {limit!r}; known: {', '.join(sorted(LIMIT_MAX))}")
        if not isinstance(remaining, int) or not 0 <= remaining <= LIMIT_MAX[limit]:
            raise ValueError(f"{limit} remaining must be 0..{LIMIT_MAX[limit]}, not {remaining!r}")
        with self._lock:
            used = LIMIT_MAX[limit] - remaining
            if limit.startswith("Hourly"):
                self._hourly[limit] = deque([self._clock()] * used)
            else:
                self.consumed[limit] = used

    def _add(self, limit: str, n: int) -> None:
        if limit.startswith("Hourly"):
            self._hourly.setdefault(limit, deque()).extend([self._clock()] * n)
        else:
            self.consumed[limit] = self.consumed.get(limit, 0) + n

    def _used(self, limit: str) -> int:
        if not limit.startswith("Hourly"):
            return self.consumed.get(limit, 0)
        uses = self._hourly.get(limit)
        if not uses:
            return 0
        since = self._clock() - HOUR
        while uses and uses[0] <= since:
            uses.popleft()
        return len(uses)

    def used_of(self, limit: str) -> int:
        with self._lock:
            return self._used(limit)

    def header(self, limit_max: int | None = None) -> str:
        return f"api-usage={self.used}/{limit_max or self.daily_max}"


# Successful calls that use up another /limits entry: (method, path pattern, limit name).
# (Report runs are taken by the reports feature before they run: ApiUsage.take.)
_CONSUMERS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/services/data/v[\d.]+/jobs/query/?$"), "DailyBulkV2QueryJobs"),
    (
        "PUT",
        re.compile(r"^/services/data/v[\d.]+/analytics/dashboards/\w+/?$"),
        "HourlyDashboardRefreshes",
    ),
    (
        "GET",
        re.compile(r"^/services/data/v[\d.]+/analytics/dashboards/\w+/?$"),
        "HourlyDashboardResults",
    ),
    (
        "GET",
        re.compile(r"^/services/data/v[\d.]+/analytics/dashboards/\w+/status/?$"),
        "HourlyDashboardStatuses",
    ),
)


def limit_consumed(method: str, path: str) -> str | None:
    """The ``/limits`` entry a successful ``method path`` call uses up, if any."""
    for want, pattern, name in _CONSUMERS:
        if method == want and pattern.match(path):
            return name
    return None


# Static maxima of the other limits, shaped like a Developer/Enterprise org.
LIMIT_MAX: dict[str, int] = {
    "ActiveScratchOrgs": 3,
    "AnalyticsExternalDataSizeMB": 40960,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyStreamingApiEvents": 10000,
    "DataStorageMB": 5,
    "FileStorageMB": 20,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlySyncReportRuns": 500,
    "MassEmail": 10,
    "SingleEmail": 15,
}


def limits_payload(usage: ApiUsage, limit_max: int | None = None) -> dict[str, Any]:
    """The ``/limits`` body: ``{"Name": {"Max": n, "Remaining": m}}``, sorted by name."""
    api_max = limit_max or usage.daily_max
    out: dict[str, Any] = {
        "DailyApiRequests": {"Max": api_max, "Remaining": max(0, api_max - usage.used)}
    }
    for name, maximum in LIMIT_MAX.items():
        out[name] = {"Max": maximum, "Remaining": max(0, maximum - usage.used_of(name))}
    return dict(sorted(out.items()))


# The first API version with the Record Count resource (its documentation page).
RECORD_COUNT_SINCE = 40.0


def record_counts(database: Any, names: str | None) -> dict[str, Any]:
    """The ``/limits/recordCount`` body for ``sObjects=names`` (None: every object)."""
    from sfnotebook_demo.data.schema import SCHEMA

    by_lower = {name.lower(): name for name in SCHEMA}
    if names is None:
        wanted = sorted(SCHEMA)
    else:  # unknown names are ignored, as documented; each object once, in the asked order
        asked = (by_lower.get(n.strip().lower()) for n in names.split(","))
        wanted = list(dict.fromkeys(n for n in asked if n))
    conn = database.connect()
    out = []
    for name in wanted:
        sql = f'SELECT COUNT(*) FROM "{name}" WHERE NOT "IsDeleted"'  # noqa: S608 - a schema name
        (count,) = conn.execute(sql).fetchone()
        out.append({"count": int(count), "name": name})
    return {"sObjects": out}


def register(router: Router, org: OrgState) -> None:
    """Add ``GET /services/data/``, the version's resource directory and ``/limits``."""
    usage: ApiUsage = org.feature("api_usage", ApiUsage)

    def versions(request: Request) -> Response:
        return json_response(versions_payload())

    def directory(request: Request) -> Response:
        base = f"/services/data/v{request.api_version}"
        names = [
            "analytics",
            "jobs",
            "limits",
            "query",
            "queryAll",
            "sobjects",
        ]
        return json_response({name: f"{base}/{name}" for name in names})

    def limits(request: Request) -> Response:
        faults = org.features.get("faults")
        limit_max = getattr(faults, "request_limit", None)
        return json_response(limits_payload(usage, limit_max))

    def record_count(request: Request) -> Response:
        if float(request.api_version or 0) < RECORD_COUNT_SINCE:
            return error_response(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response(record_counts(org.database, request.query.get("sObjects")))

    router.add("GET", r"/services/data/?", versions, auth=False)
    router.add("GET", r"/services/data/{v}/?", directory)
    router.add("GET", r"/services/data/{v}/limits/?", limits)
    router.add("GET", r"/services/data/{v}/limits/recordCount/?", record_count)
