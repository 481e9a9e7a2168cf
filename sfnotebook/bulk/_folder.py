"""What ``extract(to=)`` returns: the folder's path, saying what it holds.

:class:`ExtractFolder` is path-like (``os.fspath``, ``open``, ``pd.read_parquet``,
``pq.read_table`` and ``duckdb.sql(f"... '{folder}/*.parquet'")`` take it), compares equal to
the :class:`pathlib.Path` of the folder, and offers every ``Path`` method and attribute by
delegation (``folder.glob("*.parquet")``, ``folder / "part-00000.parquet"``, ``folder.name``);
``folder.path`` is the plain ``Path``. Its ``repr`` says what was written::

    ExtractFolder('opps', rows=1,204,331, files=3, bytes=41.2 MB)

It wraps a ``Path`` rather than subclassing one: ``pathlib.Path`` subclasses differ between
Python 3.10, 3.11 and 3.12 (``_flavour``, ``with_segments``), and a subclass would have every
derived path (``folder.parent``) claim this folder's rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

__all__ = ["ExtractFolder", "folder_result"]


class ExtractFolder(os.PathLike[str]):
    """The Parquet folder of an extract: a path, with ``rows``, ``files``, ``bytes``, ``info``."""

    def __init__(self, path: Path, *, rows: int, files: int, size: int) -> None:
        self.path = Path(path)
        self.rows = rows
        self.files = files
        self.bytes = size
        self.info: dict[str, Any] = {}

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return (
            f"ExtractFolder({str(self.path)!r}, rows={self.rows:,}, files={self.files}, "
            f"bytes={_size(self.bytes)})"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExtractFolder):
            return self.path == other.path
        return self.path == other

    def __hash__(self) -> int:
        return hash(self.path)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.path / other

    def __rtruediv__(self, other: str | os.PathLike[str]) -> Path:
        return Path(other) / self.path

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks: the Path's own (glob, iterdir, name, ...).
        if name.startswith("__") or "path" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["path"], name)

    def _repr_html_(self) -> str:
        import html

        return (
            f"<code>{html.escape(str(self.path))}</code>: {self.rows:,} rows in "
            f"{self.files} Parquet file{'s' * (self.files != 1)} ({_size(self.bytes)})"
        )


def folder_result(result: Any, info: dict[str, Any]) -> Any:
    """``result`` as an :class:`ExtractFolder` when it is the folder ``to=`` wrote, else as is.

    Rows are read from the files' footers (no data is read): what is on disk, counted again.
    """
    if not isinstance(result, Path):
        return result
    parts = sorted(result.glob("*.parquet"))
    rows = sum(pq.read_metadata(p).num_rows for p in parts)
    size = sum(p.stat().st_size for p in parts)
    return ExtractFolder(result, rows=rows, files=len(parts), size=size)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover
