"""Keyset paging of report detail rows past the Reports API's 2,000-row cap.

A run answers at most 2,000 detail rows (``allData: false`` beyond). There is no native paging,
so (``salesforce-api.md`` §5.11) the report is re-run sorted on a stable cursor column with one
extra filter past the last value seen, and the report's own filters and filter logic kept
(``(<original logic>) AND n``), until a run comes back with ``allData: true``.

* Cursor: the report's own record Id column (unique: ``greaterThan``) when it has one; else a
  non-formula datetime / Id / date / number column (``greaterOrEqual``, and the rows already seen
  at the boundary value are dropped again: by record Id when the report has an Id column, else
  by their full contents, counted so identical rows are kept). Text columns never page: Salesforce
  compares them case-insensitively, so sorting and filtering disagree.
* SUMMARY and MATRIX reports: a grouped run's first 2,000 rows come in group order, so a filter
  past the last sort value would skip rows of later groups (and matrix reports cannot be sorted
  at all). Their detail rows are paged as a TABULAR run of the same report (same filters) with
  the grouping columns added; each row gets its group labels back from the first grouped run's
  grouping trees (date buckets by their start date), and the rows are put back in group order.
"""

from __future__ import annotations

import bisect
import copy
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._report_cells import cell_text as _cell_text
from ._report_cells import cell_value as _value
from .errors import ReportPagingError
from .report_frames import DetailRow

__all__ = [
    "MAX_FILTERS",
    "ROW_LIMIT",
    "Cursor",
    "choose_cursor",
    "page_details",
    "truncated",
    "with_added_filter",
]

ROW_LIMIT = 2000
MAX_FILTERS = 20
Run = Callable[[dict[str, Any]], dict[str, Any]]

# Cursor preference for non-unique columns, best first.
_RANK = {"datetime": 0, "id": 1, "date": 2, "int": 3, "double": 4, "currency": 4, "percent": 4}
_STABLE_NAMES = ("CREATED_DATE", "LAST_UPDATE", "LAST_MODIFIED_DATE")


@dataclass(frozen=True)
class Cursor:
    """The column keyset paging sorts and filters on."""

    column: str
    data_type: str
    unique: bool
    dedup_column: str | None  # a unique record Id column for de-duplication, if any

    @property
    def operator(self) -> str:
        return "greaterThan" if self.unique else "greaterOrEqual"


def with_added_filter(
    metadata: Mapping[str, Any], flt: Mapping[str, Any], *, logic: str | None = None
) -> dict[str, Any]:
    """``metadata`` with ``flt`` ANDed on: appended, and the filter logic renumbered."""
    out = copy.deepcopy(dict(metadata))
    filters = list(out.get("reportFilters") or [])
    filters.append(dict(flt))
    out["reportFilters"] = filters
    saved = logic if logic is not None else out.get("reportBooleanFilter")
    out["reportBooleanFilter"] = f"({saved}) AND {len(filters)}" if saved else None
    return out


