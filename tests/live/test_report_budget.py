"""The org's hourly report runs, planned before paging (fidelity-audit D3), on the demo org.

The demo org enforces Salesforce's 500 sync / 1,200 async report runs an hour and answers the
documented 403 when they are spent; ``demo.set_limits`` sets what is left. The number of rows
is known only from a run (a run without details is a run too), so the first run is always
made; the plan then decides before any other.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from sfnotebook.errors import ReportRunLimitError
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to

NAME = "Opportunities Closing in 2025"


@pytest.fixture(params=Dialect.choices()["id_filter_operators"])
def conn(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[sfnotebook.Connection]:
    demo_org.set_dialect(id_filter_operators=request.param)
    yield connect_to(demo_org)  # a new connection: nothing cached of the budget
    demo_org.set_dialect(id_filter_operators="documented")


def _runs_left(conn: sfnotebook.Connection) -> tuple[int, int]:
    limits = conn.limits(as_dict=True)
    return limits["HourlySyncReportRuns"]["Remaining"], limits["HourlyAsyncReportRuns"]["Remaining"]


def _report_id(conn: sfnotebook.Connection) -> str:
    catalog = conn.reports()
    return str(catalog[catalog["name"] == NAME]["id"].iloc[0])


def _planned(conn: sfnotebook.Connection, rows: int) -> int:
    """The runs planned after the first: one per 2,000 rows and one to spare, and the closing
    check's run when the report pages on a column edits can change (no record Id filter in
    the documented operator map: it pages on Close Date)."""
    changeable = conn.report(_report_id(conn), progress=False).paged_on != "OPPORTUNITY_ID"
    return math.ceil(rows / 2000) + 1 + changeable


def test_a_report_the_budget_cannot_finish_raises_after_its_first_run(
    conn: sfnotebook.Connection, demo_org: Any
) -> None:
    report_id = _report_id(conn)
    soql = (
        "SELECT COUNT() FROM Opportunity WHERE CloseDate >= 2025-01-01 AND CloseDate <= 2025-12-31"
    )
    n = int(conn.get_json("query", params={"q": soql})["totalSize"])
    planned = _planned(conn, n)
    demo_org.set_limits(HourlySyncReportRuns=4, HourlyAsyncReportRuns=3)
    conn = connect_to(demo_org)  # the first one holds the budget it read, for a minute
    with pytest.raises(ReportRunLimitError) as info:
        conn.report(report_id, progress=False)
    assert _runs_left(conn) == (3, 3), "the first run and no other"
    error = info.value
    assert n > 2000 and f"{n:,} rows" in str(error)
    assert (error.runs_needed, error.sync_remaining, error.async_remaining) == (planned, 3, 3)
    print(f"\n{NAME}: {n:,} rows -> {error}")


def test_too_few_sync_runs_fetch_it_asynchronously(
    conn: sfnotebook.Connection, demo_org: Any
) -> None:
    report_id = _report_id(conn)
    whole = conn.report(report_id, progress=False)
    needed = _planned(conn, len(whole))
    demo_org.set_limits(HourlySyncReportRuns=needed, HourlyAsyncReportRuns=needed)
    conn = connect_to(demo_org)  # the first one holds the budget it read, for a minute
    res = conn.report(report_id, progress=False)
    assert len(res) == len(whole) and res.details["Opportunity ID"].is_unique
    sync_left, async_left = _runs_left(conn)
    assert sync_left == needed - 1  # the first run only
    assert needed - async_left == res.runs - 1  # every other run went async


def test_enough_sync_runs_stay_synchronous(conn: sfnotebook.Connection, demo_org: Any) -> None:
    report_id = _report_id(conn)
    res = conn.report(report_id, progress=False)
    assert res.runs > 1
    sync_left, async_left = _runs_left(conn)
    assert (500 - sync_left, 1200 - async_left) == (res.runs, 0)


def test_a_spent_sync_hour_moves_the_first_run_async(
    conn: sfnotebook.Connection, demo_org: Any
) -> None:
    report_id = _report_id(conn)
    demo_org.set_limits(HourlySyncReportRuns=0)
    res = conn.report(report_id, progress=False)
    assert len(res) > 2000
    assert _runs_left(conn) == (0, 1200 - res.runs)
