"""Parent lookups for query pages of the demo SOQL engine, cached per compiled query.

A page of 2,000 ``Opportunity`` rows with ``Account.Name`` and ``Account.Owner.Name`` costs
thousands of index searches when the parents come from LEFT JOINs, and the same few thousand
accounts come back on every page. For paging, :class:`ParentSplit` therefore selects the root
columns and the foreign keys only, fetches each parent subtree (the parent and its own parents)
once per query by id, and rebuilds rows identical to those of the joined statement, so the
output nodes are unaware of it. The demo database is read-only: cached parents cannot go stale.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ParentSplit", "split_parents"]

# Only plain columns (alias."Field" / alias.rowid) can be moved to a parent lookup;
# expressions (polymorphic COALESCE, Type CASE, date functions) keep the joined statement.
_COLUMN = re.compile(r'^([a-z]\w*?\d+)\.(?:"\w+"|rowid)$')
_JOIN = re.compile(r'^LEFT JOIN "(\w+)" (\w+) ON \2\.Id = (\w+)\.("\w+")$')
_JSON_LIST = "(SELECT value FROM json_each(?))"


@dataclass
class _Group:
    """One parent subtree of the root: a top-level join and the joins below it."""

    fk: str  # SQL of the root's foreign key, e.g. t0."AccountId"
    sql: str  # parent id + the subtree's columns, for a JSON list of parent ids
    nulls: tuple[Any, ...]  # the columns of a missing parent (LEFT JOIN semantics)
    cache: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def fill(self, conn: sqlite3.Connection, ids: set[str]) -> None:
        missing = [i for i in ids if i not in self.cache]
        if not missing:
            return
        for row in conn.execute(self.sql, [json.dumps(missing)]):
            self.cache[row[0]] = row[1:]
        for i in missing:  # dangling ids: the join would have produced nulls
            self.cache.setdefault(i, self.nulls)


@dataclass
class ParentSplit:
    """How to fetch a plan's rows as root columns plus cached parent subtrees.

    Attributes
    ----------
    root_select
        The SELECT list of the root statement: the plan's root columns, then one foreign key
        per parent subtree.
    """

    root_select: list[str]
    groups: list[_Group]
    fk_positions: list[int]
    combine: Callable[..., list[tuple[Any, ...]]]

    def attach(self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """The joined statement's rows for ``rows`` of the root statement."""
        for group, pos in zip(self.groups, self.fk_positions, strict=True):
            group.fill(conn, {r[pos] for r in rows if r[pos] is not None})
        return self.combine(
            rows, [g.cache.get for g in self.groups], [g.nulls for g in self.groups]
        )


def _compile_combine(
    sources: list[tuple[int, int]], fk_positions: list[int]
) -> Callable[..., list[tuple[Any, ...]]]:
    """One function rebuilding joined rows: ``sources[i]`` = (-1 or group number, index).

    Generated (like the record builders) because it runs once per row of every page: one
    tuple display per row instead of concatenations and a reordering.
    """
    n = len(fk_positions)
    lines = ["def combine(rows, gets, nulls):"]
    if n:
        lines.append(f"    {', '.join(f'g{g}' for g in range(n))}, = gets")
        lines.append(f"    {', '.join(f'n{g}' for g in range(n))}, = nulls")
    lines += ["    out = []", "    append = out.append", "    for r in rows:"]
    for g, pos in enumerate(fk_positions):
        lines.append(f"        k = r[{pos}]; p{g} = n{g} if k is None else g{g}(k, n{g})")
    items = [f"r[{i}]" if g < 0 else f"p{g}[{i}]" for g, i in sources]
    lines += [f"        append(({', '.join(items)},))", "    return out"]
    ns: dict[str, Any] = {}
    exec("\n".join(lines) + "\n", ns)  # noqa: S102 - only integer indexes and local names
    return ns["combine"]  # type: ignore[no-any-return]


def split_parents(root: str, select: list[str], joins: list[str]) -> ParentSplit | None:
    """The split of a plan's statement, or ``None`` when it has no parents or cannot split."""
    if not joins:
        return None
    parent_of: dict[str, str] = {}
    fk_of: dict[str, str] = {}
    for j in joins:
        m = _JOIN.match(j)
        if m is None:
            return None
        parent_of[m.group(2)] = m.group(3)
        fk_of[m.group(2)] = f"{m.group(3)}.{m.group(4)}"

    def top(alias: str) -> str:
        while parent_of.get(alias, root) != root:
            alias = parent_of[alias]
        return alias

    owners: list[str] = []
    for col in select:
        m = _COLUMN.match(col)
        if m is None or (m.group(1) != root and m.group(1) not in parent_of):
            return None
        owners.append(root if m.group(1) == root else top(m.group(1)))
    root_cols = [c for c, o in zip(select, owners, strict=True) if o == root]
    # Parents only WHERE / ORDER BY use stay joins of the root statement.
    tops = [a for a in dict.fromkeys(owners) if a != root]
    if not tops:
        return None
    groups: list[_Group] = []
    # Per output column: (-1, position in the root row) or (group number, position in it).
    sources: dict[int, tuple[int, int]] = {}
    for i, o in enumerate(owners):
        if o == root:
            sources[i] = (-1, root_cols.index(select[i]))
    for alias in tops:
        members = [i for i, o in enumerate(owners) if o == alias]
        cols = [select[i] for i in members]
        sub = [m for m in map(_JOIN.match, joins) if m is not None and top(m.group(2)) == alias]
        if sub[0].group(2) != alias:  # joins are added parent first
            return None
        table, rest = sub[0].group(1), " ".join(m.group(0) for m in sub[1:])
        sql = (
            f"SELECT {alias}.Id, {', '.join(cols)} "  # noqa: S608 - schema names only
            f'FROM "{table}" {alias} {rest} WHERE {alias}.Id IN {_JSON_LIST}'
        )
        for k, i in enumerate(members):
            sources[i] = (len(groups), k)
        nulls = (None,) * len(cols)
        groups.append(_Group(fk_of[alias], sql, nulls))
    fk_positions = list(range(len(root_cols), len(root_cols) + len(tops)))
    combine = _compile_combine([sources[i] for i in range(len(select))], fk_positions)
    return ParentSplit([*root_cols, *(g.fk for g in groups)], groups, fk_positions, combine)
