"""Reports paged in parallel windows (:mod:`sfnotebook.reports._windows`), on the demo org.

The windowed frame must be the sequential one, row for row and in the same order, under
every value of the ``id_filter_operators`` dialect (on ``"comparisons"`` the record Id is the
cursor and the report pages sequentially); the runs are counted on the demo's ``/limits``; and
windows that do not add up fall back to sequential paging with the same frame. No timings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook.errors import ReportRunLimitError
from sfnotebook.reports import _windows
from sfnotebook.reports._runner import Runner
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to

NAME = "All Opportunities"


@pytest.fixture(params=Dialect.choices()["id_filter_operators"])
def dialect(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[str]:
    demo_org.set_dialect(id_filter_operators=request.param)
    yield str(request.param)
    demo_org.set_dialect(id_filter_operators="documented")


@pytest.fixture
def conn(demo_org: Any) -> sfnotebook.Connection:
    return connect_to(demo_org)  # a new connection: nothing cached of the budget


def _report_id(conn: sfnotebook.Connection) -> str:
    catalog = conn.reports()
    return str(catalog[catalog["name"] == NAME]["id"].iloc[0])


def _runs_left(conn: sfnotebook.Connection) -> tuple[int, int]:
    limits = conn.limits(as_dict=True)
    return limits["HourlySyncReportRuns"]["Remaining"], limits["HourlyAsyncReportRuns"]["Remaining"]


def _sequential(monkeypatch: pytest.MonkeyPatch, conn: sfnotebook.Connection, rid: str) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(_windows, "usable", lambda *args: False)
        return conn.report(rid, progress=False)


def test_windows_give_the_sequential_frame(
    conn: sfnotebook.Connection, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _report_id(conn)
    windowed = conn.report(rid, progress=False)
    sync_left, async_left = _runs_left(conn)
    sequential = _sequential(monkeypatch, conn, rid)
    pd.testing.assert_frame_equal(windowed.details, sequential.details)
    pd.testing.assert_frame_equal(windowed.aggregates, sequential.aggregates)
    n = len(windowed)
    assert n == windowed.aggregates["Record Count"].iloc[-1] and n > _windows.MIN_PAGES * 2000
    if dialect == "comparisons":  # the Id cursor: one sync chain, as before
        assert windowed.paged_on == "OPPORTUNITY_ID"
        assert (500 - sync_left, 1200 - async_left) == (windowed.runs, 0)
    else:  # the first run sync, the rest async instances, within the planned bound
        assert windowed.paged_on == "CREATED_DATE"
        assert (500 - sync_left, 1200 - async_left) == (1, windowed.runs - 1)
        assert windowed.runs <= 1 + _windows.runs_bound(n)
        # The month-count probe spreads the windows as the rows are (the demo's grow 30% a
        # year): within a run or two of the fewest runs the rows take.
        assert windowed.runs <= math.ceil(n / 2000) + 4


def test_month_groups_refused_split_on_the_highest_rows(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An org that refuses the month-count probe (a 400, as for a grouping it does not take):
    the windows split on the highest rows instead, with the same frame."""
    rid = _report_id(conn)
    expected = _sequential(monkeypatch, conn, rid)
    original = Runner.run_async
    refused: list[int] = []

    def no_groups(self: Runner, metadata: Any) -> dict[str, Any]:
        if metadata.get("reportFormat") == "SUMMARY":
            refused.append(1)
            raise sfnotebook.errors.SfNotebookError("The grouping isn't valid.", status=400)
        return original(self, metadata)

    monkeypatch.setattr(Runner, "run_async", no_groups)
    res = conn.report(rid, progress=False)
    assert refused == [1]
    assert res.paged_on == "CREATED_DATE" and res.runs <= 1 + _windows.runs_bound(len(res))
    pd.testing.assert_frame_equal(res.details, expected.details)


