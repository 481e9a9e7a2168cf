"""Paging windows: a large report's rows fetched as several keyset ranges at once.

Keyset paging (:mod:`sfnotebook.reports._paging`) is a chain: each run's filter is the last
value of the run before, so one report's runs go one after another. Ranges of the paging
column are independent, though: ``K >= a AND K < b`` and ``K >= b`` hold different rows, and
each range pages on its own. So, once a report is known to be large (its grand-total Record
Count, the RowCount aggregate every paging run carries), the rows are fetched as windows:

1. Two runs at once: the lowest 2,000 rows, sorted on the cursor column ascending (the first
   window's start, and rows below their last value are final), and a probe of how the rest
   are spread. For a date or datetime cursor the probe is a SUMMARY run grouped on the cursor
   by month (``groupingsDown`` with ``dateGranularity: "Month"``, salesforce-api.md 5.7; a
   month group's ``value`` is its first day, as in a recorded matrix run,
   real-payloads/reports/cghall_matrix_basic.json): every month's Record Count, so windows
   follow the org's real spread (most orgs grow year on year; an even split left the last
   windows runs longer than the first). For a number cursor, or when an org refuses the
   grouping, the probe is the highest 2,000 rows sorted descending (where the range ends),
   the rows between assumed evenly spread. The probe's rows are not kept, so every kept row
   comes in ascending cursor order, ties in the org's own tie order, exactly as sequential
   paging sees them.
2. Split points above the start, so each window holds about the same number of rows (a
   window that holds more simply takes more runs).
3. Every window paged by keyset within its bounds, the windows in parallel, each run an
   asynchronous report instance (``POST /analytics/reports/{id}/instances``, then ``GET`` the
   instance; salesforce-api.md 5.9). Salesforce allows 1,200 async runs an hour per org and
   documents async runs for long reports; concurrent sync runs are capped at 20 per org for
   every user at once (5.10), so the windows do not spend them.

Checks (nothing lost): every window's rows must equal its own Record Count (the RowCount of its
first run, under its bound filters), the rows below the first window plus all windows must
equal the report's Record Count, and record Ids (when the report has an Id column) must be
distinct across windows. Any mismatch, or a window refused, gives up the windows
(:class:`WindowMismatch`): the caller pages sequentially instead, after checking the runs that
takes still fit the hour's budget.

Only non-unique date, datetime and number cursors are split: their values interpolate. An Id
cursor (where the org allows range filters on Ids) pages sequentially: how a real org orders
and compares Id strings is not documented (fidelity-audit 1a, 1c).

The runs the windows cost (``2 + pages + windows`` at most with evenly spread values) are
planned against the async budget before the first window run; when they do not fit, the
report pages sequentially within the budget as before.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sfnotebook.errors import SfNotebookError
from sfnotebook.reports._cells import cell_value
from sfnotebook.reports._paging import (
    MAX_FILTERS,
    ROW_LIMIT,
    Cursor,
    Run,
    cursor_value,
    page_details_counted,
    record_count,
    tabular_rows,
    truncated,
    with_added_filter,
    with_row_count,
)

__all__ = [
    "MIN_PAGES",
    "WINDOWS",
    "WindowMismatch",
    "Windows",
    "fetch_windows",
    "runs_bound",
    "usable",
]

log = logging.getLogger(__name__)

#: Windows in flight at most (each one async instance at a time).
WINDOWS = 12
#: Windows only past this many runs' worth of rows: an async run waits for its instance (about
#: twice a sync run's time), so below it one sync chain is as fast and costs fewer runs.
MIN_PAGES = 8
_TYPES = frozenset({"date", "datetime", "int", "double", "currency", "percent"})
Cells = Sequence[Mapping[str, Any]]


class WindowMismatch(Exception):
    """The windows did not add up (or one failed): page sequentially instead."""


@dataclass
class Windows:
    """What the windows fetched: every row in cursor order, and the report's record count."""

    rows: list[Cells]
    total: int
    windows: int


