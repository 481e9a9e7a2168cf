"""The demo org's SOQL engine: compile SOQL against the schema into one SQLite statement.

Public entry points: :func:`compile_soql` (text -> :class:`CompiledQuery`, raising
:class:`SoqlError` with Salesforce's error codes and messages). The ``/query``, ``/queryAll``
and query-more routes that serve it are :mod:`sfnotebook_demo.soql.endpoint`.

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

from sfnotebook_demo.data.model import COMPOUND_TYPES, SObject
from sfnotebook_demo.data.schema import get_sobject
from sfnotebook_demo.soql.aggregate import compile_aggregate
from sfnotebook_demo.soql.execute import ChildNode, Plan
from sfnotebook_demo.soql.parser import (
    FieldPath,
    FuncCall,
    Query,
    SelectField,
    SoqlError,
    SubQuery,
    TypeOf,
    parse,
)
from sfnotebook_demo.soql.resolve import AGGREGATES, PASSTHROUGH, error_at, invalid_type, resolve
from sfnotebook_demo.soql.select_list import RowBuilder, Scope, add_typeof, duplicate_field
from sfnotebook_demo.soql.where import WhereCompiler

__all__ = ["CompiledQuery", "SoqlError", "compile_soql"]

MAX_OFFSET = 2000


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

    def flat_sql(
        self, *, include_deleted: bool = False, rowids: tuple[int, int] | None = None
    ) -> tuple[str, list[Any]] | None:
        """SQL and parameters giving :meth:`rows` (``None``: some column needs Python).

        ``rowids`` (inclusive) restricts the result to root rows in that rowid range; when
        :attr:`splittable`, consecutive ranges give consecutive slices of the result, so
        slices can be produced in parallel (other connections, other processes).
        """
        return self.plan.flat_sql(include_deleted=include_deleted, rowids=rowids)

    @property
    def splittable(self) -> bool:
        """True when the result is in rowid order of the queried object, with no LIMIT."""
        return self.plan.splittable

    def rowid_bounds(self, conn: sqlite3.Connection) -> tuple[int, int] | None:
        """Smallest and largest rowid of the queried object's table (``None``: empty)."""
        return self.plan.rowid_bounds(conn)

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
        raise error_at(text, t.row, t.col, "INVALID_TYPE", invalid_type(t.value))
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


def _uses_compound(query: Query, sobj: SObject) -> bool:
    for item in query.select:
        if isinstance(item, SelectField) and isinstance(item.expr, FieldPath):
            try:
                res = resolve(query.text, Scope(sobj, "u"), item.expr, query.from_alias)
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
    scope = Scope(sobj, prefix)
    where = WhereCompiler(text, scope, query.from_alias, resolver=resolve)
    where_sql = where.condition(query.where) if query.where is not None else None
    items = _expand_fields(query, sobj)
    aggregate = bool(query.group_by) or any(
        isinstance(i, SelectField) and _is_agg_call(i.expr) for i in items
    )
    if aggregate:
        return compile_aggregate(query, sobj, scope, where, where_sql, items)
    scope.col(f'{scope.root}."Id"')
    scope.col(f"{scope.root}.rowid")
    fk_index = None
    if child_fk is not None:
        fk_index = scope.col(f'{scope.root}."{child_fk}"')
    builder = RowBuilder(text, scope)
    children: list[ChildNode] = []
    for item in items:
        if isinstance(item, SubQuery):
            node = _compile_child(item, sobj, len(children), child_fk is not None, text)
            if any(n.key == node.key for n in builder.nodes):
                raise duplicate_field(text, FieldPath([node.key], item.row, item.col), node.key)
            builder.nodes.append(node)
            children.append(node)
        elif isinstance(item, TypeOf):
            add_typeof(builder, item, scope, query)
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
