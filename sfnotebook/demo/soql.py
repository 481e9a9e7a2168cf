"""The demo org's SOQL engine: compile SOQL against the schema into one SQLite statement.

Public entry points: :func:`compile_soql` (text -> :class:`CompiledQuery`, raising
:class:`SoqlError` with Salesforce's error codes and messages) and :func:`register`, which adds
``/query``, ``/queryAll`` and query-more routes (see :mod:`sfnotebook.demo.query_endpoint`).

Resolution follows SOQL: names are case-insensitive and come back in the schema's case; parent
paths (``Account.Owner.Name``) become LEFT JOINs; polymorphic lookups (``What``) join every
target; child subqueries run once per page of parents; aggregates run as SQL ``GROUP BY``.

Supported: field lists with parent paths (any depth), child subqueries (WHERE, ORDER BY,
LIMIT, OFFSET), ``TYPEOF``, compound address/location fields, ``FIELDS(ALL|STANDARD|CUSTOM)``
(ALL and CUSTOM need ``LIMIT`` <= 200), ``toLabel``/``convertCurrency``/``FORMAT`` (values
unchanged); WHERE with AND/OR/NOT (mixing AND and OR without parentheses is refused, as in
SOQL), comparisons, LIKE, IN/NOT IN (lists and semi-joins), INCLUDES/EXCLUDES, null, date and
datetime literals, date literals (evaluated on the current UTC day; on datetime fields they
cover whole UTC days) and date functions (CALENDAR_YEAR, DAY_ONLY, ...); ORDER BY with
ASC/DESC and NULLS FIRST/LAST (defaults: ASC NULLS FIRST, DESC NULLS LAST; strings compare
case-insensitively); LIMIT; OFFSET up to 2,000; GROUP BY, HAVING, COUNT(), COUNT(field),
COUNT_DISTINCT, SUM, AVG, MIN, MAX with aliases and ``exprN`` names.

SOQL semantics kept on purpose: ``!=`` and NOT IN also match nulls; string comparisons ignore
case; 15-character ids match their 18-character form; grouping on double, currency, percent,
datetime and long text fields is refused (``can not be grouped``).

Not supported: GROUP BY ROLLUP/CUBE, WITH, USING SCOPE filters (parsed, ignored), currency
literals (``USD500``), time literals, relationship depth checks (more than 5 levels pass),
the polymorphic ``Name`` entity beyond the fields its targets share (plus ``Type``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .schema import COMPOUND_TYPES, SCHEMA, Field, SObject, get_sobject
from .soql_exec import (
    AGGREGATES,
    PASSTHROUGH,
    AggNode,
    ChildNode,
    CompoundNode,
    Node,
    ParentNode,
    Plan,
    Resolved,
    ScalarNode,
    TypeOfNode,
    WhereCompiler,
    error_at,
    func_sql,
    resolve,
)
from .soql_parser import FieldPath, FuncCall, Query, SelectField, SoqlError, SubQuery, TypeOf, parse

__all__ = ["CompiledQuery", "SoqlError", "compile_soql", "register"]

MAX_OFFSET = 2000
# Field types SOQL can GROUP BY (no double/currency/percent, datetime, long text).
_GROUPABLE = frozenset(
    {"id", "reference", "string", "picklist", "boolean", "date", "int", "email", "phone", "url",
     "combobox"}
)  # fmt: skip
_ADDRESS_KEYS = ("city", "country", "countryCode", "geocodeAccuracy", "latitude", "longitude",
                 "postalCode", "state", "stateCode", "street")  # fmt: skip
PREFIXES = {o.key_prefix: o.name for o in SCHEMA.values()}


def _duplicate(text: str, path: FieldPath, name: str) -> SoqlError:
    return error_at(
        text, path.row, path.col, "MALFORMED_QUERY", f"duplicate field selected: {name}"
    )


class _Builder:
    """Collects the SELECT columns and output nodes of one statement."""

    def __init__(self, text: str, scope: Any) -> None:
        self.text = text
        self.scope = scope
        self.nodes: list[Node] = []
        self.flat_columns: list[str] = []
        self.flat_types: list[str] = []
        self.flat_getters: list[Any] = []

    def _container(self, res: Resolved, start: list[Node] | None = None) -> list[Node]:
        nodes = self.nodes if start is None else start
        for link in res.chain:
            found = next(
                (n for n in nodes if isinstance(n, ParentNode) and n.key == link.name), None
            )
            if found is None:
                found = ParentNode(
                    link.name, self.scope.col(link.id_expr), link.type_name, prefixes=PREFIXES
                )
                nodes.append(found)
            nodes = found.children
        return nodes

    def add_field(self, path: FieldPath, res: Resolved, nodes: list[Node] | None = None) -> None:
        target = self._container(res, nodes)
        fld = res.field
        if any(n.key == fld.name for n in target):
            raise _duplicate(self.text, path, path.text)
        prefix = "".join(link.name + "." for link in res.chain)
        if fld.type in COMPOUND_TYPES:
            parts = _compound_parts(res.obj, fld)
            spec: list[tuple[str, int | None, str]] = []
            for key, comp in parts:
                idx = self.scope.col(f'{res.alias}."{comp.name}"') if comp else None
                spec.append((key, idx, comp.type if comp else "string"))
                if nodes is None:  # TYPEOF branches have their own flat columns
                    self.flat_columns.append(f"{prefix}{fld.name}.{key}")
                    self.flat_types.append(comp.type if comp else "string")
                    self.flat_getters.append(idx)
            target.append(CompoundNode(fld.name, spec))
            return
        idx = self.scope.col(res.expr)
        target.append(ScalarNode(fld.name, idx, fld.type))
        if nodes is None:
            self.flat_columns.append(prefix + fld.name)
            self.flat_types.append(fld.type)
            self.flat_getters.append(idx)


def _compound_parts(obj: SObject, fld: Field) -> list[tuple[str, Field | None]]:
    comps = obj.components(fld.name)
    if fld.type == "location":
        by_key = {}
        for c in comps:
            low = c.name.lower()
            by_key["latitude" if "latitude" in low else "longitude"] = c
        return [(k, by_key.get(k)) for k in ("latitude", "longitude")]
    stem = fld.name[: -len("Address")] if fld.name.endswith("Address") else fld.name
    by_key = {}
    for c in comps:
        rest = c.name[len(stem) :] if c.name.startswith(stem) else c.name
        by_key[rest[:1].lower() + rest[1:]] = c
    return [(k, by_key.get(k)) for k in _ADDRESS_KEYS]


class _Scope:
    """Table aliases and SELECT columns of one SQL statement."""

    def __init__(self, sobj: SObject, prefix: str) -> None:
        self.sobj = sobj
        self.prefix = prefix
        self.root = f"{prefix}0"
        self.joins: list[str] = []
        self.aliases: dict[tuple[str, ...], str] = {}
        self.select: list[str] = []
        self._index: dict[str, int] = {}

    def col(self, expr: str) -> int:
        if expr not in self._index:
            self._index[expr] = len(self.select)
            self.select.append(expr)
        return self._index[expr]

    def join(self, key: tuple[str, ...], parent_alias: str, fk: str, table: str) -> str:
        alias = self.aliases.get(key)
        if alias is None:
            alias = f"{self.prefix}{len(self.aliases) + 1}"
            self.aliases[key] = alias
            self.joins.append(f'LEFT JOIN "{table}" {alias} ON {alias}.Id = {parent_alias}."{fk}"')
        return alias


@dataclass
class CompiledQuery:
    """A compiled SOQL query, ready to run on a demo database connection.

    Attributes
    ----------
    object_name
        The queried object, in the schema's case.
    flat_columns, flat_types
        Dotted column headers in SELECT order (``Account.Owner.Name``) and their Salesforce
        field types, as Bulk API 2.0 CSV results have them.
    """

    text: str
    plan: Plan
    object_name: str
    is_aggregate: bool
    has_subqueries: bool
    has_typeof: bool
    uses_compound: bool
    has_offset: bool
    has_group_by: bool
    is_count: bool

    @property
    def flat_columns(self) -> list[str]:
        return self.plan.flat_columns

    @property
    def flat_types(self) -> list[str]:
        return self.plan.flat_types

    def records(
        self,
        conn: sqlite3.Connection,
        *,
        include_deleted: bool = False,
        api_version: str = "68.0",
    ) -> Iterator[dict[str, Any]]:
        """Every record as Salesforce REST JSON (``attributes``, nested parents, children)."""
        return self.plan.records(conn, include_deleted=include_deleted, api_version=api_version)

    def rows(self, conn: sqlite3.Connection, *, include_deleted: bool = False) -> Iterator[tuple]:
        """Storage values in :attr:`flat_columns` order (one SQL statement with LEFT JOINs)."""
        return self.plan.flat_rows(conn, include_deleted=include_deleted)

    def count(self, conn: sqlite3.Connection, *, include_deleted: bool = False) -> int:
        """The number of rows the query returns (``totalSize``)."""
        if self.is_aggregate and not self.is_count:
            return len(list(self.plan.iter_sql_rows(conn, include_deleted=include_deleted)))
        return self.plan.count(conn, include_deleted=include_deleted)


def compile_soql(text: str) -> CompiledQuery:
    """Compile SOQL text against the demo schema.

    Parameters
    ----------
    text
        The SOQL query.

    Returns
    -------
    CompiledQuery

    Raises
    ------
    SoqlError
        ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE`` (positioned messages as
        Salesforce writes them) or ``NUMBER_OUTSIDE_VALID_RANGE`` (OFFSET over 2,000).

    Examples
    --------
    >>> q = compile_soql("SELECT Id, Account.Name FROM Contact LIMIT 5")
    >>> q.flat_columns
    ['Id', 'Account.Name']
    """
    query = parse(text)
    sobj = get_sobject(query.from_name)
    if sobj is None:
        t = query.from_token
        raise error_at(text, t.row, t.col, "INVALID_TYPE", _invalid_type(t.value))
    plan = _compile(query, sobj, "t")
    return CompiledQuery(
        text=text,
        plan=plan,
        object_name=sobj.name,
        is_aggregate=plan.is_aggregate or plan.count_only,
        has_subqueries=bool(plan.children),
        has_typeof=any(isinstance(i, TypeOf) for i in query.select),
        uses_compound=_uses_compound(query, sobj),
        has_offset=query.offset is not None,
        has_group_by=bool(query.group_by),
        is_count=plan.count_only,
    )


def _invalid_type(name: str) -> str:
    return (
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


def _uses_compound(query: Query, sobj: SObject) -> bool:
    for item in query.select:
        if isinstance(item, SelectField) and isinstance(item.expr, FieldPath):
            try:
                res = resolve(query.text, _Scope(sobj, "u"), item.expr, query.from_alias)
            except SoqlError:
                continue
            if res.field.type in COMPOUND_TYPES:
                return True
    return False


def _is_agg_call(expr: FieldPath | FuncCall) -> bool:
    return isinstance(expr, FuncCall) and expr.name in AGGREGATES


def _compile(
    query: Query,
    sobj: SObject,
    prefix: str,
    *,
    child_fk: str | None = None,
) -> Plan:
    text = query.text
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    scope = _Scope(sobj, prefix)
    where = WhereCompiler(text, scope, query.from_alias, resolver=resolve)
    where_sql = where.condition(query.where) if query.where is not None else None
    items = _expand_fields(query, sobj)
    aggregate = bool(query.group_by) or any(
        isinstance(i, SelectField) and _is_agg_call(i.expr) for i in items
    )
    if aggregate:
        return _compile_aggregate(query, sobj, scope, where, where_sql, items)
    scope.col(f'{scope.root}."Id"')
    scope.col(f"{scope.root}.rowid")
    fk_index = None
    if child_fk is not None:
        fk_index = scope.col(f'{scope.root}."{child_fk}"')
    builder = _Builder(text, scope)
    children: list[ChildNode] = []
    for item in items:
        if isinstance(item, SubQuery):
            node = _compile_child(item, sobj, len(children), child_fk is not None, text)
            if any(n.key == node.key for n in builder.nodes):
                raise _duplicate(text, FieldPath([node.key], item.row, item.col), node.key)
            builder.nodes.append(node)
            children.append(node)
        elif isinstance(item, TypeOf):
            _add_typeof(builder, item, scope, query)
        else:
            expr = item.expr
            if item.alias_token is not None:
                t = item.alias_token
                raise error_at(
                    text, t.row, t.col, "MALFORMED_QUERY", f"unexpected token: '{t.value}'"
                )
            if isinstance(expr, FuncCall):
                if expr.name not in PASSTHROUGH or not expr.args:
                    raise error_at(
                        text, expr.row, expr.col, "MALFORMED_QUERY",
                        f"unexpected token: '{expr.raw_name}'",
                    )  # fmt: skip
                expr = expr.args[0]
            builder.add_field(expr, resolve(text, scope, expr, query.from_alias))
    order = [where.order_item(o) for o in query.order_by]
    plan = Plan(
        object_name=sobj.name,
        root=scope.root,
        select=scope.select,
        joins=scope.joins,
        where=where_sql,
        params=where.params,
        order=order,
        limit=query.limit,
        offset=query.offset,
        nodes=builder.nodes,
        children=children,
        flat_columns=builder.flat_columns,
        flat_types=builder.flat_types,
        flat_getters=builder.flat_getters,
        fk_index=fk_index,
    )
    if child_fk is not None:
        plan.fk_expr = f'{scope.root}."{child_fk}"'
    return plan


def _expand_fields(query: Query, sobj: SObject) -> list[SelectField | TypeOf | SubQuery]:
    """Replace FIELDS(ALL|STANDARD|CUSTOM) by the object's field paths."""
    out: list[SelectField | TypeOf | SubQuery] = []
    for item in query.select:
        if isinstance(item, SelectField) and isinstance(item.expr, FuncCall):
            call = item.expr
            if call.name == "FIELDS":
                kind = call.args[0].parts[0].upper() if call.args else ""
                if kind not in ("ALL", "STANDARD", "CUSTOM"):
                    raise error_at(
                        query.text, call.row, call.col, "MALFORMED_QUERY",
                        f"unexpected token: '{call.args[0].text if call.args else ')'}'",
                    )  # fmt: skip
                if kind != "STANDARD" and (query.limit is None or query.limit > 200):
                    raise error_at(
                        query.text, call.row, call.col, "MALFORMED_QUERY",
                        "The SOQL FIELDS function must have a LIMIT of at most 200",
                    )  # fmt: skip
                for f in sobj.fields:
                    if (kind == "CUSTOM" and not f.custom) or (kind == "STANDARD" and f.custom):
                        continue
                    out.append(SelectField(FieldPath([f.name], call.row, call.col)))
                continue
        out.append(item)
    return out


