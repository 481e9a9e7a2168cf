"""Exports that work: any result to Excel, CSV or the clipboard in one call.

``sfnotebook.to_excel(result, "pipeline.xlsx")`` takes what the verbs return (a pandas
DataFrame, a :class:`~sfnotebook.reports.ReportResult`, a polars DataFrame or a
``pyarrow.Table``) and writes it so that it opens as the analyst expects:

* **Datetimes** (Salesforce sends them in UTC; sfnotebook keeps them time-zone aware) are
  written as plain date-times in one stated zone: ``tz="UTC"`` (the default), ``tz=None`` for
  the analyst's own zone (this computer's, daylight saving included), or a zone name such as
  ``"Europe/Paris"``. Excel has no time zones: ``DataFrame.to_excel`` refuses aware
  datetimes, and writing them "as is" would silently shift them.
* **Types are kept**: whole numbers stay whole numbers, nullable ones (``Int64``) and
  nullable booleans are written as numbers and booleans with empty cells for missing values,
  date columns as dates (not date-times), time fields as times of day, lists (picklist
  values) as ``a; b`` text.
* **Nothing is destroyed on failure**: the file is written to a temporary file in the same
  folder and renamed over the target only once complete (an atomic rename), so an error, an
  interrupt or a full disk leaves an earlier file as it was. Files are created readable by
  the user only (0600), as every file sfnotebook writes.
* **Typed errors**: no openpyxl -> :class:`~sfnotebook.errors.OutputLibraryMissingError`
  saying ``pip install "sfnotebook[excel]"``; too many rows for a sheet, a missing folder, an
  unknown zone, no clipboard -> :class:`~sfnotebook.errors.ExportError` or
  :class:`~sfnotebook.errors.InvalidArgumentError` saying what to do.

A report's Excel file gets two sheets: the detail rows, and the aggregates (groups, subtotals
and grand total, grouping levels as columns). Its CSV is the detail rows
(``to_csv(res.aggregates, ...)`` writes the other part).

The ``df.sf`` accessor (``df.sf.to_excel(path)``, ``df.sf.to_csv(path)``,
``df.sf.to_clipboard()``, ``df.sf.naive()``) is registered when a wing or this module is
imported (:func:`register_accessor`), never by ``import sfnotebook`` (which must not import
pandas).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sfnotebook._naive import (
    ReportResult,
    Zone,
    is_report,
    is_time_of_day,
    naive_frame,
    time_text,
)
from sfnotebook.errors import ExportError, InvalidArgumentError, OutputLibraryMissingError

if TYPE_CHECKING:
    from sfnotebook._api import Frame

__all__ = [
    "ReportResult",
    "naive_frame",
    "register_accessor",
    "to_clipboard",
    "to_csv",
    "to_excel",
]

#: Excel's sheet size (Excel specifications and limits): 1,048,576 rows (one is the header)
#: and 16,384 columns; 32,767 characters in a cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767


# --------------------------------------------------------------------------- atomic files


def _target(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> Path:
    target = Path(path).expanduser()
    if target.suffix.lower() not in suffixes:
        raise InvalidArgumentError(
            f"{what} writes {' or '.join(suffixes)} files: {str(target)!r} has another "
            f"extension; name it {target.stem}{suffixes[0]}.",
            argument="path",
        )
    if target.is_dir():
        raise ExportError(f"{str(target)!r} is a folder: give a file name.", path=str(target))
    if not target.parent.is_dir():
        raise ExportError(
            f"The folder {str(target.parent)!r} does not exist: create it first "
            f"(Path({str(target.parent)!r}).mkdir(parents=True)).",
            path=str(target),
        )
    return target


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed over it only if the block succeeds."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)  # mkstemp made it 0600; the writers reopen it by name
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)  # atomic on one file system: the old file or the new
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write(target: Path, writer: Callable[[Path], None]) -> Path:
    try:
        with _atomic(target) as temporary:
            writer(temporary)
    except (ExportError, InvalidArgumentError, OutputLibraryMissingError):
        raise
    except OSError as exc:
        raise ExportError(
            f"Could not write {str(target)!r}: {exc.strerror or exc}. Any earlier file there is "
            "unchanged.",
            path=str(target),
        ) from exc
    return target


# --------------------------------------------------------------------------- Excel


def _illegal() -> type[Exception]:
    from openpyxl.utils.exceptions import IllegalCharacterError

    return IllegalCharacterError


def _need_openpyxl() -> None:
    if importlib.util.find_spec("openpyxl") is None:
        raise OutputLibraryMissingError(
            'Excel export needs openpyxl, which is not installed: pip install "sfnotebook[excel]" '
            "(or pip install openpyxl); or write CSV with sfnotebook.to_csv.",
            library="openpyxl",
        )


def _check_sheet(frame: pd.DataFrame, sheet: str, target: Path) -> None:
    rows, columns = frame.shape
    if rows + 1 > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:
        raise ExportError(
            f"{rows:,} rows x {columns:,} columns do not fit an Excel sheet ({sheet!r}): Excel "
            f"holds {EXCEL_MAX_ROWS - 1:,} rows (plus the header) and {EXCEL_MAX_COLUMNS:,} "
            "columns. Write CSV (sfnotebook.to_csv) or Parquet (df.to_parquet) instead.",
            path=str(target),
        )
    for i in range(columns):
        column = frame.iloc[:, i]
        name = frame.columns[i]
        if isinstance(column.dtype, pd.StringDtype):
            longest = column.str.len().max()
        elif column.dtype.kind == "O":
            longest = column.map(lambda v: len(v) if isinstance(v, str) else 0).max()
        else:
            continue
        if pd.notna(longest) and longest > EXCEL_MAX_CELL_CHARS:
            raise ExportError(
                f"Column {name!r} holds text of {int(longest):,} characters; an Excel cell "
                f"holds {EXCEL_MAX_CELL_CHARS:,} (longer text would be cut). Write CSV "
                "(sfnotebook.to_csv) instead, or shorten the column first.",
                path=str(target),
            )


def _sheet_name(name: str) -> str:
    """A name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in name).strip("'") or "Sheet1"
    return cleaned[:31]


