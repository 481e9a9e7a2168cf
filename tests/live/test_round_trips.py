"""Round trips counted, not timed (issue 13, item 2): how many requests ``connect()`` and
``org.report(name)`` send one after another.

A request is held at its start until another one starts while it is in flight (or, when none
does, for a moment), so requests the client sends together are seen overlapping on any machine,
however fast the demo org answers; the assertion is on the order of events, never on a clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from sfnotebook import errors, reports
from sfnotebook._session import ApiSession
from sfnotebook.reports import _catalog
from tests.conftest import connect_to

_HOLD = 2.0  # seconds a lone request waits for a partner: a guard, never a measure


class _Trips:
    """Every request's start and end, in the order they happened."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []  # ("start" | "end", request no., what)
        self._cond = threading.Condition()
        self._started = 0

    def record(self, real: Any, session: Any, method: str, url: str, **kwargs: Any) -> Any:
        with self._cond:
            mine = self._started
            self._started += 1
            self.events.append(("start", mine, f"{method} {url}"))
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._started > mine + 1, timeout=_HOLD)
        try:
            return real(session, method, url, **kwargs)
        finally:
            with self._cond:
                self.events.append(("end", mine, f"{method} {url}"))

    def sequential(self) -> int:
        """The longest chain of requests each started after the one before it had ended."""
        ended: set[int] = set()
        chain: dict[int, int] = {}  # request -> longest chain ending with it
        done_chains: dict[int, int] = {}
        for kind, number, _ in self.events:
            if kind == "start":
                chain[number] = 1 + max((done_chains[n] for n in ended), default=0)
            else:
                ended.add(number)
                done_chains[number] = chain[number]
        return max(chain.values(), default=0)

    def sent(self) -> list[str]:
        return [what for kind, _, what in self.events if kind == "start"]


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Trips]:
    recorder = _Trips()
    real = ApiSession.request

    def spy(session: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        assert not args, "the client passes request options by keyword"
        return recorder.record(real, session, method, url, **kwargs)

    monkeypatch.setattr(ApiSession, "request", spy)
    yield recorder


def test_the_chain_counter_sees_a_sequence_and_an_overlap() -> None:
    trips = _Trips()
    trips.events = [("start", 0, "a"), ("end", 0, "a"), ("start", 1, "b"), ("start", 2, "c")]
    trips.events += [("end", 1, "b"), ("end", 2, "c"), ("start", 3, "d"), ("end", 3, "d")]
    assert trips.sequential() == 3  # a, then b and c together, then d


# connect() itself: tests/live/test_connect_round_trips.py


# -- the report catalogue, kept per connection -------------------------------------------------

_FEW = [("AMOUNT", "greaterThan", "98000000")]  # a small run: the run is not what is counted


def _catalogue_requests(conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The catalogue queries (SOQL on Report) the connection's session sends from now on."""
    sent: list[str] = []
    real = conn.session.request

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        query = str((kwargs.get("params") or {}).get("q", ""))
        if "FROM Report" in query or url.endswith("/analytics/reports"):
            sent.append(f"{method} {url} {query}")
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(conn.session, "request", spy)
    return sent


def test_a_second_report_by_name_sends_no_catalogue_request(
    demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_to(demo_org)
    sent = _catalogue_requests(conn, monkeypatch)
    first = conn.report("All Opportunities", filters=_FEW, progress=False)
    assert len(sent) == 1
    second = conn.report("All Opportunities", filters=_FEW, progress=False)
    assert len(sent) == 1, sent  # the kept catalogue named it
    assert first.id == second.id and first.name == "All Opportunities"
    assert first.details.equals(second.details)
    conn.reports()
    assert len(sent) == 2  # the list the user asks for is listed again


def test_a_report_newer_than_the_kept_catalogue_is_found_after_one_refresh(
    demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo cannot create reports: the first listing hides one, as if made after it."""
    conn = connect_to(demo_org)
    real = _catalog._list
    listings: list[int] = []

    def listing(org: Any) -> list[dict[str, Any]]:
        rows = real(org)
        listings.append(len(rows))
        return [r for r in rows if r["name"] != "All Opportunities"] if len(listings) == 1 else rows

    monkeypatch.setattr(_catalog, "_list", listing)
    other = conn.reports()["name"].iloc[0]
    assert other != "All Opportunities" and len(listings) == 1
    frame = conn.report("All Opportunities", filters=_FEW, progress=False)
    assert frame.name == "All Opportunities" and len(listings) == 2  # one refresh found it
    conn.describe_report("All Opportunities")
    assert len(listings) == 2  # and the refreshed catalogue is kept
    with pytest.raises(errors.ReportNotFoundError, match="No report called 'No Such Report'"):
        conn.describe_report("No Such Report")
    assert len(listings) == 3  # a miss refreshes once, and only once, before raising


def test_a_miss_on_a_fresh_catalogue_lists_only_once(
    demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_to(demo_org)
    sent = _catalogue_requests(conn, monkeypatch)
    with pytest.raises(errors.ReportNotFoundError):
        conn.describe_report("No Such Report")
    assert len(sent) == 1  # listed by this call: already fresh, no second listing


# -- a paged report: the describe and the hour's budget in one round trip ---------------------


class _Planned(Exception):
    """Raised where paging would start: what is counted is sent by then."""


def test_a_paged_report_reads_its_describe_and_budget_together(
    demo_org: Any, trips: _Trips, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_to(demo_org)
    trips.events.clear()

    def planned(*args: Any, **kwargs: Any) -> None:
        raise _Planned

    monkeypatch.setattr(reports.paging, "choose_cursors", planned)
    with pytest.raises(_Planned):  # the first run said: more than 2,000 rows
        conn.report("All Opportunities", progress=False)
    number = {what: n for kind, n, what in trips.events if kind == "start"}
    describe = next(n for what, n in number.items() if what.endswith("/describe"))
    limits = next(n for what, n in number.items() if what.endswith("/limits"))
    starts = {n: i for i, (kind, n, _) in enumerate(trips.events) if kind == "start"}
    ends = {n: i for i, (kind, n, _) in enumerate(trips.events) if kind == "end"}
    # Both started before either ended: they overlapped, whatever the clock says.
    assert max(starts[describe], starts[limits]) < min(ends[describe], ends[limits])
