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
* Crowded values: when more rows share one value of a non-unique cursor than a run returns,
  that value's rows are paged on the next usable column (``K equals v`` plus its own cursor
  filter), then paging goes on past ``v`` with ``greaterThan``. A column whose first-run sample
  shows such crowding (or as many blanks: blanks sort first, so they must fit in one run) is
  ranked after the others.
* SUMMARY and MATRIX reports are paged as TABULAR runs (see :mod:`sfnotebook.reports._groups`).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfnotebook.errors import ReportPagingError
from sfnotebook.reports._cells import cell_value as _value
from sfnotebook.reports.frames import DetailRow

__all__ = [
    "MAX_FILTERS",
    "ROW_LIMIT",
    "Cursor",
    "choose_cursors",
    "filter_operators",
    "page_details",
    "page_details_counted",
    "record_count",
    "truncated",
    "type_columns",
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


def filter_operators(describe: Mapping[str, Any], data_type: str) -> set[str] | None:
    """The operators the describe's ``dataTypeFilterOperatorMap`` allows for ``data_type``."""
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


def choose_cursors(
    metadata: Mapping[str, Any],
    describe: Mapping[str, Any],
    *,
    sample: Sequence[Sequence[Mapping[str, Any]]] = (),
    total: int | None = None,
) -> list[Cursor]:
    """The paging columns among the report's detail columns, best first, or ReportPagingError.

    The record Id column alone when the report has one; else every usable column, the later
    ones splitting values of the first that more than 2,000 rows share.

    ``sample`` (the first run's rows) and ``total`` (the report's row count) let a non-unique
    column that looks crowded (one value, or blanks, on about 1,500+ rows) give way to another.
    """
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
        ops = filter_operators(describe, "id")
        if info.get("filterable", True) is not False and (ops is None or "greaterThan" in ops):
            return [Cursor(col, "id", True, dedup)]
    candidates = []
    for position, col in enumerate(columns):
        info = _info(col, by_type, detail_info)
        data_type = str(info.get("dataType", "")).lower()
        ops = filter_operators(describe, data_type)
        if (
            data_type in _RANK
            and not _is_formula(info)
            and info.get("filterable", True) is not False
            and (ops is None or "greaterOrEqual" in ops)
        ):
            stable = 0 if col.upper() in _STABLE_NAMES else 1
            crowded = _crowded(sample, position, data_type, total)
            candidates.append((crowded, stable, _RANK[data_type], position, col, data_type))
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
    return [Cursor(col, data_type, False, dedup) for *_, col, data_type in sorted(candidates)]


def _crowded(
    sample: Sequence[Sequence[Mapping[str, Any]]], at: int, data_type: str, total: int | None
) -> bool:
    """Whether one value (or blank) probably covers too many rows for ``greaterOrEqual`` paging.

    Paging past a value needs every row holding it to fit in one run; blanks sort first and
    are never past any value, so they must fit in the first run.
    """
    if not sample or not total:
        return False
    values = Counter(_cursor_value(cells[at], data_type) for cells in sample if at < len(cells))
    blanks = values.pop(None, 0)
    busiest = max(values.values(), default=0)
    scale = total / len(sample)
    return max(busiest, blanks) * scale >= ROW_LIMIT * 0.75


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
    cursors: Cursor | Sequence[Cursor],
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    first: dict[str, Any] | None = None,
) -> list[Sequence[Mapping[str, Any]]]:
    """Every detail row's cells of a TABULAR run of ``metadata``, paged on ``cursors[0]``.

    ``first`` is a run already made with exactly this sort (reused, saving a run). When more
    rows share one value of a non-unique cursor than a run returns, that value's rows are paged
    on the next cursor (``K = v`` plus the next cursor's filter), then paging goes on past it.
    """
    return page_details_counted(run, metadata, cursors, on_rows=on_rows, first=first)[0]


def page_details_counted(
    run: Run,
    metadata: Mapping[str, Any],
    cursors: Cursor | Sequence[Cursor],
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    first: dict[str, Any] | None = None,
) -> tuple[list[Sequence[Mapping[str, Any]]], int | None]:
    """:func:`page_details`, and the record count of its first, unfiltered page (or None)."""
    chain = [cursors] if isinstance(cursors, Cursor) else list(cursors)
    pager = _Pager(run, metadata, chain, on_rows)
    base = copy.deepcopy(dict(metadata))
    aggregates = list(base.get("aggregates") or [])
    if not any(str(a).lower() == "rowcount" for a in aggregates):
        base["aggregates"] = [*aggregates, "RowCount"]  # the count to check the rows against
    rows = pager.page(base, 0, first=first, pre_seen=Counter())
    return rows, pager.total


def record_count(payload: Mapping[str, Any]) -> int | None:
    """The grand-total RowCount aggregate (T!T) of a run, when the run has one."""
    keys = [str(k).lower() for k in (payload.get("reportMetadata") or {}).get("aggregates") or []]
    if "rowcount" not in keys:
        return None
    grand = ((payload.get("factMap") or {}).get("T!T") or {}).get("aggregates") or []
    i = keys.index("rowcount")
    value = grand[i].get("value") if i < len(grand) else None
    return int(value) if isinstance(value, int | float) else None


