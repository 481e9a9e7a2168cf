"""Wire-level helpers of the demo server: TLS per connection, request bodies, responses.

Kept apart from :mod:`sfnotebook_demo.dispatch` (routing, auth, faults) because this part
is about bytes on a socket: the TLS handshake runs in the connection's own thread (a slow or
plain-HTTP client never blocks the accept loop), bodies are read by ``Content-Length`` or
chunked, and responses go out with ``Content-Length`` or chunked, gzip-compressed when the
client accepts it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from sfnotebook_demo.http import Request, Response

__all__ = ["nodelay", "read_body", "serve_connection", "write_response"]

logger = logging.getLogger("sfnotebook_demo")

HANDSHAKE_TIMEOUT = 10.0
MAX_BODY = 64 * 1024 * 1024
GZIP_MIN_SIZE = 1024  # small bodies are not worth compressing
CHUNK_TARGET = 256 * 1024  # coalesce streamed pieces into frames of about this size

_PLAIN_HTTP_BODY = b"The demo org speaks HTTPS only; use https:// URLs\n"
_PLAIN_HTTP_ANSWER = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain;charset=UTF-8\r\n"
    b"Connection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_PLAIN_HTTP_BODY), _PLAIN_HTTP_BODY)
)


def serve_connection(
    server: Any, sock: socket.socket, address: Any, context: ssl.SSLContext
) -> None:
    """Wrap one accepted connection in TLS and serve its requests (runs in its own thread).

    A client speaking plain HTTP gets a 400 answer in clear text and the connection closes:
    the demo org never serves anything over plain HTTP.

    Nagle's algorithm is switched off (``TCP_NODELAY``) before the handshake: TLS writes go out
    as 16 KB records, and on loopback Nagle combined with the client's delayed ACK held each
    uncompressed answer of tens of KB back by about 40 ms (../shared/perf/measurements-2026-12.md
    section 0), which made every small query look several times slower than it is.
    """
    nodelay(sock)
    sock.settimeout(HANDSHAKE_TIMEOUT)
    try:
        first = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return
    if not first:
        return
    if first != b"\x16":  # not a TLS handshake record
        server.count_connection("plain_http_refused")
        _refuse_plain_http(sock)
        return
    faults = getattr(getattr(server, "demo", None), "faults", None)
    setup = faults.connect_delay() if faults is not None else 0.0
    if setup:
        time.sleep(setup)  # FaultConfig.connect_latency: a new connection's TCP + TLS set-up
    try:
        tls = context.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError) as exc:
        server.count_connection("tls_failed")
        logger.debug("TLS handshake with %s failed: %s", address, exc)
        return
    server.count_connection("tls")
    with server.active_lock:
        server.active.add(tls)
    try:
        server.RequestHandlerClass(tls, address, server)
    finally:
        with server.active_lock:
            server.active.discard(tls)
        with contextlib.suppress(OSError):
            tls.close()


def nodelay(sock: socket.socket) -> None:
    """Send small writes at once (``TCP_NODELAY``); a socket that refuses it is left as is."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _refuse_plain_http(sock: socket.socket) -> None:
    sock.settimeout(0.5)
    try:
        # Read what the client sent, so closing does not reset the connection under our answer.
        sock.recv(65536)
        sock.sendall(_PLAIN_HTTP_ANSWER)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(65536)
    except OSError:
        pass


