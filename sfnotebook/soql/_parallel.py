"""Query pages fetched in parallel by locator offset, verified, and in order (issue 13).

Salesforce's ``nextRecordsUrl`` is ``/services/data/vXX.X/query/<locator>-<offset>``, the
offset being the rows already delivered ("Execute a SOQL Query", REST API Developer Guide,
developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm: "request the
next batch of records and repeat until all records have been retrieved. These requests use
nextRecordsUrl"; salesforce-api.md 3.4). A restforce pull request (github.com/restforce/
restforce/pull/386: "We use this to asynchronously fan out queries for all of the pages") and
a Stack Exchange answer fan pages out by choosing the offsets. Salesforce documents the
opposite: "Use each queryLocator value only one time" (SOAP API Developer Guide,
QueryLocator), so a real org may refuse a chosen offset (the demo's ``locator_offsets``
switch, and ``sfnotebook doctor``'s locator probe, say which). Hence, after page 1 (whose
record count is the page size, and equals its own offset):

* pages ``<locator>-<n x size>`` are fetched with at most ``concurrency`` in flight, put out
  in order (the caller decodes them as they come; ``query_iter`` keeps the row order), so
  at most ``concurrency`` pages wait as bytes here, plus the caller's small queue;
* the last page is asked for only once every page before it has arrived: a cursor whose last
  page was served may be released (the demo org releases it), which would refuse the others;
* every page is verified before it is put out: its ``totalSize`` equals page 1's, its record
  count is a full page (the last: the rest), the last page says ``done``, and any other page's
  own ``nextRecordsUrl`` names the next offset of the same locator. The rows put out thus sum
  to ``totalSize`` (the caller checks the sum again);
* a refused offset (400 ``INVALID_QUERY_LOCATOR`` or any other refusal) or a page that fails
  a check stops the fan-out: the pages in flight are waited for and dropped, and paging goes
  on in turn (following each ``nextRecordsUrl``, as without ``concurrency``), so no row is
  lost or sent twice and no other cursor is mixed in. It goes on from the ``nextRecordsUrl``
  of the last page put out; a page of an unforeseen size that is still its own (it names its
  offset plus its rows as the next, or is done) is put out first, and paging goes on after
  it: asked again, the last page of a released cursor would be refused, and a short last
  page must reach the caller's count (``IncompleteResultError``), as it would in turn. Only a
  chosen offset refused as a locator (400 ``INVALID_QUERY_LOCATOR``, the code of a bad
  locator) says the org refuses offsets: once the handed-out URL is then served in turn, that
  is remembered for the connection and, when ``sfnotebook doctor`` keeps a findings file for
  the org, written there (``locator_offsets="sequential"``). Anything else (a page of another
  size: Salesforce documents the batch size as a request that it may lower, fidelity-audit
  2c; another error) ends the fan-out of that query only: the next query tries again;
* a call refused after the session changed (``CursorLost``: several calls out may meet one
  expiry) goes on in turn too, where ``_pages`` judges one call at a time whether the cursor
  outlived its session (else the caller restarts the query); a transient failure ends the
  query as on the sequential path.

Queries with child subqueries never come here: their pages' sizes vary with the children
("child records count toward the batch") and "A queryMore() call on a parent object
invalidates all child cursors in the previous result set" (SOAP API Developer Guide,
queryMore()), so they page in turn.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from sfnotebook import _findings
from sfnotebook.errors import (
    RequestLimitExceededError,
    SalesforceError,
    ServerUnavailableError,
)

if TYPE_CHECKING:
    from sfnotebook._api import OrgApi

__all__ = [
    "COUNTED",
    "DEFAULT_CONCURRENCY",
    "Counted",
    "Pager",
    "Schedule",
    "fan_out",
    "offsets_refused",
    "schedule",
]

log = logging.getLogger("sfnotebook")

#: Query-more calls in flight at once after page 1 (``concurrency=`` changes it; 1: in turn).
DEFAULT_CONCURRENCY = 4

_OFFSET_AT_END = re.compile(r"^(?P<base>.+)-(?P<offset>\d+)$")
# Not a refusal of the offset but of the call: these end the query as they would in turn.
_NOT_REFUSALS = (RequestLimitExceededError, ServerUnavailableError)
# A chosen offset refused with the code of a bad locator: the org refuses offsets (remembered).
_BAD_LOCATOR = "INVALID_QUERY_LOCATOR"


class Counted(msgspec.Struct):
    """A page's head and its records, each kept as raw JSON (counted, not decoded)."""

    totalSize: int
    done: bool
    nextRecordsUrl: str | None = None
    records: list[msgspec.Raw] = []


