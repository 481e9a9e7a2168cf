"""ApiSession's renewal rules, against a scripted transport (no network, no timing).

A 401 ``INVALID_SESSION_ID`` triggers an exchange only when the token the refused request
carried is still the session's (the generation check); a request is resent after each renewal,
a bounded number of times; ``stats["reexchanges"]`` counts exchanges, not refusals.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import requests
import requests.adapters
import urllib3

from sfnotebook._secret import Secret
from sfnotebook._session import (
    MAX_RENEWALS,
    READ_SIZE,
    ApiSession,
    BearerAuth,
    RetryPolicy,
    sent_token,
)

BASE = "https://acme.my.salesforce.com"
URL = BASE + "/services/data/v62.0/limits"


class Script(requests.adapters.BaseAdapter):
    """Answers each request with ``answer(request)``: a 401 or a 200, and records the tokens."""

    def __init__(self, answer: Callable[[requests.PreparedRequest], int]) -> None:
        super().__init__()
        self.answer = answer
        self.seen: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.seen.append(str(request.headers.get("Authorization", "")).removeprefix("Bearer "))
        status = self.answer(request)
        resp = requests.Response()
        resp.status_code = status
        resp.request = request
        resp.url = str(request.url)
        body: Any = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}]
        resp._content = orjson.dumps(body if status == 401 else {"ok": True})
        return resp

    def close(self) -> None:
        pass


class Org:
    """The session's owner: renews the token unless the refused one is no longer current."""

    def __init__(self, session: ApiSession) -> None:
        self.session = session
        self.tokens = [Secret(f"token-{n}") for n in range(1, 10)]
        self.current = 0
        self.exchanges = 0
        self.calls: list[tuple[str | None, bool]] = []
        self.install(0)

    def install(self, n: int) -> None:
        self.current = n
        self.session.auth = BearerAuth(self.tokens[n], BASE)

    def reauthenticate(self, used: Secret | None, epoch: int) -> bool:
        exchanged = used is None or used is self.tokens[self.current]
        self.calls.append((used.reveal() if used is not None else None, exchanged))
        if exchanged:
            self.exchanges += 1
            self.install(self.current + 1)
        return exchanged


def _session(answer: Callable[[requests.PreparedRequest], int]) -> tuple[ApiSession, Org, Script]:
    session = ApiSession()
    session.instance_host = "acme.my.salesforce.com"
    script = Script(answer)
    session.mount("https://", script)
    org = Org(session)
    session.reauthenticate = org.reauthenticate
    return session, org, script


def _refuse(*tokens: str) -> Callable[[requests.PreparedRequest], int]:
    def answer(request: requests.PreparedRequest) -> int:
        bearer = str(request.headers.get("Authorization", "")).removeprefix("Bearer ")
        return 401 if bearer in tokens else 200

    return answer


def test_the_token_a_request_carried_is_stamped_on_it() -> None:
    session, org, _ = _session(_refuse())
    resp = session.get(URL)
    assert resp.status_code == 200
    assert sent_token(resp.request) is org.tokens[0]


def test_one_expiry_one_exchange_and_the_request_is_resent() -> None:
    session, org, script = _session(_refuse("token-1"))
    assert session.get(URL).status_code == 200
    assert script.seen == ["token-1", "token-2"]
    assert org.calls == [("token-1", True)]
    assert session.stats["reexchanges"] == 1


def test_a_token_renewed_by_another_thread_is_not_exchanged_again() -> None:
    session, org, script = _session(_refuse("token-1"))

    def answer(request: requests.PreparedRequest) -> int:
        status = _refuse("token-1")(request)
        if status == 401:
            org.install(1)  # another thread renewed while this request was in flight
        return status

    script.answer = answer
    assert session.get(URL).status_code == 200
    assert script.seen == ["token-1", "token-2"]
    assert org.calls == [("token-1", False)]
    assert org.exchanges == 0
    assert session.stats["reexchanges"] == 0  # exchanges are counted, not refusals


def test_a_renewal_just_before_the_request_was_prepared_is_judged_by_the_token_sent() -> None:
    """The refusal names the token the request carried, not the one current when it began:
    here another thread renewed to token-2 just before this request was prepared, and token-2
    expired too, so this request must renew again (token-3), not resend token-2."""
    session, org, script = _session(_refuse("token-1", "token-2"))
    real_prepare = session.prepare_request
    renewed = []

    def prepare(request: requests.Request) -> requests.PreparedRequest:
        if not renewed:
            renewed.append(True)
            org.install(1)
        return real_prepare(request)

    session.prepare_request = prepare  # type: ignore[method-assign]
    assert session.get(URL).status_code == 200
    assert script.seen == ["token-2", "token-3"]
    assert org.calls == [("token-2", True)]


