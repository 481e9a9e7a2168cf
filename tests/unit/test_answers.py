"""Every core answer is validated at the edge: malformed 2xx answers become typed errors.

A fake transport (a ``requests`` adapter mounted on the connection's session) answers each
core endpoint with a good body, except the one under test, which gets an HTML login page, an
empty, truncated or ``null`` body, an error array, or the wrong JSON type. Whatever it is, the
caller sees :class:`~sfnotebook.errors.UnexpectedAnswerError` naming the endpoint and the status,
never ``orjson``'s, ``msgspec``'s or ``requests``' decode errors, ``AttributeError`` or
``TypeError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

import sfnotebook
from sfnotebook import errors
from sfnotebook.auth import exchange_token
from sfnotebook.connection import Connection
from sfnotebook.settings import load_settings

DOMAIN = "https://acme.my.salesforce.com"
SECRET = "S3CRET-answers-test-0123456789abcdef"
TOKEN = "00D000000000001!AQ" + "x" * 60
ORG, USER = "00D000000000001AAA", "005000000000001AAA"

TOKEN_BODY = {
    "access_token": TOKEN,
    "instance_url": DOMAIN,
    "id": f"{DOMAIN}/id/{ORG}/{USER}",
    "token_type": "Bearer",
    "issued_at": "1700000000000",
    "signature": "c2lnbmF0dXJl",
}
GOOD: dict[str, Any] = {
    "/services/oauth2/token": TOKEN_BODY,
    "/services/data/": [{"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}],
    f"/id/{ORG}/{USER}": {"user_id": USER, "organization_id": ORG, "username": "int@acme"},
    "/services/data/v68.0/limits": {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}},
    "/services/data/v68.0/sobjects/Account/describe": {
        "name": "Account",
        "fields": [{"name": "Id", "type": "id"}],
    },
    "/services/data/v68.0/sobjects": {"sobjects": [{"name": "Account"}]},
}

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Login | Salesforce</title></head>"
    b"<body><form action='/login'>Username Password</form></body></html>"
)
ERROR_ARRAY = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred"}]


class FakeSalesforce(BaseAdapter):  # type: ignore[misc]
    """Answers by path; ``override[path] = (status, content_type, body)`` replaces one answer."""

    def __init__(self) -> None:
        super().__init__()
        self.override: dict[str, tuple[int, str, bytes]] = {}
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        path = requests.utils.urlparse(request.url).path
        if path in self.override:
            status, content_type, body = self.override[path]
        elif path in GOOD:
            status, content_type, body = 200, "application/json", json.dumps(GOOD[path]).encode()
        else:
            status, content_type = 404, "application/json"
            body = (
                b'[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]'
            )
        resp = requests.Response()
        resp.status_code = status
        resp.headers["Content-Type"] = content_type
        resp._content = body
        resp.url = request.url or ""
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def _conn() -> tuple[Connection, FakeSalesforce]:
    settings = load_settings(
        domain=DOMAIN, consumer_key="3MVG9" + "k" * 20, consumer_secret=SECRET, env_file=False
    )
    conn = Connection(settings)
    fake = FakeSalesforce()
    conn.session.mount("https://", fake)
    return conn, fake


def _open(conn: Connection) -> Any:
    return conn.open()


ENDPOINTS: dict[str, tuple[str, str, Callable[[Connection], Any], bool]] = {
    # name: (path answered badly, words the message must name, the call, logged in first)
    "token": (
        "/services/oauth2/token",
        "token exchange",
        lambda c: exchange_token(c.settings, c.session),
        False,
    ),
    "versions": ("/services/data/", "API versions", _open, False),
    # The identity is asked on first use (org.username, the connection card), not by open().
    "identity": (f"/id/{ORG}/{USER}", "identity", lambda c: c.username, True),
    "limits": ("/services/data/v68.0/limits", "limits", lambda c: c.limits(), True),
    "describe": (
        "/services/data/v68.0/sobjects/Account/describe",
        "describe Account",
        lambda c: c.describe("Account"),
        True,
    ),
    "get_json": (
        "/services/data/v68.0/sobjects",
        "GET /services/data/v68.0/sobjects",
        lambda c: c.get_json("sobjects"),
        True,
    ),
}


def _bodies(endpoint: str) -> dict[str, tuple[str, bytes]]:
    good = json.dumps(GOOD[ENDPOINTS[endpoint][0]]).encode()
    wrong = b'{"version": "68.0"}' if endpoint == "versions" else b'[{"name": "Account"}]'
    return {
        "html page": ("text/html;charset=UTF-8", LOGIN_PAGE),
        "html without content type": ("application/json", b"  \n" + LOGIN_PAGE),
        "empty": ("application/json", b""),
        "truncated": ("application/json", good[: len(good) // 2]),
        "null": ("application/json", b"null"),
        "error array": ("application/json", json.dumps(ERROR_ARRAY).encode()),
        "wrong type": ("application/json", wrong),
    }


CASES = [
    (endpoint, body)
    for endpoint in ENDPOINTS
    for body in _bodies(endpoint)
    # get_json accepts any JSON shape (the wing knows what it asked for)
    if not (endpoint == "get_json" and body == "wrong type")
]


@pytest.mark.parametrize(("endpoint", "body"), CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_a_malformed_answer_is_a_typed_error(endpoint: str, body: str) -> None:
    path, words, call, logged_in = ENDPOINTS[endpoint]
    conn, fake = _conn()
    if logged_in:
        conn.open()
    content_type, content = _bodies(endpoint)[body]
    fake.override[path] = (200, content_type, content)
    with pytest.raises(errors.SfNotebookError) as info:
        call(conn)
    error = info.value
    assert type(error) is errors.UnexpectedAnswerError, repr(error)
    assert isinstance(error, errors.SalesforceError)
    message = str(error)
    assert words in message and error.endpoint.startswith(words)
    assert "(200" in message and error.status == 200
    assert len(error.body_start) <= 200
    assert "check" in message.lower() or "retry" in message.lower()  # says what to do
    for secret in (SECRET, TOKEN):
        assert secret not in message and secret not in error.body_start
    if body == "html page":
        assert "login page" in message and "SF_DOMAIN" in message
        assert error.body_start.startswith("<!DOCTYPE html>")
    if body == "error array":
        assert error.error_code == "UNKNOWN_EXCEPTION"


def test_a_truncated_token_answer_shows_no_token() -> None:
    conn, fake = _conn()
    fake.override["/services/oauth2/token"] = (
        200,
        "application/json",
        json.dumps(TOKEN_BODY)[:150].encode(),
    )
    with pytest.raises(errors.UnexpectedAnswerError) as info:
        exchange_token(conn.settings, conn.session)
    assert TOKEN[:30] not in str(info.value)
    assert '"access_token": "***' in info.value.body_start


def test_a_token_answer_echoing_the_secret_is_masked() -> None:
    conn, fake = _conn()
    body = {"instance_url": DOMAIN, "client_secret": SECRET, "note": SECRET}
    fake.override["/services/oauth2/token"] = (200, "application/json", json.dumps(body).encode())
    with pytest.raises(errors.UnexpectedAnswerError, match="without an access token") as info:
        exchange_token(conn.settings, conn.session)
    assert SECRET not in str(info.value)


def test_an_oauth_error_with_200_is_the_typed_oauth_error() -> None:
    conn, fake = _conn()
    body = {"error": "invalid_client", "error_description": "invalid client credentials"}
    fake.override["/services/oauth2/token"] = (200, "application/json", json.dumps(body).encode())
    with pytest.raises(errors.InvalidClientSecretError):
        exchange_token(conn.settings, conn.session)


@pytest.mark.parametrize(
    "instance_url",
    [
        "http://acme.my.salesforce.com",
        "https://evil.example.com",
        "https://acme.my.salesforce.com:8443",
        "https://acme.my.salesforce.com/path",
        "https://user:pw@acme.my.salesforce.com",
    ],
)
def test_the_token_goes_only_to_its_own_https_host(instance_url: str) -> None:
    conn, fake = _conn()
    body = {**TOKEN_BODY, "instance_url": instance_url}
    fake.override["/services/oauth2/token"] = (200, "application/json", json.dumps(body).encode())
    with pytest.raises(errors.UnexpectedAnswerError, match="instance_url"):
        conn.open()
    # Besides the exchange, only the API versions were asked, of the My Domain, without a
    # token (they need none and go at the same time): nothing went to the refused instance.
    sent = sorted(str(r.url) for r in fake.sent)
    assert sent == [DOMAIN + "/services/data/", DOMAIN + "/services/oauth2/token"]
    assert not any("Authorization" in r.headers for r in fake.sent)


def test_another_salesforce_host_is_a_valid_instance() -> None:
    conn, fake = _conn()
    body = {**TOKEN_BODY, "instance_url": "https://acme.my.salesforce.com"}
    fake.override["/services/oauth2/token"] = (200, "application/json", json.dumps(body).encode())
    token = exchange_token(conn.settings, conn.session)
    assert token.instance_url == DOMAIN
    other = {**TOKEN_BODY, "instance_url": "https://na42.salesforce.com"}
    fake.override["/services/oauth2/token"] = (200, "application/json", json.dumps(other).encode())
    assert exchange_token(conn.settings, conn.session).instance_url == "https://na42.salesforce.com"


def test_the_token_exchange_follows_no_redirect() -> None:
    conn, fake = _conn()
    fake.override["/services/oauth2/token"] = (
        307,
        "text/html",
        b"<a href='https://evil.example.com/'>",
    )
    with pytest.raises(errors.AuthenticationError) as info:
        exchange_token(conn.settings, conn.session)
    assert info.value.status == 307
    assert len(fake.sent) == 1


def test_the_secret_is_sent_in_the_body_then_forgotten() -> None:
    conn, fake = _conn()
    exchange_token(conn.settings, conn.session)
    (sent,) = fake.sent
    assert sent.body is None  # emptied once the answer was in
    assert "Authorization" not in sent.headers


def test_the_bearer_header_goes_to_the_instance_origin_only() -> None:
    conn, fake = _conn()
    conn.open()
    assert "Authorization" not in conn.session.headers
    fake.sent.clear()
    conn.session.get(DOMAIN + "/services/data/v68.0/limits")
    conn.session.get("https://evil.example.com/x", headers={"Authorization": "Bearer " + TOKEN})
    conn.session.get("https://acme.my.salesforce.com:8443/services/data/")
    conn.session.mount("http://", fake)
    conn.session.get("http://acme.my.salesforce.com/services/data/")
    auth = [r.headers.get("Authorization") for r in fake.sent]
    assert auth == ["Bearer " + TOKEN, None, None, None]


def test_connection_url_refuses_other_origins() -> None:
    conn, _ = _conn()
    conn.open()
    for url in ("https://evil.example.com/services/data/", "http://acme.my.salesforce.com/x"):
        with pytest.raises(errors.SfNotebookError, match="Refusing"):
            conn.url(url)


def test_get_json_accepts_any_json_shape() -> None:
    conn, fake = _conn()
    conn.open()
    fake.override["/services/data/v68.0/sobjects"] = (200, "application/json", b'[1, "a"]')
    assert conn.get_json("sobjects") == [1, "a"]


def test_limits_accept_old_string_counts_and_skip_non_objects() -> None:
    conn, fake = _conn()
    conn.open()
    body = {"A": {"Max": "10", "Remaining": "7"}, "B": 3}
    fake.override["/services/data/v68.0/limits"] = (
        200,
        "application/json",
        json.dumps(body).encode(),
    )
    assert conn.limits() == {"A": {"Max": 10, "Remaining": 7}}
    body = {"A": {"Max": "ten", "Remaining": 7}}
    fake.override["/services/data/v68.0/limits"] = (
        200,
        "application/json",
        json.dumps(body).encode(),
    )
    with pytest.raises(errors.UnexpectedAnswerError, match="'A'"):
        conn.limits()


def test_identity_refusal_is_tolerated_but_a_foreign_answer_is_not() -> None:
    conn, fake = _conn()
    fake.override[f"/id/{ORG}/{USER}"] = (
        403,
        "application/json",
        json.dumps([{"errorCode": "FORBIDDEN", "message": "no"}]).encode(),
    )
    conn.open()
    assert conn.username == USER


def test_connect_names_the_endpoint_for_an_html_versions_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the public verb: the message names the endpoint, the status and the fix."""
    fake = FakeSalesforce()
    fake.override["/services/data/"] = (200, "text/html", LOGIN_PAGE)
    original = requests.Session.__init__

    def mounted(self: requests.Session) -> None:
        original(self)
        self.mount("https://", fake)

    monkeypatch.setattr(requests.Session, "__init__", mounted)
    with pytest.raises(errors.UnexpectedAnswerError) as info:
        sfnotebook.connect(
            domain=DOMAIN,
            consumer_key="3MVG9" + "k" * 20,
            consumer_secret=SECRET,
            env_file=False,
            set_default=False,
        )
    assert re.search(r"API versions .*\(200, text/html\)", str(info.value))


def test_a_redirect_to_another_host_carries_no_token() -> None:
    conn, fake = _conn()
    conn.open()
    fake.override["/services/data/v68.0/moved"] = (302, "text/html", b"")
    original = fake.send

    def send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        resp = original(request, **kwargs)
        if resp.status_code == 302:
            resp.headers["Location"] = "https://evil.example.com/services/data/v68.0/sobjects"
        return resp

    fake.send = send  # type: ignore[method-assign]
    fake.sent.clear()
    conn.session.get(DOMAIN + "/services/data/v68.0/moved")
    assert [r.url for r in fake.sent][-1].startswith("https://evil.example.com/")
    assert [r.headers.get("Authorization") for r in fake.sent] == ["Bearer " + TOKEN, None]
