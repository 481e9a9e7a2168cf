"""The ``requests.Session`` sfnotebook owns: re-authentication and retries for every call.

simple-salesforce sends everything through the session it is given, so putting the policy
here covers its calls (``org.sf.query_all``, ``org.sf.Account.describe()``) as well as ours:

* The token: :class:`BearerAuth`, the session's ``auth``, adds ``Authorization: Bearer ...``
  while each request is prepared, only to the instance URL's scheme, host and port; to any
  other origin it strips ``Authorization`` (so ``session.headers`` never holds the token, and
  no frame of ours holds it in a local). ``requests`` strips it on a redirect to another host.
* 401 ``INVALID_SESSION_ID``: exchange the client credentials again (no refresh token exists in
  this flow), swap the session's token and resend. The token a request carried is stamped on
  it while it is prepared, so a 401 names its token exactly: the exchange happens only if that
  token is still the session's (the generation check), so one expiry costs one exchange
  however many threads met it, and a request whose token was renewed meanwhile is simply
  resent. A request is resent at most :data:`MAX_RENEWALS` times (the session may expire
  again while it is in flight); a 401 left after that is the caller's error.
* 5xx and dropped connections on idempotent calls (GET/HEAD, or ``idempotent=True`` for
  read-only POSTs such as report runs): retry a bounded number of times with exponential
  backoff and jitter. A non-idempotent write is never retried.
* 403 ``REQUEST_LIMIT_EXCEEDED`` is never retried: retrying would dig a deeper hole.
* Bodies are read in :data:`READ_SIZE` pieces: ``requests`` reads a body nobody streams in
  10 KB ones (``CONTENT_CHUNK_SIZE``), about 150 reads for each 2,000-record query page.
"""

from __future__ import annotations

import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.auth
from urllib3.util.wait import wait_for_read

from sfnotebook._secret import Secret

__all__ = [
    "MAX_RENEWALS",
    "POOL_SIZE",
    "READ_SIZE",
    "ApiSession",
    "BearerAuth",
    "RetryPolicy",
    "same_origin",
]

log = logging.getLogger("sfnotebook.http")

MAX_RENEWALS = 3  # 401 INVALID_SESSION_ID resends of one request
# Kept-alive connections per host. requests' default (10) is fewer than a notebook's threads
# times each verb's workers (page prefetch, describes, 4 bulk page downloads): past it every
# call would pay a new TLS handshake, and urllib3 logs a warning for each connection dropped.
POOL_SIZE = 32
READ_SIZE = 1 << 20  # bytes asked of the connection per read of a body
_IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS"}
_RETRY_STATUSES = {500, 502, 503, 504}
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass
class RetryPolicy:
    """How often and how patiently idempotent calls are retried."""

    retries: int = 4
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_backoff)
        base = min(self.backoff * (2**attempt), self.max_backoff)
        return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography


def _origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("", "", None)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), port or default)


