"""Name resolution for the demo SOQL engine: field paths to SQL expressions and LEFT JOINs.

Also the SOQL type families, the functions SOQL knows (aggregates, date functions,
pass-through functions) and Salesforce's positioned error messages for unknown names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfnotebook_demo.ids import to_18
from sfnotebook_demo.soql.parser import FieldPath, FuncCall, SoqlError, format_error

__all__ = [
    "AGGREGATES",
    "DATE_FUNCS",
    "IDS",
    "NUMERIC",
    "PASSTHROUGH",
    "STRINGY",
    "WSDL_HINT",
    "Link",
    "Resolved",
    "bad_relationship",
    "error_at",
    "func_sql",
    "id18",
    "invalid_type",
    "no_such_column",
    "resolve",
]

STRINGY = frozenset(
    {"string", "picklist", "multipicklist", "textarea", "email", "phone", "url", "combobox",
     "encryptedstring", "time"}
)  # fmt: skip
IDS = frozenset({"id", "reference"})
NUMERIC = frozenset({"int", "double", "currency", "percent"})
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
PASSTHROUGH = frozenset({"TOLABEL", "CONVERTCURRENCY", "FORMAT", "CONVERTTIMEZONE"})
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
WSDL_HINT = "Please reference your WSDL or the describe call for the appropriate names."


def error_at(text: str, row: int, col: int, code: str, detail: str) -> SoqlError:
    """A :class:`SoqlError` with Salesforce's positioned message."""
    return SoqlError(code, format_error(text, row, col, detail))


def invalid_type(name: str) -> str:
    """Salesforce's detail for an unknown object name in FROM."""
    return (
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        f"be sure to append the '__c' after the entity name. {WSDL_HINT}"
    )


def no_such_column(text: str, path: Any, name: str, entity: str) -> SoqlError:
    detail = (
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
        f"field, be sure to append the '__c' after the custom field name. {WSDL_HINT}"
    )
    return error_at(text, path.row, path.col, "INVALID_FIELD", detail)


def bad_relationship(text: str, path: Any, rel: str) -> SoqlError:
    detail = (
        f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a "
        f"custom relationship, be sure to append the '__r' after the custom relationship name. "
        f"{WSDL_HINT}"
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
    from sfnotebook_demo.data.model import COMPOUND_TYPES, Field
    from sfnotebook_demo.data.schema import get_sobject

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
    """The 18-character case-safe form of a 15-character id (other values unchanged)."""
    return to_18(value) if len(value) == 15 else value
