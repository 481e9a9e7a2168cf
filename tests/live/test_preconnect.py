"""Connections opened ahead by ``connect()`` (``Connection.open``, ``ApiSession.preconnect``):
counted on the demo server and in the client's pool, never timed.

The first query sends page 1 and its describes at once; each request beyond the log-in's two
connections would pay a TCP and TLS set-up first. ``connect()`` leaves ``PRECONNECT`` more
open and idle, having read the server's post-handshake records (TLS 1.3 session tickets), so
urllib3 does not take them for closed ones and open them again.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
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
