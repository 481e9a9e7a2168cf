"""The demo org's Bulk API 2.0 ingest jobs: their life cycle, processing and result files.

States (Bulk API 2.0 "Get Information About an Ingest Job"): ``Open`` (created, taking its one
upload) -> ``UploadComplete`` (closed, queued) -> ``InProgress`` -> ``JobComplete`` |
``Failed`` | ``Aborted``. One worker thread processes the queued jobs in order, in batches of
10,000 rows ("Salesforce creates a separate batch for every 10,000 records in your job data",
datafiles_understanding_bulk2_ingest.htm), each batch one SQLite transaction on the org's
private copy of its data (:meth:`sfnotebook_demo.data.database.Database.writer`). An abort
stops at the next batch: rows processed stay written, the rest are unprocessed. With the
``fail_bulk_jobs`` fault a job ends ``Failed`` after its first batch (or its first half, if
smaller), leaving the remaining rows unprocessed.

Result files follow "Get Job Successful/Failed/Unprocessed Record Results": ``sf__Id``,
``sf__Created`` (or ``sf__Error``), then the uploaded columns; unprocessed rows carry the
uploaded columns only. "The order of records in the response is not guaranteed to match the
ordering of records in the original job data": here successful rows come batch by batch from
the last batch to the first, and the echoed columns in ASCII order of their names (as a real
failed-results file showed them), so a client must match rows by content, never by position.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfnotebook_demo.bulk.ingest_apply import Applier, HeaderError, resolve_header
from sfnotebook_demo.bulk.ingest_values import RowError
from sfnotebook_demo.data.model import SObject
from sfnotebook_demo.data.schema import get_sobject
from sfnotebook_demo.ids import make_id

__all__ = ["BATCH_ROWS", "IngestJob", "IngestState"]

BATCH_ROWS = 10_000
TERMINAL = ("JobComplete", "Failed", "Aborted")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class IngestJob:
    """One ingest job: its request, its one upload, its outcome per row."""

    id: str
    operation: str
    object: str
    external_id_field: str | None
    created_by: str
    api_version: str
    column_delimiter: str
    line_ending: str
    delimiter: str
    created: float = field(default_factory=time.time)
    created_date: str = field(default_factory=_now)
    modstamp: str = field(default_factory=_now)
    state: str = "Open"
    data: bytes | None = None
    uploads: int = 0
    processed: int = 0
    failed: int = 0
    started: float | None = None
    finished: float | None = None
    error_message: str | None = None
    header: list[str] = field(default_factory=list)
    successful: list[list[list[str]]] = field(default_factory=list)  # per batch
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def set_state(self, state: str) -> None:
        self.state = state
        self.modstamp = _now()

    def info(self, *, full: bool) -> dict[str, Any]:
        """The job info: the create/close shape, or (``full``) what ``GET`` adds."""
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
        }
        if self.external_id_field:
            out["externalIdFieldName"] = self.external_id_field
        out.update(concurrencyMode="Parallel", contentType="CSV",
                   apiVersion=float(self.api_version))  # fmt: skip
        if self.state == "Open":
            out["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        out.update(lineEnding=self.line_ending, columnDelimiter=self.column_delimiter)
        if full:
            elapsed = 0.0
            if self.started is not None:
                elapsed = (self.finished or time.time()) - self.started
            out.update(
                jobType="V2Ingest",
                numberRecordsProcessed=self.processed,
                numberRecordsFailed=self.failed,
                retries=0,
                totalProcessingTime=int(elapsed * 1000),
                apiActiveProcessingTime=int(elapsed * 1000),
                apexProcessingTime=0,
            )
            if self.error_message:
                out["errorMessage"] = self.error_message
        return out

    # -- result files ------------------------------------------------------------------------

    def result_csv(self, kind: str) -> bytes:
        """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` as CSV bytes."""
        ending = "\r\n" if self.line_ending == "CRLF" else "\n"
        if kind == "unprocessedrecords":
            lines = [self.delimiter.join(self.header)]
            lines += [self._quoted(row) for row in self.unprocessed]
        else:
            order = sorted(range(len(self.header)), key=lambda i: self.header[i])
            first = (
                ("sf__Id", "sf__Created")
                if kind == "successfulResults"
                else ("sf__Id", "sf__Error")
            )
            names = [f'"{n}"' for n in first] + [self.header[i] for i in order]
            lines = [self.delimiter.join(names)]
            rows = (
                itertools.chain.from_iterable(reversed(self.successful))
                if kind == "successfulResults"
                else iter(self.failures)
            )
            lines += [self._quoted(r[:2] + [r[2 + i] for i in order]) for r in rows]
        return (ending.join(lines) + ending).encode("utf-8")

    def _quoted(self, row: list[str]) -> str:
        return self.delimiter.join('"' + v.replace('"', '""') + '"' for v in row)


class IngestState:
    """The org's ingest jobs and the worker that processes them."""

    def __init__(self, org: Any) -> None:
        self.org = org
        total = float(os.environ.get("SFNOTEBOOK_DEMO_BULK_DELAY", "0.2"))
        self.queue_delay = total / 2
        self.jobs: dict[str, IngestJob] = {}
        self.lock = threading.Lock()
        self._queue: queue.Queue[IngestJob] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._writer: sqlite3.Connection | None = None
        self._next: dict[str, int] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="sfnotebook-ingest-"))
        weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def add(self, job: IngestJob) -> None:
        with self.lock:
            self.jobs[job.id] = job

    def close(self, job: IngestJob) -> None:
        """``Open`` -> ``UploadComplete``: queue the job (the caller checked the state)."""
        with self.lock:
            job.set_state("UploadComplete")
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="demo-ingest", daemon=True)
                self._worker.start()
        self._queue.put(job)

    def abort(self, job: IngestJob) -> bool:
        with self.lock:
            if job.state in TERMINAL:
                return False
            job.cancelled.set()
            if job.state == "Open":
                job.unprocessed = self._rows_or_empty(job)
            job.finished = time.time()
            job.set_state("Aborted")
            return True

    def delete(self, job: IngestJob) -> None:
        with self.lock:
            self.jobs.pop(job.id, None)
            job.cancelled.set()

    # -- processing --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                self._run(job)
            except Exception as exc:  # a bug must fail the job, not kill the worker
                self._finish(job, "Failed", f"InternalServerError : {type(exc).__name__}")

    def _run(self, job: IngestJob) -> None:
        wait = job.created + self.queue_delay - time.time()
        if wait > 0 and job.cancelled.wait(wait):
            return
        with self.lock:
            if job.state != "UploadComplete":
                return
            job.started = time.time()
            job.set_state("InProgress")
        try:
            header, rows = _parse(job)
        except (UnicodeDecodeError, csv.Error) as exc:
            self._finish(job, "Failed", _job_message(exc))  # no row can be echoed
            return
        job.header = header
        try:
            applier = self._applier(job, header)
        except HeaderError as exc:
            with self.lock:
                job.unprocessed = rows
            self._finish(job, "Failed", str(exc))
            return
        self._process(job, applier, rows)

    def _process(self, job: IngestJob, applier: Applier, rows: list[list[str]]) -> None:
        faults = self.org.features.get("faults")
        fail = bool(getattr(faults, "fail_bulk_jobs", False))
        stop = min(BATCH_ROWS, len(rows) // 2) if fail else len(rows)
        done = 0
        while done < stop and not job.cancelled.is_set():
            batch = rows[done : min(done + BATCH_ROWS, stop)]
            self._batch(job, applier, batch)
            done += len(batch)
        with self.lock:
            job.unprocessed = rows[done:]
        self._consume(done)
        if fail and faults is not None:
            faults.record("bulk_job_failed")
            self._finish(
                job,
                "Failed",
                "InternalServerError : the job was retried more than 10 times and failed "
                "(injected by the demo org)",
            )
            return
        self._finish(job, "JobComplete")

    def _batch(self, job: IngestJob, applier: Applier, batch: list[list[str]]) -> None:
        conn = applier.conn
        successes: list[list[str]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for cells in batch:
                if len(cells) != len(job.header):
                    _fail_row(job, cells, RowError("INVALID_FIELD", _width(cells, job.header)))
                    continue
                conn.execute("SAVEPOINT row")
                try:
                    record_id, created = applier.apply(cells)
                except RowError as err:
                    conn.execute("ROLLBACK TO row")
                    conn.execute("RELEASE row")
                    _fail_row(job, cells, err, _id_of(job, cells))
                    continue
                conn.execute("RELEASE row")
                successes.append([record_id, "true" if created else "false", *cells])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with self.lock:
            job.successful.append(successes)
            job.processed += len(batch)
            job.failed = len(job.failures)

    def _applier(self, job: IngestJob, header: list[str]) -> Applier:
        obj = get_sobject(job.object)
        assert obj is not None  # noqa: S101 - checked when the job was created
        fields = resolve_header(obj, header)
        key = None
        if job.operation == "upsert":
            key = obj.field(job.external_id_field or "")
            if key is None or not (key.external_id or key.id_lookup):
                # Bulk API's message for a field that cannot be an upsert key (observed text).
                raise HeaderError(
                    f"InvalidBatch : Field name provided, {job.external_id_field} is not an "
                    f"External ID or indexed field for {obj.name}"
                )
            if key.name not in [f.name for f in fields]:
                raise HeaderError(
                    f"InvalidBatch : The External ID field {key.name} is missing from the header"
                )
        if job.operation in ("update", "delete") and "Id" not in [f.name for f in fields]:
            raise HeaderError("InvalidBatch : Field name not found : Id")
        if self._writer is None:
            self._writer = self.org.database.writer(self.folder)
        return Applier(self._writer, obj, job.operation, fields, job.created_by, self._new_id, key)

    def _new_id(self, obj: SObject) -> str:
        """The next record Id of ``obj``, after the seeded ones and those made here."""
        if obj.name not in self._next:
            assert self._writer is not None  # noqa: S101 - made before any row is applied
            count = self._writer.execute(f'SELECT COUNT(*) FROM "{obj.name}"').fetchone()[0]  # noqa: S608 - name from SCHEMA
            self._next[obj.name] = int(count)
        number = self._next[obj.name]
        self._next[obj.name] = number + 1
        return make_id(obj.key_prefix, number)

    def _consume(self, rows: int) -> None:
        """Bulk API 2.0 ingest uses one batch of the daily allocation per 10,000 rows."""
        usage = self.org.features.get("api_usage")
        if usage is not None and rows:
            usage.consume("DailyBulkApiBatches", math.ceil(rows / BATCH_ROWS))

    def _finish(self, job: IngestJob, state: str, message: str | None = None) -> None:
        with self.lock:
            if job.state in TERMINAL:
                return
            job.finished = time.time()
            job.error_message = message
            job.set_state(state)

    def _rows_or_empty(self, job: IngestJob) -> list[list[str]]:
        try:
            header, rows = _parse(job)
        except (UnicodeDecodeError, csv.Error):
            return []
        job.header = header
        return rows


def _parse(job: IngestJob) -> tuple[list[str], list[list[str]]]:
    """The upload's header and rows (strict CSV: quotes must be balanced)."""
    text = (job.data or b"").decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter, strict=True)
    rows = [row for row in reader if row != []]
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _job_message(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "InvalidBatch : the upload is not UTF-8 text"
    return f"InvalidBatch : Failed to parse CSV: {exc}"


def _width(cells: list[str], header: list[str]) -> str:
    return f"Record has {len(cells)} values but the header has {len(header)} columns"


def _id_of(job: IngestJob, cells: list[str]) -> str:
    """A failed row's ``sf__Id``: its record Id for update and delete, else empty."""
    names = [name.strip().lower() for name in job.header]
    if job.operation in ("update", "delete") and "id" in names:
        return cells[names.index("id")]
    return ""


def _fail_row(job: IngestJob, cells: list[str], err: RowError, record_id: str = "") -> None:
    padded = (cells + [""] * len(job.header))[: len(job.header)]
    job.failures.append([record_id, err.sf_error(), *padded])
