"""The output seam: the same columns, names and values as pandas, polars and a pyarrow.Table."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from sfnotebook import _output, dtypes
from sfnotebook.errors import OutputLibraryMissingError, SfNotebookError
from sfnotebook.reports.frames import GRAND_TOTAL, report_aggregates, report_details
from sfnotebook.soql.records import QueryResult, records_frame
from tests.unit.test_dtypes import ROWS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


def py(value: Any) -> Any:
    """One cell as a plain Python value, whichever library held it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)  # pandas dates are midnight
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | np.ndarray):
        return [py(v) for v in value]
    return value


def columns_of(table: Any) -> dict[str, list[Any]]:
    """{column: values} of a pandas or polars frame or an Arrow table."""
    if isinstance(table, pd.DataFrame):
        return {str(c): [py(v) for v in table[c].tolist()] for c in table.columns}
    if isinstance(table, pl.DataFrame):
        return {c: [py(v) for v in table[c].to_list()] for c in table.columns}
    assert isinstance(table, pa.Table)
    return {c: [py(v) for v in table[c].to_pylist()] for c in table.column_names}


def assert_same(pandas: pd.DataFrame, polars: pl.DataFrame, arrow: pa.Table) -> None:
    """Same names, values, and the rows' types: the three outputs agree."""
    assert isinstance(pandas, pd.DataFrame)
    assert isinstance(polars, pl.DataFrame)
    assert isinstance(arrow, pa.Table)
    assert list(pandas.columns) == polars.columns == arrow.column_names
    assert pl.from_arrow(arrow).schema == polars.schema
    expected = columns_of(pandas)
    assert columns_of(arrow) == expected
    assert columns_of(polars) == expected


@pytest.mark.parametrize(("sf_type", "values"), [r[:2] for r in ROWS], ids=[r[0] for r in ROWS])
def test_each_row_comes_out_alike_in_all_three(sf_type: str, values: list[Any]) -> None:
    records = [{"F": v} for v in values]
    frames = {
        out: records_frame(records, describe={"F": sf_type}, output=out) for out in _output.OUTPUTS
    }
    row = dtypes.field_type(sf_type)
    assert frames["pandas"]["F"].dtype == row.pandas_dtype
    assert frames["arrow"].schema.field("F").type == row.arrow
    assert frames["polars"].schema["F"] == pl.from_arrow(pa.array([], type=row.arrow)).dtype
    if row.objects:  # anyType: Python objects in pandas, their JSON text in Arrow and polars
        texts = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
        assert frames["arrow"]["F"].to_pylist() == texts == frames["polars"]["F"].to_list()
        return
    assert_same(frames["pandas"], frames["polars"], frames["arrow"])


@pytest.mark.parametrize("out", _output.OUTPUTS)
def test_empty_result_keeps_names_and_types(out: str) -> None:
    frame = records_frame(
        [], columns=["Id", "Amount", "CloseDate"], describe={"Amount": "currency", "CloseDate": "date"},
        output=out,
    )  # fmt: skip
    assert len(frame) == 0
    if out == "arrow":
        assert frame.schema.types == [pa.string(), pa.float64(), pa.date32()]
    elif out == "polars":
        assert frame.schema.dtypes() == [pl.String, pl.Float64, pl.Date]


def test_split_multipicklist_is_lists_everywhere() -> None:
    records = [{"C": "A;B"}, {"C": None}, {"C": "C"}]
    frames = [
        records_frame(records, describe={"C": "multipicklist"}, split_multipicklist=True, output=o)
        for o in _output.OUTPUTS
    ]
    assert frames[2].schema.field("C").type == pa.list_(pa.string())
    assert frames[1].schema["C"] == pl.List(pl.String)
    assert_same(*frames)


