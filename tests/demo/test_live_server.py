"""Live tests of the demo org server core: TLS, OAuth, routing, limits, faults, DemoOrg, CLI.

Plain ``requests`` against a running :class:`DemoOrg`, always with ``verify=demo.ca_bundle``.
The feature modules (query, reports, bulk) have their own tests; this module starts its demo
org without them so it tests the core alone, plus one check that the full org loads them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sfnotebook_demo import DemoOrg, DemoOrgError
from sfnotebook_demo.faults import FaultConfig
from sfnotebook_demo.http import Request, Response, json_response
from sfnotebook_demo.rest import apps as apps_module
from sfnotebook_demo.rest.platform import version_label
from sfnotebook_demo.server import FEATURE_MODULES
from sfnotebook_demo.state import API_VERSIONS

OPPORTUNITIES = 1_000
V = "/services/data/v68.0"


class Api:
    """A tiny client for the tests: every call verifies TLS against the demo org's CA."""

    def __init__(self, demo: DemoOrg) -> None:
        self.demo = demo
        self.session = requests.Session()

    def call(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        base = kw.pop("base", self.demo.url)
        return self.session.request(
            method,
            base + path,
            headers=headers,
            verify=self.demo.ca_bundle,
            **{"timeout": 30, **kw},
        )

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.call("POST", path, **kw)

    def token_response(self, key: str | None = None, secret: str | None = None, **kw: Any) -> Any:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.demo.consumer_key if key is None else key,
            "client_secret": self.demo.consumer_secret if secret is None else secret,
        }
        return self.post("/services/oauth2/token", data=data, **kw)

    def token(self) -> str:
        response = self.token_response()
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoOrg]:
    with DemoOrg(opportunities=OPPORTUNITIES, features=()) as org:
        yield org


@pytest.fixture
def api(demo: DemoOrg) -> Iterator[Api]:
    client = Api(demo)
    yield client
    client.session.close()
    demo.set_faults(**_NO_FAULTS)


_NO_FAULTS: dict[str, Any] = FaultConfig.defaults()


def assert_no_secret(demo: DemoOrg, text: str) -> None:
    assert demo.consumer_secret not in text
    for _key, secret in demo.apps.values():
        assert secret not in text


# ---- TLS --------------------------------------------------------------------------------------


def test_accepted_connections_send_small_writes_at_once(demo: DemoOrg) -> None:
    """TCP_NODELAY on the server's side of every connection (Nagle stalled small answers)."""
    server = demo.server
    assert server is not None
    client = Api(demo)
    try:
        assert client.get("/services/data/").status_code == 200  # the connection stays open
        with server.httpd.active_lock:
            sockets = list(server.httpd.active)
        assert sockets, "the keep-alive connection is served"
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.session.close()


