"""Bulk API 2.0 CSV pages -> typed frames: Salesforce's CSV quirks, on bytes written here."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from sfnotebook import dtypes as dt
from sfnotebook.bulk import _csv
from sfnotebook.bulk._csv import (
    infer_text_type,
    line_breaks_only_end_rows,
    page_schema,
    parse_page,
    read_header,
    read_page,
    select_columns,
    strip_nul,
    type_column,
    typed_page,
)
from sfnotebook.bulk._frame import FrameAssembler, csv_frame
from sfnotebook.soql.records import records_frame


def _field(name: str, sf_type: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": sf_type, "referenceTo": [], "relationshipName": None, **extra}


ACCOUNT = {
    "name": "Account",
    "fields": [
        _field("Id", "id"),
        _field("Name", "string"),
        _field("OwnerId", "reference", referenceTo=["User"], relationshipName="Owner"),
        _field("AnnualRevenue", "currency"),
    ],
}
USER = {"name": "User", "fields": [_field("Id", "id"), _field("Name", "string")]}
OPPORTUNITY = {
    "name": "Opportunity",
    "fields": [
        _field("Id", "id"),
        _field("Name", "string"),
        _field("AccountId", "reference", referenceTo=["Account"], relationshipName="Account"),
        _field("Amount", "currency"),
        _field("Probability", "percent"),
        _field("IsWon", "boolean"),
        _field("CloseDate", "date"),
        _field("CreatedDate", "datetime"),
        _field("Seats__c", "int"),
        _field("Follow_Up_Time__c", "time"),
        _field("Competitors__c", "multipicklist"),
        _field("Blob__c", "anyType"),
    ],
}
DESCRIBES = {"account": ACCOUNT, "user": USER, "opportunity": OPPORTUNITY}


def describe_of(name: str) -> dict[str, Any] | None:
    return DESCRIBES.get(name.lower())


PAGE = (
    b'"Id","Name","Amount","IsWon","CloseDate","CreatedDate","Seats__c","Follow_Up_Time__c",'
    b'"Account.Name","Account.Owner.Name"\n'
    b'"006000000000001AAA","Big, ""quoted"" deal\nsecond line","1200000.5","true","2024-01-31",'
    b'"2019-01-05T03:41:05.000Z","12","13:30:00.000Z","Acme","Zo\xc3\xa9"\n'
    b'"006000000000002AAA","","","false","","","","","",""\n'
    b"006000000000003AAA,NULL,5.0E7,,4000-12-31,2024-02-29T23:59:59.999+0000,-3,00:00:00.000Z,,\n"
)


def test_quotes_newlines_commas_unicode_and_nulls() -> None:
    frame = csv_frame(PAGE, describe=describe_of, root="Opportunity")
    assert list(frame.columns) == [
        "Id",
        "Name",
        "Amount",
        "IsWon",
        "CloseDate",
        "CreatedDate",
        "Seats__c",
        "Follow_Up_Time__c",
        "Account.Name",
        "Account.Owner.Name",
    ]
    assert frame.loc[0, "Name"] == 'Big, "quoted" deal\nsecond line'
    assert frame.loc[0, "Account.Owner.Name"] == "Zoé"
    # Salesforce writes null and "" alike: both are null; "NULL" is a real value.
    assert frame.loc[1].drop(["Id", "IsWon"]).isna().all()
    assert frame.loc[2, "Name"] == "NULL"
    assert pd.isna(frame.loc[2, "IsWon"])
    assert frame.loc[2, "Amount"] == 5.0e7
    assert frame.loc[0, "Seats__c"] == 12 and frame.loc[2, "Seats__c"] == -3
    assert frame.loc[0, "CreatedDate"] == pd.Timestamp("2019-01-05T03:41:05Z")
    assert frame.loc[2, "CreatedDate"] == pd.Timestamp("2024-02-29T23:59:59.999Z")
    assert frame.loc[2, "CloseDate"] == pd.Timestamp("4000-12-31")
    assert frame.loc[0, "Follow_Up_Time__c"] == pd.Timedelta(hours=13, minutes=30)


def test_dtypes_are_the_dtype_tables() -> None:
    frame = csv_frame(PAGE, describe=describe_of, root="Opportunity")
    expected = {
        "Id": dt.pandas_dtype("id"),
        "Name": dt.pandas_dtype("string"),
        "Amount": dt.pandas_dtype("currency"),
        "IsWon": dt.pandas_dtype("boolean"),
        "CloseDate": dt.pandas_dtype("date"),
        "CreatedDate": dt.pandas_dtype("datetime"),
        "Seats__c": dt.pandas_dtype("int"),
        "Follow_Up_Time__c": dt.pandas_dtype("time"),
        "Account.Name": dt.pandas_dtype("string"),
        "Account.Owner.Name": dt.pandas_dtype("string"),
    }
    assert frame.dtypes.to_dict() == expected


def test_frame_equals_records_frame_of_the_same_rows() -> None:
    """The CSV path gives exactly what the REST JSON path gives for the same data."""
    csv = (
        b'"Id","Amount","IsWon","CloseDate","CreatedDate","Account.Name"\n'
        b'"006000000000001AAA","10.5","true","2024-01-31","2019-01-05T03:41:05.000Z","Acme"\n'
        b'"006000000000002AAA","","false","","",""\n'
    )
    records = [
        {
            "attributes": {"type": "Opportunity"},
            "Id": "006000000000001AAA",
            "Amount": 10.5,
            "IsWon": True,
            "CloseDate": "2024-01-31",
            "CreatedDate": "2019-01-05T03:41:05.000+0000",
            "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
        },
        {
            "attributes": {"type": "Opportunity"},
            "Id": "006000000000002AAA",
            "Amount": None,
            "IsWon": False,
            "CloseDate": None,
            "CreatedDate": None,
            "Account": None,
        },
    ]
    expected = records_frame(
        records,
        describe={"Opportunity": OPPORTUNITY, "Account": ACCOUNT},
        columns=["Id", "Amount", "IsWon", "CloseDate", "CreatedDate", "Account.Name"],
    )
    got = csv_frame(csv, describe=describe_of, root="Opportunity")
    pd.testing.assert_frame_equal(got, expected)


def test_headers_take_the_describes_spelling() -> None:
    csv = b'"id","account.owner.name","AMOUNT"\n"006000000000001AAA","Ann","1"\n'
    frame = csv_frame(csv, describe=describe_of, root="Opportunity")
    assert list(frame.columns) == ["Id", "Account.Owner.Name", "Amount"]
    assert frame["Amount"].dtype == dt.pandas_dtype("currency")


def test_pages_are_concatenated_in_order_and_headers_repeat() -> None:
    head = b'"Id","Seats__c"\n'
    pages = [head + b'"a","1"\n"b","2"\n', head + b'"c",""\n', head]
    frame = csv_frame(pages, describe=describe_of, root="Opportunity")
    assert frame["Id"].tolist() == ["a", "b", "c"]
    assert frame["Seats__c"].tolist() == [1, 2, pd.NA]
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == 3


def test_a_page_with_other_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        csv_frame([b'"Id"\n"a"\n', b'"Name"\n"b"\n'])


def test_header_only_page_gives_empty_typed_frame() -> None:
    frame = csv_frame(b'"Id","Amount","CloseDate"\n', describe=describe_of, root="Opportunity")
    assert len(frame) == 0
    assert list(frame.columns) == ["Id", "Amount", "CloseDate"]
    assert frame["Amount"].dtype == dt.pandas_dtype("currency")
    assert frame["CloseDate"].dtype == dt.pandas_dtype("date")


def test_nul_bytes_are_stripped() -> None:
    data = b'"Id","Name"\n"a","x\x00y"\n'
    assert strip_nul(data) == b'"Id","Name"\n"a","xy"\n'
    clean = b'"Id"\n"a"\n'
    assert strip_nul(clean) is clean  # no copy when there is nothing to strip
    assert csv_frame(data)["Name"].tolist() == ["xy"]


def test_crlf_line_endings() -> None:
    frame = csv_frame(b'"Id","Seats__c"\r\n"a","1"\r\n"b",""\r\n', types={"Seats__c": "int"})
    assert frame["Id"].tolist() == ["a", "b"]
    assert frame["Seats__c"].tolist() == [1, pd.NA]


def test_ids_and_zip_codes_stay_text_without_types() -> None:
    """Without describe an all-digit column is inferred, but declared text never is."""
    csv = b'"Id","Zip"\n"001","02134"\n"002","10001"\n'
    frame = csv_frame(csv, types={"Id": "id", "Zip": "string"})
    assert frame["Zip"].tolist() == ["02134", "10001"]
    assert frame["Id"].tolist() == ["001", "002"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["true", "false", None], "boolean"),
        (["1", "-2", None], "int"),
        (["1.5", "2", "3E5"], "double"),
        (["2024-01-31", None], "date"),
        (["2024-01-31T18:25:43.000Z"], "datetime"),
        (["13:30:00.000Z"], "time"),
        (["02134", "abc"], "string"),
        ([None, None], "string"),
        (["2024-13-45"], "string"),
    ],
)
def test_infer_text_type(values: list[str | None], expected: str) -> None:
    assert infer_text_type(pa.array(values, pa.string())) == expected


@pytest.mark.parametrize(
    ("sf_type", "text", "value"),
    [
        ("boolean", "true", True),
        ("boolean", "false", False),
        ("int", "250", 250),
        ("int", "250.0", 250),
        ("double", "1.5E7", 1.5e7),
        ("percent", "10", 10.0),
        ("currency", "-0.01", -0.01),
        ("date", "2024-01-31", pd.Timestamp("2024-01-31")),
        ("datetime", "2024-01-31T18:25:43.000Z", pd.Timestamp("2024-01-31T18:25:43Z")),
        ("datetime", "2024-01-31T18:25:43.000+0000", pd.Timestamp("2024-01-31T18:25:43Z")),
        ("time", "01:02:03.004Z", pd.Timedelta("01:02:03.004")),
        ("multipicklist", "A;B", "A;B"),
        ("reference", "001000000000001AAA", "001000000000001AAA"),
        ("anyType", "x", "x"),
    ],
)
def test_each_type_of_the_table(sf_type: str, text: str, value: Any) -> None:
    frame = csv_frame(b'"F"\n"' + text.encode() + b'"\n""\n', types={"F": sf_type})
    # The same dtype as the REST path gives (for anyType, pandas 3 makes text columns "str").
    json_value = value if isinstance(value, bool | int | float) else text
    rest = records_frame([{"F": json_value}, {"F": None}], describe={"F": sf_type})
    assert frame["F"].dtype == rest["F"].dtype
    if sf_type != "anyType":
        assert frame["F"].dtype == dt.pandas_dtype(sf_type)
    assert frame["F"].iloc[0] == value
    assert pd.isna(frame["F"].iloc[1])


def test_a_bad_value_for_the_declared_type_raises() -> None:
    with pytest.raises(pa.ArrowInvalid):
        type_column(pa.array(["not a number"]), "int")


def test_dtypes_overrides_win() -> None:
    frame = csv_frame(
        b'"Id","Seats__c"\n"a","1"\n',
        describe=describe_of,
        root="Opportunity",
        dtypes={"Seats__c": "float64"},
    )
    assert frame["Seats__c"].dtype == "float64"
    with pytest.raises(KeyError):
        csv_frame(b'"Id"\n"a"\n', dtypes={"Nope": "float64"})


def test_unknown_columns_are_inferred_for_frames_and_text_in_the_schema() -> None:
    csv = b'"Id","Mystery"\n"a","3"\n"b","4"\n'
    schema = page_schema(read_header(csv), describe_of=describe_of, root="Opportunity")
    assert schema.types == ("id", None)
    assert schema.arrow_schema().field("Mystery").type == pa.string()
    assembler = FrameAssembler(schema)
    assembler.add(typed_page(parse_page(csv), schema))
    assert assembler.frame()["Mystery"].dtype == dt.pandas_dtype("int")


def test_arrow_schema_uses_the_tables_storage_types() -> None:
    headers = ["Id", "IsWon", "Seats__c", "Amount", "CloseDate", "CreatedDate", "Blob__c"]
    schema = page_schema(headers, describe_of=describe_of, root="Opportunity").arrow_schema()
    assert [f.type for f in schema] == [
        pa.string(),
        pa.bool_(),
        pa.int64(),
        pa.float64(),
        pa.date32(),
        pa.timestamp("ms", tz="UTC"),
        pa.string(),
    ]


def test_select_columns() -> None:
    # The result keys, as a page header (and org.query) name them: toLabel keeps the field's.
    soql = "SELECT Id, Account.Name, toLabel(StageName) , Amount\nFROM Opportunity WHERE x = 1"
    assert select_columns(soql) == (
        ["Id", "Account.Name", "StageName", "Amount"],
        "Opportunity",
    )
    assert select_columns("not soql") == ([], None)


def test_parse_page_keeps_everything_as_text() -> None:
    table = parse_page(b'"Id","N","NaN"\n"007","NaN","N/A"\n')
    assert table.to_pylist() == [{"Id": "007", "N": "NaN", "NaN": "N/A"}]
    assert all(t == pa.string() for t in table.schema.types)


def test_read_page_types_in_the_reader_as_the_text_path_does() -> None:
    """The fast path (types converted by the CSV reader) equals text-then-cast."""
    schema = page_schema(read_header(PAGE), describe_of=describe_of, root="Opportunity")
    fast = read_page(PAGE, schema)
    slow = typed_page(parse_page(PAGE), schema)
    assert fast.schema == schema.arrow_schema()
    assert fast.equals(slow)


@pytest.mark.parametrize(
    ("sf_type", "text", "value"),
    [("int", "250.0", 250), ("boolean", "TRUE", True), ("boolean", "1", True)],
)
def test_read_page_falls_back_for_values_the_reader_refuses(
    sf_type: str, text: str, value: Any
) -> None:
    data = b'"F"\n"' + text.encode() + b'"\n'
    schema = page_schema(["F"], types={"F": sf_type})
    assert read_page(data, schema).column(0).to_pylist() == [value]


def test_read_page_checks_the_header() -> None:
    schema = page_schema(["Id"], types={"Id": "id"})
    with pytest.raises(ValueError, match="columns"):
        read_page(b'"Name"\n"a"\n', schema)


# --------------------------------------------------------------------------- line breaks

HEAD = b'"Id","Name"'


def _lines(end: bytes, *names: bytes) -> bytes:
    rows = [b'"%03d","%s"' % (i, name) for i, name in enumerate(names)]
    return end.join([HEAD, *rows]) + end


@pytest.mark.parametrize(
    ("data", "rows", "plain"),
    [
        (_lines(b"\n", b"a", b"b"), 2, True),
        (_lines(b"\r\n", b"a", b"b"), 2, True),
        (_lines(b"\n"), 0, True),  # the header alone
        (_lines(b"\n", b"a\nb", b"c"), 2, False),  # an LF inside a quoted value
        (_lines(b"\r\n", b"a\r\nb", b"c"), 2, False),  # a CRLF inside one
        (_lines(b"\r\n", b"a\nb", b"c"), 2, False),  # an LF inside one, CRLF endings
        (_lines(b"\n", b"a\rb", b"c"), 2, False),  # a lone CR (a break to the reader)
        (_lines(b"\r\n", b"a\rb"), 1, False),
        (_lines(b"\n", b"a", b"b"), None, False),  # no Sforce-NumberOfRecords
        (_lines(b"\n", b"a", b"b"), 3, False),  # a count the lines do not match
        (_lines(b"\n", b"a\nb"), 2, True),  # a wrong count: see the test below
    ],
)
def test_line_breaks_only_end_rows(data: bytes, rows: int | None, plain: bool) -> None:
    assert line_breaks_only_end_rows(data, rows) is plain
    assert line_breaks_only_end_rows(bytearray(data), rows) is plain


def _spied_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The newlines_in_values of every CSV read (the quote-aware scan when True)."""
    seen: list[bool] = []
    read_csv = _csv.pcsv.read_csv

    def spy(source: Any, **kwargs: Any) -> pa.Table:
        seen.append(kwargs["parse_options"].newlines_in_values)
        return read_csv(source, **kwargs)

    monkeypatch.setattr(_csv.pcsv, "read_csv", spy)
    return seen


