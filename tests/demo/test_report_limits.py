"""The demo org's hourly report-run limits: counted, shown in /limits, refused when spent.

Salesforce: 500 sync report runs and 1,200 async report runs an hour per org (Reports and
Dashboards REST API, "Requirements and Limitations"); a sync run past the limit gets 403 "You
can't run more than <n> reports synchronously every 60 minutes. Try again later." (Report
Error Codes page).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.reports.defs import REPORTS
from sfnotebook_demo.rest.platform import HOUR, ApiUsage
from tests.demo.test_live_reports import BASE, Api, V

REPORT = next(r.id for r in REPORTS.values() if r.name == "Pipeline by Stage")


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoOrg]:
    with DemoOrg(opportunities=2_000) as org:
        yield org


@pytest.fixture
def api(demo: DemoOrg) -> Iterator[Api]:
    yield Api(demo)
    demo.set_limits(HourlySyncReportRuns=500, HourlyAsyncReportRuns=1200)


def _remaining(api: Api, name: str) -> int:
    return int(api.call("GET", f"{V}/limits").json()[name]["Remaining"])


def _sync(api: Api) -> requests.Response:
    return api.call("GET", f"{BASE}/{REPORT}", params={"includeDetails": "false"})


def _async(api: Api) -> requests.Response:
    return api.call("POST", f"{BASE}/{REPORT}/instances", json={})


def test_the_documented_maxima(api: Api) -> None:
    limits = api.call("GET", f"{V}/limits").json()
    assert limits["HourlySyncReportRuns"] == {"Max": 500, "Remaining": 500}
    assert limits["HourlyAsyncReportRuns"] == {"Max": 1200, "Remaining": 1200}


def test_each_run_is_counted_and_the_spent_limit_is_refused(api: Api, demo: DemoOrg) -> None:
    demo.set_limits(HourlySyncReportRuns=2)
    assert _remaining(api, "HourlySyncReportRuns") == 2
    assert _sync(api).status_code == 200
    body = {"reportMetadata": {"reportFilters": []}}
    posted = api.call("POST", f"{BASE}/{REPORT}", params={"includeDetails": "true"}, json=body)
    assert posted.status_code == 200
    assert _remaining(api, "HourlySyncReportRuns") == 0
    refused = _sync(api)
    assert refused.status_code == 403
    assert refused.json() == [
        {
            "message": "You can't run more than 500 reports synchronously every 60 minutes. "
            "Try again later.",
            "errorCode": "FORBIDDEN",
        }
    ]
    assert _remaining(api, "HourlyAsyncReportRuns") == 1200
    assert _async(api).status_code == 200  # the async budget is another one
    assert _remaining(api, "HourlyAsyncReportRuns") == 1199


def test_a_refused_request_spends_nothing(api: Api, demo: DemoOrg) -> None:
    demo.set_limits(HourlySyncReportRuns=1)
    flt = {"column": "NOPE", "operator": "equals", "value": "x"}
    bad = api.call("POST", f"{BASE}/{REPORT}", json={"reportMetadata": {"reportFilters": [flt]}})
    assert bad.status_code == 400
    assert _remaining(api, "HourlySyncReportRuns") == 1


def test_async_runs_are_refused_when_spent(api: Api, demo: DemoOrg) -> None:
    demo.set_limits(HourlyAsyncReportRuns=0)
    refused = _async(api)
    assert refused.status_code == 403
    assert "asynchronously every 60 minutes" in refused.json()[0]["message"]
    assert _sync(api).status_code == 200


def test_set_limits_refuses_nonsense(demo: DemoOrg) -> None:
    from sfnotebook_demo.org import DemoOrgError

    with pytest.raises((KeyError, DemoOrgError)):
        demo.set_limits(HourlyNope=1)
    with pytest.raises((ValueError, DemoOrgError)):
        demo.set_limits(HourlySyncReportRuns=501)


def test_hourly_uses_age_out_after_an_hour() -> None:
    now = [1000.0]
    usage = ApiUsage(clock=lambda: now[0])
    usage.set_remaining("HourlySyncReportRuns", 1)
    assert usage.take("HourlySyncReportRuns") is True
    assert usage.take("HourlySyncReportRuns") is False
    now[0] += HOUR - 1
    assert usage.remaining("HourlySyncReportRuns") == 0
    now[0] += 1
    assert usage.remaining("HourlySyncReportRuns") == 500


def test_set_limits_reaches_a_subprocess_org() -> None:
    from sfnotebook_demo.org import DemoOrgError

    with DemoOrg(opportunities=2_000, subprocess=True, features=("reports",)) as org:
        body = org.set_limits(HourlySyncReportRuns=7)
        assert body["HourlySyncReportRuns"] == {"Max": 500, "Remaining": 7}
        with pytest.raises(DemoOrgError, match="400"):
            org.set_limits(HourlySyncReportRuns=-1)
