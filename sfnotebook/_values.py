"""Value parsers: JSON values, CSV text and report cells -> Arrow arrays. Pure: no I/O.

Each function reads one column of one page in one wire format and returns an Arrow array of
the storage type its row of the dtype table names (:mod:`sfnotebook.dtypes` wires them into
the rows); ``anyType`` JSON values stay a Python list. A value that does not parse raises
``pyarrow.ArrowInvalid`` (CSV, JSON) so that nothing is guessed silently.

A report cell is ``{"label": display text, "value": typed value}``. Numbers, dates and booleans
are read from ``value`` (currency values are ``{"amount", "currency"}``); text-like and lookup
columns from ``label``, since a lookup's value is a record Id while users see the name. ``"-"``,
null and ``""`` are missing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sfnotebook._ids import widen_id

__all__ = [
    "NotWhole",
    "api_datetime",
    "cell_bool",
    "cell_date",
    "cell_datetime",
    "cell_float",
    "cell_id",
    "cell_int",
    "cell_label",
    "cell_text",
    "cell_value",
    "csv_bool",
    "csv_date",
    "csv_datetime",
    "csv_float",
    "csv_int",
    "csv_text",
    "csv_time",
    "currency_code",
    "json_bool",
    "json_date",
    "json_datetime",
    "json_float",
    "json_int",
    "json_objects",
    "json_text",
    "json_time",
    "number",
    "text_of",
]

Text = Any  # pa.Array or pa.ChunkedArray of strings (and what a parser returns)
Cells = Sequence[Mapping[str, Any]]

_TIMESTAMP = pa.timestamp("ms", tz="UTC")
_EMPTY = ("", "-")


class NotWhole(ValueError):
    """Report numbers of an integer column that are not whole (the column widens to double)."""


# --------------------------------------------------------------------------- CSV text


def csv_text(column: Text) -> Text:
    """Text stays text (an Id or a zip code never turns numeric)."""
    return column


def csv_bool(column: Text) -> Text:
    """``true``/``false`` (Arrow also takes ``1``/``0`` in any case, as exports may vary)."""
    return pc.cast(column, pa.bool_())


def csv_int(column: Text) -> Text:
    try:
        return pc.cast(column, pa.int64())
    except pa.ArrowInvalid:  # "250.0" for an int field: go through float
        return pc.cast(pc.cast(column, pa.float64()), pa.int64())


def csv_float(column: Text) -> Text:
    return pc.cast(column, pa.float64())


def csv_datetime(column: Text) -> Text:
    """Arrow's ISO-8601 cast reads ``...000Z`` and Salesforce's ``...000+0000`` alike, in C."""
    return pc.cast(column, _TIMESTAMP)


def csv_date(column: Text) -> Text:
    return pc.cast(column, pa.date32())


def csv_time(column: Text) -> Text:
    """``13:30:00.000Z`` -> milliseconds since midnight, as ``duration[ms]``."""
    # A timestamp on 1970-01-01 is the milliseconds since midnight.
    clock = pc.replace_substring(column, "Z", "")
    stamp = pc.cast(pc.binary_join_element_wise("1970-01-01T", clock, ""), pa.timestamp("ms"))
    return pc.cast(pc.cast(stamp, pa.int64()), pa.duration("ms"))


# --------------------------------------------------------------------------- JSON values


def _strings(values: Sequence[Any]) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


# from_pandas=True: with None values and an explicit type, pyarrow 26 is ~15x slower without
# it (measured); JSON has no NaN, so its other effect (NaN -> null) never applies.
def json_text(values: Sequence[Any]) -> pa.Array:
    try:
        return _strings(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def json_bool(values: Sequence[Any]) -> pa.Array:
    return pa.array(values, type=pa.bool_(), from_pandas=True)


def _number(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type=typ, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Aggregates may arrive as 300.0 for an int source; numbers may arrive as strings.
        floats = [None if v is None else float(v) for v in values]
        return pc.cast(pa.array(floats, type=pa.float64()), typ)


def json_int(values: Sequence[Any]) -> pa.Array:
    return _number(values, pa.int64())


def json_float(values: Sequence[Any]) -> pa.Array:
    return _number(values, pa.float64())


def json_datetime(values: Sequence[Any]) -> Text:
    return csv_datetime(_strings(values))


def json_date(values: Sequence[Any]) -> Text:
    return csv_date(_strings(values))


def json_time(values: Sequence[Any]) -> Text:
    return csv_time(_strings(values))


def json_objects(values: Sequence[Any]) -> list[Any]:
    """``anyType``: the JSON values as they are (Python objects)."""
    return list(values)


# --------------------------------------------------------------------------- report cells


def cell_value(cell: Mapping[str, Any]) -> Any:
    """A cell's typed value: currency amounts unwrapped, empty markers as None."""
    value = cell.get("value")
    if isinstance(value, Mapping):
        value = value.get("amount")
    if isinstance(value, str) and value.strip() in _EMPTY:
        return None
    return value


