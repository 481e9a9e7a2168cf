"""Salesforce field types as data: one row per type, and the two steps that apply them.

Each Salesforce field type is one :class:`FieldType` row of :data:`TYPES`: its pandas dtype,
its Arrow storage type (the ``"arrow"`` and ``"polars"`` outputs, Parquet files), its parsers
for JSON values (REST), CSV text (Bulk API 2.0) and report cells, and the few flags the
converters need. SOQL, reports and bulk all read these rows; a new Salesforce type is one row
here (and one test row in ``tests/unit/test_dtypes.py``).

Values are converted in two steps, as pandas-gbq does:

1. **build**: one page's values of one column become a compact typed Arrow chunk through the
   row's parser (:func:`build_chunk` for JSON; ``row.csv`` and ``row.cell`` for the other
   formats). Pages are converted while the next one downloads, and only these chunks are kept,
   never the raw payload.
2. **finalize**: the chunks of each column go to the one output seam
   (:mod:`sfnotebook._output`), which joins them into the table the caller asked for: pandas
   (the row's dtype, :func:`sfnotebook._output.pandas_column`), polars or a ``pyarrow.Table`` (the row's Arrow type).
   The caller's ``dtypes=`` overrides are applied last and always win.

The table (also in the README), pandas dtypes:

=====================================================  ========================  ===============
Salesforce type (describe ``type``)                    pandas dtype              null
=====================================================  ========================  ===============
id, reference, string, picklist, combobox, textarea,   ``string[pyarrow]``       ``<NA>``
email, phone, url, encryptedstring, base64,
datacategorygroupreference, complexvalue, json
multipicklist                                          ``string[pyarrow]``       ``<NA>``
                                                       (``"A;B"``; lists with
                                                       ``split_multipicklist``)
boolean                                                ``boolean``               ``<NA>``
int, long                                              ``Int64``                 ``<NA>``
double, currency, percent (percent units: 10 = 10%)    ``Float64``               ``<NA>``
date                                                   ``datetime64[s]``         ``NaT``
datetime                                               ``datetime64[ns, UTC]``   ``NaT``
time                                                   ``timedelta64[ns]``       ``NaT``
                                                       (since midnight)
anyType                                                ``object``                ``None``
=====================================================  ========================  ===============

``number`` (a report column type) reads like ``double``. Report columns of a type whose row has
no cell parser (``time``, ``anyType``), or of a type the table does not know, are their labels
as text. Arrow types: text ``string``, ``bool``, ``int64``, ``double``, ``date32``,
``timestamp[ms, UTC]``, ``duration[ms]``; ``anyType`` is text there (Arrow has no object type).

Choices, and why:

* Text is ``pd.StringDtype("pyarrow")`` (``string[pyarrow]``, missing = ``pd.NA``), chosen
  explicitly rather than pandas 3's default ``str`` dtype (which uses ``NaN`` for missing): all
  the nullable dtypes of the table then share one missing marker, ``pd.NA``, and the column is
  the same under pandas 2.2 and 3.x. Ids stay text: no id or zip code ever turns numeric.
* Dates are naive ``datetime64[s]`` at midnight: second resolution so Salesforce's far sentinel
  dates (``4000-12-31``) fit, which nanoseconds cannot hold (they end in 2262).
* Datetimes are ``datetime64[ns, UTC]`` (Salesforce sends UTC). A column holding a datetime past
  2262-04-11 cannot be nanoseconds; it comes back as ``datetime64[ms, UTC]`` instead of failing.
* Times are ``timedelta64[ns]`` since midnight: vectorised, sortable, nullable, and
  ``pd.Timestamp("2024-01-31") + df.Time`` gives a datetime; ``df.Time.dt.components`` gives
  hours and minutes.
* Aggregates take their source field's type: ``COUNT``/``COUNT_DISTINCT`` -> ``Int64``, ``AVG``
  -> ``Float64``, ``SUM``/``MIN``/``MAX`` keep the source's (:func:`aggregate_type`).
* Compound fields are flattened (``BillingAddress.city``); their parts follow
  :data:`COMPOUND_PARTS` (``latitude``/``longitude`` -> ``Float64``, the rest text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sfnotebook import _values as v

# Following paths through describes lives in _describe_paths; re-exported here for callers.
from sfnotebook._describe_paths import (
    COMPOUND_PARTS,
    compound_parts,
    order_parts,
    resolve_field,
    resolve_type,
)

__all__ = [
    "COMPOUND_PARTS",
    "DTYPE_TABLE",
    "TYPES",
    "FieldType",
    "aggregate_type",
    "build_chunk",
    "compound_parts",
    "empty_chunk",
    "field_type",
    "infer_sf_type",
    "order_parts",
    "pandas_dtype",
    "read_cells",
    "resolve_field",
    "resolve_type",
]

Chunk = Any  # pa.Array (or pa.ChunkedArray), or a list of Python objects for anyType


@dataclass(frozen=True)
class FieldType:
    """One row of the dtype table: how values of one Salesforce field type are read and held.

    Attributes
    ----------
    name : str
        The describe ``type`` (``"currency"``); report ``dataType`` values use the same names.
    pandas : str
        The dtype of the ``"pandas"`` output (:attr:`pandas_dtype` resolves it).
    arrow : pyarrow.DataType
        The storage type: every chunk, the ``"arrow"`` and ``"polars"`` outputs, Parquet.
    json, csv, cell : callable
        Parsers of one page's column: JSON values (a list), CSV text (an Arrow string array),
        report cells (a list of ``{"label", "value"}``). ``cell`` is None when reports show the
        type as its label text.
    leaf : type
        The msgspec type a JSON value of this type decodes to (typed page decoding).
    csv_reader : bool
        pyarrow's CSV reader converts the text itself (bulk's fast path).
    objects : bool
        pandas holds Python objects (``anyType``); Arrow holds their text.
    splits : bool
        ``"A;B"`` becomes ``["A", "B"]`` with ``split_multipicklist=True``.
    wider : str, optional
        The row report values take when this one cannot hold them (fractional ``int`` cells).
    """

    name: str
    pandas: str
    arrow: pa.DataType
    json: Callable[[Sequence[Any]], Chunk]
    csv: Callable[[Any], Chunk]
    cell: Callable[[Sequence[Mapping[str, Any]]], Chunk] | None
    leaf: Any
    csv_reader: bool = False
    objects: bool = False
    splits: bool = False
    wider: str | None = None

    @property
    def pandas_dtype(self) -> Any:
        """The pandas dtype object (``pd.StringDtype("pyarrow")`` for ``string[pyarrow]``)."""
        return pandas_dtype_named(self.pandas)

    def empty(self) -> Chunk:
        """A zero-length chunk of this type (for an empty result)."""
        return [] if self.objects else pa.array([], type=self.arrow)


def pandas_dtype_named(name: str) -> Any:
    """A pandas dtype by name; ``string[pyarrow]`` is ``pd.StringDtype("pyarrow")``."""
    import numpy as np
    import pandas as pd

    if name == "string[pyarrow]":
        return pd.StringDtype("pyarrow")
    if name == "object":
        return np.dtype(object)
    return pd.api.types.pandas_dtype(name)


def _text(name: str, *, cell: Any = v.cell_label, splits: bool = False) -> FieldType:
    return FieldType(
        name, "string[pyarrow]", pa.string(), v.json_text, v.csv_text, cell, str | None,
        splits=splits,
    )  # fmt: skip


def _int(name: str) -> FieldType:
    return FieldType(
        name, "Int64", pa.int64(), v.json_int, v.csv_int, v.cell_int, int | float | None,
        csv_reader=True, wider="double",
    )  # fmt: skip


def _float(name: str) -> FieldType:
    return FieldType(
        name, "Float64", pa.float64(), v.json_float, v.csv_float, v.cell_float, float | None,
        csv_reader=True,
    )  # fmt: skip


_ROWS = (
    _text("id", cell=v.cell_id),
    _text("reference"),
    _text("string"),
    _text("picklist"),
    _text("combobox"),
    _text("textarea"),
    _text("email"),
    _text("phone"),
    _text("url"),
    _text("encryptedstring"),
    _text("base64"),
    _text("datacategorygroupreference"),
    _text("complexvalue"),
    _text("json"),
    _text("multipicklist", splits=True),
    FieldType("boolean", "boolean", pa.bool_(), v.json_bool, v.csv_bool, v.cell_bool,
              bool | None, csv_reader=True),
    _int("int"),
    _int("long"),
    _float("double"),
    _float("currency"),
    _float("percent"),  # percent units: 10 means 10%
    _float("number"),  # reports' dataType for plain numbers
    FieldType("date", "datetime64[s]", pa.date32(), v.json_date, v.csv_date, v.cell_date,
              str | None, csv_reader=True),
    FieldType("datetime", "datetime64[ns, UTC]", pa.timestamp("ms", tz="UTC"), v.json_datetime,
              v.csv_datetime, v.cell_datetime, str | None, csv_reader=True),
    FieldType("time", "timedelta64[ns]", pa.duration("ms"), v.json_time, v.csv_time, None,
              str | None),
    FieldType("anyType", "object", pa.string(), v.json_objects, v.csv_text, None, Any,
              objects=True),
)  # fmt: skip

#: The dtype table: Salesforce type -> its row. Unknown types read as ``string``.
TYPES: Mapping[str, FieldType] = MappingProxyType({row.name: row for row in _ROWS})
_BY_LOWER = {name.lower(): row for name, row in TYPES.items()}

#: Salesforce type -> pandas dtype name: a view of :data:`TYPES` for reading and docs.
DTYPE_TABLE: Mapping[str, str] = MappingProxyType({n: r.pandas for n, r in TYPES.items()})


def field_type(sf_type: str | None) -> FieldType:
    """The row of Salesforce type ``sf_type`` (case-insensitive; unknown or None -> string)."""
    row = TYPES.get(sf_type or "string")
    if row is None:
        row = _BY_LOWER.get(str(sf_type).lower(), TYPES["string"])
    return row


def pandas_dtype(sf_type: str | None) -> Any:
    """The pandas dtype a column of Salesforce type ``sf_type`` gets (unknown -> string)."""
    return field_type(sf_type).pandas_dtype


def read_cells(cells: Sequence[Mapping[str, Any]], data_type: str) -> tuple[FieldType, Chunk]:
    """One report column's cells -> (its row, an Arrow array), by the column's ``dataType``."""
    row = field_type(data_type)
    if row.cell is None:
        row = TYPES["string"]
    try:
        return row, row.cell(cells)  # type: ignore[misc]
    except v.NotWhole:
        wider = TYPES[row.wider or "double"]
        return wider, wider.cell(cells)  # type: ignore[misc]


def aggregate_type(function: str, source_type: str | None) -> str | None:
    """Salesforce type of an aggregate's result: COUNT -> int, AVG -> double, else the source's."""
    func = function.upper()
    if func in {"COUNT", "COUNT_DISTINCT"}:
        return "int"
    if func == "AVG":
        return "double"
    return source_type


_DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_TIME_RE = r"^\d{2}:\d{2}:\d{2}(\.\d+)?Z?$"


def infer_sf_type(values: Sequence[Any]) -> str:
    """Guess a Salesforce type from JSON values when no describe is at hand.

    JSON booleans -> boolean, integers -> int, other numbers -> double, strings shaped exactly
    like Salesforce dates, datetimes or times -> that type, other strings -> string, anything
    else -> anyType. A column with no non-null value is ``string``.
    """
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return "anyType"
    typ = arr.type
    if pa.types.is_null(typ):
        return "string"
    if pa.types.is_boolean(typ):
        return "boolean"
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ):
        return "double"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        valid = arr.drop_null()
        for sf_type, pattern in (
            ("datetime", _DATETIME_RE),
            ("date", _DATE_RE),
            ("time", _TIME_RE),
        ):
            if pc.all(pc.match_substring_regex(valid, pattern)).as_py():
                return sf_type
        return "string"
    return "anyType"


def build_chunk(values: Sequence[Any], sf_type: str | None) -> Chunk:
    """Step 1: one page's JSON values of a column -> a typed chunk (``pa.Array`` or list)."""
    return field_type(sf_type).json(values)


def empty_chunk(sf_type: str | None) -> Chunk:
    """A zero-length chunk of the right type (for an empty result)."""
    return field_type(sf_type).empty()
