"""``/query``, ``/queryAll`` and query-more for the demo org, with Salesforce's cursors.

* A query's result is snapshot at the first call (the ordered rowids of its root rows), so
  pages are consistent; each page is fetched by rowid and shaped on demand.
* Batch size comes from ``Sforce-Query-Options: batchSize=N``, clamped to 200..2000 (default
  2000) as Salesforce does: the header is a preference, never an error. A query-more call
  without the header keeps the batch size of the query that opened the cursor. Child records count
  toward the batch, so pages of parents with many children hold fewer parents.
* A child subquery result with more rows than the dialect's ``child_batch`` (199 or 499, as
  real first pages held) comes with ``done: false`` and its own ``nextRecordsUrl`` (a child
  cursor serving that parent's remaining children). Fetching the next parent page releases the
  child cursors of the previous page, as the SOAP ``queryMore()`` documentation says.
* Locators look like ``0r8Dm0000000001AAA-2000`` (or ``01g...``: the dialect's
  ``query_locators``). They live as the dialect's ``cursor_limits`` says
  (:mod:`sfnotebook_demo.soql.cursors`). A released, expired or unknown locator, or another
  user's, answers 400 ``INVALID_QUERY_LOCATOR`` ``invalid query locator``, as does every
  query-more call while the ``expire_locators`` fault is on. With ``query_cursors="session"``
  a cursor belongs to the token that opened it: another token of the same user gets the
  dialect's ``foreign_cursor_answer`` (401 ``INVALID_SESSION_ID`` or 400
  ``INVALID_QUERY_LOCATOR``). Under ``locator_offsets="sequential"`` only the next-page URL
  handed out last is served; any other offset of the cursor is ``INVALID_QUERY_LOCATOR`` too.
* Top-level ``OFFSET`` queries, under ``offset_queries="capped"``: ``totalSize`` is capped at
  2,000 and only the first batch is sent, ``done: true``, no locator (dialect docstring).
* Aggregate queries cannot be continued: more than 2,000 result rows answer 400
  ``EXCEEDED_ID_LIMIT`` "Aggregate query does not support queryMore(), use LIMIT to restrict
  the results to a single batch". The message is verified (a sandbox report, fidelity-audit
  D14); the error code is UNVERIFIED (it is the one Salesforce uses for the same message on
  objects that cannot be paged). The client treats it as a generic error either way.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from sfnotebook_demo.dialect import Dialect, dialect_of
from sfnotebook_demo.http import Request, Response, Router, error_response
from sfnotebook_demo.soql.cursors import (
    CURRENT,
    DEFAULT_BATCH,
    IDLE_SECONDS,
    MAX_CURSORS,
    PRE_56,
    Cursor,
    CursorLimits,
    CursorStore,
    session_key,
)
from sfnotebook_demo.soql.engine import compile_soql
from sfnotebook_demo.soql.parser import SoqlError

__all__ = [
    "DEFAULT_BATCH",
    "IDLE_SECONDS",
    "MAX_AGGREGATE_ROWS",
    "MAX_CURSORS",
    "MAX_OFFSET_ROWS",
    "Cursor",
    "CursorStore",
    "batch_size",
    "register",
]

MIN_BATCH = 200
MAX_AGGREGATE_ROWS = 2000
MAX_OFFSET_ROWS = 2000  # totalSize of an OFFSET query is capped here (dialect offset_queries)
PREFETCH_PAGES = 2
# Pages built ahead are dropped once the client asks for one this many pages past them: with
# several pages in flight the client asks out of order, so "behind" alone is no skip.
SKIPPED_PAGES = 16


def batch_size(header: str | None) -> int:
    """The batch size asked for by ``Sforce-Query-Options``, clamped to 200..2000."""
    if not header:
        return DEFAULT_BATCH
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "batchsize":
            try:
                n = int(value.strip())
            except ValueError:
                return DEFAULT_BATCH
            return max(MIN_BATCH, min(DEFAULT_BATCH, n))
    return DEFAULT_BATCH


@dataclass
class _Built:
    """A page built from the snapshot: its records, or already encoded as JSON."""

    size: int
    records: list[dict[str, Any]]
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    encoded: bytes | None


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """One small pool per process for building next pages ahead of the client."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sfnotebook-demo-soql")
        return _EXECUTOR


def _json(payload: Any, status: int = 200) -> Response:
    return Response(status=status, body=orjson.dumps(payload))


