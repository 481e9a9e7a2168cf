"""Bulk API 2.0 CSV result pages -> typed Arrow tables. Pure: no I/O.

A page is parsed straight from the response bytes by ``pyarrow.csv`` (multi-threaded, in C),
every column read as text first so that nothing is guessed (an Id or a zip code never turns
numeric), then typed by the CSV parsers of the dtype table's rows (:mod:`sfnotebook.dtypes`)
from the object's describe, so ``extract`` and ``org.query`` give the same columns and types:

* an empty cell, quoted or not, is null (Salesforce writes null and ``""`` alike);
* dotted relationship headers (``Account.Owner.Name``) stay column names, spelled as the
  describe spells them (as the REST JSON keys are);
* datetimes ``2019-01-05T03:41:05.000Z`` (or ``+0000``), dates ``YYYY-MM-DD``, times
  ``13:30:00.000Z``, booleans ``true``/``false`` and plain numbers are converted in Arrow.

Typed pages become one result (pandas, polars or Arrow) in :mod:`sfnotebook.bulk._frame`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sfnotebook import _describe_paths as dp
from sfnotebook import _soql_parse as sp
from sfnotebook import dtypes as _dt
from sfnotebook.bulk._buffer import PageBytes

__all__ = [
    "PageSchema",
    "infer_text_type",
    "line_breaks_only_end_rows",
    "page_schema",
    "parse_page",
    "read_header",
    "read_page",
    "select_columns",
    "strip_nul",
    "type_column",
    "typed_page",
]

DescribeOf = Callable[[str], Mapping[str, Any] | None]
Data = bytes | bytearray | PageBytes


def strip_nul(data: Data) -> Data:
    """Drop NUL bytes, which Salesforce leaves in some result pages (simple-salesforce does too)."""
    if data.find(b"\x00") < 0:  # the usual case: no copy at all
        return data
    return bytes(data).replace(b"\x00", b"")


def read_header(data: Data) -> list[str]:
    """Column names of a CSV page (its first line; Salesforce repeats it on every page)."""
    end = data.find(b"\n")
    line = bytes(data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    if not line:
        return []
    return next(csv.reader([line]))


def line_breaks_only_end_rows(data: Data, rows: int | None) -> bool:
    """Whether no value of a page holds a line break, from its announced row count alone.

    A page of ``rows`` rows has one line ending per row and one for its header; every line
    break more sits inside a quoted value (Salesforce quotes such values, RFC 4180). So when
    the page holds exactly ``rows + 1`` LFs, and its CRs (if any) are only those of CRLF
    endings, the CSV reader may split the page into blocks at any line break, without the
    quote-aware scan ``newlines_in_values`` costs. Two ``bytes.count`` passes (one, and a
    ``find``, for the LF pages extract asks for) are a fraction of that scan. Without a count
    (no ``Sforce-NumberOfRecords``), or on any other count, the answer is False.

    A wrong answer could only make the reader fail (pyarrow detects a block split inside a
    quoted value: "got out of sync with chunker"), never misread; and the rows read are
    checked against the count anyway (:func:`sfnotebook.bulk._pages.fetch_page`).
    """
    if rows is None or rows < 0:
        return False
    breaks = data.count(b"\n")
    if breaks != rows + 1:
        return False
    if data.find(b"\r") < 0:
        return True
    return data.count(b"\r") == breaks and data.count(b"\r\n") == breaks


def parse_page(data: Data, *, header: Sequence[str] | None = None) -> pa.Table:
    """Parse one CSV page into an Arrow table of text columns; empty cells are null.

    ``data`` must already be free of NUL bytes (:func:`strip_nul`). Values may hold quotes
    (doubled), commas and newlines: Salesforce quotes them as RFC 4180 says.
    """
    names = list(header) if header is not None else read_header(data)
    if not names:
        return pa.table({})
    return _read(data, dict.fromkeys(names, pa.string()))


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class PageSchema:
    """What every page of one extract holds: CSV headers, output names, Salesforce types.

    ``types[i]`` is ``None`` when the describes cannot tell the type of column ``i``; such a
    column is typed from its values at the end (frames) or kept as text (Parquet, where the
    schema must be fixed before the first page).
    """

    headers: tuple[str, ...]
    names: tuple[str, ...]
    types: tuple[str | None, ...]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of a typed page (the dtype table's storage types)."""
        return pa.schema(
            [
                pa.field(n, _dt.field_type(t).arrow)  # unknown (None): text
                for n, t in zip(self.names, self.types, strict=True)
            ]
        )


def page_schema(
    headers: Sequence[str],
    *,
    describe_of: DescribeOf | None = None,
    root: str | None = None,
    types: Mapping[str, str | None] | None = None,
) -> PageSchema:
    """Resolve each header's Salesforce type (and schema spelling) through the describes.

    ``types`` (``{column: salesforce_type}``, case-insensitive) wins over the describes.
    """
    given = {k.lower(): v for k, v in (types or {}).items()}
    names: list[str] = []
    sf_types: list[str | None] = []
    for header in headers:
        # account.owner.name -> Account.Owner.Name: the REST JSON keys' spelling
        name = dp.spell(describe_of, root, header) if describe_of else header
        sf_type = given.get(header.lower())
        if sf_type is None and describe_of is not None:
            sf_type = _dt.resolve_type(describe_of, root, header)
        names.append(name)
        sf_types.append(sf_type)
    return PageSchema(tuple(headers), tuple(names), tuple(sf_types))


