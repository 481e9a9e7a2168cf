"""Bulk API 2.0 CSV result pages -> typed Arrow tables -> a pandas DataFrame. Pure: no I/O.

A page is parsed straight from the response bytes by ``pyarrow.csv`` (multi-threaded, in C),
every column read as text first so that nothing is guessed (an Id or a zip code never turns
numeric), then typed with the dtype table of :mod:`sfnotebook.dtypes` from the object's
describe, so ``extract`` and ``org.query`` give the same columns and dtypes:

* an empty cell, quoted or not, is null (Salesforce writes null and ``""`` alike);
* dotted relationship headers (``Account.Owner.Name``) stay column names, spelled as the
  describe spells them (as the REST JSON keys are);
* datetimes ``2019-01-05T03:41:05.000Z`` (or ``+0000``), dates ``YYYY-MM-DD``, times
  ``13:30:00.000Z``, booleans ``true``/``false`` and plain numbers are converted in Arrow.

Typed pages become one DataFrame in :mod:`sfnotebook.bulk._frame`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sfnotebook import dtypes as _dt

__all__ = [
    "PageSchema",
    "infer_text_type",
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
Data = bytes | bytearray


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
            [pa.field(n, _storage_type(t)) for n, t in zip(self.names, self.types, strict=True)]
        )


def _storage_type(sf_type: str | None) -> pa.DataType:
    chunk = _dt.empty_chunk(sf_type or "string")
    return chunk.type if isinstance(chunk, pa.Array) else pa.string()  # anyType: text


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
        name = _spelled(describe_of, root, header) if describe_of else header
        sf_type = given.get(header.lower())
        if sf_type is None and describe_of is not None:
            sf_type = _dt.resolve_type(describe_of, root, header)
        names.append(name)
        sf_types.append(sf_type)
    return PageSchema(tuple(headers), tuple(names), tuple(sf_types))


def _spelled(describe_of: DescribeOf, root: str | None, column: str) -> str:
    """``account.owner.name`` -> ``Account.Owner.Name``: the REST JSON keys' spelling."""
    path = column.split(".")
    objects: list[str] = [root] if root else []
    out: list[str] = []
    for i, segment in enumerate(path):
        key = "name" if i == len(path) - 1 else "relationshipName"
        found: Mapping[str, Any] | None = None
        targets: list[str] = []
        for obj in objects:
            for field in (describe_of(obj) or {}).get("fields", ()):
                if str(field.get(key) or "").lower() == segment.lower():
                    found = found or field
                    targets.extend(t for t in field.get("referenceTo") or () if t not in targets)
                    break
        out.append(str(found[key]) if found else segment)
        objects = targets
    return ".".join(out)


_SELECT = re.compile(r"^\s*select\s+(?P<fields>.*?)\s+from\s+(?P<object>\w+)", re.I | re.S)


def select_columns(soql: str) -> tuple[list[str], str | None]:
    """The SELECT list and object of a Bulk-compatible SOQL (flat fields only).

    Used when a result has no header at all (no rows on some API versions), to still return
    the selected columns.
    """
    match = _SELECT.match(soql)
    if match is None:
        return [], None
    fields: list[str] = []
    current: list[str] = []
    depth = 0
    for char in match["fields"]:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    fields.append("".join(current).strip())
    return [f for f in fields if f], match["object"]


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
    """Text values of one column -> the dtype table's Arrow storage type for ``sf_type``.

    Returns a ``pa.Array`` (or ``pa.ChunkedArray``), or a list for ``anyType`` columns.
    Raises ``pyarrow.ArrowInvalid`` when a value does not parse as the type says.
    """
    target = _dt.empty_chunk(sf_type or "string")
    if not isinstance(target, pa.Array):  # anyType: Python objects, as org.query gives
        return column.to_pylist()
    typ = target.type
    if pa.types.is_string(typ):
        return column
    if pa.types.is_boolean(typ):
        # Arrow accepts true/false/1/0 in any case, as Salesforce's exports may vary.
        return pc.cast(column, typ)
    if pa.types.is_integer(typ):
        try:
            return pc.cast(column, typ)
        except pa.ArrowInvalid:  # "250.0" for an int field: go through float
            return pc.cast(pc.cast(column, pa.float64()), typ)
    if pa.types.is_floating(typ):
        return pc.cast(column, typ)
    if pa.types.is_timestamp(typ):
        # Arrow's ISO-8601 cast reads "...000Z" and "...000+0000" alike, in C.
        return pc.cast(column, typ)
    if pa.types.is_date(typ):
        return pc.cast(column, typ)
    if pa.types.is_duration(typ):
        # time "13:30:00.000Z": a timestamp on 1970-01-01 is the milliseconds since midnight.
        clock = pc.replace_substring(column, "Z", "")
        stamp = pc.cast(pc.binary_join_element_wise("1970-01-01T", clock, ""), pa.timestamp("ms"))
        return pc.cast(pc.cast(stamp, pa.int64()), typ)
    return pc.cast(column, typ)


def typed_page(strings: pa.Table, schema: PageSchema) -> pa.Table:
    """A text page -> a table with the dtype table's storage types and the output names.

    Columns of unknown type stay text. ``anyType`` columns become text too (Arrow has no
    object type); :class:`sfnotebook.bulk._frame.FrameAssembler` turns them into Python objects at the end.
    """
    _check_header(strings.column_names, schema)
    columns = []
    for i, sf_type in enumerate(schema.types):
        column = strings.column(i)
        typed = type_column(column, sf_type) if sf_type is not None else column
        if isinstance(typed, list):
            typed = column
        columns.append(typed)
    return pa.Table.from_arrays(columns, schema=schema.arrow_schema())


def read_page(data: Data, schema: PageSchema) -> pa.Table:
    """Parse one CSV page straight into the schema's types (the fast path of extract).

    Numbers, booleans, dates and datetimes are converted by the CSV reader itself, so their
    text is never materialised; times and text go through text. A value the reader does not
    take (``250.0`` in an int column, ``TRUE``) sends the page through :func:`parse_page` and
    :func:`typed_page`, which accept what Salesforce may write.
    """
    headers = read_header(data)
    _check_header(headers, schema)
    target = schema.arrow_schema()
    direct = {
        h: f.type if _direct(f.type) else pa.string()
        for h, f in zip(schema.headers, target, strict=True)
    }
    try:
        table = _read(data, direct, true_values=["true"], false_values=["false"])
    except pa.ArrowInvalid:
        return typed_page(parse_page(data, header=headers), schema)
    columns = []
    for i, (field, sf_type) in enumerate(zip(target, schema.types, strict=True)):
        column = table.column(i)
        if column.type != field.type:  # times (and any type the reader left as text)
            column = type_column(column, sf_type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def _direct(typ: pa.DataType) -> bool:
    return (
        pa.types.is_boolean(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_date(typ)
        or pa.types.is_timestamp(typ)
    )


def _read(data: Data, column_types: dict[str, pa.DataType], **options: Any) -> pa.Table:
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
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=convert,
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
