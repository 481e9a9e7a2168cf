"""Turning downloaded result pages into the extract's result: a table or Parquet files.

Pages are parsed in the download threads (:meth:`Collector.handle`), then handed back in page
order (:meth:`Collector.keep`). The schema is fixed by the first page to arrive, from the
describes, before anything is kept or written.

Each page is checked where it is parsed, with no work per row: its header must be the first
page's (Salesforce repeats it on every page), with one column per item of the SELECT list
(Bulk API 2.0 takes no subqueries, TYPEOF or compound fields, so each item is one column), and
it must parse as the schema says. Anything else is an
:class:`~sfnotebook.errors.UnexpectedAnswerError` naming the page's endpoint.

:meth:`Collector.finish` is where the result is checked before it is returned: the rows
received must equal the job's ``numberRecordsProcessed``, and with ``to=`` the rows in the
files (read back from their footers) must equal the rows received, before the new folder is
swapped in for the caller's (see :class:`~sfnotebook.bulk._parquet.OutputTarget`).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sfnotebook import _output
from sfnotebook import _soql_parse as sp
from sfnotebook._answers import Body, unexpected
from sfnotebook._api import OrgApi
from sfnotebook.bulk import _csv
from sfnotebook.bulk._buffer import PageBytes
from sfnotebook.bulk._frame import FrameAssembler, page_memory_pool, return_freed_memory
from sfnotebook.bulk._pages import Page
from sfnotebook.bulk._parquet import OutputTarget, ParquetFolder
from sfnotebook.errors import (
    IncompleteResultError,
    RequestLimitExceededError,
    SalesforceError,
)

__all__ = ["Collector", "PageResult"]

_HINT_COLUMNS = (
    "A result page of another shape than the job's arrived: check that nothing between you "
    "and Salesforce rewrites answers, then run the extract again."
)


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
        target: OutputTarget | None,
        dtypes: Mapping[str, Any] | None,
        output: _output.Output = "pandas",
    ) -> None:
        self.conn = conn
        self.output = output
        self.soql = soql
        self.root = root
        self.target = target
        self.folder: Path | None = target.stage() if target is not None else None
        self.dtypes = dtypes
        self.received = 0
        self.writer: ParquetFolder | None = None
        self.assembler: FrameAssembler | None = None
        self._schema: _csv.PageSchema | None = None
        self._width = _select_width(soql)
        self._lock = threading.Lock()

    def _describe_of(self, name: str) -> Any:
        try:
            return self.conn.describe(name)
        except SalesforceError as exc:
            # Only an object this user may not describe keeps its columns as text; a transient
            # fault (5xx, network, API limit) or a malformed answer must not quietly untype
            # the result, so it raises.
            if exc.status not in (403, 404) or isinstance(exc, RequestLimitExceededError):
                raise
            return None

    def schema(self, headers: list[str]) -> _csv.PageSchema:
        """The extract's schema, fixed by the first page to arrive (from the describes)."""
        with self._lock:
            if self._schema is None:
                self._schema = _csv.page_schema(
                    headers, describe_of=self._describe_of, root=self.root
                )
                self.assembler = FrameAssembler(self._schema, large_text=self.output == "pandas")
                self.dtypes = _spelled_as(self.dtypes, self._schema.names)
                if self.folder is not None:
                    self.writer = ParquetFolder(self.folder, self._schema, dtypes=self.dtypes)
            return self._schema

    def handle(self, page: Page) -> PageResult:
        """Parse and type one page (in a download thread); write it out with ``to=``.

        The page's bytes are released (their map unmapped) once it is parsed, or when it
        fails, before its table is written.
        """
        try:
            table = self._table(page)
        finally:
            page.release()
        if table is None:  # an empty body: no rows, not even a header
            return PageResult(page.index, 0, None)
        pool = page_memory_pool()
        if self.writer is not None:
            self.writer.write(page.index, table)
            rows, table = table.num_rows, None
        else:
            rows = table.num_rows
        return_freed_memory(pool)  # the page's bytes (and, to=, its table) are free now
        return PageResult(page.index, rows, table)

    def _table(self, page: Page) -> pa.Table | None:
        """The page as a typed table (None for an empty body)."""
        data: _csv.Data = _csv.strip_nul(page.data)
        if not isinstance(data, Body | PageBytes):  # NULs were dropped: keep a repr that
            data = Body(data)  # hides the bytes
        headers = self._headers(page, data)
        if not headers:
            return None
        schema = self.schema(headers)
        if tuple(headers) != schema.headers:
            what = f"a page with the columns {headers}, where the first had {list(schema.headers)}"
            raise unexpected(page.response, page.endpoint, what, _HINT_COLUMNS, body=data)
        return _parsed(page, data, schema, page_memory_pool())

    def _headers(self, page: Page, data: _csv.Data) -> list[str]:
        """The page's header line, which must have a column per item of the SELECT list."""
        try:
            headers = _csv.read_header(data)
        except (UnicodeDecodeError, csv.Error) as exc:
            failure = f"a page whose header line does not read as UTF-8 CSV ({exc})"
        else:
            if not headers or self._width is None or len(headers) == self._width:
                return headers
            failure = f"a page with {len(headers)} columns ({headers[:8]}) for {self._width}"
            failure += " items of the SELECT list"
        raise unexpected(page.response, page.endpoint, failure, _HINT_COLUMNS, body=data)

    def keep(self, result: PageResult) -> None:
        """Keep a parsed page's table (called in page order, in the main thread)."""
        self.received += result.rows
        if result.table is not None and self.assembler is not None:
            self.assembler.add(result.table)
            result.table = None

    def _fallback_schema(self) -> None:
        """No page had a header: take the columns from the SOQL's SELECT list (if known)."""
        columns, root = _csv.select_columns(self.soql)
        self.root = self.root or root
        self.schema(columns)

    def discard(self) -> None:
        """After a failure (workers already joined): drop the pages, remove the new folder."""
        self.assembler = None
        if self.writer is not None:
            self.writer.remove_written()
        if self.target is not None:
            self.target.discard()

    def finish(self, expected: int | None, *, job_id: str) -> Any:
        """The checked result table (in ``output``'s library), or the swapped-in folder.

        ``expected`` is the job's ``numberRecordsProcessed`` (None when the job did not say).
        """
        if expected is not None and self.received != expected:
            raise IncompleteResultError(
                f"Bulk job {job_id} processed {expected:,} rows but its result pages held "
                f"{self.received:,}; no partial result is returned. Run it again (or read the "
                f"job again with org.job_results({job_id!r}) while Salesforce keeps it, 7 days).",
                expected=expected,
                received=self.received,
            )
        if self._schema is None:
            self._fallback_schema()
        if self.folder is not None:
            assert self.writer is not None and self.target is not None  # noqa: S101 - schema
            if not self.writer.written:
                # No rows: one empty file keeps the columns and types for the readers.
                self.writer.write(0, self._schema_table())
            on_disk = self.writer.rows_written()
            if on_disk != self.received:
                raise IncompleteResultError(
                    f"The Parquet files of bulk job {job_id} hold {on_disk:,} rows but "
                    f"{self.received:,} were received; the folder was left as it was. Run "
                    "the extract again.",
                    expected=self.received,
                    received=on_disk,
                )
            return self.target.commit()
        assert self.assembler is not None  # noqa: S101 - set with the schema
        return self.assembler.frame(dtypes=self.dtypes, output=self.output)

    def _schema_table(self) -> pa.Table:
        assert self._schema is not None  # noqa: S101 - checked by finish
        return self._schema.arrow_schema().empty_table()