def test_tls_verified_with_the_demo_ca_and_refused_without(demo: DemoOrg, api: Api) -> None:
    assert Path(demo.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert api.get("/services/data/").status_code == 200
    # The system trust store does not know the throwaway CA: verification really happens.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(demo.url + "/services/data/", timeout=10)


def test_certificate_also_valid_for_localhost(demo: DemoOrg, api: Api) -> None:
    response = api.get("/services/data/", base=f"https://{demo.login_domain}")
    assert response.status_code == 200


def test_plain_http_is_refused(demo: DemoOrg) -> None:
    try:
        response = requests.get(f"http://{demo.domain}/services/data/", timeout=10)
    except requests.ConnectionError:
        return
    assert response.status_code == 400
    assert "HTTPS only" in response.text
    assert response.text.strip()[:1] != "["  # never the JSON the HTTPS side serves


def test_keep_alive_reuses_one_connection(demo: DemoOrg) -> None:
    client = Api(demo)
    before = demo.stats()["connections"].get("tls", 0)
    for _ in range(5):
        assert client.get("/services/data/").status_code == 200
    after = demo.stats()["connections"].get("tls", 0)
    client.session.close()
    # Only the test's session connects (stats() in thread mode makes no request).
    assert after - before == 1


def test_gzip_when_accepted(api: Api) -> None:
    gz = api.get("/services/data/", headers={"Accept-Encoding": "gzip"})
    plain = api.get("/services/data/", headers={"Accept-Encoding": "identity"})
    assert gz.headers.get("Content-Encoding") == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert gz.json() == plain.json()
    assert int(gz.headers["Content-Length"]) < int(plain.headers["Content-Length"])


# ---- versions -------------------------------------------------------------------------------


def test_versions_list(api: Api) -> None:
    response = api.get("/services/data/")
    assert response.status_code == 200
    assert "Sforce-Limit-Info" not in response.headers
    versions = response.json()
    assert [v["version"] for v in versions] == list(API_VERSIONS)
    assert versions[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}
    assert versions[0]["label"] == "Summer '14"
    assert api.get("/services/data").json() == versions


@pytest.mark.parametrize(
    ("version", "label"),
    [
        ("68.0", "Winter '27"),
        ("67.0", "Summer '26"),
        ("66.0", "Spring '26"),
        ("62.0", "Winter '25"),
    ],
)
def test_version_labels(version: str, label: str) -> None:
    assert version_label(version) == label


# ---- token endpoint ----------------------------------------------------------------------


def test_token_success_body(demo: DemoOrg, api: Api) -> None:
    before = time.time()
    response = api.token_response()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["access_token"].startswith(demo.org_id[:15] + "!")
    assert body["instance_url"] == demo.url
    assert body["id"] == f"{demo.url}/id/{demo.org_id}/{demo.user_id}"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert body["issued_at"].isdigit() and int(body["issued_at"]) >= int(before * 1000) - 1
    expected = base64.b64encode(
        hmac.new(
            demo.consumer_secret.encode(),
            (body["id"] + body["issued_at"]).encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    assert body["signature"] == expected
    assert len(demo.org_id) == 18 and demo.org_id.startswith("00D")
    assert len(demo.user_id) == 18 and demo.user_id.startswith("005")


def test_token_with_basic_credentials(demo: DemoOrg, api: Api) -> None:
    response = api.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(demo.consumer_key, demo.consumer_secret),
    )
    assert response.status_code == 200
    assert api.get(V + "/limits", token=response.json()["access_token"]).status_code == 200


def test_each_token_is_new(api: Api) -> None:
    assert api.token() != api.token()


TOKEN_ERRORS = [
    ("unknown key", "invalid_client_id", "client identifier invalid"),
    ("wrong secret", "invalid_client", "invalid client credentials"),
    ("no_run_as", "invalid_grant", "no client credentials user enabled"),
    ("flow_disabled", "unsupported_grant_type", "grant type not supported"),
    ("login domain", "invalid_grant", "request not supported on this domain"),
    ("json body", "unsupported_grant_type", "grant type not supported"),
    ("GET", "unsupported_grant_type", "grant type not supported"),
    ("password grant", "unsupported_grant_type", "grant type not supported"),
    ("no grant type", "unsupported_grant_type", "grant type not supported"),
    ("no secret", "invalid_client", "invalid client credentials"),
    ("wrong basic secret", "invalid_client", "invalid client credentials"),
]


@pytest.mark.parametrize(("case", "error", "description"), TOKEN_ERRORS)
def test_token_errors(demo: DemoOrg, api: Api, case: str, error: str, description: str) -> None:
    key, secret = demo.consumer_key, demo.consumer_secret
    form = {"grant_type": "client_credentials", "client_id": key, "client_secret": secret}
    path = "/services/oauth2/token"
    if case == "unknown key":
        response = api.token_response(key="3MVG9unknown", secret=secret)
    elif case == "wrong secret":
        response = api.token_response(secret=secret[::-1])
    elif case in ("no_run_as", "flow_disabled"):
        response = api.token_response(*demo.apps[case])
    elif case == "login domain":
        response = api.post(path, data=form, base=f"https://{demo.login_domain}")
    elif case == "json body":
        response = api.post(path, json=form)
    elif case == "GET":
        response = api.get(path, params=form)
    elif case == "password grant":
        response = api.post(path, data={**form, "grant_type": "password"})
    elif case == "no grant type":
        response = api.post(path, data={"client_id": key, "client_secret": secret})
    elif case == "no secret":
        response = api.post(path, data={"grant_type": "client_credentials", "client_id": key})
    else:
        response = api.post(path, data={"grant_type": "client_credentials"}, auth=(key, "nope"))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}
    assert_no_secret(demo, response.text)


@pytest.mark.parametrize(
    ("answer", "description"),
    [("unsupported_grant_type", "grant type not supported"),
     ("unauthorized_client", "client is not authorized to use this grant type"),
     ("invalid_grant", "client credentials flow not enabled"),
     ("invalid_client", "invalid client credentials")],
)  # fmt: skip
def test_a_disabled_flow_answers_as_the_dialect_says(
    demo: DemoOrg, api: Api, answer: str, description: str
) -> None:
    demo.set_dialect(flow_disabled_error=answer)
    try:
        response = api.token_response(*demo.apps["flow_disabled"])
    finally:
        demo.set_dialect(flow_disabled_error="unsupported_grant_type")
    assert response.status_code == 400
    assert response.json() == {"error": answer, "error_description": description}


def test_token_endpoint_counts_no_api_usage(demo: DemoOrg, api: Api) -> None:
    before = demo.stats()["api_usage"]
    response = api.token_response()
    assert "Sforce-Limit-Info" not in response.headers
    assert demo.stats()["api_usage"] == before


# ---- authentication and routing -------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "nonsense"])
def test_bad_authorization_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = api.get(V + "/limits", headers=headers)
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_oauth_scheme_accepted(api: Api) -> None:
    token = api.token()
    response = api.get(V + "/limits", headers={"Authorization": f"OAuth {token}"})
    assert response.status_code == 200


def test_unknown_path_404(api: Api) -> None:
    token = api.token()
    for path in ("/nope", V + "/no/such/resource", "/services/apexrest/x"):
        response = api.get(path, token=token)
        assert response.status_code == 404
        assert response.json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]


