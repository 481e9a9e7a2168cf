"""The Salesforce type -> pandas dtype table: one test per row, then the edges around it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sfnotebook import _output, dtypes
from sfnotebook._output import pandas_column


def finalize(chunks: Any, sf_type: str | None, *, split_multipicklist: bool = False) -> Any:
    """Step 2 as the output seam does it for pandas."""
    return pandas_column(
        dtypes.field_type(sf_type), list(chunks), split_multipicklist=split_multipicklist
    )


def apply_overrides(frame: Any, overrides: Any) -> Any:
    return _output.apply_overrides(frame, overrides, "pandas")


STRING = pd.StringDtype("pyarrow")

# (Salesforce type, JSON values as the REST API sends them, expected dtype, expected values)
ROWS: list[tuple[str, list[Any], Any, list[Any]]] = [
    ("id", ["001Dm0000AukyoaIQA", None], STRING, ["001Dm0000AukyoaIQA", pd.NA]),
    ("reference", ["005Dm0000AukyoaIQA", None], STRING, ["005Dm0000AukyoaIQA", pd.NA]),
    ("string", ["02134", None], STRING, ["02134", pd.NA]),  # a zip code stays text
    ("picklist", ["Closed Won", None], STRING, ["Closed Won", pd.NA]),
    ("combobox", ["Other", None], STRING, ["Other", pd.NA]),
    ("textarea", ["line 1\nline 2", None], STRING, ["line 1\nline 2", pd.NA]),
    ("email", ["a@example.com", None], STRING, ["a@example.com", pd.NA]),
    ("phone", ["(415) 555-0100", None], STRING, ["(415) 555-0100", pd.NA]),
    ("url", ["https://example.com", None], STRING, ["https://example.com", pd.NA]),
    ("encryptedstring", ["****1234", None], STRING, ["****1234", pd.NA]),
    ("base64", ["/services/data/v68.0/sobjects/Document/015/Body", None], STRING,
     ["/services/data/v68.0/sobjects/Document/015/Body", pd.NA]),
    ("datacategorygroupreference", ["Products", None], STRING, ["Products", pd.NA]),
    ("complexvalue", ["{}", None], STRING, ["{}", pd.NA]),
    ("json", ['{"a": 1}', None], STRING, ['{"a": 1}', pd.NA]),
    ("multipicklist", ["A;B", None], STRING, ["A;B", pd.NA]),
    ("boolean", [True, False, None], pd.BooleanDtype(), [True, False, pd.NA]),
    ("int", [250, None], pd.Int64Dtype(), [250, pd.NA]),
    ("long", [9007199254740993, None], pd.Int64Dtype(), [9007199254740993, pd.NA]),
    ("double", [1.5, 2, None], pd.Float64Dtype(), [1.5, 2.0, pd.NA]),
    ("currency", [1200000.5, None], pd.Float64Dtype(), [1200000.5, pd.NA]),
    ("percent", [10, None], pd.Float64Dtype(), [10.0, pd.NA]),  # percent units: 10 = 10%
    ("number", [3, 2.5, None], pd.Float64Dtype(), [3.0, 2.5, pd.NA]),  # a report dataType
    ("date", ["2024-01-31", "4000-12-31", None], np.dtype("datetime64[s]"),
     [pd.Timestamp("2024-01-31"), pd.Timestamp("4000-12-31"), pd.NaT]),
    ("datetime", ["2024-01-31T18:25:43.000+0000", None], pd.DatetimeTZDtype("ns", "UTC"),
     [pd.Timestamp("2024-01-31T18:25:43", tz="UTC"), pd.NaT]),
    ("time", ["13:30:00.000Z", None], np.dtype("timedelta64[ns]"),
     [pd.Timedelta(hours=13, minutes=30), pd.NaT]),
    ("anyType", [1, "x", None], np.dtype(object), [1, "x", None]),
]  # fmt: skip


def _values(series: pd.Series) -> list[Any]:
    return [pd.NA if v is pd.NA else v for v in series.tolist()]


@pytest.mark.parametrize(("sf_type", "values", "dtype", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_table_row(sf_type: str, values: list[Any], dtype: Any, expected: list[Any]) -> None:
    assert dtypes.pandas_dtype(sf_type) == dtype
    series = pd.Series(
        pandas_column(dtypes.field_type(sf_type), [dtypes.build_chunk(values, sf_type)])
    )
    assert series.dtype == dtype
    got = series.tolist()
    for g, e in zip(got, expected, strict=True):
        if e is pd.NA or e is pd.NaT or e is None:
            assert pd.isna(g)
        else:
            assert g == e


def test_every_table_row_is_tested() -> None:
    assert {r[0] for r in ROWS} == set(dtypes.DTYPE_TABLE)


@pytest.mark.parametrize("sf_type", sorted(dtypes.DTYPE_TABLE))
def test_empty_column_keeps_its_dtype(sf_type: str) -> None:
    empty = pd.Series(pandas_column(dtypes.field_type(sf_type), [dtypes.empty_chunk(sf_type)]))
    assert len(empty) == 0
    assert empty.dtype == dtypes.pandas_dtype(sf_type)


def test_unknown_type_is_text() -> None:
    assert dtypes.pandas_dtype("somethingnew") == STRING


def test_chunks_from_several_pages_join() -> None:
    chunks = [dtypes.build_chunk([1, None], "int"), dtypes.build_chunk([3], "int")]
    assert pd.Series(finalize(chunks, "int")).tolist() == [1, pd.NA, 3]


def test_datetime_past_2262_keeps_milliseconds() -> None:
    chunk = dtypes.build_chunk(["4000-12-31T00:00:00.000+0000", None], "datetime")
    series = pd.Series(finalize([chunk], "datetime"))
    assert series.dtype == pd.DatetimeTZDtype("ms", "UTC")
    assert series[0].year == 4000


def test_integral_floats_fit_an_int_column() -> None:
    # Aggregates may send 300.0 for SUM of an int field.
    series = pd.Series(finalize([dtypes.build_chunk([300.0, None, 2], "int")], "int"))
    assert series.tolist() == [300, pd.NA, 2]


def test_multipicklist_split_into_lists() -> None:
    chunk = dtypes.build_chunk(["A;B", None, "C"], "multipicklist")
    out = finalize([chunk], "multipicklist", split_multipicklist=True)
    assert list(out) == [["A", "B"], None, ["C"]]


@pytest.mark.parametrize(
    ("function", "source", "expected"),
    [
        ("COUNT", None, "int"),
        ("count_distinct", "string", "int"),
        ("AVG", "int", "double"),
        ("SUM", "currency", "currency"),
        ("SUM", "int", "int"),
        ("MIN", "date", "date"),
        ("MAX", "datetime", "datetime"),
    ],
)
def test_aggregate_type(function: str, source: str | None, expected: str) -> None:
    assert dtypes.aggregate_type(function, source) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([True, None], "boolean"),
        ([1, 2, None], "int"),
        ([1, 2.5], "double"),
        (["2024-01-31T18:25:43.000+0000", None], "datetime"),
        (["2024-01-31"], "date"),
        (["13:30:00.000Z"], "time"),
        (["2024-01-31", "hello"], "string"),
        (["00501"], "string"),
        ([None, None], "string"),
        ([1, "x"], "anyType"),
    ],
)
def test_infer_sf_type(values: list[Any], expected: str) -> None:
    assert dtypes.infer_sf_type(values) == expected


def test_overrides_win_and_typos_are_reported() -> None:
    frame = pd.DataFrame({"Amount": pd.array([1.0, None], dtype="Float64")})
    out = apply_overrides(frame, {"Amount": "float64"})
    assert out["Amount"].dtype == np.dtype("float64")
    with pytest.raises(KeyError, match="Amont"):
        apply_overrides(frame, {"Amont": "float64"})


DESCRIBES = {
    "opportunity": {
        "name": "Opportunity",
        "fields": [
            {"name": "Amount", "type": "currency", "relationshipName": None},
            {"name": "AccountId", "type": "reference", "relationshipName": "Account",
             "referenceTo": ["Account"]},
        ],
    },
    "account": {
        "name": "Account",
        "fields": [
            {"name": "Name", "type": "string"},
            {"name": "OwnerId", "type": "reference", "relationshipName": "Owner",
             "referenceTo": ["User"]},
            {"name": "BillingAddress", "type": "address"},
            {"name": "BillingStreet", "type": "textarea", "compoundFieldName": "BillingAddress"},
            {"name": "BillingCity", "type": "string", "compoundFieldName": "BillingAddress"},
            {"name": "BillingLatitude", "type": "double", "compoundFieldName": "BillingAddress"},
        ],
    },
    "user": {"name": "User", "fields": [{"name": "CreatedDate", "type": "datetime"}]},
}  # fmt: skip


def _describe_of(name: str) -> Any:
    return DESCRIBES.get(name.lower())


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("Amount", "currency"),
        ("account.name", "string"),
        ("Account.Owner.CreatedDate", "datetime"),
        ("Account.BillingAddress.latitude", "double"),
        ("Account.BillingAddress.city", "string"),
        ("Account.Nope", None),
        ("Account.attributes.type", "string"),
    ],
)
def test_resolve_type_follows_relationships(column: str, expected: str | None) -> None:
    assert dtypes.resolve_type(_describe_of, "Opportunity", column) == expected


def test_compound_parts_from_describe() -> None:
    parts = dtypes.compound_parts(_describe_of, "Account", "BillingAddress")
    assert parts == ["street", "city", "latitude"]
    assert dtypes.compound_parts(_describe_of, "Account", "Name") is None


def test_dates_are_naive_midnight() -> None:
    value = pd.Series(finalize([dtypes.build_chunk(["2024-02-29"], "date")], "date"))[0]
    assert value.to_pydatetime() == dt.datetime(2024, 2, 29)


# --- every row reads every wire format alike -------------------------------------------------


def _csv_text(value: Any) -> str | None:
    """A JSON value as Bulk API 2.0 writes it in CSV (empty cells are null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize(("sf_type", "values"), [r[:2] for r in ROWS], ids=[r[0] for r in ROWS])
def test_row_reads_csv_as_it_reads_json(sf_type: str, values: list[Any]) -> None:
    row = dtypes.field_type(sf_type)
    from_csv = row.csv(pa.array([_csv_text(v) for v in values], type=pa.string()))
    assert from_csv.type == row.arrow
    if row.objects:  # anyType: CSV has only its text
        assert from_csv.to_pylist() == [_csv_text(v) for v in values]
    else:
        assert from_csv.equals(dtypes.build_chunk(values, sf_type))


@pytest.mark.parametrize(("sf_type", "values"), [r[:2] for r in ROWS], ids=[r[0] for r in ROWS])
def test_row_reads_report_cells_as_it_reads_json(sf_type: str, values: list[Any]) -> None:
    cells = [{"label": "-" if v is None else _csv_text(v), "value": v} for v in values]
    row, read = dtypes.read_cells(cells, sf_type)
    if dtypes.field_type(sf_type).cell is None:  # time, anyType: reports show their labels
        assert row is dtypes.TYPES["string"]
        assert read.to_pylist() == [_csv_text(v) for v in values]
        return
    assert row is dtypes.field_type(sf_type)
    assert read.type == row.arrow
    assert read.equals(dtypes.build_chunk(values, sf_type))


@pytest.mark.parametrize("sf_type", sorted(dtypes.TYPES))
def test_row_is_consistent(sf_type: str) -> None:
    row = dtypes.TYPES[sf_type]
    assert row.name == sf_type
    assert dtypes.field_type(sf_type.upper()) is row  # report dataTypes may be capitalised
    if row.objects:
        assert row.empty() == []
    else:
        assert row.empty().type == row.arrow
    assert row.wider is None or dtypes.TYPES[row.wider].cell is not None


def test_fractional_int_report_cells_widen_to_double() -> None:
    row, read = dtypes.read_cells(
        [{"label": "1.5", "value": 1.5}, {"label": "2", "value": 2}], "int"
    )
    assert row is dtypes.TYPES["double"]
    assert read.to_pylist() == [1.5, 2.0]


def test_report_datetime_cells_take_date_only_and_zoneless_values_as_utc() -> None:
    cells = [{"value": "2016-01-16"}, {"value": "2015-08-12T16:05:43"}, {"value": None}]
    _, read = dtypes.read_cells(cells, "datetime")
    assert read.to_pylist() == [
        dt.datetime(2016, 1, 16, tzinfo=dt.timezone.utc),
        dt.datetime(2015, 8, 12, 16, 5, 43, tzinfo=dt.timezone.utc),
        None,
    ]