def _compile_child(item: SubQuery, parent: SObject, n: int, nested: bool, text: str) -> ChildNode:
    sub = item.query
    if nested:
        raise error_at(text, item.row, item.col, "MALFORMED_QUERY", "unexpected token: '('")
    rel = parent.child(sub.from_name)
    if rel is None:
        t = sub.from_token
        detail = (
            f"Didn't understand relationship '{t.value}' in FROM part of query call. If you are "
            "attempting to use a custom relationship, be sure to append the '__r' after the "
            "custom relationship name. Please reference your WSDL or the describe call for the "
            "appropriate names."
        )
        raise error_at(text, t.row, t.col, "INVALID_TYPE", detail)
    child_obj = get_sobject(rel.child_object)
    assert child_obj is not None  # noqa: S101 - schema invariant
    if sub.group_by or any(isinstance(i, SelectField) and _is_agg_call(i.expr) for i in sub.select):
        t = sub.select_token or sub.from_token
        raise error_at(text, t.row, t.col, "MALFORMED_QUERY", "unexpected token: 'GROUP'")
    plan = _compile(sub, child_obj, f"c{n}_", child_fk=rel.field)
    assert rel.name is not None  # noqa: S101 - child() only returns named relationships
    return ChildNode(rel.name, plan, rel.field)