def test_wrong_method_405(api: Api) -> None:
    response = api.call("DELETE", V + "/limits", token=api.token())
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.json()[0]["message"]


def test_retired_version_410_and_unknown_version_404(api: Api) -> None:
    token = api.token()
    gone = api.get("/services/data/v30.0/limits", token=token)
    assert gone.status_code == 410
    assert gone.json()[0]["errorCode"] == "GONE"
    unknown = api.get("/services/data/v99.0/limits", token=token)
    assert unknown.status_code == 404
    assert unknown.json()[0]["errorCode"] == "NOT_FOUND"
    assert api.get("/services/data/v31.0/limits", token=token).status_code == 200


def test_latest_alias(api: Api) -> None:
    response = api.get("/services/data/latest/limits", token=api.token())
    assert response.status_code == 200
    assert "DailyApiRequests" in response.json()


def test_version_resource_directory(api: Api) -> None:
    response = api.get(V + "/", token=api.token())
    assert response.status_code == 200
    assert response.json()["limits"] == V + "/limits"


# ---- limits ------------------------------------------------------------------------------


def _usage(response: Any) -> tuple[int, int]:
    used, maximum = response.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")
    return int(used), int(maximum)


def test_limits_and_usage_header(api: Api) -> None:
    token = api.token()
    first = api.get(V + "/limits", token=token)
    second = api.get(V + "/limits", token=token)
    assert first.status_code == second.status_code == 200
    used1, max1 = _usage(first)
    used2, _ = _usage(second)
    assert max1 == 15000
    assert used2 == used1 + 1
    limits1, limits2 = first.json(), second.json()
    assert limits1["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used1}
    assert limits2["DailyApiRequests"]["Remaining"] == limits1["DailyApiRequests"]["Remaining"] - 1
    for name in ("DailyBulkV2QueryJobs", "ConcurrentSyncReportRuns", "HourlySyncReportRuns"):
        entry = limits1[name]
        assert isinstance(entry["Max"], int) and 0 <= entry["Remaining"] <= entry["Max"]


def test_usage_header_on_errors_of_authenticated_calls(api: Api) -> None:
    response = api.get(V + "/no/such/thing", token=api.token())
    assert response.status_code == 404  # routing fails before the call counts
    assert "Sforce-Limit-Info" not in response.headers


# ---- identity, userinfo, introspect, revoke ----------------------------------------------


def test_identity_url(demo: DemoOrg, api: Api) -> None:
    token_body = api.token_response().json()
    token = token_body["access_token"]
    response = requests.get(
        token_body["id"],
        headers={"Authorization": f"Bearer {token}"},
        verify=demo.ca_bundle,
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == demo.user_id
    assert body["organization_id"] == demo.org_id
    assert body["display_name"] == "Integration User"
    assert body["username"].startswith("integration@")
    assert body["urls"]["rest"] == f"{demo.url}/services/data/v{{version}}/"
    assert body["active"] is True
    pinned = api.get(
        f"/id/{demo.org_id}/{demo.user_id}", token=token, params={"version": "68.0"}
    ).json()
    assert pinned["urls"]["query"] == f"{demo.url}{V}/query/"
    assert "Sforce-Limit-Info" not in response.headers


def test_identity_requires_token_and_right_ids(demo: DemoOrg, api: Api) -> None:
    assert api.get(f"/id/{demo.org_id}/{demo.user_id}").status_code == 401
    other_user = "005" + "0" * 15
    assert api.get(f"/id/{demo.org_id}/{other_user}", token=api.token()).status_code == 404


def test_userinfo(demo: DemoOrg, api: Api) -> None:
    response = api.get("/services/oauth2/userinfo", token=api.token())
    assert response.status_code == 200
    body = response.json()
    assert body["sub"] == f"{demo.url}/id/{demo.org_id}/{demo.user_id}"
    assert body["user_id"] == demo.user_id
    assert body["organization_id"] == demo.org_id
    assert body["preferred_username"].startswith("integration@")
    assert body["name"] == "Integration User"
    assert "{version}" in body["urls"]["sobjects"]


def test_introspect(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    auth = (demo.consumer_key, demo.consumer_secret)
    live = api.post("/services/oauth2/introspect", data={"token": token}, auth=auth).json()
    assert live["active"] is True and live["exp"] > live["iat"]
    dead = api.post("/services/oauth2/introspect", data={"token": "x"}, auth=auth).json()
    assert dead == {"active": False}
    refused = api.post("/services/oauth2/introspect", data={"token": token}, auth=("a", "b"))
    assert refused.status_code == 401


def test_revoke(api: Api) -> None:
    token = api.token()
    assert api.get(V + "/limits", token=token).status_code == 200
    revoked = api.post("/services/oauth2/revoke", data={"token": token})
    assert revoked.status_code == 200
    assert revoked.content == b""
    assert api.get(V + "/limits", token=token).status_code == 401
    again = api.post("/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"
    missing = api.post("/services/oauth2/revoke", data={})
    assert missing.status_code == 400
    assert missing.json()["error"] == "unsupported_token_type"


def test_expire_sessions(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    assert demo.expire_sessions() >= 1
    response = api.get(V + "/limits", token=token)
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert api.get(V + "/limits", token=api.token()).status_code == 200


def test_token_expires_after_its_lifetime(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.token()
    assert api.get(V + "/limits", token=token).status_code == 200
    real_time = time.time

    class Later:
        @staticmethod
        def time() -> float:
            return real_time() + 7201  # just past the default 2-hour session timeout

    monkeypatch.setattr(apps_module, "time", Later)
    assert api.get(V + "/limits", token=token).status_code == 401


def test_configured_token_lifetime() -> None:
    # A lifetime of 0 makes every token dead on arrival: the configured value is what counts.
    with DemoOrg(opportunities=OPPORTUNITIES, features=(), token_lifetime=0) as short:
        client = Api(short)
        token = client.token()
        response = client.get(V + "/limits", token=token)
        assert response.status_code == 401
        client.session.close()


# ---- faults ------------------------------------------------------------------------------


def test_fault_503(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    before = demo.stats()["faults"].get("server_unavailable", 0)
    demo.set_faults(error_next=2)
    codes = [api.get(V + "/limits", token=token).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    demo.set_faults(error_next=1)
    body = api.get(V + "/limits", token=token).json()
    assert body[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert demo.stats()["faults"]["server_unavailable"] == before + 3


def test_fault_dropped_connection(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    demo.set_faults(drop_next=1)
    with pytest.raises(requests.ConnectionError):
        api.get(V + "/limits", token=token)
    assert api.get(V + "/limits", token=token).status_code == 200
    assert demo.stats()["faults"]["dropped_connection"] >= 1


def test_fault_rates_are_seeded(demo: DemoOrg, api: Api) -> None:
    token = api.token()

    def run() -> list[int]:
        demo.set_faults(error_rate=0.5, seed=11)
        return [api.get(V + "/limits", token=token).status_code for _ in range(20)]

    first = run()
    assert set(first) == {200, 503}
    assert run() == first


def test_faults_spare_the_token_endpoint_unless_asked(demo: DemoOrg, api: Api) -> None:
    demo.set_faults(error_rate=1.0)
    assert api.token_response().status_code == 200
    assert api.get("/services/data/").status_code == 200
    demo.set_faults(apply_to=["data", "token"])
    assert api.token_response().status_code == 503


def test_fault_path_pattern(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    demo.set_faults(error_rate=1.0, path_pattern=r"/limits$")
    assert api.get(V + "/limits", token=token).status_code == 503
    assert api.get(V + "/", token=token).status_code == 200


def test_fault_latency_counted(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    before = demo.stats()["faults"].get("latency", 0)
    demo.set_faults(latency=0.01)
    assert api.get(V + "/limits", token=token).status_code == 200
    assert demo.stats()["faults"]["latency"] == before + 1


def test_fault_session_expiry_after_requests(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    demo.set_faults(expire_after_requests=2)
    assert [api.get(V + "/limits", token=token).status_code for _ in range(3)] == [200, 200, 401]
    # The old token stays dead; a new one keeps working (the fault fires once).
    assert api.get(V + "/limits", token=token).status_code == 401
    fresh = api.token()
    assert [api.get(V + "/limits", token=fresh).status_code for _ in range(4)] == [200] * 4


def test_fault_session_expiry_every_requests(demo: DemoOrg, api: Api) -> None:
    demo.set_faults(expire_every_requests=2)
    for _ in range(2):
        token = api.token()
        codes = [api.get(V + "/limits", token=token).status_code for _ in range(3)]
        assert codes == [200, 200, 401]


def test_fault_session_expiry_after_seconds(
    demo: DemoOrg, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfnotebook_demo import faults as faults_module

    token = api.token()
    demo.set_faults(expire_after_seconds=600)
    assert api.get(V + "/limits", token=token).status_code == 200
    real_time = time.time

    class Later:
        @staticmethod
        def time() -> float:
            return real_time() + 601

    monkeypatch.setattr(faults_module, "time", Later)
    assert api.get(V + "/limits", token=token).status_code == 401


def test_fault_request_limit(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    used = _usage(api.get(V + "/limits", token=token))[0]
    demo.set_faults(request_limit=used + 2)
    ok = [api.get(V + "/limits", token=token) for _ in range(2)]
    assert [r.status_code for r in ok] == [200, 200]
    assert ok[-1].json()["DailyApiRequests"] == {"Max": used + 2, "Remaining": 0}
    refused = api.get(V + "/limits", token=token)
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == f"api-usage={used + 2}/{used + 2}"
    assert demo.stats()["faults"]["request_limit_exceeded"] >= 1


@pytest.mark.parametrize(
    ("status", "code", "content_type"),
    [
        (503, "SERVER_UNAVAILABLE", "application/json"),
        (500, "UNKNOWN_EXCEPTION", "application/json"),
        (502, None, "text/html"),
        (504, None, "text/html"),
    ],
)
def test_fault_error_status_and_retry_after(
    demo: DemoOrg, api: Api, status: int, code: str | None, content_type: str
) -> None:
    token = api.token()
    demo.set_faults(error_next=1, error_status=status, retry_after=3)
    refused = api.get(V + "/limits", token=token)
    assert refused.status_code == status
    assert refused.headers["Retry-After"] == "3"
    assert refused.headers["Content-Type"].startswith(content_type)
    if code is not None:
        assert refused.json()[0]["errorCode"] == code
    assert api.get(V + "/limits", token=token).status_code == 200


def test_fault_cut_body_with_content_length_and_chunked(demo: DemoOrg, api: Api) -> None:
    assert demo.server is not None

    def stream(request: Request) -> Response:
        return Response(body=(b"x" * 1000 for _ in range(1000)), content_type="text/csv")

    demo.server.router.add("GET", r"/services/data/{v}/test/cut-stream", stream)
    token = api.token()
    for path in ("/limits", "/test/cut-stream"):  # Content-Length, then chunked
        demo.set_faults(cut_next=1)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            api.get(V + path, token=token, headers={"Accept-Encoding": "identity"})
    assert api.get(V + "/limits", token=token).status_code == 200
    assert demo.stats()["faults"]["cut_body"] >= 2


def test_fault_stall_answers_nothing_and_serves_nothing(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    used = demo.stats()["api_usage"]
    demo.set_faults(stall_next=1, stall_seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(V + "/limits", token=token, timeout=(5, 0.2))
    assert demo.stats()["api_usage"] == used  # never served
    assert api.get(V + "/limits", token=token).status_code == 200
    assert demo.stats()["faults"]["stalled"] >= 1


def test_fault_limit_next(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    demo.set_faults(limit_next=1)
    refused = api.get(V + "/limits", token=token)
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert "api-usage=" in refused.headers["Sforce-Limit-Info"]
    assert api.get(V + "/limits", token=token).status_code == 200


def test_fault_skip_next_and_methods_aim_at_one_request(demo: DemoOrg, api: Api) -> None:
    token = api.token()
    demo.set_faults(error_next=1, skip_next=2, methods=["GET"], path_pattern=r"/limits$")
    assert api.call("HEAD", V + "/limits", token=token).status_code == 200  # not a GET
    codes = [api.get(V + "/limits", token=token).status_code for _ in range(4)]
    assert codes == [200, 200, 503, 200]


def test_journal_counts_requests_and_token_serials(demo: DemoOrg, api: Api) -> None:
    start = len(demo.journal())
    first = api.token()
    api.get(V + "/limits", token=first)
    demo.expire_sessions()
    api.get(V + "/limits", token=first)
    second = api.token()
    api.get(V + "/limits", token=second)
    api.get(V + "/limits")
    entries = demo.journal()[start:]
    issued = demo.stats()["tokens_issued"]
    assert [(e["method"], e["path"], e["status"], e["token"]) for e in entries] == [
        ("POST", "/services/oauth2/token", 200, None),
        ("GET", V + "/limits", 200, issued - 1),
        ("GET", V + "/limits", 401, issued - 1),
        ("POST", "/services/oauth2/token", 200, None),
        ("GET", V + "/limits", 200, issued),
        ("GET", V + "/limits", 401, None),
    ]
    assert first not in str(entries) and second not in str(entries)


def test_admin_endpoints_need_the_key(demo: DemoOrg, api: Api) -> None:
    for method, path in (
        ("GET", "/__demo__/stats"),
        ("POST", "/__demo__/faults"),
        ("POST", "/__demo__/expire-sessions"),
    ):
        response = api.call(method, path, json={}, headers={"X-Demo-Admin-Key": "guess"})
        assert response.status_code == 403
    # The key is private to the DemoOrg object; through it the endpoints work.
    key = demo._admin_key
    ok = api.get("/__demo__/stats", headers={"X-Demo-Admin-Key": key})
    assert ok.status_code == 200 and "requests_by_kind" in ok.json()
    bad = api.post("/__demo__/faults", json={"error_rate": 7}, headers={"X-Demo-Admin-Key": key})
    assert bad.status_code == 400
    unknown = api.post("/__demo__/faults", json={"nope": 1}, headers={"X-Demo-Admin-Key": key})
    assert unknown.status_code == 400


def test_set_faults_rejects_unknown_options(demo: DemoOrg) -> None:
    with pytest.raises(TypeError):
        demo.set_faults(explode=True)


def test_stats(demo: DemoOrg, api: Api) -> None:
    before = demo.stats()
    api.get("/services/data/")
    api.get(V + "/limits", token=api.token())
    after = demo.stats()
    assert after["requests"] - before["requests"] == 3
    assert after["tokens_issued"] == before["tokens_issued"] + 1
    kinds = after["requests_by_kind"]
    for kind in ("versions", "token", "data"):
        assert kinds[kind] >= before["requests_by_kind"].get(kind, 0) + 1
    assert after["api_usage"] == before["api_usage"] + 1


# ---- handlers: streaming and errors ------------------------------------------------------


def test_streamed_body_and_handler_errors(
    demo: DemoOrg, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    assert demo.server is not None
    line = b"0060000000001AAAAA,Name,12.5\n"

    def stream(request: Request) -> Response:
        return Response(body=(line for _ in range(100_000)), content_type="text/csv")

    def broken_stream(request: Request) -> Response:
        def gen() -> Iterator[bytes]:
            yield line * 10_000
            raise RuntimeError("boom")

        return Response(body=gen(), content_type="text/csv")

    def crash(request: Request) -> Response:
        raise RuntimeError("handler bug")

    def echo(request: Request) -> Response:
        return json_response({"body": request.body.decode()})

    router = demo.server.router
    router.add("GET", r"/services/data/{v}/test/stream", stream)
    router.add("GET", r"/services/data/{v}/test/broken", broken_stream)
    router.add("GET", r"/services/data/{v}/test/crash", crash)
    router.add("POST", r"/services/data/{v}/test/echo", echo)
    token = api.token()

    for encoding in ("gzip", "identity"):
        response = api.get(V + "/test/stream", token=token, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.content == line * 100_000

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(V + "/test/broken", token=token, headers={"Accept-Encoding": "identity"})

    with caplog.at_level(logging.ERROR, logger="sfnotebook_demo"):
        crashed = api.get(V + "/test/crash", token=token)
    assert crashed.status_code == 500
    assert crashed.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert any("handler bug" in (r.exc_text or "") for r in caplog.records)
    assert all(
        token not in r.getMessage() and token not in (r.exc_text or "") for r in caplog.records
    )

    def chunks() -> Iterator[bytes]:
        yield b"hello "
        yield b"world"

    echoed = api.post(V + "/test/echo", token=token, data=chunks())  # chunked request body
    assert echoed.json() == {"body": "hello world"}


# ---- the full org, subprocess mode and CLI ------------------------------------------------


def test_full_org_serves_every_feature() -> None:
    with DemoOrg(opportunities=OPPORTUNITIES) as full:
        assert full.stats()["features"] == list(FEATURE_MODULES)
        assert full.user_id.startswith("005")


def test_an_unknown_feature_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo org features"):
        DemoOrg(opportunities=OPPORTUNITIES, features=("soql", "chatter")).start()


def test_subprocess_mode() -> None:
    with DemoOrg(
        opportunities=OPPORTUNITIES, features=(), subprocess=True, faults={"error_next": 1}
    ) as child:
        assert child.server is None
        client = Api(child)
        token = client.token()
        assert client.get(V + "/limits", token=token).status_code == 503
        assert client.get(V + "/limits", token=token).status_code == 200
        child.set_faults(drop_next=1)
        with pytest.raises(requests.ConnectionError):
            client.get(V + "/limits", token=token)
        assert child.expire_sessions() >= 1
        assert client.get(V + "/limits", token=token).status_code == 401
        stats = child.stats()
        assert stats["faults"] == {"server_unavailable": 1, "dropped_connection": 1}
        assert stats["tokens_issued"] == 1
        proc = child._proc
        assert proc is not None
        with pytest.raises(DemoOrgError):
            child.set_faults(error_rate=3)
        client.session.close()
    assert proc.poll() is not None  # the child process is gone, and its port closed
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", child.port), timeout=5).close()


def test_env_and_write_env(demo: DemoOrg, tmp_path: Path) -> None:
    env = demo.env()
    assert env == {
        "SF_DOMAIN": demo.domain,
        "SF_CONSUMER_KEY": demo.consumer_key,
        "SF_CONSUMER_SECRET": demo.consumer_secret,
        "SF_CA_BUNDLE": demo.ca_bundle,
    }
    path = demo.write_env(tmp_path / ".env")
    lines = path.read_text().splitlines()
    assert f"SF_DOMAIN={demo.domain}" in lines
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert demo.consumer_secret not in repr(demo)
    assert set(demo.apps) == {"no_run_as", "flow_disabled"}


def test_cli_demo_org_writes_env_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "sfnotebook.cli",
        "demo-org",
        "--port",
        "0",
        "--opportunities",
        str(OPPORTUNITIES),
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        env_file = tmp_path / ".env.demo"
        first_line = proc.stdout.readline() if proc.stdout else ""
        assert "demo org running at https://127.0.0.1:" in first_line, first_line
        values = dict(
            line.split("=", 1)
            for line in env_file.read_text().splitlines()
            if line and not line.startswith("#")
        )
        assert set(values) == {"SF_DOMAIN", "SF_CONSUMER_KEY", "SF_CONSUMER_SECRET", "SF_CA_BUNDLE"}
        assert Path(values["SF_CA_BUNDLE"]).is_file()
        assert Path(values["SF_CA_BUNDLE"]).is_relative_to(tmp_path / ".sfnotebook-demo")
        response = requests.post(
            f"https://{values['SF_DOMAIN']}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": values["SF_CONSUMER_KEY"],
                "client_secret": values["SF_CONSUMER_SECRET"],
            },
            verify=values["SF_CA_BUNDLE"],
            timeout=30,
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        output = proc.stdout.read() if proc.stdout else ""
        assert values["SF_CONSUMER_SECRET"] not in first_line + output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_cli_help_lists_demo_org() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sfnotebook.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert "demo-org" in result.stdout
    demo_help = subprocess.run(
        [sys.executable, "-m", "sfnotebook.cli", "demo-org", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert demo_help.stdout.startswith("usage: sfnotebook demo-org"), demo_help.stdout
    assert "--opportunities" in demo_help.stdout


def test_state_file_of_a_subprocess_org_holds_no_secret(tmp_path: Path) -> None:
    with DemoOrg(
        opportunities=OPPORTUNITIES, features=(), subprocess=True, state_dir=tmp_path
    ) as child:
        info = json.loads((tmp_path / "server.json").read_text())
        assert info["url"] == child.url
        assert "apps" not in info and "admin_key" not in info
        for path in tmp_path.iterdir():
            if path.is_file():
                assert_no_secret(child, path.read_text(errors="replace"))


def test_head_is_get_without_body(api: Api) -> None:
    response = api.call("HEAD", "/services/data/", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["Content-Length"]) > 100


def test_demo_org_command_reports_a_busy_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sfnotebook demo-org ARGS` becomes `python -m sfnotebook_demo ARGS` (exec): the same main.
    from sfnotebook_demo import __main__ as cli

    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = cli.main(["--port", str(port), "--opportunities", "1000"])
    assert status == 1
    assert "--port" in capsys.readouterr().err
    assert not (tmp_path / ".env.demo").exists()


def test_demo_org_command_rejects_bad_fault_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sfnotebook_demo import __main__ as cli

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli.main(["--faults", "[1, 2]"])
    assert "JSON object" in capsys.readouterr().err
    assert cli.main(["--port", "0", "--faults", '{"error_rate": 5}']) == 2


def test_no_code_switches_tls_verification_off() -> None:
    root = Path(__file__).resolve().parents[2]
    # Built from pieces so this file does not match itself.
    needles = [
        "verify" + "=False",
        "verify" + " = False",
        "CERT_" + "NONE",
        "check_hostname" + " = False",
        "_create_" + "unverified_context",
        "PYTHONHTTPS" + "VERIFY",
    ]
    offenders = []
    for folder in ("sfnotebook", "sfnotebook_demo", "tools", "tests", "bench", "notebooks"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".py", ".ipynb") or not path.is_file():
                continue
            text = path.read_text(errors="replace")
            offenders += [f"{path.relative_to(root)}: {n}" for n in needles if n in text]
    assert offenders == []


def test_start_stop_without_a_with_block() -> None:
    demo = DemoOrg(opportunities=OPPORTUNITIES, features=())
    assert "not started" in repr(demo)
    assert demo.start() is demo
    try:
        with pytest.raises(DemoOrgError, match="already running"):
            demo.start()
        assert Api(demo).get("/services/data/").status_code == 200
    finally:
        demo.stop()
    demo.stop()  # idempotent
    assert not demo.running
    with pytest.raises(DemoOrgError, match="not running"):
        demo.stats()


def test_serve_by_hand_writes_private_credentials(tmp_path: Path) -> None:
    # `python -m sfnotebook_demo serve` without a parent's config: the state file (0600) is
    # the only way to learn the generated credentials.
    env = {k: v for k, v in os.environ.items() if k != "SFNOTEBOOK_DEMO_CONFIG"}
    cmd = [sys.executable, "-m", "sfnotebook_demo", "serve", "--state-dir", str(tmp_path)]
    cmd += ["--opportunities", str(OPPORTUNITIES), "--features", ""]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        assert b"listening at https://127.0.0.1:" in proc.stdout.readline()
        state = tmp_path / "server.json"
        assert oct(state.stat().st_mode & 0o777) == "0o600"
        info = json.loads(state.read_text())
        key, secret = info["apps"]["ok"]
        response = requests.post(
            info["url"] + "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret},
            verify=info["ca_bundle"],
            timeout=30,
        )
        assert response.status_code == 200
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        assert not state.exists()  # removed on a clean stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_request_limit_is_exact_under_concurrency(demo: DemoOrg, api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = api.token()
    used = _usage(api.get(V + "/limits", token=token))[0]
    demo.set_faults(request_limit=used + 20)

    def burst(_: int) -> list[int]:
        client = Api(demo)
        try:
            return [client.get(V + "/limits", token=token).status_code for _ in range(10)]
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = [code for batch in pool.map(burst, range(6)) for code in batch]
    assert codes.count(200) == 20
    assert codes.count(403) == 40
    assert demo.stats()["api_usage"] == used + 20


def test_streamed_body_closed_in_its_thread_when_the_client_leaves(demo: DemoOrg, api: Api) -> None:
    import threading

    assert demo.server is not None
    closed: dict[str, Any] = {}
    done = threading.Event()

    def endless(request: Request) -> Response:
        def gen() -> Iterator[bytes]:
            started = threading.get_ident()
            try:
                while True:
                    yield b"x" * 65536
            finally:
                closed["same_thread"] = threading.get_ident() == started
                done.set()

        return Response(body=gen(), content_type="text/csv")

    demo.server.router.add("GET", r"/services/data/{v}/test/endless", endless)
    token = api.token()
    context = ssl.create_default_context(cafile=demo.ca_bundle)
    with (
        socket.create_connection(("127.0.0.1", demo.port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(
            f"GET {V}/test/endless HTTP/1.1\r\nHost: {demo.domain}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        assert tls.recv(65536).startswith(b"HTTP/1.1 200")
    # Hung up mid-body: the server's next write fails and it closes the generator.
    assert done.wait(timeout=60)
    assert closed["same_thread"] is True

    # HEAD never starts the generator, and the keep-alive connection stays in step.
    head = api.call("HEAD", V + "/test/endless", token=token)
    assert head.status_code == 200 and head.content == b""
    assert api.get(V + "/limits", token=token).status_code == 200


def test_bulk_jobs_use_up_their_limit(demo: DemoOrg, api: Api) -> None:
    """Report runs take their hourly limits themselves: tests/demo/test_report_limits.py."""
    assert demo.server is not None
    router = demo.server.router
    ok = lambda request, **_: json_response({"ok": True})  # noqa: E731 - tiny stand-in handler
    router.add("POST", r"/services/data/{v}/jobs/query", ok)
    token = api.token()

    def remaining() -> dict[str, int]:
        limits = api.get(V + "/limits", token=token).json()
        return {k: v["Remaining"] for k, v in limits.items()}

    before = remaining()
    assert api.post(V + "/jobs/query", token=token, json={}).status_code == 200
    after = remaining()
    assert before["DailyBulkV2QueryJobs"] - after["DailyBulkV2QueryJobs"] == 1
    assert before["DailyApiRequests"] - after["DailyApiRequests"] == 2  # the call + /limits
