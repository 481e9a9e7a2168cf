"""SELECT lists of the demo SOQL engine: SQL columns, LEFT JOIN aliases and output nodes.

:class:`Scope` numbers the table aliases and SELECT columns of one SQL statement;
:class:`RowBuilder` turns resolved fields (parent paths, compound fields, TYPEOF branches) into
output nodes and the flat (Bulk CSV) columns of a plan.
"""

from __future__ import annotations

from typing import Any

from sfnotebook_demo.data.model import COMPOUND_TYPES, Field, SObject
from sfnotebook_demo.data.schema import SCHEMA, get_sobject
from sfnotebook_demo.soql.nodes import CompoundNode, Node, ParentNode, ScalarNode, TypeOfNode
from sfnotebook_demo.soql.parser import FieldPath, Query, SoqlError, TypeOf
from sfnotebook_demo.soql.resolve import Resolved, error_at, invalid_type, resolve

__all__ = ["PREFIXES", "RowBuilder", "Scope", "add_typeof", "duplicate_field"]

_ADDRESS_KEYS = ("city", "country", "countryCode", "geocodeAccuracy", "latitude", "longitude",
                 "postalCode", "state", "stateCode", "street")  # fmt: skip
PREFIXES = {o.key_prefix: o.name for o in SCHEMA.values()}


def duplicate_field(text: str, path: FieldPath, name: str) -> SoqlError:
    return error_at(
        text, path.row, path.col, "MALFORMED_QUERY", f"duplicate field selected: {name}"
    )


class RowBuilder:
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
            raise duplicate_field(self.text, path, path.text)
        prefix = "".join(link.name + "." for link in res.chain)
        if fld.type in COMPOUND_TYPES:
            parts = compound_parts(res.obj, fld)
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


def compound_parts(obj: SObject, fld: Field) -> list[tuple[str, Field | None]]:
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


class Scope:
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


def add_typeof(builder: RowBuilder, item: TypeOf, scope: Scope, query: Query) -> None:
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
        raise duplicate_field(text, FieldPath([key], item.row, item.col), key)
    id_index = scope.col(f'{scope.root}."{fld.name}"')
    branches: dict[str, list[Node]] = {}
    flat: dict[str, dict[str, int]] = {}
    flat_type: dict[str, str] = {}
    for type_name, paths, tok in item.whens:
        target = get_sobject(type_name)
        if target is None or target.name not in fld.reference_to:
            raise error_at(text, tok.row, tok.col, "INVALID_TYPE", invalid_type(type_name))
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