COUNTED = msgspec.json.Decoder(Counted)


# --------------------------------------------------------------------------- the org's answer

_known: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()
_SWITCH = "locator_offsets"


def _org_id(conn: OrgApi) -> str | None:
    try:
        org_id = getattr(conn, "org_id", None)
    except Exception:  # a connection without an identity: no findings file
        return None
    return org_id if isinstance(org_id, str) and org_id.isalnum() else None


def offsets_refused(conn: OrgApi) -> bool:
    """Whether this connection's org is known to refuse chosen offsets.

    Known from an earlier query on the connection, else from ``sfnotebook doctor``'s findings
    for the org (``locator_offsets="sequential"``), read once per connection.
    """
    with _known_lock:
        known = _known.get(conn)
    if known is None:
        org_id = _org_id(conn)
        known = (_findings.dialect_switch(org_id, _SWITCH) if org_id else None) or "unknown"
        try:
            with _known_lock:
                _known.setdefault(conn, known)
        except TypeError:  # not weak-referenceable (a test double): asked again next time
            pass
    return known == "sequential"


def _remember_refused(conn: OrgApi, why: str) -> None:
    try:
        with _known_lock:
            _known[conn] = "sequential"
    except TypeError:
        pass
    org_id = _org_id(conn)
    if org_id and _findings.note_switch(
        org_id,
        "locators",
        _SWITCH,
        "sequential",
        f"a query's chosen offset was refused ({why}); pages follow one another only",
    ):
        log.info("noted in sfnotebook doctor's findings: this org refuses chosen offsets")


# --------------------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Schedule:
    """The pages after page 1: ``<base>-<offset>`` for offsets ``size, 2 x size, ...``."""

    base: str
    size: int
    total: int
    concurrency: int
    first_url: str  # page 1's nextRecordsUrl, exactly as handed out

    def offsets(self) -> list[int]:
        return list(range(self.size, self.total, self.size))

    def url(self, offset: int) -> str:
        return self.first_url if offset == self.size else f"{self.base}-{offset}"

    def check(self, offset: int, page: Counted) -> tuple[str | None, bool]:
        """What is wrong with the page fetched at ``offset`` (None: it is the one), and
        whether it may be kept all the same.

        A page of another size is kept when it is its own (the next offset it names is its
        offset plus its rows, or it is done): paging goes on in turn after it, as sequential
        paging would. One that names another offset or locator, another ``totalSize``, or no
        next page while not done, is dropped and asked for again in turn.
        """
        expected = min(self.size, self.total - offset)
        got = len(page.records)
        if page.totalSize != self.total:
            return f"totalSize {page.totalSize:,} where page 1 said {self.total:,}", False
        if not page.done:
            if page.nextRecordsUrl is None:
                return "done: false without a nextRecordsUrl", False
            if page.nextRecordsUrl != self.url(offset + got):
                return f"its nextRecordsUrl names {page.nextRecordsUrl[-24:]!r}", False
        last = offset + expected >= self.total
        if got != expected:
            return f"{got:,} rows where {expected:,} were due", True
        if page.done != last:
            return ("done" if page.done else "not done") + f" after {offset + got:,} rows", True
        return None, True


def schedule(
    conn: OrgApi, raw: bytes, next_records_url: str | None, total: int, concurrency: int
) -> Schedule | None:
    """The parallel schedule after page 1 (``raw``), or None to page in turn.

    In turn when one request at a time was asked for, when page 1's ``nextRecordsUrl`` does
    not end in its own record count (an offset cannot be chosen from it), when at most one
    page remains (nothing to fetch in parallel), or when the org refuses chosen offsets.
    """
    if concurrency <= 1 or not next_records_url:
        return None
    match = _OFFSET_AT_END.match(next_records_url)
    if match is None:
        return None
    try:
        size = len(COUNTED.decode(raw).records)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if size <= 0 or int(match["offset"]) != size or total - size <= size:
        return None
    if offsets_refused(conn):
        return None
    return Schedule(match["base"], size, total, concurrency, next_records_url)


