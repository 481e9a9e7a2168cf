"""A tiny local HTTPS server in front of a demo org that answers chosen paths badly.

It plays what sits between a user and Salesforce on a bad day: a proxy or captive portal
answering 200 with an HTML login page, a load balancer cutting a body short, a server answering
``null``. Everything not overridden is forwarded to the demo org, with the demo org's URL
rewritten to the proxy's in the answer (so ``instance_url`` and the identity URL point here).
"""

from __future__ import annotations

import http.client
import re
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme


class RewritingProxy:
    """``with RewritingProxy(demo) as proxy: proxy.answer("GET", r"^/services/data/$", ...)``."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.rules: list[tuple[str, re.Pattern[str], int, str, bytes]] = []
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="sfnotebook-rewriter-")
        ca = trustme.CA(organization_name="sfnotebook rewriter CA")
        self.ca_bundle = str(Path(self._tmp.name) / "rewriter-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.domain = f"127.0.0.1:{self.port}"
        self.url = f"https://{self.domain}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RewritingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._tmp.cleanup()

    def answer(
        self, method: str, path: str, status: int, body: bytes, content_type: str = "text/html"
    ) -> None:
        """Answer ``method`` on paths matching ``path`` (a regex) with this, from now on."""
        with self._lock:
            self.rules.append((method, re.compile(path), status, content_type, body))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def connect_kwargs(self) -> dict[str, str]:
        return {
            **self.demo.connect_kwargs(),
            "domain": self.domain,
            "ca_bundle": self.ca_bundle,
        }

    def rule_for(self, method: str, path: str) -> tuple[int, str, bytes] | None:
        with self._lock:
            for m, pattern, status, content_type, body in self.rules:
                if m == method and pattern.search(path):
                    return status, content_type, body
        return None

    def forward(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        context = ssl.create_default_context(cafile=self.demo.ca_bundle)
        conn = http.client.HTTPSConnection("127.0.0.1", self.demo.port, context=context, timeout=60)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            keep = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() in ("content-type", "sforce-limit-info", "retry-after")
            }
            return resp.status, keep, data.replace(self.demo.url.encode(), self.url.encode())
        finally:
            conn.close()


def _handler(proxy: RewritingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = self.path.split("?", 1)[0]
            rule = proxy.rule_for(self.command, path)
            if rule is not None:
                status, headers, data = rule[0], {"Content-Type": rule[1]}, rule[2]
            else:
                passed = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower()
                    in ("authorization", "content-type", "accept", "sforce-query-options")
                }
                passed["Accept-Encoding"] = "identity"
                status, headers, data = proxy.forward(self.command, self.path, passed, body)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler
