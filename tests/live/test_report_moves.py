"""A record edited across the paging position while a report pages (sfnotebook.reports._moves).

Paging on Close Date, a record moved from the range not yet read into one already read is
never seen; a record inserted at the same time keeps the Record Count equal. The report must
raise instead of returning a frame without it, windowed and sequential: naming the record
when the report has a record Id column, saying it cannot tell rows apart when it has none.
Edits before the report, a record inserted behind the paging position, or no edit at all
cost one check run and no error; a report paged on Created Date makes no check run. Each test
has a demo org of its own: they write to it, and the check reads the last minute's edits.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook.errors import IncompleteResultError
from sfnotebook.reports import _windows
from sfnotebook.reports._runner import Runner
from tests.conftest import connect_to

KEYLESS = "Opportunities by Formula Key"  # TABULAR, no record Id column: rows compared whole
GROUPED = "Pipeline by Stage"  # SUMMARY with OPPORTUNITY_ID: records compared by Id


@pytest.fixture
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=18000) as org:
        yield org


@pytest.fixture
def org(demo: Any) -> sfnotebook.Connection:
    return connect_to(demo)


@pytest.fixture(params=["windowed", "sequential"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "sequential":
        monkeypatch.setattr(_windows, "usable", lambda *args: False)
    return str(request.param)


def _on_every_run(monkeypatch: pytest.MonkeyPatch, seen: Callable[[Any], None]) -> None:
    """Call ``seen`` with every run's metadata, sync or async, before the runner sends it."""

    def hooked(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Runner, metadata: Any) -> Any:
            seen(metadata)
            return method(self, metadata)

        return run

    monkeypatch.setattr(Runner, "__call__", hooked(Runner.__call__))
    monkeypatch.setattr(Runner, "run_async", hooked(Runner.run_async))


def _when_paging_passes(
    monkeypatch: pytest.MonkeyPatch, day: str, edit: Callable[[], None]
) -> threading.Event:
    """Make ``edit`` once, just before the first run filtered on Close Date past ``day``."""
    fired = threading.Event()
    lock = threading.Lock()

    def seen(metadata: Any) -> None:
        filters = (metadata or {}).get("reportFilters") or []
        past = [
            f["value"]
            for f in filters
            if f.get("column") == "CLOSE_DATE"
            and f.get("operator") in ("greaterOrEqual", "greaterThan")
            and f["value"] >= day
        ]
        with lock:
            if past and not fired.is_set():
                fired.set()
                edit()

    _on_every_run(monkeypatch, seen)
    return fired


def _move_the_last_and_insert(side: sfnotebook.Connection) -> Callable[[], None]:
    """An edit that loses a row unseen by the count: the latest-closing opportunity moved to
    before every other, and a new one added at its old date."""
    top = side.query("SELECT Id, CloseDate FROM Opportunity ORDER BY CloseDate DESC, Id LIMIT 1")
    moved, date = top.Id.iloc[0], str(top.CloseDate.iloc[0])[:10]
    account = side.query("SELECT Id FROM Account LIMIT 1").Id.iloc[0]

    def edit() -> None:
        side.update(
            pd.DataFrame({"Id": [moved], "CloseDate": ["2019-01-01"]}),
            "Opportunity",
            progress=False,
        )
        new = {"Name": ["Added while paging"], "StageName": ["Prospecting"], "CloseDate": [date]}
        side.insert(pd.DataFrame({**new, "AccountId": [account]}), "Opportunity", progress=False)

    return edit