def same_origin(a: str, b: str) -> bool:
    """Do URLs ``a`` and ``b`` have the same scheme, host and port (default ports filled in)?"""
    return _origin(a) == _origin(b) and _origin(a)[1] != ""


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` for the instance URL's origin only.

    The clear token is produced inside :meth:`__call__`, while ``requests`` prepares the
    request; for any other origin (another host, port or scheme) ``Authorization`` is removed.
    """

    def __init__(self, token: Secret, instance_url: str) -> None:
        self.token = token
        self.origin = _origin(instance_url)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if _origin(r.url or "") == self.origin:
            r.headers["Authorization"] = "Bearer " + self.token.reveal()
            sent_token(r, self.token)
        else:
            r.headers.pop("Authorization", None)
        return r

    def __repr__(self) -> str:
        scheme, host, port = self.origin
        return f"<BearerAuth {scheme}://{host}:{port} token='***'>"


_SENT = "_sfnotebook_token"  # the attribute of a PreparedRequest naming the token it carried


def sent_token(r: requests.PreparedRequest, token: Secret | None = None) -> Secret | None:
    """The token ``r`` carried (stamped by :class:`BearerAuth`); with ``token``, stamp it."""
    if token is not None:
        setattr(r, _SENT, token)
    found = getattr(r, _SENT, None)
    return found if isinstance(found, Secret) else None


TICKET_WAIT = 0.1
"""Seconds a new TLS 1.3 connection waits at least for the server's first session ticket."""
QUIET = 0.01
"""Seconds without a record after a ticket that end the wait for the rest of them."""


def _read_tickets(sock: Any, *, handshake: float, timeout: float) -> bool:
    """Read what a TLS 1.3 server sends after the handshake (its session tickets) from a new
    connection that has sent nothing; whether it is then idle and open.

    Unread, the tickets would make the socket readable, and urllib3 takes a readable idle
    connection for one the server closed ("Resetting dropped connection"), so the connection
    opened ahead would be thrown away and opened again. A server sends its tickets once it has
    the client's last handshake message (RFC 8446 4.6.1: "at any time after it receives the
    client Finished"), about a round trip after the handshake ended on this side. So: wait up
    to the handshake's own time (two round trips, TCP's and TLS's), and at least
    :data:`TICKET_WAIT` (a server thread's scheduling delay: on loopback under load, tickets
    came 3-7 ms after a 2 ms handshake, once over 50 ms after a 30 ms one), for the first
    ticket (``SSLSession.has_ticket``), then for the rest of the flight (OpenSSL sends two,
    back to back) until the socket stays quiet for :data:`QUIET`. Under TLS 1.2 tickets are
    part of the handshake: nothing to wait for.

    A TLS 1.3 server that sends none costs the wait, on a worker thread while the token is
    exchanged (a handshake and a round trip): ``connect()`` takes at most a round trip (or
    :data:`TICKET_WAIT`) longer there. A ticket that comes later still costs only that
    connection: urllib3 opens it again.
    """
    if sock.version() != "TLSv1.3":
        return not wait_for_read(sock, 0.0)
    wait = min(timeout, max(handshake, TICKET_WAIT))
    deadline = time.monotonic() + wait
    while True:
        if not wait_for_read(sock, max(0.0, deadline - time.monotonic())):
            break
        if not _drain(sock):
            return False
        session = sock.session
        if session is not None and session.has_ticket:
            deadline = min(deadline, time.monotonic() + QUIET)
    return not wait_for_read(sock, 0.0)  # what urllib3 asks of an idle connection


def _drain(sock: Any) -> bool:
    """Read all the handshake records waiting on ``sock``; False when the server closed it."""
    before = sock.gettimeout()
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(65536):  # closed by the server (or application data: unused)
                return False
    except (ssl.SSLWantReadError, BlockingIOError):
        return True  # all read: only handshake records were there
    finally:
        sock.settimeout(before)


class ApiSession(requests.Session):
    """A session that re-authenticates on ``INVALID_SESSION_ID`` and retries idempotent reads.

    ``reauthenticate(used, epoch)`` is called with the token (a :class:`Secret`) the refused
    request carried and the :attr:`renewals` count when it was sent; it installs a fresh
    :class:`BearerAuth` unless ``used`` is no longer the current token (another thread renewed
    it), and says whether it exchanged. ``renewals`` counts finished exchange attempts (the
    owner increments it), so a request in flight while an exchange failed can share that
    failure instead of trying again. :attr:`sending` is set as the first request goes out
    (:mod:`sfnotebook._warm` waits for it).
    """

    def __init__(self, *, policy: RetryPolicy | None = None) -> None:
        super().__init__()
        for prefix, adapter in list(self.adapters.items()):
            if type(adapter) is requests.adapters.HTTPAdapter:  # requests' own, not a test's
                self.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE))
        self.policy = policy or RetryPolicy()
        self.reauthenticate: Callable[[Secret | None, int], bool] | None = None
        self.renewals = 0
        # The timeout of calls that name none: simple-salesforce's (org.sf) name none, and
        # requests would then wait for ever on a connection that never answers.
        self.timeout: float | tuple[float, float] = (10.0, 300.0)
        self.instance_host: str | None = None
        self.stats = {"requests": 0, "retries": 0, "reexchanges": 0, "faults": 0}
        self.api_usage: tuple[int, int] | None = None
        self._lock = threading.Lock()
        # Set as the first request goes out (and by the time a failed one returns): the
        # background import of pandas and pyarrow waits for it (sfnotebook._warm), so the
        # import overlaps the first network wait instead of delaying the first request.
        self.sending = threading.Event()

    def preconnect(self, url: str, *, timeout: float) -> bool:
        """Open one TLS connection to ``url``'s origin and leave it idle in the pool; send
        nothing. Whether a connection was opened (never raises: a failure here is met again,
        and reported, by the request that needs the connection).

        The connection is the pool's own, made as a request would make it (the same
        verification, CA bundle and socket options: requests' ``get_connection_with_tls_context``,
        2.32+), so the next request takes it instead of paying a TCP and TLS set-up (two round
        trips) first. Only with requests' own adapter and without a proxy for ``url``.
        """
        adapter = self.get_adapter(url)
        if type(adapter) is not requests.adapters.HTTPAdapter:
            return False
        get_pool = getattr(adapter, "get_connection_with_tls_context", None)
        settings = self.merge_environment_settings(url, {}, None, None, None)
        if get_pool is None or requests.utils.select_proxy(url, settings.get("proxies") or {}):
            return False
        try:
            prepared = requests.Request("GET", url).prepare()
            # The CA bundle this session was given, as every request passes it (_request).
            pool = get_pool(prepared, self.verify, cert=settings.get("cert"))
            conn = pool._get_conn()  # an idle one, else a new one (requests' pools never block)
        except Exception as exc:  # an optimisation: the request that needs it will say
            log.debug("no connection opened ahead: %s", type(exc).__name__)
            return False
        if getattr(conn, "sock", None) is not None:  # an idle open connection: enough already
            pool._put_conn(conn)
            return False
        try:
            conn.timeout = timeout
            started = time.monotonic()
            conn.connect()
            idle = _read_tickets(conn.sock, handshake=time.monotonic() - started, timeout=timeout)
        except Exception as exc:  # as above; the socket is closed
            log.debug("no connection opened ahead: %s", type(exc).__name__)
            idle = False
        if not idle:
            conn.close()
            pool._put_conn(None)  # the slot back, empty
            return False
        pool._put_conn(conn)
        return True

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str | bytes,
        *args: Any,
        idempotent: bool | None = None,
        reauth: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        try:
            return self._request(method, url, *args, idempotent=idempotent, reauth=reauth, **kwargs)
        finally:
            self.sending.set()  # also when it failed before anything went out: waiters go on

    def _request(
        self,
        method: str,
        url: str | bytes,
        *args: Any,
        idempotent: bool | None,
        reauth: bool,
        **kwargs: Any,
    ) -> requests.Response:
        """:meth:`request`'s policy: renewals, retries, the body read in large pieces."""
        # reauth=False: a 401 INVALID_SESSION_ID is the caller's to handle (a query cursor may
        # belong to the session that opened it; see sfnotebook.soql._pages and :meth:`renew`).
        url = url.decode() if isinstance(url, bytes) else url
        retryable = idempotent if idempotent is not None else method.upper() in _IDEMPOTENT_METHODS
        on_instance = self.instance_host is not None and urlsplit(url).netloc == self.instance_host
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if kwargs.get("verify") is None:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify; the
            # CA bundle this session was given (the org's, or the demo org's) must win.
            kwargs["verify"] = self.verify
        own_auth = kwargs.get("auth") is not None  # the token exchange brings its own
        if not own_auth and isinstance(self.auth, BearerAuth):
            # BearerAuth sets the header; a caller's copy (simple-salesforce's SFType sends
            # one) would only keep the token in this frame's locals.
            kwargs["headers"] = _without_authorization(kwargs.get("headers"))
        streamed = bool(kwargs.get("stream"))
        kwargs["stream"] = True  # the body is read below, in large pieces, unless streamed
        renewals = 0
        attempt = 0
        while True:
            self._count("requests")
            epoch = self.renewals
            self.sending.set()
            try:
                resp = super().request(method, url, *args, **kwargs)
                if not streamed:
                    _read_whole(resp)
            except requests.RequestException as exc:
                if (
                    not isinstance(exc, _TRANSIENT)
                    or not retryable
                    or attempt >= self.policy.retries
                ):
                    # urllib3's frames (chained below requests' exception) hold the request
                    # headers, the token among them, as locals: the chain goes.
                    exc.__context__ = exc.__cause__ = None
                    raise
                self._count("faults")
                self._sleep(attempt, None, f"{exc.__class__.__name__}", method, url)
                attempt += 1
                continue
            self._note_usage(resp)
            if (
                resp.status_code == 401
                and on_instance
                and not own_auth
                and renewals < MAX_RENEWALS
                and reauth
                and self.reauthenticate is not None
                and _is_invalid_session(resp)
            ):
                resp.close()
                if self.reauthenticate(sent_token(resp.request), epoch):
                    self._count("reexchanges")
                renewals += 1
                continue
            if resp.status_code in _RETRY_STATUSES and retryable and attempt < self.policy.retries:
                self._count("faults")
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self._sleep(attempt, retry_after, str(resp.status_code), method, url)
                attempt += 1
                continue
            return resp

    def renew(self, used: Secret | None) -> None:
        """Exchange the credentials again after a 401 to a ``reauth=False`` call that carried
        ``used`` (a no-op when another thread already renewed it), counted as a re-exchange."""
        if self.reauthenticate is not None and self.reauthenticate(used, self.renewals):
            self._count("reexchanges")

    def _sleep(
        self, attempt: int, retry_after: str | None, why: str, method: str, url: str
    ) -> None:
        self._count("retries")
        delay = self.policy.delay(attempt, retry_after)
        log.info(
            "retrying %s %s after %s (attempt %d of %d, waiting %.2fs)",
            method,
            urlsplit(url).path,
            why,
            attempt + 1,
            self.policy.retries,
            delay,
        )
        time.sleep(delay)

    def _note_usage(self, resp: requests.Response) -> None:
        info = resp.headers.get("Sforce-Limit-Info")
        if info:
            m = _LIMIT_INFO.search(info)
            if m:
                self.api_usage = (int(m.group(1)), int(m.group(2)))


def _read_whole(resp: requests.Response) -> None:
    """Read the body now, as ``requests`` does for a response not streamed, in larger pieces.

    ``Response.content`` then returns it: ``requests`` keeps a read body in ``_content`` (what
    its own ``content`` property fills), and ``iter_content`` marks the body consumed. A body
    that breaks off raises ``ChunkedEncodingError`` / ``ConnectionError`` here, as ``requests``
    raises it for a response not streamed, so the retries above treat it the same.
    """
    if getattr(resp, "_content", None) is False and resp.raw is not None:  # not read yet
        resp._content = b"".join(resp.iter_content(READ_SIZE)) or b""


def _without_authorization(headers: Any) -> Any:
    """``headers`` without ``Authorization`` (``None`` stays ``None``)."""
    if not headers:
        return headers
    return {k: v for k, v in headers.items() if str(k).lower() != "authorization"}


def _is_invalid_session(resp: requests.Response) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode") == "INVALID_SESSION_ID"
    return False
