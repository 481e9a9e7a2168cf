"""The factMap of a report run: group statistics, grouping keys, the ``"<down>!<across>"`` map.

Pure: :mod:`sfnotebook_demo.reports.run` computes the statistics of the deepest groups in SQL
and hands them here to be rolled into every key of the payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.reports.cells import aggregate_cell
from sfnotebook_demo.reports.plan import Aggregate

__all__ = ["Acc", "Prefix", "assign_keys", "build_fact_map", "grouping_tree"]

Prefix = tuple[Any, ...]


@dataclass
class Acc:
    """Row count and per-column (count, sum, min, max) of one group or cell."""

    count: int = 0
    cols: dict[str, list[Any]] = field(default_factory=dict)
    unique: dict[str, int] = field(default_factory=dict)

    def add(self, count: int, col_stats: dict[str, Sequence[Any]]) -> None:
        self.count += count
        for name, (n, total, low, high) in col_stats.items():
            acc = self.cols.setdefault(name, [0, 0, None, None])
            acc[0] += n or 0
            acc[1] += total or 0
            if low is not None and (acc[2] is None or low < acc[2]):
                acc[2] = low
            if high is not None and (acc[3] is None or high > acc[3]):
                acc[3] = high

    def value(self, agg: Aggregate) -> float | int | None:
        if agg.column is None:
            return self.count
        if agg.kind == "u":
            return self.unique.get(agg.column.name, 0)
        n, total, low, high = self.cols.get(agg.column.name, [0, 0, None, None])
        if agg.kind == "s":
            return total
        if agg.kind == "a":
            return total / n if n else None
        return low if agg.kind == "m" else high


def assign_keys(ordered: Iterable[Prefix]) -> dict[Prefix, str]:
    """Grouping keys (``"0"``, ``"0_1"``, ...) for every prefix of the ordered value tuples.

    Siblings are numbered from 0 in the order their first member appears.
    """
    keys: dict[Prefix, str] = {}
    children: dict[Prefix, int] = {}
    for values in ordered:
        for depth in range(1, len(values) + 1):
            prefix = values[:depth]
            if prefix in keys:
                continue
            parent = prefix[:-1]
            index = children.get(parent, 0)
            children[parent] = index + 1
            keys[prefix] = f"{keys[parent]}_{index}" if parent else str(index)
    return keys


def grouping_tree(
    keys: dict[Prefix, str], describe: Callable[[Prefix], dict[str, Any]]
) -> dict[str, Any]:
    """``{"groupings": [...]}`` with ``groupings``, ``key``, ``label``, ``value`` per node."""
    root: dict[str, Any] = {"groupings": []}
    nodes: dict[Prefix, dict[str, Any]] = {(): root}
    for prefix, key in keys.items():  # insertion order: parents before children
        node = {"groupings": [], "key": key, **describe(prefix)}
        nodes[prefix] = node
        nodes[prefix[:-1]]["groupings"].append(node)
    return root


def _prefixes(keys: dict[Prefix, str]) -> list[tuple[Prefix, str]]:
    """Every group's prefix and key plus the grand total ``((), "T")``, depth-first order."""
    return [*keys.items(), ((), "T")]


def build_fact_map(
    fmt: str,
    down_keys: dict[Prefix, str],
    across_keys: dict[Prefix, str],
    stats: dict[tuple[Prefix, Prefix], Acc],
    aggregates: Sequence[Aggregate],
    rows: dict[tuple[Prefix, Prefix], list[dict[str, Any]]] | None,
    *,
    down_depth: int,
    across_depth: int,
) -> dict[str, Any]:
    """The factMap: aggregates for every key; rows (when given) only in the deepest cells.

    TABULAR has ``T!T`` only; SUMMARY ``<down>!T`` for every row group plus ``T!T``; MATRIX
    every ``<down>!<across>`` combination including the ``T`` totals.
    """
    empty = Acc()
    fact: dict[str, Any] = {}
    across_list = _prefixes(across_keys) if fmt == "MATRIX" else [((), "T")]
    down_list = _prefixes(down_keys) if fmt != "TABULAR" else [((), "T")]
    for d_prefix, d_key in down_list:
        for a_prefix, a_key in across_list:
            acc = stats.get((d_prefix, a_prefix), empty)
            entry: dict[str, Any] = {
                "aggregates": [aggregate_cell(a.kind, a.column, acc.value(a)) for a in aggregates]
            }
            if rows is not None:
                deepest = len(d_prefix) == down_depth and len(a_prefix) == across_depth
                entry["rows"] = rows.get((d_prefix, a_prefix), []) if deepest else []
            fact[f"{d_key}!{a_key}"] = entry
    return fact
