"""Frames made ready for Excel and CSV: naive date-times in one zone, dates as dates.

Shared by :mod:`sfnotebook.export` (the files) and its ``df.sf.naive()``. Pure: no I/O.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from sfnotebook.errors import InvalidArgumentError

if TYPE_CHECKING:
    from sfnotebook._api import Frame

__all__ = ["ReportResult", "Zone", "is_report", "is_time_of_day", "naive_frame", "time_text"]

Zone = str | None


class ReportResult(Protocol):
    """What an export reads of a :class:`sfnotebook.reports.ReportResult` (typed by shape:
    the report wing's frames import this module's accessor, so it cannot import them)."""

    details: Frame
    aggregates: Frame


def _zone(tz: Zone) -> Any:
    """The tzinfo for ``tz``: a zone name, ``None`` (this computer's zone) or ``"UTC"``."""
    if tz is None:
        from dateutil.tz import tzlocal  # a pandas dependency; follows daylight saving

        return tzlocal()
    if not isinstance(tz, str) or not tz.strip():
        raise InvalidArgumentError(
            f'tz must be a time zone name such as "UTC" or "Europe/Paris", or None for this '
            f"computer's zone, not {tz!r}.",
            argument="tz",
        )
    try:
        return zoneinfo.ZoneInfo(tz.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgumentError(
            f'Unknown time zone {tz!r}: use an IANA name such as "UTC", "Europe/Paris" or '
            '"America/New_York" (zoneinfo.available_timezones() lists them), or tz=None for '
            "this computer's zone.",
            argument="tz",
        ) from exc


def _to_pandas(result: Any, what: str) -> pd.DataFrame:
    """A pandas frame of ``result``: pandas as is, polars/Arrow converted, a Series framed."""
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame()
    module = type(result).__module__.split(".")[0]
    if module in ("polars", "pyarrow") and hasattr(result, "to_pandas"):
        frame = result.to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise InvalidArgumentError(
        f"{what} takes a pandas DataFrame, a report result (org.report), a polars DataFrame "
        f"or a pyarrow.Table, not {type(result).__name__}.",
        argument="result",
    )


def is_report(result: Any) -> bool:
    """A report result (anything with ``details`` and ``aggregates`` that is not a frame)."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return False  # a column named "details" is not a report
    return hasattr(result, "details") and hasattr(result, "aggregates")


def _flat_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The index as leading columns unless it is the default 0..n-1 (report group levels)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    if index.nlevels == 1 and index.name is None and not isinstance(index, pd.DatetimeIndex):
        return frame.reset_index(drop=True)
    taken = set(map(str, frame.columns))
    names = [
        n if n is not None and str(n) not in taken else f"level_{i}"
        for i, n in enumerate(index.names)
    ]
    return frame.rename_axis(names).reset_index()


def _cell_text(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def _column(series: pd.Series, zone: Any) -> pd.Series:
    """One column as Excel and CSV readers expect it (see the module docstring)."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_timestamp(arrow) and arrow.tz is not None:
            series = series.astype(f"datetime64[ns, {arrow.tz}]")
            dtype = series.dtype
        elif pa.types.is_date(arrow):
            return series.astype(object).where(series.notna(), None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert(zone).dt.tz_localize(None)
    if dtype.kind == "M":  # naive: Salesforce's date fields; all midnights -> dates
        values = series.dropna()
        if len(values) and (values == values.dt.normalize()).all():
            return pd.Series(
                [None if pd.isna(v) else v.date() for v in series],
                index=series.index,
                name=series.name,
                dtype=object,
            )
        return series
    if pd.api.types.is_object_dtype(dtype):
        return series.map(_cell_text, na_action="ignore")
    return series


_DAY = pd.Timedelta(days=1)


def is_time_of_day(series: pd.Series) -> bool:
    """A duration column whose values all lie within one day (Salesforce time fields)."""
    if series.dtype.kind != "m":
        return False
    values = series.dropna()
    return not ((values < pd.Timedelta(0)) | (values >= _DAY)).any()


def time_text(series: pd.Series) -> pd.Series:
    """Times of day as ``10:30:00`` (``10:30:00.250`` with milliseconds) for CSV."""

    def text(value: pd.Timedelta) -> str:
        seconds = int(value.total_seconds())
        out = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        millis = value.microseconds // 1000
        return f"{out}.{millis:03d}" if millis else out

    return series.map(text, na_action="ignore").astype(object)


def naive_frame(result: Frame | ReportResult | pd.Series, *, tz: Zone = "UTC") -> pd.DataFrame:
    """A copy of ``result`` ready for Excel or CSV: naive datetimes in ``tz``, dates as dates.

    Parameters
    ----------
    result
        A pandas DataFrame (or Series), a report result (its detail rows), a polars DataFrame
        or a ``pyarrow.Table``.
    tz : str or None
        The zone the naive date-times are expressed in: ``"UTC"`` (default), a zone name
        (``"Europe/Paris"``) or ``None`` for this computer's zone.

    Returns
    -------
    pandas.DataFrame
        Time-zone-aware columns converted to ``tz`` and made naive; naive columns holding only
        midnights (Salesforce date fields) as ``datetime.date``; lists as ``a; b`` text; a
        non-default index (report group levels) as leading columns.

    Examples
    --------
    >>> df.sf.naive(tz="Europe/Paris")  # doctest: +SKIP
    """
    zone = _zone(tz)
    if is_report(result):
        result = getattr(result, "details")  # noqa: B009 - a ReportResult, typed as Any here
    frame = _flat_index(_to_pandas(result, "naive_frame"))
    return pd.DataFrame(
        {i: _column(frame.iloc[:, i], zone) for i in range(frame.shape[1])}
    ).set_axis(frame.columns, axis=1)
