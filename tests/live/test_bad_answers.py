"""Through the demo org and a rewriting HTTPS server in front of it: a login page, a cut-short
body or ``null`` where Salesforce's answer belongs is an ``UnexpectedAnswerError`` naming the
endpoint, not a decoder's exception."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook
from sfnotebook import errors
from tests.adversarial.proxy import RewritingProxy

LOGIN_PAGE = b"<!DOCTYPE html><html><title>Login | Salesforce</title><form>Username</form></html>"


@pytest.fixture(scope="module")
def proxy(demo_org: Any) -> Iterator[RewritingProxy]:
    with RewritingProxy(demo_org) as rewriter:
        yield rewriter


@pytest.fixture
def bad(proxy: RewritingProxy) -> Iterator[RewritingProxy]:
    proxy.clear()
    yield proxy
    proxy.clear()


def _connect(proxy: RewritingProxy) -> sfnotebook.Connection:
    return sfnotebook.connect(
        **proxy.connect_kwargs(), env_file=False, set_default=False, backoff=0.01
    )


def test_through_the_rewriter_everything_works(bad: RewritingProxy) -> None:
    org = _connect(bad)
    assert org.instance_url == bad.url
    assert org.username and org.limits()["DailyApiRequests"]["Max"] > 0


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "endpoint", "what"),
    [
        ("POST", r"^/services/oauth2/token$", LOGIN_PAGE, "text/html", "token exchange", "HTML"),
        (
            "POST",
            r"^/services/oauth2/token$",
            b'{"access_tok',
            "application/json",
            "token exchange",
            "not JSON",
        ),
        ("GET", r"^/services/data/?$", LOGIN_PAGE, "text/html", "API versions", "HTML"),
        ("GET", r"^/services/data/?$", b"", "application/json", "API versions", "empty"),
        (
            "GET",
            r"^/services/data/?$",
            b'{"v": 1}',
            "application/json",
            "API versions",
            "where an array",
        ),
        ("GET", r"^/id/", b"null", "application/json", "identity", "null"),
        ("GET", r"^/id/", b"[1, 2]", "application/json", "identity", "where an object"),
    ],
)
def test_a_bad_login_answer_names_its_endpoint(
    bad: RewritingProxy,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    endpoint: str,
    what: str,
) -> None:
    bad.answer(method, path, 200, body, content_type)
    with pytest.raises(errors.UnexpectedAnswerError) as info:
        _connect(bad).username  # noqa: B018 - the identity is asked on first use
    assert info.value.endpoint.startswith(endpoint) and info.value.status == 200
    assert endpoint in str(info.value) and what in str(info.value)


@pytest.mark.parametrize(
    ("path", "call", "endpoint"),
    [
        (r"/limits/?$", lambda org: org.limits(), "limits"),
        (r"/sobjects/Account/describe/?$", lambda org: org.describe("Account"), "describe Account"),
        (r"/analytics/reports/?$", lambda org: org.get_json("analytics/reports"), "GET /services"),
        (r"/analytics/dashboards/?$", lambda org: org.dashboards(), "dashboard list"),
        (r"/analytics/dashboards/\w+/status$", lambda org: org.dashboards(), "dashboard status"),
        (
            r"/analytics/dashboards/\w+/describe$",
            lambda org: org.dashboard("Sales Pipeline"),
            "dashboard describe",
        ),
        (
            r"/analytics/dashboards/01Z\w+$",
            lambda org: org.dashboard("Sales Pipeline"),
            "dashboard results",
        ),
    ],
)
def test_a_login_page_after_login_names_its_endpoint(
    bad: RewritingProxy, path: str, call: Any, endpoint: str
) -> None:
    org = _connect(bad)
    bad.answer("GET", path, 200, LOGIN_PAGE)
    with pytest.raises(errors.UnexpectedAnswerError, match="login page") as info:
        call(org)
    assert info.value.endpoint.startswith(endpoint)
