"""Exports: the Excel file opens with its rows and types, CSV, time zones, atomic writes."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

import sfnotebook
from sfnotebook import errors, export
from sfnotebook.reports._result import ReportResult


def sample() -> pd.DataFrame:
    """Columns as the dtype table types them: text, Int64, boolean, float, UTC datetime, date."""
    return pd.DataFrame(
        {
            "Id": pd.array(["001A", "001B", None], dtype="string"),
            "Seats": pd.array([1, None, 3], dtype="Int64"),
            "Won": pd.array([True, None, False], dtype="boolean"),
            "Amount": [1500.5, None, 20.0],
            "CreatedDate": pd.to_datetime(
                ["2026-01-15T10:00:00Z", None, "2026-07-01T23:30:00Z"], utc=True
            ),
            "CloseDate": pd.to_datetime(["2026-01-31", None, "2026-03-04"]).astype("datetime64[s]"),
            "Values": [["a", "b"], [], None],
        }
    )


def cells(path: Path, sheet: str | None = None) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path)
    return list((book[sheet] if sheet else book.active).iter_rows(values_only=True))


# --------------------------------------------------------------------------- Excel


def test_excel_holds_the_rows_and_types(tmp_path: Path) -> None:
    path = sfnotebook.to_excel(sample(), tmp_path / "out.xlsx")
    assert path == tmp_path / "out.xlsx"
    rows = cells(path)
    assert rows[0] == ("Id", "Seats", "Won", "Amount", "CreatedDate", "CloseDate", "Values")
    assert rows[1] == (
        "001A", 1, True, 1500.5, dt.datetime(2026, 1, 15, 10, 0), dt.datetime(2026, 1, 31), "a; b"
    )  # fmt: skip
    assert rows[2] == ("001B", None, None, None, None, None, None)  # NA -> empty cells
    assert isinstance(rows[3][1], int) and rows[3][2] is False
    sheet = openpyxl.load_workbook(path).active
    assert sheet["E2"].number_format == "YYYY-MM-DD HH:MM:SS"
    assert sheet["F2"].number_format == "YYYY-MM-DD"  # a date column stays a date
    assert sheet.freeze_panes == "A2"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("UTC", dt.datetime(2026, 7, 1, 23, 30)),
        ("Europe/Paris", dt.datetime(2026, 7, 2, 1, 30)),  # summer time: UTC+2
        ("America/New_York", dt.datetime(2026, 7, 1, 19, 30)),
    ],
)
def test_datetimes_are_written_in_the_stated_zone(
    tmp_path: Path, tz: str, expected: dt.datetime
) -> None:
    path = sfnotebook.to_excel(sample(), tmp_path / "tz.xlsx", tz=tz)
    assert cells(path)[3][4] == expected


def test_tz_none_is_this_computers_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        frame = export.naive_frame(sample(), tz=None)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert frame["CreatedDate"][0] == pd.Timestamp("2026-01-15 19:00")  # UTC+9


def test_an_unknown_zone_is_refused_before_any_file(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="Unknown time zone") as info:
        sfnotebook.to_excel(sample(), tmp_path / "x.xlsx", tz="Mars/Olympus")
    assert info.value.argument == "tz"
    assert list(tmp_path.iterdir()) == []


def test_a_report_gets_details_and_aggregates_sheets(tmp_path: Path) -> None:
    details = sample()
    index = pd.MultiIndex.from_tuples(
        [("Closed Won", "East"), ("Closed Won", None)], names=["Stage", "Region"]
    )
    aggregates = pd.DataFrame(
        {"Record Count": pd.array([2, 3], dtype="Int64"), "Is Total": [False, True]}, index=index
    )
    payload = {"reportMetadata": {"name": "Pipeline", "reportFormat": "SUMMARY"}}
    result = ReportResult(details=details, aggregates=aggregates, payload=payload, runs=1)
    path = sfnotebook.to_excel(result, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Details", "Aggregates"]
    assert len(cells(path, "Details")) == 1 + len(details)
    agg = cells(path, "Aggregates")
    assert agg[0] == ("Stage", "Region", "Record Count", "Is Total")  # levels as columns
    assert agg[1] == ("Closed Won", "East", 2, False)


def test_polars_and_arrow_results(tmp_path: Path) -> None:
    table = pa.table(
        {
            "n": pa.array([1, None], pa.int64()),
            "at": pa.array([dt.datetime(2026, 1, 1, 12), None], pa.timestamp("ms", tz="UTC")),
            "day": pa.array([dt.date(2026, 2, 3), None], pa.date32()),
        }
    )
    rows = cells(sfnotebook.to_excel(table, tmp_path / "arrow.xlsx", tz="Europe/Paris"))
    assert rows[1] == (1, dt.datetime(2026, 1, 1, 13, 0), dt.datetime(2026, 2, 3))
    polars = pytest.importorskip("polars")
    rows = cells(sfnotebook.to_excel(polars.from_arrow(table), tmp_path / "polars.xlsx"))
    assert rows[1][:2] == (1, dt.datetime(2026, 1, 1, 12, 0))


def test_a_failed_write_keeps_the_earlier_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep.xlsx"
    sfnotebook.to_excel(sample(), path)
    before = path.read_bytes()

    def broken(book: Any, target: Any) -> None:
        Path(target).write_bytes(b"PK half a workbook")  # the disk filled up mid-way
        raise OSError(28, "No space left on device")

    import glob
    import tempfile

    spill = glob.glob(f"{tempfile.gettempdir()}/openpyxl.*")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken)
    with pytest.raises(errors.ExportError, match="No space left") as info:
        sfnotebook.to_excel(sample().head(1), path)
    assert info.value.path == str(path) and isinstance(info.value, OSError)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xlsx"]  # no temporary file left
    assert glob.glob(f"{tempfile.gettempdir()}/openpyxl.*") == spill  # nor openpyxl's


def test_an_interrupt_keeps_the_earlier_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep.csv"
    path.write_text("earlier\n")

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sfnotebook.to_csv(sample(), path)
    assert path.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_missing_openpyxl_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = export.importlib.util.find_spec
    monkeypatch.setattr(
        export.importlib.util, "find_spec", lambda name: None if name == "openpyxl" else real(name)
    )
    with pytest.raises(
        errors.OutputLibraryMissingError, match=r'pip install "sfnotebook\[excel\]"'
    ):
        sfnotebook.to_excel(sample(), tmp_path / "x.xlsx")


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("x.xls", errors.InvalidArgumentError, "writes .xlsx files"),
        ("missing/x.xlsx", errors.ExportError, "does not exist"),
    ],
)
def test_bad_paths(tmp_path: Path, name: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        sfnotebook.to_excel(sample(), tmp_path / name)


def test_too_many_rows_for_a_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 3)  # a 1,048,576-row frame would be slow
    with pytest.raises(errors.ExportError, match="do not fit an Excel sheet"):
        sfnotebook.to_excel(sample(), tmp_path / "big.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_character_excel_refuses_is_a_typed_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Body": pd.array(["ok", "bell\x07"], dtype="string")})
    with pytest.raises(errors.ExportError, match="Excel refused a value"):
        sfnotebook.to_excel(frame, tmp_path / "bell.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_text_too_long_for_a_cell(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"Body": pd.array(["x" * (export.EXCEL_MAX_CELL_CHARS + 1)], dtype="string")}
    )
    with pytest.raises(errors.ExportError, match="'Body' holds text of 32,768"):
        sfnotebook.to_excel(frame, tmp_path / "long.xlsx")


def test_not_a_frame() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="not dict"):
        export.naive_frame({"a": 1})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CSV


def test_csv_has_naive_times_blanks_and_whole_numbers(tmp_path: Path) -> None:
    path = sfnotebook.to_csv(sample(), tmp_path / "out.csv", tz="Europe/Paris")
    assert path.read_text().splitlines() == [
        "Id,Seats,Won,Amount,CreatedDate,CloseDate,Values",
        "001A,1,True,1500.5,2026-01-15 11:00:00,2026-01-31,a; b",
        "001B,,,,,,",
        ",3,False,20.0,2026-07-02 01:30:00,2026-03-04,",
    ]
    tsv = sfnotebook.to_csv(sample(), tmp_path / "out.tsv")
    assert tsv.read_text().splitlines()[0].split("\t")[:2] == ["Id", "Seats"]


def test_csv_with_a_bom_for_excel(tmp_path: Path) -> None:
    path = sfnotebook.to_csv(sample(), tmp_path / "bom.csv", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfId,")


# --------------------------------------------------------------------------- clipboard


def test_clipboard_gets_tab_separated_naive_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas.io.clipboard as clipboard

    copied: list[str] = []
    monkeypatch.setattr(clipboard, "clipboard_set", copied.append)
    sfnotebook.to_clipboard(sample(), tz="UTC")
    lines = copied[0].splitlines()
    assert lines[0].split("\t") == [
        "Id", "Seats", "Won", "Amount", "CreatedDate", "CloseDate", "Values"
    ]  # fmt: skip
    assert lines[1].split("\t")[4] == "2026-01-15 10:00:00"


def test_no_clipboard_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas.io.clipboard as clipboard
    from pandas.errors import PyperclipException

    def none(text: str) -> None:
        raise PyperclipException("could not find a copy/paste mechanism")

    monkeypatch.setattr(clipboard, "clipboard_set", none)
    with pytest.raises(errors.ExportError, match="No clipboard is reachable"):
        sfnotebook.to_clipboard(sample())


# --------------------------------------------------------------------------- df.sf accessor


def test_the_accessor(tmp_path: Path) -> None:
    frame = sample()
    path = frame.sf.to_excel(tmp_path / "acc.xlsx", tz="Europe/Paris", sheet_name="Deals")
    assert openpyxl.load_workbook(path).sheetnames == ["Deals"]
    assert frame.sf.to_csv(tmp_path / "acc.csv").exists()
    assert str(frame.sf.naive()["CreatedDate"].dtype).startswith("datetime64")
    export.register_accessor()  # again: no warning (filterwarnings = error)


def test_the_accessor_is_not_registered_by_import_sfnotebook() -> None:
    import subprocess
    import sys

    code = "import sfnotebook, sys; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_time_fields_are_times_of_day(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Start": pd.to_timedelta(["10:30:00.250", None, "00:00:05"])})
    sheet = openpyxl.load_workbook(sfnotebook.to_excel(frame, tmp_path / "t.xlsx")).active
    assert sheet["A2"].value == dt.time(10, 30, 0, 250000)
    assert sheet["A2"].number_format == "HH:MM:SS" and sheet["A3"].value is None
    text = sfnotebook.to_csv(frame, tmp_path / "t.csv").read_text().splitlines()
    assert text == ["Start", "10:30:00.250", '""', "00:00:05"]  # pandas quotes a lone blank
    longer = pd.DataFrame({"Took": pd.to_timedelta(["2 days 01:00:00"])})
    assert (
        sfnotebook.to_csv(longer, tmp_path / "d.csv")
        .read_text()
        .splitlines()[1]
        .startswith("2 days")
    )  # a duration, not a time of day: left as pandas writes it


def test_a_report_result_exports_itself(tmp_path: Path) -> None:
    payload = {"reportMetadata": {"name": "R", "reportFormat": "TABULAR"}}
    aggregates = pd.DataFrame({"Record Count": pd.array([3], dtype="Int64")})
    result = ReportResult(details=sample(), aggregates=aggregates, payload=payload, runs=1)
    path = result.to_excel(tmp_path / "r.xlsx", tz="Europe/Paris")
    assert openpyxl.load_workbook(path).sheetnames == ["Details", "Aggregates"]
    assert cells(path)[1][4] == dt.datetime(2026, 1, 15, 11, 0)
    assert result.to_csv(tmp_path / "r.csv").read_text().count("\n") == 1 + len(sample())


def test_arrow_backed_pandas_columns(tmp_path: Path) -> None:
    at = pa.array([dt.datetime(2026, 1, 1, 12), None, None], pa.timestamp("us", tz="UTC"))
    day = pa.array([dt.date(2026, 2, 3), None, dt.date(2026, 2, 4)], pa.date32())
    frame = pd.DataFrame(
        {
            "at": pd.Series(at, dtype=pd.ArrowDtype(at.type)),
            "day": pd.Series(day, dtype=pd.ArrowDtype(day.type)),
        }
    )
    rows = cells(sfnotebook.to_excel(frame, tmp_path / "a.xlsx", tz="Europe/Paris"))
    assert rows[1] == (dt.datetime(2026, 1, 1, 13, 0), dt.datetime(2026, 2, 3))
    assert rows[2] == (None, None)  # an empty row keeps its place
    assert rows[3] == (None, dt.datetime(2026, 2, 4))
