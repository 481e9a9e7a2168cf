"""A job's three result sets -> each input row's outcome, and the results frame. Pure.

Salesforce sends ``successfulResults`` (``sf__Id``, ``sf__Created``, the uploaded columns),
``failedResults`` (``sf__Id``, ``sf__Error``, the uploaded columns) and
``unprocessedrecords`` (the uploaded columns); "the order of records in the response is not
guaranteed to match the ordering of records in the original job data", and the uploaded
columns may come back in another order. So each result row is matched to the row sent by
content: by the key column when there is one (``Id`` for update and delete, the external id
for upsert: each given once, as checked before sending), else by every column (insert; rows
sent identical are interchangeable, and take their outcomes in order). A result row that
matches nothing sent, or counts that do not add up to the rows sent (and to the job's
``numberRecordsProcessed`` / ``numberRecordsFailed``), raise
:class:`~sfnotebook.errors.IngestIncompleteError`.

``sf__Error`` reads ``CODE:message:fields --`` (``CODE:message:--`` without fields); the frame
keeps the code and the message. Rows without a Salesforce outcome get sfnotebook's own codes:
``NOT_PROCESSED`` (their job failed or was aborted before reaching them) and ``NOT_SENT``
(the call stopped before their job was created).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pyarrow as pa

from sfnotebook import _output
from sfnotebook.errors import IngestIncompleteError
from sfnotebook.ingest._columns import NULL_TEXT
from sfnotebook.ingest._csv import Chunk
from sfnotebook.ingest._job import JobOutcome
from sfnotebook.ingest._validate import Column

__all__ = ["NOT_PROCESSED", "NOT_SENT", "Outcomes", "parse_error"]

NOT_PROCESSED = "NOT_PROCESSED"
NOT_SENT = "NOT_SENT"
RESULT_COLUMNS = ("row", "success", "created", "id", "error_code", "error_message", "job_id")


def parse_error(text: str) -> tuple[str | None, str]:
    """``(code, message)`` of an ``sf__Error`` cell."""
    code, sep, rest = text.partition(":")
    if not sep or not code.replace("_", "").isalnum() or code.upper() != code:
        return None, text
    body = rest[:-2].rstrip() if rest.endswith("--") else rest
    if body.endswith(":"):
        return code, body[:-1]
    if rest.endswith("--") and ":" in body:
        message, _, fields = body.rpartition(":")
        if fields and " " not in fields.strip():
            return code, message
    return code, body


@dataclass
class Outcomes:
    """Every input row's outcome, filled job by job."""

    count: int
    success: list[bool | None] = field(default_factory=list)
    created: list[bool | None] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    codes: list[str | None] = field(default_factory=list)
    messages: list[str | None] = field(default_factory=list)
    jobs: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("success", "created", "ids", "jobs"):
            setattr(self, name, [None] * self.count)
        self.codes = [NOT_SENT] * self.count
        self.messages = [
            "not sent: the call stopped before this row's job was created"
        ] * self.count
        self.success = [False] * self.count

    @property
    def failed(self) -> int:
        return sum(1 for s in self.success if not s)

    def record(
        self,
        chunk: Chunk,
        columns: Sequence[Column],
        key: str | None,
        job_id: str,
        outcome: JobOutcome,
        *,
        skip_nulls: bool,
    ) -> None:
        """Match one job's results to its rows; raise if they do not account for each one."""
        matcher = _Matcher(chunk, columns, key, skip_nulls)
        good = _read(outcome.successful)
        bad = _read(outcome.failed)
        left = _read(outcome.unprocessed)
        received = len(good.rows) + len(bad.rows) + len(left.rows)
        expected = (
            ("rows sent", chunk.rows, received),
            (
                "numberRecordsProcessed",
                _int(outcome.info.get("numberRecordsProcessed")),
                len(good.rows) + len(bad.rows),
            ),
            ("numberRecordsFailed", _int(outcome.info.get("numberRecordsFailed")), len(bad.rows)),
        )
        for what, want, got in expected:
            if want is not None and want != got:
                self._incomplete(
                    job_id,
                    outcome,
                    f"{what} is {want:,} but its results hold {got:,} rows",
                    want,
                    got,
                )
        for rows, kind in ((good, "successful"), (bad, "failed"), (left, "unprocessed")):
            for cells in rows.rows:
                position = matcher.take(rows.header, cells)
                if position is None:
                    self._incomplete(
                        job_id,
                        outcome,
                        f"a row of its {kind} results matches no row sent",
                        chunk.rows,
                        received,
                    )
                self._set(position, rows, cells, kind, job_id, outcome)

    def _set(
        self, i: int, rows: _Csv, cells: list[str], kind: str, job_id: str, outcome: JobOutcome
    ) -> None:
        self.jobs[i] = job_id
        record_id = rows.get(cells, "sf__Id") or None
        if kind == "successful":
            self.success[i], self.ids[i] = True, record_id
            self.created[i] = (rows.get(cells, "sf__Created") or "").lower() == "true"
            self.codes[i] = self.messages[i] = None
        elif kind == "failed":
            self.success[i], self.created[i], self.ids[i] = False, False, record_id
            self.codes[i], self.messages[i] = parse_error(rows.get(cells, "sf__Error") or "")
        else:
            self.codes[i] = NOT_PROCESSED
            reason = outcome.info.get("errorMessage") or "no error message given"
            self.messages[i] = f"not processed: job {job_id} ended {outcome.state} ({reason})"

    def _incomplete(
        self, job_id: str, outcome: JobOutcome, why: str, expected: int | None, received: int | None
    ) -> NoReturn:
        raise IngestIncompleteError(
            f"The results of ingest job {job_id} ({outcome.state}) do not add up: {why}. "
            "Which rows were written cannot be told from them: check the job in Setup > Bulk "
            "Data Load Jobs before sending any row again.",
            job_id=job_id,
            expected=expected,
            received=received,
            results=None,
        )

    def frame(self, labels: list[Any], index_name: Any, output: _output.Output) -> Any:
        """The results table: one row per input row, in input order."""
        table = pa.table(
            {
                "row": pa.array(range(self.count), pa.int64()),
                "success": pa.array(self.success, pa.bool_()),
                "created": pa.array(self.created, pa.bool_()),
                "id": pa.array(self.ids, pa.string()),
                "error_code": pa.array(self.codes, pa.string()),
                "error_message": pa.array(self.messages, pa.string()),
                "job_id": pa.array(self.jobs, pa.string()),
            }
        )
        if output == "arrow":
            return table
        if output == "polars":
            import polars as pl

            return pl.from_arrow(table)
        import pandas as pd

        text = pd.StringDtype("pyarrow")
        frame = pd.DataFrame(
            {
                "row": table["row"].to_numpy(),
                "success": pd.array(self.success, dtype="boolean"),
                "created": pd.array(self.created, dtype="boolean"),
                "id": pd.array(self.ids, dtype=text),
                "error_code": pd.array(self.codes, dtype=text),
                "error_message": pd.array(self.messages, dtype=text),
                "job_id": pd.array(self.jobs, dtype=text),
            },
            index=pd.Index(labels, name=index_name)
            if labels
            else pd.RangeIndex(0, name=index_name),
        )
        return frame


