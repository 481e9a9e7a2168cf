"""Downloading one query's pages: the first, then ``nextRecordsUrl`` to the end.

With ``prefetch`` (no child subqueries), a thread follows the chain by itself, reading only
each page's head, while the caller converts the page before; at most ``_QUEUE_PAGES`` pages
wait as bytes. With ``concurrency`` above 1 that thread fetches several pages at once, by
locator offset, and puts them out in order (:mod:`sfnotebook.soql._parallel`).

A query cursor may belong to the session that opened it: a 2026 report (airbyte PR #84302)
found that after a token exchange "A new session cannot resume another session's locator,
so every retry fails with INVALID_SESSION_ID"; other orgs may answer
``INVALID_QUERY_LOCATOR``, or let any session of the user continue. So query-more calls go out
with ``reauth=False`` and a 401 is handled here, by which token the call carried:

* the cursor's token (the one page 1 was answered to, or a later one the org let continue
  it): the session expired, or was renewed while the call was out. The credentials are
  exchanged once (:meth:`~sfnotebook._session.ApiSession.renew`: no exchange when another
  call made it already) and the page asked for again; if the new session cannot continue the
  cursor, it is lost (:class:`CursorLost`);
* a newer token (another call renewed it before this one went out): on an org whose cursors
  belong to their session, the cursor ended with its session. It is lost at once, with no
  second exchange, which would end the cursors of every other query running on this
  connection, and theirs this one's, round and round.

``INVALID_QUERY_LOCATOR`` is handled alike, except with the cursor's own token unchanged:
that is a cursor that expired or was released, raised as it is. The caller restarts a lost
query from its first page (``sfnotebook.soql``), never mixing the pages of two cursors.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import OrgApi
from sfnotebook._secret import Secret
from sfnotebook._session import MAX_RENEWALS
from sfnotebook.errors import (
    IncompleteResultError,
    QueryLocatorExpiredError,
    SalesforceError,
    SessionExpiredError,
)
from sfnotebook.soql import _parallel

__all__ = ["HEAD", "CursorLost", "Head", "Pages", "next_url"]

_QUEUE_PAGES = 2  # pages downloaded ahead of the converter: bounds the memory held as bytes


class Head(msgspec.Struct):
    """What every query page carries (Salesforce always sends ``totalSize`` and ``done``)."""

    totalSize: int
    done: bool
    nextRecordsUrl: str | None = None


HEAD = msgspec.json.Decoder(Head)


class CursorLost(Exception):
    """A query-more call refused after the session changed: the query must start again.

    Not an :class:`~sfnotebook.errors.SfNotebookError`: ``sfnotebook.soql`` catches it and
    restarts the query, or raises a typed error saying why it could not.
    """

    def __init__(self, error: SalesforceError) -> None:
        super().__init__(str(error))
        self.error = error
        self.received: int | None = None
        self.expected: int | None = None


_UNKNOWN = Secret("not a token: the session that opened the cursor is unknown")


def _token(conn: OrgApi) -> Secret | None:
    """The token the next call will carry (compared by identity; never revealed here)."""
    token = getattr(conn.session.auth, "token", None)
    return token if isinstance(token, Secret) else None


# --------------------------------------------------------------------------- paging


class Pages:
    """Downloads the pages of one query. With ``prefetch``, a thread fetches page n+1 while the
    caller converts page n (it reads ``nextRecordsUrl`` itself with a header-only decode)."""

    lost = CursorLost  # what ``_parallel`` hands back to paging in turn

    def __init__(
        self,
        conn: OrgApi,
        soql: str,
        *,
        include_deleted: bool,
        batch_size: int | None,
        prefetch: bool,
        concurrency: int = 1,
    ) -> None:
        self.conn = conn
        self.headers = (
            {"Sforce-Query-Options": f"batchSize={int(batch_size)}"} if batch_size else None
        )
        self.first = ("queryAll" if include_deleted else "query", {"q": soql})
        self.prefetch = prefetch
        self.concurrency = concurrency  # query-more calls in flight (``_parallel``); 1: in turn
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_PAGES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[bytes] | None = None
        self.opened_with: Secret | None = None  # the token that page 1 was answered to
        self.sent = threading.Event()  # set as page 1 is sent (or fails before)
        self._owners: list[Secret | None] = []  # the tokens the cursor answered to
        self._deciding = threading.Lock()  # refused query-more calls are judged in turn

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        return self.fetch(url, params)[0]

    def fetch(
        self, url: str, params: dict[str, str] | None = None, *, decoder: Any = HEAD
    ) -> tuple[bytes, Any]:
        """One page's bytes and head (``decoder``'s struct: :data:`HEAD` by default); a page
        that is not a query page is an error here."""
        if params is not None:
            self.sent.set()  # page 1 is going out: the caller imports pandas meanwhile
            resp = self.conn.request("GET", url, params=params, headers=self.headers)
        else:
            resp = self._more(url)
        raw = bytes(resp.content)
        try:
            return raw, decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            endpoint = "query" if params else "query-more"
            decode_json(resp, endpoint=endpoint, expect=dict)  # names what it was, if it can
            raise unexpected(
                resp,
                endpoint,
                f"not a query page ({exc})",
                "Something in front of Salesforce answered instead: check SF_DOMAIN, then rerun.",
            ) from None

    def _more(self, url: str) -> Any:
        """A query-more call; a refusal after the session changed raises :class:`CursorLost`.

        With pages fetched in parallel (``_parallel``) several calls may be refused by one
        expiry, and one of them renews the session while the others are still out. So a
        call is judged by whether the token it carried ever was the cursor's (answered by
        it: :meth:`_owns`), and refused calls are judged one at a time: a call that carried
        the token another call has just renewed to waits until that call's page once more
        shows whether the cursor answers to it.
        """
        used = _token(self.conn)
        try:
            return self._send(url)
        except (SessionExpiredError, QueryLocatorExpiredError) as exc:
            refused: SalesforceError = exc
        with self._deciding:
            if not self._owns(used):  # renewed before this call, and refused
                return self._newer(url, used, refused)
            if isinstance(refused, QueryLocatorExpiredError) and _token(self.conn) is used:
                raise refused  # the query's own session: the cursor expired or was released
            # The cursor's session expired, or was renewed while this call was out: one
            # exchange (none if another call made it already), then the page once more.
            self.conn.session.renew(used)
            resent_with = _token(self.conn)
            try:
                return self._send(url)
            except (SessionExpiredError, QueryLocatorExpiredError) as exc:
                # Refused again: lost, unless that token was renewed since (it expired too).
                return self._newer(url, resent_with, exc)

    def _newer(self, url: str, used: Secret | None, refused: SalesforceError) -> Any:
        """A call that carried a token the cursor never answered to (or the one just renewed
        to), refused.

        Where a cursor belongs to its session, it ended with the session that opened it: the
        cursor is lost, with no second exchange (it would end the cursors of every other
        query running on this connection, and theirs this one's). But when another call has
        renewed the token since, the token expired (a refused cursor renews nothing): the
        page is asked for once more with the token it was renewed to, which is no exchange
        of ours, at most ``MAX_RENEWALS`` times.
        """
        for _ in range(MAX_RENEWALS):
            current = _token(self.conn)
            if current is used or not isinstance(refused, SessionExpiredError):
                break
            used = current
            try:
                return self._send(url)
            except (SessionExpiredError, QueryLocatorExpiredError) as exc:
                refused = exc
        raise CursorLost(refused) from None

    def _owns(self, token: Secret | None) -> bool:
        """Whether the cursor answered to ``token`` (page 1, or a later page)."""
        return any(owner is token for owner in self._owners)

    def _send(self, url: str) -> Any:
        """One query-more call; when it succeeds with a token other than the one the cursor
        was opened with, the org lets that session continue it: it counts as the cursor's."""
        before = _token(self.conn)
        resp = self.conn.request("GET", url, headers=self.headers, reauth=False)
        if _token(self.conn) is before:
            self.opened_with = before
            if before is not None and not self._owns(before):
                self._owners.append(before)
        return resp

    def first_page(self) -> tuple[bytes, Head]:
        """Page 1 and its head; with ``prefetch``, the thread that follows the rest starts."""
        before = _token(self.conn)
        try:
            raw, head = self.fetch(*self.first)
        finally:
            self.sent.set()
        # Renewed while page 1 was on its way: which session opened the cursor is unknown, so
        # any refusal of it counts as lost (restarted), never as expired.
        self.opened_with = before if _token(self.conn) is before else _UNKNOWN
        self._owners.append(self.opened_with)
        if self.prefetch and not head.done and head.nextRecordsUrl:
            plan = _parallel.schedule(
                self.conn, raw, head.nextRecordsUrl, head.totalSize, self.concurrency
            )
            target: Any = self.chain
            args: tuple[Any, ...] = (head.nextRecordsUrl,)
            if plan is not None:  # the rest fetched several at once, by locator offset
                target, args = _parallel.fan_out, (self, plan)
            self._thread = threading.Thread(
                target=target, args=args, name="sfnotebook-query", daemon=True
            )
            self._thread.start()
        return raw, head

    def put(self, item: Any) -> bool:
        """Hand ``item`` (a page's bytes, None after the last, or a failure) to the caller;
        False when the caller stopped reading."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def chain(self, url: str | None, served: Callable[[], None] | None = None) -> None:
        """Follow ``nextRecordsUrl`` from ``url`` to the end, putting each page out (the
        thread body); ``served`` is called once the first page has arrived."""
        try:
            while url and not self._stop.is_set():
                raw, head = self.fetch(url)
                if served is not None:
                    served()
                    served = None
                if not self.put(raw):
                    return
                url = next_url(head.done, head.nextRecordsUrl, received=None)
            self.put(None)
        except BaseException as exc:  # handed to the caller's thread, raised there
            self.put(exc)

    def start_next(self, url: str | None) -> None:
        """Start downloading the page at ``url`` (the current page's nextRecordsUrl)."""
        if self._thread is not None:  # the chain thread follows the pages by itself
            return
        self._future = self._executor().submit(self.get, url) if url else None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="sfnotebook-query")
        return self._pool

    def next_page(self) -> bytes | None:
        """The next page's bytes (waits for the download), or None after the last page."""
        if self._thread is None:
            future, self._future = self._future, None
            return future.result() if future is not None else None
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def next_url(done: bool, url: str | None, *, received: int | None) -> str | None:
    """The next page's URL, None after the last page; ``done: false`` without one is an error."""
    if done:
        return None
    if not url:
        raise IncompleteResultError(
            "Salesforce answered a query page with done: false but no nextRecordsUrl, so "
            "the rest of the result cannot be fetched; no partial result is returned. Rerun "
            "the query.",
            expected=None,
            received=received,
        )
    return url
