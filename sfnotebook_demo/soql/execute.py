"""Execution side of the demo SOQL engine: run a resolved query's SQL and shape its records.

:mod:`sfnotebook_demo.soql.engine` resolves a parsed query against the schema into a :class:`Plan`:
one SQLite statement (LEFT JOINs for parent paths) plus a tree of output nodes
(:mod:`sfnotebook_demo.soql.nodes`) that turn each SQL row into a record shaped as Salesforce's
REST API returns it (``attributes``, nested parent objects or ``null``, compound fields as
objects, child subqueries as query results). A child subquery is a :class:`ChildNode` here,
beside the :class:`Plan` it holds, so the node module needs nothing of this one.
"""

from __future__ import annotations

import json
import operator
import re
import sqlite3
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sfnotebook_demo.soql.nodes import Node, Row, compile_builder, null_getter
from sfnotebook_demo.soql.parents import ParentSplit, split_parents

__all__ = ["ChildNode", "Plan"]

# A list bound as one JSON parameter: no limit on the number of SQL variables.
_JSON_LIST = "(SELECT value FROM json_each(?))"


_JOIN = re.compile(r'LEFT JOIN "\w+" (\w+) ON \w+\.Id = (\w+)\.')


def _join_alias(join: str) -> str:
    m = _JOIN.match(join)
    return m.group(1) if m else ""


def _alias_parents(joins: list[str]) -> dict[str, str]:
    return _parents_of(tuple(joins))