def to_excel(
    result: Frame | ReportResult | pd.Series,
    path: str | os.PathLike[str],
    *,
    tz: Zone = "UTC",
    sheet_name: str | None = None,
) -> Path:
    """Write a result to an Excel file (``.xlsx``) that opens with its types and times right.

    Parameters
    ----------
    result
        A pandas DataFrame or Series, a report result (``org.report``: a "Details" sheet and
        an "Aggregates" sheet), a polars DataFrame or a ``pyarrow.Table``.
    path : str or path-like
        The ``.xlsx`` file. Replaced whole if it exists, and only once the new file is
        complete: after an error the earlier file is unchanged.
    tz : str or None
        The zone date-times are written in: ``"UTC"`` (default), a zone name such as
        ``"Europe/Paris"``, or ``None`` for this computer's zone. Excel has no time zones.
    sheet_name : str, optional
        The sheet's name (a report's detail sheet); default ``"Sheet1"``, or ``"Details"``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OutputLibraryMissingError
        openpyxl is not installed: ``pip install "sfnotebook[excel]"``.
    ExportError
        The folder does not exist, the rows do not fit a sheet, or the file could not be
        written (the earlier file, if any, is left as it was).

    Examples
    --------
    >>> df = org.query("SELECT Id, Name, CreatedDate FROM Account")      # doctest: +SKIP
    >>> sfnotebook.to_excel(df, "accounts.xlsx", tz="Europe/Paris")       # doctest: +SKIP
    """
    _need_openpyxl()
    zone = tz  # validated below, before any file is touched
    target = _target(path, (".xlsx",), "to_excel")
    sheets: list[tuple[str, pd.DataFrame]] = []
    if is_report(result):
        details = naive_frame(getattr(result, "details"), tz=zone)  # noqa: B009
        sheets.append((_sheet_name(sheet_name or "Details"), details))
        aggregates = getattr(result, "aggregates", None)
        if aggregates is not None and len(aggregates.columns):
            sheets.append(("Aggregates", naive_frame(aggregates, tz=zone)))
    else:
        sheets.append((_sheet_name(sheet_name or "Sheet1"), naive_frame(result, tz=zone)))
    for name, frame in sheets:
        _check_sheet(frame, name, target)

    def write(temporary: Path) -> None:
        from sfnotebook._xlsx import write_workbook

        write_workbook(temporary, sheets)

    try:
        return _write(target, write)
    except (ValueError, TypeError, _illegal()) as exc:  # openpyxl refused a cell's value
        raise ExportError(
            f"Excel refused a value: {exc}. Clean the column first, or write CSV "
            "(sfnotebook.to_csv). Any earlier file is unchanged.",
            path=str(target),
        ) from exc