def _invalid_locator() -> Response:
    return error_response(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def _foreign_cursor(dialect: Dialect) -> Response:
    """Another session's cursor, as the dialect's ``foreign_cursor_answer`` says."""
    if dialect.foreign_cursor_answer == "invalid-locator":
        return _invalid_locator()
    # The body Salesforce sends for an invalid session (restforce issue #284).
    return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _limits(dialect: Dialect) -> CursorLimits:
    return PRE_56 if dialect.cursor_limits == "pre-56" else CURRENT


class QueryService:
    """The handlers, bound to one org."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self.cursors: CursorStore = org.feature("query_cursors", CursorStore)

    def _version(self, request: Request) -> str:
        return request.api_version or "68.0"

    def _url(self, request: Request, resource: str, cursor: Cursor, position: int) -> str:
        return f"/services/data/v{self._version(request)}/{resource}/{cursor.id}-{position}"

    def query(self, request: Request, include_deleted: bool) -> Response:
        text = request.query.get("q")
        if not text:
            return error_response(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            compiled = compile_soql(text)
        except SoqlError as exc:
            return error_response(400, exc.error_code, exc.message)
        conn = self.org.database.connect()
        plan = compiled.plan
        version = self._version(request)
        if compiled.is_count:
            total = plan.count(conn, include_deleted=include_deleted)
            return _json({"totalSize": total, "done": True, "records": []})
        if compiled.is_aggregate:
            rows = list(plan.iter_sql_rows(conn, include_deleted=include_deleted))
            if len(rows) > MAX_AGGREGATE_ROWS:
                return error_response(
                    400,
                    "EXCEEDED_ID_LIMIT",
                    "Aggregate query does not support queryMore(), use LIMIT to restrict the "
                    "results to a single batch",
                )
            records = plan.shape(conn, rows, api_version=version)
            return _json({"totalSize": len(records), "done": True, "records": records})
        rowids = plan.row_ids(conn, include_deleted=include_deleted)
        dialect = dialect_of(self.org)
        capped = compiled.has_offset and dialect.offset_queries == "capped"
        if capped:
            rowids = rowids[:MAX_OFFSET_ROWS]
        resource = "queryAll" if include_deleted else "query"
        batch = batch_size(request.header("Sforce-Query-Options"))
        cur = Cursor("", request.user_id or "", resource, compiled, rowids=rowids,
                     include_deleted=include_deleted, batch=batch,
                     session=session_key(request.token), child_batch=dialect.child_batch)  # fmt: skip
        return self._page(request, cur, 0, batch, first_batch_only=capped)

    def _build(
        self, cur: Cursor, start: int, batch: int, version: str
    ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
        """The records of one page (children trimmed to the query's child batch) and the child
        results cut short.

        Pure work on the snapshot, no cursor bookkeeping: it may run ahead in a worker thread.
        """
        assert cur.query is not None  # noqa: S101 - parent cursors only
        conn = self.org.database.connect()
        plan = cur.query.plan
        ids = cur.rowids[start : start + batch]
        rows = plan.fetch_rows(conn, ids, include_deleted=cur.include_deleted)
        # Pages are only encoded (child results trimmed, parents untouched): share parents,
        # encoded once each.
        records = plan.shape(conn, rows, api_version=version,
                             include_deleted=cur.include_deleted, share_parents=True)  # fmt: skip
        child_keys = [c.key for c in plan.children]
        first = cur.child_batch
        pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if child_keys:
            kept: list[dict[str, Any]] = []
            used = 0
            for rec in records:
                cost = 1 + sum(min(len(rec[k]["records"]), first) for k in child_keys if rec.get(k))
                if kept and used + cost > batch:
                    break
                kept.append(rec)
                used += cost
                for k in child_keys:
                    result = rec.get(k)
                    if result and len(result["records"]) > first:
                        rest = result["records"][first:]
                        result["records"] = result["records"][:first]
                        result["done"] = False
                        pending.append((result, rest))
            records = kept
        return records, pending

    def _build_ahead(self, cur: Cursor, start: int, batch: int, version: str) -> _Built:
        records, pending = self._build(cur, start, batch, version)
        if pending:  # child locators get their URLs when the page is served
            return _Built(len(records), records, pending, None)
        return _Built(len(records), [], [], orjson.dumps(records))

    def _prefetch(self, cur: Cursor, start: int, batch: int, version: str) -> None:
        """Build (and encode) the next pages while the client is busy with this one.

        Without child subqueries every page but the last holds exactly ``batch`` rows, so
        the page after next is known too and both are built ahead. A page already asked for
        is not built again (with several pages in flight, the next ones may be).
        """
        assert cur.query is not None  # noqa: S101 - parent cursors only
        depth = 1 if cur.query.plan.children else PREFETCH_PAGES
        with cur.pages_lock:
            for k in range(depth):
                at = start + k * batch
                key = (at, batch, version)
                if at < cur.total and key not in cur.prefetched and key not in cur.served:
                    cur.prefetched[key] = _executor().submit(
                        self._build_ahead, cur, at, batch, version
                    )

    def _claim(self, cur: Cursor, start: int, batch: int, version: str) -> Future[_Built] | None:
        """The page built ahead for this request, if any, marking the page as asked for.

        Pages built ahead far behind this one (skipped by the client) or for another batch
        size or API version are dropped. A page not yet started is built by the request
        itself rather than waiting behind the others in the pool.
        """
        key = (start, batch, version)
        with cur.pages_lock:
            ahead = cur.prefetched.pop(key, None)
            cur.served.add(key)
            behind = start - SKIPPED_PAGES * batch
            for k in [k for k in cur.prefetched if k[0] < behind or k[1:] != (batch, version)]:
                cur.prefetched.pop(k).cancel()
        if ahead is not None and ahead.cancel():
            return None
        return ahead

    def _page(
        self,
        request: Request,
        cur: Cursor,
        start: int,
        batch: int,
        *,
        first_batch_only: bool = False,
    ) -> Response:
        """One page from ``start``; ``first_batch_only``: the last one whatever is left."""
        version = self._version(request)
        dialect = dialect_of(self.org)
        ahead = self._claim(cur, start, batch, version)
        if ahead is not None:
            built = ahead.result()
        else:
            records, pending = self._build(cur, start, batch, version)
            built = _Built(len(records), records, pending, None)
        end = start + built.size
        total = cur.total
        done = end >= total or first_batch_only
        limits, prefix = _limits(dialect), dialect.query_locators
        if not cur.id and (not done or built.pending):
            opened = self.cursors.open(
                cur.user, cur.resource, limits=limits, prefix=prefix, query=cur.query,
                rowids=cur.rowids, include_deleted=cur.include_deleted, batch=cur.batch,
                session=cur.session, child_batch=cur.child_batch,
            )  # fmt: skip
            cur = opened
        elif cur.id:
            self.cursors.release_children(cur)
        for result, rest in built.pending:
            child = self.cursors.open(
                cur.user, cur.resource, limits=limits, prefix=prefix, query=None, records=rest,
                parent=cur.id, position=0, batch=cur.batch, session=cur.session,
                child_batch=cur.child_batch,
            )  # fmt: skip
            cur.children.append(child.id)
            result["nextRecordsUrl"] = self._url(request, cur.resource, child, cur.child_batch)
            child.position = cur.child_batch  # offset as the locator shows it
        head: dict[str, Any] = {"totalSize": total, "done": done}
        if not done:
            head["nextRecordsUrl"] = self._url(request, cur.resource, cur, end)
            cur.position = end
        elif cur.id and not cur.children:
            self.cursors.release(cur.id)
        if built.encoded is not None:
            body = orjson.dumps(head)[:-1] + b',"records":' + built.encoded + b"}"
        else:
            head["records"] = built.records
            body = orjson.dumps(head)
        if not done:
            # Started after encoding this page, so the two do not compete for the GIL.
            self._prefetch(cur, end, batch, version)
        return Response(status=200, body=body)

    def more(self, request: Request, locator: str) -> Response:
        faults = self.org.features.get("faults")
        if getattr(faults, "expire_locators", False):
            record = getattr(faults, "record", None)
            if callable(record):
                record("expired_locator")
            return _invalid_locator()
        cursor_id, _, offset_text = locator.partition("-")
        dialect = dialect_of(self.org)
        cur = self.cursors.get(cursor_id, _limits(dialect))
        if cur is None or not offset_text.isdigit() or cur.user != (request.user_id or ""):
            return _invalid_locator()
        if dialect.query_cursors == "session" and cur.session != session_key(request.token):
            return _foreign_cursor(dialect)
        offset = int(offset_text)
        if dialect.locator_offsets == "sequential" and offset != cur.position:
            return _invalid_locator()  # only the next-page URL handed out (dialect docstring)
        # Without the header, query-more keeps the batch size the query started with.
        header = request.header("Sforce-Query-Options")
        batch = batch_size(header) if header else cur.batch
        if cur.query is None:
            return self._child_page(request, cur, offset, batch)
        if offset > cur.total:
            return _invalid_locator()
        return self._page(request, cur, offset, batch)

    def _child_page(self, request: Request, cur: Cursor, offset: int, batch: int) -> Response:
        # The child locator's offset counts the children already sent (first page included).
        start = offset - cur.child_batch
        if start < 0 or start > len(cur.records):
            return _invalid_locator()
        chunk = cur.records[start : start + batch]
        end = offset + len(chunk)
        total = len(cur.records) + cur.child_batch
        payload: dict[str, Any] = {"totalSize": total, "done": end >= total}
        if end < total:
            payload["nextRecordsUrl"] = self._url(request, cur.resource, cur, end)
            cur.position = end
        payload["records"] = chunk
        return _json(payload)


def register(router: Router, org: Any) -> None:
    """Add ``/query``, ``/queryAll`` and their query-more routes."""
    service = QueryService(org)

    def query(request: Request) -> Response:
        return service.query(request, include_deleted=False)

    def query_all(request: Request) -> Response:
        return service.query(request, include_deleted=True)

    def more(request: Request, locator: str) -> Response:
        return service.more(request, locator)

    locator = r"(?P<locator>[^/]+)"
    router.add("GET", r"/services/data/{v}/query/?", query)
    router.add("GET", r"/services/data/{v}/queryAll/?", query_all)
    router.add("GET", r"/services/data/{v}/query/" + locator, more)
    router.add("GET", r"/services/data/{v}/queryAll/" + locator, more)
