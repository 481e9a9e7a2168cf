"""Report cells -> typed pandas arrays (private to report_frames and the report paging).

A cell is ``{"label": display text, "value": typed value}``. Numbers, dates and booleans are
read from ``value`` (currency values are ``{"amount", "currency"}``); text-like and lookup
columns from ``label``, since a lookup's value is a record Id while users see the name. ``"-"``,
null and ``""`` are missing. Dtypes come from the package's one table (:mod:`sfnotebook.dtypes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sfnotebook.dtypes import pandas_dtype

__all__ = [
    "INT_TYPES",
    "STRING",
    "cell_text",
    "cell_value",
    "convert_cells",
    "currency_code",
    "number",
]

_FLOAT_TYPES = frozenset({"double", "percent", "number", "currency"})
INT_TYPES = frozenset({"int"})
_BOOL_TYPES = frozenset({"boolean"})
_DATE_TYPES = frozenset({"date"})
_DATETIME_TYPES = frozenset({"datetime"})
_EMPTY = ("", "-")
# One dtype table for the package (sfnotebook.dtypes): text, date and datetime columns of a
# report get the same dtypes as the SOQL side's.
STRING = pandas_dtype("string")
_DATE = pandas_dtype("date")
_DATETIME = pandas_dtype("datetime")


def convert_cells(cells: Sequence[Mapping[str, Any]], data_type: str) -> Any:
    """One column's cells -> the pandas array its report ``dataType`` calls for."""
    if data_type in _FLOAT_TYPES:
        return pd.array([number(c) for c in cells], dtype="Float64")
    if data_type in INT_TYPES:
        numbers = [number(c) for c in cells]
        if all(n is None or float(n).is_integer() for n in numbers):
            return pd.array([None if n is None else int(n) for n in numbers], dtype="Int64")
        return pd.array(numbers, dtype="Float64")
    if data_type == "id":
        # The record's own Id: its 18-character value (the label is the 15-character form),
        # so it joins with SOQL results.
        return pd.array([_id_text(c) for c in cells], dtype=STRING)
    if data_type in _BOOL_TYPES:
        return pd.array([_boolean(c) for c in cells], dtype="boolean")
    if data_type in _DATE_TYPES | _DATETIME_TYPES:
        raw = [_date_text(c) for c in cells]
        utc = data_type in _DATETIME_TYPES
        parsed = pd.to_datetime(pd.Series(raw, dtype=object), format="ISO8601", utc=utc)
        try:
            return parsed.astype(_DATETIME if utc else _DATE).array
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            # Past 2262 nanoseconds overflow (sentinel dates like 4000-12-31).
            return parsed.astype("datetime64[ms, UTC]" if utc else "datetime64[s]").array
    return pd.array([cell_text(c) for c in cells], dtype=STRING)


def cell_value(cell: Mapping[str, Any]) -> Any:
    value = cell.get("value")
    if isinstance(value, Mapping):
        value = value.get("amount")
    if isinstance(value, str) and value.strip() in _EMPTY:
        return None
    return value


def number(cell: Mapping[str, Any]) -> float | None:
    value = cell_value(cell)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and np.isnan(value) else value
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _boolean(cell: Mapping[str, Any]) -> bool | None:
    value = cell_value(cell)
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


def _date_text(cell: Mapping[str, Any]) -> str | None:
    value = cell_value(cell)
    return None if value is None else str(value)


def currency_code(cell: Mapping[str, Any]) -> str | None:
    value = cell.get("value")
    code = value.get("currency") if isinstance(value, Mapping) else None
    return str(code) if code else None


def cell_text(cell: Mapping[str, Any]) -> str | None:
    """The display text of a text/lookup cell or grouping node: its label, never its Id."""
    label = cell.get("label")
    value = cell.get("value")
    if label is None or label == "":
        return _text_of(value) if isinstance(value, str) and value.strip() else None
    if label == "-" and (value is None or value == ""):
        return None
    return _text_of(str(label))


def _id_text(cell: Mapping[str, Any]) -> str | None:
    value = cell.get("value")
    if isinstance(value, str) and len(value) in (15, 18) and value.isalnum():
        return value
    return cell_text(cell)


def _text_of(text: str | None) -> str | None:
    # Addresses come with HTML line breaks in both label and value.
    return None if text is None else text.replace("<br>", "\n")
