"""The Parquet hand-off: one file per result page, one schema for every file.

Files are named ``part-00000.parquet``, ``part-00001.parquet`` ... by page index, so pages
downloaded concurrently can be written in any order.

The caller's folder is replaced, never destroyed (:class:`OutputTarget`): the target is checked
before any job exists (a file, or a folder holding anything but Parquet files, is refused; a
folder of Parquet files only with ``overwrite=True``), the parts are written into a new hidden
sibling folder (``.<name>.<random>.sfnotebook-new``, on the same filesystem), the rows in its
files are read back from their footers and checked, and only then is it swapped in: the old
folder renamed aside, the new one renamed into its place, the old one removed (on a failed
rename the old one is put back). A failed or cancelled extract removes the new folder and leaves
the target exactly as it was.

Storage types are the dtype table's Arrow types (text, bool, int64, double, date32,
timestamp[ms, UTC], duration[ms] for times), which DuckDB, Dask and Spark read natively
(Spark reads times as milliseconds since midnight). The schema carries pandas metadata, so
``pandas.read_parquet`` gives back the nullable dtypes (``Int64``, ``boolean``, ``Float64``,
``string``); only the time unit of temporal columns differs (milliseconds instead of
nanoseconds, and dates as ``datetime.date`` unless cast).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sfnotebook.bulk._csv import PageSchema
from sfnotebook.bulk._frame import FrameAssembler, page_memory_pool
from sfnotebook.errors import OutputFolderError

__all__ = ["OutputTarget", "ParquetFolder", "prepare_folder", "rows_in"]

PART = "part-{:05d}.parquet"


def prepare_folder(folder: str | os.PathLike[str], *, overwrite: bool) -> OutputTarget:
    """Check ``folder`` as an extract's target; nothing is created, changed or removed.

    A file, a symbolic link or a folder holding anything but ``*.parquet`` files raises
    :class:`OutputFolderError` (also a ``FileExistsError``); so does a folder of Parquet files
    without ``overwrite=True``.
    """
    path = Path(folder).expanduser()
    _refuse_unusable(path, folder, overwrite=overwrite)
    return OutputTarget(path, overwrite=overwrite)


def _refuse_unusable(path: Path, given: object, *, overwrite: bool) -> None:
    if path.is_symlink():
        raise OutputFolderError(
            f"to={str(given)!r} is a symbolic link; give the folder it points to "
            f"({os.path.realpath(path)!s}) or a new folder"
        )
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"to={str(given)!r} is a file; give a folder for the Parquet parts")
    if not path.exists():
        return
    existing = sorted(p.name for p in path.iterdir())
    if not existing:
        return
    others = [
        p.name for p in sorted(path.iterdir()) if not (p.is_file() and p.suffix == ".parquet")
    ]
    if others:
        raise OutputFolderError(
            f"{path} holds other things than Parquet files ({', '.join(others[:5])}); "
            "readers of the folder would see them too, and sfnotebook replaces a folder only "
            "whole. Nothing was changed: give an empty or new folder."
        )
    if not overwrite:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise OutputFolderError(
            f"{path} is not empty ({shown}). Give an empty or new folder, or pass "
            "overwrite=True to replace its Parquet files once the new ones are complete."
        )


class OutputTarget:
    """The caller's folder and the hidden sibling the parts are written to first."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.staging: Path | None = None
        self._made: list[Path] = []  # parent folders created here (removed again on failure)

    def stage(self) -> Path:
        """Create the new, empty sibling folder the parts go to (and missing parents)."""
        parent = self.path.parent
        missing = [p for p in (parent, *parent.parents) if not p.exists()]
        parent.mkdir(parents=True, exist_ok=True)
        self._made = missing  # deepest first
        self.staging = Path(
            tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".sfnotebook-new", dir=parent)
        )
        return self.staging

    def commit(self) -> Path:
        """Swap the complete new folder in for the target; on failure the target is restored."""
        assert self.staging is not None  # noqa: S101 - staged before any page is written
        # Someone may have put a file there while the job ran: refuse rather than destroy it.
        _refuse_unusable(self.path, self.path, overwrite=self.overwrite)
        aside: Path | None = None
        if self.path.exists():
            aside = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.sfnotebook-old"
            os.rename(self.path, aside)
        try:
            os.rename(self.staging, self.path)
        except BaseException:
            if aside is not None:
                os.rename(aside, self.path)
            raise
        self.staging = None
        self._made = []
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        return self.path

    def discard(self) -> None:
        """After a failure: remove the new folder (and parents made for it); the target stays."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        for made in self._made:
            try:
                made.rmdir()
            except OSError:
                break
        self._made = []


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
        self.memory_pool = page_memory_pool()
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
        pq.write_table(table, temporary, compression="snappy", memory_pool=self.memory_pool)
        with self._lock:
            if self.closed:  # the extract failed while this page was in flight
                temporary.unlink(missing_ok=True)
                return path
            os.replace(temporary, path)
            self.written.append(path)
        return path

    def rows_written(self) -> int:
        """The rows in the files written, read back from their Parquet footers."""
        return rows_in(self.written)

    def remove_written(self) -> None:
        """Remove the files this writer made (after a failed or cancelled extract)."""
        with self._lock:
            self.closed = True
            written, self.written = self.written, []
        for path in written:
            path.unlink(missing_ok=True)
        for stray in self.folder.glob(".part-*.parquet.tmp"):
            stray.unlink(missing_ok=True)


def rows_in(paths: list[Path]) -> int:
    """The rows the Parquet files hold, as their footers (metadata) say."""
    return sum(pq.read_metadata(path).num_rows for path in paths)
