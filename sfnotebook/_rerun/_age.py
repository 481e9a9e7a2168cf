"""``cache=`` values: how old a cached result may be, read once, refused when unreadable."""

from __future__ import annotations

import datetime as dt
import math
import re

from sfnotebook.errors import InvalidArgumentError

__all__ = ["CacheAge", "describe_age", "parse_max_age"]

#: What ``cache=`` accepts: ``None``/``False`` (no cache), seconds, a timedelta or a duration text.
CacheAge = str | int | float | dt.timedelta | bool | None

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def parse_max_age(value: object, *, argument: str = "cache") -> float | None:
    """Seconds a cached result may be old, or ``None`` for no caching.

    ``"1h"``, ``"30min"``, ``"2d"``, ``"1h30m"``, ``"90 seconds"``, ``3600`` (seconds) and
    ``datetime.timedelta(hours=1)`` are read; ``None`` and ``False`` mean no cache. Anything else
    (``"soon"``, ``0``, ``-5``, ``True``, ``"1 fortnight"``) raises
    :class:`~sfnotebook.errors.InvalidArgumentError` before any request.
    """
    if value is None or value is False:
        return None
    seconds: float | None = None
    if isinstance(value, bool):
        seconds = None  # True says nothing about how old a result may be
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        seconds = _parse_text(value)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise InvalidArgumentError(
            f"{argument}={value!r} is not a maximum age: give a duration such as "
            f'{argument}="1h", "30min", "2d", a number of seconds ({argument}=3600) or a '
            f"datetime.timedelta; {argument}=None turns the cache off. Nothing was sent.",
            argument=argument,
        )
    return seconds


def _parse_text(text: str) -> float | None:
    compact = text.strip().lower()
    if not compact:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", compact):
        return float(compact)  # "3600": seconds, as an int would be
    total = 0.0
    at = 0
    for match in _PART.finditer(compact):
        if compact[at : match.start()].strip(" ,"):
            return None  # something between the parts that is not a duration
        unit = _UNITS.get(match.group(2))
        if unit is None:
            return None
        total += float(match.group(1)) * unit
        at = match.end()
    if at == 0 or compact[at:].strip():
        return None
    return total


def describe_age(seconds: float) -> str:
    """``"12 min old"``-style wording for an age in seconds."""
    if seconds < 60:
        return f"{max(int(seconds), 0)} s old"
    if seconds < 3600:
        return f"{int(seconds // 60)} min old"
    if seconds < 86400:
        hours, minutes = divmod(int(seconds // 60), 60)
        return f"{hours} h {minutes} min old" if minutes else f"{hours} h old"
    days, rest = divmod(int(seconds), 86400)
    return f"{days} d {rest // 3600} h old" if rest >= 3600 else f"{days} d old"
