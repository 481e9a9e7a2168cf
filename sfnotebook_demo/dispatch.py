"""The demo org's request pipeline: faults, API version, routing, auth, limits, errors.

One :class:`Dispatcher` per server. For every request it: counts it by kind, injects the
configured transport faults, validates the ``vXX.X`` segment (410 for retired versions, 404
for unknown ones), routes (404 / 405), authenticates bearer tokens (401
``INVALID_SESSION_ID``), applies session-expiry and request-limit faults, counts the API call
(``Sforce-Limit-Info``), and turns handler exceptions into Salesforce's 500
``UNKNOWN_EXCEPTION``. Nothing here logs a token, a secret or a query string.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from typing import Any, Protocol

from sfnotebook_demo.faults import FaultConfig
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.rest.oauth import TokenStore
from sfnotebook_demo.rest.platform import ApiUsage, limit_consumed
from sfnotebook_demo.state import API_VERSIONS, LATEST_API_VERSION
from sfnotebook_demo.transport import read_body, write_response

__all__ = ["AdminOps", "Dispatcher", "request_kind"]

logger = logging.getLogger("sfnotebook_demo")

_DATA_PATH = re.compile(r"^/services/data/(?:v(?P<v>\d+\.\d)|(?P<latest>latest))(?P<rest>/.*)?$")
_OAUTH_TOKEN_PATHS = (
    "/services/oauth2/token",
    "/services/oauth2/revoke",
    "/services/oauth2/introspect",
)


def request_kind(path: str) -> str:
    """Classify a path: ``data``, ``token``, ``identity``, ``versions``, ``admin`` or ``other``."""
    if path in ("/services/data", "/services/data/"):
        return "versions"
    if path.startswith("/services/data/"):
        return "data"
    if path.startswith(_OAUTH_TOKEN_PATHS):
        return "token"
    if path.startswith(("/id/", "/services/oauth2/userinfo")):
        return "identity"
    if path.startswith("/__demo__/"):
        return "admin"
    return "other"


def invalid_session() -> Response:
    """Salesforce's 401 for a missing, unknown, expired or revoked token."""
    return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")


class AdminOps(Protocol):
    """What the ``/__demo__/`` endpoints act on (the server)."""

    def stats(self) -> dict[str, Any]: ...

    def expire_sessions(self) -> int: ...

    def set_faults(self, **options: Any) -> None: ...

    def set_dialect(self, **options: Any) -> dict[str, Any]: ...


