"""Turning downloaded result pages into the extract's result: a table or Parquet files.

Pages are parsed in the download threads (:meth:`Collector.handle`), then handed back in page
order (:meth:`Collector.keep`). The schema is fixed by the first page to arrive, from the
describes, before anything is kept or written.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sfnotebook import _output
from sfnotebook._api import OrgApi
from sfnotebook.bulk import _csv
from sfnotebook.bulk._frame import FrameAssembler
from sfnotebook.bulk._pages import Page
from sfnotebook.bulk._parquet import ParquetFolder
from sfnotebook.errors import SfNotebookError

__all__ = ["Collector", "PageResult"]


@dataclass
class PageResult:
    """One parsed page: its index, its row count and its typed table (unless written)."""

    index: int
    rows: int
    table: pa.Table | None  # None once written to Parquet


class Collector:
    """Parses pages (in worker threads), keeps them in order, builds the result."""

    def __init__(
        self,
        conn: OrgApi,
        soql: str,
        *,
        root: str | None,
        folder: Path | None,
        dtypes: Mapping[str, Any] | None,
        output: _output.Output = "pandas",
    ) -> None:
        self.conn = conn
        self.output = output
        self.soql = soql
        self.root = root
        self.folder = folder
        self.dtypes = dtypes
        self.writer: ParquetFolder | None = None
        self.assembler: FrameAssembler | None = None
        self._schema: _csv.PageSchema | None = None
        self._lock = threading.Lock()

    def _describe_of(self, name: str) -> Any:
        try:
            return self.conn.describe(name)
        except SfNotebookError:
            return None  # an object this user cannot describe: its columns stay text

    def schema(self, headers: list[str]) -> _csv.PageSchema:
        """The extract's schema, fixed by the first page to arrive (from the describes)."""
        with self._lock:
            if self._schema is None:
                self._schema = _csv.page_schema(
                    headers, describe_of=self._describe_of, root=self.root
                )
                self.assembler = FrameAssembler(self._schema)
                if self.folder is not None:
                    self.writer = ParquetFolder(self.folder, self._schema, dtypes=self.dtypes)
            return self._schema

    def handle(self, page: Page) -> PageResult:
        """Parse and type one page (in a download thread); write it out with ``to=``."""
        data = _csv.strip_nul(page.data)
        page.data = bytearray()  # the page's bytes are not needed once parsed
        headers = _csv.read_header(data)
        if not headers:  # an empty body: no rows, not even a header
            return PageResult(page.index, 0, None)
        table = _csv.read_page(data, self.schema(headers))
        del data
        if self.writer is not None:
            self.writer.write(page.index, table)
            return PageResult(page.index, table.num_rows, None)
        return PageResult(page.index, table.num_rows, table)

    def keep(self, result: PageResult) -> None:
        """Keep a parsed page's table (called in page order, in the main thread)."""
        if result.table is not None and self.assembler is not None:
            self.assembler.add(result.table)
            result.table = None

    def _fallback_schema(self) -> None:
        """No page had a header: take the columns from the SOQL's SELECT list (if known)."""
        columns, root = _csv.select_columns(self.soql)
        self.root = self.root or root
        self.schema(columns)

    def discard(self) -> None:
        """After a failure: drop the pages kept, remove the Parquet files written."""
        self.assembler = None
        if self.writer is not None:
            self.writer.remove_written()

    def finish(self) -> Any:
        """The result table (in ``output``'s library), or the folder once every page is written."""
        if self._schema is None:
            self._fallback_schema()
        if self.folder is not None:
            assert self.writer is not None  # noqa: S101 - set with the schema
            if not self.writer.written:
                # No rows: one empty file keeps the columns and types for the readers.
                self.writer.write(0, self._schema_table())
            return self.folder
        assert self.assembler is not None  # noqa: S101 - set with the schema
        return self.assembler.frame(dtypes=self.dtypes, output=self.output)

    def _schema_table(self) -> pa.Table:
        assert self._schema is not None  # noqa: S101 - checked by finish
        return self._schema.arrow_schema().empty_table()
