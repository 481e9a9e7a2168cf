"""A rewriting HTTPS proxy in front of a demo org: hostile answers on demand.

The proxy is a real HTTPS server on 127.0.0.1 with its own throwaway CA. It forwards every
request to the demo org (verifying the demo's certificate), rewrites the demo's base URL to its
own in every answer (so ``instance_url``, identity URLs and result links lead back through it),
and applies the first matching :class:`Rule`: replace the status, headers or body, truncate the
body, or drop the connection. Rules fire on the ``nth`` matching request (1-based) or on every
one (``nth=0``), and count how often they fired.

>>> with RewritingProxy(demo) as proxy:                       # doctest: +SKIP
...     proxy.rule("GET", r"/query", body=b"<html>login</html>")
...     org = sfnotebook.connect(**proxy.connect_kwargs())
"""

from __future__ import annotations

import re
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import trustme

__all__ = ["Answer", "RewritingProxy", "Rule"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Answer:
    """An answer on its way back to the client; rules edit it in place."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Rule:
    """Rewrite the answer to matching requests: ``method`` and a regex searched in the path."""

    method: str
    path: str
    nth: int = 1  # 1-based: the nth matching request; 0: every one
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str | None] = field(default_factory=dict)  # None removes a header
    edit: Callable[[Answer], None] | None = None
    truncate: int | None = None  # keep only this many bytes of the body
    drop: bool = False  # close the connection without answering
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method) or not re.search(self.path, path):
            return False
        self.seen += 1
        return self.nth == 0 or self.seen == self.nth


class RewritingProxy:
    """A rewriting HTTPS proxy for one demo org; a context manager that starts and stops it."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.upstream = requests.Session()
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="sfnotebook-proxy-")
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle = str(Path(self._tmp.name) / "proxy-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    # ---- set-up ---------------------------------------------------------------------------
    def rule(self, method: str, path: str, **options: Any) -> Rule:
        """Add a rule (see :class:`Rule`) and return it, to read ``fired`` later."""
        made = Rule(method, path, **options)
        with self._lock:
            self.rules.append(made)
        return made

    def answer(
        self, method: str, path: str, status: int, body: bytes, content_type: str = "text/html"
    ) -> Rule:
        """Answer every ``method`` on paths matching ``path`` with this, from now on."""
        return self.rule(
            method, path, nth=0, status=status, body=body, headers={"Content-Type": content_type}
        )

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.requests.clear()

    def connect_kwargs(self) -> dict[str, str]:
        """``sfnotebook.connect`` arguments that go through the proxy (trusting its CA)."""
        return {
            **self.demo.connect_kwargs(),
            "domain": f"127.0.0.1:{self.port}",
            "ca_bundle": self.ca_bundle,
        }

    def __enter__(self) -> RewritingProxy:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.upstream.close()
        self._tmp.cleanup()

    # ---- serving --------------------------------------------------------------------------
    def _pick(self, method: str, path: str) -> Rule | None:
        with self._lock:
            self.requests.append((method, path))
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.fired += 1
                    return rule
        return None

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        own, upstream = self.url, self.demo.url
        out = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
        out["Accept-Encoding"] = "identity"  # bodies are rewritten as text
        resp = self.upstream.request(
            method,
            upstream + path,
            headers=out,
            data=body.replace(own.encode(), upstream.encode()) if body else None,
            allow_redirects=False,
            timeout=120,
            verify=self.demo.ca_bundle,  # per call: REQUESTS_CA_BUNDLE beats Session.verify
        )
        back = {k: v.replace(upstream, own) for k, v in resp.headers.items()}
        back = {k: v for k, v in back.items() if k.lower() not in _HOP_BY_HOP}
        return Answer(resp.status_code, back, resp.content.replace(upstream.encode(), own.encode()))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._pick(self.command, self.path)
                if rule is not None and rule.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                answer = proxy._forward(self.command, self.path, dict(self.headers), body)
                if rule is not None:
                    if rule.status is not None:
                        answer.status = rule.status
                    if rule.body is not None:
                        answer.body = rule.body
                    for name, value in rule.headers.items():
                        answer.headers = {
                            k: v for k, v in answer.headers.items() if k.lower() != name.lower()
                        }
                        if value is not None:
                            answer.headers[name] = value
                    if rule.edit is not None:
                        rule.edit(answer)
                    if rule.truncate is not None:
                        answer.body = answer.body[: rule.truncate]
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler
