"""The job store of the demo org's Bulk API 2.0 queries: jobs, worker threads, result files.

A job waits :attr:`BulkState.queue_delay` seconds in ``UploadComplete``, then runs
(``InProgress``) on one of two worker threads, which write its rows to a private CSV file
(:mod:`sfnotebook_demo.bulk.results`; large results in slices on worker processes,
:mod:`sfnotebook_demo.bulk.parallel`): that file is the job's snapshot, so its pages stay
consistent whatever happens later. It reaches ``JobComplete`` no sooner than
:attr:`BulkState.min_run` seconds after starting. Both delays come from
``$SFNOTEBOOK_DEMO_BULK_DELAY`` (seconds, split evenly; default 0.2 s in all). With the
``fail_bulk_jobs`` fault a job ends ``Failed`` with an ``errorMessage``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import queue
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sfnotebook_demo.bulk.parallel import PartPool, default_workers, write_parallel
from sfnotebook_demo.bulk.results import DELIMITERS, LINE_ENDINGS, ResultFile, write_results
from sfnotebook_demo.ids import make_id

__all__ = ["MAX_RESULT_BYTES", "TERMINAL_STATES", "BulkJob", "BulkState"]

_WORKERS = 2
TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")
MAX_RESULT_BYTES = 4 << 30  # result files kept on disk before the oldest jobs are forgotten
_FOLDER_PREFIX = "sfnotebook-bulk-"
_ABANDONED_AFTER = 86400  # seconds: folders of demo orgs that died without cleaning up


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) sends CTRL_C_EVENT on Windows: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (PermissionError), or no way to tell
        return True
    return True


def _remove_abandoned_folders() -> None:
    """Delete result folders of demo org processes that died without cleaning up.

    Folder names carry the owner's process id; a folder is removed only when that process
    is gone and the folder is over a day old.
    """
    cutoff = time.time() - _ABANDONED_AFTER
    for folder in Path(tempfile.gettempdir()).glob(_FOLDER_PREFIX + "*"):
        owner = folder.name[len(_FOLDER_PREFIX) :].split("-", 1)[0]
        try:
            if (
                owner.isdigit()
                and not _process_alive(int(owner))
                and folder.stat().st_mtime < cutoff
            ):
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class BulkJob:
    """One query job and its result."""

    id: str
    operation: str
    soql: str
    object: str
    created_by: str
    api_version: str
    column_delimiter: str
    line_ending: str
    compiled: Any
    created: float = field(default_factory=time.time)
    created_date: str = field(default_factory=_now)
    modstamp: str = field(default_factory=_now)
    state: str = "UploadComplete"
    processed: int = 0
    started: float | None = None
    finished: float | None = None
    error_message: str | None = None
    result: ResultFile | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def set_state(self, state: str) -> None:
        self.state = state
        self.modstamp = _now()

    def info(self, *, full: bool) -> dict[str, Any]:
        """Job info: the create/list shape, or (``full``) what ``GET /jobs/query/{id}`` adds."""
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
        }
        if full:
            out["jobType"] = "V2Query"
        out["lineEnding"] = self.line_ending
        out["columnDelimiter"] = self.column_delimiter
        if full:
            elapsed = 0.0
            if self.started is not None:
                elapsed = (self.finished or time.time()) - self.started
            out.update(
                numberRecordsProcessed=self.processed,
                retries=0,
                totalProcessingTime=int(elapsed * 1000),
                isPkChunkingSupported=True,
            )
            if self.state == "Failed":
                out["errorMessage"] = self.error_message
        return out


class BulkState:
    """The org's bulk jobs, the worker threads that run them and their result files."""

    def __init__(self, org: Any) -> None:
        self.org = org
        total = float(os.environ.get("SFNOTEBOOK_DEMO_BULK_DELAY", "0.2"))
        self.queue_delay = total / 2
        self.min_run = total / 2
        self.max_result_bytes = MAX_RESULT_BYTES
        self.jobs: dict[str, BulkJob] = {}
        self.lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._queue: queue.Queue[BulkJob] = queue.Queue()
        self._workers: list[threading.Thread] = []
        _remove_abandoned_folders()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
        # Result files can be large: remove them when the state goes or the process exits.
        weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        # Large results are written by worker processes when that is safe
        # (sfnotebook_demo.bulk.parallel).
        workers = default_workers()
        self.parts = PartPool(workers) if workers else None
        if self.parts is not None:
            weakref.finalize(self, self.parts.close)

    def new_id(self) -> str:
        return make_id("750", next(self._numbers))

    def submit(self, job: BulkJob) -> None:
        with self.lock:
            self.jobs[job.id] = job
            if len(self._workers) < _WORKERS:
                worker = threading.Thread(target=self._work, name="demo-bulk", daemon=True)
                worker.start()
                self._workers.append(worker)
        if self.parts is not None:
            self.parts.warm()  # ready by the time a large result needs the workers
        self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                self._run(job)
            except Exception as exc:  # a bug must fail the job, not kill the worker
                self._finish(job, "Failed", f"InternalServerError: {type(exc).__name__}")

    def _run(self, job: BulkJob) -> None:
        wait = job.created + self.queue_delay - time.time()
        if wait > 0 and job.cancelled.wait(wait):
            return
        with self.lock:
            if job.state != "UploadComplete":
                return
            job.started = time.time()
            job.set_state("InProgress")
        faults = self.org.features.get("faults")
        if getattr(faults, "fail_bulk_jobs", False):
            if faults is not None and hasattr(faults, "record"):
                faults.record("bulk_job_failed")
            self._finish(
                job,
                "Failed",
                "InternalServerError: the query was retried more than 15 times and failed "
                "(injected by the demo org)",
            )
            return
        conn = self.org.database.connect()

        def progress(n: int) -> None:
            job.processed = n

        path = self.folder / f"{job.id}.csv"
        include_deleted = job.operation == "queryAll"
        delimiter = DELIMITERS[job.column_delimiter]
        line_ending = LINE_ENDINGS[job.line_ending]
        result: ResultFile | Literal[False] | None = False
        if self.parts is not None:
            result = write_parallel(
                self.parts,
                path,
                job.compiled,
                self.org.database.path,
                conn,
                include_deleted=include_deleted,
                delimiter=delimiter,
                line_ending=line_ending,
                cancelled=job.cancelled,
                progress=progress,
            )
        if result is False:
            result = write_results(
                path,
                job.compiled.flat_columns,
                job.compiled.flat_types,
                job.compiled.rows(conn, include_deleted=include_deleted),
                delimiter=delimiter,
                line_ending=line_ending,
                cancelled=job.cancelled,
                progress=progress,
            )
        if result is None:
            return
        rest = job.started + self.min_run - time.time()
        if rest > 0 and job.cancelled.wait(rest):
            result.delete()
            return
        with self.lock:
            if job.state != "InProgress":
                result.delete()
                return
            job.result = result
            job.processed = result.rows
        self._finish(job, "JobComplete")
        self._evict()

    def _evict(self) -> None:
        """Forget the oldest finished jobs while their result files exceed the disk budget.

        Salesforce deletes jobs 7 days after they end; a benchmark can create many
        million-row results in minutes, so the demo org bounds the disk it uses instead.
        """
        with self.lock:
            done = sorted(
                (j for j in self.jobs.values() if j.result is not None), key=lambda j: j.created
            )
            total = sum(int(j.result.offsets[-1]) for j in done if j.result is not None)
            while done and total > self.max_result_bytes and len(done) > 1:
                oldest = done.pop(0)
                if oldest.result is not None:
                    total -= int(oldest.result.offsets[-1])
                    oldest.result.delete()
                self.jobs.pop(oldest.id, None)

    def _finish(self, job: BulkJob, state: str, message: str | None = None) -> None:
        with self.lock:
            if job.state in TERMINAL_STATES:
                return
            job.finished = time.time()
            job.error_message = message
            job.set_state(state)

    def abort(self, job: BulkJob) -> bool:
        """Abort a job that has not ended; False when it already had."""
        with self.lock:
            if job.state in TERMINAL_STATES:
                return False
            job.cancelled.set()
            job.finished = time.time()
            job.set_state("Aborted")
            return True

    def delete(self, job: BulkJob) -> None:
        with self.lock:
            self.jobs.pop(job.id, None)
            job.cancelled.set()
            if job.result is not None:
                job.result.delete()
