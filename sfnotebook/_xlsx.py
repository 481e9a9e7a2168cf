"""Excel sheets written fast: openpyxl's write-only workbook, fed column by column.

pandas' ``to_excel`` builds every cell as an object of a full in-memory workbook and then
serialises it (about 35 s for 48,000 rows x 6 columns here); openpyxl's write-only mode
streams rows instead, with a styled cell only where a format is needed (dates, date-times,
times). The frames arrive ready (:func:`sfnotebook.export.naive_frame`): naive date-times,
dates as ``datetime.date``, missing values as NA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DATETIME_FORMAT", "DATE_FORMAT", "TIME_FORMAT", "write_workbook"]

DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DD HH:MM:SS"
TIME_FORMAT = "HH:MM:SS"
_WIDTH_SAMPLE = 1_000  # rows read to size each column
_MAX_WIDTH = 60
_DAY = pd.Timedelta(days=1)


def _values(column: pd.Series) -> tuple[list[Any], str | None]:
    """The column as Python values (None for missing) and the number format it needs."""
    dtype = column.dtype
    missing = column.isna().to_numpy()
    if dtype.kind == "M":
        values = [None if m else v for v, m in zip(column.dt.to_pydatetime(), missing, strict=True)]
        return values, DATETIME_FORMAT
    if dtype.kind == "m":
        inside = column.dropna()
        if ((inside < pd.Timedelta(0)) | (inside >= _DAY)).any():
            return [None if m else str(v) for v, m in zip(column, missing, strict=True)], None
        base = dt.datetime(2000, 1, 1)
        return [None if m else (base + v).time() for v, m in zip(column, missing, strict=True)], (
            TIME_FORMAT
        )
    values = column.astype(object).tolist()
    values = [None if m else v for v, m in zip(values, missing, strict=True)]
    if dtype.kind == "O" and any(isinstance(v, dt.date) for v in values[:_WIDTH_SAMPLE]):
        return values, DATE_FORMAT
    return values, None


def _width(name: Any, values: Sequence[Any]) -> float:
    sample = values[:_WIDTH_SAMPLE]
    widest = max([len(str(name)), *(len(str(v)) for v in sample if v is not None)])
    return float(min(widest + 2, _MAX_WIDTH))


def _sheet(book: Any, name: str, frame: pd.DataFrame) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    columns: list[list[Any]] = []
    makers: list[Callable[[Any], Any] | None] = []
    for i in range(frame.shape[1]):
        values, number_format = _values(frame.iloc[:, i])
        columns.append(values)
        sheet.column_dimensions[get_column_letter(i + 1)].width = _width(frame.columns[i], values)
        if number_format is None:
            makers.append(None)
        else:

            def styled(value: Any, number_format: str = number_format) -> Any:
                if value is None:
                    return None
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                return cell

            makers.append(styled)
    sheet.append([str(c) for c in frame.columns])
    styled_at = [(i, make) for i, make in enumerate(makers) if make is not None]
    for row in zip(*columns, strict=True):
        if styled_at:
            row = list(row)  # type: ignore[assignment]
            for i, make in styled_at:
                row[i] = make(row[i])  # type: ignore[index]
        sheet.append(row)


def write_workbook(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]]) -> None:
    """Write ``sheets`` (name, ready frame) to ``path`` as one ``.xlsx`` workbook."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    try:
        for name, frame in sheets:
            _sheet(book, name, frame)
        book.save(path)
    except BaseException:
        _discard(book)
        raise


def _discard(book: Any) -> None:
    """After a failure: end each sheet's row stream and delete its temporary file at once.

    A write-only sheet streams its rows to a temporary file (openpyxl's, 0600, removed at
    exit otherwise); left open, its stream would also fail noisily when garbage-collected.
    """
    for sheet in book.worksheets:
        writer = getattr(sheet, "_writer", None)
        for stream in (getattr(sheet, "_rows", None), getattr(writer, "xf", None)):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(Exception):
            if writer is not None:
                writer.cleanup()
