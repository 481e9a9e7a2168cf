"""Fault injection for the demo org: latency, 5xx, dropped connections, expiry, limits.

A :class:`FaultConfig` lives in ``org.features["faults"]``. The server consults it for the
transport-level faults (latency, 503 ``SERVER_UNAVAILABLE`` or another 5xx, dropped
connections, bodies cut short, stalled requests, session expiry, ``REQUEST_LIMIT_EXCEEDED``);
feature modules read their own switches from it with ``getattr(faults, name, default)``:
``expire_locators``, ``report_timeout`` (answered as the org's dialect says,
:mod:`sfnotebook_demo.dialect`), ``report_delay``, ``fail_bulk_jobs``. Every injected fault is counted by kind, so tests and benchmarks can
report what a client survived.

Randomness comes from a seeded :class:`random.Random`, so a sequential test run is
reproducible; ``error_next``, ``drop_next``, ``cut_next``, ``stall_next`` and ``limit_next``
give exact, count-based faults for tests that must not depend on luck (``skip_next`` and
``methods`` aim them at one request of a sequence).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ERROR_STATUSES", "FAULT_KINDS", "REQUEST_KINDS", "FaultConfig"]

# The kinds of request the server tells apart; faults apply to ``FaultConfig.apply_to`` only.
REQUEST_KINDS = ("data", "token", "identity", "versions", "admin", "other")

# Statuses ``error_status`` may take: a JSON 500/503 as Salesforce's own servers answer, or an
# HTML 502/504 as a load balancer in front of them does.
ERROR_STATUSES = (500, 502, 503, 504)

# The kinds of fault counted in ``FaultConfig.counts``.
FAULT_KINDS = (
    "latency",
    "connect_latency",
    "server_unavailable",
    "server_error",
    "dropped_connection",
    "cut_body",
    "stalled",
    "session_expired",
    "request_limit_exceeded",
    "expired_locator",
    "report_timeout",
    "bulk_job_failed",
)

# Fields that are configuration (settable at runtime), as opposed to bookkeeping.
_PRIVATE = {
    "counts",
    "_rng",
    "_lock",
    "_requests_since_expiry",
    "_last_expiry",
    "_pattern",
    "_after_fired",
}


@dataclass
class FaultConfig:
    """What the demo org does wrong, and how often.

    Parameters
    ----------
    latency
        Seconds added before answering every request the faults apply to.
    connect_latency
        Seconds added once per new connection, before its TLS handshake is answered: the set-up
        a real network charges a new connection (TCP's SYN/ACK plus TLS 1.3's handshake, about
        2 round trips), which ``latency`` (per request) does not model. Applies to every new
        connection, whatever ``apply_to`` says (the kind of request is not known yet), so a
        client that opens fewer connections pays less, as on a real network.
    error_rate
        Fraction (0..1) of those requests answered 503 ``SERVER_UNAVAILABLE``.
    drop_rate
        Fraction (0..1) of those requests whose connection is closed without any response.
    error_next, drop_next
        Exact counts: the next N requests get a 503 / a dropped connection (decremented as
        they are used; checked before the rates).
    error_status
        The status of injected errors, one of :data:`ERROR_STATUSES` (503 by default).
    retry_after
        When set, injected errors carry ``Retry-After: <seconds>``.
    cut_next
        The next N requests are served, but their answer stops half-way through the body
        and the connection closes (``Content-Length`` or chunked framing left unfinished).
    stall_next, stall_seconds
        The next N requests get no answer for ``stall_seconds``, then the connection closes
        unanswered; they are never served (a request lost in a hung network path).
    limit_next
        The next N requests answer 403 ``REQUEST_LIMIT_EXCEEDED`` (not served).
    skip_next
        Requests the faults apply to that pass untouched before the count-based faults
        above start (``skip_next=1``: the second matching request gets the fault).
    methods
        When set, transport faults apply only to these HTTP methods (``("GET",)``).
    expire_after_requests
        Once, after N authenticated API requests (counted from when the faults were last
        set), all current sessions become invalid: the (N+1)-th call gets 401
        ``INVALID_SESSION_ID``; a re-exchanged token then keeps working. One-shot, so
        concurrent callers sharing a token all succeed on their retry.
    expire_every_requests
        The same, every N requests (periodic). With more concurrent callers than N, a
        retry can meet the next expiry: use it for soak runs with a generous N.
    expire_after_seconds
        Sessions become invalid T seconds after they were issued (or after the last
        expiry), whatever their lifetime.
    request_limit
        After N API requests (the ``api-usage`` counter), answer 403
        ``REQUEST_LIMIT_EXCEEDED``; the reported daily maximum becomes N.
    expire_locators
        Query-more calls answer 400 ``INVALID_QUERY_LOCATOR`` (read by
        :mod:`sfnotebook_demo.soql.endpoint`).
    report_timeout
        Sync report runs fail as a slow run does on timeout (read by
        :mod:`sfnotebook_demo.reports.endpoints`), answered as the dialect's
        ``report_timeout_answer`` says; async runs are not affected.
    report_delay
        Seconds every sync report run takes before it answers (read by
        :mod:`sfnotebook_demo.reports.endpoints`): a run slower than the client waits, as a
        report can be on Salesforce, whose REST timeout may be longer than a client's read
        timeout (fidelity-audit D1). With ``report_timeout`` too, the failure comes that late.
    fail_bulk_jobs
        Bulk query jobs end in state ``Failed`` (read by :mod:`sfnotebook_demo.bulk.jobs`);
        ingest jobs too, after their first batch (:mod:`sfnotebook_demo.bulk.ingest_jobs`).
    seed
        Seed of the random generator that draws the rate-based faults.
    apply_to
        Request kinds the transport faults apply to (``"data"``: authenticated REST calls
        under ``/services/data/vXX.X/``; ``"token"``: the token endpoint; also
        ``"identity"``, ``"versions"``). The token endpoint is spared unless listed.
    path_pattern
        When set, transport faults apply only to paths matching this regular expression
        (``re.search``), e.g. ``"/query/"`` for query-more calls only.
    """

    latency: float = 0.0
    connect_latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    error_next: int = 0
    drop_next: int = 0
    error_status: int = 503
    retry_after: int | None = None
    cut_next: int = 0
    stall_next: int = 0
    stall_seconds: float = 1.0
    limit_next: int = 0
    skip_next: int = 0
    methods: tuple[str, ...] | None = None
    expire_after_requests: int | None = None
    expire_every_requests: int | None = None
    expire_after_seconds: float | None = None
    request_limit: int | None = None
    expire_locators: bool = False
    report_timeout: bool = False
    report_delay: float = 0.0
    fail_bulk_jobs: bool = False
    seed: int | None = 0
    apply_to: tuple[str, ...] = ("data",)
    path_pattern: str | None = None
    counts: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _requests_since_expiry: int = field(default=0, repr=False, compare=False)
    _after_fired: bool = field(default=False, repr=False, compare=False)
    _last_expiry: float = field(default=0.0, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        self._rng.seed(self.seed)
        self._last_expiry = time.time()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every settable option at its fault-free default (for ``DemoOrg.set_faults``)."""
        fresh = cls()
        return {name: getattr(fresh, name) for name in cls.settable()}

    @classmethod
    def settable(cls) -> list[str]:
        """Names of the options :meth:`update` accepts."""
        return [f.name for f in fields(cls) if f.name not in _PRIVATE]

    def _validate(self) -> None:
        for name in ("error_rate", "drop_rate"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("latency", "connect_latency", "report_delay"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, got {self.stall_seconds!r}")
        if self.error_status not in ERROR_STATUSES:
            raise ValueError(
                f"error_status must be one of {ERROR_STATUSES}, got {self.error_status!r}"
            )
        if self.methods is not None:
            self.methods = tuple(m.upper() for m in self.methods)
        if isinstance(self.apply_to, str):
            self.apply_to = (self.apply_to,)
        self.apply_to = tuple(self.apply_to)
        unknown = set(self.apply_to) - set(REQUEST_KINDS)
        if unknown:
            raise ValueError(f"unknown request kinds in apply_to: {sorted(unknown)}")
        self._pattern = re.compile(self.path_pattern) if self.path_pattern else None

    def update(self, **options: Any) -> None:
        """Change options at runtime; unknown names raise ``TypeError``.

        Changing ``seed`` re-seeds the generator; the expiry windows restart.
        """
        allowed = set(self.settable())
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(f"unknown fault options: {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self._lock:
            old = {name: getattr(self, name) for name in options}
            for name, value in options.items():
                if name in ("apply_to", "methods") and isinstance(value, list):
                    value = tuple(value)
                setattr(self, name, value)
            try:
                self._validate()
            except ValueError:
                for name, value in old.items():
                    setattr(self, name, value)
                raise
            if "seed" in options:
                self._rng.seed(self.seed)
            self._requests_since_expiry = 0
            self._after_fired = False
            self._last_expiry = time.time()

    def as_dict(self) -> dict[str, Any]:
        """The settable options as plain JSON-friendly values."""
        out: dict[str, Any] = {}
        for name in self.settable():
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    # ---- decisions the server asks for -------------------------------------------------

    def applies(self, kind: str, path: str, method: str | None = None) -> bool:
        """Whether transport faults apply to a request of this kind, path (and method)."""
        if kind not in self.apply_to:
            return False
        if method is not None and self.methods is not None and method.upper() not in self.methods:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def transport_fault(self) -> str | None:
        """Draw the fault for one request: ``"drop"``, ``"error"``, ``"cut"``, ``"stall"``,
        ``"limit"`` or ``None``.

        Latency is separate (:attr:`latency`), because it combines with the others.
        """
        with self._lock:
            counted = (
                ("drop_next", "drop", "dropped_connection"),
                ("error_next", "error", self._error_kind()),
                ("cut_next", "cut", "cut_body"),
                ("stall_next", "stall", "stalled"),
                ("limit_next", "limit", "request_limit_exceeded"),
            )
            if self.skip_next > 0 and any(getattr(self, name) > 0 for name, _, _ in counted):
                self.skip_next -= 1
                return None
            for name, fault, kind in counted:
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    self.counts[kind] += 1
                    return fault
            # Draw both numbers every time so the sequence does not depend on the rates.
            drop_draw, error_draw = self._rng.random(), self._rng.random()
            if drop_draw < self.drop_rate:
                self.counts["dropped_connection"] += 1
                return "drop"
            if error_draw < self.error_rate:
                self.counts[self._error_kind()] += 1
                return "error"
            return None

    def _error_kind(self) -> str:
        return "server_unavailable" if self.error_status == 503 else "server_error"

    def connect_delay(self) -> float:
        """The set-up delay to charge one new connection (counted when non-zero)."""
        if self.connect_latency > 0:
            with self._lock:
                self.counts["connect_latency"] += 1
            return self.connect_latency
        return 0.0

    def delay(self) -> float:
        """The latency to add to one request (counted when non-zero)."""
        if self.latency > 0:
            with self._lock:
                self.counts["latency"] += 1
            return self.latency
        return 0.0

    def session_expiry_due(self) -> bool:
        """Count one authenticated API request; True when sessions must expire now.

        Called before the request is served: with ``expire_after_requests=N`` the first N
        requests succeed and the (N+1)-th finds its session expired (once);
        ``expire_every_requests=N`` repeats that every N requests.
        """
        with self._lock:
            n = self._requests_since_expiry
            due = False
            if (
                self.expire_after_requests is not None
                and not self._after_fired
                and n >= self.expire_after_requests
            ):
                due = self._after_fired = True
            if self.expire_every_requests is not None and n >= self.expire_every_requests:
                due = True
            if (
                self.expire_after_seconds is not None
                and time.time() - self._last_expiry >= self.expire_after_seconds
            ):
                due = True
            if due:
                self._requests_since_expiry = 0
                self._last_expiry = time.time()
                self.counts["session_expired"] += 1
            else:
                self._requests_since_expiry += 1
            return due

    def sessions_renewed(self) -> None:
        """Restart the time window when a new token is issued after an expiry."""
        with self._lock:
            if self.expire_after_seconds is not None:
                self._last_expiry = time.time()

    def record(self, kind: str, n: int = 1) -> None:
        """Count a fault injected elsewhere (feature modules call this)."""
        with self._lock:
            self.counts[kind] += n

    def counts_dict(self) -> dict[str, int]:
        """Faults injected so far, by kind (kinds never injected are omitted)."""
        with self._lock:
            return {k: v for k, v in self.counts.items() if v}
