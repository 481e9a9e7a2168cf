"""Report cell values and labels as Salesforce formats them (en_US locale, GMT, USD).

Private to the demo org's reports feature. Every function maps a *stored* SQLite value (see
:mod:`sfnotebook_demo.data.schema`) to the ``{"label", "value"}`` pair of a report cell:

* empty -> ``{"label": "-", "value": null}``;
* currency -> ``{"amount": x, "currency": null}`` (single-currency org), label ``"$1,234.50"``;
* percent -> number in percent units, label ``"60%"``; int/double -> number, label with
  thousands separators and the field's scale;
* date -> ``"2015-07-31"``, label ``"7/31/2015"``; datetime -> ``"2015-08-12T16:05:43Z"``,
  label ``"8/12/2015 4:05 PM"`` (columns flagged ``date_only`` give the date as value and
  label, as real payloads show for ``CREATED_DATE``);
* boolean -> ``true``/``false``, label ``"true"``/``"false"``;
* lookups -> record Id as value, name as label; id columns -> the Id as value (18 characters,
  or 15 under the ``report_id_cells`` dialect) and the 15-character Id (what the UI shows) as
  label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfnotebook_demo.reports.defs import Column

__all__ = [
    "EMPTY",
    "aggregate_cell",
    "cell",
    "date_label",
    "datetime_label",
    "format_number",
    "formatter",
    "group_cell",
]

EMPTY = "-"

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def format_number(value: float, scale: int) -> str:
    """``1234.5`` -> ``"1,234.50"`` with ``scale`` decimals."""
    return f"{value:,.{scale}f}"


def _money(value: float, scale: int = 2) -> str:
    text = format_number(abs(value), scale)
    return f"-${text}" if value < 0 else f"${text}"


def date_label(iso: str) -> str:
    """``"2015-07-31"`` -> ``"7/31/2015"``."""
    return f"{int(iso[5:7])}/{int(iso[8:10])}/{iso[:4]}"


def datetime_label(stored: str) -> str:
    """``"2015-08-12T16:05:43.000+0000"`` -> ``"8/12/2015 4:05 PM"`` (GMT)."""
    hour, minute = int(stored[11:13]), stored[14:16]
    suffix = "AM" if hour < 12 else "PM"
    hour12 = hour % 12 or 12
    return f"{date_label(stored)} {hour12}:{minute} {suffix}"


def _time_label(stored: str) -> str:
    hour, minute = int(stored[0:2]), stored[3:5]
    return f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"


def _iso_datetime(stored: str) -> str:
    return stored[:19] + "Z"


def _number_label(data_type: str, value: float, scale: int) -> str:
    if data_type == "currency":
        return _money(value, scale)
    if data_type == "percent":
        return format_number(value, scale) + "%"
    if data_type == "int":
        return format_number(value, 0)
    return format_number(value, scale)


Formatter = Callable[[Any, Any], dict[str, Any]]


def _make_formatter(col: Column, id_length: int) -> Formatter:
    """A function ``(stored value, lookup label) -> cell`` for ``col`` (non-null values)."""
    dt, scale = col.data_type, col.scale
    if col.label_sql is not None:  # lookups and name columns: Id as value, name as label
        return lambda v, lab: {"label": EMPTY if lab is None else str(lab), "value": v}
    if dt == "id":
        return lambda v, _: {"label": v[:15], "value": v[:id_length]}
    if dt == "currency":
        return lambda v, _: {
            "label": _money(v, scale),
            "value": {"amount": v, "currency": None},
        }
    if dt == "int":
        return lambda v, _: {"label": format_number(v, 0), "value": int(v)}
    if dt in ("percent", "double"):
        return lambda v, _: {"label": _number_label(dt, v, scale), "value": v}
    if dt == "date":
        return lambda v, _: {"label": date_label(v), "value": v}
    if dt == "datetime" and col.date_only:
        return lambda v, _: {"label": date_label(v), "value": v[:10]}
    if dt == "datetime":
        return lambda v, _: {"label": datetime_label(v), "value": _iso_datetime(v)}
    if dt == "boolean":
        return lambda v, _: {"label": "true" if v else "false", "value": bool(v)}
    if dt == "time":
        return lambda v, _: {"label": _time_label(v), "value": v}
    if dt == "multipicklist":
        return lambda v, _: {"label": "; ".join(str(v).split(";")), "value": v}
    return lambda v, _: {"label": str(v), "value": v}


_FORMATTERS: dict[tuple[Column, int], Formatter] = {}


def formatter(col: Column, *, id_length: int = 18) -> Formatter:
    """The cell function of ``col``, nulls included (cached per column).

    ``id_length``: 18 or 15, the length of an ``id`` column's value (``report_id_cells``).
    """
    fmt = _FORMATTERS.get((col, id_length))
    if fmt is None:
        inner = _make_formatter(col, id_length)

        def fmt(value: Any, label: Any = None) -> dict[str, Any]:
            if value is None:
                return {"label": EMPTY, "value": None}
            return inner(value, label)

        _FORMATTERS[(col, id_length)] = fmt
    return fmt


def cell(col: Column, value: Any, label: Any = None) -> dict[str, Any]:
    """The detail cell of ``col`` for a stored ``value`` (and the lookup's ``label``)."""
    return formatter(col)(value, label)


def _bucket_label(granularity: str, start: str) -> str:
    year, month = start[:4], int(start[5:7])
    if granularity == "Month":
        return f"{_MONTHS[month - 1]} {year}"
    if granularity in ("Quarter", "FiscalQuarter"):
        return f"Q{(month - 1) // 3 + 1}-{year}"
    if granularity == "Year":
        return year
    if granularity == "FiscalYear":
        return f"FY {year}"
    if granularity == "Week":
        return f"Week of {date_label(start)}"
    return date_label(start)


def group_cell(col: Column, granularity: str, value: Any, label: Any = None) -> dict[str, Any]:
    """``{"label", "value"}`` of one grouping (``value`` is the bucket start for dates)."""
    if value is None:
        return {"label": EMPTY, "value": None}
    if col.data_type in ("date", "datetime") and granularity != "None":
        return {"label": _bucket_label(granularity, value), "value": value}
    if col.data_type in ("date", "datetime"):
        return {"label": date_label(value), "value": value[:10]}
    return cell(col, value, label)


def aggregate_cell(kind: str, col: Column | None, value: float | int | None) -> dict[str, Any]:
    """An aggregate's ``{"label", "value"}``: the value is always a plain number (or null).

    ``kind`` is ``RowCount`` or the prefix letter (``s``, ``a``, ``m``, ``x``, ``u``).
    """
    if value is None:
        return {"label": EMPTY, "value": None}
    if kind in ("RowCount", "u") or col is None:
        return {"label": format_number(value, 0), "value": int(value)}
    scale = col.scale
    if kind == "a":
        scale = max(scale, 2)
    if col.data_type == "int" and kind != "a":
        value = int(value)
    return {"label": _number_label(col.data_type, value, scale), "value": value}
