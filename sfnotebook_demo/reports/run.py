"""Running a report plan against the SQLite data: groupings, aggregates, the factMap.

Private to the demo reports feature. Filtering, sorting and grouping happen in SQL; Python
rolls the deepest groups' statistics up to every subtotal
(:mod:`sfnotebook_demo.reports.factmap`) and assembles the payload.

Report order and the row cap
    Detail rows come in report order: row groupings (each level in its ``sortOrder``; picklists
    in picklist order, lookups by name, text case-insensitively, nulls first in ascending
    order), then column groupings (matrix), then ``sortBy``, then **record Id ascending** as the
    final tie-breaker, so the order is total and stable. At most :data:`ROW_LIMIT` detail rows
    are returned across all groups, in that order; when more rows match, ``allData`` is false
    and ``hasExceededTabularRowLimit`` true.
Aggregates
    Every aggregate, subtotal, grand total and grouping is computed over **all** matching rows,
    not only the returned ones (Salesforce computes summaries in the database and documents the
    cap for detail rows only; not verified against a live org with a truncated run). Sums of no values are 0, averages/min/max of no values are null (label
    ``"-"``); averages ignore blank cells. Matrix factMaps hold every row key x column key
    combination, empty cells included (RowCount 0), as real payloads do.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sfnotebook_demo.reports.cells import EMPTY, column_cells, group_cell
from sfnotebook_demo.reports.defs import Column, ReportDef
from sfnotebook_demo.reports.factmap import Acc, Prefix, assign_keys, build_fact_map, grouping_tree
from sfnotebook_demo.reports.plan import Grouping, Plan
from sfnotebook_demo.reports.report_types import extended_metadata

__all__ = [
    "ROW_LIMIT",
    "report_attributes",
    "run_plan",
]

ROW_LIMIT = 2000


# --- SQL pieces ---------------------------------------------------------------------------------


def _from_sql(texts: Iterable[str]) -> str:
    joined = " ".join(texts)
    sql = "Opportunity o"
    if re.search(r"\ba\.", joined):
        sql += " LEFT JOIN Account a ON a.Id = o.AccountId"
    if re.search(r"\bu\.", joined):
        sql += ' LEFT JOIN "User" u ON u.Id = o.OwnerId'
    return sql


def _bucket_sql(g: Grouping) -> str:
    """The SQL value of a grouping: the column value, or the start of its date bucket."""
    expr = g.column.value_sql
    if g.column.data_type not in ("date", "datetime"):
        return expr
    day = f"substr({expr}, 1, 10)"
    month = f"CAST(substr({expr}, 6, 2) AS INTEGER)"
    return {
        "None": day,
        "Day": day,
        "Week": f"date({day}, '-' || strftime('%w', {day}) || ' days')",
        "Month": f"substr({expr}, 1, 7) || '-01'",
        "Quarter": f"substr({expr}, 1, 5) || printf('%02d', (({month} - 1) / 3) * 3 + 1) || '-01'",
        "FiscalQuarter": (
            f"substr({expr}, 1, 5) || printf('%02d', (({month} - 1) / 3) * 3 + 1) || '-01'"
        ),
        "Year": f"substr({expr}, 1, 4) || '-01-01'",
        "FiscalYear": f"substr({expr}, 1, 4) || '-01-01'",
    }[g.granularity]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _order_sql(col: Column, expr: str, descending: bool, *, bucketed: bool = False) -> list[str]:
    """ORDER BY terms sorting ``expr`` (a value of ``col``) the way reports sort it."""
    way = " DESC" if descending else ""
    if bucketed:
        return [expr + way]
    if col.data_type == "picklist" and col.picklist_values:
        cases = " ".join(
            f"WHEN {expr} = {_quote(v)} THEN {i}" for i, v in enumerate(col.picklist_values)
        )
        # Blank first (like nulls elsewhere), then picklist order, then unknown values.
        rank = f"CASE WHEN {expr} IS NULL THEN -1 {cases} ELSE {len(col.picklist_values)} END"
        return [rank + way, expr + way]
    if col.label_sql is not None:
        return [f"{col.label_sql} COLLATE NOCASE{way}", expr + way]
    if col.is_text:
        return [f"{expr} COLLATE NOCASE{way}", expr + way]
    return [expr + way]


def _group_orders(groups: Sequence[Grouping]) -> list[str]:
    terms: list[str] = []
    for g in groups:
        bucketed = g.column.data_type in ("date", "datetime")
        terms += _order_sql(g.column, _bucket_sql(g), g.descending, bucketed=bucketed)
    return terms


# --- the run ------------------------------------------------------------------------------------


def _stats(
    conn: sqlite3.Connection, plan: Plan, base_where: str
) -> tuple[list[Prefix], list[Prefix], dict[tuple[Prefix, Prefix], Acc], dict[Prefix, Any]]:
    """Ordered deepest down/across tuples, rolled-up statistics and lookup group labels."""
    down_vals = [_bucket_sql(g) for g in plan.down]
    across_vals = [_bucket_sql(g) for g in plan.across]
    groups = down_vals + across_vals
    lookup_labels = [
        f"MIN({g.column.label_sql})" for g in (*plan.down, *plan.across) if g.column.label_sql
    ]
    num_cols = list(dict.fromkeys(a.column for a in plan.aggregates if a.column and a.kind != "u"))
    measures = ["COUNT(*)"]
    for col in num_cols:
        v = col.value_sql
        measures += [f"COUNT({v})", f"SUM({v})", f"MIN({v})", f"MAX({v})"]
    select = ", ".join([*groups, *lookup_labels, *measures])
    order = _group_orders(plan.down) + _group_orders(plan.across)
    tail = (" GROUP BY " + ", ".join(groups)) if groups else ""
    tail += (" ORDER BY " + ", ".join(order)) if order else ""
    texts = [select, plan.where_sql, *order]
    sql = f"SELECT {select} FROM {_from_sql(texts)} WHERE {base_where}{tail}"  # noqa: S608 - column expressions are constants; values are bound parameters
    nd, na, nl = len(down_vals), len(across_vals), len(lookup_labels)
    stats: dict[tuple[Prefix, Prefix], Acc] = {}
    labels: dict[Prefix, Any] = {}
    down_order: dict[Prefix, None] = {}
    across_seen: dict[Prefix, None] = {}
    lookup_levels = [(i, g) for i, g in enumerate((*plan.down, *plan.across)) if g.column.label_sql]
    for row in conn.execute(sql, plan.where_params):
        d, a = tuple(row[:nd]), tuple(row[nd : nd + na])
        for j, (level, _g) in enumerate(lookup_levels):
            labels[(level, row[level])] = row[nd + na + j]
        count = row[nd + na + nl]
        rest = row[nd + na + nl + 1 :]
        col_stats = {c.name: rest[4 * i : 4 * i + 4] for i, c in enumerate(num_cols)}
        down_order.setdefault(d)
        across_seen.setdefault(a)
        for i in range(nd + 1):
            for j in range(na + 1):
                stats.setdefault((d[:i], a[:j]), Acc()).add(count, col_stats)
    across_order = _across_order(conn, plan, base_where) if na else list(across_seen)
    _unique_counts(conn, plan, base_where, stats)
    return list(down_order), across_order, stats, labels


def _across_order(conn: sqlite3.Connection, plan: Plan, base_where: str) -> list[Prefix]:
    values = [_bucket_sql(g) for g in plan.across]
    order = _group_orders(plan.across)
    texts = [*values, plan.where_sql, *order]
    sql = (
        f"SELECT {', '.join(values)} FROM {_from_sql(texts)} WHERE {base_where} "  # noqa: S608 - constant expressions, bound values
        f"GROUP BY {', '.join(values)} ORDER BY {', '.join(order)}"
    )
    return [tuple(r) for r in conn.execute(sql, plan.where_params)]


def _unique_counts(
    conn: sqlite3.Connection, plan: Plan, base_where: str, stats: dict[tuple[Prefix, Prefix], Acc]
) -> None:
    cols = list(dict.fromkeys(a.column for a in plan.aggregates if a.kind == "u" and a.column))
    if not cols:
        return
    down_vals = [_bucket_sql(g) for g in plan.down]
    across_vals = [_bucket_sql(g) for g in plan.across]
    for i in range(len(down_vals) + 1):
        for j in range(len(across_vals) + 1):
            keys = down_vals[:i] + across_vals[:j]
            counts = [f"COUNT(DISTINCT {c.value_sql})" for c in cols]
            select = ", ".join([*keys, *counts])
            group = (" GROUP BY " + ", ".join(keys)) if keys else ""
            sql = f"SELECT {select} FROM {_from_sql([select, plan.where_sql])} WHERE {base_where}{group}"  # noqa: S608 - constant expressions, bound values
            for row in conn.execute(sql, plan.where_params):
                d, a = tuple(row[:i]), tuple(row[i : i + j])
                acc = stats.setdefault((d, a), Acc())
                for k, col in enumerate(cols):
                    acc.unique[col.name] = row[i + j + k]


Rows = dict[tuple[Prefix, Prefix], list[dict[str, Any]]]


def _detail_rows(
    conn: sqlite3.Connection, plan: Plan, base_where: str, limit: int, id_length: int
) -> tuple[Rows, bool]:
    """The first ``limit`` detail rows in report order, by their deepest group's value tuples,
    and whether more rows match."""
    # Each distinct expression is selected once (OPPORTUNITY_ID, OPPORTUNITY_NAME and the Key
    # formula are all o.Id): fewer values for SQLite to hand to Python.
    at: dict[str, int] = {}
    for col in plan.detail_columns:
        at.setdefault(col.value_sql, len(at))
        if col.label_sql is not None:
            at.setdefault(col.label_sql, len(at))
    down_vals = [_bucket_sql(g) for g in plan.down]
    across_vals = [_bucket_sql(g) for g in plan.across]
    order = _group_orders(plan.down) + _group_orders(plan.across)
    if plan.sort_column is not None:
        col = plan.sort_column
        order += _order_sql(col, col.value_sql, plan.sort_descending)
    order.append("o.Id")
    select = ", ".join([*at, *down_vals, *across_vals] or ["NULL"])
    order_sql = ", ".join(order)
    inner_from = _from_sql([plan.where_sql, *order])
    if inner_from == "Opportunity o":
        # Sort and cut on the Opportunity table alone, then join names for the kept rows only.
        outer_from = _from_sql([select]).replace(
            "Opportunity o", "_keep k JOIN Opportunity o ON o.rowid = k.rid", 1
        )
        sql = (
            f"WITH _keep AS (SELECT o.rowid AS rid FROM Opportunity o WHERE {base_where} "  # noqa: S608 - constant expressions, bound values
            f"ORDER BY {order_sql} LIMIT ?) SELECT {select} FROM {outer_from} ORDER BY {order_sql}"
        )
    else:
        sql = (
            f"SELECT {select} FROM {_from_sql([select, plan.where_sql, *order])} "  # noqa: S608 - constant expressions, bound values
            f"WHERE {base_where} ORDER BY {order_sql} LIMIT ?"
        )
    rows = conn.execute(sql, [*plan.where_params, limit + 1]).fetchall()
    more = len(rows) > limit
    del rows[limit:]
    if not rows:
        return {}, more
    # Cells a column at a time (see column_cells); null cells share one object.
    fields = list(zip(*rows, strict=True))
    empty = {"label": EMPTY, "value": None}
    columns = [
        column_cells(
            c,
            fields[at[c.value_sql]],
            None if c.label_sql is None else fields[at[c.label_sql]],
            id_length=id_length,
            empty=empty,
        )
        for c in plan.detail_columns
    ]
    cells = map(list, zip(*columns, strict=True)) if columns else ([] for _ in rows)
    if not down_vals and not across_vals:
        return {((), ()): [{"dataCells": c} for c in cells]}, more
    n, nd = len(at), len(down_vals)
    out: Rows = {}
    for row, c in zip(rows, cells, strict=True):
        out.setdefault((row[n : n + nd], row[n + nd :]), []).append({"dataCells": c})
    return out, more


def report_attributes(version: str, report: ReportDef) -> dict[str, Any]:
    """``attributes`` of a sync run (``version`` like ``"68.0"``)."""
    base = f"/services/data/v{version}/analytics/reports/{report.id}"
    return {
        "describeUrl": f"{base}/describe",
        "instancesUrl": f"{base}/instances",
        "reportId": report.id,
        "reportName": report.name,
        "type": "Report",
    }


def run_plan(
    conn: sqlite3.Connection,
    plan: Plan,
    *,
    include_details: bool,
    attributes: dict[str, Any],
    row_limit: int = ROW_LIMIT,
    id_length: int = 18,
) -> dict[str, Any]:
    """Run ``plan`` and return the complete report payload (top-level keys as Salesforce).

    ``id_length``: 18 or 15, what ``id``-typed cells hold (the ``report_id_cells`` dialect).
    """
    base_where = f"o.IsDeleted = 0 AND ({plan.where_sql})"
    down_order, across_order, stats, labels = _stats(conn, plan, base_where)
    down_keys = assign_keys(down_order) if plan.down else {}
    across_keys = assign_keys(across_order) if plan.across else {}
    total = stats.get(((), ()), Acc()).count
    rows: Rows | None = None
    truncated = False
    if include_details:
        rows, more = _detail_rows(conn, plan, base_where, row_limit, id_length)
        truncated = more or total > row_limit

    def describer(axis: Sequence[Grouping], offset: int) -> Callable[[Prefix], dict[str, Any]]:
        def describe(prefix: Prefix) -> dict[str, Any]:
            g = axis[len(prefix) - 1]
            value = prefix[-1]
            label = labels.get((offset + len(prefix) - 1, value))
            return group_cell(g.column, g.granularity, value, label)

        return describe

    fact_map = build_fact_map(
        plan.format,
        down_keys,
        across_keys,
        stats,
        plan.aggregates,
        rows,
        down_depth=len(plan.down),
        across_depth=len(plan.across),
    )
    return {
        "attributes": attributes,
        "allData": not truncated,
        "factMap": fact_map,
        "groupingsAcross": grouping_tree(across_keys, describer(plan.across, len(plan.down))),
        "groupingsDown": grouping_tree(down_keys, describer(plan.down, 0)),
        "hasDetailRows": include_details,
        "hasExceededTabularRowLimit": truncated,
        "picklistColors": {},
        "reportExtendedMetadata": extended_metadata(plan),
        "reportMetadata": plan.metadata(has_detail_rows=include_details),
    }
