"""Report cells for the report wing: decoding a run, reading one cell, converting one column.

A cell is ``{"label": display text, "value": typed value}``; the readers live with the other
value parsers in :mod:`sfnotebook._values`, and each report ``dataType`` is read by its row of
the package's one dtype table (:mod:`sfnotebook.dtypes`), so text, date and datetime columns of
a report get the same types as the SOQL side's.

Paging runs are decoded by :func:`decode_run`: the factMap's rows become :class:`Cell` structs
(msgspec, not tracked by the garbage collector) instead of one dict per cell. A 49,000-row
report holds about a million cells until its frame is built, and as dicts the cyclic collector
walked them again and again (0.7 s of 2.4 s of client CPU, ``perf/measurements-2026-12.md``
section 4); as structs it never looks at them, and decoding takes about half the time. A cell
struct answers ``.get("label")`` / ``.get("value")`` like the dict it replaces, so every reader
takes either. :func:`convert_cells` reads a column of structs through their attributes, and
hands anything else (a dict cell, a rare value) to the dtype table's reader, so the result is
the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import msgspec
import pyarrow as pa

import sfnotebook._gc as _gc
import sfnotebook._values as v
from sfnotebook._values import cell_text, currency_code, number
from sfnotebook.dtypes import TYPES, field_type, read_cells

__all__ = [
    "Cell",
    "cell_text",
    "cell_value",
    "convert_cells",
    "currency_code",
    "decode_run",
    "number",
]


class _Keyed(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """A struct read like the JSON object it was decoded from (``.get``, ``[]``, ``in``)."""

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in self.__struct_fields__ else default

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__


class Cell(_Keyed, gc=False, forbid_unknown_fields=True):
    """One detail cell: ``{"label", "value"}``."""

    label: Any = None
    value: Any = None


class _Row(_Keyed, gc=False, forbid_unknown_fields=True):
    dataCells: list[Cell] = []  # the wire name


class _Fact(_Keyed, forbid_unknown_fields=True):
    rows: list[_Row] = []
    aggregates: list[Any] = []


_LABEL = attrgetter("label")
_VALUE = attrgetter("value")
_PLAIN = frozenset({int, float, bool})


def cell_value(cell: Mapping[str, Any]) -> Any:
    """:func:`sfnotebook._values.cell_value` (a cell's typed value), read straight from a
    :class:`Cell`'s attribute when it holds a plain value."""
    if cell.__class__ is Cell:
        value = cell.value  # type: ignore[attr-defined]
        if value is None or value.__class__ in _PLAIN:
            return value
        if value.__class__ is str:
            return None if value.strip() in ("", "-") else value
    return v.cell_value(cell)


_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_FACT_MAP = msgspec.json.Decoder(dict[str, _Fact])
_ANY = msgspec.json.Decoder()


def decode_run(content: bytes) -> dict[str, Any] | None:
    """A run payload with its factMap's cells as :class:`Cell` structs; None when it is not
    a JSON object (the caller's decoder then says what it is).

    Every top-level key is kept as JSON decodes it; only a factMap of the documented shape
    (cells of ``label`` and ``value``, rows of ``dataCells``, nodes of ``rows`` and
    ``aggregates``) becomes structs: any other shape is decoded as plain JSON, whole.

    The cyclic garbage collector is paused while the structs are built
    (:mod:`sfnotebook._gc`): a collection triggered half-way would walk the partly decoded
    payload's containers for nothing.
    """
    with _gc.paused():
        try:
            top = _TOP.decode(content)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        out: dict[str, Any] = {}
        for key, raw in top.items():
            if key == "factMap":
                try:
                    out[key] = _FACT_MAP.decode(raw)
                    continue
                except msgspec.ValidationError:
                    pass  # another shape: decoded as it is
            out[key] = _ANY.decode(raw)
        return out


# --- columns --------------------------------------------------------------------------------

Fast = Callable[[list[Any], list[Any]], Any]


def convert_cells(cells: Sequence[Mapping[str, Any]], data_type: str) -> tuple[Any, Any]:
    """One column's cells -> (its row of the dtype table, an Arrow array), by ``dataType``.

    A column of :class:`Cell` structs is read from their attributes in one pass, the common
    values (text labels, numbers, ISO strings) directly and any other cell by the dtype
    table's own per-cell reader, so the array is the one :func:`sfnotebook.dtypes.read_cells`
    gives; a column holding anything else is read by that function.
    """
    row = field_type(data_type)
    if row.cell is None:
        row = TYPES["string"]
    fast = _FAST.get(row.cell)  # type: ignore[arg-type]
    if fast is None:
        return read_cells(cells, data_type)
    try:
        labels = list(map(_LABEL, cells))
        values = list(map(_VALUE, cells))
    except AttributeError:  # dict cells (a first run, a short row): the table's reader
        return read_cells(cells, data_type)
    try:
        return row, fast(labels, values)
    except v.NotWhole:
        wider = TYPES[row.wider or "double"]
        return convert_cells(cells, wider.name)


def _cell(label: Any, value: Any) -> dict[str, Any]:
    return {"label": label, "value": value}


def _labels(labels: list[Any], values: list[Any]) -> pa.Array:
    """:func:`sfnotebook._values.cell_label`: the label, ``-`` with no value as missing."""
    out = [
        lab
        if lab.__class__ is str and lab and lab != "-" and "<br>" not in lab
        else cell_text(_cell(lab, val))
        for lab, val in zip(labels, values, strict=True)
    ]
    return pa.array(out, type=pa.string())


def _ids(labels: list[Any], values: list[Any]) -> pa.Array:
    """:func:`sfnotebook._values.cell_id`: an 18-character value as it is, else its reader."""
    out = [
        val
        if val.__class__ is str and len(val) == 18 and val.isalnum()
        else v._id_text(_cell(lab, val))
        for lab, val in zip(labels, values, strict=True)
    ]
    return pa.array(out, type=pa.string())


def _numbers(labels: list[Any], values: list[Any]) -> list[Any]:
    """:func:`sfnotebook._values.number` of each cell (an int or float passes as it is)."""
    out = []
    for lab, val in zip(labels, values, strict=True):
        kind = val.__class__
        if kind is float:
            out.append(None if val != val else val)  # NaN is missing
        elif kind is int:
            out.append(val)
        elif kind is dict and val.get("amount").__class__ is float:  # currency, the usual
            amount = val["amount"]
            out.append(None if amount != amount else amount)
        else:
            out.append(number(_cell(lab, val)))
    return out


def _floats(labels: list[Any], values: list[Any]) -> pa.Array:
    return pa.array(_numbers(labels, values), type=pa.float64())


def _ints(labels: list[Any], values: list[Any]) -> pa.Array:
    numbers = _numbers(labels, values)
    if not all(n is None or n.__class__ is int or float(n).is_integer() for n in numbers):
        raise v.NotWhole("an integer report column holds fractional values")
    return pa.array([n if n is None or n.__class__ is int else int(n) for n in numbers], pa.int64())


def _bools(labels: list[Any], values: list[Any]) -> pa.Array:
    out = [
        val if val is None or val.__class__ is bool else v._boolean(_cell(lab, val))
        for lab, val in zip(labels, values, strict=True)
    ]
    return pa.array(out, type=pa.bool_())


def _raw_text(labels: list[Any], values: list[Any]) -> list[str | None]:
    """:func:`sfnotebook._values._raw_text`: the value as text, missing markers as None."""
    out: list[str | None] = []
    for lab, val in zip(labels, values, strict=True):
        if val.__class__ is str and val.strip() not in ("", "-"):
            out.append(val)
        else:
            raw = cell_value(_cell(lab, val))
            out.append(None if raw is None else str(raw))
    return out


def _dates(labels: list[Any], values: list[Any]) -> Any:
    text = [t and t[:10] for t in _raw_text(labels, values)]
    return v.csv_date(pa.array(text, type=pa.string()))


def _datetimes(labels: list[Any], values: list[Any]) -> Any:
    text = [t and v._utc(t) for t in _raw_text(labels, values)]
    return v.csv_datetime(pa.array(text, type=pa.string()))


_FAST: dict[Callable[..., Any], Fast] = {
    v.cell_label: _labels,
    v.cell_id: _ids,
    v.cell_float: _floats,
    v.cell_int: _ints,
    v.cell_bool: _bools,
    v.cell_date: _dates,
    v.cell_datetime: _datetimes,
}