def usable(metadata: Mapping[str, Any], cursors: Sequence[Cursor], total: int | None) -> bool:
    """Whether the report can page in windows: a splittable cursor, filter slots, many rows."""
    if total is None or total <= MIN_PAGES * ROW_LIMIT or not cursors:
        return False
    cursor = cursors[0]
    if cursor.unique or cursor.data_type not in _TYPES:
        return False
    # Two bounds, the keyset filter, and two more when a crowded value splits on the next cursor.
    needed = 3 + (2 if len(cursors) > 1 else 0)
    return len(metadata.get("reportFilters") or []) + needed <= MAX_FILTERS


def runs_bound(total: int) -> int:
    """Runs the windows take after the report's first run, at most (values spread evenly)."""
    return 2 + math.ceil(total / ROW_LIMIT) + WINDOWS


def fetch_windows(
    run: Run,
    metadata: Mapping[str, Any],
    cursors: Sequence[Cursor],
    *,
    total: int,
    on_rows: Callable[[int], Any],
    segment: Callable[[], Callable[[list[Cells]], None]] | None = None,
    stop: threading.Event | None = None,
) -> Windows:
    """Every row of the TABULAR run ``metadata`` in cursor order, fetched in windows.

    ``run`` makes one run (an async instance) and may be called from several threads.
    ``segment()`` gives a converter for each stretch of rows in order (the rows below the first
    window, then each window's), called with each run's new rows. ``stop`` is set when one
    window fails or the caller is interrupted, so the runs in flight give up (the runner's
    :attr:`~sfnotebook.reports._runner.Runner.stopped`), and cleared once they have.
    Raises :class:`WindowMismatch` when the windows do not add up; typed errors of a run
    (an org refusing a run) are raised as they are.
    """
    cursor = cursors[0]
    columns = list(metadata.get("detailColumns") or [])
    at = columns.index(cursor.column)
    base = with_row_count(metadata)
    asc = _sorted(base, cursor.column, "Asc")
    desc = _sorted(base, cursor.column, "Desc")
    months = cursor.data_type in ("date", "datetime")
    probe = (lambda: _month_counts(run, base, cursor.column)) if months else (lambda: run(desc))
    low, spread = _all([lambda: run(asc), probe], stop)
    low_rows = [cells for _, cells in tabular_rows(low)]
    pieces = segment if segment is not None else (lambda: _nothing)
    if not truncated(low):  # the report shrank to one run: it is all here
        pieces()(low_rows)
        on_rows(len(low_rows))
        return Windows(low_rows, record_count(low) or len(low_rows), 1)
    low_values = [cursor_value(c[at], cursor.data_type) for c in low_rows]
    present = [v for v in low_values if v is not None]
    if not present:
        raise WindowMismatch("no cursor value to split on")
    start = present[-1]
    # Rows below the first window's start are final: blank first, then up to ``start``.
    kept = [
        c for c, v in zip(low_rows, low_values, strict=True) if v is None or _key(v) < _key(start)
    ]
    pieces()(kept)
    on_rows(len(kept))
    if spread is None:  # the month groups were refused or did not add up: the highest rows
        spread = run(desc)
    if isinstance(spread, list):
        bounds = _bounds_by_month(
            start, spread, remaining=total - len(kept), data_type=cursor.data_type
        )
    else:
        high_values = [cursor_value(c[at], cursor.data_type) for _, c in tabular_rows(spread)]
        high_present = [v for v in high_values if v is not None]
        if not high_present:
            raise WindowMismatch("no cursor value to split on")
        bounds = _bounds(
            start,
            high_present[-1],
            high_present[0],
            remaining=total - len(kept),
            top=len(high_present),
            data_type=cursor.data_type,
        )
    edges = [start, *bounds]
    windows = []
    for i, lower in enumerate(edges):
        flt = with_added_filter(
            base, {"column": cursor.column, "operator": "greaterOrEqual", "value": lower}
        )
        if i + 1 < len(edges):
            upper = {"column": cursor.column, "operator": "lessThan", "value": edges[i + 1]}
            flt = with_added_filter(flt, upper)
        windows.append(flt)
    lock = threading.Lock()

    def counted(n: int) -> None:
        with lock:
            on_rows(n)

    def fetch(window: dict[str, Any], seg: Any) -> Callable[[], tuple[list[Cells], int | None]]:
        return lambda: page_details_counted(
            run, window, list(cursors), on_rows=counted, on_page=seg
        )

    try:
        parts = _all([fetch(w, pieces()) for w in windows], stop)
    except SfNotebookError as exc:
        if exc.status != 400:
            raise
        # A bound filter refused (400: an operator or value the org does not take there).
        raise WindowMismatch(f"a window was refused: {exc}") from exc
    rows = list(kept)
    for i, (part, count) in enumerate(parts):
        if count is None or count != len(part):
            raise WindowMismatch(f"window {i + 1} has {len(part):,} rows of {count}")
        rows.extend(part)
    if len(rows) != total:
        raise WindowMismatch(f"the windows add up to {len(rows):,} rows of {total:,}")
    _check_distinct(rows, columns, cursor.dedup_column)
    log.debug(
        "report rows in %d windows (bounds %s): %s rows each",
        len(windows),
        edges,
        [len(p) for p, _ in parts],
    )
    return Windows(rows, total, len(windows))


