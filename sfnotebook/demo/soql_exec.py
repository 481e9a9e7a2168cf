"""Execution side of the demo SOQL engine: run the compiled SQL and shape REST JSON records.

:mod:`sfnotebook.demo.soql` resolves a parsed query against the schema into a :class:`Plan`:
one SQLite statement (LEFT JOINs for parent paths), plus a tree of output nodes that turn each
SQL row into a record shaped as Salesforce's REST API returns it (``attributes``, nested parent
objects or ``null``, compound fields as objects, child subqueries as query results).
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

from .soql_dates import date_literal_range, datetime_literal_to_storage, day_start
from .soql_parser import (
    AndOr,
    Compare,
    FieldPath,
    FuncCall,
    Literal,
    Not,
    OrderItem,
    SelectField,
    SoqlError,
    SubQuery,
    format_error,
)

__all__ = [
    "AggNode",
    "ChildNode",
    "CompoundNode",
    "Node",
    "ParentNode",
    "Plan",
    "Resolved",
    "ScalarNode",
    "TypeOfNode",
    "WhereCompiler",
    "convert",
    "error_at",
    "func_sql",
    "resolve",
]

Row = Sequence[Any]
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


def _bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _int(v: Any) -> Any:
    return None if v is None else int(v)


def _float(v: Any) -> Any:
    return None if v is None else float(v)


def _null(_row: Any) -> None:
    return None


def _same(v: Any) -> Any:
    return v


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "boolean": _bool,
    "int": _int,
    "double": _float,
    "currency": _float,
    "percent": _float,
}


def convert(field_type: str) -> Callable[[Any], Any]:
    """The function turning a stored value of ``field_type`` into its REST JSON value."""
    return _CONVERTERS.get(field_type, _same)


class Node:
    """One key of an output record."""

    key: str

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class ScalarNode(Node):
    key: str
    index: int
    type: str
    conv: Callable[[Any], Any] = _same

    def __post_init__(self) -> None:
        self.conv = convert(self.type)

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        return self.conv(row[self.index])


@dataclass
class CompoundNode(Node):
    """``BillingAddress`` -> ``{"city": ..., ...}``; ``null`` when every part is null."""

    key: str
    parts: list[tuple[str, int | None, str]]  # (sub key, column index or None, type)

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        out = {k: (convert(t)(row[i]) if i is not None else None) for k, i, t in self.parts}
        return out if any(v is not None for v in out.values()) else None


@dataclass
class ParentNode(Node):
    """A parent relationship (``Account``): a nested record, or ``null`` with no parent."""

    key: str
    id_index: int
    type_name: str | None  # None: polymorphic ("Name" entity), url type from the id prefix
    children: list[Node] = field(default_factory=list)
    prefixes: dict[str, str] = field(default_factory=dict)

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        pid = row[self.id_index]
        if pid is None:
            return None
        if self.type_name is None:
            real = self.prefixes.get(pid[:3], "Name")
            attrs = {"type": "Name", "url": f"{ctx['base']}{real}/{pid}"}
        else:
            attrs = {"type": self.type_name, "url": f"{ctx['base']}{self.type_name}/{pid}"}
        rec: dict[str, Any] = {"attributes": attrs}
        for node in self.children:
            rec[node.key] = node.value(row, ctx)
        return rec


@dataclass
class TypeOfNode(Node):
    """``TYPEOF What WHEN Account THEN ... ELSE ... END``: fields of the matching branch."""

    key: str
    id_index: int
    prefixes: dict[str, str]  # key prefix -> object name
    branches: dict[str, list[Node]]  # object name -> nodes
    else_nodes: list[Node] | None

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        pid = row[self.id_index]
        if pid is None:
            return None
        real = self.prefixes.get(pid[:3], "Name")
        rec: dict[str, Any] = {"attributes": {"type": real, "url": f"{ctx['base']}{real}/{pid}"}}
        nodes = self.branches.get(real, self.else_nodes) or []
        for node in nodes:
            rec[node.key] = node.value(row, ctx)
        return rec


@dataclass
class AggNode(Node):
    key: str
    index: int
    type: str  # the JSON value type: int, double, or the source field's type
    digits: int | None = None  # SUM of decimals: round away binary float noise

    def value(self, row: Row, ctx: dict[str, Any]) -> Any:
        v = convert(self.type)(row[self.index])
        if self.digits is not None and isinstance(v, float):
            return round(v, self.digits)
        return v


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
    _builders: dict[str, Callable[[Row, dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

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
        return f"SELECT {cols} FROM {source}{conditions}"  # noqa: S608

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
        cols = ", ".join(self.select)
        if not self.order and not self.is_aggregate:
            # Snapshots without ORDER BY are in rowid order and contiguous in the matching
            # rows, so one range scan with the same filter returns exactly this page.
            extra = f"{self.root}.rowid BETWEEN ? AND ?"
            text = self._select(cols, self._conditions(include_deleted, extra))
            text += f" ORDER BY {self.root}.rowid"
            rows = conn.execute(text, [*self.params, rowids[0], rowids[-1]]).fetchall()
            if len(rows) == len(rowids):
                return rows
        extra = f"{self.root}.rowid IN {_JSON_LIST}"
        text = self._select(cols, self._conditions(True, extra))
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
    ) -> list[dict[str, Any]]:
        """Turn SQL rows into REST records (fetching child subquery rows in one go)."""
        base = f"/services/data/v{api_version}/sobjects/"
        ctx: dict[str, Any] = {"base": base, "children": {}}
        if self.children and rows:
            parent_ids = [r[0] for r in rows]
            for child in self.children:
                ctx["children"][child.key] = child.plan.children_by_parent(
                    conn, parent_ids, api_version=api_version, include_deleted=include_deleted
                )
        build = self._builders.get(base)
        if build is None:
            build = self._builders[base] = compile_builder(self, base)
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
        getters = [operator.itemgetter(g) if isinstance(g, int) else (g or _null) for g in spec]
        for row in rows:
            yield tuple(g(row) for g in getters)


# --- record builders --------------------------------------------------------------------
# Shaping rows node by node costs several Python calls per field; paging a million records
# needs better, so each plan compiles its node tree once into one function made of a single
# dict display. The generated source holds only repr()-quoted schema names, column indexes
# and references to the plan's own node objects.

_BOOL = {0: False, 1: True, None: None}


def _node_source(node: Node, ns: dict[str, Any], base: str) -> str:
    if isinstance(node, ScalarNode):
        if node.type == "boolean":
            return f"_B[r[{node.index}]]"
        if node.type in ("double", "currency", "percent", "int"):
            # REAL/INTEGER columns already come back as float/int (None stays None).
            return f"r[{node.index}]"
        return f"r[{node.index}]"
    if isinstance(node, ParentNode):
        i = node.id_index
        if node.type_name is None:
            ns.setdefault("_PU", {p: f"{base}{t}/" for p, t in node.prefixes.items()})
            url = f"_PU.get(r[{i}][:3], {base + 'Name/'!r}) + r[{i}]"
            type_name = "Name"
        else:
            url = f"{base + node.type_name + '/'!r} + r[{i}]"
            type_name = node.type_name
        items = [f"'attributes': {{'type': {type_name!r}, 'url': {url}}}"]
        items += [f"{c.key!r}: {_node_source(c, ns, base)}" for c in node.children]
        return f"(None if r[{i}] is None else {{{', '.join(items)}}})"
    nodes = ns.setdefault("_N", [])
    nodes.append(node)
    return f"_N[{len(nodes) - 1}].value(r, ctx)"


def compile_builder(plan: Plan, base: str) -> Callable[[Row, dict[str, Any]], dict[str, Any]]:
    """One function turning a SQL row of ``plan`` into its REST record."""
    ns: dict[str, Any] = {"_B": _BOOL}
    if plan.is_aggregate:
        items = ["'attributes': {'type': 'AggregateResult'}"]
    else:
        url = f"{base + plan.object_name + '/'!r} + r[0]"
        items = [f"'attributes': {{'type': {plan.object_name!r}, 'url': {url}}}"]
    items += [f"{n.key!r}: {_node_source(n, ns, base)}" for n in plan.nodes]
    source = "def build(r, ctx):\n    return {" + ", ".join(items) + "}\n"
    exec(source, ns)  # noqa: S102 - generated from repr()-quoted schema names and indexes only
    return ns["build"]  # type: ignore[no-any-return]


# --- resolving names and translating WHERE / HAVING / ORDER BY to SQL -----------------------
# (kept with execution: everything that produces or runs SQL lives in this module)

STRINGY = frozenset(
    {"string", "picklist", "multipicklist", "textarea", "email", "phone", "url", "combobox",
     "encryptedstring", "time"}
)  # fmt: skip
IDS = frozenset({"id", "reference"})
NUMERIC = frozenset({"int", "double", "currency", "percent"})
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
PASSTHROUGH = frozenset({"TOLABEL", "CONVERTCURRENCY", "FORMAT", "CONVERTTIMEZONE"})
_INT_OF = "CAST({} AS INTEGER)"
DATE_FUNCS: dict[str, tuple[str, str]] = {
    "CALENDAR_YEAR": ("CAST(substr({0}, 1, 4) AS INTEGER)", "int"),
    "FISCAL_YEAR": ("CAST(substr({0}, 1, 4) AS INTEGER)", "int"),
    "CALENDAR_MONTH": ("CAST(substr({0}, 6, 2) AS INTEGER)", "int"),
    "FISCAL_MONTH": ("CAST(substr({0}, 6, 2) AS INTEGER)", "int"),
    "CALENDAR_QUARTER": ("((CAST(substr({0}, 6, 2) AS INTEGER) + 2) / 3)", "int"),
    "FISCAL_QUARTER": ("((CAST(substr({0}, 6, 2) AS INTEGER) + 2) / 3)", "int"),
    "DAY_IN_MONTH": ("CAST(substr({0}, 9, 2) AS INTEGER)", "int"),
    "DAY_IN_WEEK": ("(CAST(strftime('%w', substr({0}, 1, 10)) AS INTEGER) + 1)", "int"),
    "DAY_IN_YEAR": ("CAST(strftime('%j', substr({0}, 1, 10)) AS INTEGER)", "int"),
    "WEEK_IN_YEAR": ("((CAST(strftime('%j', substr({0}, 1, 10)) AS INTEGER) - 1) / 7 + 1)", "int"),
    "WEEK_IN_MONTH": ("((CAST(substr({0}, 9, 2) AS INTEGER) - 1) / 7 + 1)", "int"),
    "HOUR_IN_DAY": ("CAST(substr({0}, 12, 2) AS INTEGER)", "int"),
    "DAY_ONLY": ("substr({0}, 1, 10)", "date"),
}
_SOAP_TYPES = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "dateTime"}  # fmt: skip
_WSDL = "Please reference your WSDL or the describe call for the appropriate names."


def error_at(text: str, row: int, col: int, code: str, detail: str) -> SoqlError:
    """A :class:`SoqlError` with Salesforce's positioned message."""
    return SoqlError(code, format_error(text, row, col, detail))