def test_child_frames_come_out_in_the_chosen_library() -> None:
    records = [
        {"attributes": {"type": "Account"}, "Id": "001A", "Contacts": {"totalSize": 2, "done": True,
         "records": [{"attributes": {"type": "Contact"}, "Id": "003A", "Age__c": 30},
                     {"attributes": {"type": "Contact"}, "Id": "003B", "Age__c": None}]}},
        {"attributes": {"type": "Account"}, "Id": "001B", "Contacts": None},
    ]  # fmt: skip
    results = [records_frame(copy.deepcopy(records), output=o) for o in _output.OUTPUTS]
    assert all(isinstance(r, QueryResult) for r in results)
    assert_same(*(r.frame for r in results))
    assert_same(*(r["Contacts"] for r in results))
    assert results[2]["Contacts"].column_names == ["AccountId", "Id", "Age__c"]
    assert "children" in results[2]._repr_html_()  # an Arrow table has no HTML of its own


@pytest.mark.parametrize("name", ["summary_3.json", "matrix_2x2.json", "tabular.json"])
def test_report_details_agree(name: str) -> None:
    payload = load(name)
    assert_same(*(report_details(payload, output=o) for o in _output.OUTPUTS))


@pytest.mark.parametrize("name", ["summary_1.json", "summary_3.json", "matrix_2x2.json"])
def test_report_aggregates_levels_are_leading_columns(name: str) -> None:
    payload = load(name)
    pandas = report_aggregates(payload)
    polars = report_aggregates(payload, output="polars")
    arrow = report_aggregates(payload, output="arrow")
    levels = list(pandas.index.names)
    assert arrow.column_names[: len(levels)] == levels == polars.columns[: len(levels)]
    assert_same(pandas.reset_index(), polars, arrow)
    assert arrow.schema.field(levels[0]).type == pa.string()


def test_tabular_aggregates_have_no_level_columns() -> None:
    payload = load("tabular.json")
    pandas = report_aggregates(payload)
    assert list(pandas.index) == [GRAND_TOTAL]
    arrow = report_aggregates(payload, output="arrow")
    assert arrow.column_names == list(pandas.columns)
    assert_same(pandas, report_aggregates(payload, output="polars"), arrow)


def test_overrides_win_in_every_library() -> None:
    records = [{"Amount": 1.0}, {"Amount": None}]
    describe = {"Amount": "currency"}
    assert records_frame(records, describe=describe, dtypes={"Amount": "float32"},
                         output="arrow").schema.field("Amount").type == pa.float32()  # fmt: skip
    assert records_frame(records, describe=describe, dtypes={"Amount": pl.Float32},
                         output="polars").schema["Amount"] == pl.Float32  # fmt: skip
    assert records_frame(records, describe=describe, dtypes={"Amount": "Int64"},
                         output="polars").schema["Amount"] == pl.Int64  # fmt: skip
    for out in _output.OUTPUTS:
        with pytest.raises(KeyError, match="Amont"):
            records_frame(records, describe=describe, dtypes={"Amont": "float32"}, output=out)


def test_resolve_uses_the_connections_default() -> None:
    class Conn:
        output = "arrow"

    assert _output.resolve(None) == "pandas"
    assert _output.resolve(None, Conn()) == "arrow"
    assert _output.resolve("polars", Conn()) == "polars"
    with pytest.raises(ValueError, match='"pandas", "polars" or "arrow"'):
        _output.resolve("spark")  # type: ignore[arg-type]


def test_missing_polars_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars now raises ImportError
    monkeypatch.setattr(_output.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        OutputLibraryMissingError, match=r'pip install "sfnotebook\[polars\]"'
    ) as info:
        records_frame([{"Id": "a"}], output="polars")
    assert isinstance(info.value, SfNotebookError) and isinstance(info.value, ImportError)
    assert info.value.library == "polars"
    col = _output.Column("Id", dtypes.field_type("id"), [pa.array(["a"])])
    with pytest.raises(OutputLibraryMissingError):  # found but not importable: same error
        _output.table([col], rows=1, output="polars")


def test_converters_import_no_polars_unless_asked() -> None:
    import subprocess

    code = (
        "import sys, sfnotebook; "
        "sfnotebook.records_frame([{'Id': 'a'}], output='arrow'); "
        "sfnotebook.records_frame([{'Id': 'a'}]); "
        "print('polars' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
