"""Grouped reports paged as TABULAR runs: their rows get their group labels back.

A grouped run's first 2,000 rows come in group order, so a filter past the last sort value would
skip rows of later groups (and matrix reports cannot be sorted at all). The detail rows of a
SUMMARY or MATRIX report are therefore paged as a TABULAR run of the same report with the
grouping columns added; :class:`GroupLabeler` gives each row the labels the grouped run's trees
hold (date buckets found by their start date) and its position in report order.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sfnotebook.errors import ReportPagingError
from sfnotebook.reports._cells import cell_text as _cell_text
from sfnotebook.reports._cells import cell_value as _value

__all__ = ["MAX_COLUMNS", "GroupLabeler", "grouped_as_tabular"]

MAX_COLUMNS = 100  # "fewer than 100 columns" (Report Error Codes page); 100 itself is refused


def grouped_as_tabular(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A TABULAR version of a grouped report's metadata with the grouping columns as details.

    Returns the metadata and the grouping column names (down levels, then across levels).
    Raises ReportPagingError when the added columns take it to the API's column cap: "Only a
    report with fewer than 100 columns can be run" (Report Error Codes page, a 400).
    """
    groups = [g["name"] for g in metadata.get("groupingsDown") or []]
    if str(metadata.get("reportFormat")).upper() == "MATRIX":
        groups += [g["name"] for g in metadata.get("groupingsAcross") or []]
    out = copy.deepcopy(dict(metadata))
    details = list(out.get("detailColumns") or [])
    added = [g for g in dict.fromkeys(groups) if g not in details]
    if added and len(details) + len(added) >= MAX_COLUMNS:
        raise ReportPagingError(
            f"The report {metadata.get('name')!r} has more than 2,000 rows and "
            f"{len(details)} detail columns; paging a grouped report runs it as a table with "
            f"its {len(added)} grouping column(s) added ({', '.join(added)}), and Salesforce "
            f"runs only reports of fewer than {MAX_COLUMNS} columns. Remove "
            f"{len(details) + len(added) - MAX_COLUMNS + 1} detail column(s) from the report, "
            "or filter it to at most 2,000 rows.",
            report_id=metadata.get("id"),
        )
    out["detailColumns"] = details + added
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