def _all(calls: Sequence[Callable[[], Any]], stop: threading.Event | None) -> list[Any]:
    """Every call's result, the calls run at once (at most :data:`WINDOWS`); the first
    failure (or an interrupt) stops the others before it is raised."""
    pool = ThreadPoolExecutor(min(WINDOWS, len(calls)), thread_name_prefix="sfnotebook-report")
    futures = [pool.submit(call) for call in calls]
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        if stop is not None:
            stop.set()  # the runs in flight end at their next poll, their instances deleted
        raise
    finally:
        pool.shutdown(wait=True)
        if stop is not None:
            stop.clear()


@dataclass(frozen=True)
class _Month:
    """One month group of the probe: its first and next month's first day (as cursor keys)
    and its Record Count."""

    start: float
    end: float
    rows: int


def _month_counts(run: Run, base: Mapping[str, Any], column: str) -> list[_Month] | None:
    """Every month's Record Count of ``base``'s rows, by one SUMMARY run grouped on ``column``
    by month; ``None`` when the org refuses the grouping (400) or the groups do not add up to
    the run's own grand total (then the windows split on the highest rows instead)."""
    grouped = copy.deepcopy(dict(base))
    grouped.pop("sortBy", None)  # how sorting combines with groupings is undocumented (1b)
    grouped["reportFormat"] = "SUMMARY"
    grouped["groupingsDown"] = [{"name": column, "sortOrder": "Asc", "dateGranularity": "Month"}]
    grouped["groupingsAcross"] = []
    try:
        payload = run(grouped)
    except SfNotebookError as exc:
        if exc.status != 400:
            raise
        log.debug("month groups refused, windows split on the highest rows: %s", exc)
        return None
    return _months(payload)


def _months(payload: Mapping[str, Any]) -> list[_Month] | None:
    """The month groups of a grouped run, in order, when they add up to its grand total."""
    keys = [str(k).lower() for k in (payload.get("reportMetadata") or {}).get("aggregates") or []]
    groups = (payload.get("groupingsDown") or {}).get("groupings") or []
    fact = payload.get("factMap") or {}
    total = record_count(payload)
    if "rowcount" not in keys or total is None:
        return None
    at = keys.index("rowcount")
    months: list[_Month] = []
    counted = 0
    for group in groups:
        aggregates = (fact.get(f"{group.get('key')}!T") or {}).get("aggregates") or []
        value = aggregates[at].get("value") if at < len(aggregates) else None
        if not isinstance(value, int | float):
            return None
        counted += int(value)
        first = group.get("value")
        if first is None:  # the blank group: rows below every window, in the first run
            continue
        try:
            day = dt.date.fromisoformat(str(first)[:10])
        except ValueError:
            return None
        after = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        months.append(_Month(_key(day.isoformat()), _key(after.isoformat()), int(value)))
    if counted != total or any(a.start >= b.start for a, b in itertools.pairwise(months)):
        return None
    return months


