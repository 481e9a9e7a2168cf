"""What ``extract(to=)`` returns: the folder's path, saying what it holds.

:class:`ExtractFolder` is a :class:`pathlib.Path` (``isinstance(folder, Path)``, equal to the
folder's ``Path``, every method: ``folder.glob("*.parquet")``, ``folder / "part-00000.parquet"``)
that ``pd.read_parquet``, ``pq.read_table`` and ``duckdb.sql(f"... '{folder}/*.parquet'")``
take, and its ``repr`` says what was written::

    ExtractFolder('opps', rows=1,204,331, files=3, bytes=41.2 MB)

``Path`` itself can be subclassed only from Python 3.12; before, the concrete class
(``PosixPath``/``WindowsPath``) can. Paths derived from it (``folder.parent``, ``folder / x``)
are plain paths on 3.12+ (``with_segments``); on 3.10 and 3.11 they are of this class with no
counts, and show as plain paths.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

__all__ = ["ExtractFolder", "folder_result"]

if TYPE_CHECKING:
    _ConcretePath = Path
else:
    _ConcretePath = type(Path())  # PosixPath or WindowsPath


class ExtractFolder(_ConcretePath):
    """The Parquet folder of an extract: a ``Path``, with ``rows``, ``files``, ``bytes``, ``info``."""

    rows: int | None = None
    files: int | None = None
    bytes: int | None = None
    # A plain class attribute: on Python 3.14, where Path has an ``info`` property, it is this
    # result's metadata dict instead (see sfnotebook._meta).
    info: Any = None

    @classmethod
    def made(
        cls, path: str | os.PathLike[str], *, rows: int, files: int, size: int
    ) -> ExtractFolder:
        """The folder at ``path`` holding ``rows`` rows in ``files`` files of ``size`` bytes."""
        folder = cls(path)
        folder.rows, folder.files, folder.bytes = rows, files, size
        folder.info = {}
        return folder

    def with_segments(self, *pathsegments: str | os.PathLike[str]) -> Path:
        # Python 3.12+: a path derived from this one is a plain Path, not this folder.
        return Path(*pathsegments)

    @property
    def path(self) -> Path:
        """The folder as a plain ``Path``."""
        return Path(os.fspath(self))

    def __repr__(self) -> str:
        if self.rows is None or self.files is None or self.bytes is None:
            return repr(self.path)
        return (
            f"ExtractFolder({os.fspath(self)!r}, rows={self.rows:,}, files={self.files}, "
            f"bytes={_size(self.bytes)})"
        )

    def _repr_html_(self) -> str:
        import html

        if self.rows is None or self.files is None or self.bytes is None:
            return f"<code>{html.escape(os.fspath(self))}</code>"
        return (
            f"<code>{html.escape(os.fspath(self))}</code>: {self.rows:,} rows in "
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
    return ExtractFolder.made(result, rows=rows, files=len(parts), size=size)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover
