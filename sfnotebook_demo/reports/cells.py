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

from collections.abc import Callable, Sequence
from typing import Any

from sfnotebook_demo.reports.defs import Column

__all__ = [
    "EMPTY",
    "aggregate_cell",
    "cell",
    "column_cells",
    "date_label",
    "datetime_label",
    "format_number",
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
    return f"{date_label(stored)} {_time_label(stored[11:16])}"


def _time_label(stored: str) -> str:
    """``"16:05:43.000Z"`` -> ``"4:05 PM"``."""
    hour, minute = int(stored[0:2]), stored[3:5]
    return f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"


def _number_label(data_type: str, value: float, scale: int) -> str:
    if data_type == "currency":
        return _money(value, scale)
    if data_type == "percent":
        return format_number(value, scale) + "%"
    if data_type == "int":
        return format_number(value, 0)
    return format_number(value, scale)


class _Labels(dict[str, str]):
    """Labels by stored text, each made once: a report's dates and times repeat a lot."""

    def __init__(self, make: Callable[[str], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: str) -> str:
        if len(self) >= _LABELS_MAX:  # a bound, not a policy: the demo's days are far fewer
            self.clear()
        label = self[key] = self._make(key)
        return label


_LABELS_MAX = 100_000
_DATE_LABELS = _Labels(date_label)  # by "YYYY-MM-DD"
_TIME_LABELS = _Labels(_time_label)  # by "HH:MM"

Cell = dict[str, Any]


def column_cells(
    col: Column,
    values: Sequence[Any],
    labels: Sequence[Any] | None = None,
    *,
    id_length: int = 18,
    empty: Cell | None = None,
) -> list[Cell]:
    """The detail cells of ``col`` for a column of stored ``values`` (one per row).

    ``labels``: the lookup labels beside the values (columns with ``label_sql``).
    ``id_length``: 18 or 15, the length of an ``id`` column's value (``report_id_cells``).
    ``empty``: the cell of a null value (one object may stand for every empty cell of a
    run: the payload is serialized, never changed).
    A whole column at a time, each type's cell written out in one comprehension: a run has
    some 40,000 cells, and a call per cell was most of its cost.
    """
    e: Cell = {"label": EMPTY, "value": None} if empty is None else empty
    dt, scale = col.data_type, col.scale
    if col.label_sql is not None:  # lookups and name columns: Id as value, name as label
        if labels is None:
            labels = [None] * len(values)
        return [
            e if v is None else {"label": EMPTY if lab is None else str(lab), "value": v}
            for v, lab in zip(values, labels, strict=True)
        ]
    if dt == "id":
        return [e if v is None else {"label": v[:15], "value": v[:id_length]} for v in values]
    if dt == "currency":
        return [
            e
            if v is None
            else {
                "label": f"-${-v:,.{scale}f}" if v < 0 else f"${abs(v):,.{scale}f}",
                "value": {"amount": v, "currency": None},
            }
            for v in values
        ]
    if dt == "int":
        return [e if v is None else {"label": f"{v:,.0f}", "value": int(v)} for v in values]
    if dt == "percent":
        return [e if v is None else {"label": f"{v:,.{scale}f}%", "value": v} for v in values]
    if dt == "double":
        return [e if v is None else {"label": f"{v:,.{scale}f}", "value": v} for v in values]
    days, times = _DATE_LABELS, _TIME_LABELS
    if dt == "date":
        return [e if v is None else {"label": days[v], "value": v} for v in values]
    if dt == "datetime" and col.date_only:
        return [e if v is None else {"label": days[d := v[:10]], "value": d} for v in values]
    if dt == "datetime":
        return [
            e
            if v is None
            else {"label": f"{days[v[:10]]} {times[v[11:16]]}", "value": v[:19] + "Z"}
            for v in values
        ]
    if dt == "boolean":
        return [
            e
            if v is None
            else ({"label": "true", "value": True} if v else {"label": "false", "value": False})
            for v in values
        ]
    if dt == "time":
        return [e if v is None else {"label": times[v[:5]], "value": v} for v in values]
    if dt == "multipicklist":
        return [
            e if v is None else {"label": str(v).replace(";", "; "), "value": v} for v in values
        ]
    return [e if v is None else {"label": str(v), "value": v} for v in values]


def cell(col: Column, value: Any, label: Any = None, *, id_length: int = 18) -> Cell:
    """The detail cell of ``col`` for a stored ``value`` (and the lookup's ``label``)."""
    return column_cells(col, [value], [label], id_length=id_length)[0]


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
