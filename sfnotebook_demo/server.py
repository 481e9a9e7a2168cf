"""The demo org's HTTPS server: a throwaway CA, the listener, and the org it assembles.

Standard library only (``http.server`` + ``ssl``) plus ``trustme`` for the CA. HTTP/1.1 with
keep-alive; bytes bodies go out with ``Content-Length``, iterable bodies chunked; gzip when
the client accepts it (:mod:`sfnotebook_demo.transport`). Each request goes through the
:class:`~sfnotebook_demo.dispatch.Dispatcher` (faults, versions, routing, auth, limits).
Verification is never disabled anywhere: clients get :attr:`DemoServer.ca_bundle`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sfnotebook_demo.dialect import Dialect, DialectBox
from sfnotebook_demo.dispatch import Dispatcher
from sfnotebook_demo.faults import FaultConfig
from sfnotebook_demo.http import Router
from sfnotebook_demo.rest.oauth import (
    ConnectedApp,
    OAuthService,
    RunAsUser,
    TokenStore,
    make_apps,
    sf_id,
)
from sfnotebook_demo.rest.platform import ApiUsage, limits_payload
from sfnotebook_demo.state import OrgState
from sfnotebook_demo.transport import serve_connection

__all__ = ["FEATURE_MODULES", "ORG_ID", "DemoServer"]

logger = logging.getLogger("sfnotebook_demo")

# The features a server loads by default (``features=``); _feature_routes names their modules.
FEATURE_MODULES = ("sobjects", "soql", "reports", "dashboards", "bulk", "ingest")

ORG_ID = sf_id("00DDE0000000001")
FALLBACK_USER_ID = sf_id("005DE0000000001")


def _feature_routes() -> dict[str, Callable[[Router, OrgState], None]]:
    """What each feature serves: a static table (imported on first use, not by name)."""
    from sfnotebook_demo.bulk import endpoints as bulk
    from sfnotebook_demo.bulk import ingest
    from sfnotebook_demo.dashboards import endpoints as dashboards
    from sfnotebook_demo.reports import endpoints as reports
    from sfnotebook_demo.rest import sobjects
    from sfnotebook_demo.soql import endpoint as soql

    return {
        "sobjects": sobjects.register,
        "soql": soql.register,
        "reports": reports.register,
        "dashboards": dashboards.register,
        "bulk": bulk.register,
        "ingest": ingest.register,
    }


def _run_as_user(database: Any) -> RunAsUser:
    """The Run As user: the demo data's "Integration User" row if there is one, else its first
    active User (by Id), else a fixed id.

    The identity keeps the integration user's well-known name and username unless the row is
    that user; the id is always the data's, so records it owns and the identity URL agree.
    """
    if database is None:
        return RunAsUser(FALLBACK_USER_ID)
    try:
        row = (
            database.connect()
            .execute(
                'SELECT "Id", "Name", "Username", "Email" FROM "User" WHERE "IsDeleted" = 0 '
                'ORDER BY ("Name" = \'Integration User\') DESC, "Id" LIMIT 1'
            )
            .fetchone()
        )
    except Exception:  # the Run As user is best effort: never fail start-up on it
        logger.warning("could not read the Run As user from the demo data", exc_info=True)
        return RunAsUser(FALLBACK_USER_ID)
    if not row:
        return RunAsUser(FALLBACK_USER_ID)
    user_id, name, username, email = (str(v) if v is not None else "" for v in row)
    if name == "Integration User" and username:
        return RunAsUser(user_id, username=username, email=email or username)
    return RunAsUser(user_id)


class _HTTPSServer(ThreadingHTTPServer):
    """Threading HTTP server whose connections are wrapped in TLS in their own thread."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], demo: DemoServer) -> None:
        self.demo = demo
        self.active: set[socket.socket] = set()
        self.active_lock = threading.Lock()
        self.connections: dict[str, int] = {}
        super().__init__(address, _Handler)

    def count_connection(self, kind: str) -> None:
        """Count an accepted connection: ``tls``, ``tls_failed`` or ``plain_http_refused``."""
        with self.active_lock:
            self.connections[kind] = self.connections.get(kind, 0) + 1

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's reverse DNS lookup (socket.getfqdn): no network here.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def finish_request(self, request: Any, client_address: Any) -> None:
        serve_connection(self, request, client_address, self.demo.ssl_context)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfnotebook-demo"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _HTTPSServer

    def _dispatch(self) -> None:
        self.server.demo.dispatcher.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # Never the query string (GET /revoke?token=...): the server logs its own lines.
        pass


