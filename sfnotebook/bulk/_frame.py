"""Typed Bulk API 2.0 pages -> one result table, and ``csv_frame`` for CSV bytes. Pure.

Between pages only compact typed Arrow arrays are kept (:class:`FrameAssembler`); the result
is built once, column by column, at the end, by the output seam (:mod:`sfnotebook._output`)
with the rows of :mod:`sfnotebook.dtypes`, so ``extract`` gives the types ``org.query`` gives.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sfnotebook import _output
from sfnotebook import dtypes as _dt
from sfnotebook.bulk._buffer import PageBytes
from sfnotebook.bulk._csv import (
    Data,
    DescribeOf,
    PageSchema,
    infer_text_type,
    page_schema,
    read_header,
    read_page,
    strip_nul,
)

__all__ = ["FrameAssembler", "csv_frame", "page_memory_pool", "return_freed_memory"]


_POOL: list[pa.MemoryPool] = []
_POOL_LOCK = threading.Lock()


def page_memory_pool() -> pa.MemoryPool:
    """The Arrow memory pool Bulk pages are parsed, typed and written with (both paths).

    Every page is parsed, kept or written, and its buffers come and go page after page.
    pyarrow's default pool (mimalloc in most wheels) keeps freed pages cached, so resident
    memory grew with the row count although the live Arrow data did not
    (../shared/perf/measurements-2026-12.md §5: 1.30x / 1.53x from 200k to 1M rows at
    concurrency 1 / 4 on the Parquet path; the DataFrame path held about 80 MB more than its
    live data at 1M rows). pyarrow's jemalloc pool with its decay time set to 0 returns freed
    pages to the system at once.

    Only sfnotebook's own Bulk path uses it (``memory_pool=`` on the CSV reader, the casts and
    the Parquet writer); the user's default pool is not changed. ``jemalloc_set_decay_ms``
    is a setting of pyarrow's jemalloc pool as a whole: user code that also asks for
    ``pyarrow.jemalloc_memory_pool()`` gets the same eager return of freed memory (a few more
    page faults, never more memory). A pyarrow built without jemalloc gets the default pool.
    """
    with _POOL_LOCK:
        if not _POOL:
            try:
                pool = pa.jemalloc_memory_pool()
                pa.jemalloc_set_decay_ms(0)
            except NotImplementedError:  # pyarrow.ArrowNotImplementedError derives from it
                pool = pa.default_memory_pool()
            _POOL.append(pool)
        return _POOL[0]


def _libc_trim() -> Any:
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _libc_trim() if sys.platform.startswith("linux") else None


def return_freed_memory(pool: pa.MemoryPool | None = None) -> None:
    """Give memory freed by the last page back to the system (called once per Bulk page).

    A page's body lives in a map of its own, unmapped once the page is parsed
    (:mod:`sfnotebook.bulk._buffer`); what else a page costs (its 1 MiB pieces as they are
    read, its parsed Arrow arrays) is freed once the page is typed, but neither allocator hands
    the pages back by itself: glibc keeps freed blocks in its heaps (its mmap threshold grows
    with the largest block freed), and Arrow's pools keep freed pages cached. So resident
    memory grew page after page although the live data did not
    (../shared/perf/measurements-2026-12.md §5). ``malloc_trim(0)`` returns the free parts of
    glibc's heaps, ``release_unused`` the pool's cache. Both only return memory that is
    already free, and change no setting of the process (unlike ``mallopt(M_MMAP_THRESHOLD)``,
    which would).
    """
    (pool or pa.default_memory_pool()).release_unused()
    if _TRIM is not None:
        _TRIM(0)


class FrameAssembler:
    """Collects typed pages; builds the DataFrame at the end, one column at a time.

    Only typed Arrow arrays are held between pages; each column's chunks are released as soon
    as that column has been turned into its pandas array, so the peak is the typed data plus
    one column.
    """

    def __init__(self, schema: PageSchema, *, large_text: bool = False) -> None:
        self.schema = schema
        self.rows = 0
        self.large_text = large_text
        self._chunks: list[list[pa.Array]] = [[] for _ in schema.names]

    def add(self, table: pa.Table) -> int:
        """Keep one typed page (from :func:`typed_page`); return its row count.

        With ``large_text`` (a pandas result), text is kept as ``large_string``, the storage of
        pandas' ``string`` dtype: converted page by page here, the text columns become pandas
        arrays at the end without a copy, instead of every text column's offsets being
        rewritten at once while the frame is built (when memory peaks).
        """
        for i, column in enumerate(table.columns):
            if self.large_text and column.type == pa.string():
                column = pc.cast(column, pa.large_string(), memory_pool=page_memory_pool())
            self._chunks[i].extend(column.chunks)
        self.rows += table.num_rows
        return table.num_rows

    def _columns(self) -> Iterator[_output.Column]:
        """The columns, each one's chunks handed over (and released here) one at a time."""
        for i, (name, sf_type) in enumerate(zip(self.schema.names, self.schema.types, strict=True)):
            chunks, self._chunks[i] = self._chunks[i], []
            if sf_type is None:  # no describe told the type: inferred from the text
                text = pa.chunked_array(chunks, type=chunks[0].type if chunks else pa.string())
                text = text.cast(pa.string())  # a large_text page's text (the rare case)
                sf_type = infer_text_type(text)
                chunks = _as_chunks(_dt.field_type(sf_type).csv(text)) if len(text) else []
            row = _dt.field_type(sf_type)
            yield _output.Column(name, row, chunks or [row.empty()])
            del chunks

    def frame(
        self, *, dtypes: Mapping[str, Any] | None = None, output: _output.Output = "pandas"
    ) -> Any:
        """The result table, with the caller's ``dtypes=`` overrides applied last."""
        return _output.table(self._columns(), rows=self.rows, output=output, dtypes=dtypes)


