"""The demo org's OAuth endpoints (apps and tokens live in :mod:`sfnotebook_demo.rest.apps`).

Implements the client credentials flow as ``../shared/salesforce-api.md`` section 1 describes
it: ``POST /services/oauth2/token`` with every documented error body, ``/revoke``,
``/introspect``, ``/userinfo`` and the identity URL ``/id/{orgId}/{userId}``.
Nothing here logs or repeats a secret or a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

from sfnotebook_demo.dialect import dialect_of
from sfnotebook_demo.http import Request, Response, Router, json_response
from sfnotebook_demo.rest.apps import (
    APP_STATES,
    ConnectedApp,
    RunAsUser,
    TokenInfo,
    TokenStore,
    make_apps,
    sf_id,
)
from sfnotebook_demo.state import LATEST_API_VERSION, OrgState

# The app and token types are re-exported: callers know them as part of the OAuth side.
__all__ = [
    "APP_STATES",
    "ConnectedApp",
    "OAuthService",
    "RunAsUser",
    "TokenInfo",
    "TokenStore",
    "make_apps",
    "oauth_error",
    "register",
    "sf_id",
]


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """The token endpoint's error body (not the REST error array)."""
    return json_response({"error": error, "error_description": description}, status=status)


# The answer to a token request for an app without the client credentials flow enabled, as the
# dialect's flow_disabled_error says (fidelity-audit D13: reports disagree and none is
# verified). The codes are the reported ones; the descriptions of unauthorized_client and
# invalid_grant are ours (the other two are Salesforce's answers to a bad grant / secret).
_FLOW_DISABLED = {
    "unsupported_grant_type": "grant type not supported",
    "unauthorized_client": "client is not authorized to use this grant type",
    "invalid_grant": "client credentials flow not enabled",
    "invalid_client": "invalid client credentials",  # the very answer to a wrong secret
}


def _flow_disabled(error: str) -> Response:
    return oauth_error(error, _FLOW_DISABLED[error])


