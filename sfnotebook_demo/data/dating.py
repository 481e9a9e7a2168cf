"""The day every generated date is computed from, and the time-of-day strings, shared by the
row generators.

Every date is an offset from the build day (today, UTC, unless a build asks for another), so
the data always ends where the analyst's calendar is: ``LAST_N_DAYS:730`` charts two full years
up to last month, ``NEXT_N_DAYS:30`` finds open deals, ``TODAY`` matches. A build one day later
holds the same rows with every date one day later (only the values computed from dates, such as
fiscal quarters, follow them).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CLOSED_HISTORY_DAYS",
    "GROWTH_PER_YEAR",
    "LEGACY_SHARE",
    "SALES_CYCLE_DAYS",
    "TIMES",
    "days_back_growing",
    "legacy_import_day",
]

# Every second of a day, as the time part of a datetime in Salesforce's storage format.
TIMES = [
    f"T{h:02d}:{m:02d}:{sec:02d}.000+0000"
    for h in range(24)
    for m in range(60)
    for sec in range(60)
]

CLOSED_HISTORY_DAYS = 3 * 365  # closed deals closed within the last three years
GROWTH_PER_YEAR = 1.30  # each year closes 30% more deals than the one before
SALES_CYCLE_DAYS = 180  # a closed deal was created up to this many days before it closed
LEGACY_SHARE = 0.16  # of the Closed Lost deals: imported from an older CRM on one day


def legacy_import_day(today: int) -> int:
    """The day (an ordinal) the org's legacy deals were imported, all closed lost on that day
    (their creation dates kept): before the org's own history (every other deal's creation),
    so charts of the last three years never show it. Real orgs carry such a day; report paging meets more
    than 2,000 rows on one close date there (docs/reports-reference.md, crowded values)."""
    return today - 1 - CLOSED_HISTORY_DAYS - SALES_CYCLE_DAYS - 1


def days_back_growing(u: np.ndarray, history: int = CLOSED_HISTORY_DAYS) -> np.ndarray:
    """Whole days before the build day for uniform draws ``u`` in [0, 1), from a business that grows
    by :data:`GROWTH_PER_YEAR`: the density falls as ``exp(-rate * days_back)`` over ``history``
    days (inverse-CDF sampling), so counts per month rise smoothly towards today.
    """
    rate = math.log(GROWTH_PER_YEAR) / 365
    back = -np.log1p(-u * (1 - math.exp(-rate * history))) / rate
    return np.minimum(back.astype(np.int64), history - 1)
