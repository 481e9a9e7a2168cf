"""The Parquet hand-off: one file per result page, one schema for every file.

Files are named ``part-00000.parquet``, ``part-00001.parquet`` ... by page index, so pages
downloaded concurrently can be written in any order. Each file is written under a hidden
temporary name and renamed when complete, so a reader never sees half a file; if the extract
fails, the files it wrote are removed again.

Storage types are the dtype table's Arrow types (text, bool, int64, double, date32,
timestamp[ms, UTC], duration[ms] for times), which DuckDB, Dask and Spark read natively
(Spark reads times as milliseconds since midnight). The schema carries pandas metadata, so
``pandas.read_parquet`` gives back the nullable dtypes (``Int64``, ``boolean``, ``Float64``,
``string``); only the time unit of temporal columns differs (milliseconds instead of
nanoseconds, and dates as ``datetime.date`` unless cast).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sfnotebook.bulk._csv import PageSchema
from sfnotebook.bulk._frame import FrameAssembler
from sfnotebook.errors import OutputFolderError

__all__ = ["ParquetFolder", "prepare_folder"]

PART = "part-{:05d}.parquet"


def prepare_folder(folder: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Create ``folder`` (with parents) or check that it is empty.

    With ``overwrite=True`` the ``*.parquet`` files already there are removed (nothing else
    is touched); otherwise a folder holding anything raises ``OutputFolderError`` (also a
    ``FileExistsError``).
    """
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputFolderError(
            f"to={str(folder)!r} is a file; give a folder for the Parquet parts"
        )
    path.mkdir(parents=True, exist_ok=True)
    existing = sorted(p.name for p in path.iterdir())
    if not existing:
        return path
    if not overwrite:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise OutputFolderError(
            f"{path} is not empty ({shown}). Give an empty or new folder, or pass "
            "overwrite=True to replace the Parquet files in it."
        )
    for child in path.iterdir():
        if child.is_file() and (child.suffix == ".parquet" or child.name.endswith(".parquet.tmp")):
            child.unlink()
    others = [p.name for p in path.iterdir()]
    if others:
        raise OutputFolderError(
            f"{path} holds other things than Parquet files ({', '.join(others[:5])}); "
            "readers of the folder would see them too. Give an empty or new folder."
        )
    return path


class ParquetFolder:
    """Writes typed pages to ``folder/part-NNNNN.parquet`` with one fixed schema.

    ``dtypes=`` overrides (pandas dtypes) are applied to every page through pandas, and the
    schema follows them.
    """

    def __init__(
        self, folder: Path, schema: PageSchema, *, dtypes: Mapping[str, Any] | None = None
    ) -> None:
        self.folder = folder
        self.schema = schema
        self.dtypes = dict(dtypes) if dtypes else None
        empty = FrameAssembler(schema).frame(dtypes=self.dtypes)
        pandas_schema = pa.Schema.from_pandas(empty, preserve_index=False)
        if self.dtypes:
            self.arrow_schema = pandas_schema
        else:
            # The dtype table's storage types, with pandas' metadata for read_parquet.
            self.arrow_schema = schema.arrow_schema().with_metadata(pandas_schema.metadata)
        self.written: list[Path] = []
        self.closed = False
        self._lock = threading.Lock()

    def write(self, index: int, table: pa.Table) -> Path:
        """Write one typed page (from :func:`sfnotebook.bulk._csv.typed_page`)."""
        if self.dtypes:
            assembler = FrameAssembler(self.schema)
            assembler.add(table)
            frame = assembler.frame(dtypes=self.dtypes)
            table = pa.Table.from_pandas(frame, preserve_index=False).cast(self.arrow_schema)
        else:
            table = table.replace_schema_metadata(self.arrow_schema.metadata)
        path = self.folder / PART.format(index)
        temporary = self.folder / f".{path.name}.tmp"
        pq.write_table(table, temporary, compression="snappy")
        with self._lock:
            if self.closed:  # the extract failed while this page was in flight
                temporary.unlink(missing_ok=True)
                return path
            os.replace(temporary, path)
            self.written.append(path)
        return path

    def remove_written(self) -> None:
        """Remove the files this writer made (after a failed or cancelled extract)."""
        with self._lock:
            self.closed = True
            written, self.written = self.written, []
        for path in written:
            path.unlink(missing_ok=True)
        for stray in self.folder.glob(".part-*.parquet.tmp"):
            stray.unlink(missing_ok=True)
