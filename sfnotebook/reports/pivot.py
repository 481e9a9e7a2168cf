"""A MATRIX report's aggregate as the grid analysts see in Salesforce. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from sfnotebook.reports.frames import (
    _as_tuple,
    _has_marker,
    _make_index,
    relabel_empty,
    report_aggregates,
)

__all__ = ["pivot_matrix"]


def pivot_matrix(
    data: Mapping[str, object] | pd.DataFrame,
    aggregate: str | None = None,
    *,
    totals: bool = True,
    empty_label: str | None = None,
) -> pd.DataFrame:
    """Lay a MATRIX report's aggregate out as the grid analysts see in Salesforce.

    Parameters
    ----------
    data : dict or pandas.DataFrame
        A MATRIX run payload, or the frame :func:`report_aggregates` made from one.
    aggregate : str, optional
        The aggregate by label ("Sum of Amount") or API name ("s!AMOUNT"); default the first.
    totals : bool
        Keep the subtotal and grand-total rows and columns (default True).
    empty_label : str, optional
        The label of an empty group; default that of ``data`` (``"-"``, see
        :data:`sfnotebook.reports.frames.EMPTY_LABEL`).

    Returns
    -------
    pandas.DataFrame
        Rows = down grouping levels, columns = across grouping levels, in report order.

    Examples
    --------
    >>> sfnotebook.pivot_matrix(payload, "Record Count", totals=False)  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    built = (
        report_aggregates(data, output="pandas", empty_label=empty_label)
        if isinstance(data, Mapping)
        else data
    )
    if not isinstance(built, pd.DataFrame):
        raise TypeError("pivot_matrix takes a report run's payload or its pandas aggregates.")
    frame = relabel_empty(built, empty_label)
    attrs = frame.attrs
    if attrs.get("report_format") != "MATRIX":
        raise ValueError(
            "pivot_matrix needs a MATRIX report's payload or its report_aggregates() frame "
            f"(got format {attrs.get('report_format')!r})."
        )
    keys: dict[str, str] = attrs["aggregate_keys"]
    if aggregate is None:
        if not keys:
            raise ValueError("This report has no aggregates to pivot.")
        column = next(iter(keys.values()))
    elif aggregate in keys:
        column = keys[aggregate]
    elif aggregate in keys.values():
        column = aggregate
    else:
        raise ValueError(f"No aggregate {aggregate!r}; choose one of {list(keys.values())}.")
    down_n: int = attrs["down_levels"]
    cells: dict[tuple[Any, Any], Any] = {}
    rows: dict[Any, None] = {}
    cols: dict[Any, None] = {}
    for position, full in enumerate(frame.index):
        full = full if isinstance(full, tuple) else (full,)
        down, across = full[:down_n], full[down_n:]
        if not totals and _has_marker(full):
            continue
        down_key = down if down_n > 1 else down[0]
        across_key = across if len(across) > 1 else across[0]
        rows.setdefault(down_key)
        cols.setdefault(across_key)
        cells[(down_key, across_key)] = frame[column].iloc[position]
    names = list(frame.index.names)
    grid = np.full((len(rows), len(cols)), None, dtype=object)
    row_pos = {key: i for i, key in enumerate(rows)}
    col_pos = {key: i for i, key in enumerate(cols)}
    for (down_key, across_key), value in cells.items():
        grid[row_pos[down_key], col_pos[across_key]] = value
    result = pd.DataFrame(
        grid,
        index=_make_index([_as_tuple(k) for k in rows], names[:down_n]),
        columns=_make_index([_as_tuple(k) for k in cols], names[down_n:]),
    )
    return result.astype(frame[column].dtype)


# --- grouping trees -----------------------------------------------------------------------
