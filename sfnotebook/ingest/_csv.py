"""The CSV a job uploads, and how the rows are split into jobs. Pure: no I/O.

Bulk API 2.0 reads UTF-8 CSV with a header row of field API names (relationship columns as
``Relationship.Field``); a value holding the delimiter, a quote or a line break is quoted,
quotes doubled, and nothing is trimmed ("Valid CSV Record Rows"). The job declares
``columnDelimiter`` COMMA and ``lineEnding`` LF, which is what is written here. ``#N/A`` sets a
field to null; an empty cell leaves it as it is (developer.salesforce.com/docs/atlas.en-us.
api_asynch.meta/api_asynch/datafiles_csv_valid_record_rows.htm).

One upload may hold 150 MB of base64-encoded data, "upload data that does not exceed 100 MB"
(upload_job_data.htm), and a job takes one upload: rows are split into jobs of at most
:data:`MAX_JOB_BYTES` of CSV each (and at most ``rows_per_job`` rows, when given).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

from sfnotebook.ingest._columns import NULL_TEXT
from sfnotebook.ingest._validate import Column

__all__ = ["MAX_JOB_BYTES", "Chunk", "split"]

MAX_JOB_BYTES = 100 * 1024 * 1024


class _Echo:
    """A file whose ``write`` returns what it is given: ``csv.writer.writerow`` then returns
    the formatted line."""

    def write(self, text: str) -> str:
        return text


@dataclass
class Chunk:
    """The rows ``start:stop`` of the input and the CSV bytes of their job."""

    start: int
    stop: int
    data: bytes

    @property
    def rows(self) -> int:
        return self.stop - self.start


def split(
    columns: Sequence[Column],
    count: int,
    *,
    skip_nulls: bool = False,
    rows_per_job: int | None = None,
    max_bytes: int = MAX_JOB_BYTES,
) -> list[Chunk]:
    """The input rows as jobs' CSV uploads, in order, each within the limits."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    header = writer.writerow([c.header for c in columns]).encode("utf-8")
    null = "" if skip_nulls else NULL_TEXT
    texts = [c.text for c in columns]
    chunks: list[Chunk] = []
    lines: list[bytes] = []
    size = len(header)
    start = 0
    for i in range(count):
        line = writer.writerow([null if t[i] is None else t[i] for t in texts]).encode("utf-8")
        full = rows_per_job is not None and len(lines) >= rows_per_job
        if lines and (full or size + len(line) > max_bytes):
            chunks.append(Chunk(start, i, header + b"".join(lines)))
            lines, size, start = [], len(header), i
        lines.append(line)
        size += len(line)
    if lines:
        chunks.append(Chunk(start, count, header + b"".join(lines)))
    return chunks