@dataclass
class _Csv:
    header: list[str]
    rows: list[list[str]]
    where: dict[str, int]

    def get(self, cells: list[str], name: str) -> str | None:
        at = self.where.get(name.lower())
        return cells[at] if at is not None and at < len(cells) else None


def _read(data: bytes) -> _Csv:
    text = data.decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    header = rows[0] if rows else []
    return _Csv(header, rows[1:], {name.strip().lower(): i for i, name in enumerate(header)})


class _Matcher:
    """Positions of the rows sent, by the text Salesforce echoes for them."""

    def __init__(
        self, chunk: Chunk, columns: Sequence[Column], key: str | None, skip_nulls: bool
    ) -> None:
        null = "" if skip_nulls else NULL_TEXT
        self.names = [c.header for c in columns if key is None or c.header.lower() == key.lower()]
        chosen = [c for c in columns if c.header in self.names]
        self.fold = key is not None
        self.waiting: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
        for i in range(chunk.start, chunk.stop):
            values = tuple(null if c.text[i] is None else str(c.text[i]) for c in chosen)
            self.waiting[self._norm(values)].append(i)

    def _norm(self, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower() for v in values) if self.fold else values

    def take(self, header: list[str], cells: list[str]) -> int | None:
        where = {name.strip().lower(): i for i, name in enumerate(header)}
        try:
            values = tuple(cells[where[name.lower()]] for name in self.names)
        except (KeyError, IndexError):
            return None
        queue = self.waiting.get(self._norm(values))
        return queue.popleft() if queue else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
