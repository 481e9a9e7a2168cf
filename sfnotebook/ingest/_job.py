"""One Bulk API 2.0 ingest job: create, upload, close, wait, read its three result sets.

What is retried, and what is not (a write must never be applied twice):

* ``POST jobs/ingest`` (create), ``PUT .../batches`` (upload) and ``PATCH`` (close) are sent
  once (``retry=False``). A job applies nothing until it is closed, so a failed create or
  upload leaves at most an empty open job, which is aborted here when its Id is known.
* A close whose answer is lost (a dropped connection) is not sent again: the job's state is
  read instead (a read, retried as reads are). ``Open`` means it was not closed, and it is
  aborted; any later state means it was, and the job is followed as usual.
* Status checks and result downloads are reads, retried by the session's policy.

Endpoints and bodies: developer.salesforce.com/docs/atlas.en-us.api_asynch.meta ("Create a
Job", "Upload Job Data", "Close or Abort a Job", "Get Information About an Ingest Job", "Get
Job Successful / Failed / Unprocessed Record Results").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import OrgApi
from sfnotebook._paths import is_record_id
from sfnotebook._polling import poll_until
from sfnotebook.errors import NetworkError, SfNotebookError

__all__ = ["TERMINAL", "Job", "JobOutcome"]

log = logging.getLogger("sfnotebook.ingest")

TERMINAL = ("JobComplete", "Failed", "Aborted")
RESULT_SETS = ("successfulResults", "failedResults", "unprocessedrecords")


@dataclass
class JobOutcome:
    """A job's final info and its three result files (CSV bytes)."""

    info: dict[str, Any]
    successful: bytes
    failed: bytes
    unprocessed: bytes

    @property
    def state(self) -> str:
        return str(self.info.get("state"))


class Job:
    """One ingest job's life; ``id`` is set once the job exists (for the abort)."""

    def __init__(self, conn: OrgApi, sobject: str, operation: str, external_id: str | None) -> None:
        self.conn = conn
        self.sobject = sobject
        self.operation = operation
        self.external_id = external_id
        self.id: str | None = None
        self.closed = False

    def create(self) -> str:
        body: dict[str, Any] = {
            "object": self.sobject,
            "operation": self.operation,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        if self.external_id is not None:
            body["externalIdFieldName"] = self.external_id
        resp = self.conn.request("POST", "jobs/ingest", json=body, retry=False)
        job: dict[str, Any] = decode_json(resp, endpoint="ingest job creation", expect=dict)
        if not is_record_id(job.get("id")):
            raise unexpected(
                resp,
                "ingest job creation",
                "an answer without a job Id",
                "Something in front of Salesforce answered instead: check SF_DOMAIN, then rerun.",
            )
        self.id = str(job["id"])
        log.info("ingest job %s created (%s %s)", self.id, self.operation, self.sobject)
        return self.id

    def upload(self, data: bytes) -> None:
        self.conn.request(
            "PUT",
            f"jobs/ingest/{self.id}/batches",
            data=data,
            headers={"Content-Type": "text/csv"},
            retry=False,
        )

    def close(self) -> None:
        """``UploadComplete``; a lost answer is settled by reading the job's state."""
        try:
            self.conn.request(
                "PATCH", f"jobs/ingest/{self.id}", json={"state": "UploadComplete"}, retry=False
            )
        except NetworkError:
            state = str(self.status().get("state"))
            if state == "Open":  # it was not closed: nothing was applied
                raise
            log.info("ingest job %s: the close answer was lost; the job is %s", self.id, state)
        self.closed = True

    def status(self) -> dict[str, Any]:
        info: dict[str, Any] = self.conn.get_json(f"jobs/ingest/{self.id}")
        return info

    def wait(
        self, poll_interval: float, on_state: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Poll until the job ends, on :mod:`sfnotebook._polling`'s schedule (the first check
        at once; the end is noticed within 0.2 s or a tenth of the job's age)."""

        def check() -> dict[str, Any]:
            info = self.status()
            on_state(info)
            return info

        return poll_until(check, lambda info: info.get("state") in TERMINAL, interval=poll_interval)

    def results(self, info: dict[str, Any]) -> JobOutcome:
        files = [
            self.conn.request(
                "GET", f"jobs/ingest/{self.id}/{kind}", headers={"Accept": "text/csv"}
            ).content
            for kind in RESULT_SETS
        ]
        return JobOutcome(info, *files)

    def abort(self) -> None:
        """Stop the job (best effort: the interrupt or error that caused it must propagate)."""
        if self.id is None:
            return
        try:
            self.conn.request(
                "PATCH",
                f"jobs/ingest/{self.id}",
                json={"state": "Aborted"},
                timeout=(5, 10),
                retry=False,
            )
            log.info("ingest job %s aborted", self.id)
        except (SfNotebookError, requests.RequestException) as exc:
            log.warning("could not abort ingest job %s: %s", self.id, exc)