def no_such_column(text: str, path: Any, name: str, entity: str) -> SoqlError:
    detail = (
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
        f"field, be sure to append the '__c' after the custom field name. {_WSDL}"
    )
    return error_at(text, path.row, path.col, "INVALID_FIELD", detail)


def bad_relationship(text: str, path: Any, rel: str) -> SoqlError:
    detail = (
        f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a "
        f"custom relationship, be sure to append the '__r' after the custom relationship name. "
        f"{_WSDL}"
    )
    return error_at(text, path.row, path.col, "INVALID_FIELD", detail)


@dataclass
class Link:
    """One parent hop of a path: key in the record, type (None: polymorphic), parent id SQL."""

    name: str
    type_name: str | None
    id_expr: str


@dataclass
class Resolved:
    field: Any  # schema.Field
    obj: Any  # schema.SObject owning the field
    alias: str
    expr: str
    chain: list[Link]


def resolve(
    text: str,
    scope: Any,
    path: FieldPath,
    from_alias: str | None,
    base: tuple[Any, str, tuple[str, ...]] | None = None,
) -> Resolved:
    """Resolve a field path, adding the LEFT JOINs it needs to ``scope``."""
    from .schema import COMPOUND_TYPES, Field, get_sobject

    parts = list(path.parts)
    key: tuple[str, ...]
    if base is None:
        obj, alias, key = scope.sobj, scope.root, ()
        if len(parts) > 1:
            first = parts[0].lower()
            if (from_alias and first == from_alias.lower()) or (
                first == obj.name.lower() and obj.relationship(parts[0]) is None
            ):
                parts = parts[1:]
    else:
        obj, alias, key = base
    chain: list[Link] = []
    for i, rel in enumerate(parts[:-1]):
        f = obj.relationship(rel)
        if f is None:
            raise bad_relationship(text, path, rel)
        rel_name = f.relationship_name
        if f.polymorphic_foreign_key:
            if i != len(parts) - 2:
                raise bad_relationship(text, path, parts[i + 1])
            name = parts[-1]
            fk_expr = f'{alias}."{f.name}"'
            chain.append(Link(rel_name, None, fk_expr))
            if name.lower() == "type":
                # The polymorphic "Name" entity's Type is the referenced object's name.
                cases = " ".join(
                    f"WHEN '{o.key_prefix}' THEN '{o.name}'"
                    for o in map(get_sobject, f.reference_to)
                    if o is not None
                )
                expr = f"CASE substr({fk_expr}, 1, 3) {cases} END"
                return Resolved(Field("Type", "Type", "picklist"), obj, alias, expr, chain)
            exprs: list[str] = []
            found = None
            for t in f.reference_to:
                tobj = get_sobject(t)
                tf = tobj.field(name) if tobj is not None else None
                if tobj is None or tf is None or tf.type in COMPOUND_TYPES:
                    continue
                a = scope.join((*key, rel_name.lower(), t.lower()), alias, f.name, tobj.name)
                exprs.append(f'{a}."{tf.name}"')
                found = found or tf
            if found is None:
                raise no_such_column(text, path, name, "Name")
            expr = exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"
            return Resolved(found, obj, alias, expr, chain)
        target = get_sobject(f.reference_to[0])
        if target is None:
            raise bad_relationship(text, path, rel)
        key = (*key, rel_name.lower())
        alias = scope.join(key, alias, f.name, target.name)
        chain.append(Link(rel_name, target.name, f'{alias}."Id"'))
        obj = target
    fld = obj.field(parts[-1])
    if fld is None:
        raise no_such_column(text, path, parts[-1], obj.name)
    return Resolved(fld, obj, alias, f'{alias}."{fld.name}"', chain)


def func_sql(
    text: str,
    scope: Any,
    expr: FieldPath | FuncCall,
    from_alias: str | None,
    resolver: Callable[..., Resolved] = resolve,
) -> tuple[str, str, bool, Resolved | None]:
    """SQL for a field or function: (sql, result type, is aggregate, resolved field)."""
    if isinstance(expr, FieldPath):
        res = resolver(text, scope, expr, from_alias)
        return res.expr, res.field.type, False, res
    name = expr.name
    if name == "COUNT" and not expr.args:
        return "COUNT(*)", "int", True, None
    if not expr.args:
        raise error_at(text, expr.row, expr.col, "MALFORMED_QUERY", "unexpected token: ')'")
    res = resolver(text, scope, expr.args[0], from_alias)
    e, ftype = res.expr, res.field.type
    if name in AGGREGATES:
        if name in ("SUM", "AVG") and ftype not in NUMERIC:
            detail = f"field {res.field.name} does not support aggregate operator {name}"
            raise error_at(text, expr.row, expr.col, "MALFORMED_QUERY", detail)
        if name == "COUNT":
            return f"COUNT({e})", "int", True, res
        if name == "COUNT_DISTINCT":
            return f"COUNT(DISTINCT {e})", "int", True, res
        if name == "AVG":
            return f"AVG({e})", "double", True, res
        return f"{name}({e})", ftype, True, res
    if name in DATE_FUNCS:
        if ftype not in ("date", "datetime"):
            detail = f"Invalid date function {expr.raw_name} on field {res.field.name}"
            raise error_at(text, expr.row, expr.col, "MALFORMED_QUERY", detail)
        template, out_type = DATE_FUNCS[name]
        return template.format(e), out_type, False, None
    if name in PASSTHROUGH:
        return e, ftype, False, res
    raise error_at(
        text, expr.row, expr.col, "MALFORMED_QUERY", f"unexpected token: '{expr.raw_name}'"
    )