def _info(column: str, *sources: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update(source.get(column) or {})
    return merged


def _is_formula(info: Mapping[str, Any]) -> bool:
    return bool(info.get("isFormula") or info.get("formula") or info.get("calculated"))


def _operators(describe: Mapping[str, Any], data_type: str) -> set[str] | None:
    op_map = (describe.get("reportTypeMetadata") or {}).get("dataTypeFilterOperatorMap") or {}
    ops = op_map.get(data_type)
    if not isinstance(ops, list):
        return None  # unknown: assume allowed, the run will say otherwise
    return {str(o.get("name") if isinstance(o, Mapping) else o) for o in ops}


def type_columns(describe: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of the report type, from ``/describe``'s ``reportTypeMetadata``."""
    out: dict[str, Any] = {}
    for category in (describe.get("reportTypeMetadata") or {}).get("categories") or []:
        out.update(category.get("columns") or {})
    return out


def choose_cursor(metadata: Mapping[str, Any], describe: Mapping[str, Any]) -> Cursor:
    """Pick the paging column among the report's detail columns, or raise ReportPagingError."""
    extended = describe.get("reportExtendedMetadata") or {}
    detail_info = extended.get("detailColumnInfo") or {}
    by_type = type_columns(describe)
    base = str((metadata.get("reportType") or {}).get("type") or "")
    columns = list(metadata.get("detailColumns") or [])

    def record_id(col: str) -> bool:
        info = _info(col, by_type, detail_info)
        if str(info.get("dataType", "")).lower() != "id" or _is_formula(info):
            return False
        entity = str(info.get("entityColumnName") or "")
        return entity.lower() == f"{base}.id".lower() or col.upper() == f"{base.upper()}_ID"

    unique = [c for c in columns if record_id(c)]
    dedup = unique[0] if unique else None
    for col in unique:
        info = _info(col, by_type, detail_info)
        ops = _operators(describe, "id")
        if info.get("filterable", True) is not False and (ops is None or "greaterThan" in ops):
            return Cursor(col, "id", True, dedup)
    candidates = []
    for position, col in enumerate(columns):
        info = _info(col, by_type, detail_info)
        data_type = str(info.get("dataType", "")).lower()
        ops = _operators(describe, data_type)
        if (
            data_type in _RANK
            and not _is_formula(info)
            and info.get("filterable", True) is not False
            and (ops is None or "greaterOrEqual" in ops)
        ):
            stable = 0 if col.upper() in _STABLE_NAMES else 1
            candidates.append((stable, _RANK[data_type], position, col, data_type))
    if not candidates:
        raise ReportPagingError(
            f"The report {metadata.get('name')!r} has more than {ROW_LIMIT:,} detail rows, and "
            "none of its columns can page past that limit: sfnotebook re-runs the report sorted "
            "on a record Id, date/time or number column that is not a formula (text and formula "
            "columns compare inconsistently). Add the record Id column (e.g. "
            f"{(base.upper() or 'RECORD') + '_ID'}) or Created Date to the report, or add "
            "filters so it returns at most 2,000 rows.",
            report_id=metadata.get("id"),
        )
    _, _, _, col, data_type = min(candidates)
    return Cursor(col, data_type, False, dedup)


def _cursor_value(cell: Mapping[str, Any], data_type: str) -> str | None:
    value = _value(cell)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _row_key(cells: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(
        [[c.get("label"), c.get("value")] for c in cells], sort_keys=True, default=str
    )


def page_details(
    run: Run,
    metadata: Mapping[str, Any],
    cursor: Cursor,
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    first: dict[str, Any] | None = None,
) -> list[Sequence[Mapping[str, Any]]]:
    """Every detail row's cells of a TABULAR run of ``metadata``, paged on ``cursor``.

    ``first`` is a run already made with exactly this sort (reused, saving a run).
    """
    filters = list(metadata.get("reportFilters") or [])
    if len(filters) + 1 > MAX_FILTERS:
        raise ReportPagingError(
            f"The report has {len(filters)} filters; paging past {ROW_LIMIT:,} rows needs one "
            f"more and a run allows at most {MAX_FILTERS}. Remove a filter (or combine two, "
            "e.g. one 'equals' with a comma-separated list) and run it again.",
            report_id=metadata.get("id"),
        )
    page_md = copy.deepcopy(dict(metadata))
    page_md["sortBy"] = [{"sortColumn": cursor.column, "sortOrder": "Asc"}]
    columns = list(page_md.get("detailColumns") or [])
    at = columns.index(cursor.column)
    dedup_at = columns.index(cursor.dedup_column) if cursor.dedup_column else None
    payload = first if first is not None else run(page_md)
    rows: list[Sequence[Mapping[str, Any]]] = []
    seen_ids: set[Any] = set()
    boundary: Counter[str] = Counter()  # rows seen at the last cursor value (no Id column)
    last: str | None = None
    while True:
        page = [cells for _, cells in _tabular_rows(payload)]
        fresh: list[Sequence[Mapping[str, Any]]] = []
        for cells in page:
            if dedup_at is not None:
                rid = _value(cells[dedup_at])
                if rid in seen_ids:
                    continue
                seen_ids.add(rid)
            elif last is not None and _cursor_value(cells[at], cursor.data_type) == last:
                key = _row_key(cells)
                if boundary[key] > 0:
                    boundary[key] -= 1
                    continue
            fresh.append(cells)
        rows.extend(fresh)
        on_rows(len(fresh))
        if not truncated(payload):
            return rows
        values = [v for v in (_cursor_value(c[at], cursor.data_type) for c in page) if v]
        if not fresh or not values:
            raise ReportPagingError(
                f"Paging on {cursor.column} stopped making progress: more than {ROW_LIMIT:,} "
                f"rows share the value {last!r}, or the column is empty. Add the record Id "
                "column to the report.",
                report_id=metadata.get("id"),
            )
        last = values[-1]
        if dedup_at is None and not cursor.unique:
            boundary = Counter(
                _row_key(c) for c in page if _cursor_value(c[at], cursor.data_type) == last
            )
        flt = {"column": cursor.column, "operator": cursor.operator, "value": last}
        payload = run(with_added_filter(page_md, flt))


def truncated(payload: Mapping[str, Any]) -> bool:
    """Whether a run left detail rows out (``allData: false``, or the newer row-limit flag)."""
    return payload.get("allData") is False or payload.get("hasExceededTabularRowLimit") is True


def _tabular_rows(payload: Mapping[str, Any]) -> list[DetailRow]:
    fact = (payload.get("factMap") or {}).get("T!T") or {}
    return [((), row.get("dataCells") or []) for row in fact.get("rows") or []]


# --- grouped reports: labels back from the first run's grouping trees ------------------------


def grouped_as_tabular(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A TABULAR version of a grouped report's metadata with the grouping columns as details.

    Returns the metadata and the grouping column names (down levels, then across levels).
    """
    groups = [g["name"] for g in metadata.get("groupingsDown") or []]
    if str(metadata.get("reportFormat")).upper() == "MATRIX":
        groups += [g["name"] for g in metadata.get("groupingsAcross") or []]
    out = copy.deepcopy(dict(metadata))
    details = list(out.get("detailColumns") or [])
    out["detailColumns"] = details + [g for g in dict.fromkeys(groups) if g not in details]
    out["reportFormat"] = "TABULAR"
    out["groupingsDown"] = []
    out["groupingsAcross"] = []
    out["aggregates"] = ["RowCount"]  # summary formulas may refer to groupings
    out["sortBy"] = []
    return out, groups


class GroupLabeler:
    """Gives a tabular row the grouping labels a grouped run would have given it."""

    def __init__(self, grouped: Mapping[str, Any], tabular_columns: Sequence[str]) -> None:
        metadata = grouped.get("reportMetadata") or {}
        info = (grouped.get("reportExtendedMetadata") or {}).get("groupingColumnInfo") or {}
        self._levels: list[tuple[int, Any]] = []
        self.leaf_order: dict[tuple[str | None, ...], int] = {}
        axes = [("groupingsDown", metadata.get("groupingsDown") or [])]
        if str(metadata.get("reportFormat")).upper() == "MATRIX":
            axes.append(("groupingsAcross", metadata.get("groupingsAcross") or []))
        orders = []
        for axis, groupings in axes:
            nodes_by_level: list[list[Mapping[str, Any]]] = [[] for _ in groupings]
            order: dict[tuple[str | None, ...], int] = {}
            self._collect(
                (grouped.get(axis) or {}).get("groupings") or [],
                (),
                nodes_by_level,
                order,
                len(groupings),
            )
            orders.append(order)
            for level, grouping in enumerate(groupings):
                name = grouping["name"]
                data_type = str((info.get(name) or {}).get("dataType") or "").lower()
                at = list(tabular_columns).index(name)
                if data_type in ("date", "datetime"):
                    starts = sorted(
                        {
                            str(n["value"])[:10]: _cell_text(n)
                            for n in nodes_by_level[level]
                            if n.get("value") is not None
                        }.items()
                    )
                    self._levels.append((at, starts))
                else:
                    self._levels.append((at, None))
        self._down_n = len(axes[0][1])
        self._orders = orders

    def _collect(
        self,
        groupings: Sequence[Mapping[str, Any]],
        prefix: tuple[str | None, ...],
        by_level: list[list[Mapping[str, Any]]],
        order: dict[tuple[str | None, ...], int],
        depth: int,
    ) -> None:
        for node in groupings:
            path = (*prefix, _cell_text(node))
            if len(path) <= len(by_level):
                by_level[len(path) - 1].append(node)
            if len(path) == depth:
                order.setdefault(path, len(order))
            self._collect(node.get("groupings") or [], path, by_level, order, depth)

    def labels(self, cells: Sequence[Mapping[str, Any]]) -> tuple[str | None, ...]:
        out: list[str | None] = []
        for at, starts in self._levels:
            cell = cells[at]
            if starts is None:
                out.append(_cell_text(cell))
                continue
            value = _value(cell)
            if value is None:
                out.append(None)
                continue
            keys = [s for s, _ in starts]
            i = bisect.bisect_right(keys, str(value)[:10]) - 1
            out.append(starts[i][1] if i >= 0 else None)
        return tuple(out)

    def known(self, labels: tuple[str | None, ...]) -> bool:
        """Whether the row's groups are in the grouping trees."""
        down, across = labels[: self._down_n], labels[self._down_n :]
        if down not in self._orders[0]:
            return False
        return len(self._orders) == 1 or across in self._orders[1]

    def sort_key(self, labels: tuple[str | None, ...]) -> tuple[int, ...]:
        """Position of a row's groups in report order (unknown groups last)."""
        down, across = labels[: self._down_n], labels[self._down_n :]
        key = [self._orders[0].get(down, len(self._orders[0]))]
        if len(self._orders) > 1:
            key.append(self._orders[1].get(across, len(self._orders[1])))
        return tuple(key)
