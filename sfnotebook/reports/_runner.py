"""One report run: synchronous, falling back to an async instance when Salesforce times out.

Sync runs are bound by the 2-minute API timeout; Salesforce's advice for slow reports is an
asynchronous run (``POST .../instances``, then poll the instance until ``Success``), which has
the same payload and the same 2,000-row cap. After one timeout every later run of the same
report goes async straight away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import orjson

from sfnotebook._api import OrgApi
from sfnotebook.errors import ReportError, SfNotebookError

__all__ = ["Runner"]

log = logging.getLogger(__name__)

_TIMEOUT_CODES = frozenset({"REPORT_TIMEOUT", "REQUEST_RUNNING_TOO_LONG"})


def is_timeout(exc: SfNotebookError) -> bool:
    """Whether a failed sync run timed out (the advice is to run it asynchronously)."""
    message = str(getattr(exc, "sf_message", None) or exc).lower()
    return exc.error_code in _TIMEOUT_CODES or "took too long" in message


class Runner:
    """Runs one report with details and counts the runs (``.runs``)."""

    def __init__(
        self, conn: OrgApi, report_id: str, *, async_timeout: float = 600.0, poll: float = 0.1
    ) -> None:
        self.conn = conn
        self.report_id = report_id
        self.runs = 0
        self.async_runs = 0
        self.async_timeout = async_timeout
        self.poll = poll
        self._async = False

    def __call__(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.runs += 1
        if not self._async:
            try:
                return self._sync(metadata)
            except SfNotebookError as exc:
                if not is_timeout(exc):
                    raise
                log.info("report %s timed out synchronously; running it async", self.report_id)
                self._async = True
        return self._run_async(metadata)

    def _sync(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        url = f"analytics/reports/{self.report_id}"
        params = {"includeDetails": "true"}
        if metadata is None:
            return dict(self.conn.get_json(url, params=params))
        # A run changes nothing server-side, so retrying it on a 5xx is safe.
        resp = self.conn.request(
            "POST", url, params=params, json={"reportMetadata": dict(metadata)}, retry=True
        )
        return dict(orjson.loads(resp.content))

    def _run_async(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        self.async_runs += 1
        base = f"analytics/reports/{self.report_id}/instances"
        body = {"reportMetadata": dict(metadata)} if metadata is not None else {}
        resp = self.conn.request("POST", base, params={"includeDetails": "true"}, json=body)
        instance_id = orjson.loads(resp.content)["id"]
        deadline = time.monotonic() + self.async_timeout
        delay = self.poll
        while True:
            payload = dict(self.conn.get_json(f"{base}/{instance_id}"))
            attributes = payload.get("attributes") or {}
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
