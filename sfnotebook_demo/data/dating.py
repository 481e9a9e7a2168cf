"""The days every generated date is computed from, shared by the row generators.

Most rows are dated from the fixed :data:`ANCHOR_DATE`, so their dates are the same in every
build; one row in 20 (:func:`is_recent`) is dated from the build day, so SOQL date literals
evaluated against the real clock always match data.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["ANCHOR_DATE", "LAST_RECENT", "TIMES", "is_recent"]

# Fixed day most dates are computed from, so they are the same in every build.
ANCHOR_DATE = dt.date(2026, 6, 30)

LAST_RECENT = 7  # position % 20 of the rows dated from the build day


def is_recent(position: int) -> bool:
    """True when the row at 0-based ``position`` of its table is dated from the build day."""
    return position % 20 == LAST_RECENT


# Every second of a day, as the time part of a datetime in Salesforce's storage format.
TIMES = [
    f"T{h:02d}:{m:02d}:{sec:02d}.000+0000"
    for h in range(24)
    for m in range(60)
    for sec in range(60)
]
