"""Checks of the verbs' options, run before any request: a bad option never fails after a job.

Each raises ``ValueError`` (``TypeError`` for a wrong type) naming the option and what it takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["check_count", "check_dtypes", "check_progress", "check_seconds"]


def check_progress(value: object) -> None:
    """``progress=``: True, False or "auto"."""
    if value is not True and value is not False and value != "auto":
        raise ValueError(f'progress must be True, False or "auto", not {value!r}')


def check_count(
    name: str,
    value: object,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    optional: bool = False,
) -> None:
    """A whole number of rows, pages or threads, within ``[minimum, maximum]``."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = (
            f"from {minimum:,} to {maximum:,}" if maximum is not None else f"at least {minimum:,}"
        )
        raise ValueError(f"{name} must be {bound}, not {value!r}")


def check_seconds(name: str, value: object) -> None:
    """A duration in seconds, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{name} must be 0 or more seconds, not {value!r}")


def check_dtypes(dtypes: Mapping[str, object] | None, columns: Iterable[str]) -> None:
    """``dtypes=`` keys must name result columns (matched case-insensitively)."""
    if not dtypes:
        return
    if not isinstance(dtypes, Mapping):
        raise TypeError(f"dtypes must be a dict of {{column: dtype}}, not {dtypes!r}")
    known = list(columns)
    lowered = {c.lower() for c in known}
    unknown = [k for k in dtypes if str(k).lower() not in lowered]
    if unknown:
        raise KeyError(
            f"dtypes= names columns that the result does not have: {unknown}; columns are {known}"
        )