class DemoServer:
    """One demo org: its state, routes and HTTPS listener.

    Parameters
    ----------
    port
        TCP port on 127.0.0.1 (0 picks a free one).
    state_dir
        Where the CA bundle is written (a temporary directory when None).
    opportunities
        Size of the generated data set (passed to ``data.ensure_database``).
    token_lifetime
        Seconds an access token lives (default 7200, Salesforce's default session timeout).
    faults
        A :class:`FaultConfig` or a dict of its options.
    dialect
        A :class:`~sfnotebook_demo.dialect.Dialect`, a dict of its switches or their
        ``"name=value,..."`` form: how the org answers where Salesforce's behaviour is unknown.
    apps
        Connected apps by state name (``make_apps()`` when None).
    admin_key
        Secret for the ``/__demo__/`` endpoints (random when None).
    daily_api_max
        The ``DailyApiRequests`` maximum reported in ``/limits`` and ``Sforce-Limit-Info``.
    gzip_level
        zlib level for responses to clients that accept gzip (0: never compress).
    seed
        Seed of the generated data set.
    features
        Feature modules to load (those that do not exist yet are skipped).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        state_dir: str | Path | None = None,
        opportunities: int | None = None,
        token_lifetime: float | None = None,
        faults: FaultConfig | dict[str, Any] | None = None,
        dialect: Dialect | dict[str, Any] | str | None = None,
        apps: dict[str, ConnectedApp] | None = None,
        admin_key: str | None = None,
        daily_api_max: int = 15000,
        gzip_level: int = 1,
        seed: int | None = None,
        features: tuple[str, ...] = FEATURE_MODULES,
    ) -> None:
        import trustme  # imported here: only the demo org needs it

        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sfnotebook-demo-")
            state_dir = self._tmp.name
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)

        if isinstance(faults, dict):
            faults = FaultConfig(**faults)
        self.faults: FaultConfig = faults or FaultConfig()
        self.dialect = DialectBox(Dialect.of(dialect))
        self.gzip_level = gzip_level
        self.admin_key = admin_key or secrets.token_urlsafe(32)
        self.apps = apps or make_apps()
        database = self._open_database(opportunities, seed)

        ca = trustme.CA(organization_name="sfnotebook demo org CA")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        cert.configure_cert(self.ssl_context)
        self.ca_bundle = self.state_dir / "demo-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))

        self.httpd = _HTTPSServer(("127.0.0.1", port), self)
        try:
            self._assemble(database, token_lifetime, daily_api_max, features)
        except BaseException:
            self.httpd.server_close()
            if self._tmp is not None:
                self._tmp.cleanup()
            raise
        self._thread: threading.Thread | None = None

    # ---- set-up ----------------------------------------------------------------------------

    def _assemble(
        self,
        database: Any,
        token_lifetime: float | None,
        daily_api_max: int,
        features: tuple[str, ...],
    ) -> None:
        """Build the org behind the bound listener: state, tokens, routes, dispatcher."""
        self.port = int(self.httpd.server_address[1])
        self.url = f"https://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.login_domain = f"localhost:{self.port}"
        self.org = OrgState(database=database, org_id=ORG_ID, base_url=self.url)
        self.org.features["faults"] = self.faults
        self.org.features["dialect"] = self.dialect
        self.usage: ApiUsage = self.org.feature("api_usage", lambda: ApiUsage(daily_api_max))
        lifetime = 7200.0 if token_lifetime is None else token_lifetime
        self.tokens = TokenStore(ORG_ID, lifetime=lifetime)
        self.user = _run_as_user(database)
        self.oauth = OAuthService(
            self.org,
            apps=self.apps,
            user=self.user,
            tokens=self.tokens,
            login_host=self.login_domain,
        )
        self.router = Router()
        self._register_routes(features)
        self.dispatcher = Dispatcher(
            router=self.router,
            tokens=self.tokens,
            faults=self.faults,
            usage=self.usage,
            admin_key=self.admin_key,
            admin=self,
            gzip_level=self.gzip_level,
        )

    @staticmethod
    def _open_database(opportunities: int | None, seed: int | None) -> Any:
        from sfnotebook_demo.data import database as data

        kwargs: dict[str, Any] = {}
        if opportunities is not None:
            kwargs["opportunities"] = opportunities
        if seed is not None:
            kwargs["seed"] = seed
        path = data.ensure_database(**kwargs)
        return data.Database(path)

    def _register_routes(self, features: tuple[str, ...]) -> None:
        from sfnotebook_demo.rest import oauth, platform

        oauth.register(self.router, self.oauth)
        platform.register(self.router, self.org)
        routes = _feature_routes()
        unknown = sorted(set(features) - set(routes))
        if unknown:
            raise ValueError(f"unknown demo org features {unknown}; known: {sorted(routes)}")
        self.features: list[str] = []
        for name in features:
            routes[name](self.router, self.org)
            self.features.append(name)

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a background daemon thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.name = f"sfnotebook-demo-{self.port}"
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (or KeyboardInterrupt)."""
        self.httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop accepting, close open connections, release the port and temp files."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        with self.httpd.active_lock:
            active = list(self.httpd.active)
        for sock in active:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.httpd.server_close()
        close = getattr(self.org.database, "close", None)
        if close is not None:
            close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ---- operations tests use --------------------------------------------------------------

    def expire_sessions(self) -> int:
        """Invalidate every access token now; the number invalidated."""
        return self.tokens.expire_all()

    def set_faults(self, **options: Any) -> None:
        """Reconfigure the faults at runtime (see :class:`FaultConfig`)."""
        self.faults.update(**options)

    def set_dialect(self, **options: Any) -> dict[str, Any]:
        """Change dialect switches at runtime (see :class:`~sfnotebook_demo.dialect.Dialect`)."""
        return self.dialect.update(**options).as_dict()

    def set_limits(self, **remaining: int) -> dict[str, Any]:
        """Set what ``/limits`` says remains of each named limit (``HourlySyncReportRuns=3``);
        the whole ``/limits`` body."""
        for name, value in remaining.items():
            self.usage.set_remaining(name, value)
        return limits_payload(self.usage)

    def journal(self) -> list[dict[str, Any]]:
        """Every request served, oldest first (see :meth:`Dispatcher.journal`)."""
        return self.dispatcher.journal()

    def stats(self) -> dict[str, Any]:
        """Requests served by kind and status, faults injected, tokens, API usage."""
        by_kind, by_status = self.dispatcher.counters()
        with self.httpd.active_lock:
            connections = dict(self.httpd.connections)
        return {
            # Admin calls (stats, faults) are the observer, not the observed: not in the total.
            "requests": sum(v for k, v in by_kind.items() if k != "admin"),
            "requests_by_kind": by_kind,
            "responses_by_status": by_status,
            "faults": self.faults.counts_dict(),
            "fault_config": self.faults.as_dict(),
            "dialect": self.dialect.current.as_dict(),
            "tokens_issued": self.tokens.issued,
            "tokens_live": self.tokens.live(),
            "tokens_revoked": self.tokens.revoked,
            "tokens_expired": self.tokens.expired,
            "api_usage": self.usage.used,
            "connections": connections,
            "features": list(self.features),
        }
