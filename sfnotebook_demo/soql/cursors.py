"""Query cursors of the demo org: snapshots behind query locators, with Salesforce's limits.

A locator (``01gXX0000000001AAA-2000``) names a :class:`Cursor`; cursors expire after
``IDLE_SECONDS`` idle, and a user holds at most ``MAX_CURSORS`` query cursors (opening one
more releases the oldest). Child cursors serve a parent's remaining child records.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfnotebook_demo.ids import case_safe_suffix

if TYPE_CHECKING:
    from sfnotebook_demo.soql.engine import CompiledQuery

__all__ = ["DEFAULT_BATCH", "IDLE_SECONDS", "MAX_CURSORS", "Cursor", "CursorStore"]

DEFAULT_BATCH = 2000
IDLE_SECONDS = 15 * 60
MAX_CURSORS = 10
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _cursor_id(n: int) -> str:
    """An 18-character id with the query locator key prefix ``01g`` and a case-safe suffix."""
    body = "01g"
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _ALPHABET[r] + digits
    body += "Dm" + digits.rjust(10, "0")
    return body + case_safe_suffix(body)


@dataclass
class Cursor:
    """Server-side state of one open locator."""

    id: str
    user: str
    resource: str  # "query" or "queryAll": the nextRecordsUrl keeps the one that opened it
    query: CompiledQuery | None  # None for child cursors
    rowids: Sequence[int] = ()
    records: list[dict[str, Any]] = field(default_factory=list)  # child cursors only
    include_deleted: bool = False
    batch: int = DEFAULT_BATCH  # the batch size the query asked for
    position: int = 0
    last_used: float = 0.0
    parent: str | None = None  # child cursors: the parent cursor's id
    # Pages built ahead: (start, batch, API version) -> future of a _Built.
    prefetched: dict[tuple[int, int, str], Future[Any]] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)  # parent cursors: current child cursors

    @property
    def total(self) -> int:
        return len(self.rowids) if self.query is not None else len(self.records)


class CursorStore:
    """Open cursors, with Salesforce's idle expiry and per-user limit."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._cursors: dict[str, Cursor] = {}
        self._by_user: dict[str, OrderedDict[str, None]] = {}
        self._counter = itertools.count(1)

    def open(self, user: str, resource: str, **kw: Any) -> Cursor:
        """A new cursor; a user's 11th query cursor releases their oldest one."""
        with self._lock:
            cur = Cursor(_cursor_id(next(self._counter)), user, resource, **kw)
            cur.last_used = self.clock()
            self._cursors[cur.id] = cur
            if cur.parent is None:
                owned = self._by_user.setdefault(user, OrderedDict())
                owned[cur.id] = None
                while len(owned) > MAX_CURSORS:
                    oldest, _ = owned.popitem(last=False)
                    self._release(oldest)
            return cur

    def get(self, cursor_id: str, user: str | None) -> Cursor | None:
        """The live cursor, or ``None`` when unknown, released, expired or not the user's."""
        with self._lock:
            cur = self._cursors.get(cursor_id)
            if cur is None:
                return None
            now = self.clock()
            if now - cur.last_used > IDLE_SECONDS:
                self._release(cur.id)
                return None
            if user is not None and cur.user != user:
                return None
            cur.last_used = now
            if cur.parent is not None and cur.parent in self._cursors:
                self._cursors[cur.parent].last_used = now
            return cur

    def release(self, cursor_id: str) -> None:
        with self._lock:
            self._release(cursor_id)

    def release_children(self, cur: Cursor) -> None:
        with self._lock:
            for child in cur.children:
                self._cursors.pop(child, None)
            cur.children = []

    def _release(self, cursor_id: str) -> None:
        cur = self._cursors.pop(cursor_id, None)
        if cur is None:
            return
        for child in cur.children:
            self._cursors.pop(child, None)
        owned = self._by_user.get(cur.user)
        if owned is not None:
            owned.pop(cursor_id, None)

    def __len__(self) -> int:
        return len(self._cursors)
