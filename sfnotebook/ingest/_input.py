"""The frame to write, from pandas, polars or pyarrow, as Arrow columns and row labels. Pure.

Each column becomes one Arrow array (so the checks and the CSV text are computed column-wise,
in C where pyarrow can); the row labels are the pandas index (results come back on it) or the
positions for polars and Arrow. A column that Arrow cannot hold as one type (a pandas object
column mixing numbers and text) is reported, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["Rows", "read_frame"]


@dataclass
class Rows:
    """The input: its columns by name (in order), its row labels and the index's name."""

    columns: dict[str, pa.Array]
    labels: list[Any]
    index_name: Any = None
    unreadable: dict[str, str] = field(default_factory=dict)  # column -> why
    duplicates: list[str] = field(default_factory=list)  # names given to several columns

    @property
    def count(self) -> int:
        return len(self.labels)


def read_frame(df: object) -> Rows:
    """``df`` (pandas or polars DataFrame, ``pyarrow.Table`` or RecordBatch) as :class:`Rows`."""
    module = type(df).__module__.partition(".")[0]
    if module == "pandas" and hasattr(df, "columns") and hasattr(df, "index"):
        return _pandas(df)
    if module == "polars" and hasattr(df, "to_arrow"):
        return _arrow(df.to_arrow())
    if isinstance(df, pa.RecordBatch):
        return _arrow(pa.Table.from_batches([df]))
    if isinstance(df, pa.Table):
        return _arrow(df)
    raise TypeError(
        f"df must be a pandas or polars DataFrame or a pyarrow.Table, not {type(df).__name__}"
    )


def _arrow(table: pa.Table) -> Rows:
    columns: dict[str, pa.Array] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        columns[str(name)] = column.combine_chunks()
    return Rows(columns, list(range(table.num_rows)))


def _pandas(df: Any) -> Rows:
    rows = Rows({}, list(df.index), df.index.name)
    for position, name in enumerate(df.columns):
        key = str(name)
        if key in rows.columns or key in rows.unreadable:
            rows.duplicates.append(key)
            continue
        try:
            rows.columns[key] = pa.array(df.iloc[:, position], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            rows.unreadable[key] = str(exc).split("\n")[0]
    return rows