def _window_count(remaining: int) -> int:
    """How many windows ``remaining`` rows take: as few as give each the same whole number of
    runs (24 runs in 12 windows of 2, not in 10 windows of 3: a window a few rows past a
    multiple of 2,000 costs a run)."""
    pages = math.ceil(remaining / ROW_LIMIT)
    return math.ceil(pages / math.ceil(pages / WINDOWS)) if pages else 1


def _bounds_by_month(
    start: str, months: Sequence[_Month], *, remaining: int, data_type: str
) -> list[str]:
    """Split points above ``start`` giving windows of about equal rows, from the month
    groups' counts (rows assumed spread evenly within a month). Strictly increasing and
    strictly above ``start``."""
    count = _window_count(remaining)
    lo = _key(start)
    # The rows at or above the start: its own month from the start on (pro rata), then the rest.
    parts = [
        (max(m.start, lo), m.end, m.rows * (m.end - max(m.start, lo)) / (m.end - m.start))
        for m in months
        if m.end > lo
    ]
    above = sum(n for _, _, n in parts)
    out: list[str] = []
    last, seen, i = lo, 0.0, 0
    for a, b, n in parts:
        while i + 1 < count and n and seen + n >= above * (i + 1) / count:
            i += 1
            point = a + (b - a) * (above * i / count - seen) / n
            text = _text(point, data_type, start)
            if _key(text) > last:
                out.append(text)
                last = _key(text)
        seen += n
    return out


def _nothing(rows: list[Cells]) -> None:
    """No conversion wanted."""


def _sorted(metadata: Mapping[str, Any], column: str, order: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(metadata))
    out["sortBy"] = [{"sortColumn": column, "sortOrder": order}]
    return out


def _check_distinct(rows: Sequence[Cells], columns: list[str], dedup: str | None) -> None:
    if dedup is None:
        return
    at = columns.index(dedup)
    ids = [cell_value(c[at]) for c in rows]
    if len(set(ids)) != len(ids):
        raise WindowMismatch("a record Id came in two windows")


# --- split points -----------------------------------------------------------------------------


def _key(value: str) -> float:
    """A cursor filter value as a number: days, seconds, or the number itself."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return float(dt.date.fromisoformat(value).toordinal() * 86400)
    if "T" in value and value.endswith("Z"):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        day = moment.date().toordinal() * 86400
        return float(day + moment.hour * 3600 + moment.minute * 60 + moment.second)
    return float(value)


def _text(key: float, data_type: str, like: str) -> str:
    """A split point in the cursor's filter format (documented date formats; whole numbers)."""
    if data_type in ("date", "datetime"):
        day, second = divmod(int(key), 86400)
        date = dt.date.fromordinal(day)
        if data_type == "date" or len(like) == 10:
            return date.isoformat()
        clock = dt.time(second // 3600, second % 3600 // 60, second % 60)
        return f"{date.isoformat()}T{clock.isoformat()}Z"
    if data_type == "int":
        return str(math.ceil(key))
    return repr(round(key, 2)) if key != int(key) else str(int(key))


def _bounds(
    start: str, high: str, top_value: str, *, remaining: int, top: int, data_type: str
) -> list[str]:
    """Split points above ``start`` giving windows of about equal rows.

    The rows at or above ``start`` are assumed spread evenly up to ``high`` (the lowest value
    of the descending probe), with the probe's ``top`` rows between ``high`` and
    ``top_value``. Points are strictly increasing and strictly above ``start``.
    """
    count = _window_count(remaining)
    lo, mid, hi = _key(start), _key(high), _key(top_value)
    below = max(remaining - top, 0)  # rows between start and high
    if mid <= lo:
        mid, below = lo, 0
    out: list[str] = []
    last = lo
    for i in range(1, count):
        target = remaining * i / count
        if target <= below and below:
            point = lo + (mid - lo) * target / below
        elif hi > mid and top:
            point = mid + (hi - mid) * min((target - below) / top, 1.0)
        else:
            continue
        text = _text(point, data_type, start)
        if _key(text) > last:
            out.append(text)
            last = _key(text)
    return out