# --------------------------------------------------------------------------- CSV and clipboard


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Times of day as ``HH:MM:SS`` text (pandas would write ``0 days 10:30:00``)."""
    times = [i for i in range(frame.shape[1]) if is_time_of_day(frame.iloc[:, i])]
    if not times:
        return frame
    frame = frame.copy()
    for i in times:
        frame.isetitem(i, time_text(frame.iloc[:, i]))
    return frame


def to_csv(
    result: Frame | ReportResult | pd.Series,
    path: str | os.PathLike[str],
    *,
    tz: Zone = "UTC",
    encoding: str = "utf-8",
) -> Path:
    """Write a result to a CSV file: a header row, naive date-times in ``tz``, blanks for NA.

    Parameters
    ----------
    result
        A pandas DataFrame or Series, a report result (its detail rows), a polars DataFrame
        or a ``pyarrow.Table``.
    path : str or path-like
        The ``.csv`` file. Replaced whole, only once complete (an earlier file survives an
        error).
    tz : str or None
        The zone date-times are written in: ``"UTC"`` (default), a zone name, or ``None``
        for this computer's zone.
    encoding : str
        ``"utf-8"`` (default); ``"utf-8-sig"`` adds the mark Excel needs to read accents in
        a CSV file right.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> sfnotebook.to_csv(org.report("Pipeline by Stage"), "pipeline.csv")  # doctest: +SKIP
    """
    frame = _csv_ready(naive_frame(result, tz=tz))
    target = _target(path, (".csv", ".txt", ".tsv"), "to_csv")
    sep = "\t" if target.suffix.lower() == ".tsv" else ","

    def write(temporary: Path) -> None:
        frame.to_csv(temporary, index=False, sep=sep, encoding=encoding, lineterminator="\n")

    return _write(target, write)


def to_clipboard(result: Frame | ReportResult | pd.Series, *, tz: Zone = "UTC") -> None:
    """Copy a result to the clipboard as tab-separated text, ready to paste into Excel.

    The clipboard is the one of the computer running Python: with a Jupyter server on
    another machine, paste there, or download a file (``to_excel``) instead.

    Parameters
    ----------
    result
        A pandas DataFrame or Series, a report result (its detail rows), a polars DataFrame
        or a ``pyarrow.Table``.
    tz : str or None
        The zone date-times are written in: ``"UTC"`` (default), a zone name, or ``None``.

    Raises
    ------
    ExportError
        No clipboard is reachable (on Linux pandas needs ``xclip``, ``xsel`` or
        ``wl-clipboard``; a headless server has none).

    Examples
    --------
    >>> sfnotebook.to_clipboard(df.head(50))  # doctest: +SKIP
    """
    frame = _csv_ready(naive_frame(result, tz=tz))
    from pandas.errors import PyperclipException

    try:
        frame.to_clipboard(excel=True, index=False)
    except PyperclipException as exc:
        raise ExportError(
            "No clipboard is reachable from this Python process (on Linux pandas needs "
            "xclip, xsel or wl-clipboard, and a display; a remote or headless Jupyter server "
            "has none). Write a file instead: sfnotebook.to_excel(df, 'data.xlsx') or to_csv."
        ) from exc


# --------------------------------------------------------------------------- df.sf accessor


class SfAccessor:
    """``df.sf``: sfnotebook's exports on any pandas DataFrame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_excel(
        self, path: str | os.PathLike[str], *, tz: Zone = "UTC", sheet_name: str | None = None
    ) -> Path:
        """:func:`sfnotebook.to_excel` of this frame."""
        return to_excel(self._frame, path, tz=tz, sheet_name=sheet_name)

    def to_csv(
        self, path: str | os.PathLike[str], *, tz: Zone = "UTC", encoding: str = "utf-8"
    ) -> Path:
        """:func:`sfnotebook.to_csv` of this frame."""
        return to_csv(self._frame, path, tz=tz, encoding=encoding)

    def to_clipboard(self, *, tz: Zone = "UTC") -> None:
        """:func:`sfnotebook.to_clipboard` of this frame."""
        to_clipboard(self._frame, tz=tz)

    def naive(self, *, tz: Zone = "UTC") -> pd.DataFrame:
        """:func:`naive_frame` of this frame: naive datetimes in ``tz``, dates as dates."""
        return naive_frame(self._frame, tz=tz)


def register_accessor() -> None:
    """Register ``df.sf`` once (pandas warns when an accessor is registered twice)."""
    if "sf" in getattr(pd.DataFrame, "_accessors", set()) or isinstance(
        getattr(pd.DataFrame, "sf", None), type
    ):
        return
    pd.api.extensions.register_dataframe_accessor("sf")(SfAccessor)


register_accessor()
