"""Aggregate queries of the demo SOQL engine: GROUP BY, HAVING, COUNT() and aggregate functions."""

from __future__ import annotations

from typing import Any

from sfnotebook_demo.data.model import SObject
from sfnotebook_demo.soql.execute import Plan
from sfnotebook_demo.soql.nodes import AggNode, Node
from sfnotebook_demo.soql.parser import FieldPath, FuncCall, Query, SelectField, SubQuery, TypeOf
from sfnotebook_demo.soql.resolve import error_at, func_sql, resolve
from sfnotebook_demo.soql.select_list import Scope
from sfnotebook_demo.soql.where import WhereCompiler

__all__ = ["compile_aggregate"]

# Field types SOQL can GROUP BY (no double/currency/percent, datetime, long text).
_GROUPABLE = frozenset(
    {"id", "reference", "string", "picklist", "boolean", "date", "int", "email", "phone", "url",
     "combobox"}
)  # fmt: skip


def compile_aggregate(
    query: Query,
    sobj: SObject,
    scope: Scope,
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