def _third_close_date(org: sfnotebook.Connection) -> str:
    dates = org.query("SELECT CloseDate FROM Opportunity ORDER BY CloseDate")
    return str(dates.CloseDate.iloc[len(dates) // 3])[:10]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (GROUPED, r"not in the rows read \(006"),  # the moved record, by its Id
        (KEYLESS, "no record Id column to tell"),
    ],
)
def test_a_record_moved_behind_the_paging_position_raises(
    demo: Any,
    org: sfnotebook.Connection,
    mode: str,
    name: str,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    side = connect_to(demo)
    fired = _when_paging_passes(
        monkeypatch, _third_close_date(org), _move_the_last_and_insert(side)
    )
    with pytest.raises(IncompleteResultError, match="changed while it was paged on CLOSE_DATE"):
        try:
            org.report(name, progress=False)
        except IncompleteResultError as exc:
            assert re.search(says, str(exc)), exc
            raise
    assert fired.is_set()


def test_a_record_inserted_behind_the_paging_position_passes(
    demo: Any, org: sfnotebook.Connection, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not counted by the first run and not read: the frame is the report as it was counted.
    side = connect_to(demo)
    account = side.query("SELECT Id FROM Account LIMIT 1").Id.iloc[0]
    new = {"Name": ["Added behind"], "StageName": ["Prospecting"], "CloseDate": ["2015-01-01"]}

    def insert() -> None:
        # A second after the first run's answer: a record created within the second of the
        # answer (its Date header) may have been counted, and the check would not excuse it.
        time.sleep(1.1)
        side.insert(pd.DataFrame({**new, "AccountId": [account]}), "Opportunity", progress=False)

    before = org.query("SELECT COUNT() FROM Opportunity")
    fired = _when_paging_passes(monkeypatch, _third_close_date(org), insert)
    res = org.report(GROUPED, progress=False)
    assert fired.is_set() and len(res) == before
    assert "Added behind" not in set(res.details["Opportunity Name"])


def _record_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every run's metadata, sync or async, as the runner sends it."""
    sent: list[dict[str, Any]] = []
    _on_every_run(monkeypatch, lambda metadata: sent.append(dict(metadata or {})))
    return sent


def _is_check(metadata: dict[str, Any]) -> bool:
    """Whether a run is filtered on Last Modified Date: the closing check's."""
    return any(f["column"] == "LAST_UPDATE" for f in metadata.get("reportFilters") or [])


def _checks(sent: list[dict[str, Any]]) -> int:
    return sum(1 for md in sent if _is_check(md))


def test_edits_before_the_report_pass_with_one_check_run(
    org: sfnotebook.Connection, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recent = org.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 5")
    org.update(recent.assign(CloseDate="2030-01-01"), "Opportunity", progress=False)
    sent = _record_runs(monkeypatch)
    res = org.report(GROUPED, progress=False)
    assert res.paged_on == "CLOSE_DATE"
    assert len(res) == res.aggregates["Record Count"].iloc[-1]
    assert len(res) == org.query("SELECT COUNT() FROM Opportunity")
    assert _checks(sent) == 1 and res.runs == len(sent)
    # The check reads the records edited since a minute before the report (all five here):
    # their Ids, its stamp and the paging columns, nothing else.
    (check,) = [md for md in sent if _is_check(md)]
    assert check["detailColumns"][:2] == ["OPPORTUNITY_ID", "LAST_UPDATE"]


def test_a_report_without_record_ids_and_no_edits_passes(
    org: sfnotebook.Connection, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _record_runs(monkeypatch)
    res = org.report(KEYLESS, progress=False)
    assert res.paged_on == "CLOSE_DATE"
    assert len(res) == res.aggregates["Record Count"].iloc[-1]
    assert _checks(sent) == 1


def test_a_report_paged_on_created_date_makes_no_check_run(
    org: sfnotebook.Connection, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _record_runs(monkeypatch)
    res = org.report("All Opportunities", progress=False)
    assert res.paged_on == "CREATED_DATE" and len(sent) == res.runs > 1
    assert _checks(sent) == 0


def test_windows_that_no_longer_add_up_stop_at_the_first_sequential_run(
    demo: Any, org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A record deleted while the windows run: they no longer add up, and the sequential paging
    # they fall back to counts one row fewer at its first run: that ends it, without paging on
    # to a count that cannot add up.
    side = connect_to(demo)
    victim = org.query("SELECT Id FROM Opportunity ORDER BY CreatedDate DESC LIMIT 1").Id.iloc[0]
    calls = {"async": 0, "sync": 0}
    lock = threading.Lock()
    run_async, run_sync = Runner.run_async, Runner.__call__

    def windowed(self: Runner, metadata: Any) -> Any:
        with lock:
            calls["async"] += 1
            if calls["async"] == 4:
                side.delete(pd.DataFrame({"Id": [victim]}), "Opportunity", progress=False)
        return run_async(self, metadata)

    def sequential(self: Runner, metadata: Any) -> Any:
        calls["sync"] += 1
        return run_sync(self, metadata)

    monkeypatch.setattr(Runner, "run_async", windowed)
    monkeypatch.setattr(Runner, "__call__", sequential)
    with pytest.raises(IncompleteResultError, match="Record Count changed from 1[0-9],[0-9]{3} to"):
        org.report("All Opportunities", progress=False)
    assert calls["async"] > 4
    assert calls["sync"] == 2  # the report's first run, and the fallback's first
