"""Date and datetime filter values of the demo reports API (GMT), private to that feature.

``YYYY-MM-DD``, datetimes in the one documented form ``2015-08-12T16:05:43Z`` (no
milliseconds, no offset: the Report Error Codes page accepts only ``yyyy-MM-dd'T'HH:mm:ss'Z'``
and ``yyyy-MM-dd``) and relative values: ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``THIS|LAST|NEXT_WEEK|MONTH|QUARTER|
YEAR|FISCAL_QUARTER|FISCAL_YEAR`` (weeks start on Sunday; the fiscal year starts in January),
``LAST_N_DAYS:n`` (n days ago through today), ``NEXT_N_DAYS:n`` (tomorrow on),
``LAST|NEXT_N_MONTHS:n``, ``LAST|NEXT_N_YEARS:n``, ``N_DAYS_AGO:n``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

__all__ = ["DATE", "DATETIME", "date_range", "day_stamp"]

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z$")


def _month_start(d: dt.date, shift: int = 0) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _period(start: dt.date, months: int) -> tuple[dt.date, dt.date]:
    return start, _month_start(start, months) - dt.timedelta(days=1)


def date_range(value: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The inclusive day range of a date literal (``None`` when ``value`` is not one)."""
    text = value.strip().upper()
    if DATE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None
        return day, day
    one = dt.timedelta(days=1)
    simple: dict[str, Callable[[], tuple[dt.date, dt.date]]] = {
        "TODAY": lambda: (today, today),
        "YESTERDAY": lambda: (today - one, today - one),
        "TOMORROW": lambda: (today + one, today + one),
    }
    if text in simple:
        return simple[text]()
    week0 = today - dt.timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
    quarter0 = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    anchors: dict[str, tuple[dt.date, int]] = {
        "MONTH": (_month_start(today), 1),
        "QUARTER": (quarter0, 3),
        "FISCAL_QUARTER": (quarter0, 3),
        "YEAR": (dt.date(today.year, 1, 1), 12),
        "FISCAL_YEAR": (dt.date(today.year, 1, 1), 12),
    }
    m = re.match(r"^(THIS|LAST|NEXT)_(WEEK|MONTH|QUARTER|YEAR|FISCAL_QUARTER|FISCAL_YEAR)$", text)
    if m:
        shift = {"THIS": 0, "LAST": -1, "NEXT": 1}[m.group(1)]
        if m.group(2) == "WEEK":
            start = week0 + dt.timedelta(days=7 * shift)
            return start, start + dt.timedelta(days=6)
        start, months = anchors[m.group(2)]
        return _period(_month_start(start, shift * months), months)
    m = re.match(r"^(LAST|NEXT)_N_(DAYS|MONTHS|YEARS):(\d+)$", text)
    if m:
        n = int(m.group(3))
        if m.group(2) == "DAYS":
            if m.group(1) == "LAST":
                return today - dt.timedelta(days=n), today
            return today + one, today + dt.timedelta(days=n)
        months = n if m.group(2) == "MONTHS" else 12 * n
        unit = _month_start(today) if m.group(2) == "MONTHS" else dt.date(today.year, 1, 1)
        if m.group(1) == "LAST":
            return _month_start(unit, -months), unit - one
        step = 1 if m.group(2) == "MONTHS" else 12
        return _period(_month_start(unit, step), months)
    m = re.match(r"^N_DAYS_AGO:(\d+)$", text)
    if m:
        day = today - dt.timedelta(days=int(m.group(1)))
        return day, day
    return None


def day_stamp(day: dt.date, end: bool) -> str:
    return day.isoformat() + ("T23:59:59.999+0000" if end else "T00:00:00.000+0000")
