"""Connections opened ahead by ``connect()`` (``Connection.open``, ``ApiSession.preconnect``):
counted on the demo server and in the client's pool, never timed.

The first query sends page 1 and its describes at once; each request beyond the log-in's two
connections would pay a TCP and TLS set-up first. ``connect()`` leaves ``PRECONNECT`` more
open and idle, having read the server's post-handshake records (TLS 1.3 session tickets), so
urllib3 does not take them for closed ones and open them again.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from urllib3.util.connection import is_connection_dropped

from sfnotebook import connection
from sfnotebook._session import ApiSession
from tests.conftest import connect_to


def _idle(session: ApiSession, url: str) -> list[Any]:
    """The idle connections the session's pool for ``url`` keeps (open ones only)."""
    adapter = session.get_adapter(url)
    pool = adapter.get_connection_with_tls_context(  # the pool a request would use
        requests.Request("GET", url).prepare(), session.verify
    )
    return [c for c in list(pool.pool.queue) if c is not None and c.sock is not None]


def _tls(demo: Any) -> int:
    return int(demo.stats()["connections"].get("tls", 0))


def test_connect_leaves_connections_open_for_the_first_query(demo_org: Any) -> None:
    before = _tls(demo_org)
    conn = connect_to(demo_org)
    opened = _tls(demo_org) - before
    assert opened == 2 + connection.PRECONNECT  # the token's, the versions', the ones ahead
    idle = _idle(conn.session, conn.instance_url)
    assert len(idle) == opened
    assert not any(is_connection_dropped(c) for c in idle)  # tickets read: not "dropped"
    # The first query: page 1 and three describes at once, on the connections already open.
    frame = conn.query(
        "SELECT Id, Name, Account.Name, Account.Owner.Name FROM Opportunity LIMIT 5",
        progress=False,
    )
    assert len(frame) == 5
    assert _tls(demo_org) - before == opened  # no new TLS connection


def test_a_connection_that_cannot_verify_is_not_opened_ahead(demo_org: Any) -> None:
    session = ApiSession()  # the system's CAs: the demo org's certificate does not verify
    before = _tls(demo_org) + int(demo_org.stats()["connections"].get("tls_failed", 0))
    assert session.preconnect(demo_org.url, timeout=5.0) is False
    assert _idle(session, demo_org.url) == []
    after = _tls(demo_org) + int(demo_org.stats()["connections"].get("tls_failed", 0))
    assert after - before <= 1  # tried once, sent nothing, raised nothing


def test_nothing_is_opened_ahead_through_a_proxy_or_a_foreign_adapter(
    demo_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = ApiSession()
    session.verify = demo_org.ca_bundle
    session.proxies = {"https": "http://127.0.0.1:9"}
    assert session.preconnect(demo_org.url, timeout=5.0) is False
    other = ApiSession()
    other.mount("https://", requests.adapters.BaseAdapter())
    assert other.preconnect(demo_org.url, timeout=5.0) is False


def test_an_unreachable_host_is_not_an_error_here() -> None:
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session = ApiSession()
    assert session.preconnect(f"https://127.0.0.1:{port}", timeout=2.0) is False


class _TlsServer:
    """A bare TLS server on loopback: each connection is handshaken and then held open until
    the client closes it (``close_at_once``: closed right after the handshake)."""

    def __init__(self, *, tls: ssl.TLSVersion, tickets: int = 2, close_at_once: bool = False):
        ca = trustme.CA()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = self.context.maximum_version = tls
        self.context.num_tickets = tickets
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.ca = ca
        self.close_at_once = close_at_once
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(sock,), daemon=True).start()

    def _hold(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), self.context.wrap_socket(sock, server_side=True) as tls:
            if not self.close_at_once:
                tls.recv(1)  # until the client closes

    def session(self, tmp_path: Path) -> ApiSession:
        bundle = tmp_path / "ca.pem"
        self.ca.cert_pem.write_to_path(str(bundle))
        session = ApiSession()
        session.verify = str(bundle)
        return session


@pytest.mark.parametrize(
    ("tls", "tickets", "version"),
    [
        (ssl.TLSVersion.TLSv1_3, 2, "TLSv1.3"),
        (ssl.TLSVersion.TLSv1_3, 0, "TLSv1.3"),
        (ssl.TLSVersion.TLSv1_2, 2, "TLSv1.2"),
    ],
    ids=["tls1.3", "tls1.3-no-tickets", "tls1.2"],
)
def test_the_connection_opened_ahead_is_idle_whatever_the_server_sends_after_the_handshake(
    tls: ssl.TLSVersion, tickets: int, version: str, tmp_path: Path
) -> None:
    server = _TlsServer(tls=tls, tickets=tickets)
    session = server.session(tmp_path)
    assert session.preconnect(server.url, timeout=5.0) is True
    idle = _idle(session, server.url)
    assert len(idle) == 1
    assert idle[0].sock.version() == version
    assert not is_connection_dropped(idle[0])
    session.close()
    server.listener.close()


def test_a_connection_the_server_closes_at_once_is_not_kept(tmp_path: Path) -> None:
    server = _TlsServer(tls=ssl.TLSVersion.TLSv1_3, close_at_once=True)
    session = server.session(tmp_path)
    assert session.preconnect(server.url, timeout=5.0) is False
    assert _idle(session, server.url) == []
    server.listener.close()