@lru_cache(maxsize=256)
def _parents_of(joins: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for j in joins:
        m = _JOIN.match(j)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@dataclass
class ChildNode(Node):
    """A child subquery; its records come from ``ctx["children"][key][parent id]``."""

    key: str
    plan: Plan
    fk: str

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        rows = ctx["children"][self.key].get(row[0])
        if not rows:
            return None  # Salesforce sends null, not an empty result, for no children
        return {"totalSize": len(rows), "done": True, "records": rows}


@dataclass
class Plan:
    """A resolved (sub)query: SQL pieces and the output nodes.

    Every non-aggregate statement selects ``t0.Id`` and ``t0.rowid`` first (hidden columns
    0 and 1) so records get their ``attributes.url`` and cursors can snapshot row order.
    """

    object_name: str
    root: str  # root table alias
    select: list[str]
    joins: list[str]
    where: str | None
    params: list[Any]
    order: list[str]
    limit: int | None
    offset: int | None
    nodes: list[Node]
    is_aggregate: bool = False
    count_only: bool = False
    group_by: list[str] = field(default_factory=list)
    having: str | None = None
    having_params: list[Any] = field(default_factory=list)
    children: list[ChildNode] = field(default_factory=list)
    flat_columns: list[str] = field(default_factory=list)
    flat_types: list[str] = field(default_factory=list)
    # Per flat column: a SQL column index, None (always null), or a function of the row.
    flat_getters: list[int | Callable[[Row], Any] | None] = field(default_factory=list)
    fk_index: int | None = None  # for child plans: column holding the parent id
    fk_expr: str = ""  # for child plans: SQL of the foreign key to the parent
    _builders: dict[tuple[str, bool], Callable[[Row, dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )
    # Paging fetches parents from a per-query cache (None: this plan cannot split).
    _split: ParentSplit | None = field(default=None, init=False, repr=False)
    _split_known: bool = field(default=False, init=False, repr=False)

    # --- SQL --------------------------------------------------------------------------------

    def _from(self, *, needed_only: bool = False) -> str:
        joins = self.joins
        if needed_only:
            # Counting and snapshotting rowids only need the joins WHERE and ORDER BY use
            # (LEFT JOINs on unique ids never change the number of root rows).
            text = " ".join([self.where or "", *self.order])
            used = {a for a in re.findall(r"\b([a-z]\w*?\d+)\.", text) if a != self.root}
            needed: set[str] = set()
            for alias in used:
                while alias in _alias_parents(self.joins) and alias not in needed:
                    needed.add(alias)
                    alias = _alias_parents(self.joins)[alias]
            joins = [j for j in self.joins if _join_alias(j) in needed]
        return f'"{self.object_name}" {self.root} ' + " ".join(joins)

    def _conditions(self, include_deleted: bool, extra: str | None = None) -> str:
        conds = [] if include_deleted else [f"{self.root}.IsDeleted = 0"]
        if self.where:
            conds.append(f"({self.where})")
        if extra:
            conds.append(extra)
        return (" WHERE " + " AND ".join(conds)) if conds else ""

    def _order(self) -> str:
        keys = list(self.order)
        if not self.is_aggregate:
            keys.append(f"{self.root}.rowid")  # deterministic order for paging snapshots
        return (" ORDER BY " + ", ".join(keys)) if keys else ""

    def _limit(self) -> str:
        if self.limit is None and not self.offset:
            return ""
        return f" LIMIT {self.limit if self.limit is not None else -1} OFFSET {self.offset or 0}"

    def _select(self, cols: str, conditions: str, *, needed_only: bool = False) -> str:
        # Identifiers come from the schema and values are bound parameters: no injection.
        source = self._from(needed_only=needed_only)
        return f"SELECT {cols} FROM {source}{conditions}"  # noqa: S608 - identifiers come from the schema, values are bound

    def sql(self, *, include_deleted: bool) -> tuple[str, list[Any]]:
        """The full statement and its parameters."""
        text = self._select(", ".join(self.select), self._conditions(include_deleted))
        params = list(self.params)
        if self.is_aggregate:
            if self.group_by:
                text += " GROUP BY " + ", ".join(self.group_by)
            if self.having:
                text += f" HAVING {self.having}"
                params += self.having_params
        return text + self._order() + self._limit(), params

    def count_sql(self, *, include_deleted: bool) -> tuple[str, list[Any]]:
        conditions = self._conditions(include_deleted)
        inner = self._select("1", conditions, needed_only=True) + self._limit()
        return f"SELECT COUNT(*) FROM ({inner})", list(self.params)  # noqa: S608 - see _select

    def rowid_sql(self, *, include_deleted: bool) -> tuple[str, list[Any]]:
        conditions = self._conditions(include_deleted)
        text = self._select(f"{self.root}.rowid", conditions, needed_only=True)
        return text + self._order() + self._limit(), list(self.params)

    # --- execution --------------------------------------------------------------------------

    def count(self, conn: sqlite3.Connection, *, include_deleted: bool = False) -> int:
        text, params = self.count_sql(include_deleted=include_deleted)
        return int(conn.execute(text, params).fetchone()[0])

    def row_ids(self, conn: sqlite3.Connection, *, include_deleted: bool = False) -> array[int]:
        """The snapshot: root rowids in result order (8 bytes each, for million-row cursors)."""
        text, params = self.rowid_sql(include_deleted=include_deleted)
        cursor = conn.execute(text, params)
        ids: array[int] = array("q")
        while chunk := cursor.fetchmany(65536):
            ids.extend(r[0] for r in chunk)
        return ids

    def fetch_rows(
        self, conn: sqlite3.Connection, rowids: Sequence[int], *, include_deleted: bool = False
    ) -> list[Row]:
        """SQL rows for the given root rowids of a snapshot, in the order given."""
        if not rowids:
            return []
        if not self._split_known:
            self._split = split_parents(self.root, self.select, self.joins)
            self._split_known = True
        split = self._split
        cols = ", ".join(split.root_select if split else self.select)
        needed_only = split is not None
        rows = self._fetch(
            conn, rowids, cols, needed_only=needed_only, include_deleted=include_deleted
        )
        return split.attach(conn, rows) if split else rows

    def _fetch(
        self,
        conn: sqlite3.Connection,
        rowids: Sequence[int],
        cols: str,
        *,
        needed_only: bool,
        include_deleted: bool,
    ) -> list[Row]:
        if not self.order and not self.is_aggregate:
            # Snapshots without ORDER BY are in rowid order and contiguous in the matching
            # rows, so one range scan with the same filter returns exactly this page.
            extra = f"{self.root}.rowid BETWEEN ? AND ?"
            conditions = self._conditions(include_deleted, extra)
            text = self._select(cols, conditions, needed_only=needed_only)
            text += f" ORDER BY {self.root}.rowid"
            rows = conn.execute(text, [*self.params, rowids[0], rowids[-1]]).fetchall()
            if len(rows) == len(rowids):
                return rows
        extra = f"{self.root}.rowid IN {_JSON_LIST}"
        text = self._select(cols, self._conditions(True, extra), needed_only=needed_only)
        rows = conn.execute(text, [*self.params, json.dumps(list(rowids))]).fetchall()
        by_rowid = {r[1]: r for r in rows}
        return [by_rowid[i] for i in rowids if i in by_rowid]

    def shape(
        self,
        conn: sqlite3.Connection,
        rows: Sequence[Row],
        *,
        api_version: str,
        include_deleted: bool = False,
        share_parents: bool = False,
    ) -> list[dict[str, Any]]:
        """Turn SQL rows into REST records (fetching child subquery rows in one go).

        With ``share_parents``, records with the same parent share its nested record, already
        encoded (for records that are only encoded with orjson, never read or edited).
        """
        base = f"/services/data/v{api_version}/sobjects/"
        ctx: dict[str, Any] = {"base": base, "children": {}}
        if self.children and rows:
            parent_ids = [r[0] for r in rows]
            for child in self.children:
                ctx["children"][child.key] = child.plan.children_by_parent(
                    conn, parent_ids, api_version=api_version, include_deleted=include_deleted
                )
        key = (base, share_parents)
        build = self._builders.get(key)
        if build is None:
            build = self._builders[key] = compile_builder(self, base, share_parents=share_parents)
        return [build(r, ctx) for r in rows]

    def children_by_parent(
        self,
        conn: sqlite3.Connection,
        parent_ids: Sequence[str],
        *,
        api_version: str,
        include_deleted: bool,
    ) -> dict[str, list[dict[str, Any]]]:
        """Child records grouped by parent id, each group ordered, limited and offset."""
        assert self.fk_index is not None  # noqa: S101 - only child plans get here
        extra = f"{self.fk_expr} IN {_JSON_LIST}"
        text = self._select(", ".join(self.select), self._conditions(include_deleted, extra))
        text += self._order()
        rows = conn.execute(text, [*self.params, json.dumps(list(parent_ids))]).fetchall()
        grouped: dict[str, list[Row]] = {}
        for r in rows:
            grouped.setdefault(r[self.fk_index], []).append(r)
        start = self.offset or 0
        out: dict[str, list[dict[str, Any]]] = {}
        for pid, group in grouped.items():
            stop = start + self.limit if self.limit is not None else None
            chosen = group[start:stop]
            if chosen:
                out[pid] = self.shape(conn, chosen, api_version=api_version)
        return out

    def iter_sql_rows(
        self, conn: sqlite3.Connection, *, include_deleted: bool = False
    ) -> Iterator[Row]:
        text, params = self.sql(include_deleted=include_deleted)
        yield from conn.execute(text, params)

    def records(
        self,
        conn: sqlite3.Connection,
        *,
        include_deleted: bool = False,
        api_version: str = "68.0",
        chunk: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every record of the result, streamed in chunks (children fetched per chunk)."""
        if self.count_only:
            return
        cursor = self.iter_sql_rows(conn, include_deleted=include_deleted)
        buf: list[Row] = []
        for row in cursor:
            buf.append(row)
            if len(buf) >= chunk:
                yield from self.shape(
                    conn, buf, api_version=api_version, include_deleted=include_deleted
                )
                buf = []
        if buf:
            yield from self.shape(
                conn, buf, api_version=api_version, include_deleted=include_deleted
            )

    def flat_sql(
        self, *, include_deleted: bool = False, rowids: tuple[int, int] | None = None
    ) -> tuple[str, list[Any]] | None:
        """The statement of :meth:`flat_rows` selecting only the flat columns, or ``None``.

        ``None`` when a column is computed in Python. ``rowids`` keeps root rows whose rowid
        is in that inclusive range: without ORDER BY, LIMIT or OFFSET (see
        :meth:`splittable`), consecutive ranges give consecutive slices of the result.
        """
        spec = self.flat_getters
        if self.is_aggregate or self.count_only or not all(isinstance(g, int) for g in spec):
            return None
        columns = ", ".join(self.select[g] for g in spec)  # type: ignore[index]
        extra = f"{self.root}.rowid BETWEEN ? AND ?" if rowids is not None else None
        text = self._select(columns, self._conditions(include_deleted, extra))
        return text + self._order() + self._limit(), [*self.params, *(rowids or ())]

    @property
    def splittable(self) -> bool:
        """True when the result is in root rowid order with no LIMIT or OFFSET."""
        return not self.order and self.limit is None and not self.offset and not self.is_aggregate

    def rowid_bounds(self, conn: sqlite3.Connection) -> tuple[int, int] | None:
        """Smallest and largest rowid of the root table (``None`` when it is empty)."""
        sql = f'SELECT min(rowid), max(rowid) FROM "{self.object_name}"'  # noqa: S608 - schema name
        low, high = conn.execute(sql).fetchone()
        return None if low is None else (int(low), int(high))

    def flat_rows(
        self, conn: sqlite3.Connection, *, include_deleted: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        """Storage values in ``flat_columns`` order (one SQL statement, parents joined)."""
        rows = self.iter_sql_rows(conn, include_deleted=include_deleted)
        spec = self.flat_getters
        if spec and all(isinstance(g, int) for g in spec):
            # The common case: one C-level itemgetter per row.
            pick = operator.itemgetter(*spec)  # type: ignore[arg-type]
            if len(spec) == 1:
                yield from ((pick(row),) for row in rows)
            else:
                yield from map(pick, rows)
            return
        getters = [
            operator.itemgetter(g) if isinstance(g, int) else (g or null_getter) for g in spec
        ]
        for row in rows:
            yield tuple(g(row) for g in getters)
