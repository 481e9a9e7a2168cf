"""Salesforce field type -> pandas dtype: the table, and the two steps that apply it.

Values are converted in two steps, as pandas-gbq does:

1. **build** (:func:`build_chunk`): one page's values of one column (a Python list taken from
   the JSON records) become a compact typed chunk, a ``pyarrow.Array`` (or a list for
   ``object`` columns). Pages are converted while the next one downloads, and only these chunks
   are kept, never the raw JSON.
2. **finalize** (:func:`finalize`): the chunks of a column are joined and turned into the pandas
   array of the dtype in :data:`DTYPE_TABLE`. The caller's ``dtypes=`` overrides are applied last
   (:func:`apply_overrides`) and always win.

The table (also in the README):

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    "aggregate_type",
    "apply_overrides",
    "build_chunk",
    "compound_parts",
    "empty_chunk",
    "finalize",
    "infer_sf_type",
    "order_parts",
    "pandas_dtype",
    "resolve_field",
    "resolve_type",
]

#: Salesforce describe ``type`` -> pandas dtype name. Unknown types fall back to ``string``.
DTYPE_TABLE: dict[str, str] = {
    "id": "string[pyarrow]",
    "reference": "string[pyarrow]",
    "string": "string[pyarrow]",
    "picklist": "string[pyarrow]",
    "combobox": "string[pyarrow]",
    "textarea": "string[pyarrow]",
    "email": "string[pyarrow]",
    "phone": "string[pyarrow]",
    "url": "string[pyarrow]",
    "encryptedstring": "string[pyarrow]",
    "base64": "string[pyarrow]",
    "datacategorygroupreference": "string[pyarrow]",
    "complexvalue": "string[pyarrow]",
    "json": "string[pyarrow]",
    "multipicklist": "string[pyarrow]",
    "boolean": "boolean",
    "int": "Int64",
    "long": "Int64",
    "double": "Float64",
    "currency": "Float64",
    "percent": "Float64",
    "date": "datetime64[s]",
    "datetime": "datetime64[ns, UTC]",
    "time": "timedelta64[ns]",
    "anyType": "object",
}

_STRING = pd.StringDtype("pyarrow")
# Arrow storage type of each table entry; ``None`` means a plain list (object column).
_ARROW: dict[str, pa.DataType | None] = {
    "string[pyarrow]": pa.string(),
    "boolean": pa.bool_(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "datetime64[s]": pa.date32(),
    "datetime64[ns, UTC]": pa.timestamp("ms", tz="UTC"),
    "timedelta64[ns]": pa.duration("ms"),
    "object": None,
}
_NS_MAX_MS = np.iinfo(np.int64).max // 1_000_000

Chunk = Any  # pa.Array, or list for object columns


def _kind(sf_type: str | None) -> str:
    return DTYPE_TABLE.get(sf_type or "string", "string[pyarrow]")


def pandas_dtype(sf_type: str | None) -> Any:
    """The pandas dtype a column of Salesforce type ``sf_type`` gets (unknown -> string)."""
    kind = _kind(sf_type)
    if kind == "string[pyarrow]":
        return _STRING
    if kind == "object":
        return np.dtype(object)
    return pd.api.types.pandas_dtype(kind)


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


def _to_number(values: list[Any], typ: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type=typ, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Aggregates may arrive as 300.0 for an int source; numbers may arrive as strings.
        return pc.cast(pa.array([_num(v) for v in values], type=pa.float64()), typ)


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


# from_pandas=True: with None values and an explicit type, pyarrow 26 is ~15x slower without
# it (measured); JSON has no NaN, so its other effect (NaN -> null) never applies.
def build_chunk(values: list[Any], sf_type: str | None) -> Chunk:
    """Step 1: one page's JSON values of a column -> a typed chunk (``pa.Array`` or list)."""
    kind = _kind(sf_type)
    if kind == "object":
        return list(values)
    if kind == "string[pyarrow]":
        try:
            return pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if kind in {"Int64", "Float64"}:
        return _to_number(values, _ARROW[kind])  # type: ignore[arg-type]
    if kind == "boolean":
        return pa.array(values, type=pa.bool_(), from_pandas=True)
    text = pa.array(values, type=pa.string(), from_pandas=True)
    if kind == "datetime64[ns, UTC]":
        # Arrow's ISO-8601 cast reads Salesforce's "2024-01-31T18:25:43.000+0000" in C.
        return pc.cast(text, pa.timestamp("ms", tz="UTC"))
    if kind == "datetime64[s]":
        return pc.cast(text, pa.date32())
    # time "13:30:00.000Z": parse as a timestamp on 1970-01-01, which is the ms since midnight.
    clock = pc.replace_substring(text, "Z", "")
    stamp = pc.cast(pc.binary_join_element_wise("1970-01-01T", clock, ""), pa.timestamp("ms"))
    return pc.cast(pc.cast(stamp, pa.int64()), pa.duration("ms"))