def test_too_few_async_runs_for_the_windows_page_sequentially(
    conn: sfnotebook.Connection, demo_org: Any
) -> None:
    rid = _report_id(conn)
    whole = conn.report(rid, progress=False)  # the windows: the row count and the frame
    bound = _windows.runs_bound(len(whole))
    demo_org.set_limits(HourlySyncReportRuns=500, HourlyAsyncReportRuns=bound - 1)
    conn = connect_to(demo_org)
    res = conn.report(rid, progress=False)
    pd.testing.assert_frame_equal(res.details, whole.details)
    assert _runs_left(conn) == (500 - res.runs, bound - 1), "every run sync, none async"


def test_windows_that_do_not_add_up_fall_back_to_sequential_paging(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One window's runs lose a row (as if a record were deleted while paging): its count
    disagrees, the windows are given up and the report is paged one run after another."""
    rid = _report_id(conn)
    expected = _sequential(monkeypatch, conn, rid)
    original = Runner.run_async
    windows_made: list[int] = []

    def lossy(self: Runner, metadata: Any) -> dict[str, Any]:
        payload = original(self, metadata)
        bounded = len(metadata.get("reportFilters") or []) >= 2
        if bounded and not windows_made and payload.get("allData") is True:
            windows_made.append(1)
            payload["factMap"]["T!T"].rows.pop()  # the last page of one window, one row short
        return payload

    monkeypatch.setattr(Runner, "run_async", lossy)
    res = conn.report(rid, progress=False)
    assert windows_made, "a window's last page was cut"
    pd.testing.assert_frame_equal(res.details, expected.details)
    # The windows' runs, then a whole sequential chain (its plan fit the budget).
    assert res.runs > expected.runs + math.ceil(len(res) / 2000) // 2


def test_a_mismatch_without_runs_left_for_the_fallback_raises_typed(
    conn: sfnotebook.Connection, demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback is planned like any paging: without the runs, a typed error, no frame."""
    rid = _report_id(conn)
    n = len(conn.report(rid, progress=False))
    demo_org.set_limits(HourlySyncReportRuns=1, HourlyAsyncReportRuns=_windows.runs_bound(n) + 3)
    conn = connect_to(demo_org)
    original = Runner.run_async

    def short_total(self: Runner, metadata: Any) -> dict[str, Any]:
        payload = original(self, metadata)
        lowest = metadata.get("reportFormat") != "SUMMARY"  # not the month-count probe
        if lowest and not metadata.get("reportFilters"):  # the lowest rows: one row fewer
            payload["factMap"]["T!T"].rows.pop(0)
        return payload

    monkeypatch.setattr(Runner, "run_async", short_total)
    with pytest.raises(ReportRunLimitError):
        conn.report(rid, progress=False)


def test_an_interrupt_in_a_window_stops_every_window_and_leaves_no_instance(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interrupt comes in while windows have instances in flight: every other window gives
    up at its next poll, and each instance not finished is deleted."""
    rid = _report_id(conn)
    base = f"analytics/reports/{rid}/instances"
    before = {i["id"] for i in conn.get_json(base)}
    real = conn.request
    polls: list[str] = []

    def poll(method: str, url: str, **kwargs: Any) -> Any:
        if method == "GET" and url.startswith(base + "/"):
            polls.append(url)
            if len(polls) == 10:  # the windows' first runs are in flight by now
                raise KeyboardInterrupt
        return real(method, url, **kwargs)

    monkeypatch.setattr(conn, "request", poll)
    with pytest.raises(KeyboardInterrupt):
        conn.report(rid, progress=False)
    monkeypatch.undo()
    left = [i for i in conn.get_json(base) if i["id"] not in before]
    # The runs that had finished keep their results (24 hours, as any async run's); none is
    # left queued or running.
    assert left and {i["status"] for i in left} == {"Success"}
    assert len(left) < len(polls)
    assert len(conn.report(rid, progress=False)) > 2000  # and the next report runs as usual