def _as_chunks(value: Any) -> list[Any]:
    return list(value.chunks) if isinstance(value, pa.ChunkedArray) else [value]


def csv_frame(
    pages: Data | Sequence[Data],
    *,
    describe: Any = None,
    root: str | None = None,
    types: Mapping[str, str | None] | None = None,
    dtypes: Mapping[str, Any] | None = None,
    output: _output.Output | None = None,
) -> Any:
    """Convert Bulk API 2.0 CSV result pages (bytes) into one typed DataFrame.

    Parameters
    ----------
    pages : bytes or list of bytes
        One page, or the pages in order (each with its header row, as Salesforce sends them).
    describe : optional
        ``describe_of(object_name) -> describe`` callable, or one object describe, used to type
        the columns (parents through ``referenceTo`` / ``relationshipName``).
    root : str, optional
        The queried object (taken from ``describe`` when it is one object's describe).
    types : dict, optional
        ``{column: salesforce_type}``; wins over the describes. Columns of unknown type are
        inferred from their values.
    dtypes : dict, optional
        ``{column: dtype}`` overrides applied last.
    output : {"pandas", "polars", "arrow"}, optional
        The library of the result (no connection here: None means ``"pandas"``).

    Examples
    --------
    >>> from sfnotebook.bulk._frame import csv_frame
    >>> csv_frame(b'"Id","IsWon"\\n"006000000000001AAA","true"\\n', types={"IsWon": "boolean"})
    ...     # doctest: +SKIP
    """
    if isinstance(pages, bytes | bytearray | PageBytes):
        pages = [pages]
    describe_of: DescribeOf | None = None
    if callable(describe):
        describe_of = describe
    elif isinstance(describe, Mapping) and "fields" in describe:
        name = str(describe.get("name"))
        root = root or name
        describe_of = lambda obj: describe if str(obj).lower() == name.lower() else None  # noqa: E731
    assembler: FrameAssembler | None = None
    for data in pages:
        clean = strip_nul(data)
        headers = read_header(clean)
        if assembler is None:
            schema = page_schema(headers, describe_of=describe_of, root=root, types=types)
            assembler = FrameAssembler(schema)
        if headers:
            assembler.add(read_page(clean, assembler.schema))
    if assembler is None:
        assembler = FrameAssembler(PageSchema((), (), ()))
    return assembler.frame(dtypes=dtypes, output=_output.resolve(output))