def _parsed(
    page: Page, data: _csv.Data, schema: _csv.PageSchema, pool: pa.MemoryPool | None = None
) -> pa.Table:
    """The page as a typed table; a body that does not parse as the schema says is an error
    naming the page (raised outside the handler: no pyarrow frames chained)."""
    try:
        return _csv.read_page(data, schema, memory_pool=pool, rows=page.records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        failure = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    raise unexpected(
        page.response,
        page.endpoint,
        f"a CSV page that does not parse ({failure})",
        "The page is not the CSV Salesforce sends (cut short, or rewritten on the way): run "
        "the extract again; if it keeps happening, check what sits between you and Salesforce.",
        body=data,
    )


def _select_width(soql: str) -> int | None:
    """The columns a Bulk-compatible SOQL gives, one per SELECT item (None: not known here)."""
    select = sp.parse_select(soql) if soql else None
    if select is None or not all(isinstance(i, sp.FieldRef) for i in select.items):
        return None
    return len(select.items)


def _spelled_as(dtypes: Mapping[str, Any] | None, names: Any) -> Mapping[str, Any] | None:
    """``dtypes=`` keys spelled as the result's columns (they match case-insensitively, as
    they do for ``org.query`` and for the check made before the job)."""
    if not dtypes:
        return dtypes
    by_lower = {str(n).lower(): str(n) for n in names}
    return {by_lower.get(k.lower(), k): v for k, v in dtypes.items()}
