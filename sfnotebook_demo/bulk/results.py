"""Result files of Bulk API 2.0 query jobs: CSV exactly as Salesforce writes it (reference §6.4).

A job's rows are written once, when it runs, to a private CSV file (its snapshot), with the
byte offset of every row kept in an array. A results page is then a header row plus one byte
range of that file, so any ``maxRecords``/locator combination is served without formatting
again, and a 100,000-row page costs one file read.

Formatting: every value double-quoted with ``"`` doubled; null is an empty, unquoted cell;
booleans ``true``/``false``; datetimes ``2019-01-05T03:41:05.000Z``; dates ``YYYY-MM-DD``;
times ``HH:MM:SS.000Z``; numbers plain (Python ``repr`` of the stored value).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DELIMITERS",
    "LINE_ENDINGS",
    "ResultFile",
    "decode_locator",
    "encode_locator",
    "write_results",
]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}

_BATCH = 5_000  # rows formatted at once
_READ = 1 << 20  # bytes per chunk when streaming a page


def encode_locator(offset: int) -> str:
    """An opaque locator for the row ``offset``: base64 of the decimal offset, unpadded.

    Salesforce's look the same (``MTAwMDA`` is base64 of ``10000``); clients must treat them
    as opaque.
    """
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    """The row offset of a locator, or ``None`` when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _quote(v: Any) -> str:
    return '"' + v.replace('"', '""') + '"'


def _text(col: Sequence[Any]) -> list[str]:
    return ["" if v is None else '"' + v.replace('"', '""') + '"' for v in col]


def _plain(col: Sequence[Any]) -> list[str]:
    """Values that never contain a quote (ids, dates, times)."""
    return ["" if v is None else '"' + v + '"' for v in col]


def _number(col: Sequence[Any]) -> list[str]:
    return ["" if v is None else '"' + repr(v) + '"' for v in col]


def _boolean(col: Sequence[Any]) -> list[str]:
    return ["" if v is None else ('"true"' if v else '"false"') for v in col]


def _datetime(col: Sequence[Any]) -> list[str]:
    # Stored as 2019-01-05T03:41:05.000+0000; Bulk CSV writes 2019-01-05T03:41:05.000Z.
    return ["" if v is None else '"' + v[:-5] + 'Z"' for v in col]


_FORMATTERS: dict[str, Callable[[Sequence[Any]], list[str]]] = {
    "id": _plain,
    "reference": _plain,
    "date": _plain,
    "time": _plain,
    "boolean": _boolean,
    "datetime": _datetime,
    "int": _number,
    "double": _number,
    "currency": _number,
    "percent": _number,
    "long": _number,
}


class ResultFile:
    """A written result: the CSV rows (no header) and the byte offset of every row."""

    def __init__(self, path: Path, header: bytes, offsets: np.ndarray) -> None:
        self.path = path
        self.header = header
        self.offsets = offsets

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    def page(self, start: int, count: int) -> tuple[int, Iterator[bytes]]:
        """``(rows, chunks)`` of the page of ``count`` rows from row ``start``."""
        end = min(start + count, self.rows)
        first, last = int(self.offsets[start]), int(self.offsets[end])
        return end - start, self._stream(first, last)

    def _stream(self, first: int, last: int) -> Iterator[bytes]:
        yield self.header
        with open(self.path, "rb") as fh:
            fh.seek(first)
            remaining = last - first
            while remaining > 0:
                chunk = fh.read(min(_READ, remaining))
                if not chunk:  # the file was deleted under us (job deleted mid-download)
                    return
                remaining -= len(chunk)
                yield chunk

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def write_results(
    path: Path,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    delimiter: str = ",",
    line_ending: str = "\n",
    cancelled: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> ResultFile | None:
    """Write ``rows`` (storage values) as Bulk API CSV to ``path``.

    Returns ``None`` when ``cancelled`` was set while writing (the file is removed).
    ``progress`` is called with the number of rows written so far after each batch.
    """
    header = (delimiter.join(_quote(c) for c in columns) + line_ending).encode()
    formatters = [_FORMATTERS.get(t, _text) for t in types]
    offsets = [np.zeros(1, dtype=np.int64)]
    written = 0
    source = iter(rows)
    with open(path, "wb") as fh:
        # islice takes each batch in C: no Python statement runs per row here.
        while batch := list(itertools.islice(source, _BATCH)):
            written += _write_batch(fh, batch, formatters, delimiter, line_ending, offsets)
            if len(batch) < _BATCH:
                break
            if progress is not None:
                progress(written)
            if cancelled is not None and cancelled.is_set():
                break
    if cancelled is not None and cancelled.is_set():
        path.unlink(missing_ok=True)
        return None
    if progress is not None:
        progress(written)
    return ResultFile(path, header, np.concatenate(offsets))


def _write_batch(
    fh: Any,
    batch: list[tuple[Any, ...]],
    formatters: list[Callable[[Sequence[Any]], list[str]]],
    delimiter: str,
    line_ending: str,
    offsets: list[np.ndarray],
) -> int:
    columns = [fmt(col) for fmt, col in zip(formatters, zip(*batch, strict=True), strict=True)]
    # map() keeps the per-row work in C: this runs once per row of a million-row extract.
    lines = list(map(delimiter.join, zip(*columns, strict=True)))
    text = line_ending.join(lines) + line_ending
    data = text.encode()
    n = len(lines)
    # Row offsets in bytes: character counts equal byte counts for ASCII text only.
    if len(data) == len(text):
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=n)
    else:
        lengths = np.fromiter((len(s.encode()) for s in lines), dtype=np.int64, count=n)
    ends = np.cumsum(lengths + len(line_ending.encode())) + offsets[-1][-1]
    offsets.append(ends)
    fh.write(data)
    return n
