"""Typed decoding of query pages with msgspec: the fast path of the converter. Pure: no I/O.

``json.loads`` builds a dict for every record, parent and ``attributes`` object, then the
values are copied out again. Here the layout of the query (its columns and types) becomes a
set of ``msgspec.Struct`` types, so a page decodes straight into slotted objects whose fields are
the selected columns, ``attributes`` stays undecoded (``msgspec.Raw``) and every JSON key is
checked: a key the layout does not expect (another spelling, an extra part) raises
``msgspec.ValidationError`` and the caller falls back to plain dicts, so nothing is lost
silently.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from sfnotebook import dtypes as _dt

__all__ = ["RecordCodec", "decode_error_types"]

#: What a failed typed decode raises (the caller then falls back to dicts).
decode_error_types = (msgspec.ValidationError, msgspec.DecodeError)


class _Attributes(msgspec.Struct):
    type: str | None = None
    url: str | None = None


def _leaf(sf_type: str | None) -> Any:
    if sf_type is None:
        return Any
    return _dt.field_type(sf_type).leaf


class RecordCodec:
    """msgspec types mirroring a layout's columns, with getters that take columns out.

    ``columns`` are dotted paths, spelled as Salesforce spells its keys; ``types`` their
    Salesforce types (``None``: decoded as-is, typed later); ``children`` the codecs of child
    relationships. ``compound`` names the paths whose objects are compound fields (no
    ``attributes``, unknown parts tolerated).
    """

    def __init__(
        self,
        columns: Sequence[str],
        types: Mapping[str, str | None],
        children: Mapping[str, RecordCodec],
        *,
        compound: frozenset[str] = frozenset(),
    ) -> None:
        self.columns = list(columns)
        self.children = dict(children)
        self._count = 0
        tree: dict[str, Any] = {}
        for column in columns:
            node = tree
            for segment in column.split("."):
                node = node.setdefault(segment, {})
        self._getters: dict[str, Callable[[Any], Any]] = {}
        self._paths: dict[str, tuple[str, ...]] = {}
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
        if not is_compound and "attributes" not in tree:
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
                for part in sub:
                    self._paths[f"{path}.{part}"] = (*self._paths[path], part)
            elif sub:
                typ = self._struct(sub, f"{path}.", types, compound) | None
            else:
                typ = _leaf(types.get(path))
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
            forbid_unknown_fields=not is_compound,
            gc=False,  # no cycles are possible: skipping GC tracking makes decoding cheaper
        )

    def decode(self, raw: bytes) -> Any:
        """Decode one page (or a child page: same shape)."""
        return self.decoder.decode(raw)

    def extract(self, records: list[Any]) -> dict[str, list[Any]]:
        """``{column: values}`` for one page of decoded records, one pass per struct level."""
        cache: dict[tuple[str, ...], list[Any]] = {(): records}
        out: dict[str, list[Any]] = {}
        for column in self.columns:
            path = self._paths[column]
            for depth in range(1, len(path) + 1):
                key = path[:depth]
                if key not in cache:
                    rows = cache[path[: depth - 1]]
                    get = operator.attrgetter(key[-1])
                    if depth == 1 or None not in rows:
                        cache[key] = list(map(get, rows))
                    else:
                        cache[key] = [None if r is None else get(r) for r in rows]
            out[column] = cache[path]
        return out

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
