"""Downloading one query's pages: the first, then ``nextRecordsUrl`` to the end.

With ``prefetch`` (no child subqueries), a thread follows the chain by itself, reading only
each page's head, while the caller converts the page before; at most ``_QUEUE_PAGES`` pages
wait as bytes.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import OrgApi
from sfnotebook.errors import IncompleteResultError

__all__ = ["HEAD", "Head", "Pages", "next_url"]

_QUEUE_PAGES = 2  # pages downloaded ahead of the converter: bounds the memory held as bytes


class Head(msgspec.Struct):
    """What every query page carries (Salesforce always sends ``totalSize`` and ``done``)."""

    totalSize: int
    done: bool
    nextRecordsUrl: str | None = None


HEAD = msgspec.json.Decoder(Head)


# --------------------------------------------------------------------------- paging


class Pages:
    """Downloads the pages of one query. With ``prefetch``, a thread fetches page n+1 while the
    caller converts page n (it reads ``nextRecordsUrl`` itself with a header-only decode)."""

    def __init__(
        self,
        conn: OrgApi,
        soql: str,
        *,
        include_deleted: bool,
        batch_size: int | None,
        prefetch: bool,
    ) -> None:
        self.conn = conn
        self.headers = (
            {"Sforce-Query-Options": f"batchSize={int(batch_size)}"} if batch_size else None
        )
        self.first = ("queryAll" if include_deleted else "query", {"q": soql})
        self.prefetch = prefetch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_PAGES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[bytes] | None = None

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        return self.fetch(url, params)[0]

    def fetch(self, url: str, params: dict[str, str] | None = None) -> tuple[bytes, Head]:
        """One page's bytes and head; a page that is not a query page is an error here."""
        resp = self.conn.request("GET", url, params=params, headers=self.headers)
        raw = bytes(resp.content)
        try:
            return raw, HEAD.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            endpoint = "query" if params else "query-more"
            decode_json(resp, endpoint=endpoint, expect=dict)  # names what it was, if it can
            raise unexpected(
                resp,
                endpoint,
                f"not a query page ({exc})",
                "Something in front of Salesforce answered instead: check SF_DOMAIN, then rerun.",
            ) from None

    def first_page(self) -> tuple[bytes, Head]:
        """Page 1 and its head; with ``prefetch``, the thread that follows the rest starts."""
        raw, head = self.fetch(*self.first)
        if self.prefetch and not head.done and head.nextRecordsUrl:
            self._thread = threading.Thread(
                target=self._chain,
                args=(head.nextRecordsUrl,),
                name="sfnotebook-query",
                daemon=True,
            )
            self._thread.start()
        return raw, head

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _chain(self, url: str | None) -> None:
        try:
            while url and not self._stop.is_set():
                raw, head = self.fetch(url)
                if not self._put(raw):
                    return
                url = next_url(head.done, head.nextRecordsUrl, received=None)
            self._put(None)
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._put(exc)

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
