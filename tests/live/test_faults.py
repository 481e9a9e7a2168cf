"""Behaviour under the demo org's injected faults: nothing lost, nothing retried into a hole.

Each test uses a fault-free reference from the shared demo org and a second demo org of its
own whose faults it switches on; the frames must be identical.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook import errors
from sfnotebook_demo.faults import FaultConfig
from tests.conftest import connect_to

SOQL = (
    "SELECT Id, Name, Amount, CloseDate, StageName, Account.Name, Account.Owner.Name "
    "FROM Opportunity WHERE CloseDate >= 2024-01-01 ORDER BY Id LIMIT 3000"
)
PAGED_REPORT = "Opportunities Closing in 2025"
# A report run that times out: tests/live/test_reports.py::test_sync_timeout_falls_back_to_an_async_run


@pytest.fixture(scope="module")
def faulty() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as demo:
        yield demo


@pytest.fixture
def conn(faulty: Any) -> Iterator[sfnotebook.Connection]:
    faulty.set_faults(**_CLEAR)
    yield connect_to(faulty, retries=5)
    faulty.set_faults(**_CLEAR)


_CLEAR: dict[str, Any] = FaultConfig.defaults()


@pytest.fixture(scope="module")
def reference(org: sfnotebook.Connection) -> pd.DataFrame:
    return org.query(SOQL, batch_size=500, progress=False)


def _faults(demo: Any) -> dict[str, int]:
    return dict(demo.stats()["faults"])


def test_reads_survive_503s_and_dropped_connections(
    faulty: Any, conn: sfnotebook.Connection, reference: pd.DataFrame
) -> None:
    faulty.set_faults(error_rate=0.15, drop_rate=0.05, seed=7)
    df = conn.query(SOQL, batch_size=500, progress=False)
    pd.testing.assert_frame_equal(df, reference)
    injected = _faults(faulty)
    assert injected.get("server_unavailable", 0) + injected.get("dropped_connection", 0) > 0
    assert conn.stats["retries"] >= 1


def test_retries_are_bounded(faulty: Any, conn: sfnotebook.Connection) -> None:
    faulty.set_faults(error_rate=1.0)
    before = faulty.stats()["requests_by_kind"].get("data", 0)
    with pytest.raises(errors.ServerUnavailableError, match="SERVER_UNAVAILABLE"):
        conn.request("GET", "limits")
    assert faulty.stats()["requests_by_kind"]["data"] - before == 1 + conn.session.policy.retries


def test_a_write_is_never_retried(faulty: Any, conn: sfnotebook.Connection) -> None:
    faulty.set_faults(error_next=1)
    before = faulty.stats()["requests_by_kind"].get("data", 0)
    body = {"operation": "query", "query": "SELECT Id FROM Account"}
    with pytest.raises(errors.ServerUnavailableError):
        conn.request("POST", "jobs/query", json=body)
    assert faulty.stats()["requests_by_kind"]["data"] - before == 1


def test_session_expired_before_the_first_call(
    faulty: Any, conn: sfnotebook.Connection, reference: pd.DataFrame
) -> None:
    faulty.expire_sessions()
    pd.testing.assert_frame_equal(conn.query(SOQL, batch_size=500, progress=False), reference)
    assert conn.stats["reexchanges"] >= 1


def test_session_expiry_mid_pagination(
    faulty: Any, conn: sfnotebook.Connection, reference: pd.DataFrame
) -> None:
    faulty.set_faults(expire_after_requests=3)
    pd.testing.assert_frame_equal(conn.query(SOQL, batch_size=500, progress=False), reference)
    assert conn.stats["reexchanges"] >= 1
    assert _faults(faulty).get("session_expired", 0) >= 1


def test_session_expiry_mid_report_paging(
    faulty: Any, conn: sfnotebook.Connection, org: sfnotebook.Connection
) -> None:
    expected = org.report(PAGED_REPORT, progress=False)
    faulty.set_faults(expire_after_requests=2)
    got = conn.report(PAGED_REPORT, progress=False)
    assert expected.runs > 1  # the report really is past 2,000 rows
    pd.testing.assert_frame_equal(got.details, expected.details)
    assert conn.stats["reexchanges"] >= 1


def test_session_expiry_mid_bulk_download(
    faulty: Any, conn: sfnotebook.Connection, reference: pd.DataFrame
) -> None:
    soql = SOQL.replace(" ORDER BY Id LIMIT 3000", "")
    expected = conn.extract(soql, max_records=1000, progress=False)
    faulty.set_faults(expire_after_requests=2)
    got = conn.extract(soql, max_records=1000, progress=False)
    pd.testing.assert_frame_equal(
        got.sort_values("Id", ignore_index=True), expected.sort_values("Id", ignore_index=True)
    )
    assert conn.stats["reexchanges"] >= 1


def test_request_limit_stops_at_once_with_the_usage(
    faulty: Any, conn: sfnotebook.Connection
) -> None:
    used = faulty.stats()["api_usage"]
    faulty.set_faults(request_limit=used + 2)
    with pytest.raises(errors.RequestLimitExceededError) as info:
        conn.query(SOQL, batch_size=200, progress=False)
    assert "REQUEST_LIMIT_EXCEEDED" in str(info.value)
    assert "API usage" in str(info.value)
    # Not retried into a deeper hole: at most one refusal per stream that was in flight (the
    # page fetchers, 4 at once, and the describe loaders: Account and User together), and
    # nothing is sent after the error.
    refused = _faults(faulty)["request_limit_exceeded"]
    assert 1 <= refused <= 4 + 2
    sent = faulty.stats()["requests"]
    time.sleep(0.3)
    assert faulty.stats()["requests"] == sent


def test_expired_locator_says_how_far_it_got(faulty: Any, conn: sfnotebook.Connection) -> None:
    faulty.set_faults(expire_locators=True)
    with pytest.raises(errors.QueryLocatorExpiredError) as info:
        conn.query(SOQL, batch_size=500, progress=False)
    message = str(info.value)
    assert "500" in message and "3,000" in message.replace("3000", "3,000")
    assert "rerun" in message.lower()


def test_failed_bulk_job_raises_with_salesforce_message(
    faulty: Any, conn: sfnotebook.Connection, tmp_path: Path
) -> None:
    faulty.set_faults(fail_bulk_jobs=True)
    with pytest.raises(errors.BulkJobError):
        conn.extract("SELECT Id FROM Account", progress=False)
    with pytest.raises(errors.BulkJobError):
        conn.extract("SELECT Id FROM Account", to=tmp_path / "out", progress=False)
    assert not list(tmp_path.rglob("*.parquet"))  # no partial folder left looking whole