def read_body(h: Any) -> bytes | None:
    """The request body (Content-Length or chunked); None when the request was refused."""
    te = (h.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        parts: list[bytes] = []
        total = 0
        while True:
            line = h.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                _plain_error(h, 400, "bad chunked body")
                return None
            if size == 0:
                # Trailers end with an empty line.
                while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > MAX_BODY:
                _plain_error(h, 413, "request body too large")
                return None
            parts.append(h.rfile.read(size))
            h.rfile.readline(1024)
        return b"".join(parts)
    length = h.headers.get("Content-Length")
    if not length:
        return b""
    try:
        n = int(length)
    except ValueError:
        _plain_error(h, 400, "bad Content-Length")
        return None
    if n < 0 or n > MAX_BODY:
        _plain_error(h, 413, "request body too large")
        return None
    return h.rfile.read(n) if n else b""


def _plain_error(h: Any, status: int, message: str) -> None:
    body = message.encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    h.close_connection = True
    with contextlib.suppress(OSError):
        h.wfile.write(head.encode("latin-1") + body)


def _accepts_gzip(request: Request) -> bool:
    accept = request.header("accept-encoding") or ""
    return any(part.split(";")[0].strip().lower() == "gzip" for part in accept.split(","))


def _coalesce(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Join small streamed pieces into frames of about CHUNK_TARGET bytes."""
    buffer: list[bytes] = []
    size = 0
    for piece in chunks:
        if not piece:
            continue
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_TARGET:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _gzip_stream(chunks: Iterator[bytes], level: int) -> Iterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip container
    for piece in chunks:
        out = compressor.compress(piece)
        if out:
            yield out
    yield compressor.flush()


def write_response(h: Any, request: Request, response: Response, *, gzip_level: int = 1) -> None:
    """Send ``response`` on handler ``h`` (keep-alive unless the request asked to close)."""
    status = response.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = {k.lower(): (k, v) for k, v in response.headers.items()}
    lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {h.date_time_string()}"]
    if "content-type" not in headers and (status != 204):
        lines.append(f"Content-Type: {response.content_type}")
    for name, value in headers.values():
        if name.lower() in ("content-length", "transfer-encoding", "connection"):
            continue
        lines.append(f"{name}: {value}")
    gzip_ok = gzip_level > 0 and _accepts_gzip(request) and "content-encoding" not in headers
    head_only = request.method == "HEAD" or status in (204, 304)
    if h.close_connection:
        lines.append("Connection: close")

    if isinstance(response.body, (bytes, bytearray)):
        body = bytes(response.body)
        if gzip_ok and len(body) >= GZIP_MIN_SIZE:
            compressor = zlib.compressobj(gzip_level, zlib.DEFLATED, 31)
            body = compressor.compress(body) + compressor.flush()
            lines.append("Content-Encoding: gzip")
            lines.append("Vary: Accept-Encoding")
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if response.cut and not head_only:
            # The cut_next fault: the announced length, half of the bytes, then close.
            h.close_connection = True
            body = body[: len(body) // 2]
        h.wfile.write(head if head_only else head + body)
        return

    try:
        body_iter: Iterable[bytes] = response.body
        level = gzip_level if gzip_ok else 0
        _write_stream(h, request, body_iter, lines, level, head_only, cut=response.cut)
    finally:
        # Close the handler's generator here, in its own thread: left to the garbage
        # collector it could run its clean-up (a SQLite cursor, say) in another thread.
        close = getattr(response.body, "close", None)
        if close is not None:
            close()


def _write_stream(
    h: Any,
    request: Request,
    body: Iterable[bytes],
    lines: list[str],
    level: int,
    head_only: bool,
    *,
    cut: bool = False,
) -> None:
    chunks: Iterator[bytes] = _coalesce(iter(body))
    if level > 0:
        chunks = _gzip_stream(chunks, level)
        lines.append("Content-Encoding: gzip")
        lines.append("Vary: Accept-Encoding")
    lines.append("Transfer-Encoding: chunked")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    h.wfile.write(head)
    if head_only:
        return
    if cut:
        # The cut_next fault: the first chunk announced whole but sent half, then close.
        h.close_connection = True
        piece = next((p for p in chunks if p), b"")
        if piece:
            h.wfile.write(b"%x\r\n%s" % (len(piece), piece[: len(piece) // 2]))
        return
    try:
        for piece in chunks:
            if piece:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    except (OSError, ssl.SSLError):
        h.close_connection = True
        raise
    except Exception:
        # The body generator failed after the headers went out: cut the connection without
        # the final chunk, so the client sees an incomplete body, never a short one as whole.
        logger.exception("demo org streamed body failed: %s %s", request.method, request.path)
        h.close_connection = True
        return
    h.wfile.write(b"0\r\n\r\n")
