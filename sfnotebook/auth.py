"""The OAuth 2.0 client credentials token exchange, done by sfnotebook itself.

``POST https://<my-domain>/services/oauth2/token`` with a form body
``grant_type=client_credentials&client_id=...&client_secret=...``. Salesforce issues no
refresh token in this flow: to renew a session, exchange the credentials again.
Knows nothing of pandas or widgets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from sfnotebook.errors import (
    AuthenticationError,
    GrantTypeNotEnabledError,
    InvalidClientIdError,
    InvalidClientSecretError,
    MyDomainRequiredError,
    NetworkError,
    RunAsUserMissingError,
)
from sfnotebook.settings import Settings

__all__ = ["Token", "exchange_token", "network_error", "revoke_token"]

log = logging.getLogger("sfnotebook.auth")

TIMEOUT = (10.0, 60.0)


@dataclass(frozen=True, repr=False)
class Token:
    """An access token and what came with it. The token itself never shows in ``repr``."""

    access_token: str
    instance_url: str
    identity_url: str
    issued_at: datetime
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a password
    scope: tuple[str, ...] = ()

    @property
    def org_id(self) -> str:
        """The org's Id, from the identity URL's second-to-last path segment."""
        return urlsplit(self.identity_url).path.rstrip("/").split("/")[-2]

    @property
    def user_id(self) -> str:
        """The Run As user's Id, from the identity URL's last path segment."""
        return urlsplit(self.identity_url).path.rstrip("/").split("/")[-1]

    def __repr__(self) -> str:
        return (
            f"Token(instance_url={self.instance_url!r}, user_id={self.user_id!r}, "
            f"issued_at={self.issued_at.isoformat()!r}, access_token='***')"
        )

    @classmethod
    def from_response(cls, body: Any) -> Token:
        """Parse the token endpoint's JSON answer (``../shared/salesforce-api.md`` §1.2)."""
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthenticationError(
                "The token endpoint answered 200 without an access token; "
                "check that SF_DOMAIN is your org's My Domain."
            )
        missing = [k for k in ("instance_url", "id") if not body.get(k)]
        if missing:
            raise AuthenticationError(
                f"The token endpoint's answer lacks {', '.join(missing)}; "
                "it does not look like Salesforce."
            )
        try:
            issued = datetime.fromtimestamp(int(body.get("issued_at", 0)) / 1000, tz=timezone.utc)
        except (TypeError, ValueError):
            issued = datetime.now(tz=timezone.utc)
        return cls(
            access_token=str(body["access_token"]),
            instance_url=str(body["instance_url"]).rstrip("/"),
            identity_url=str(body["id"]),
            issued_at=issued,
            token_type=str(body.get("token_type", "Bearer")),
            scope=tuple(str(body.get("scope", "")).split()),
        )