# --------------------------------------------------------------------------- the fan-out


class Pager(Protocol):
    """What the fan-out needs of :class:`sfnotebook.soql._pages.Pages`."""

    conn: OrgApi
    lost: type[Exception]  # ``CursorLost``: a call refused after the session changed

    def fetch(self, url: str, *, decoder: Any) -> tuple[bytes, Any]: ...

    def put(self, item: Any) -> bool: ...

    def chain(self, url: str | None, served: Callable[[], None] | None = None) -> None: ...


def fan_out(pages: Pager, plan: Schedule) -> None:
    """The thread body: put every page after page 1 on ``pages``' queue, then None.

    Failures are put on the queue too (the caller's thread raises them).
    """
    try:
        resume = _parallel(pages, plan)
    except BaseException as exc:  # handed to the caller's thread, raised there
        pages.put(exc)
        return
    if resume is None:
        pages.put(None)
        return
    url, why, learnt = resume
    log.info("parallel query paging goes on in turn from the last page put out: %s", why)
    if url is None:  # a page kept said done: the caller's count says whether rows are missing
        pages.put(None)
        return
    # In turn from the page after the last one put out; once that page is served, the org has
    # shown that it serves the handed-out URL but not the chosen one: remembered.
    served = (lambda: _remember_refused(pages.conn, why)) if learnt else None
    pages.chain(url, served=served)


def _parallel(pages: Pager, plan: Schedule) -> tuple[str | None, str, bool] | None:
    """Fetch and put out the pages in order. None when all were (or the caller stopped
    reading); else where to go on in turn (None: nowhere, the last page kept was done), why,
    and whether that says something about the org (to remember)."""
    offsets = plan.offsets()
    last = offsets[-1]
    resume = plan.first_url  # the nextRecordsUrl of the last page put out
    window: deque[tuple[int, Future[tuple[bytes, Counted]]]] = deque()
    pool = ThreadPoolExecutor(plan.concurrency, thread_name_prefix="sfnotebook-page")
    i = 0
    try:
        while window or i < len(offsets):
            while i < len(offsets) and len(window) < plan.concurrency:
                if offsets[i] == last and window:
                    break  # the last page only after all others arrived (module docstring)
                url = plan.url(offsets[i])
                window.append((offsets[i], pool.submit(_fetch, pages, url)))
                i += 1
            offset, future = window.popleft()
            try:
                raw, page = future.result()
            except _NOT_REFUSALS:
                raise
            except pages.lost as exc:
                # Refused after the session changed while several calls were out: whether the
                # cursor outlived its session is judged in turn, one call at a time (``_pages``).
                return resume, f"offset {offset:,}: the session changed ({exc})", False
            except SalesforceError as exc:
                if plan.url(offset) == plan.first_url:
                    raise  # the handed-out URL itself: not about chosen offsets
                why = f"offset {offset:,} refused ({exc.status} {exc.error_code})"
                return resume, why, exc.error_code == _BAD_LOCATOR
            problem, keep = plan.check(offset, page)
            if problem is not None:
                why = f"the page at offset {offset:,}: {problem}"
                if not keep:
                    return resume, why, False
                if not pages.put(raw):
                    return None
                return (None if page.done else page.nextRecordsUrl), why, False
            if not pages.put(raw):
                return None  # the caller stopped reading
            del raw, page
            resume = plan.url(offset + plan.size)
        return None
    finally:
        # Not started: cancelled; in flight: waited for and dropped. No request of the
        # fan-out is still out when paging goes on in turn (or the query ends).
        pool.shutdown(wait=True, cancel_futures=True)


def _fetch(pages: Pager, url: str) -> tuple[bytes, Counted]:
    return pages.fetch(url, decoder=COUNTED)
