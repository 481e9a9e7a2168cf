"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER, ...) as half-open date ranges.

Every literal is evaluated against the real current UTC date (the demo org's users all live in
UTC, and the fiscal year starts in January, as in a default org). A range ``[start, end)`` is
compared with a date field as dates and with a datetime field as the whole UTC days it covers,
as Salesforce does.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["date_literal_range", "datetime_literal_to_storage", "day_start"]


def _add_months(d: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` away from ``d``'s month."""
    total = d.year * 12 + (d.month - 1) + months
    return dt.date(total // 12, total % 12 + 1, 1)


def _week_start(d: dt.date) -> dt.date:
    # Salesforce weeks start on Sunday in the default (en_US) locale.
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def _quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def date_literal_range(
    name: str, n: int | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The half-open range ``[start, end)`` of days a date literal covers.

    Parameters
    ----------
    name
        The literal, upper-case (``"LAST_N_DAYS"``).
    n
        The ``:n`` argument for the ``*_N_*`` literals, else ``None``.
    today
        The reference day (default: the current UTC date).

    Examples
    --------
    >>> date_literal_range("THIS_MONTH", None, dt.date(2024, 2, 10))
    (datetime.date(2024, 2, 1), datetime.date(2024, 3, 1))
    """
    t = today or dt.datetime.now(dt.timezone.utc).date()
    day = dt.timedelta(days=1)
    k = n or 0
    name = name.replace("_FISCAL", "")  # fiscal year = calendar year in the demo org
    if name == "TODAY":
        return t, t + day
    if name == "YESTERDAY":
        return t - day, t
    if name == "TOMORROW":
        return t + day, t + 2 * day
    if name in ("LAST_WEEK", "THIS_WEEK", "NEXT_WEEK"):
        w = _week_start(t) + dt.timedelta(weeks={"LAST": -1, "THIS": 0, "NEXT": 1}[name[:4]])
        return w, w + dt.timedelta(weeks=1)
    if name in ("LAST_MONTH", "THIS_MONTH", "NEXT_MONTH"):
        m = _add_months(t, {"LAST": -1, "THIS": 0, "NEXT": 1}[name[:4]])
        return m, _add_months(m, 1)
    if name in ("LAST_QUARTER", "THIS_QUARTER", "NEXT_QUARTER"):
        q = _add_months(_quarter_start(t), 3 * {"LAST": -1, "THIS": 0, "NEXT": 1}[name[:4]])
        return q, _add_months(q, 3)
    if name in ("LAST_YEAR", "THIS_YEAR", "NEXT_YEAR"):
        y = t.year + {"LAST": -1, "THIS": 0, "NEXT": 1}[name[:4]]
        return dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
    if name == "LAST_90_DAYS":
        return t - 90 * day, t + day
    if name == "NEXT_90_DAYS":
        return t + day, t + 91 * day
    # The :n literals. LAST_N_DAYS includes today; NEXT_N_DAYS starts tomorrow.
    if name == "LAST_N_DAYS":
        return t - k * day, t + day
    if name == "NEXT_N_DAYS":
        return t + day, t + (k + 1) * day
    if name == "N_DAYS_AGO":
        return t - k * day, t - (k - 1) * day
    if name == "LAST_N_WEEKS":
        w = _week_start(t)
        return w - dt.timedelta(weeks=k), w
    if name == "NEXT_N_WEEKS":
        w = _week_start(t) + dt.timedelta(weeks=1)
        return w, w + dt.timedelta(weeks=k)
    if name == "N_WEEKS_AGO":
        w = _week_start(t) - dt.timedelta(weeks=k)
        return w, w + dt.timedelta(weeks=1)
    if name == "LAST_N_MONTHS":
        m = _add_months(t, 0)
        return _add_months(m, -k), m
    if name == "NEXT_N_MONTHS":
        m = _add_months(t, 1)
        return m, _add_months(m, k)
    if name == "N_MONTHS_AGO":
        m = _add_months(t, -k)
        return m, _add_months(m, 1)
    if name == "LAST_N_QUARTERS":
        q = _quarter_start(t)
        return _add_months(q, -3 * k), q
    if name == "NEXT_N_QUARTERS":
        q = _add_months(_quarter_start(t), 3)
        return q, _add_months(q, 3 * k)
    if name == "N_QUARTERS_AGO":
        q = _add_months(_quarter_start(t), -3 * k)
        return q, _add_months(q, 3)
    if name == "LAST_N_YEARS":
        return dt.date(t.year - k, 1, 1), dt.date(t.year, 1, 1)
    if name == "NEXT_N_YEARS":
        return dt.date(t.year + 1, 1, 1), dt.date(t.year + 1 + k, 1, 1)
    if name == "N_YEARS_AGO":
        return dt.date(t.year - k, 1, 1), dt.date(t.year - k + 1, 1, 1)
    raise ValueError(f"unknown date literal {name}")


def day_start(d: dt.date) -> str:
    """The datetime storage text of midnight UTC at the start of ``d``."""
    return f"{d.isoformat()}T00:00:00.000+0000"


def datetime_literal_to_storage(text: str) -> str:
    """A SOQL datetime literal (``Z`` or ``+hh:mm``) as UTC storage text."""
    s = text.replace("Z", "+00:00")
    if len(s) >= 5 and s[-5] in "+-" and ":" not in s[-5:]:
        s = s[:-2] + ":" + s[-2:]  # +0100 -> +01:00
    value = dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
