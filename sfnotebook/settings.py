"""Connection settings: keyword arguments, then environment variables, then the nearest ``.env``.

No network here. Everything a user can get wrong is checked before a request is sent, and
every error names the variable to fix and the ``.env`` file that was read (or that none was
found). The consumer secret is a :class:`~sfnotebook._secret.Secret` from the moment it is
read (argument, environment or ``.env``): no ``repr``, and no local of a frame here, shows it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sfnotebook._secret import Secret
from sfnotebook.errors import (
    InsecureDomainError,
    InvalidSettingError,
    MissingSettingError,
    MyDomainRequiredError,
)

__all__ = ["ENV_NAMES", "Settings", "find_env_file", "load_settings", "read_env_file"]

ENV_NAMES = {
    "domain": "SF_DOMAIN",
    "consumer_key": "SF_CONSUMER_KEY",
    "consumer_secret": "SF_CONSUMER_SECRET",
    "api_version": "SF_API_VERSION",
    "ca_bundle": "SF_CA_BUNDLE",
}

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_GENERIC_LOGIN_HOSTS = {"login.salesforce.com", "test.salesforce.com"}
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_VERSION = re.compile(r"^v?(\d{2,3})(?:\.(\d))?$")
_EXAMPLE = "SF_DOMAIN=acme.my.salesforce.com (sandbox: acme--uat.sandbox.my.salesforce.com)"


@dataclass(frozen=True, repr=False)
class Settings:
    """Resolved, validated settings.

    ``domain_url`` is the My Domain base URL (``https://acme.my.salesforce.com``);
    ``sources`` tells where each value came from (``argument``, ``environment`` or the path
    of the ``.env`` file). ``consumer_secret`` is a :class:`~sfnotebook._secret.Secret`
    (``settings.consumer_secret.reveal()`` gives the value); pickling refuses.
    """

    domain_url: str
    consumer_key: str
    consumer_secret: Secret
    api_version: str | None = None
    ca_bundle: str | None = None
    env_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """``host[:port]`` of the My Domain."""
        return urlsplit(self.domain_url).netloc

    @property
    def verify(self) -> str | bool:
        """What ``requests`` gets as ``verify``: the CA bundle path, or ``True``."""
        return self.ca_bundle or True

    def __repr__(self) -> str:
        key = _mask(self.consumer_key)
        return (
            f"Settings(domain_url={self.domain_url!r}, consumer_key={key!r}, "
            f"consumer_secret='***', api_version={self.api_version!r}, "
            f"ca_bundle={self.ca_bundle!r}, env_file={str(self.env_file) if self.env_file else None!r})"
        )


def _mask(value: str) -> str:
    """Enough of a consumer key to recognise it in a repr, not enough to use it."""
    return value[:4] + "..." + value[-3:] if len(value) > 12 else "***"


def find_env_file(start: Path | None = None) -> Path | None:
    """The nearest ``.env``, searched upward from ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def read_env_file(path: Path) -> dict[str, str]:
    """The SF_* values of one `.env` file, stripped; unreadable files raise `InvalidSettingError`."""
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSettingError(f"Could not read {path}: {exc.__class__.__name__}.") from exc
    return {k: v.strip() for k, v in values.items() if v is not None}


def load_settings(
    *,
    domain: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | Secret | None = None,
    api_version: str | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    env_file: str | os.PathLike[str] | bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings: keyword argument, then environment variable, then the nearest ``.env``.

    Parameters
    ----------
    consumer_secret
        A ``str`` or a :class:`~sfnotebook._secret.Secret`; wrapped at once, so no traceback
        (not even one with locals) shows it.
    env_file
        ``None`` (default) searches for ``.env`` upward from the working directory; a path
        reads that file (it must exist); ``False`` reads no file.
    environ
        The environment to read (default ``os.environ``); tests pass their own.

    Examples
    --------
    >>> load_settings(domain="acme.my.salesforce.com", consumer_key="k" * 20,
    ...               consumer_secret="s" * 20, env_file=False).domain_url
    'https://acme.my.salesforce.com'
    """
    # Rebind the argument: from here on this frame (and any traceback through it) holds the
    # Secret, never the clear value.
    consumer_secret = _as_secret(consumer_secret)
    path: Path | None
    if env_file is False:
        path = None
    elif env_file is None or env_file is True:
        path = find_env_file()
    else:
        path = Path(env_file)
        if not path.is_file():
            raise InvalidSettingError(
                f"The .env file {path} does not exist. Create it from .env.example, "
                "or pass env_file=None to search upward from the working directory."
            )
    values, sources = _resolve(
        {
            "domain": domain,
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "api_version": api_version,
            "ca_bundle": os.fspath(ca_bundle) if ca_bundle is not None else None,
        },
        environ,
        path,
    )
    for name in ("domain", "consumer_key", "consumer_secret"):
        if not values[name]:
            raise MissingSettingError(
                _missing_message(ENV_NAMES[name], path), setting=ENV_NAMES[name]
            )
    secret = values["consumer_secret"]
    key = str(values["consumer_key"])
    assert isinstance(secret, Secret)  # noqa: S101 - _resolve wraps it
    _check_credential(key, "SF_CONSUMER_KEY")
    _check_credential(secret, "SF_CONSUMER_SECRET")
    return Settings(
        domain_url=normalize_domain(str(values["domain"])),
        consumer_key=key,
        consumer_secret=secret,
        api_version=normalize_api_version(_plain(values["api_version"])),
        ca_bundle=_check_ca_bundle(_plain(values["ca_bundle"])),
        env_file=path,
        sources=sources,
    )


def _as_secret(value: str | Secret | None) -> Secret | None:
    """``value`` as a stripped :class:`Secret` (``None`` or blank -> ``None``); never raises,
    so no traceback can catch the clear value in this frame or the caller's."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    stripped = Secret(value.reveal().strip() if isinstance(value, Secret) else str(value).strip())
    return stripped or None


def _plain(value: str | Secret | None) -> str | None:
    return value if isinstance(value, str) else None


def _resolve(
    args: dict[str, str | Secret | None], environ: Mapping[str, str] | None, path: Path | None
) -> tuple[dict[str, str | Secret | None], dict[str, str]]:
    """Each setting from the argument, the environment or the ``.env`` file, and its source.

    The secret is wrapped as it is read. Nothing here raises after the environment and the
    file's values are in locals (``read_env_file`` runs first), so no traceback shows them.
    """
    from_file = read_env_file(path) if path else {}
    env = os.environ if environ is None else environ
    values: dict[str, str | Secret | None] = {}
    sources: dict[str, str] = {}
    for name, env_name in ENV_NAMES.items():
        source = "argument"
        value: str | Secret | None = args[name]
        if isinstance(value, str):
            value = value.strip() or None
        if value is None:
            value, source = (env.get(env_name) or "").strip() or None, "environment"
        if value is None:
            value, source = (from_file.get(env_name) or "").strip() or None, str(path)
        if name == "consumer_secret" and isinstance(value, str):
            value = Secret(value)
        values[name] = value
        if value:
            sources[name] = source
    return values, sources


def _missing_message(env_name: str, path: Path | None) -> str:
    where = (
        f"The .env file read was {path}."
        if path
        else "No .env file was found in the working directory or any folder above it."
    )
    what = {
        "SF_DOMAIN": "your org's My Domain host, e.g. " + _EXAMPLE,
        "SF_CONSUMER_KEY": "the connected app's Consumer Key (Setup > App Manager > View)",
        "SF_CONSUMER_SECRET": "the connected app's Consumer Secret (shown next to the key)",
    }[env_name]
    return (
        f"{env_name} is not set. Set it to {what}, as a keyword argument, an environment "
        f"variable or a line in .env. {where}"
    )


def _check_credential(value: str | Secret, env_name: str) -> None:
    if any(ch.isspace() for ch in (value.reveal() if isinstance(value, Secret) else value)):
        raise InvalidSettingError(
            f"{env_name} contains whitespace. Copy the value again from the connected app "
            "(in .env, write KEY=value without spaces around the value, quotes optional)."
        )


def normalize_api_version(value: str | None) -> str | None:
    """``"68"``, ``"v68.0"`` or ``"68.0"`` -> ``"68.0"``; ``None`` stays ``None``."""
    if value is None or not value.strip():
        return None
    m = _VERSION.match(value.strip())
    if not m:
        raise InvalidSettingError(
            f"SF_API_VERSION {value!r} is not an API version. Use the form 68.0 "
            "(or leave it unset to use the newest version the org offers)."
        )
    return f"{m.group(1)}.{m.group(2) or '0'}"


def _check_ca_bundle(value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidSettingError(
            f"SF_CA_BUNDLE points to {value}, which does not exist. Point it at a PEM file of "
            "CA certificates, or unset it to use the system's trusted CAs."
        )
    return str(path)


def normalize_domain(value: str) -> str:
    """Validate a My Domain host or URL and return its base URL (``https://host[:port]``).

    Accepts ``acme.my.salesforce.com``, ``https://acme--uat.sandbox.my.salesforce.com``,
    custom domains, and ``http://`` for localhost only.
    """
    raw = value.strip()
    if any(ch.isspace() for ch in raw):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} contains spaces. Give the My Domain host only, e.g. {_EXAMPLE}."
        )
    url = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} is not a host name. Give the My Domain host, e.g. {_EXAMPLE}."
        ) from exc
    if parts.scheme not in ("https", "http"):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} has the scheme {parts.scheme!r}; use https:// or no scheme."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} has a path or query; give the host only, e.g. {_EXAMPLE}."
        )
    if parts.username or parts.password:
        raise InvalidSettingError("SF_DOMAIN must not contain a user name or password.")
    if not host or not _valid_host(host):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} is not a valid host name. Give the My Domain host, e.g. {_EXAMPLE}."
        )
    host = host.lower()
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        raise InsecureDomainError(
            f"SF_DOMAIN {raw!r} uses http://. Refused: the consumer secret would travel in "
            "clear text. Use https:// (plain http is only allowed for localhost)."
        )
    if host in _GENERIC_LOGIN_HOSTS:
        raise MyDomainRequiredError(
            f"SF_DOMAIN is {host}, but the client credentials flow needs the org's My Domain "
            f"host, e.g. {_EXAMPLE}. Find it in Setup > My Domain."
        )
    if host.endswith(".lightning.force.com"):
        name = host.removesuffix(".lightning.force.com")
        raise MyDomainRequiredError(
            f"SF_DOMAIN {host} is the Lightning UI host. The API host is the My Domain: "
            f"SF_DOMAIN={name}.my.salesforce.com."
        )
    if host.endswith(".salesforce-setup.com"):
        raise MyDomainRequiredError(
            f"SF_DOMAIN {host} is the Setup host, which does not support the client credentials "
            f"flow. Use the My Domain host, e.g. {_EXAMPLE}."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels)
