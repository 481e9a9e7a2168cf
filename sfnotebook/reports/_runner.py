"""One report run: synchronous, moved to an async instance when the sync run fails or is slow.

Sync runs are bound by the 2-minute API timeout; Salesforce's advice for slow reports is an
asynchronous run (``POST .../instances``, then poll the instance until ``Success``), which has
the same payload and the same 2,000-row cap.

A sync run is never retried as it is: each retry would be another run of up to minutes, and
counts against the 500 sync runs per hour per org. Salesforce documents no timeout code for
report runs: its Report Error Codes are generic 500s ("We ran into an error when running this
report. Try to re-submit your query.", developer.salesforce.com/docs/analytics/
salesforce-analytics-rest-api/guide/sforce-analytics-rest-api-report-error-codes.html; see
fidelity-audit.md D1 and 1g). So any 5xx (but ``JSON_PARSER_ERROR``, a refused request body), a
timeout code (``REPORT_TIMEOUT``, ``REQUEST_RUNNING_TOO_LONG``, ``QUERY_TIMEOUT``), the 403 of
the hourly sync-run limit, or no answer within :data:`SYNC_RUN_TIMEOUT` moves the run to an
async instance, once; after that every later run of the same report goes async straight away.
The threshold is the documented 2-minute limit plus a margin: a community copy of the limits
page gives REST calls 10 minutes, longer than the connection's own read timeout, so a slow run
would otherwise end as a ``NetworkError`` instead of an async run. Polling an instance is a
cheap GET and is retried by the session as usual.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import Fields, OrgApi
from sfnotebook._paths import is_record_id
from sfnotebook.auth import TOKEN_PATH
from sfnotebook.errors import NetworkError, ReportError, ReportRunLimitError, SfNotebookError
from sfnotebook.reports._budget import run_limit
from sfnotebook.reports._catalog import report_path_id
from sfnotebook.reports._cells import decode_run
from sfnotebook.reports._paging import FILTER_TIME

__all__ = ["START_MARGIN", "SYNC_RUN_TIMEOUT", "RunStopped", "Runner"]

log = logging.getLogger(__name__)

#: Seconds a sync run may take before it is given up for an async run (2 minutes + margin).
SYNC_RUN_TIMEOUT = 150.0
#: How long before the first run's answer paging is checked from (see ``Runner._note_start``).
START_MARGIN = dt.timedelta(seconds=60)
_TIMEOUT_CODES = frozenset({"REPORT_TIMEOUT", "REQUEST_RUNNING_TOO_LONG", "QUERY_TIMEOUT"})
_UNREACHABLE = frozenset({"dns", "refused", "tls"})  # an async run would fail the same way
# An instance answers with the run payload plus ``attributes.status`` (New, Running, Success,
# Error; salesforce-api.md 5.9): without ``attributes`` its state cannot be told.
_INSTANCE_FIELDS: Fields = {"attributes": dict}


class RunStopped(Exception):
    """An async run given up because :attr:`Runner.stopped` was set (another window failed,
    or the user interrupted the report): its instance is deleted, no result."""


def is_timeout(exc: SfNotebookError) -> bool:
    """Whether a failed sync run timed out (the advice is to run it asynchronously)."""
    message = str(getattr(exc, "sf_message", None) or exc).lower()
    return exc.error_code in _TIMEOUT_CODES or "took too long" in message


def moves_async(exc: SfNotebookError) -> bool:
    """Whether a failed sync run should become an async run: a 5xx, a timeout code, the hourly
    sync-run limit, a read timeout (a sync run past the threshold) or a dropped connection.

    Not when the failure was the token exchange the run's 401 called for: the run never
    started, and an async run would need the same exchange."""
    if exc.url == TOKEN_PATH:
        return False
    if isinstance(exc, NetworkError):
        return getattr(exc, "reason", None) not in _UNREACHABLE
    if exc.error_code == "JSON_PARSER_ERROR":  # the body was refused: async would refuse it too
        return False
    return is_timeout(exc) or (exc.status or 0) >= 500 or run_limit(exc) == "sync"


class Runner:
    """Runs one report with details and counts the runs (``.runs``)."""

    def __init__(
        self,
        conn: OrgApi,
        report_id: str,
        *,
        async_timeout: float = 600.0,
        poll: float = 0.1,
        sync_timeout: float | None = None,
    ) -> None:
        self.conn = conn
        self.report_id = report_path_id(report_id)
        self.runs = 0
        self.async_runs = 0
        self.async_timeout = async_timeout
        self.poll = poll
        self.sync_timeout = sync_timeout
        self.sync_failures = 0
        self._async = False
        self._lock = threading.Lock()  # paging windows run from several threads
        # Seconds from an instance's creation to the poll that found it done, the quickest of
        # this report's instances so far: the first poll of the next instance waits that long.
        self._quickest: float | None = None
        #: Set to give up the async runs in flight (they end with RunStopped, instance deleted).
        self.stopped = threading.Event()
        #: The org's clock (filter values, ``yyyy-MM-ddTHH:mm:ssZ``): a time before the first
        #: run began (records modified since may have moved while the report was paged), and
        #: the time of its answer (records created since were not counted).
        self.began: str | None = None
        self.answered: str | None = None

    @property
    def sync_runs(self) -> int:
        """Sync runs made (a failed one included: it counts against the hourly limit)."""
        return self.runs - self.async_runs + self.sync_failures

    @property
    def is_async(self) -> bool:
        return self._async

    def go_async(self) -> None:
        """Make every later run an async instance (the sync runs left would not suffice)."""
        self._async = True

    def _read_timeout(self) -> tuple[float, float]:
        """``(connect, read)`` for a sync run: the connection's, the read cut to the threshold."""
        limit = SYNC_RUN_TIMEOUT if self.sync_timeout is None else self.sync_timeout
        base = getattr(self.conn, "timeout", None)
        if isinstance(base, tuple):
            return (float(base[0]), min(float(base[1]), limit))
        if isinstance(base, int | float):
            return (float(base), min(float(base), limit))
        return (10.0, limit)

    def __call__(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            self.runs += 1
            # The first run is the result's ``.payload``: plain JSON. Paging runs decode their
            # cells as structs (see :func:`sfnotebook.reports._cells.decode_run`).
            fast = self.runs > 1
        if not self._async:
            try:
                return self._sync(metadata, fast=fast)
            except SfNotebookError as exc:
                if not moves_async(exc):
                    raise
                log.info(
                    "report %s failed synchronously (%s); running it async",
                    self.report_id,
                    exc.status or exc.__class__.__name__,
                )
                with self._lock:
                    self.sync_failures += 1
                self._async = True
        return self._run_async(metadata, fast=fast)

    def run_async(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        """One run as an async instance, whatever the mode (paging windows run in parallel)."""
        with self._lock:
            self.runs += 1
        return self._run_async(metadata, fast=True)

    def _sync(self, metadata: Mapping[str, Any] | None, *, fast: bool = False) -> dict[str, Any]:
        url = f"analytics/reports/{self.report_id}"
        params = {"includeDetails": "true"}
        # Never retried as is (retry=False): a failed or slow run becomes an async run instead.
        timeout = self._read_timeout()
        if metadata is None:
            resp = self.conn.request("GET", url, params=params, retry=False, timeout=timeout)
        else:
            body = {"reportMetadata": dict(metadata)}
            resp = self.conn.request(
                "POST", url, params=params, json=body, retry=False, timeout=timeout
            )
        self._note_start(resp)
        return _decode(resp, "report run", fast=fast)

    def _run_async(
        self, metadata: Mapping[str, Any] | None, *, fast: bool = False
    ) -> dict[str, Any]:
        if self.stopped.is_set():
            raise RunStopped(self.report_id)
        with self._lock:
            self.async_runs += 1
        base = f"analytics/reports/{self.report_id}/instances"
        body = {"reportMetadata": dict(metadata)} if metadata is not None else {}
        # Creating an instance answers at once and changes no data: a retry after a 5xx costs
        # at most a second queued instance, so it is retried like a read.
        try:
            resp = self.conn.request(
                "POST", base, params={"includeDetails": "true"}, json=body, retry=True
            )
        except SfNotebookError as exc:
            if run_limit(exc) is None:
                raise
            raise ReportRunLimitError(
                "The org has no report runs left this hour: Salesforce answered "
                f"{exc.status} {getattr(exc, 'sf_message', None) or exc} No partial result is "
                "returned. Run it again later, fetch it in parts with filters, or read the "
                "same records with org.extract() (Bulk API).",
                report_id=self.report_id,
                status=exc.status,
                error_code=exc.error_code,
            ) from exc
        # {"id": "0LG...", "status": "New", "url": ..., ...} (salesforce-api.md 5.9)
        created = time.monotonic()
        # The instance is queued: the run, and the Record Count it gives, come later. Its
        # answered time is the poll's that finds it done (records created until then may
        # have been counted; a later time only widens the check).
        first = self._note_start(resp, counted=False)
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
            return self._wait(base, instance_id, created, fast=fast, first=first)
        except BaseException:
            # An interrupt, or a poll that failed for good: the run is given up, so it must
            # not go on (or stay) on the org.
            self._delete(base, instance_id)
            raise

    def _note_start(self, resp: Any, *, counted: bool = True) -> bool:
        """Keep the org's time of the first answer (:attr:`answered`, unless the run is not
        ``counted`` yet: a queued instance's) and, less the request's own time and
        :data:`START_MARGIN`, the time paging is checked from (:attr:`began`). True when
        this was the first run's answer.

        From the answer's ``Date`` header (RFC 9110 5.6.7: an origin server with a clock sends
        it), so a client clock that is off does not matter; without one, the local clock and
        a margin of 10 minutes. Too early a time costs only a larger check (records edited
        before paging began are in the result); the margin covers a transaction that stamped
        its records before paging began but committed after ("latestDateCovered" of the
        SOAP API's getUpdated() exists for such transactions).
        """
        if self.began is not None:
            return False
        moment, margin = _answer_time(resp)
        took = getattr(resp, "elapsed", None)
        if isinstance(took, dt.timedelta):
            margin += took
        with self._lock:
            if self.began is not None:
                return False
            self.began = (moment - margin).strftime(FILTER_TIME)
            if counted:
                self.answered = moment.strftime(FILTER_TIME)
            return True

    def _note_answered(self, resp: Any) -> None:
        """Keep the time of the first run's answer once its queued instance is done."""
        moment, _margin = _answer_time(resp)
        with self._lock:
            self.answered = moment.strftime(FILTER_TIME)

    def _delete(self, base: str, instance_id: str) -> None:
        """Remove an instance given up on (best effort: the error that ended it wins)."""
        try:
            self.conn.request("DELETE", f"{base}/{instance_id}", timeout=(5, 10))
        except (SfNotebookError, OSError) as exc:
            log.warning("could not delete report instance %s: %s", instance_id, exc)

    def _wait(
        self,
        base: str,
        instance_id: str,
        created: float,
        *,
        fast: bool = False,
        first: bool = False,
    ) -> dict[str, Any]:
        """Poll the instance until it is done: the first poll at once or, once an earlier
        instance of this report was seen done, as long after creation as the quickest one
        took; then ``poll`` seconds later, doubling up to 2 s.

        An instance is rarely done at once (Salesforce queues it: "New", then "Running"), and
        every poll is an API request; paging windows run many instances of one report, alike in
        size, so the learned first wait saves the poll that would only answer "Running" (a
        third of a window's requests on the demo org) without noticing a done instance later
        than the schedule that saw the quickest one.
        """
        deadline = created + self.async_timeout
        delay = self.poll
        with self._lock:
            quickest = self._quickest
        if quickest and self.stopped.wait(max(0.0, quickest - (time.monotonic() - created))):
            raise RunStopped(instance_id)
        while True:
            sent = time.monotonic()
            resp = self.conn.request("GET", f"{base}/{instance_id}")
            payload = _decode(resp, "report instance", fast=fast)
            attributes = payload.get("attributes")
            if not isinstance(attributes, dict):  # the shape check says what is missing
                decode_json(resp, endpoint="report instance", fields=_INSTANCE_FIELDS)
                raise unexpected(
                    resp, "report instance", "an instance without attributes", "Run it again."
                )

            status = attributes.get("status")
            if status == "Success":
                if first:  # the report's first run: its Record Count is from now at the latest
                    self._note_answered(resp)
                with self._lock:
                    took = sent - created
                    self._quickest = took if self._quickest is None else min(self._quickest, took)
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
            if self.stopped.wait(delay):  # a sleep that ends early when the report is given up
                raise RunStopped(instance_id)
            delay = min(delay * 2, 2.0)


def _answer_time(resp: Any) -> tuple[dt.datetime, dt.timedelta]:
    """The org's time of an answer and the margin to allow before it: its ``Date`` header and
    :data:`START_MARGIN`, else the local clock and 10 minutes."""
    moment = _server_time(getattr(resp, "headers", None) or {})
    if moment is None:
        return dt.datetime.now(dt.timezone.utc), dt.timedelta(minutes=10)
    return moment, START_MARGIN


def _server_time(headers: Mapping[str, str]) -> dt.datetime | None:
    """The answer's ``Date`` header as an aware UTC datetime, or None."""
    text = headers.get("Date")
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(str(text))
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _decode(resp: Any, endpoint: str, *, fast: bool) -> dict[str, Any]:
    """A run's payload: cells as structs when ``fast`` and the body is a JSON object (anything
    else goes through the typed decoder, which says what is wrong)."""
    if fast:
        run = decode_run(resp.content)
        if run is not None:
            return run
    decoded: dict[str, Any] = decode_json(resp, endpoint=endpoint, expect=dict)
    return decoded