class Dispatcher:
    """Serves parsed requests of one demo org (see the module docstring for the order)."""

    def __init__(
        self,
        *,
        router: Router,
        tokens: TokenStore,
        faults: FaultConfig,
        usage: ApiUsage,
        admin_key: str,
        admin: AdminOps,
        gzip_level: int = 1,
    ) -> None:
        self.router = router
        self.tokens = tokens
        self.faults = faults
        self.usage = usage
        self._admin_key = admin_key
        self._ops = admin
        self.gzip_level = gzip_level
        self._lock = threading.Lock()
        self.requests_by_kind: dict[str, int] = {}
        self.responses_by_status: dict[int, int] = {}

    def counters(self) -> tuple[dict[str, int], dict[str, int]]:
        """Requests by kind and responses by status (``"0"``: dropped), as copies."""
        with self._lock:
            by_kind = dict(self.requests_by_kind)
            by_status = {str(k): v for k, v in sorted(self.responses_by_status.items())}
        return by_kind, by_status

    # ---- one request -----------------------------------------------------------------------

    def handle(self, h: Any) -> None:
        """Serve one request whose line and headers ``h`` (a BaseHTTPRequestHandler) parsed."""
        started = time.perf_counter()
        request = self._read_request(h)
        if request is None:
            return
        kind = request_kind(request.path)
        with self._lock:
            self.requests_by_kind[kind] = self.requests_by_kind.get(kind, 0) + 1
        response = self._respond(request, kind)
        if response is None:  # a dropped connection: no answer at all
            h.close_connection = True
            self._count_status(0)
            logger.debug("%s %s dropped", request.method, request.path)
            return
        self._count_status(response.status)
        write_response(h, request, response, gzip_level=self.gzip_level)
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    def _count_status(self, status: int) -> None:
        with self._lock:
            self.responses_by_status[status] = self.responses_by_status.get(status, 0) + 1

    @staticmethod
    def _read_request(h: Any) -> Request | None:
        from urllib.parse import parse_qs, unquote, urlsplit

        body = read_body(h)
        if body is None:
            return None
        split = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in h.headers.items()}
        return Request(
            method=h.command.upper(),
            path=unquote(split.path),
            query=query,
            headers=headers,
            body=body,
        )

    def _respond(self, request: Request, kind: str) -> Response | None:
        if kind == "admin":
            return self._admin(request)
        faults = self.faults
        faulty = faults.applies(kind, request.path)
        if faulty:
            delay = faults.delay()
            if delay:
                time.sleep(delay)
            fault = faults.transport_fault()
            if fault == "drop":
                return None
            if fault == "error":
                return error_response(
                    503,
                    "SERVER_UNAVAILABLE",
                    "Server temporarily unavailable, please retry (injected by the demo org)",
                )

        version_error = self._check_version(request)
        if version_error is not None:
            return version_error

        matched = self.router.match(request.method, request.path)
        if request.method == "HEAD" and not matched:
            # HEAD is GET without the body (write_response drops it).
            matched = self.router.match("GET", request.path)
        if matched is None or matched is True:
            return error_response(404, "NOT_FOUND", "The requested resource does not exist")
        if matched is False:
            allowed = sorted(
                {r.method for r in self.router.routes if r.pattern.match(request.path)}
            )
            return error_response(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}",
            )
        route, groups = matched
        if groups.get("_v"):
            request.api_version = groups["_v"]
        args = {k: v for k, v in groups.items() if not k.startswith("_") and v is not None}

        counted = False
        if route.auth:
            denied = self._authenticate(request)
            if denied is not None:
                return denied
            if kind == "data":
                if faulty and faults.session_expiry_due():
                    self.tokens.expire_all()
                    return invalid_session()
                limit = faults.request_limit
                if self.usage.count(limit) is None:
                    faults.record("request_limit_exceeded")
                    refused = error_response(
                        403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                    )
                    refused.headers["Sforce-Limit-Info"] = self.usage.header(limit)
                    return refused
                counted = True

        try:
            response = route.handler(request, **args)
        except Exception:
            # The path only: query strings may carry tokens (GET /revoke?token=...).
            logger.exception("demo org handler failed: %s %s", request.method, request.path)
            response = error_response(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                f"support: {secrets.randbelow(10**9):09d}-{secrets.randbelow(10**5):05d}",
            )
        if counted:
            response.headers["Sforce-Limit-Info"] = self.usage.header(faults.request_limit)
            if 200 <= response.status < 300:
                used_up = limit_consumed(request.method, request.path)
                if used_up is not None:
                    self.usage.consume(used_up)
        return response

    @staticmethod
    def _check_version(request: Request) -> Response | None:
        m = _DATA_PATH.match(request.path)
        if m is None:
            return None
        if m.group("latest"):
            request.path = f"/services/data/v{LATEST_API_VERSION}{m.group('rest') or ''}"
            return None
        version = m.group("v")
        if version in API_VERSIONS:
            return None
        if float(version) < float(API_VERSIONS[0]):
            return error_response(
                410, "GONE", f"API version {version} has been retired and is no longer available."
            )
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")

    def _authenticate(self, request: Request) -> Response | None:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return invalid_session()
        info = self.tokens.lookup(token)
        if info is None:
            return invalid_session()
        request.token = token
        request.user_id = info.user_id
        return None

    def _admin(self, request: Request) -> Response:
        key = request.header("x-demo-admin-key") or ""
        if not hmac.compare_digest(key.encode(), self._admin_key.encode()):
            return error_response(403, "INSUFFICIENT_ACCESS", "demo admin key required")
        route = (request.method, request.path)
        if route == ("GET", "/__demo__/stats"):
            return json_response(self._ops.stats())
        if route == ("POST", "/__demo__/expire-sessions"):
            return json_response({"expired": self._ops.expire_sessions()})
        if route == ("GET", "/__demo__/faults"):
            return json_response(self.faults.as_dict())
        if route == ("POST", "/__demo__/faults"):
            try:
                options = request.json() or {}
                if not isinstance(options, dict):
                    raise TypeError("a JSON object of fault options is required")
                self._ops.set_faults(**options)
            except (TypeError, ValueError) as exc:
                return error_response(400, "INVALID_FIELD", str(exc))
            return json_response(self.faults.as_dict())
        if route == ("POST", "/__demo__/dialect"):
            try:
                options = request.json() or {}
                if not isinstance(options, dict):
                    raise TypeError("a JSON object of dialect switches is required")
                return json_response(self._ops.set_dialect(**options))
            except (TypeError, ValueError) as exc:
                return error_response(400, "INVALID_FIELD", str(exc))
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")