class _Pager:
    def __init__(
        self,
        run: Run,
        metadata: Mapping[str, Any],
        chain: list[Cursor],
        on_rows: Callable[[int], None],
    ) -> None:
        self.run = run
        self.report_id = metadata.get("id")
        self.chain = chain
        self.on_rows = on_rows
        self.columns = list(metadata.get("detailColumns") or [])
        dedup = chain[0].dedup_column
        self.dedup_at = self.columns.index(dedup) if dedup else None
        self.seen_ids: set[Any] = set()
        self.total: int | None = None

    def _check_filters(self, metadata: Mapping[str, Any], needed: int) -> None:
        filters = list(metadata.get("reportFilters") or [])
        if len(filters) + needed > MAX_FILTERS:
            raise ReportPagingError(
                f"The report has {len(filters)} filters; paging past {ROW_LIMIT:,} rows needs "
                f"{needed} more and a run allows at most {MAX_FILTERS}. Remove a filter (or "
                "combine two, e.g. one 'equals' with a comma-separated list) and run it again.",
                report_id=self.report_id,
            )

    def page(
        self,
        base: dict[str, Any],
        level: int,
        *,
        first: dict[str, Any] | None = None,
        pre_seen: Counter[str],
    ) -> list[Sequence[Mapping[str, Any]]]:
        """Rows of ``base`` paged on ``chain[level]``, skipping the multiset ``pre_seen``."""
        cursor = self.chain[level]
        self._check_filters(base, 1)
        page_md = copy.deepcopy(base)
        page_md["sortBy"] = [{"sortColumn": cursor.column, "sortOrder": "Asc"}]
        at = self.columns.index(cursor.column)
        payload = first if first is not None else self.run(page_md)
        if level == 0:
            self.total = record_count(payload)
        rows: list[Sequence[Mapping[str, Any]]] = []
        boundary: Counter[str] = Counter()  # rows already taken at the filter value
        last: str | None = None
        while True:
            page = [cells for _, cells in _tabular_rows(payload)]
            fresh = [c for c in page if self._is_new(c, at, cursor, last, boundary, pre_seen)]
            rows.extend(fresh)
            self.on_rows(len(fresh))
            if not truncated(payload):
                return rows
            values = [_cursor_value(c[at], cursor.data_type) for c in page]
            present = [v for v in values if v]
            if not present:
                raise self._stuck(cursor, None)
            value = present[-1]
            operator = cursor.operator
            if len(present) == len(page) and present[0] == value and not cursor.unique:
                # One value fills a whole run: page that value's rows on the next cursor.
                if level + 1 >= len(self.chain):
                    raise self._stuck(cursor, value)
                self._check_filters(base, 2)
                taken = Counter(_row_key(c) for c in page) if self.dedup_at is None else Counter()
                same = with_added_filter(
                    base, {"column": cursor.column, "operator": "equals", "value": value}
                )
                rows.extend(self.page(same, level + 1, pre_seen=taken))
                operator, boundary = "greaterThan", Counter()
            elif self.dedup_at is None and not cursor.unique:
                boundary = Counter(
                    _row_key(c) for c, v in zip(page, values, strict=True) if v == value
                )
            last = value
            flt = {"column": cursor.column, "operator": operator, "value": value}
            payload = self.run(with_added_filter(page_md, flt))

    def _is_new(
        self,
        cells: Sequence[Mapping[str, Any]],
        at: int,
        cursor: Cursor,
        last: str | None,
        boundary: Counter[str],
        pre_seen: Counter[str],
    ) -> bool:
        if self.dedup_at is not None:
            rid = _value(cells[self.dedup_at])
            if rid in self.seen_ids:
                return False
            self.seen_ids.add(rid)
            return True
        if not boundary and not pre_seen:
            return True
        key = _row_key(cells)
        if (
            last is not None
            and boundary[key] > 0
            and _cursor_value(cells[at], cursor.data_type) == last
        ):
            boundary[key] -= 1
            return False
        if pre_seen[key] > 0:
            pre_seen[key] -= 1
            return False
        return True

    def _stuck(self, cursor: Cursor, value: str | None) -> ReportPagingError:
        what = f"share the value {value!r}" if value is not None else "are blank"
        return ReportPagingError(
            f"Paging on {cursor.column} cannot go on: more than {ROW_LIMIT:,} rows {what} and "
            "no other column can split them. Add the record Id column to the report (or "
            "filter it into smaller parts).",
            report_id=self.report_id,
        )


def truncated(payload: Mapping[str, Any]) -> bool:
    """Whether a run left detail rows out (``allData: false``, or the newer row-limit flag)."""
    return payload.get("allData") is False or payload.get("hasExceededTabularRowLimit") is True


def _tabular_rows(payload: Mapping[str, Any]) -> list[DetailRow]:
    fact = (payload.get("factMap") or {}).get("T!T") or {}
    return [((), row.get("dataCells") or []) for row in fact.get("rows") or []]
