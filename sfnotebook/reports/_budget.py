"""The org's hourly report runs: read before paging, planned, and spent.

Salesforce allows 500 synchronous and 1,200 asynchronous report runs an hour per org, shared
by every user and dashboard (Reports and Dashboards REST API, "Requirements and Limitations",
developer.salesforce.com/docs/atlas.en-us.api_analytics.meta/api_analytics/
sforce_analytics_rest_api_limits_limitations.htm); ``/limits`` shows what is left as
``HourlySyncReportRuns`` and ``HourlyAsyncReportRuns``. Paging costs one run per 2,000 rows, so
a report of a million rows would spend the whole org's hour and then fail part-way with 403
"You can't run more than 500 reports synchronously every 60 minutes." (Report Error Codes page).

Before the first paging run the report wing reads ``/limits`` (one call, sent alongside the
report's describe so it adds no round trip, cached for :data:`CACHE_SECONDS` per connection
and lowered by the runs this package makes), plans the runs the rest of the report takes (:func:`runs_to_page`: ``ceil(N / 2000) + 1`` after the first
run, the paging bound), and then runs synchronously when the sync runs left suffice,
asynchronously when only the async runs do, and otherwise raises
:class:`~sfnotebook.errors.ReportRunLimitError` with the numbers before any further run.

The number of rows is known only from a run: a run without details costs a run as well, so the
first (ordinary) run is spent to learn it; a report of at most 2,000 rows never reads
``/limits``. Where ``/limits`` is refused (it needs "View Setup and Configuration") the runs are
not planned; a run refused for the hourly limit still moves async, or raises typed.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from sfnotebook._answers import decode_limits
from sfnotebook._api import OrgApi
from sfnotebook.errors import ReportRunLimitError, SalesforceError, SfNotebookError

__all__ = [
    "ASYNC_RUNS",
    "CACHE_SECONDS",
    "SYNC_RUNS",
    "Budget",
    "Ledger",
    "RunCounter",
    "plan",
    "read_budget",
    "run_limit",
    "runs_to_page",
    "spend",
]

log = logging.getLogger(__name__)

SYNC_RUNS = "HourlySyncReportRuns"
ASYNC_RUNS = "HourlyAsyncReportRuns"
CACHE_SECONDS = 60.0
ROW_LIMIT = 2000
# The documented 403 (Report Error Codes page); its errorCode is not documented, so the text
# decides. The async wording is not documented at all: "asynchronously" is matched by analogy.
_LIMIT_TEXT = re.compile(r"run more than [\d,]+ reports (a?synchronously)", re.IGNORECASE)


@dataclass
class Budget:
    """Report runs left this hour, as ``/limits`` said (None: not known).

    ``fresh``: read just now (so it already counts the runs made so far), not from the cache.
    """

    sync: int | None
    async_: int | None
    read_at: float = 0.0
    fresh: bool = True

    @property
    def known(self) -> bool:
        return self.sync is not None and self.async_ is not None

    def less(self, sync: int, async_: int) -> Budget:
        """This budget with ``sync`` / ``async_`` more runs spent."""
        return Budget(
            None if self.sync is None else max(0, self.sync - sync),
            None if self.async_ is None else max(0, self.async_ - async_),
            self.read_at,
            self.fresh,
        )


class RunCounter(Protocol):
    """What the ledger reads of a report's runner."""

    report_id: str

    @property
    def sync_runs(self) -> int: ...

    @property
    def async_runs(self) -> int: ...

    @property
    def is_async(self) -> bool: ...

    def go_async(self) -> None: ...


_cache: weakref.WeakKeyDictionary[Any, Budget] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def runs_to_page(total: int) -> int:
    """Runs that fetching a report of ``total`` rows takes after its first run (the bound)."""
    return math.ceil(total / ROW_LIMIT) + 1


def run_limit(exc: SfNotebookError) -> str | None:
    """``"sync"`` / ``"async"`` when ``exc`` is the hourly report-run limit's 403, else None."""
    if exc.status != 403:
        return None
    m = _LIMIT_TEXT.search(str(getattr(exc, "sf_message", None) or exc))
    if m is None:
        return None
    return "async" if m.group(1).lower().startswith("a") else "sync"