def empty_chunk(sf_type: str | None) -> Chunk:
    """A zero-length chunk of the right type (for an empty result)."""
    typ = _ARROW[_kind(sf_type)]
    return [] if typ is None else pa.array([], type=typ)


def finalize(
    chunks: Sequence[Chunk], sf_type: str | None, *, split_multipicklist: bool = False
) -> Any:
    """Step 2: join a column's chunks and return the pandas array of the table's dtype."""
    kind = _kind(sf_type)
    if kind == "object" or (split_multipicklist and sf_type == "multipicklist"):
        if kind == "object":
            flat: list[Any] = [v for chunk in chunks for v in chunk]
        else:
            joined = pa.chunked_array(list(chunks), type=pa.string())
            flat = pc.split_pattern(joined, ";").to_pylist()
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out
    typ = _ARROW[kind]
    arr = pa.chunked_array(list(chunks), type=typ).combine_chunks() if chunks else None
    if arr is None:
        arr = pa.array([], type=typ)
    if kind == "string[pyarrow]":
        return pd.array(arr, dtype=_STRING)
    if kind in {"Int64", "Float64", "boolean"}:
        # values + mask straight from Arrow: exact for 64-bit integers (no float round trip)
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        zero: Any = False if kind == "boolean" else 0
        values = arr.fill_null(zero).to_numpy(zero_copy_only=False)
        if kind == "Int64":
            return pd.arrays.IntegerArray(values.astype("int64"), mask)
        if kind == "Float64":
            return pd.arrays.FloatingArray(values.astype("float64"), mask)
        return pd.arrays.BooleanArray(values.astype(bool), mask)
    if kind == "datetime64[ns, UTC]":
        # Nanoseconds end in 2262; a column reaching past that keeps milliseconds.
        lo, hi = pc.min_max(pc.cast(arr, pa.int64())).values()
        fits = all(v.as_py() is None or abs(v.as_py()) <= _NS_MAX_MS for v in (lo, hi))
        stamps = arr.to_pandas(date_as_object=False).array
        return stamps.astype("datetime64[ns, UTC]") if fits else stamps
    if kind == "datetime64[s]":
        return arr.to_pandas(date_as_object=False).array.astype("datetime64[s]")
    return arr.to_pandas().array.astype("timedelta64[ns]")


def apply_overrides(frame: pd.DataFrame, dtypes: Mapping[str, Any] | None) -> pd.DataFrame:
    """Apply the caller's ``dtypes=`` (column -> dtype); they win over the table.

    A column named in ``dtypes`` but absent from the frame raises ``KeyError`` so a typo does not
    pass silently.
    """
    if not dtypes:
        return frame
    missing = [name for name in dtypes if name not in frame.columns]
    if missing:
        raise KeyError(
            f"dtypes= names columns that the result does not have: {missing}; "
            f"columns are {list(frame.columns)}"
        )
    return frame.astype(dict(dtypes))