def _form(request: Request) -> dict[str, str] | None:
    """The form-encoded body, or None when the request is not a form POST."""
    if request.method != "POST":
        return None
    ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    try:
        parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return {k: v[0] for k, v in parsed.items()}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.header("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


class OAuthService:
    """The OAuth endpoints of one demo org, bound to its apps, user and token store."""

    def __init__(
        self,
        org: OrgState,
        *,
        apps: dict[str, ConnectedApp],
        user: RunAsUser,
        tokens: TokenStore,
        login_host: str,
    ) -> None:
        self.org = org
        self.apps_by_key = {app.consumer_key: app for app in apps.values()}
        self.user = user
        self.tokens = tokens
        self.login_host = login_host  # "localhost:PORT", the stand-in for login.salesforce.com

    # ---- token ---------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        """``POST /services/oauth2/token`` (client credentials only)."""
        host = (request.header("host") or "").lower()
        if host == self.login_host or host.split(":")[0] == "localhost":
            return oauth_error("invalid_grant", "request not supported on this domain")
        form = _form(request)
        if form is None or form.get("grant_type") != "client_credentials":
            return oauth_error("unsupported_grant_type", "grant type not supported")
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        if client_id is None:
            basic = _basic_credentials(request)
            if basic is not None:
                client_id, client_secret = basic
        app = self.apps_by_key.get(client_id or "")
        if app is None:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if client_secret is None or not hmac.compare_digest(
            client_secret.encode(), app.consumer_secret.encode()
        ):
            return oauth_error("invalid_client", "invalid client credentials")
        if app.state == "flow_disabled":
            return _flow_disabled(dialect_of(self.org).flow_disabled_error)
        if app.state == "no_run_as":
            return oauth_error("invalid_grant", "no client credentials user enabled")
        faults = self.org.features.get("faults")
        if faults is not None:
            faults.sessions_renewed()
        token, info = self.tokens.issue(app.name, self.user.id)
        identity = self.identity_url()
        issued_at = str(int(info.issued_at * 1000))
        signature = base64.b64encode(
            hmac.new(
                app.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return json_response(
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": self.org.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
            headers={"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"},
        )

    def revoke(self, request: Request) -> Response:
        """``POST /services/oauth2/revoke`` (form ``token=``; GET with ``?token=`` also)."""
        form = _form(request)
        token = (
            (form or {}).get("token") if request.method == "POST" else request.query.get("token")
        )
        if not token:
            return oauth_error("unsupported_token_type", "this token type is not supported")
        if not self.tokens.revoke(token):
            return oauth_error("invalid_token", "invalid token")
        return Response(status=200, body=b"", content_type="text/plain;charset=UTF-8")

    def introspect(self, request: Request) -> Response:
        """``POST /services/oauth2/introspect`` (RFC 7662 style, app credentials required)."""
        form = _form(request) or {}
        creds = _basic_credentials(request) or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        app = self.apps_by_key.get(creds[0])
        if app is None or not hmac.compare_digest(creds[1].encode(), app.consumer_secret.encode()):
            return oauth_error("invalid_client", "invalid client credentials", status=401)
        info = self.tokens.lookup(form.get("token", ""))
        if info is None:
            return json_response({"active": False})
        return json_response(
            {
                "active": True,
                "scope": "api",
                "client_id": app.consumer_key,
                "username": self.user.username,
                "sub": self.identity_url(),
                "token_type": "access_token",
                "exp": int(info.expires_at),
                "iat": int(info.issued_at),
                "nbf": int(info.issued_at),
            }
        )

    # ---- identity ------------------------------------------------------------------------

    def identity_url(self) -> str:
        return f"{self.org.base_url}/id/{self.org.org_id}/{self.user.id}"

    def _urls(self, version: str | None) -> dict[str, str]:
        v = "{version}"
        if version == "latest":
            v = LATEST_API_VERSION
        elif version:
            v = version
        base = self.org.base_url
        org15 = self.org.org_id[:15]
        data = f"{base}/services/data/v{v}"
        return {
            "enterprise": f"{base}/services/Soap/c/{v}/{org15}",
            "metadata": f"{base}/services/Soap/m/{v}/{org15}",
            "partner": f"{base}/services/Soap/u/{v}/{org15}",
            "rest": f"{data}/",
            "sobjects": f"{data}/sobjects/",
            "search": f"{data}/search/",
            "query": f"{data}/query/",
            "recent": f"{data}/recent/",
            "tooling_soap": f"{base}/services/Soap/T/{v}/{org15}",
            "tooling_rest": f"{data}/tooling/",
            "profile": f"{base}/{self.user.id}",
            "feeds": f"{data}/chatter/feeds",
            "groups": f"{data}/chatter/groups",
            "users": f"{data}/chatter/users",
            "feed_items": f"{data}/chatter/feed-items",
            "feed_elements": f"{data}/chatter/feed-elements",
            "custom_domain": base,
        }

    def _photos(self) -> dict[str, str]:
        base = self.org.base_url
        return {
            "picture": f"{base}/img/userprofile/default_profile_200_v2.png",
            "thumbnail": f"{base}/img/userprofile/default_profile_45_v2.png",
        }

    def identity(self, request: Request, org_id: str, user_id: str) -> Response:
        """``GET /id/{orgId}/{userId}``: the Run As user and org."""
        if org_id not in (self.org.org_id, self.org.org_id[:15]) or user_id not in (
            self.user.id,
            self.user.id[:15],
        ):
            return json_response([{"error": "Bad_Id", "error_description": "Bad Id"}], status=404)
        u = self.user
        payload: dict[str, Any] = {
            "id": self.identity_url(),
            "asserted_user": True,
            "user_id": u.id,
            "organization_id": self.org.org_id,
            "username": u.username,
            "nick_name": u.username.split("@")[0],
            "display_name": u.name,
            "email": u.email,
            "email_verified": True,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "timezone": "GMT",
            "photos": self._photos(),
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": self._urls(request.query.get("version")),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "last_modified_date": "2026-01-01T00:00:00Z",
            "is_app_installed": True,
        }
        return json_response(payload)

    def userinfo(self, request: Request) -> Response:
        """``GET /services/oauth2/userinfo`` (OpenID Connect style)."""
        u = self.user
        return json_response(
            {
                "sub": self.identity_url(),
                "user_id": u.id,
                "organization_id": self.org.org_id,
                "preferred_username": u.username,
                "nickname": u.username.split("@")[0],
                "name": u.name,
                "email": u.email,
                "email_verified": True,
                "given_name": u.first_name,
                "family_name": u.last_name,
                "zoneinfo": "GMT",
                "photos": self._photos(),
                "profile": f"{self.org.base_url}/{u.id}",
                "picture": self._photos()["picture"],
                "address": {},
                "is_salesforce_integration_user": True,
                "urls": self._urls(request.query.get("version")),
                "active": True,
                "user_type": "STANDARD",
                "language": "en_US",
                "locale": "en_US",
                "utcOffset": 0,
                "updated_at": "2026-01-01T00:00:00Z",
            }
        )


def register(router: Router, service: OAuthService) -> None:
    """Add the OAuth routes (token endpoints need no bearer token; identity does)."""
    router.add("POST", r"/services/oauth2/token", service.token, auth=False)
    # GET reaches the handler too, so it can answer "grant type not supported" as Salesforce.
    router.add("GET", r"/services/oauth2/token", service.token, auth=False)
    router.add("POST", r"/services/oauth2/revoke", service.revoke, auth=False)
    router.add("GET", r"/services/oauth2/revoke", service.revoke, auth=False)
    router.add("POST", r"/services/oauth2/introspect", service.introspect, auth=False)
    router.add("GET", r"/services/oauth2/userinfo", service.userinfo)
    router.add("POST", r"/services/oauth2/userinfo", service.userinfo)
    router.add("GET", r"/id/(?P<org_id>00D\w{12,15})/(?P<user_id>005\w{12,15})", service.identity)
