"""Typed decoding of query pages with msgspec: the fast path of the converter. Pure: no I/O.

``json.loads`` builds a dict for every record, parent and ``attributes`` object, then the
values are copied out again. Here the layout of the query (its columns and types) becomes a
set of ``msgspec.Struct`` types, so a page decodes straight into slotted objects whose fields are
the selected columns. Every column is checked, in one of two ways:

* **strict** (tried first): every column's key is required and any other key is skipped
  unread, ``attributes`` too, so no object is made for it. Query pages normally carry every
  selected field, null ones as null (the records of "Understanding Query Results", SOQL and
  SOSL Reference, https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
  sforce_api_calls_soql_relationships_query_results.htm); a key missing (another spelling, a
  ``TYPEOF`` branch of another type) raises ``msgspec.ValidationError``.
* **tolerant**: a missing key reads null, ``attributes`` stays undecoded (``msgspec.Raw``) and a
  key the layout does not expect (another spelling, an extra part) raises
  ``msgspec.ValidationError``.

The caller (:class:`sfnotebook.soql._frames.FrameBuilder`) tries strict, then tolerant, then
plain dicts, so nothing is lost silently: what the layout asks for is read, or the page is
read another way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any

import msgspec
from msgspec.structs import astuple

from sfnotebook import dtypes as _dt

__all__ = ["RecordCodec", "decode_error_types"]

#: What a failed typed decode raises (the caller then falls back to dicts).
decode_error_types = (msgspec.ValidationError, msgspec.DecodeError)


class _Attributes(msgspec.Struct):
    type: str | None = None
    url: str | None = None


class _Level:
    """One struct type of a layout, as :meth:`RecordCodec.extract` takes it apart: the field
    positions that are columns (``leaves``) or parents (``subs``), and the empty struct a null
    parent stands in as."""

    __slots__ = ("empty", "leaves", "nullable", "subs", "type", "width")

    def __init__(self, struct_type: Any, *, nullable: bool) -> None:
        self.type = struct_type
        self.width = len(struct_type.__struct_fields__)
        self.nullable = nullable
        self.empty = struct_type(*[None] * self.width) if nullable else None  # all fields None
        self.leaves: list[tuple[str, int]] = []
        self.subs: list[tuple[int, _Level]] = []

    def index(self, attr: str) -> int:
        return int(self.type.__struct_fields__.index(attr))


def _leaf(sf_type: str | None) -> Any:
    if sf_type is None:
        return Any
    return _dt.field_type(sf_type).leaf


class RecordCodec:
    """msgspec types mirroring a layout's columns, with getters that take columns out.

    ``columns`` are dotted paths, spelled as Salesforce spells its keys; ``types`` their
    Salesforce types (``None``: decoded as-is, typed later); ``children`` the codecs of child
    relationships. ``compound`` names the paths whose objects are compound fields (no
    ``attributes``, unknown parts tolerated). ``strict``: every column's key required, other
    keys skipped (see the module docstring); a codec with children is never strict, as their
    parent's Id may come from ``attributes``.
    """

    def __init__(
        self,
        columns: Sequence[str],
        types: Mapping[str, str | None],
        children: Mapping[str, RecordCodec],
        *,
        compound: frozenset[str] = frozenset(),
        strict: bool = False,
    ) -> None:
        if strict and children:
            raise ValueError("a codec with child relationships is never strict")
        self.columns = list(columns)
        self.strict = strict
        self.children = dict(children)
        self._count = 0
        tree: dict[str, Any] = {}
        for column in columns:
            node = tree
            for segment in column.split("."):
                node = node.setdefault(segment, {})
        self._paths: dict[str, tuple[str, ...]] = {}
        self._nested: dict[tuple[str, ...], Any] = {}  # attribute path -> its struct type
        self.child_attr: dict[str, str] = {}
        self._attributes: str | None = None
        self.record_type = self._struct(tree, "", types, compound, top=True)
        page = msgspec.defstruct(
            "QueryPage",
            [
                ("totalSize", int, 0),
                ("done", bool, True),
                ("records", list[self.record_type], []),  # type: ignore[name-defined]
                ("nextRecordsUrl", str | None, None),
            ],
            gc=False,
        )
        self.page_type = page
        self.decoder = msgspec.json.Decoder(page)
        self._top = self._levels()

    def _name(self) -> str:
        self._count += 1
        return f"f{self._count}"

    def _struct(
        self,
        tree: Mapping[str, Any],
        prefix: str,
        types: Mapping[str, str | None],
        compound: frozenset[str],
        *,
        top: bool = False,
    ) -> Any:
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        is_compound = prefix.rstrip(".") in compound
        if not is_compound and not self.strict and "attributes" not in tree:
            attr = self._name()
            fields.append((attr, msgspec.Raw, msgspec.Raw()))  # kept undecoded: cheap
            rename[attr] = "attributes"
            if top:
                self._attributes = attr
        for key, sub in tree.items():
            path = f"{prefix}{key}"
            attr = self._name()
            rename[attr] = key
            self._paths[path] = (
                (*self._paths.get(prefix.rstrip("."), ()), attr) if prefix else (attr,)
            )
            if key == "attributes" and sub:
                typ: Any = _Attributes | None
                self._nested[self._paths[path]] = _Attributes
                for part in sub:
                    self._paths[f"{path}.{part}"] = (*self._paths[path], part)
            elif sub:
                nested = self._struct(sub, f"{path}.", types, compound)
                self._nested[self._paths[path]] = nested
                typ = nested | None
            else:
                typ = _leaf(types.get(path))
            if self.strict and not is_compound:
                fields.append((attr, typ))  # type: ignore[arg-type]  # required: no default
            else:
                fields.append((attr, typ, None))
        if top:
            for rel, codec in self.children.items():
                attr = self._name()
                rename[attr] = rel
                self.child_attr[rel] = attr
                result = msgspec.defstruct(
                    "ChildResult",
                    [
                        ("totalSize", int, 0),
                        ("done", bool, True),
                        ("records", list[codec.record_type], []),  # type: ignore[name-defined]
                        ("nextRecordsUrl", str | None, None),
                    ],
                    gc=False,
                )
                fields.append((attr, result | None, None))
        return msgspec.defstruct(
            "Record",
            fields,
            rename=rename,
            forbid_unknown_fields=not is_compound and not self.strict,
            gc=False,  # no cycles are possible: skipping GC tracking makes decoding cheaper
        )

    def _levels(self) -> _Level:
        """The extraction plan: per struct type, which field positions are columns or parents."""
        top = _Level(self.record_type, nullable=False)
        for column in self.columns:
            attrs = self._paths[column]
            level = top
            for depth in range(1, len(attrs)):
                index = level.index(attrs[depth - 1])
                sub = next((s for i, s in level.subs if i == index), None)
                if sub is None:
                    sub = _Level(self._nested[attrs[:depth]], nullable=True)
                    level.subs.append((index, sub))
                level = sub
            level.leaves.append((column, level.index(attrs[-1])))
        return top

    def decode(self, raw: bytes) -> Any:
        """Decode one page (or a child page: same shape)."""
        return self.decoder.decode(raw)

    def extract(self, records: Sequence[Any]) -> dict[str, Sequence[Any]]:
        """``{column: values}`` for one page of decoded records, one pass per struct level.

        A level of several fields is taken apart whole: ``zip(*map(astuple, rows))`` turns its
        structs into one tuple of values per field in C, about half the work of one
        ``attrgetter`` pass per field (a level of one field takes that one pass: no tuples).
        A null parent stands in as an empty struct of its type (every field None), so its
        columns read null there. The tuples made are GC-tracked: the caller pauses the cyclic
        collector meanwhile (:meth:`sfnotebook.soql._frames.FrameBuilder.add`).
        """
        out: dict[str, Sequence[Any]] = {}
        self._level(self._top, records, out)
        return out

    def _level(self, level: _Level, rows: Sequence[Any], out: dict[str, Sequence[Any]]) -> None:
        fields: list[Sequence[Any]]
        nulls = level.nullable and None in rows
        if level.width == 1:
            name = level.type.__struct_fields__[0]
            if nulls:  # getattr(None, name, None) is None, in C
                fields = [list(map(getattr, rows, repeat(name), repeat(None)))]
            else:
                fields = [list(map(attrgetter(name), rows))]
        else:
            if nulls:
                empty = level.empty
                rows = [empty if row is None else row for row in rows]
            fields = list(zip(*map(astuple, rows), strict=True)) if rows else [()] * level.width
        for column, index in level.leaves:
            out[column] = fields[index]
        for index, sub in level.subs:
            self._level(sub, fields[index], out)

    def child_result(self, record: Any, relationship: str) -> Any:
        """The decoded child result of ``relationship`` on one record (or None)."""
        return getattr(record, self.child_attr[relationship])

    def parent_id(self, record: Any) -> Any:
        """The record's Id: the ``Id`` column if selected, else the tail of attributes.url."""
        if "Id" in self._paths:
            return getattr(record, self._paths["Id"][0])
        raw = getattr(record, self._attributes) if self._attributes else None
        if not raw:
            return None
        url = msgspec.json.decode(raw, type=_Attributes).url
        return url.rsplit("/", 1)[-1] if url else None
