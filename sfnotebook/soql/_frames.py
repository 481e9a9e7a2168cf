"""Building typed frames page by page: the layout of a query and the column builder. Pure.

:class:`FrameBuilder` takes pages of records (dicts, or the typed structs of
:mod:`sfnotebook.soql._decode`), walks them once per column, keeps compact Arrow chunks typed by
the rows of :mod:`sfnotebook.dtypes`, and hands them at the end to the output seam
(:mod:`sfnotebook._output`) for the frame(s) in the library asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import pyarrow as pa

from sfnotebook import _gc, _output
from sfnotebook import dtypes as _dt
from sfnotebook.soql import _decode

__all__ = ["Children", "DecodedPage", "FrameBuilder", "Layout", "QueryResult"]

Children = Literal["frames", "drop"]

# Pages whose chunks are joined into one per column while the query runs (FrameBuilder._keep):
# 16 pages of 2,000 rows = 32,000-row chunks.
_JOIN_PAGES = 16
_JOIN_POOL = pa.system_memory_pool()


@dataclass(frozen=True)
class Layout:
    """What a query selects: flat columns in SELECT order, their types, child relationships.

    ``types`` maps a column to its Salesforce type; a column missing from it (or mapped to
    ``None``) has its type inferred from the values.
    """

    columns: tuple[str, ...]
    types: Mapping[str, str | None] = field(default_factory=dict)
    children: Mapping[str, Layout] = field(default_factory=dict)
    object_name: str | None = None
    compound: frozenset[str] = frozenset()


@dataclass
class DecodedPage:
    """One decoded query page: its header and its records (structs or dicts)."""

    total_size: int
    done: bool
    next_url: str | None
    records: list[Any]


@dataclass
class QueryResult:
    """A query result with child subqueries: the parent frame plus one frame per relationship.

    Each child frame has one row per child record; its first column holds the parent's Id and
    is named ``<ParentObject>Id`` (``AccountId`` for ``Account``'s ``Contacts``), so it joins
    back with ``merge``::

        res = org.query("SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account")
        res.frame                      # Id, Name
        res["Contacts"]                # AccountId, Id, LastName
        accounts, children = res       # unpacks too
        accounts.merge(res["Contacts"], left_on="Id", right_on="AccountId")
    """

    frame: Any  # a DataFrame (pandas or polars) or a pyarrow.Table, as ``output=`` asked
    children: dict[str, Any]

    def __getitem__(self, relationship: str) -> Any:
        for name, frame in self.children.items():
            if name.lower() == relationship.lower():
                return frame
        raise KeyError(f"no child relationship {relationship!r}; have {list(self.children)}")

    def __iter__(self) -> Iterator[Any]:
        yield self.frame
        yield self.children

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        kids = ", ".join(f"{k}: {len(v)} rows" for k, v in self.children.items())
        return f"QueryResult({len(self.frame)} rows; children {{{kids}}})\n{self.frame!r}"

    def _repr_html_(self) -> str:
        import html

        kids = "".join(
            f"<li><code>{k}</code>: {len(v)} rows × {len(v.columns)} columns</li>"
            for k, v in self.children.items()
        )
        show = getattr(self.frame, "_repr_html_", None)
        head = show() if show is not None else f"<pre>{html.escape(repr(self.frame))}</pre>"
        return f"{head}<p>children:</p><ul>{kids}</ul>"


# --------------------------------------------------------------------------- walking records


def _key(rows: Sequence[Any], name: str) -> str:
    """The key spelled as in the records (Salesforce uses schema case; SOQL may not)."""
    for row in rows:
        if row is not None:
            if name in row:
                return name
            lowered = name.lower()
            for key in row:
                if key.lower() == lowered:
                    return str(key)
    return name


def _tree(columns: Sequence[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for column in columns:
        node = root
        for segment in column.split("."):
            node = node.setdefault(segment, {})
    return root


def _extract(
    rows: list[Any],
    tree: Mapping[str, Any],
    prefix: tuple[str, str],
    out: dict[str, tuple[str, Sequence[Any]]],
) -> None:
    """Fill ``out[column] = (spelled, values)`` for every leaf of ``tree``.

    One list comprehension per tree node: a parent's values are taken once and shared by all of
    its columns. ``spelled`` is the column as Salesforce spells it (schema case).
    """
    has_null = any(row is None for row in rows)
    asked, spelled = prefix
    for segment, sub in tree.items():
        key = _key(rows, segment)
        if has_null:
            values = [None if row is None else row.get(key) for row in rows]
        else:
            values = [row.get(key) for row in rows]
        if sub:
            _extract(values, sub, (f"{asked}{segment}.", f"{spelled}{key}."), out)
        else:
            out[f"{asked}{segment}"] = (f"{spelled}{key}", values)


def _get(obj: Any, name: str, default: Any) -> Any:
    """A key of a dict or an attribute of a decoded struct."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _parent_id(record: Mapping[str, Any]) -> Any:
    value = record.get("Id")
    if value is None:
        url = (record.get("attributes") or {}).get("url")
        value = url.rsplit("/", 1)[-1] if url else None
    return value


# --------------------------------------------------------------------------- building frames


class FrameBuilder:
    """Converts pages of records into typed column chunks; builds the frame(s) at the end.

    ``add(records)`` may be called once per page (``org.query`` does, while the next page
    downloads); only compact Arrow chunks are kept between pages.
    """

    def __init__(self, layout: Layout, *, split_multipicklist: bool = False) -> None:
        self.layout = layout
        self.split_multipicklist = split_multipicklist
        self.rows = 0
        self._tree = _tree(layout.columns)
        lowered = {k.lower(): v for k, v in layout.types.items()}
        self._types = {c: layout.types.get(c, lowered.get(c.lower())) for c in layout.columns}
        self._chunks: dict[str, list[Any]] = {c: [] for c in layout.columns}
        self._small: dict[str, int] = {}  # per column: pages' chunks not joined yet
        self._names: dict[str, str] = {}  # requested column -> column as spelled by Salesforce
        self._kids: dict[str, tuple[FrameBuilder, list[Any]]] = {
            rel: (FrameBuilder(kid, split_multipicklist=split_multipicklist), [])
            for rel, kid in layout.children.items()
        }
        self._kid_names: dict[str, str] = {}
        self._codec: _decode.RecordCodec | None = None
        self._strict: _decode.RecordCodec | None = None
        # Strict codec first (no children: their parent's Id may need ``attributes``); False
        # once a page did not fit it: the tolerant codec from then on.
        self._try_strict = not layout.children
        self._typed = True  # False once a page failed typed decoding: dicts from then on
        self.restarts = 0  # times the query was read again from page 1 (sfnotebook.soql._run)

    @property
    def codec(self) -> _decode.RecordCodec:
        """The msgspec types for this layout (built on first use)."""
        if self._codec is None:
            self._codec = _decode.RecordCodec(
                self.layout.columns,
                self._types,
                {rel: kid.codec for rel, (kid, _keys) in self._kids.items()},
                compound=self.layout.compound,
            )
        return self._codec

    @property
    def strict_codec(self) -> _decode.RecordCodec:
        """The strict msgspec types for this layout (built on first use; no children)."""
        if self._strict is None:
            self._strict = _decode.RecordCodec(
                self.layout.columns, self._types, {}, compound=self.layout.compound, strict=True
            )
        return self._strict

    def _codec_of(self, record: Any) -> _decode.RecordCodec:
        """The codec whose types ``record`` was decoded to."""
        strict = self._strict
        return strict if strict is not None and type(record) is strict.record_type else self.codec

    def decode(self, raw: bytes) -> DecodedPage:
        """Decode a page's bytes: typed structs when the keys are as expected, else dicts.

        Strict structs first, tolerant ones when a page does not fit them (from then on), dicts
        when it fits neither (from then on): see :mod:`sfnotebook.soql._decode`.
        """
        if self._typed and self._try_strict:
            try:
                page = self.strict_codec.decode(raw)
            except _decode.decode_error_types:
                self._try_strict = False
            else:
                return DecodedPage(page.totalSize, page.done, page.nextRecordsUrl, page.records)
        if self._typed:
            try:
                page = self.codec.decode(raw)
            except _decode.decode_error_types:
                self._typed = False
            else:
                return DecodedPage(page.totalSize, page.done, page.nextRecordsUrl, page.records)
        body = orjson.loads(raw)
        return DecodedPage(
            int(body.get("totalSize", 0)),
            bool(body.get("done", True)),
            body.get("nextRecordsUrl"),
            body.get("records") or [],
        )

    @property
    def has_children(self) -> bool:
        """Whether the layout has child subqueries."""
        return bool(self._kids)

    def child_results(self, records: list[Any]) -> list[tuple[str, Any]]:
        """Every non-null child result of these records, with its relationship name."""
        out = []
        for rel in self._kids:
            for record in records:
                result = self._child(record, rel)
                if result is not None:
                    out.append((rel, result))
        return out

    def pending_children(self, records: list[Any]) -> list[tuple[str, Any]]:
        """Child results of these records that have more pages (``done`` false)."""
        return [(r, c) for r, c in self.child_results(records) if not _get(c, "done", True)]

    @staticmethod
    def child_next_url(result: Any) -> str | None:
        """The ``nextRecordsUrl`` of a child result (None when complete)."""
        return _get(result, "nextRecordsUrl", None)

    def extend_child(self, relationship: str, result: Any, raw: bytes) -> None:
        """Append the next page of a child result (its bytes) to the result, in place."""
        kid = self._kids[relationship][0]
        if isinstance(result, dict):
            more = orjson.loads(raw)
            result.setdefault("records", []).extend(more.get("records") or [])
            result["done"] = bool(more.get("done", True))
            result["nextRecordsUrl"] = more.get("nextRecordsUrl")
            return
        page = kid.codec.decode(raw)  # same layout as the first child page, which fitted
        result.records.extend(page.records)
        result.done = page.done
        result.nextRecordsUrl = page.nextRecordsUrl

    def _child(self, record: Any, rel: str) -> Any:
        if isinstance(record, dict):
            return record.get(self._kid_names.get(rel) or _key([record], rel))
        return self.codec.child_result(record, rel)

    def add(self, records: Sequence[Any]) -> int:
        """Convert one page of records (dicts, or structs from :meth:`decode`); return the count.

        The cyclic garbage collector is paused meanwhile (:mod:`sfnotebook._gc`): taking a page
        of structs apart makes a tuple per record and parent, thousands per page, none in a
        cycle.
        """
        if not records:
            return 0
        with _gc.paused():
            self._add(records)
        return len(records)

    def _add(self, records: Sequence[Any]) -> None:
        values: dict[str, tuple[str, Sequence[Any]]] = {}
        typed = not isinstance(records[0], Mapping)
        if typed:
            codec = self._codec_of(records[0])
            values = {c: (c, v) for c, v in codec.extract(records).items()}
        else:
            _extract(list(records), self._tree, ("", ""), values)
        for column in self.layout.columns:
            spelled, column_values = values.pop(column)
            self._names.setdefault(column, spelled)
            sf_type = self._types[column]
            if sf_type is None:
                self._chunks[column].append(column_values)  # typed at the end
            else:
                self._keep(column, _dt.build_chunk(column_values, sf_type))
            del column_values  # each column's values freed as soon as it is typed
        for rel, (builder, keys) in self._kids.items():
            if not typed:
                self._kid_names.setdefault(rel, _key(records, rel))
            for record in records:
                sub = self._child(record, rel)
                kids = _get(sub, "records", None) if sub is not None else None
                if kids:
                    builder.add(kids)
                    pid = self.codec.parent_id(record) if typed else _parent_id(record)
                    keys.extend([pid] * len(kids))
        self.rows += len(records)

    def _keep(self, column: str, chunk: Any) -> None:
        """Keep one page's typed chunk; every :data:`_JOIN_PAGES` pages, join the column's
        newest chunks into one.

        A page's chunks are small (2,000 rows), and an allocator keeps a lot of slack around
        thousands of small buffers: at 300k rows the process held 1.5x the live Arrow data
        (measured with pyarrow's default pool, mimalloc). Joined into buffers of
        ``_JOIN_PAGES`` pages, allocated from the system allocator (whose large blocks are
        mapped and given back when freed), the small buffers are freed while the query runs and
        reused by the next pages' chunks, so the slack stays that of a few pages. Text stays
        chunked, in fewer and larger chunks, which is also what pandas computes on best.
        """
        chunks = self._chunks[column]
        chunks.append(chunk)
        small = self._small.get(column, 0) + 1
        if small >= _JOIN_PAGES and isinstance(chunk, pa.Array):
            tail = chunks[-small:]
            if all(isinstance(c, pa.Array) for c in tail):
                del chunks[-small:]
                chunks.append(pa.concat_arrays(tail, memory_pool=_JOIN_POOL))
                small = 0
        self._small[column] = small

    def _columns(self) -> Iterator[_output.Column]:
        """The parent columns: their output names, rows of the dtype table and chunks.

        Each column's chunks are handed over and dropped from the builder, so the output seam
        releases them once that column is converted: the peak is the typed data plus one
        column, not the chunks and the whole frame side by side. The builder is spent after.
        """
        for column in self.layout.columns:
            chunks, self._chunks[column] = self._chunks[column], []
            sf_type = self._types[column]
            if sf_type is None:  # no describe told the type: inferred from the values
                flat = [v for chunk in chunks for v in chunk]
                sf_type = _dt.infer_sf_type(flat)
                chunks = [_dt.build_chunk(flat, sf_type)] if flat else []
                del flat
            row = _dt.field_type(sf_type)
            yield _output.Column(self._names.get(column, column), row, chunks or [row.empty()])
            del chunks

    def frame(
        self, *, dtypes: Mapping[str, Any] | None = None, output: _output.Output = "pandas"
    ) -> Any:
        """The parent frame (children excluded)."""
        names = [self._names.get(c, c) for c in self.layout.columns]
        return _output.table(
            self._columns(),
            rows=self.rows,
            output=output,
            dtypes=_only(dtypes, names),
            split_multipicklist=self.split_multipicklist,
        )

    def child_frames(
        self, *, dtypes: Mapping[str, Any] | None = None, output: _output.Output = "pandas"
    ) -> dict[str, Any]:
        """One frame per child relationship, its first column the parent's Id."""
        parent = self.layout.object_name or "Parent"
        out: dict[str, Any] = {}
        for rel, (builder, keys) in self._kids.items():
            names = [builder._names.get(c, c) for c in builder.layout.columns]
            key = f"{parent}Id"
            if key in names:
                key = f"parent.{key}"
            ids = _dt.field_type("id")
            first = _output.Column(key, ids, [pa.array(keys, type=ids.arrow)])
            out[self._kid_names.get(rel, rel)] = _output.table(
                itertools.chain([first], builder._columns()),
                rows=builder.rows,
                output=output,
                dtypes=_only(dtypes, [key, *names]),
                split_multipicklist=builder.split_multipicklist,
            )
        return out

    def result(
        self,
        *,
        dtypes: Mapping[str, Any] | None = None,
        children: Children = "frames",
        output: _output.Output = "pandas",
    ) -> Any:
        """The parent frame, or a :class:`QueryResult` when the query has child subqueries."""
        _check_overrides(dtypes, self)
        frame = _annotated(self.frame(dtypes=dtypes, output=output), self.restarts)
        if not self._kids or children == "drop":
            return frame
        kids = self.child_frames(dtypes=dtypes, output=output)
        return QueryResult(frame, {k: _annotated(v, self.restarts) for k, v in kids.items()})


def _annotated(frame: Any, restarts: int) -> Any:
    """The frame, saying how often its query was read again from page 1 after a lost cursor:
    ``df.attrs["sfnotebook"]["restarts"]`` (pandas), schema metadata ``sfnotebook.restarts``
    (Arrow). Polars frames carry no metadata."""
    attrs = getattr(frame, "attrs", None)
    if isinstance(attrs, dict):
        attrs["sfnotebook"] = {"restarts": restarts}
    elif isinstance(frame, pa.Table):
        meta = {**(frame.schema.metadata or {}), b"sfnotebook.restarts": str(restarts).encode()}
        frame = frame.replace_schema_metadata(meta)
    return frame


def _only(dtypes: Mapping[str, Any] | None, columns: Any) -> dict[str, Any]:
    """The overrides that name one of ``columns`` (matched case-insensitively)."""
    by_lower = {str(c).lower(): c for c in columns}
    return {by_lower[k.lower()]: v for k, v in (dtypes or {}).items() if k.lower() in by_lower}


def _check_overrides(dtypes: Mapping[str, Any] | None, builder: FrameBuilder) -> None:
    """A ``dtypes=`` key matching no column anywhere is a typo: say so."""
    if not dtypes:
        return
    known = {builder._names.get(c, c).lower() for c in builder.layout.columns}
    known |= {c.lower() for c in builder.layout.columns}
    for kid, _keys in builder._kids.values():
        known |= {c.lower() for c in kid.layout.columns}
        known |= {kid._names.get(c, c).lower() for c in kid.layout.columns}
        known |= {f"{builder.layout.object_name or 'Parent'}Id".lower()}
    unknown = [k for k in dtypes if k.lower() not in known]
    if unknown:
        raise KeyError(f"dtypes= names columns that the result does not have: {unknown}")
