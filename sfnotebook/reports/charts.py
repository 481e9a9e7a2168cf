"""The common charts of grouped reports, one call each: a level's groups, a matrix grid.

A report's aggregates frame holds every group at every level, the subtotals and the grand total
(see :func:`sfnotebook.reports.frames.report_aggregates`). A chart wants one level's groups and
nothing else; these helpers pick them, in report order, with empty groups labelled ``"-"``
(or the ``empty_label`` the report ran with). Pure: no I/O.

>>> r = org.report("Pipeline by Stage")                       # doctest: +SKIP
>>> summary_level(r, "Stage", value="Sum of Amount").plot.barh()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfnotebook.reports.frames import GRAND_TOTAL, SUBTOTAL, relabel_empty, report_aggregates

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["matrix_level", "summary_level"]


def summary_level(
    result: Any,
    level: int | str = 0,
    *,
    value: str | None = None,
    empty_label: str | None = None,
) -> pd.DataFrame | pd.Series:
    """One grouping level's groups, without subtotals or the grand total.

    Parameters
    ----------
    result : ReportResult or pandas.DataFrame
        A SUMMARY or MATRIX report's result (``org.report(...)``) or its aggregates frame.
    level : int or str
        The grouping level by position (0 is the outermost) or by name ("Stage").
    value : str, optional
        One aggregate by label ("Sum of Amount") or API name ("s!AMOUNT"): a Series of it.
        Default: every aggregate, as a DataFrame.
    empty_label : str, optional
        The label of an empty group (default: the result's, ``"-"``).

    Returns
    -------
    pandas.DataFrame or pandas.Series
        One row per group of that level, in report order, indexed by the levels down to it
        (a MultiIndex below the outermost level: ``.unstack(0)`` charts it grouped). In a
        MATRIX report, an across level's groups are the column totals, a down level's the
        row totals.

    Examples
    --------
    >>> summary_level(org.report("Pipeline by Stage"), "Stage").plot.bar()  # doctest: +SKIP
    """
    frame = _aggregates(result, empty_label)
    names, positions = _levels(frame)
    at = _level_at(level, names, positions, "level")
    down_n = frame.attrs.get("down_levels", len(names))
    axis = range(0, down_n) if at < down_n else range(down_n, len(names))
    keep = []
    for full in _paths(frame):
        same_axis = [full[i] for i in axis]
        inner = axis.index(at)
        groups, deeper = same_axis[: inner + 1], same_axis[inner + 1 :]
        other = [full[i] for i in range(len(names)) if i not in axis]
        keep.append(
            not any(g in (SUBTOTAL, GRAND_TOTAL) for g in groups)
            and all(d == SUBTOTAL for d in deeper)
            and all(o == GRAND_TOTAL for o in other)
        )
    picked = frame[keep]
    drop = [i for i in range(len(names)) if i not in axis or i > at]
    if drop:
        picked = picked.droplevel(drop)
    return _values(picked, value, frame.attrs)


def matrix_level(
    result: Any,
    down: int | str = 0,
    across: int | str = 0,
    *,
    value: str | None = None,
    empty_label: str | None = None,
) -> pd.DataFrame:
    """A MATRIX report's grid at one down level and one across level, without totals.

    Parameters
    ----------
    result : ReportResult or pandas.DataFrame
        A MATRIX report's result or its aggregates frame.
    down, across : int or str
        The down (row) and across (column) grouping levels, by position within their axis
        (0 is the outermost) or by name; default the outermost of each.
    value : str, optional
        The aggregate by label or API name; default the report's first aggregate.
    empty_label : str, optional
        The label of an empty group (default: the result's, ``"-"``).

    Returns
    -------
    pandas.DataFrame
        Rows: the down level's groups (indexed by the down levels down to it); columns: the
        across level's groups; cells: the aggregate, missing where no record falls.

    Examples
    --------
    >>> matrix_level(org.report("Owner Bookings by Year"), value="Sum of Amount")  # doctest: +SKIP
    """
    import pandas as pd

    frame = _aggregates(result, empty_label)
    if frame.attrs.get("report_format") != "MATRIX":
        raise ValueError(
            "matrix_level needs a MATRIX report (this one is "
            f"{frame.attrs.get('report_format')}); use summary_level for one level's groups."
        )
    names, _ = _levels(frame)
    down_n = frame.attrs["down_levels"]
    d = _level_at(down, names[:down_n], list(range(down_n)), "down")
    a = _level_at(across, names[down_n:], list(range(len(names) - down_n)), "across")
    column = _column(frame, value)
    cells: dict[tuple[Any, Any], Any] = {}
    rows: dict[Any, None] = {}
    cols: dict[Any, None] = {}
    for position, full in enumerate(_paths(frame)):
        dn, ac = full[:down_n], full[down_n:]
        if not (_at_level(dn, d) and _at_level(ac, a)):
            continue
        row = dn[: d + 1] if d else dn[0]
        col = ac[: a + 1] if a else ac[0]
        rows.setdefault(row)
        cols.setdefault(col)
        cells[(row, col)] = frame[column].iloc[position]
    grid = pd.DataFrame(
        [[cells.get((r, c)) for c in cols] for r in rows],
        index=_index(list(rows), names[: d + 1]),
        columns=_index(list(cols), names[down_n : down_n + a + 1]),
    )
    return grid.astype(frame[column].dtype)


# --- helpers -------------------------------------------------------------------------------


def _aggregates(result: Any, empty_label: str | None) -> pd.DataFrame:
    """The pandas aggregates frame of a result (rebuilt from its payload outside pandas)."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        frame = result
    else:
        frame = getattr(result, "aggregates", None)
        payload = getattr(result, "_payload", None)
        if not isinstance(frame, pd.DataFrame) and payload is not None:
            frame = report_aggregates(
                payload,
                column_names=getattr(result, "_column_names", "label"),
                empty_label=getattr(result, "_empty_label", None),
            )
    if not isinstance(frame, pd.DataFrame) or "report_format" not in frame.attrs:
        raise TypeError(
            "Chart helpers take a report result (org.report(...)) or its aggregates frame, "
            f"not {type(result).__name__}."
        )
    if frame.attrs["report_format"] == "TABULAR":
        raise ValueError(
            "A TABULAR report has no groups to chart; group its detail rows with pandas "
            "(result.details.groupby(...)) or run a SUMMARY or MATRIX report."
        )
    return relabel_empty(frame, empty_label)


def _levels(frame: pd.DataFrame) -> tuple[list[str], list[int]]:
    names = [str(n) for n in frame.index.names]
    return names, list(range(len(names)))


def _level_at(level: int | str, names: list[str], positions: list[int], what: str) -> int:
    if isinstance(level, bool) or not isinstance(level, int | str):
        raise TypeError(f"{what} must be a grouping level's position or name, not {level!r}")
    if isinstance(level, str):
        if level in names:
            return positions[names.index(level)]
        folded = [n.casefold() for n in names]
        if level.casefold() in folded:
            return positions[folded.index(level.casefold())]
    elif 0 <= level < len(names) or -len(names) <= level < 0:
        return positions[level]
    listed = ", ".join(f"{i} {n!r}" for i, n in zip(range(len(names)), names, strict=True))
    raise ValueError(f"No {what} grouping level {level!r}; the levels are {listed}.")


def _paths(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [p if isinstance(p, tuple) else (p,) for p in frame.index]


def _at_level(path: tuple[Any, ...], at: int) -> bool:
    """A group of level ``at`` in one axis: real labels down to it, subtotal markers below."""
    return not any(p in (SUBTOTAL, GRAND_TOTAL) for p in path[: at + 1]) and all(
        p == SUBTOTAL for p in path[at + 1 :]
    )


def _column(frame: pd.DataFrame, value: str | None) -> str:
    keys: dict[str, str] = frame.attrs.get("aggregate_keys") or {}
    if value is None:
        if not keys:
            raise ValueError("This report has no aggregates to chart.")
        return next(iter(keys.values()))
    if value in keys:
        return keys[value]
    if value in keys.values():
        return value
    raise ValueError(f"No aggregate {value!r}; choose one of {list(keys.values())}.")


def _values(
    picked: pd.DataFrame, value: str | None, attrs: dict[str, Any]
) -> pd.DataFrame | pd.Series:
    picked.attrs = dict(attrs)
    if value is not None:
        return picked[_column(picked, value)]
    total = attrs.get("total_column")
    return picked.drop(columns=[total]) if total in picked.columns else picked


def _index(keys: list[Any], names: list[str]) -> pd.Index:
    import pandas as pd

    if len(names) > 1:
        return pd.MultiIndex.from_tuples(keys, names=names)
    return pd.Index(keys, name=names[0], dtype=object)