def select_columns(soql: str) -> tuple[list[str], str | None]:
    """The columns and object of a Bulk-compatible SOQL, as its result keys (flat fields only).

    Read by :func:`sfnotebook._soql_parse.parse_select`. Used when a result has no header at
    all (no rows on some API versions), to still return the selected columns.
    """
    select = sp.parse_select(soql)
    if select is None:
        return [], None
    return [i.key for i in select.items if isinstance(i, sp.FieldRef)], select.object_name


# --------------------------------------------------------------------------- typing


_TRUE_FALSE = {"true", "false"}
_INT = r"^[+-]?\d+$"
_FLOAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def infer_text_type(column: pa.ChunkedArray | pa.Array) -> str:
    """Guess the Salesforce type of a CSV column of unknown type from its text values.

    ``true``/``false`` -> boolean, integers -> int, other numbers -> double, then dates,
    datetimes and times as :func:`sfnotebook.dtypes.infer_sf_type` sees them; else string.
    """
    valid = column.drop_null()
    if len(valid) == 0:
        return "string"
    lowered = pc.utf8_lower(valid)
    if pc.all(pc.is_in(lowered, pa.array(sorted(_TRUE_FALSE)))).as_py():
        return "boolean"
    if pc.all(pc.match_substring_regex(valid, _INT)).as_py():
        return "int"
    if pc.all(pc.match_substring_regex(valid, _FLOAT)).as_py():
        return "double"
    sample = valid.slice(0, 1000).to_pylist() if len(valid) > 1000 else valid.to_pylist()
    guess = _dt.infer_sf_type(sample)
    if guess in {"date", "datetime", "time"} and _parses(valid, guess):
        return guess
    return "string"


def _parses(valid: Any, sf_type: str) -> bool:
    try:
        type_column(valid, sf_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def type_column(column: pa.ChunkedArray | pa.Array, sf_type: str | None) -> Any:
    """Text values of one column -> the Arrow type of ``sf_type``'s row, by its CSV parser.

    Returns a ``pa.Array`` (or ``pa.ChunkedArray``), or a list for ``anyType`` columns.
    Raises ``pyarrow.ArrowInvalid`` when a value does not parse as the type says.
    """
    row = _dt.field_type(sf_type)
    if row.objects:  # anyType: Python objects, as org.query gives
        return column.to_pylist()
    return row.csv(column)


def typed_page(strings: pa.Table, schema: PageSchema) -> pa.Table:
    """A text page -> a table with the dtype table's storage types and the output names.

    Columns of unknown type stay text. ``anyType`` columns stay text too (Arrow has no object
    type); the pandas output turns them into Python objects at the end.
    """
    _check_header(strings.column_names, schema)
    columns = []
    for i, sf_type in enumerate(schema.types):
        column = strings.column(i)
        columns.append(_dt.field_type(sf_type).csv(column) if sf_type is not None else column)
    return pa.Table.from_arrays(columns, schema=schema.arrow_schema())


def read_page(
    data: Data,
    schema: PageSchema,
    *,
    memory_pool: pa.MemoryPool | None = None,
    rows: int | None = None,
) -> pa.Table:
    """Parse one CSV page straight into the schema's types (the fast path of extract).

    Numbers, booleans, dates and datetimes are converted by the CSV reader itself, so their
    text is never materialised; times and text go through text. A value the reader does not
    take (``250.0`` in an int column, ``TRUE``) sends the page through :func:`parse_page` and
    :func:`typed_page`, which accept what Salesforce may write (with the quote-aware scan).

    ``rows`` is the page's announced row count (``Sforce-NumberOfRecords``): when its line
    breaks are exactly one per row (:func:`line_breaks_only_end_rows`), the reader skips the
    quote-aware scan for line breaks inside values.
    """
    headers = read_header(data)
    _check_header(headers, schema)
    target = schema.arrow_schema()
    direct = {
        h: f.type if t is not None and _dt.field_type(t).csv_reader else pa.string()
        for h, f, t in zip(schema.headers, target, schema.types, strict=True)
    }
    try:
        table = _read(
            data,
            direct,
            memory_pool=memory_pool,
            newlines_in_values=not line_breaks_only_end_rows(data, rows),
            true_values=["true"],
            false_values=["false"],
        )
    except pa.ArrowInvalid:
        return typed_page(parse_page(data, header=headers), schema)
    columns = []
    for i, (field, sf_type) in enumerate(zip(target, schema.types, strict=True)):
        column = table.column(i)
        if column.type != field.type:  # times (and any type the reader left as text)
            column = _dt.field_type(sf_type).csv(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def _read(
    data: Data,
    column_types: dict[str, pa.DataType],
    *,
    memory_pool: pa.MemoryPool | None = None,
    newlines_in_values: bool = True,
    **options: Any,
) -> pa.Table:
    convert = pcsv.ConvertOptions(
        column_types=column_types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],  # not pyarrow's default list, which would null "NULL", "NaN", "N/A"
        **options,
    )
    table = pcsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pcsv.ReadOptions(block_size=8 << 20),
        parse_options=pcsv.ParseOptions(newlines_in_values=newlines_in_values),
        convert_options=convert,
        memory_pool=memory_pool,  # None: pyarrow's default pool
    )
    names = list(column_types)
    if table.column_names != names:
        # pyarrow renames duplicate headers; Salesforce never sends duplicates, but be exact.
        table = table.rename_columns(names)
    return table


def _check_header(headers: Sequence[str], schema: PageSchema) -> None:
    if tuple(headers) != schema.headers:
        raise ValueError(
            f"a result page has columns {list(headers)}, the first had {list(schema.headers)}"
        )
