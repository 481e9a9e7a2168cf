"""Org-level REST resources of the demo org: versions, the resource directory, limits.

Also the API usage counter behind the ``Sforce-Limit-Info`` header.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sfnotebook_demo.http import Request, Response, Router, json_response
from sfnotebook_demo.state import API_VERSIONS, OrgState

__all__ = ["ApiUsage", "limit_consumed", "register", "version_label", "versions_payload"]

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
    """The org's rolling API request counter (``api-usage=used/max``)."""

    def __init__(self, daily_max: int = 15000) -> None:
        self.daily_max = daily_max
        self.used = 0
        self._lock = threading.Lock()
        # Other limits that feature modules may consume (e.g. "DailyBulkV2QueryJobs").
        self.consumed: dict[str, int] = {}

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
            self.consumed[limit] = self.consumed.get(limit, 0) + n

    def header(self, limit_max: int | None = None) -> str:
        return f"api-usage={self.used}/{limit_max or self.daily_max}"


# Successful calls that use up another /limits entry: (method, path pattern, limit name).
_CONSUMERS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/services/data/v[\d.]+/jobs/query/?$"), "DailyBulkV2QueryJobs"),
    (
        "GET",
        re.compile(r"^/services/data/v[\d.]+/analytics/reports/\w+/?$"),
        "HourlySyncReportRuns",
    ),
    (
        "POST",
        re.compile(r"^/services/data/v[\d.]+/analytics/reports/\w+/?$"),
        "HourlySyncReportRuns",
    ),
    (
        "POST",
        re.compile(r"^/services/data/v[\d.]+/analytics/reports/\w+/instances/?$"),
        "HourlyAsyncReportRuns",
    ),
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
_LIMIT_MAX: dict[str, int] = {
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
    for name, maximum in _LIMIT_MAX.items():
        used = usage.consumed.get(name, 0)
        out[name] = {"Max": maximum, "Remaining": max(0, maximum - used)}
    return dict(sorted(out.items()))


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

    router.add("GET", r"/services/data/?", versions, auth=False)
    router.add("GET", r"/services/data/{v}/?", directory)
    router.add("GET", r"/services/data/{v}/limits/?", limits)