def read_budget(conn: OrgApi) -> Budget:
    """The runs left this hour: one ``GET /limits``, cached briefly per connection."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(conn)
        if cached is not None and now - cached.read_at < CACHE_SECONDS:
            return Budget(cached.sync, cached.async_, cached.read_at, fresh=False)
    try:
        limits = decode_limits(conn.request("GET", "limits"))
    except SalesforceError as exc:
        if exc.status not in (401, 403, 404):
            raise
        # No "View Setup and Configuration" (or no /limits): not planned, refusals still typed.
        log.info("report runs not planned: /limits answered %s", exc.status)
        limits = {}
    budget = Budget(
        (limits.get(SYNC_RUNS) or {}).get("Remaining"),
        (limits.get(ASYNC_RUNS) or {}).get("Remaining"),
        now,
    )
    try:
        with _lock:
            _cache[conn] = budget
    except TypeError:  # a connection that cannot be weakly referenced: no cache
        pass
    return Budget(budget.sync, budget.async_, budget.read_at)


def spend(conn: OrgApi, *, sync: int, async_: int) -> None:
    """Lower the cached budget by runs made since it was read."""
    with _lock:
        cached = _cache.get(conn)
        if cached is None:
            return
        if cached.sync is not None:
            cached.sync = max(0, cached.sync - sync)
        if cached.async_ is not None:
            cached.async_ = max(0, cached.async_ - async_)


class Ledger:
    """One report's runs against the org's budget: planned before paging, spent at the end."""

    def __init__(self, conn: OrgApi, runner: RunCounter) -> None:
        self.conn = conn
        self.runner = runner
        self._counted = (0, 0)  # runs the cached budget already knows of

    def _left(self) -> Budget:
        """The runs left now: ``/limits`` (or its cached answer less the runs made since)."""
        runner = self.runner
        made = (runner.sync_runs, runner.async_runs)
        budget = read_budget(self.conn)
        if budget.fresh:
            self._counted = made  # /limits already counts this report's runs so far
            return budget
        return budget.less(made[0] - self._counted[0], made[1] - self._counted[1])

    def read(self) -> None:
        """Read the budget now (``/limits``) so that planning later costs no round trip."""
        self._left()

    def fits_async(self, needed: int) -> bool:
        """Whether ``needed`` more async runs fit in what is left this hour (not when the
        budget cannot be read: parallel windows cost more runs than paging one by one)."""
        budget = self._left()
        return budget.known and (budget.async_ or 0) >= needed

    def plan(self, *, total: int, name: str, checks: int = 0) -> None:
        """Read the budget and pick sync or async for the rest (or raise, before any run);
        ``checks``: the runs a closing check takes after paging (``reports._moves``)."""
        runner = self.runner
        budget = self._left()
        go_async = plan(
            budget,
            needed=runs_to_page(total) + checks,
            already_async=runner.is_async,
            report_id=runner.report_id,
            name=name,
            total=total,
        )
        if go_async and not runner.is_async:
            runner.go_async()

    def close(self) -> None:
        """Spend this report's runs on the cached budget (the next report plans with it)."""
        runner = self.runner
        spend(
            self.conn,
            sync=runner.sync_runs - self._counted[0],
            async_=runner.async_runs - self._counted[1],
        )
        self._counted = (runner.sync_runs, runner.async_runs)


def plan(
    budget: Budget, *, needed: int, already_async: bool, report_id: str, name: str, total: int
) -> bool:
    """Whether the remaining ``needed`` runs go async; ReportRunLimitError when neither fits.

    Sync runs are used when enough are left (and the report has not moved async already);
    else async runs when enough of those are; else the error, before any further run.
    """
    if not budget.known:
        return already_async
    sync, async_ = budget.sync or 0, budget.async_ or 0
    if not already_async and sync >= needed:
        return False
    if async_ >= needed:
        return True
    raise ReportRunLimitError(
        f"The report {name!r} has {total:,} rows: fetching the rest takes about {needed:,} more "
        f"runs (one per 2,000 rows), but the org has {sync:,} synchronous and {async_:,} "
        "asynchronous report runs left this hour (Salesforce allows 500 and 1,200 an hour per "
        "org, shared by every user and dashboard). No further run was made. Fetch it in parts "
        "with filters (e.g. on CLOSE_DATE), run it again later, or read the same records with "
        "org.extract() (Bulk API).",
        report_id=report_id,
        runs_needed=needed,
        sync_remaining=sync,
        async_remaining=async_,
    )
