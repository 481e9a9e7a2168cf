"""Query cursors of the demo org: snapshots behind query locators, with Salesforce's limits.

A locator (``0r8Dm0000000001AAA-2000``) names a :class:`Cursor`. How long a cursor lives is
the dialect's ``cursor_limits`` (:mod:`sfnotebook_demo.dialect`): today's rule, 2 days from the
query and no limit on open cursors (:data:`CURRENT`), or the rule before API 56.0, 15 minutes
idle and 10 query cursors per user, opening an 11th releasing the oldest (:data:`PRE_56`).
Child cursors serve a parent's remaining child records and live as long as their parent.

With no limit on open cursors, abandoned ones (a client that stops reading) would pile up in
the demo's memory for two days, so the store also keeps at most :data:`MAX_OPEN` cursors in
all, releasing the least recently used: the demo's own bound, far above what any client of it
holds at once, not a Salesforce rule.
"""

from __future__ import annotations

import hashlib
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

__all__ = [
    "CURRENT",
    "DEFAULT_BATCH",
    "IDLE_SECONDS",
    "LIFETIME_SECONDS",
    "MAX_CURSORS",
    "MAX_OPEN",
    "PRE_56",
    "Cursor",
    "CursorLimits",
    "CursorStore",
    "session_key",
]

DEFAULT_BATCH = 2000
LIFETIME_SECONDS = 2 * 86400  # "available for 2 days" (API Query Cursor Limits, API 56.0+)
IDLE_SECONDS = 15 * 60  # before API 56.0: expired after 15 minutes of inactivity
MAX_CURSORS = 10  # before API 56.0: query cursors per user
MAX_OPEN = 2000  # the demo's own memory bound (see the module docstring)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class CursorLimits:
    """When cursors expire: ``lifetime`` seconds after opening, ``idle`` seconds unused, and at
    most ``per_user`` query cursors per user (``None``: no such limit)."""

    lifetime: float | None
    idle: float | None
    per_user: int | None


CURRENT = CursorLimits(lifetime=LIFETIME_SECONDS, idle=None, per_user=None)
PRE_56 = CursorLimits(lifetime=None, idle=IDLE_SECONDS, per_user=MAX_CURSORS)


def _cursor_id(n: int, prefix: str) -> str:
    """An 18-character id with the locator key ``prefix`` (``0r8`` or ``01g``) and a case-safe
    suffix, as real locators are (KB 000004410: "18 characters long")."""
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _ALPHABET[r] + digits
    body = prefix + "Dm" + digits.rjust(10, "0")
    return body + case_safe_suffix(body)


def session_key(token: str | None) -> str | None:
    """What identifies a session in a cursor: a digest of its token, never the token."""
    if token is None:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:24]


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
    session: str | None = None  # session_key of the token that opened the query
    child_batch: int = 200  # parents: child rows per parent page; children: rows sent first
    position: int = 0
    opened: float = 0.0
    last_used: float = 0.0
    parent: str | None = None  # child cursors: the parent cursor's id
    # Pages built ahead: (start, batch, API version) -> future of a _Built.
    prefetched: dict[tuple[int, int, str], Future[Any]] = field(default_factory=dict)
    # Pages asked for (built ahead no more: a client with several pages in flight asks for
    # them out of order), and the lock of both: handler threads serve one cursor at once.
    served: set[tuple[int, int, str]] = field(default_factory=set)
    pages_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    children: list[str] = field(default_factory=list)  # parent cursors: current child cursors

    @property
    def total(self) -> int:
        return len(self.rowids) if self.query is not None else len(self.records)


class CursorStore:
    """Open cursors, with the expiry and per-user limits the caller's :class:`CursorLimits` say."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()  # least recently used first
        self._by_user: dict[str, OrderedDict[str, None]] = {}
        self._counter = itertools.count(1)

    def open(
        self, user: str, resource: str, *, limits: CursorLimits, prefix: str = "0r8", **kw: Any
    ) -> Cursor:
        """A new cursor; past ``limits.per_user`` query cursors the user's oldest is released."""
        with self._lock:
            cur = Cursor(_cursor_id(next(self._counter), prefix), user, resource, **kw)
            cur.opened = cur.last_used = self.clock()
            self._cursors[cur.id] = cur
            if cur.parent is None:
                owned = self._by_user.setdefault(user, OrderedDict())
                owned[cur.id] = None
                while limits.per_user is not None and len(owned) > limits.per_user:
                    oldest, _ = owned.popitem(last=False)
                    self._release(oldest)
            while len(self._cursors) > MAX_OPEN:
                self._release(next(iter(self._cursors)))
            return cur

    def get(self, cursor_id: str, limits: CursorLimits) -> Cursor | None:
        """The live cursor, or ``None`` when unknown, released or expired (whose it is, the
        caller checks: the answer to a foreign cursor depends on the dialect)."""
        with self._lock:
            cur = self._cursors.get(cursor_id)
            if cur is None:
                return None
            root = self._cursors.get(cur.parent) if cur.parent is not None else cur
            now = self.clock()
            if root is None or self._expired(root, now, limits):
                self._release(cur.parent or cur.id)
                self._release(cur.id)
                return None
            for live in {id(cur): cur, id(root): root}.values():
                live.last_used = now
                self._cursors.move_to_end(live.id)
            return cur

    @staticmethod
    def _expired(cur: Cursor, now: float, limits: CursorLimits) -> bool:
        if limits.lifetime is not None and now - cur.opened > limits.lifetime:
            return True
        return limits.idle is not None and now - cur.last_used > limits.idle

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