@pytest.mark.parametrize("end", [b"\n", b"\r\n"])
def test_a_page_without_breaks_in_values_skips_the_quote_aware_scan(
    monkeypatch: pytest.MonkeyPatch, end: bytes
) -> None:
    data = _lines(end, b"a", b"b, c", b'say ""hi""')
    schema = page_schema(read_header(data), types={"Id": "string", "Name": "string"})
    seen = _spied_reads(monkeypatch)
    table = read_page(data, schema, rows=3)
    assert seen == [False]
    assert table.column("Name").to_pylist() == ["a", "b, c", 'say "hi"']


@pytest.mark.parametrize("end", [b"\n", b"\r\n"])
@pytest.mark.parametrize("inside", [b"\n", b"\r\n", b"\r", b"\n\n"])
def test_quoted_line_breaks_are_read_with_the_quote_aware_scan(
    monkeypatch: pytest.MonkeyPatch, end: bytes, inside: bytes
) -> None:
    names = [b"first" + inside + b"second", b"plain", inside + b"edge" + inside]
    data = _lines(end, *names)
    schema = page_schema(read_header(data), types={"Id": "string", "Name": "string"})
    seen = _spied_reads(monkeypatch)
    table = read_page(data, schema, rows=3)
    assert seen == [True]
    assert table.num_rows == 3  # the rows counted right: what fetch_page checks
    assert table.column("Name").to_pylist() == [n.decode() for n in names]


def test_a_wrong_count_never_misreads_a_page_with_quoted_breaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A count that matches the line breaks of a page whose values hold some (a lying
    header) takes the fast path; the reader then either reads the page right or stops at the
    first block split inside a value, and the page is read again with the quote-aware scan.
    Either way its rows are right, and fetch_page's check against the count then fails."""
    names = [b"x" * 40 + b"\n" * 60 + b"y" * 40 for _ in range(160_000)]  # ~23 MB, 3 blocks
    data = _lines(b"\n", *names)
    announced = data.count(b"\n") - 1
    assert line_breaks_only_end_rows(data, announced)
    schema = page_schema(read_header(data), types={"Id": "string", "Name": "string"})
    seen = _spied_reads(monkeypatch)
    table = read_page(data, schema, rows=announced)
    assert seen == [False, True]  # the block split inside a value was found, then read again
    assert table.num_rows == len(names) != announced
    assert table.column("Name").to_pylist() == [n.decode() for n in names]
