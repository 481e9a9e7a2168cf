"""The OAuth 2.0 client credentials token exchange, done by sfnotebook itself.

``POST https://<my-domain>/services/oauth2/token`` with a form body
``grant_type=client_credentials&client_id=...&client_secret=...``. Salesforce issues no
refresh token in this flow: to renew a session, exchange the credentials again.
Knows nothing of pandas or widgets.

The consumer secret and the access token are :class:`~sfnotebook._secret.Secret` objects. The
form body is built by a ``requests`` auth hook while the request is prepared (the clear value
exists only inside that call and in the prepared body, which a response hook empties), the
token answer is decoded with the token wrapped at once, and network failures are raised
outside the ``except`` block, so no traceback of ours (with or without locals, chained or not)
holds either in clear. Redirects are never followed here: the secret goes to the My Domain
over verified HTTPS only, and the token only to the ``instance_url`` it was issued for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import requests.auth

from sfnotebook._answers import body_start, decode_json, unexpected
from sfnotebook._secret import Secret, reveal
from sfnotebook._session import ApiSession
from sfnotebook.errors import (
    AuthenticationError,
    GrantTypeNotEnabledError,
    InvalidClientIdError,
    InvalidClientSecretError,
    MyDomainRequiredError,
    NetworkError,
    RunAsUserMissingError,
    ServerUnavailableError,
)
from sfnotebook.settings import Settings

__all__ = ["TOKEN_PATH", "Token", "exchange_token", "network_error", "revoke_token"]

log = logging.getLogger("sfnotebook.auth")

TIMEOUT = (10.0, 60.0)
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
TOKEN_ENDPOINT = f"token exchange ({TOKEN_PATH})"

# Hosts Salesforce issues instance URLs under; a token answer naming any other host than the
# My Domain itself is refused (the token would be sent there).
_SALESFORCE_SUFFIXES = (
    ".salesforce.com",
    ".force.com",
    ".salesforce.mil",
    ".cloudforce.com",
    ".sfcrmproducts.cn",
)


@dataclass(frozen=True, repr=False)
class Token:
    """An access token and what came with it.

    ``access_token`` is a :class:`~sfnotebook._secret.Secret` (``.reveal()`` gives the value):
    it never shows in a ``repr`` or a traceback, and pickling refuses.
    """

    access_token: Secret
    instance_url: str
    identity_url: str
    issued_at: datetime
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a password
    scope: tuple[str, ...] = ()

    @property
    def org_id(self) -> str:
        """The org's Id, from the identity URL's second-to-last path segment."""
        parts = urlsplit(self.identity_url).path.rstrip("/").split("/")
        return parts[-2] if len(parts) >= 2 else ""

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
    def from_response(cls, resp: requests.Response, settings: Settings) -> Token:
        """Decode and check the token endpoint's 200 answer (``salesforce-api.md`` §1.2).

        Raises :class:`~sfnotebook.errors.UnexpectedAnswerError` for anything that is not a
        token answer, and the typed :class:`AuthenticationError` for an OAuth error body.
        """
        secrets = (settings.consumer_secret,)
        body = decode_json(
            resp,
            endpoint=TOKEN_ENDPOINT,
            expect=dict,
            secrets=secrets,
            wrap=("access_token", "signature"),
        )
        if body.get("error") and not body.get("access_token"):
            raise _token_error(resp, body, settings)
        token = body.get("access_token")
        if not isinstance(token, Secret) or not token:
            raise unexpected(
                resp, TOKEN_ENDPOINT, "an answer without an access token", _HINT_ADVICE, secrets
            )
        missing = [
            k for k in ("instance_url", "id") if not isinstance(body.get(k), str) or not body[k]
        ]
        if missing:
            raise unexpected(
                resp,
                TOKEN_ENDPOINT,
                f"an answer without {', '.join(missing)}",
                _HINT_ADVICE,
                secrets,
            )
        instance_url = str(body["instance_url"]).rstrip("/")
        refusal = _instance_refusal(instance_url, settings)
        if refusal:
            raise unexpected(resp, TOKEN_ENDPOINT, refusal, _HINT_ADVICE, secrets)
        try:
            issued = datetime.fromtimestamp(int(body.get("issued_at", 0)) / 1000, tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            issued = datetime.now(tz=timezone.utc)
        return cls(
            access_token=token,
            instance_url=instance_url,
            identity_url=str(body["id"]),
            issued_at=issued,
            token_type=str(body.get("token_type", "Bearer")),
            scope=tuple(str(body.get("scope", "")).split()),
        )


_HINT_ADVICE = (
    "This is not a Salesforce token answer: check SF_DOMAIN is the org's My Domain "
    "(e.g. acme.my.salesforce.com), not a proxy, portal or login page."
)


def _instance_refusal(instance_url: str, settings: Settings) -> str | None:
    """Why the token must not be sent to ``instance_url``, or ``None`` when it may."""
    try:
        parts = urlsplit(instance_url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return f"an instance_url that is not a URL ({instance_url[:80]!r})"
    domain = urlsplit(settings.domain_url)
    same_host = (host, port or 443) == ((domain.hostname or "").lower(), domain.port or 443)
    if parts.scheme != "https" and not (parts.scheme == domain.scheme == "http" and same_host):
        return f"an instance_url that is not https ({instance_url[:80]!r}): refused"
    if parts.path not in ("", "/") or parts.query or parts.username:
        return f"an instance_url with a path or credentials ({instance_url[:80]!r}): refused"
    if same_host:
        return None
    my_domain_is_salesforce = (domain.hostname or "").endswith(_SALESFORCE_SUFFIXES)
    if my_domain_is_salesforce and host.endswith(_SALESFORCE_SUFFIXES) and port in (None, 443):
        return None
    return f"an instance_url on another host ({host}): the token is not sent there"


class _FormBody(requests.auth.AuthBase):
    """Builds a form body holding secrets while the request is prepared, and empties the
    prepared body once the answer is in: the clear values live only inside this call."""

    def __init__(self, fields: Mapping[str, str | Secret]) -> None:
        self.fields = dict(fields)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.prepare_body(data={k: reveal(v) for k, v in self.fields.items()}, files=None)
        r.register_hook("response", _forget_request_body)
        return r

    def __repr__(self) -> str:
        return f"<form body {sorted(self.fields)} (secrets masked)>"


def _forget_request_body(resp: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    resp.request.body = None
    return resp


def exchange_token(
    settings: Settings,
    session: requests.Session,
    *,
    timeout: tuple[float, float] = TIMEOUT,
) -> Token:
    """Exchange the consumer key and secret for an access token.

    On an :class:`~sfnotebook._session.ApiSession` a 5xx or a dropped connection is retried
    as an idempotent read is: an exchange changes no data (each one only issues a token), so
    a renewal in the middle of a long download does not fail on one bad answer.

    Raises the typed :mod:`sfnotebook.errors` for every refusal the token endpoint can give,
    :class:`~sfnotebook.errors.ServerUnavailableError` for a 5xx left after the retries,
    :class:`~sfnotebook.errors.UnexpectedAnswerError` for an answer that is not one, and
    :class:`~sfnotebook.errors.NetworkError` when the host cannot be reached.
    """
    url = settings.domain_url + TOKEN_PATH
    form = _FormBody(
        {
            "grant_type": "client_credentials",
            "client_id": settings.consumer_key,
            "client_secret": settings.consumer_secret,
        }
    )
    resp = _post(session, url, form, settings, timeout=timeout, idempotent=True)
    log.debug("token exchange: POST %s -> %s", url, resp.status_code)
    if resp.status_code == 200:
        return Token.from_response(resp, settings)
    if resp.status_code >= 500:
        tries = 1 + session.policy.retries if isinstance(session, ApiSession) else 1
        raise ServerUnavailableError(
            f"The {TOKEN_ENDPOINT} at {settings.host} answered {resp.status_code} "
            f"({tries} {'try' if tries == 1 else 'tries'}): Salesforce is unavailable. Retry "
            "in a few minutes; status.salesforce.com shows incidents.",
            status=resp.status_code,
            url=TOKEN_PATH,
        )
    raise _token_error(resp, _oauth_body(resp), settings)


def revoke_token(settings: Settings, session: requests.Session, token: Token) -> None:
    """Revoke an access token (``POST /services/oauth2/revoke``); errors are reported."""
    url = settings.domain_url + "/services/oauth2/revoke"
    resp = _post(session, url, _FormBody({"token": token.access_token}), settings)
    if resp.status_code != 200:
        body = _oauth_body(resp)
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        raise AuthenticationError(
            f"Revoking the session failed ({resp.status_code} {error}).",
            status=resp.status_code,
            error_code=error or None,
        )


def _post(
    session: requests.Session,
    url: str,
    form: _FormBody,
    settings: Settings,
    *,
    timeout: tuple[float, float] = TIMEOUT,
    idempotent: bool = False,
) -> requests.Response:
    """POST a form holding secrets: verified TLS, no redirects, failures raised unchained.

    ``idempotent`` lets an :class:`ApiSession` retry it (a plain session never does).
    """
    options: dict[str, Any] = {"idempotent": True} if idempotent else {}
    if not isinstance(session, ApiSession):
        options = {}
    try:
        return session.post(
            url,
            auth=form,
            headers={"Accept": "application/json"},
            timeout=timeout,
            verify=settings.verify,
            allow_redirects=False,
            **options,
        )
    except requests.RequestException as exc:
        failure = network_error(exc, settings.host, settings.ca_bundle)
        failure.url = urlsplit(url).path
    # Raised here, not in the except block: the requests/urllib3 exception (whose frames hold
    # the prepared body) is neither chained nor kept alive.
    raise failure


def _oauth_body(resp: requests.Response) -> Any:
    """An OAuth error body (``{"error": ..., "error_description": ...}``), or ``None``."""
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None


_ENABLE_FLOW = (
    "enable it: App Manager > your app > Edit > OAuth Settings > Enable Client Credentials Flow"
)


def _token_error(resp: requests.Response, body: Any, settings: Settings) -> AuthenticationError:
    status = resp.status_code
    error = description = ""
    if isinstance(body, dict):
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or "")
    ctx: dict[str, Any] = {"status": status, "error_code": error or None, "url": TOKEN_PATH}
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
    # What Salesforce answers when the app does not have the flow enabled is not settled
    # (fidelity-audit D13): unsupported_grant_type, unauthorized_client, invalid_grant "...
    # client credentials flow not enabled" and invalid_client are all reported. The last is
    # also the answer to a wrong secret, so that message names both causes.
    if error == "invalid_client":
        return InvalidClientSecretError(
            f"{said}.\nEither the consumer secret (SF_CONSUMER_SECRET) is wrong or was rotated "
            "(copy it again from the connected app: Manage Consumer Details), or the app does "
            "not have the client credentials flow enabled, which some orgs answer the same way "
            f"({_ENABLE_FLOW}).",
            **ctx,
        )
    flow_off = error == "invalid_grant" and "flow" in description and "enabled" in description
    if error in ("unsupported_grant_type", "unauthorized_client") or flow_off:
        return GrantTypeNotEnabledError(
            f"{said}.\nThe connected app is not allowed this grant: most likely the client "
            f"credentials flow is not enabled on it; {_ENABLE_FLOW}.",
            **ctx,
        )
    if not error:
        start = body_start(resp, (settings.consumer_secret,))
        return AuthenticationError(
            f"The {TOKEN_ENDPOINT} at {host} answered {status} without an OAuth error body: "
            "it does not look like a Salesforce token endpoint (or Salesforce failed). Check "
            f"SF_DOMAIN is your org's My Domain, then retry.\nBody starts: {start!r}",
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
