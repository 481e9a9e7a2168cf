"""Typed Bulk API 2.0 pages -> one pandas DataFrame, and ``csv_frame`` for CSV bytes. Pure.

Between pages only compact typed Arrow arrays are kept (:class:`FrameAssembler`); the pandas
frame is built once, column by column, at the end, with the dtype table of
:mod:`sfnotebook.dtypes`, so ``extract`` gives the dtypes ``org.query`` gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from sfnotebook import dtypes as _dt
from sfnotebook.bulk._csv import (
    Data,
    DescribeOf,
    PageSchema,
    infer_text_type,
    page_schema,
    read_header,
    read_page,
    strip_nul,
    type_column,
)

__all__ = ["FrameAssembler", "csv_frame"]


class FrameAssembler:
    """Collects typed pages; builds the DataFrame at the end, one column at a time.

    Only typed Arrow arrays are held between pages; each column's chunks are released as soon
    as that column has been turned into its pandas array, so the peak is the typed data plus
    one column.
    """

    def __init__(self, schema: PageSchema) -> None:
        self.schema = schema
        self.rows = 0
        self._chunks: list[list[pa.Array]] = [[] for _ in schema.names]

    def add(self, table: pa.Table) -> int:
        """Keep one typed page (from :func:`typed_page`); return its row count."""
        for i, column in enumerate(table.columns):
            self._chunks[i].extend(column.chunks)
        self.rows += table.num_rows
        return table.num_rows

    def frame(self, *, dtypes: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The DataFrame, with the caller's ``dtypes=`` overrides applied last."""
        data: dict[str, Any] = {}
        for i, (name, sf_type) in enumerate(zip(self.schema.names, self.schema.types, strict=True)):
            chunks, self._chunks[i] = self._chunks[i], []
            if sf_type is None:
                text = pa.chunked_array(chunks, type=pa.string())
                sf_type = infer_text_type(text)
                chunks = _as_chunks(type_column(text, sf_type)) if len(text) else []
            elif isinstance(_dt.empty_chunk(sf_type), list):  # anyType: Python objects
                chunks = [[v for c in chunks for v in c.to_pylist()]]
            if not chunks:
                chunks = [_dt.empty_chunk(sf_type)]
            if _is_text(sf_type):
                # Text stays in its per-page Arrow chunks: joining them would copy the largest
                # columns of the result once more at the very moment memory peaks.
                text = pa.chunked_array(chunks, type=pa.string())
                data[name] = pd.array(text, dtype=_dt.pandas_dtype(sf_type))
            else:
                data[name] = _dt.finalize(chunks, sf_type)
            del chunks
        frame = pd.DataFrame(data, index=pd.RangeIndex(self.rows), copy=False)
        return _dt.apply_overrides(frame, dtypes)


def _is_text(sf_type: str) -> bool:
    chunk = _dt.empty_chunk(sf_type)
    return isinstance(chunk, pa.Array) and pa.types.is_string(chunk.type)


def _as_chunks(value: Any) -> list[Any]:
    return list(value.chunks) if isinstance(value, pa.ChunkedArray) else [value]


def csv_frame(
    pages: Data | Sequence[Data],
    *,
    describe: Any = None,
    root: str | None = None,
    types: Mapping[str, str | None] | None = None,
    dtypes: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
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

    Examples
    --------
    >>> from sfnotebook.bulk._csv import csv_frame
    >>> csv_frame(b'"Id","IsWon"\\n"006000000000001AAA","true"\\n', types={"IsWon": "boolean"})
    ...     # doctest: +SKIP
    """
    if isinstance(pages, bytes | bytearray):
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
    return assembler.frame(dtypes=dtypes)