def _add_typeof(builder: _Builder, item: TypeOf, scope: _Scope, query: Query) -> None:
    text = query.text
    fld = scope.sobj.relationship(item.relationship)
    if fld is None or not fld.polymorphic_foreign_key:
        raise error_at(
            text, item.row, item.col, "MALFORMED_QUERY",
            f"TYPEOF can only be used on a polymorphic relationship: '{item.relationship}'",
        )  # fmt: skip
    assert fld.relationship_name is not None  # noqa: S101 - relationship() guarantees it
    key = fld.relationship_name
    if any(n.key == key for n in builder.nodes):
        raise _duplicate(text, FieldPath([key], item.row, item.col), key)
    id_index = scope.col(f'{scope.root}."{fld.name}"')
    branches: dict[str, list[Node]] = {}
    flat: dict[str, dict[str, int]] = {}
    flat_type: dict[str, str] = {}
    for type_name, paths, tok in item.whens:
        target = get_sobject(type_name)
        if target is None or target.name not in fld.reference_to:
            raise error_at(text, tok.row, tok.col, "INVALID_TYPE", _invalid_type(type_name))
        alias = scope.join((key.lower(), target.name.lower()), scope.root, fld.name, target.name)
        nodes: list[Node] = []
        sub_scope_res = []
        for p in paths:
            res = resolve(
                text, scope, p, None, base=(target, alias, (key.lower(), target.name.lower()))
            )
            sub_scope_res.append((p, res))
            builder.add_field(p, res, nodes)
        branches[target.name] = nodes
        for _p, res in sub_scope_res:
            name = _flat_name(res)
            flat.setdefault(name, {})[target.name] = scope.col(res.expr)
            flat_type.setdefault(name, res.field.type)
    else_nodes: list[Node] | None = None
    if item.else_fields is not None:
        else_nodes = []
        for p in item.else_fields:
            res = resolve(text, scope, FieldPath([key, *p.parts], p.row, p.col), None)
            builder.add_field(p, Resolved(res.field, res.obj, res.alias, res.expr, []), else_nodes)
            flat.setdefault(res.field.name, {})["*"] = scope.col(res.expr)
            flat_type.setdefault(res.field.name, res.field.type)
    builder.nodes.append(TypeOfNode(key, id_index, PREFIXES, branches, else_nodes))
    for name, by_type in flat.items():
        builder.flat_columns.append(f"{key}.{name}")
        builder.flat_types.append(flat_type[name])
        builder.flat_getters.append(_typeof_getter(id_index, by_type))


