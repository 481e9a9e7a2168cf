"""Report-run JSON -> DataFrames: detail rows, aggregates and the matrix grid.

Pure functions: one decoded Reports API run payload (``GET/POST /analytics/reports/{id}``) in,
a DataFrame (pandas by default; polars or a ``pyarrow.Table`` with ``output=``) out; no I/O. Shapes follow ``salesforce-api.md`` section 5 and the real payloads
recorded from orgs (factMap keys in any order, cells without ``rows``, currency objects, ``-``
for empty cells, ``<br>`` in address labels, float noise in aggregate values).

Conventions (documented in the README's "Reports" section):

* Detail frame: grouping columns first (down levels, then across levels), holding the grouping
  label users see ("May 2013", an account's name), then ``reportMetadata.detailColumns`` in
  order. Columns are named by label; a label seen twice becomes ``"Owner (2)"``.
* Aggregates frame: indexed by the grouping labels (for polars and Arrow, which have no index,
  the grouping levels are its leading columns, named alike); subtotal rows carry
  ``"(Subtotal)"`` in the levels below their group, the grand total ``"(Grand Total)"`` in every
  level, and the boolean column ``"Is Total"`` is True on both.
* Empty groups: wherever a group is a label (the aggregates' grouping levels, the pivot's
  rows and columns, chart labels) an empty group reads :data:`EMPTY_LABEL`, ``"-"`` as
  Salesforce shows it (``empty_label=`` changes it per call); in the detail rows, which are
  data, its grouping cell is missing (``<NA>``) like any empty cell.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from sfnotebook._api import Frame
from sfnotebook._output import Column, Output, resolve, table
from sfnotebook.dtypes import field_type
from sfnotebook.reports._cells import (
    cell_text,
    convert_cells,
    currency_code,
    number,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMPTY_LABEL",
    "GRAND_TOTAL",
    "SUBTOTAL",
    "TOTAL_COLUMN",
    "check_empty_label",
    "grouping_names",
    "relabel_empty",
    "report_aggregates",
    "report_details",
]

ColumnNames = Literal["label", "api"]
SUBTOTAL = "(Subtotal)"
GRAND_TOTAL = "(Grand Total)"
TOTAL_COLUMN = "Is Total"
#: The label of an empty group ("-", as Salesforce shows it); set it to change the default.
EMPTY_LABEL = "-"


# One detail row as collected from the factMap: the grouping labels, then the raw dataCells.
DetailRow = tuple[tuple[str | None, ...], Sequence[Mapping[str, Any]]]


def report_details(
    payload: Mapping[str, object],
    *,
    column_names: ColumnNames = "label",
    output: Output | None = None,
) -> Frame:
    """Turn one report run into a DataFrame of its detail rows.

    Parameters
    ----------
    payload : dict
        A decoded report run (sync run, or a finished async instance) with details.
    column_names : {"label", "api"}
        Name columns by the labels shown in Salesforce (default) or by API column names.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result (a converter has no connection: None means ``"pandas"``).

    Returns
    -------
    pandas.DataFrame
        (or a polars DataFrame, a ``pyarrow.Table``: the same columns, the rows' Arrow types)
        One row per detail row in report order (TABULAR, SUMMARY and MATRIX); grouping columns
        first, typed from ``detailColumnInfo`` (currency/percent/double/number -> Float64,
        int -> Int64, date -> datetime64[s], datetime -> datetime64[ns, UTC], boolean ->
        boolean, text, lookups and anything else -> the display label as ``string[pyarrow]``;
        ``id`` columns -> the 18-character Id). A run without rows gives a
        zero-row frame with the same typed columns.

    Examples
    --------
    >>> import json, sfnotebook
    >>> df = sfnotebook.report_details(json.load(open("run.json")))  # doctest: +SKIP
    """
    return frame_from_detail_rows(
        payload, detail_rows(payload), column_names=column_names, output=output
    )


def detail_rows(payload: Mapping[str, Any]) -> list[DetailRow]:
    """Collect ``(grouping labels, dataCells)`` per detail row, in report order."""
    metadata = payload.get("reportMetadata") or {}
    down_n, across_n = _levels(metadata)
    fact_map: Mapping[str, Any] = payload.get("factMap") or {}
    down = [(k, p) for k, p in _nodes(payload, "groupingsDown") if len(p) == down_n] or [("T", ())]
    across = [(k, p) for k, p in _nodes(payload, "groupingsAcross") if len(p) == across_n] or [
        ("T", ())
    ]
    rows: list[DetailRow] = []
    seen: set[str] = set()
    for down_key, down_path in down:
        for across_key, across_path in across:
            key = f"{down_key}!{across_key}"
            seen.add(key)
            for row in (fact_map.get(key) or {}).get("rows") or []:
                rows.append((down_path + across_path, row.get("dataCells") or []))
    # Rows in deepest cells the grouping trees do not name: never observed, but dropping rows
    # silently would be worse than showing them without their groups.
    blank = (None,) * (down_n + across_n)
    for key in sorted(set(fact_map) - seen):
        down_key, _, across_key = key.partition("!")
        if _depth(down_key) == down_n and _depth(across_key) == across_n:
            for row in (fact_map.get(key) or {}).get("rows") or []:
                rows.append((blank, row.get("dataCells") or []))
    return rows


def frame_from_detail_rows(
    payload: Mapping[str, Any],
    rows: Sequence[DetailRow],
    *,
    column_names: ColumnNames = "label",
    output: Output | None = None,
) -> Any:
    """Build the typed detail frame from rows collected (possibly over several runs)."""
    _check_column_names(column_names)
    metadata = payload.get("reportMetadata") or {}
    extended = payload.get("reportExtendedMetadata") or {}
    detail_info: Mapping[str, Any] = extended.get("detailColumnInfo") or {}
    group_names = _grouping_names(metadata, extended, column_names)
    detail_columns: list[str] = list(metadata.get("detailColumns") or [])
    detail_names = [
        _label(detail_info.get(col), col) if column_names == "label" else col
        for col in detail_columns
    ]
    columns: list[Column] = []
    names = _unique([*group_names, *detail_names])
    for i, name in enumerate(names[: len(group_names)]):
        columns.append(_text_column(name, [r[0][i] for r in rows]))
    taken = set(names)
    for j, (col, name) in enumerate(zip(detail_columns, names[len(group_names) :], strict=True)):
        cells = [r[1][j] if j < len(r[1]) else {} for r in rows]
        data_type = str((detail_info.get(col) or {}).get("dataType") or "string").lower()
        row, values = convert_cells(cells, data_type)
        columns.append(Column(name, row, [values]))
        if data_type == "currency":
            codes = [currency_code(c) for c in cells]
            if any(code is not None for code in codes):
                code_name = _unique_against(f"{name} Currency", taken)
                taken.add(code_name)
                columns.append(_text_column(code_name, codes))
    return table(columns, rows=len(rows), output=resolve(output))


def _text_column(name: str, values: Sequence[str | None]) -> Column:
    row = field_type("string")
    return Column(name, row, [pa.array(values, type=row.arrow)])


def report_aggregates(
    payload: Mapping[str, object],
    *,
    column_names: ColumnNames = "label",
    output: Output | None = None,
    empty_label: str | None = None,
) -> Frame:
    """Turn one report run into a DataFrame of its aggregates (summaries).

    Parameters
    ----------
    payload : dict
        A decoded report run; details are not needed.
    column_names : {"label", "api"}
        Label columns and index levels as in the report ("Sum of Amount") or by API name
        ("s!AMOUNT").
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result (a converter has no connection: None means ``"pandas"``).
        polars and Arrow have no index: the grouping levels are the leading columns there.
    empty_label : str, optional
        The label of an empty group; default :data:`EMPTY_LABEL` (``"-"``).

    Returns
    -------
    pandas.DataFrame
        SUMMARY: indexed by the grouping levels (a MultiIndex for several), one row per group
        at every level, subtotal rows after their group's rows with ``"(Subtotal)"`` in the
        deeper levels, and a last ``"(Grand Total)"`` row. MATRIX: the same over down levels
        then across levels, one row per cell including totals (see :func:`pivot_matrix`).
        TABULAR: one grand-total row. The boolean column ``"Is Total"`` marks subtotal and
        grand-total rows.

    Examples
    --------
    >>> agg = sfnotebook.report_aggregates(payload)  # doctest: +SKIP
    >>> agg[~agg["Is Total"]]  # the deepest groups only  # doctest: +SKIP
    """
    _check_column_names(column_names)
    check_empty_label(empty_label)
    blank = EMPTY_LABEL if empty_label is None else empty_label
    run: Mapping[str, Any] = payload  # decoded JSON: read as such below
    metadata = run.get("reportMetadata") or {}
    extended = run.get("reportExtendedMetadata") or {}
    info: Mapping[str, Any] = extended.get("aggregateColumnInfo") or {}
    keys: list[str] = list(metadata.get("aggregates") or [])
    down_n, across_n = _levels(metadata)
    level_names = _unique(_grouping_names(metadata, extended, column_names))
    raw = [_label(info.get(k), k) if column_names == "label" else k for k in keys]
    agg_names = _unique([*raw, TOTAL_COLUMN])
    total_name = agg_names.pop()
    fact_map: Mapping[str, Any] = run.get("factMap") or {}
    index: list[tuple[str | None, ...]] = []
    values: list[list[float | None]] = []
    totals: list[bool] = []
    for down_key, down_path, down_total in _total_nodes(payload, "groupingsDown", down_n):
        for across_key, across_path, across_total in _total_nodes(
            payload, "groupingsAcross", across_n
        ):
            cell = fact_map.get(f"{down_key}!{across_key}")
            if cell is None:
                continue
            aggregates = cell.get("aggregates") or []
            index.append(tuple(blank if p is None else p for p in down_path + across_path))
            values.append([number(a) for a in aggregates[: len(keys)]])
            values[-1] += [None] * (len(keys) - len(values[-1]))
            totals.append(down_total or across_total)
    columns: list[Column] = []
    for i, (key, name) in enumerate(zip(keys, agg_names, strict=True)):
        data_type = str((info.get(key) or {}).get("dataType") or "").lower()
        column = [row[i] for row in values]
        whole = pa.types.is_integer(field_type(data_type).arrow) or _is_count(key)
        columns.append(_aggregate_column(name, column, integer=whole))
    flags = field_type("boolean")
    columns.append(Column(total_name, flags, [pa.array(totals, type=flags.arrow)]))
    levels = [_text_column(n, [path[i] for path in index]) for i, n in enumerate(level_names)]
    frame = table(
        columns,
        rows=len(index),
        output=resolve(output),
        index=levels,
        index_fill=GRAND_TOTAL,
    )
    attrs = getattr(frame, "attrs", None)  # pandas only: pivot_matrix reads them
    if isinstance(attrs, dict):
        attrs.update(
            report_format=_format(metadata),
            down_levels=down_n,
            across_levels=across_n,
            aggregate_keys=dict(zip(keys, agg_names, strict=True)),
            total_column=total_name,
            empty_label=blank,
        )
    return frame


def _levels(metadata: Mapping[str, Any]) -> tuple[int, int]:
    down = len(metadata.get("groupingsDown") or [])
    across = len(metadata.get("groupingsAcross") or []) if _format(metadata) == "MATRIX" else 0
    return (0 if _format(metadata) == "TABULAR" else down), across


def _format(metadata: Mapping[str, Any]) -> str:
    return str(metadata.get("reportFormat") or "TABULAR").upper()


def _depth(key: str) -> int:
    return 0 if key == "T" else key.count("_") + 1


def _nodes(payload: Mapping[str, Any], axis: str) -> list[tuple[str, tuple[str | None, ...]]]:
    """Every grouping node of one axis in post-order (children before their group)."""
    out: list[tuple[str, tuple[str | None, ...]]] = []

    def walk(groupings: Sequence[Mapping[str, Any]], prefix: tuple[str | None, ...]) -> None:
        for node in groupings:
            path = (*prefix, cell_text(node))
            walk(node.get("groupings") or [], path)
            out.append((str(node.get("key")), path))

    walk((payload.get(axis) or {}).get("groupings") or [], ())
    return out


def _total_nodes(
    payload: Mapping[str, Any], axis: str, levels: int
) -> Iterator[tuple[str, tuple[str | None, ...], bool]]:
    """Post-order nodes with their paths padded by the subtotal markers, then the total."""
    if levels:
        for key, path in _nodes(payload, axis):
            yield key, path + (SUBTOTAL,) * (levels - len(path)), len(path) < levels
    yield "T", (GRAND_TOTAL,) * levels, levels > 0 or axis == "groupingsDown"


def grouping_names(payload: Mapping[str, Any], column_names: ColumnNames = "label") -> list[str]:
    """The grouping level names of a run: down levels, then across levels (made unique)."""
    metadata = payload.get("reportMetadata") or {}
    extended = payload.get("reportExtendedMetadata") or {}
    return _unique(_grouping_names(metadata, extended, column_names))


def _grouping_names(
    metadata: Mapping[str, Any], extended: Mapping[str, Any], column_names: ColumnNames
) -> list[str]:
    info: Mapping[str, Any] = extended.get("groupingColumnInfo") or {}
    down_n, across_n = _levels(metadata)
    groupings = [
        *(metadata.get("groupingsDown") or [])[:down_n],
        *(metadata.get("groupingsAcross") or [])[:across_n],
    ]
    names = [str(g.get("name")) for g in groupings]
    if column_names == "api":
        return names
    return [_label(info.get(name), name) for name in names]


# --- helpers -------------------------------------------------------------------------------


def _aggregate_column(name: str, column: Sequence[float | None], *, integer: bool) -> Column:
    if integer and all(v is None or float(v).is_integer() for v in column):
        row = field_type("int")
        values: list[Any] = [None if v is None else int(v) for v in column]
    else:
        row = field_type("double")
        values = [None if v is None else _denoise(float(v)) for v in column]
    return Column(name, row, [pa.array(values, type=row.arrow)])


def _denoise(value: float) -> float:
    """Drop the float noise of server-side sums (2070543651.67001 -> 2070543651.67).

    A value within a relative 1e-12 of a number with 2, 4 or 6 decimals is that number: far
    below any real amount's precision, far above the noise of adding up even a million values.
    """
    for decimals in (0, 2, 4, 6):
        rounded = round(value, decimals)
        if abs(value - rounded) <= 1e-12 * max(1.0, abs(value)):
            return rounded
    return float(f"{value:.15g}")


def _is_count(key: str) -> bool:
    return key.lower() == "rowcount"


def _has_marker(path: tuple[Any, ...]) -> bool:
    return any(p in (SUBTOTAL, GRAND_TOTAL) for p in path)


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _make_index(tuples: list[tuple[Any, ...]], names: Sequence[str]) -> pd.Index:
    import pandas as pd

    if len(names) > 1:
        return pd.MultiIndex.from_tuples(tuples, names=list(names))
    if len(names) == 1:
        return pd.Index([t[0] for t in tuples], name=names[0], dtype=object)
    return pd.Index([GRAND_TOTAL] * len(tuples), dtype=object)


def _label(info: Mapping[str, Any] | None, fallback: str) -> str:
    label = (info or {}).get("label")
    return str(label) if label else fallback


def _unique(names: Sequence[str]) -> list[str]:
    """Suffix repeated names: "Owner", "Owner (2)", "Owner (3)"."""
    taken: set[str] = set()
    out = []
    for name in names:
        unique = _unique_against(name, taken)
        taken.add(unique)
        out.append(unique)
    return out


def _unique_against(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def relabel_empty(frame: pd.DataFrame, empty_label: str | None) -> pd.DataFrame:
    """A pandas aggregates frame with its empty groups labelled ``empty_label`` (None: as is)."""
    check_empty_label(empty_label)
    old = frame.attrs.get("empty_label")
    if empty_label is None or old is None or old == empty_label:
        return frame
    out = frame.rename(index={old: empty_label})
    out.attrs = {**frame.attrs, "empty_label": empty_label}
    return out


def check_empty_label(empty_label: object) -> None:
    """``empty_label=``: None (the default) or a string."""
    if empty_label is not None and not isinstance(empty_label, str):
        raise TypeError(f'empty_label must be a string such as "-", not {empty_label!r}')


def _check_column_names(column_names: str) -> None:
    if column_names not in ("label", "api"):
        raise ValueError(f'column_names must be "label" or "api", not {column_names!r}.')