def number(cell: Mapping[str, Any]) -> float | None:
    """A cell's number (formatted text such as ``"1,200"`` is read too), or None."""
    value = cell_value(cell)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else value
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def currency_code(cell: Mapping[str, Any]) -> str | None:
    value = cell.get("value")
    code = value.get("currency") if isinstance(value, Mapping) else None
    return str(code) if code else None


def text_of(text: str | None) -> str | None:
    # Addresses come with HTML line breaks in both label and value.
    return None if text is None else text.replace("<br>", "\n")


def cell_text(cell: Mapping[str, Any]) -> str | None:
    """The display text of a text/lookup cell or grouping node: its label, never its Id."""
    label = cell.get("label")
    value = cell.get("value")
    if label is None or label == "":
        return text_of(value) if isinstance(value, str) and value.strip() else None
    if label == "-" and (value is None or value == ""):
        return None
    return text_of(str(label))


def _id_text(cell: Mapping[str, Any]) -> str | None:
    value = cell.get("value")
    if isinstance(value, str) and len(value) in (15, 18) and value.isalnum():
        return widen_id(value)
    text = cell_text(cell)  # no Id in the value: the label (the UI's 15-character form)
    return widen_id(text) if text is not None else None


def _boolean(cell: Mapping[str, Any]) -> bool | None:
    value = cell_value(cell)
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


def cell_label(cells: Cells) -> pa.Array:
    """Text-like and lookup columns: the label users see."""
    return pa.array([cell_text(c) for c in cells], type=pa.string())


def cell_id(cells: Cells) -> pa.Array:
    """The record's own Id, always 18 characters: a 15-character value is widened (its
    case-safe suffix added), as joins with SOQL results need; the label is the 15-character
    form the UI shows."""
    return pa.array([_id_text(c) for c in cells], type=pa.string())


def cell_float(cells: Cells) -> pa.Array:
    return pa.array([number(c) for c in cells], type=pa.float64())


def cell_int(cells: Cells) -> pa.Array:
    """Whole numbers; :class:`NotWhole` when one is not (the caller widens to double)."""
    numbers = [number(c) for c in cells]
    if not all(n is None or float(n).is_integer() for n in numbers):
        raise NotWhole("an integer report column holds fractional values")
    return pa.array([None if n is None else int(n) for n in numbers], type=pa.int64())


def cell_bool(cells: Cells) -> pa.Array:
    return pa.array([_boolean(c) for c in cells], type=pa.bool_())


def _raw_text(cells: Cells) -> list[str | None]:
    out = []
    for cell in cells:
        value = cell_value(cell)
        out.append(None if value is None else str(value))
    return out


def cell_date(cells: Cells) -> Text:
    """``"2024-01-31"`` (a timestamp keeps its date part)."""
    return csv_date(pa.array([v and v[:10] for v in _raw_text(cells)], type=pa.string()))


_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _utc(text: str) -> str:
    if len(text) == 10:  # date-only values of CREATED_DATE-like columns: midnight UTC
        return f"{text}T00:00:00Z"
    return text if _ZONE.search(text) else f"{text}Z"


def cell_datetime(cells: Cells) -> Text:
    """ISO-8601 timestamps, date-only values as midnight UTC, values without a zone as UTC."""
    return csv_datetime(pa.array([v and _utc(v) for v in _raw_text(cells)], type=pa.string()))


def api_datetime(value: object) -> dt.datetime | None:
    """A REST API datetime (``2014-04-09T00:28:16.000+0000``, or ``...Z`` without milliseconds,
    as report filter values are written) in UTC, or None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text, fmt).astimezone(dt.timezone.utc)
        except ValueError:
            continue
    return None
