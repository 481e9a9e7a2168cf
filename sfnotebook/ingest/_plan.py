"""What a write would send (``dry_run=True``): columns and types, rows, jobs and API calls."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

__all__ = ["CALLS_PER_JOB", "IngestPlan"]

# create, upload, close, at least one status check, the three result sets
CALLS_PER_JOB = 7
# "Salesforce creates a separate batch for every 10,000 records in your job data"; batches
# count against the org's 15,000 a day shared by Bulk API and Bulk API 2.0 (limits cheatsheet).
ROWS_PER_BATCH = 10_000


@dataclass(frozen=True)
class IngestPlan:
    """The jobs a write would run; nothing was sent (only the describes were read).

    Attributes
    ----------
    operation, sobject : str
        ``insert``/``update``/``upsert``/``delete`` and the object's API name.
    external_id : str or None
        The upsert key.
    columns : list of (column, csv_header, salesforce_type)
        What each frame column is sent as.
    rows : int
        Rows that would be sent.
    jobs : list of (first_row, stop_row, csv_bytes)
        One Bulk API 2.0 job per entry (positions in the input, ``stop`` excluded).
    sample : str
        The CSV header and first rows, as they would be uploaded.
    """

    operation: str
    sobject: str
    external_id: str | None
    columns: list[tuple[str, str, str]]
    rows: int
    jobs: list[tuple[int, int, int]]
    sample: str

    @property
    def api_calls(self) -> int:
        """API requests the write would spend, at least (more status checks on long jobs)."""
        return CALLS_PER_JOB * len(self.jobs)

    @property
    def batches(self) -> int:
        """Bulk API batches of the daily allocation the jobs would use."""
        return sum(math.ceil((stop - start) / ROWS_PER_BATCH) for start, stop, _ in self.jobs)

    def __repr__(self) -> str:
        key = f" by {self.external_id}" if self.external_id else ""
        lines = [
            f"<IngestPlan {self.operation} {self.rows:,} rows into {self.sobject}{key}: "
            f"{len(self.jobs)} job(s), at least {self.api_calls} API calls, "
            f"{self.batches} Bulk API batch(es); nothing was sent>",
        ]
        lines += [f"  {c!r} -> {h} ({t})" for c, h, t in self.columns]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c)}</td><td><code>{html.escape(h)}</code></td>"
            f"<td>{html.escape(t)}</td></tr>"
            for c, h, t in self.columns
        )
        key = f" by <code>{html.escape(self.external_id)}</code>" if self.external_id else ""
        return (
            f"<div><b>Dry run</b>: {html.escape(self.operation)} {self.rows:,} rows into "
            f"<code>{html.escape(self.sobject)}</code>{key}, {len(self.jobs)} job(s), at least "
            f"{self.api_calls} API calls, {self.batches} Bulk API batch(es). Nothing was sent."
            "<table><tr><th>column</th><th>sent as</th><th>Salesforce type</th></tr>"
            f"{rows}</table><pre>{html.escape(self.sample)}</pre></div>"
        )
