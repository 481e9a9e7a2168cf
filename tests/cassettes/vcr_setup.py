"""vcrpy set-up shared by the cassette tests: secrets filtered, hosts made stable.

Cassettes are recorded from a demo org (``make cassettes`` sets ``SFNOTEBOOK_RECORD=1``) and
replayed everywhere else with ``record_mode="none"``. The demo org listens on a random port,
so recordings rewrite ``127.0.0.1:<port>`` to a fixed placeholder host, and replays connect
to that host (vcrpy answers before any socket is opened).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import vcr

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
HOST = "acme.my.salesforce.com"
FILTERED = "FILTERED"
RECORDING = os.environ.get("SFNOTEBOOK_RECORD") == "1"
_LOCAL = re.compile(r"(https?://)?(127\.0\.0\.1|localhost):\d+")
_TOKENISH = ("access_token", "signature", "client_secret", "client_id")


def _stable_host(text: str) -> str:
    return _LOCAL.sub(lambda m: (m.group(1) or "") + HOST, text)


def _before_request(request: Any) -> Any:
    request.uri = _stable_host(request.uri)
    body = request.body
    if body:
        raw = body.decode() if isinstance(body, bytes) else str(body)
        if "client_secret" in raw or "client_id" in raw or "token=" in raw:
            pairs = [(k, FILTERED if k in (*_TOKENISH, "token") else v) for k, v in parse_qsl(raw)]
            request.body = urlencode(pairs).encode()
    return request


def _before_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {}).get("string", b"")
    if isinstance(body, bytes):
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return response
    else:
        text = str(body)
    text = _stable_host(text)
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and any(k in payload for k in _TOKENISH):
        payload = {k: (FILTERED if k in _TOKENISH else v) for k, v in payload.items()}
        text = json.dumps(payload)
    response["body"]["string"] = text.encode()
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in ("set-cookie", "content-length"):
            del headers[name]
    return response


def _one_request_at_a_time() -> None:
    """While recording, let one HTTP request run at a time (vcrpy is not thread-safe).

    sfnotebook sends some requests together (the API versions beside the token exchange,
    describes beside page 1, query pages by locator offset); recorded concurrently, vcrpy
    loses some of them. The recording keeps every exchange, in the order they went out;
    replays answer each request by its URL, from whichever thread it comes.
    """
    from requests.adapters import HTTPAdapter

    send = HTTPAdapter.send
    lock = threading.Lock()

    @functools.wraps(send)
    def serial(self: HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return send(self, *args, **kwargs)

    HTTPAdapter.send = serial  # type: ignore[method-assign]


if RECORDING:
    _one_request_at_a_time()


def recorder(folder: str) -> vcr.VCR:
    """A ``vcr.VCR`` writing to ``cassettes/<folder>/``; replay-only unless recording."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES / folder),
        record_mode="all" if RECORDING else "none",
        filter_headers=[("authorization", FILTERED), ("cookie", None)],
        before_record_request=_before_request,
        before_record_response=_before_response,
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path", "query"],
    )
