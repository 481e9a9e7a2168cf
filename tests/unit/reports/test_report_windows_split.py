"""Where the paging windows split (:mod:`sfnotebook.reports._windows`): the month-count probe
read from a grouped run's payload, and split points that give windows of equal rows."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sfnotebook.reports import _windows


def _grouped(counts: dict[str | None, int], total: int | None = None) -> dict[str, Any]:
    """A SUMMARY run's payload grouped by month, in the shape of a recorded matrix run."""
    groups = [{"value": v, "key": str(k), "label": str(v)} for k, v in enumerate(counts)]
    fact = {
        f"{k}!T": {"aggregates": [{"label": "x", "value": n}]}
        for k, n in enumerate(counts.values())
    }
    fact["T!T"] = {
        "aggregates": [{"label": "x", "value": sum(counts.values()) if total is None else total}]
    }
    return {
        "reportMetadata": {"aggregates": ["RowCount"]},
        "groupingsDown": {"groupings": groups},
        "factMap": fact,
    }


def _day(key: float) -> dt.date:
    return dt.date.fromordinal(int(key) // 86400)


def test_month_groups_read_in_order_with_their_counts() -> None:
    months = _windows._months(_grouped({None: 5, "2025-11-01": 10, "2025-12-01": 20}))
    assert months is not None
    assert [(_day(m.start), _day(m.end), m.rows) for m in months] == [
        (dt.date(2025, 11, 1), dt.date(2025, 12, 1), 10),
        (dt.date(2025, 12, 1), dt.date(2026, 1, 1), 20),
    ]


def test_month_groups_that_do_not_add_up_are_not_used() -> None:
    assert _windows._months(_grouped({"2025-11-01": 10}, total=11)) is None
    assert _windows._months(_grouped({"November": 10})) is None  # not a date
    no_count = _grouped({"2025-11-01": 10})
    no_count["reportMetadata"]["aggregates"] = ["s!AMOUNT"]
    assert _windows._months(no_count) is None


def test_splits_follow_the_month_counts() -> None:
    """Rows that double every month: the splits crowd towards the busy months, and each
    window holds about the same rows (rows spread evenly within a month)."""
    counts = {f"2026-{m:02d}-01": 1000 * 2 ** (m - 1) for m in range(1, 7)}  # 63,000 rows
    months = _windows._months(_grouped(counts))
    assert months is not None
    bounds = _windows._bounds_by_month("2026-01-01", months, remaining=63_000, data_type="date")
    edges = [_windows._key("2026-01-01"), *map(_windows._key, bounds), months[-1].end]
    # 32 runs' worth of rows: 11 windows of 3 runs (not 12 with one of 2).
    assert edges == sorted(set(edges)) and len(bounds) == 10

    def rows_below(key: float) -> float:
        return sum(m.rows * min(max((key - m.start) / (m.end - m.start), 0), 1) for m in months)

    sizes = [rows_below(b) - rows_below(a) for a, b in itertools.pairwise(edges)]
    busiest_day = 32_000 / 30  # June's rows a day: split points fall on whole days
    assert max(sizes) < 63_000 / 11 + busiest_day and min(sizes) > 63_000 / 11 - busiest_day
    assert all(b.startswith("2026-0") and len(b) == 10 for b in bounds)


def test_datetime_splits_keep_the_cursor_format() -> None:
    months = _windows._months(_grouped({"2026-01-01": 30_000, "2026-02-01": 30_000}))
    assert months is not None
    like = "2026-01-03T10:00:00Z"
    bounds = _windows._bounds_by_month(like, months, remaining=58_000, data_type="datetime")
    assert bounds and all(b.endswith("Z") and "T" in b for b in bounds)
    assert all(_windows._key(b) > _windows._key(like) for b in bounds)