def id18(value: str) -> str:
    """The 18-character case-safe form of a 15-character id."""
    if len(value) != 15:
        return value
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for j, ch in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << j
        suffix += alphabet[bits]
    return value + suffix


class WhereCompiler:
    """Translate WHERE / HAVING conditions and ORDER BY items into SQLite SQL + parameters."""

    def __init__(
        self,
        text: str,
        scope: Any,
        from_alias: str | None,
        *,
        resolver: Callable[..., Resolved] = resolve,
        include_deleted: bool = False,
    ) -> None:
        self.text = text
        self.scope = scope
        self.from_alias = from_alias
        self.resolver = resolver
        self.params: list[Any] = []
        self.where_param_count = 0
        self._semi = 0

    def condition(self, cond: Any, *, having: bool = False) -> str:
        sql = self._cond(cond, having)
        if not having:
            self.where_param_count = len(self.params)
        return sql

    def _cond(self, cond: Any, having: bool) -> str:
        if isinstance(cond, AndOr):
            return "(" + f" {cond.op} ".join(self._cond(c, having) for c in cond.items) + ")"
        if isinstance(cond, Not):
            return f"NOT COALESCE(({self._cond(cond.item, having)}), 0)"
        return self._compare(cond, having)

    def _type_error(self, lit: Literal, name: str, ftype: str) -> SoqlError:
        soap = _SOAP_TYPES.get(ftype, "string")
        quoted = "be enclosed in quotes" if soap == "string" else "not be enclosed in quotes"
        detail = f"value of filter criterion for field '{name}' must be of type {soap} and should {quoted}"
        t = lit.token
        return error_at(self.text, t.row, t.col, "INVALID_FIELD", detail)

    def _coerce(self, lit: Literal, ftype: str, name: str) -> Any:
        kind = lit.kind
        if kind == "null":
            return None
        if ftype in IDS:
            if kind != "string":
                raise self._type_error(lit, name, "string")
            v = str(lit.value)
            if v == "":
                return None
            if len(v) not in (15, 18) or not v.isalnum():
                t = lit.token
                raise error_at(
                    self.text,
                    t.row,
                    t.col,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid ID field: {v}",
                )
            return id18(v)
        if ftype in STRINGY:
            if kind != "string":
                raise self._type_error(lit, name, "string")
            return lit.value
        if ftype == "boolean":
            if kind != "boolean":
                raise self._type_error(lit, name, ftype)
            return 1 if lit.value else 0
        if ftype in NUMERIC:
            if kind != "number":
                raise self._type_error(lit, name, ftype)
            return lit.value
        if ftype == "date":
            if kind != "date":
                raise self._type_error(lit, name, ftype)
            return lit.value
        if ftype == "datetime":
            if kind != "datetime":
                raise self._type_error(lit, name, ftype)
            return datetime_literal_to_storage(str(lit.value))
        return lit.value

    def _compare(self, c: Compare, having: bool) -> str:
        e, ftype, is_agg, res = func_sql(
            self.text, self.scope, c.lhs, self.from_alias, self.resolver
        )
        if is_agg and not having:
            t = c.token
            raise error_at(self.text, c.lhs.row, c.lhs.col, "MALFORMED_QUERY",
                           f"unexpected token: '{getattr(c.lhs, 'raw_name', t.value)}'")  # fmt: skip
        name = res.field.name if res is not None else getattr(c.lhs, "raw_name", "")
        if res is not None and res.field.type == "textarea" and res.field.length > 255:
            detail = f"field '{name}' can not be filtered in query call"
            raise error_at(self.text, c.lhs.row, c.lhs.col, "INVALID_FIELD", detail)
        op = c.op
        nocase = ftype in STRINGY
        lhs = f"{e} COLLATE NOCASE" if nocase else e
        if isinstance(c.value, SubQuery):
            return self._semi_join(e, op, c)
        if op in ("IN", "NOT IN"):
            assert isinstance(c.value, list)  # noqa: S101 - the parser guarantees it
            values = [self._coerce(lit, ftype, name) for lit in c.value]
            has_null = any(v is None for v in values)
            values = [v for v in values if v is not None]
            self.params.extend(values)
            inlist = (
                f"{lhs} {op} ({', '.join('?' for _ in values)})"
                if values
                else ("0" if op == "IN" else "1")
            )
            if op == "IN":
                return f"({inlist} OR {e} IS NULL)" if has_null else inlist
            if has_null:
                return f"({e} IS NOT NULL AND {inlist})"
            return f"({e} IS NULL OR {inlist})"
        if op in ("INCLUDES", "EXCLUDES"):
            if ftype != "multipicklist":
                t = c.token
                raise error_at(self.text, t.row, t.col, "INVALID_QUERY_FILTER_OPERATOR",
                               "includes or excludes operator only valid on multipicklist field")  # fmt: skip
            assert isinstance(c.value, list)  # noqa: S101
            alts = []
            for lit in c.value:
                v = self._coerce(lit, ftype, name)
                parts = [p.strip() for p in str(v or "").split(";") if p.strip()]
                conds = []
                for p in parts:
                    escaped = p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    self.params.append(f"%;{escaped};%")
                    conds.append(f"(';' || {e} || ';') LIKE ? ESCAPE '\\'")
                alts.append("(" + " AND ".join(conds or ["0"]) + ")")
            incl = f"({e} IS NOT NULL AND (" + " OR ".join(alts) + "))"
            return incl if op == "INCLUDES" else f"NOT {incl}"
        assert isinstance(c.value, Literal)  # noqa: S101
        lit = c.value
        if op == "LIKE":
            if ftype not in STRINGY and ftype not in IDS:
                t = c.token
                raise error_at(self.text, t.row, t.col, "INVALID_QUERY_FILTER_OPERATOR",
                               f"invalid operator on {ftype} field: LIKE")  # fmt: skip
            if lit.kind != "string":
                raise self._type_error(lit, name, "string")
            self.params.append(lit.like_value)
            return f"{e} LIKE ? ESCAPE '\\'"
        if lit.kind == "null":
            if op == "=":
                return f"{e} IS NULL"
            if op == "!=":
                return f"{e} IS NOT NULL"
            return "0"
        if lit.kind == "dateliteral":
            return self._date_range(e, op, lit, ftype, name)
        value = self._coerce(lit, ftype, name)
        if value is None:  # '' on an id field is null
            return f"{e} IS NULL" if op == "=" else f"{e} IS NOT NULL"
        self.params.append(value)
        if op == "!=":
            return f"({e} IS NULL OR {lhs} != ?)"
        return f"{lhs} {op} ?"

    def _date_range(self, e: str, op: str, lit: Literal, ftype: str, name: str) -> str:
        if ftype not in ("date", "datetime"):
            raise self._type_error(lit, name, ftype)
        start_d, end_d = date_literal_range(str(lit.value), lit.n)
        if ftype == "datetime":
            start, end = day_start(start_d), day_start(end_d)
        else:
            start, end = start_d.isoformat(), end_d.isoformat()
        if op == "=":
            self.params += [start, end]
            return f"({e} >= ? AND {e} < ?)"
        if op == "!=":
            self.params += [start, end]
            return f"({e} IS NULL OR {e} < ? OR {e} >= ?)"
        bound, sql_op = {
            "<": (start, "<"),
            "<=": (end, "<"),
            ">": (end, ">="),
            ">=": (start, ">="),
        }[op]
        self.params.append(bound)
        return f"{e} {sql_op} ?"

    def _semi_join(self, e: str, op: str, c: Compare) -> str:
        from .schema import get_sobject

        if op not in ("IN", "NOT IN"):
            t = c.token
            raise error_at(
                self.text, t.row, t.col, "MALFORMED_QUERY", f"unexpected token: '{t.value}'"
            )
        assert isinstance(c.value, SubQuery)  # noqa: S101
        sub = c.value.query
        sobj = get_sobject(sub.from_name)
        if sobj is None:
            t = sub.from_token
            detail = (
                f"sObject type '{t.value}' is not supported. If you are attempting to use a custom "
                f"object, be sure to append the '__c' after the entity name. {_WSDL}"
            )
            raise error_at(self.text, t.row, t.col, "INVALID_TYPE", detail)
        if (
            len(sub.select) != 1
            or not isinstance(sub.select[0], SelectField)
            or not isinstance(sub.select[0].expr, FieldPath)
        ):
            raise error_at(self.text, c.value.row, c.value.col, "MALFORMED_QUERY",
                           "unexpected token: 'SELECT'")  # fmt: skip
        self._semi += 1
        scope = type(self.scope)(sobj, f"s{self._semi}_")
        res = self.resolver(self.text, scope, sub.select[0].expr, sub.from_alias)
        if res.field.type not in IDS:
            p = sub.select[0].expr
            raise error_at(self.text, p.row, p.col, "MALFORMED_QUERY",
                           "semi join sub selects can only query id fields")  # fmt: skip
        inner = WhereCompiler(self.text, scope, sub.from_alias, resolver=self.resolver)
        inner._semi = self._semi * 10
        conds = [f"{scope.root}.IsDeleted = 0", f"{res.expr} IS NOT NULL"]
        if sub.where is not None:
            conds.append(inner.condition(sub.where))
        self.params.extend(inner.params)
        joins = " ".join(scope.joins)
        where = " AND ".join(conds)
        # Identifiers come from the schema and values are bound parameters: no injection.
        select = f'SELECT {res.expr} FROM "{sobj.name}" {scope.root} {joins} WHERE {where}'  # noqa: S608
        if op == "IN":
            return f"{e} IN ({select})"
        return f"({e} IS NULL OR {e} NOT IN ({select}))"

    def order_item(self, item: OrderItem, *, aggregate: bool = False) -> str:
        e, ftype, is_agg, _res = func_sql(
            self.text, self.scope, item.expr, self.from_alias, self.resolver
        )
        ex = item.expr
        if is_agg and not aggregate:
            raise error_at(self.text, ex.row, ex.col, "MALFORMED_QUERY",
                           f"unexpected token: '{getattr(ex, 'raw_name', '')}'")  # fmt: skip
        fld = _res.field if _res is not None else None
        if fld is not None and (
            fld.type == "multipicklist" or (fld.type == "textarea" and fld.length > 255)
        ):
            detail = f"field '{fld.name}' can not be sorted in a query call"
            raise error_at(self.text, ex.row, ex.col, "INVALID_FIELD", detail)
        collate = " COLLATE NOCASE" if ftype in STRINGY else ""
        nulls_last = item.descending if item.nulls_last is None else item.nulls_last
        direction = "DESC" if item.descending else "ASC"
        return f"{e}{collate} {direction} NULLS {'LAST' if nulls_last else 'FIRST'}"
