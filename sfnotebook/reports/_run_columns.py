"""Detail columns converted run by run, as paging fetches them.

Converting a large report's cells at the end walks about a million cell objects column by
column across every run, long after they were decoded (a cache miss per cell; the measured
client profile spent most of its 2 s there, ``perf/measurements-2026-12.md`` section 4). Each
run's new rows are converted instead as soon as paging has kept them, while they are fresh,
one Arrow array per detail column and run; the next run is already in flight then (parallel
windows), so the conversion overlaps the network. At the end the arrays are joined and put in
report order with one ``take``.

The arrays are the ones converting all cells at once gives: the same dtype table row per
column (:func:`sfnotebook.reports._cells.convert_cells`). The one way a column's runs can
disagree is an ``int`` column with a fractional value in some run: the whole column is then
``double``, as it would be read whole, and the other runs' whole numbers are cast exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from sfnotebook.dtypes import FieldType
from sfnotebook.reports._cells import convert_cells, currency_code

__all__ = ["Converter", "Segment"]

Cells = Sequence[Mapping[str, Any]]
Converted = tuple[FieldType, Any, list[str | None] | None]


class Segment:
    """One ordered stretch of rows (a keyset chain): ``segment(rows)`` converts a run's rows."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = list(types)
        self.rows = 0
        self.pieces: list[list[tuple[FieldType, Any]]] = [[] for _ in self.types]
        self.codes: list[list[str | None] | None] = [
            [] if t == "currency" else None for t in self.types
        ]

    def __call__(self, rows: Sequence[Cells]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        width = len(self.types)
        if min(map(len, rows)) >= width:  # every row has every cell: one transpose
            by_column: Sequence[Sequence[Any]] = list(zip(*rows, strict=False))[:width]
        else:
            by_column = [[r[j] if j < len(r) else {} for r in rows] for j in range(width)]
        for j, data_type in enumerate(self.types):
            cells = by_column[j]
            self.pieces[j].append(convert_cells(cells, data_type))
            codes = self.codes[j]
            if codes is not None:
                codes.extend(currency_code(c) for c in cells)


class Converter:
    """The detail columns of a report (its first run's ``detailColumns``), segment by segment."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        metadata = payload.get("reportMetadata") or {}
        info = (payload.get("reportExtendedMetadata") or {}).get("detailColumnInfo") or {}
        self.types = [
            str((info.get(col) or {}).get("dataType") or "string").lower()
            for col in metadata.get("detailColumns") or []
        ]
        self.segments: list[Segment] = []

    def segment(self) -> Segment:
        """A new stretch of rows after every earlier one (create them in row order)."""
        seg = Segment(self.types)
        self.segments.append(seg)
        return seg

    def reset(self) -> None:
        """Forget every row converted (paging starts over)."""
        self.segments = []

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)

    def columns(self, order: Sequence[int] | None = None) -> list[Converted]:
        """Each detail column: its dtype row, one Arrow array in ``order``, currency codes."""
        out: list[Converted] = []
        indices = None if order is None else pa.array(order, type=pa.int64())
        for j, data_type in enumerate(self.types):
            pieces = [p for s in self.segments for p in s.pieces[j]]
            row, arrays = _agree(pieces, data_type)
            joined = pa.chunked_array(arrays, type=arrays[0].type if arrays else row.arrow)
            array = (joined if indices is None else joined.take(indices)).combine_chunks()
            codes = None
            if self.types[j] == "currency":
                flat = [c for s in self.segments for c in s.codes[j] or []]
                codes = flat if order is None else [flat[i] for i in order]
            out.append((row, array, codes))
        return out


def _agree(pieces: list[tuple[FieldType, Any]], data_type: str) -> tuple[FieldType, list[Any]]:
    """One dtype row for a column's pieces, and the pieces' arrays in it."""
    if not pieces:
        row, empty = convert_cells([], data_type)
        return row, [empty]
    if len({p[0].name for p in pieces}) == 1:
        return pieces[0][0], [p[1] for p in pieces]
    # A column's pieces are its row or, for a run with fractional values, the row it widens
    # to (convert_cells): the column is the wider one, its whole numbers cast exactly.
    target = next(p[0] for p in pieces if p[0].wider is None)
    return target, [a if a.type == target.arrow else a.cast(target.arrow) for _, a in pieces]
