"""Output nodes of the demo SOQL engine: how one SQL row becomes a REST JSON record.

A resolved query (:class:`sfnotebook_demo.soql.execute.Plan`) holds a tree of nodes, one per key
of the output record (scalars, compound fields, parent records, TYPEOF branches, aggregates;
child subqueries are :class:`sfnotebook_demo.soql.execute.ChildNode`, as they hold a plan).
:func:`compile_builder` compiles that tree into one Python function per plan so paging a
million records costs one dict display per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = [
    "AggNode",
    "CompoundNode",
    "Node",
    "ParentNode",
    "RecordShape",
    "Row",
    "ScalarNode",
    "TypeOfNode",
    "compile_builder",
    "convert",
    "null_getter",
]

Row = Sequence[Any]


def _bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _int(v: Any) -> Any:
    return None if v is None else int(v)


def _float(v: Any) -> Any:
    return None if v is None else float(v)


def null_getter(_row: Any) -> None:
    """A flat-column getter for a column that is always null."""
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
            return _record("Name", f"{ctx['base']}{real}/{pid}", self.children, row, ctx)
        url = f"{ctx['base']}{self.type_name}/{pid}"
        return _record(self.type_name, url, self.children, row, ctx)


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
        nodes = self.branches.get(real, self.else_nodes) or []
        return _record(real, f"{ctx['base']}{real}/{pid}", nodes, row, ctx)


def _record(
    type_name: str, url: str, nodes: list[Node], row: Row, ctx: dict[str, Any]
) -> dict[str, Any]:
    """A nested record: its ``attributes`` and one key per node."""
    rec: dict[str, Any] = {"attributes": {"type": type_name, "url": url}}
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


# --- record builders --------------------------------------------------------------------
# Shaping rows node by node costs several Python calls per field; paging a million records
# needs better, so each plan compiles its node tree once into one function made of a single
# dict display. The generated source holds only repr()-quoted schema names, column indexes
# and references to the plan's own node objects.

_BOOL = {0: False, 1: True, None: None}
_FRAGMENT = getattr(orjson, "Fragment", None)  # orjson 3.10+


def _node_source(node: Node, ns: dict[str, Any], base: str, *, share: bool = False) -> str:
    if isinstance(node, ScalarNode):
        # REAL/INTEGER columns already come back as float/int (None stays None).
        return f"_B[r[{node.index}]]" if node.type == "boolean" else f"r[{node.index}]"
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
        record = f"{{{', '.join(items)}}}"
        if share:
            # A parent's nested record depends only on its id: build it once per parent, and
            # encode it then too (an orjson.Fragment is written out as the bytes it holds,
            # which are those orjson writes for the dict: the page's bytes stay the same).
            cache = f"_P{len(ns)}"
            ns[cache] = {}
            if _FRAGMENT is not None:
                ns.update(_F=_FRAGMENT, _D=orjson.dumps)
                record = f"_F(_D({record}))"
            record = f"({cache}.get(r[{i}]) or {cache}.setdefault(r[{i}], {record}))"
        return f"(None if r[{i}] is None else {record})"
    nodes = ns.setdefault("_N", [])
    nodes.append(node)
    return f"_N[{len(nodes) - 1}].value(r, ctx)"


class RecordShape(Protocol):
    """What a record builder needs of a plan (:class:`sfnotebook_demo.soql.execute.Plan`)."""

    object_name: str
    is_aggregate: bool
    nodes: list[Node]


def compile_builder(
    plan: RecordShape, base: str, *, share_parents: bool = False
) -> Callable[[Row, dict[str, Any]], dict[str, Any]]:
    """One function turning a SQL row of ``plan`` into its REST record.

    With ``share_parents``, records with the same parent share its nested record, built and
    encoded once (an ``orjson.Fragment``): for pages that are only encoded with orjson;
    callers that read or edit the parents must not share.
    """
    ns: dict[str, Any] = {"_B": _BOOL}
    if plan.is_aggregate:
        items = ["'attributes': {'type': 'AggregateResult'}"]
    else:
        url = f"{base + plan.object_name + '/'!r} + r[0]"
        items = [f"'attributes': {{'type': {plan.object_name!r}, 'url': {url}}}"]
    items += [f"{n.key!r}: {_node_source(n, ns, base, share=share_parents)}" for n in plan.nodes]
    source = "def build(r, ctx):\n    return {" + ", ".join(items) + "}\n"
    exec(source, ns)  # noqa: S102 - generated from repr()-quoted schema names and indexes only
    return ns["build"]  # type: ignore[no-any-return]
