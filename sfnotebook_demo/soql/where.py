"""WHERE / HAVING conditions and ORDER BY items of the demo SOQL engine, translated to SQLite.

SOQL semantics kept: ``!=`` and NOT IN also match nulls, strings compare case-insensitively,
15-character ids match their 18-character form, date literals cover whole (UTC) days, and
literal types are checked against field types with Salesforce's messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfnotebook_demo.soql.dates import date_literal_range, datetime_literal_to_storage, day_start
from sfnotebook_demo.soql.parser import (
    AndOr,
    Compare,
    FieldPath,
    Literal,
    Not,
    OrderItem,
    SelectField,
    SoqlError,
    SubQuery,
)
from sfnotebook_demo.soql.resolve import (
    IDS,
    NUMERIC,
    STRINGY,
    Resolved,
    error_at,
    func_sql,
    id18,
    invalid_type,
    resolve,
)

__all__ = ["WhereCompiler"]

_SOAP_TYPES = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "dateTime"}  # fmt: skip


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
            assert isinstance(c.value, list)  # noqa: S101 - the parser guarantees it; narrows the type
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
        assert isinstance(c.value, Literal)  # noqa: S101 - the parser guarantees it; narrows the type
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
        from sfnotebook_demo.data.schema import get_sobject

        if op not in ("IN", "NOT IN"):
            t = c.token
            raise error_at(
                self.text, t.row, t.col, "MALFORMED_QUERY", f"unexpected token: '{t.value}'"
            )
        assert isinstance(c.value, SubQuery)  # noqa: S101 - the parser guarantees it; narrows the type
        sub = c.value.query
        sobj = get_sobject(sub.from_name)
        if sobj is None:
            t = sub.from_token
            raise error_at(self.text, t.row, t.col, "INVALID_TYPE", invalid_type(t.value))
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
        select = f'SELECT {res.expr} FROM "{sobj.name}" {scope.root} {joins} WHERE {where}'  # noqa: S608 - schema identifiers; values bound
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