def exchange_token(settings: Settings, session: requests.Session) -> Token:
    """Exchange the consumer key and secret for an access token.

    Raises the typed :mod:`sfnotebook.errors` for every refusal the token endpoint can give,
    and :class:`~sfnotebook.errors.NetworkError` when the host cannot be reached.
    """
    url = settings.domain_url + "/services/oauth2/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.consumer_key,
        "client_secret": settings.consumer_secret,
    }
    try:
        resp = session.post(
            url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT,
            verify=settings.verify,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise network_error(exc, settings.host, settings.ca_bundle) from None
    log.debug("token exchange: POST %s -> %s", url, resp.status_code)
    body: Any
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 200:
        return Token.from_response(body)
    raise _token_error(resp.status_code, body, settings)


def revoke_token(settings: Settings, session: requests.Session, token: Token) -> None:
    """Revoke an access token (``POST /services/oauth2/revoke``); errors are reported."""
    url = settings.domain_url + "/services/oauth2/revoke"
    try:
        resp = session.post(
            url, data={"token": token.access_token}, timeout=TIMEOUT, verify=settings.verify
        )
    except requests.RequestException as exc:
        raise network_error(exc, settings.host, settings.ca_bundle) from None
    if resp.status_code != 200:
        try:
            error = resp.json().get("error", "")
        except (ValueError, AttributeError):
            error = ""
        raise AuthenticationError(
            f"Revoking the session failed ({resp.status_code} {error}).",
            status=resp.status_code,
            error_code=error or None,
        )


def _token_error(status: int, body: Any, settings: Settings) -> AuthenticationError:
    error = description = ""
    if isinstance(body, dict):
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or "")
    ctx: dict[str, Any] = {"status": status, "error_code": error or None, "url": None}
    said = f"Salesforce answered {status} {error}: {description}".rstrip(": ")
    host = settings.host
    if error == "invalid_grant" and "not supported on this domain" in description:
        return MyDomainRequiredError(
            f"{said}.\n{host} does not accept the client credentials flow: it needs the org's "
            "My Domain host, e.g. SF_DOMAIN=acme.my.salesforce.com "
            "(Setup > My Domain shows yours).",
            **ctx,
        )
    if error == "invalid_grant" and "client credentials user" in description:
        return RunAsUserMissingError(
            f"{said}.\nThe connected app has no Run As user for the client credentials flow. "
            "In Setup > App Manager > your app > Manage > Edit Policies, under Client "
            "Credentials Flow, set Run As to an integration user with API Enabled.",
            **ctx,
        )
    if error == "invalid_client_id":
        return InvalidClientIdError(
            f"{said}.\nSalesforce does not know this consumer key (SF_CONSUMER_KEY): check it "
            f"for typos, that the app belongs to the org at {host}, and allow a few minutes "
            "after creating a new app.",
            **ctx,
        )
    if error == "invalid_client":
        return InvalidClientSecretError(
            f"{said}.\nThe consumer secret (SF_CONSUMER_SECRET) is wrong or was rotated: copy "
            "it again from the connected app (Manage Consumer Details).",
            **ctx,
        )
    if error == "unsupported_grant_type":
        return GrantTypeNotEnabledError(
            f"{said}.\nEnable the client credentials flow on the connected app: App Manager > "
            "your app > Edit > OAuth Settings > Enable Client Credentials Flow.",
            **ctx,
        )
    if not error:
        return AuthenticationError(
            f"{host} answered {status} without an OAuth error body: it does not look like a "
            "Salesforce token endpoint. Check SF_DOMAIN is your org's My Domain.",
            **ctx,
        )
    return AuthenticationError(f"{said}.\nThe token exchange with {host} was refused.", **ctx)


def network_error(exc: requests.RequestException, host: str, ca_bundle: str | None) -> NetworkError:
    """Turn a ``requests`` failure into a :class:`NetworkError` naming the host and the fix."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        hint = (
            f"the CA bundle {ca_bundle} does not vouch for it"
            if ca_bundle
            else "its certificate is not trusted; behind a TLS-inspecting proxy, point "
            "SF_CA_BUNDLE at your company's CA bundle"
        )
        return NetworkError(
            f"TLS verification of {host} failed: {hint}. Verification stays on.",
            url=None,
            reason="tls",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return NetworkError(
            f"{host} did not answer in time. Check your network or VPN, then retry.",
            reason="timeout",
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        if any(
            s in lowered
            for s in (
                "name or service not known",
                "nodename nor servname",
                "name resolution",
                "getaddrinfo failed",
                "no address",
            )
        ):
            return NetworkError(
                f"The host {host} could not be found (DNS). Check SF_DOMAIN for typos: it is "
                "your org's My Domain, e.g. acme.my.salesforce.com.",
                reason="dns",
            )
        if "refused" in lowered:
            return NetworkError(
                f"{host} refused the connection. Check SF_DOMAIN and its port; for the demo "
                "org, check that it is still running.",
                reason="refused",
            )
        return NetworkError(
            f"The connection to {host} failed ({exc.__class__.__name__}). Check your network, "
            "then retry.",
            reason="connection",
        )
    return NetworkError(f"The request to {host} failed ({exc.__class__.__name__}).")
