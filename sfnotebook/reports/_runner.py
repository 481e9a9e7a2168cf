"""One report run: synchronous, moved to an async instance when the sync run fails with a 5xx.

Sync runs are bound by the 2-minute API timeout; Salesforce's advice for slow reports is an
asynchronous run (``POST .../instances``, then poll the instance until ``Success``), which has
the same payload and the same 2,000-row cap.

A sync run is never retried as it is: each retry would be another run of up to minutes, and
counts against the 500 sync runs per hour per org. Salesforce documents no timeout code for
report runs: its Report Error Codes are generic 500s ("We ran into an error when running this
report. Try to re-submit your query.", developer.salesforce.com/docs/analytics/
salesforce-analytics-rest-api/guide/sforce-analytics-rest-api-report-error-codes.html; see
fidelity-audit.md D1 and 1g). So any 5xx, a timeout code (``REPORT_TIMEOUT``,
``REQUEST_RUNNING_TOO_LONG``, ``QUERY_TIMEOUT``), or the read timeout of the connection moves
the run to an async instance, once; after that every later run of the same report goes async
straight away. Polling an instance is a cheap GET and is retried by the session as usual.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import Fields, OrgApi
from sfnotebook._paths import is_record_id
from sfnotebook.errors import NetworkError, ReportError, SfNotebookError
from sfnotebook.reports._catalog import report_path_id

__all__ = ["Runner"]

log = logging.getLogger(__name__)

_TIMEOUT_CODES = frozenset({"REPORT_TIMEOUT", "REQUEST_RUNNING_TOO_LONG", "QUERY_TIMEOUT"})
_UNREACHABLE = frozenset({"dns", "refused", "tls"})  # an async run would fail the same way
# An instance answers with the run payload plus ``attributes.status`` (New, Running, Success,
# Error; salesforce-api.md 5.9): without ``attributes`` its state cannot be told.
_INSTANCE_FIELDS: Fields = {"attributes": dict}


def is_timeout(exc: SfNotebookError) -> bool:
    """Whether a failed sync run timed out (the advice is to run it asynchronously)."""
    message = str(getattr(exc, "sf_message", None) or exc).lower()
    return exc.error_code in _TIMEOUT_CODES or "took too long" in message


def moves_async(exc: SfNotebookError) -> bool:
    """Whether a failed sync run should become an async run: a 5xx, a timeout code, a read
    timeout (a sync run may take longer than the connection waits) or a dropped connection."""
    if isinstance(exc, NetworkError):
        return getattr(exc, "reason", None) not in _UNREACHABLE
    return is_timeout(exc) or (exc.status or 0) >= 500


class Runner:
    """Runs one report with details and counts the runs (``.runs``)."""

    def __init__(
        self, conn: OrgApi, report_id: str, *, async_timeout: float = 600.0, poll: float = 0.1
    ) -> None:
        self.conn = conn
        self.report_id = report_path_id(report_id)
        self.runs = 0
        self.async_runs = 0
        self.async_timeout = async_timeout
        self.poll = poll
        self.sync_failures = 0
        self._async = False

    def __call__(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.runs += 1
        if not self._async:
            try:
                return self._sync(metadata)
            except SfNotebookError as exc:
                if not moves_async(exc):
                    raise
                log.info(
                    "report %s failed synchronously (%s); running it async",
                    self.report_id,
                    exc.status or exc.__class__.__name__,
                )
                self.sync_failures += 1
                self._async = True
        return self._run_async(metadata)

    def _sync(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        url = f"analytics/reports/{self.report_id}"
        params = {"includeDetails": "true"}
        # Never retried as is (retry=False): a failed run becomes an async run instead.
        if metadata is None:
            resp = self.conn.request("GET", url, params=params, retry=False)
        else:
            body = {"reportMetadata": dict(metadata)}
            resp = self.conn.request("POST", url, params=params, json=body, retry=False)
        run: dict[str, Any] = decode_json(resp, endpoint="report run", expect=dict)
        return run

    def _run_async(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.async_runs += 1
        base = f"analytics/reports/{self.report_id}/instances"
        body = {"reportMetadata": dict(metadata)} if metadata is not None else {}
        # Creating an instance answers at once and changes no data: a retry after a 5xx costs
        # at most a second queued instance, so it is retried like a read.
        resp = self.conn.request(
            "POST", base, params={"includeDetails": "true"}, json=body, retry=True
        )
        # {"id": "0LG...", "status": "New", "url": ..., ...} (salesforce-api.md 5.9)
        instance = decode_json(resp, endpoint="report instance", fields={"id": str})
        instance_id = instance["id"]
        if not is_record_id(instance_id):  # it goes into the URL paths that follow
            raise unexpected(
                resp,
                "report instance",
                "an answer without an instance Id",
                "Something in front of Salesforce answered instead: check SF_DOMAIN, then rerun.",
            )
        try:
            return self._wait(base, instance_id)
        except KeyboardInterrupt:
            self._delete(base, instance_id)
            raise

    def _delete(self, base: str, instance_id: str) -> None:
        """Remove an instance left behind by an interrupt (best effort: the interrupt wins)."""
        try:
            self.conn.request("DELETE", f"{base}/{instance_id}", timeout=(5, 10))
        except (SfNotebookError, OSError) as exc:
            log.warning("could not delete report instance %s: %s", instance_id, exc)

    def _wait(self, base: str, instance_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.async_timeout
        delay = self.poll
        while True:
            payload: dict[str, Any] = self.conn.get_json(
                f"{base}/{instance_id}", fields=_INSTANCE_FIELDS
            )
            attributes = payload["attributes"]
            status = attributes.get("status")
            if status == "Success":
                return payload
            if status == "Error":
                raise ReportError(
                    f"The report's asynchronous run {instance_id} failed: "
                    f"{attributes.get('errorMessage') or 'Salesforce gave no reason'}. Add "
                    "filters so it returns fewer records, then run it again.",
                    report_id=self.report_id,
                )
            if time.monotonic() > deadline:
                raise ReportError(
                    f"The report's asynchronous run {instance_id} was still {status} after "
                    f"{self.async_timeout:.0f} s. Add filters so it returns fewer records.",
                    report_id=self.report_id,
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