def _flat_name(res: Resolved) -> str:
    return "".join(link.name + "." for link in res.chain) + res.field.name


def _typeof_getter(id_index: int, by_type: dict[str, int]) -> Any:
    def get(row: Any) -> Any:
        pid = row[id_index]
        if pid is None:
            return None
        idx = by_type.get(PREFIXES.get(pid[:3], ""), by_type.get("*"))
        return None if idx is None else row[idx]

    return get


def _compile_aggregate(
    query: Query,
    sobj: SObject,
    scope: _Scope,
    where: WhereCompiler,
    where_sql: str | None,
    items: list[SelectField | TypeOf | SubQuery],
) -> Plan:
    text = query.text
    group_sql: list[str] = []
    group_keys: dict[str, str] = {}  # sql expr -> canonical
    for g in query.group_by:
        expr, ftype, is_agg, res = func_sql(text, scope, g, query.from_alias, resolve)
        if is_agg:
            raise error_at(
                text, g.row, g.col, "MALFORMED_QUERY", "Grouped field should not be aggregated"
            )
        if isinstance(g, FieldPath) and ftype not in _GROUPABLE:
            name = res.field.name if res else g.text
            raise error_at(
                text,
                g.row,
                g.col,
                "INVALID_FIELD",
                f"field '{name}' can not be grouped in a query call",
            )
        group_sql.append(expr)
        group_keys[expr] = ftype
    nodes: list[Node] = []
    flat_columns: list[str] = []
    flat_types: list[str] = []
    getters: list[Any] = []
    expr_n = 0
    count_only = False
    for item in items:
        if not isinstance(item, SelectField):
            row, col = (item.row, item.col)
            raise error_at(text, row, col, "MALFORMED_QUERY", "unexpected token: '('")
        e = item.expr
        if isinstance(e, FuncCall) and e.name == "COUNT" and not e.args:
            if len(items) > 1 or query.group_by:
                raise error_at(text, e.row, e.col, "MALFORMED_QUERY", "unexpected token: 'COUNT'")
            count_only = True
            continue
        expr, ftype, is_agg, res = func_sql(text, scope, e, query.from_alias, resolve)
        if not is_agg and expr not in group_keys:
            name = e.text if isinstance(e, FieldPath) else e.raw_name
            raise error_at(
                text,
                e.row,
                e.col,
                "MALFORMED_QUERY",
                f"Field must be grouped or aggregated: {name}",
            )
        if item.alias:
            key = item.alias
        elif isinstance(e, FieldPath) and res is not None:
            key = res.field.name
        else:
            key = f"expr{expr_n}"
            expr_n += 1
        if any(n.key.lower() == key.lower() for n in nodes):
            raise error_at(text, e.row, e.col, "MALFORMED_QUERY", f"duplicate alias: {key}")
        idx = scope.col(expr)
        digits = None
        if isinstance(e, FuncCall) and e.name == "SUM" and res is not None:
            digits = res.field.scale if ftype in ("double", "currency", "percent") else None
        nodes.append(AggNode(key, idx, ftype, digits))
        flat_columns.append(key)
        flat_types.append(ftype)
        getters.append(idx)
    having_sql = where.condition(query.having, having=True) if query.having is not None else None
    order = [where.order_item(o, aggregate=True) for o in query.order_by]
    plan = Plan(
        object_name=sobj.name,
        root=scope.root,
        select=scope.select or ["COUNT(*)"],
        joins=scope.joins,
        where=where_sql,
        params=where.params[: where.where_param_count],
        order=order,
        limit=query.limit,
        offset=query.offset,
        nodes=nodes,
        is_aggregate=not count_only,
        count_only=count_only,
        group_by=group_sql,
        having=having_sql,
        having_params=where.params[where.where_param_count :],
        flat_columns=flat_columns,
        flat_types=flat_types,
        flat_getters=getters,
    )
    return plan


def register(router: Any, org: Any) -> None:
    """Add the query routes (``/query``, ``/queryAll``, query-more) to the demo server."""
    from .query_endpoint import register as _register

    _register(router, org)