def test_two_expiries_in_a_row_renew_twice() -> None:
    session, org, script = _session(_refuse("token-1", "token-2"))
    assert session.get(URL).status_code == 200
    assert script.seen == ["token-1", "token-2", "token-3"]
    assert org.exchanges == 2
    assert session.stats["reexchanges"] == 2


def test_renewals_are_bounded() -> None:
    session, org, script = _session(lambda request: 401)
    resp = session.get(URL)
    assert resp.status_code == 401  # the caller turns it into SessionExpiredError
    assert len(script.seen) == 1 + MAX_RENEWALS
    assert org.exchanges == MAX_RENEWALS


def test_a_request_with_its_own_auth_is_never_renewed() -> None:
    session, org, script = _session(lambda request: 401)
    resp = session.post(URL, auth=requests.auth.HTTPBasicAuth("key", "secret"))
    assert resp.status_code == 401
    assert len(script.seen) == 1 and org.calls == []


def test_retry_after_is_honoured_up_to_the_longest_wait() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=8.0)
    assert policy.delay(0, "3") == 3.0
    assert policy.delay(3, "0") == 0.0
    assert policy.delay(0, "120") == 8.0  # a server asking for minutes gets the cap
    for attempt in range(4):  # no (or an unreadable) Retry-After: backoff with jitter
        for header in (None, "Wed, 21 Oct 2026 07:28:00 GMT"):
            base = min(0.5 * 2**attempt, 8.0)
            assert 0.5 * base <= policy.delay(attempt, header) <= 1.5 * base


# -- bodies are read in large pieces -----------------------------------------------------------


class _CountingStream(io.BytesIO):
    """The connection's byte stream, counting the reads urllib3 makes of it."""

    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


class Bodies(requests.adapters.HTTPAdapter):
    """Answers with real urllib3 responses over in-memory streams (no socket)."""

    def __init__(self, bodies: list[tuple[bytes, int]]) -> None:
        super().__init__()
        self.bodies = bodies  # (bytes sent, Content-Length announced), one per request
        self.streams: list[_CountingStream] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body, length = self.bodies.pop(0)
        stream = _CountingStream(body)
        self.streams.append(stream)
        raw = urllib3.HTTPResponse(
            body=stream,
            headers={"Content-Length": str(length), "Content-Type": "application/json"},
            status=200,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


def _bodies_session(bodies: list[tuple[bytes, int]]) -> tuple[ApiSession, Bodies]:
    session = ApiSession(policy=RetryPolicy(retries=2, backoff=0.0))
    adapter = Bodies(bodies)
    session.mount("https://", adapter)
    return session, adapter


def test_a_body_is_read_in_1_mib_pieces_not_10_kb_ones() -> None:
    body = b'{"records": [' + b'{"Id": "001000000000001AAA"},' * 120_000 + b"1]}"  # ~3.4 MB
    session, adapter = _bodies_session([(body, len(body))])
    resp = session.request("GET", URL)
    assert resp.content == body and resp.json()["records"][-1] == 1
    assert adapter.streams[0].reads <= 6, adapter.streams[0].reads  # 10 KB pieces: ~340
    assert READ_SIZE == 1 << 20


def test_a_streamed_body_is_left_to_the_caller() -> None:
    body = b"x" * 100
    session, adapter = _bodies_session([(body, len(body))])
    resp = session.request("GET", URL, stream=True)
    assert adapter.streams[0].reads == 0  # not read yet
    assert b"".join(resp.iter_content(10)) == body


def test_a_body_that_breaks_off_is_retried_as_before() -> None:
    body = b'{"ok": true}'
    session, adapter = _bodies_session([(body[:5], len(body)), (body, len(body))])
    assert session.request("GET", URL).json() == {"ok": True}
    assert session.stats["retries"] == 1 and not adapter.bodies


def test_a_write_whose_body_breaks_off_is_not_retried() -> None:
    body = b'{"id": "001000000000001AAA"}'
    session, adapter = _bodies_session([(body[:5], len(body)), (body, len(body))])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.request("POST", URL, data=b"{}")
    assert session.stats["retries"] == 0 and len(adapter.bodies) == 1
