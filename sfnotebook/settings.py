"""Connection settings: keyword arguments, then environment variables, then the nearest ``.env``.

Profiles (several orgs side by side): ``load_settings(profile="uat")`` reads the same settings
from ``SF_UAT_DOMAIN``, ``SF_UAT_CONSUMER_KEY``, ``SF_UAT_CONSUMER_SECRET``, ``SF_UAT_API_VERSION``
and ``SF_UAT_CA_BUNDLE`` (the prefix ``SF_<PROFILE>_`` before each setting's name), in the same
order: argument, environment, ``.env``. A profile's domain and credentials never fall back to
the plain ``SF_*`` ones (a production secret must not be sent to a sandbox's login, nor the
reverse); its API version and CA bundle do, since they usually are the same for every org.
Without ``profile=``, ``SF_PROFILE`` (environment, then ``.env``) names the profile to use;
``profile="default"`` always means the plain ``SF_*`` variables.

No network here. Everything a user can get wrong is checked before a request is sent, and
every error names the variable to fix and the ``.env`` file that was read (or that none was
found). The consumer secret is a :class:`~sfnotebook._secret.Secret` from the moment it is
read (argument, environment or ``.env``): no ``repr``, and no local of a frame here, shows it.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sfnotebook._profiles import (
    ENV_NAMES,
    SHARED,
    check_profile,
    env_names,
    is_checked_variable,
    mask_userinfo,
)
from sfnotebook._secret import Secret
from sfnotebook.errors import (
    InsecureDomainError,
    InvalidSettingError,
    MissingSettingError,
    MyDomainRequiredError,
)

__all__ = [
    "ENV_NAMES",
    "Settings",
    "env_names",
    "find_env_file",
    "load_settings",
    "mask_userinfo",
    "read_env_file",
]


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
    profile: str | None = None

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
            f"ca_bundle={self.ca_bundle!r}, env_file={str(self.env_file) if self.env_file else None!r}"
            + (f", profile={self.profile!r})" if self.profile else ")")
        )


def _mask(value: str) -> str:
    """Enough of a consumer key to recognise it in a repr, not enough to use it."""
    return value[:4] + "..." + value[-3:] if len(value) > 12 else "***"


def find_env_file(start: Path | None = None) -> Path | None:
    """The nearest ``.env``, searched upward from ``start`` (default: the working directory).

    A folder called ``.env`` (a virtual environment, often) is passed over; a ``.env`` that is
    a broken symbolic link, a link loop or not a regular file is an error, not a silent skip:
    the user meant it to be read.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_dir():
            continue
        if candidate.is_file():
            return candidate
        if candidate.is_symlink() or os.path.lexists(candidate):
            raise InvalidSettingError(_not_a_file(candidate))
    return None


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a ``.env`` file, and what to do."""
    try:
        if path.is_dir():
            return (
                f"The .env file {path} is a folder. Pass the file inside it, or env_file=None "
                "to search upward from the working directory."
            )
        if path.is_symlink() and not path.exists():
            return (
                f"The .env file {path} is a symbolic link to nothing (missing target, or a loop). "
                "Fix or remove the link."
            )
        if path.exists():
            return f"The .env file {path} is not a regular file. Point env_file= at a text file."
    except (OSError, ValueError):
        pass
    return (
        f"The .env file {path} does not exist. Create it from .env.example, "
        "or pass env_file=None to search upward from the working directory."
    )


#: A ``.env`` holds a few lines; anything larger is the wrong file (a log, a dump).
MAX_ENV_BYTES = 1 << 20


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of one ``.env`` file (values stripped), as python-dotenv reads them.

    Stricter than python-dotenv where it would mislead: a file over 1 MiB, one that is not
    UTF-8, a line that sets an ``SF_*`` variable but cannot be parsed (an unbalanced quote,
    which python-dotenv skips with a log line) and an ``SF_*`` variable set twice to different
    values raise :class:`InvalidSettingError`, naming the variable and the line, never the value.
    The error is raised here, where no local holds the file's text: a traceback with locals
    (``%xmode Verbose``) shows no secret.
    """
    values, problem = _parse_env(path)
    if problem is not None:
        raise InvalidSettingError(problem)
    return values


def _parse_env(path: Path) -> tuple[dict[str, str], str | None]:
    """The file's variables, or ``({}, what is wrong)``."""
    from dotenv.parser import parse_stream  # python-dotenv's own parser: its syntax, exactly

    text, problem = _env_text(path)
    if problem is not None:
        return {}, problem
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            name = _statement_name(binding.original.string)
            if name is not None and is_checked_variable(name):
                return {}, (
                    f"Line {line} of {path} sets {name} but cannot be read (an unbalanced "
                    f'quote?). Write it on one line as {name}=value or {name}="value".'
                )
            continue
        if binding.key is None or binding.value is None:
            continue
        value = binding.value.strip()
        known = is_checked_variable(binding.key) and binding.key in values
        if known and values[binding.key] != value:
            return {}, (
                f"{binding.key} is set twice in {path}, to different values (lines "
                f"{lines[binding.key]} and {line}). Keep one of them."
            )
        values[binding.key] = value
        lines[binding.key] = line
    return values, None


def _env_text(path: Path) -> tuple[str, str | None]:
    """The text of a ``.env`` file (at most :data:`MAX_ENV_BYTES`, UTF-8, a BOM dropped), or
    ``("", what is wrong)``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ENV_BYTES + 1)
    except PermissionError:
        return "", (
            f"The .env file {path} cannot be read: permission denied. Make it readable by you "
            f"(chmod 600 {path}), or pass env_file=False and set the SF_* variables instead."
        )
    except (OSError, ValueError) as exc:
        return "", f"Could not read the .env file {path}: {exc.__class__.__name__}."
    if len(data) > MAX_ENV_BYTES:
        return "", (
            f"The .env file {path} is larger than {MAX_ENV_BYTES // 1024:,} KiB; a .env holds a "
            "few KEY=value lines. Point env_file= at the right file."
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return "", (
            f"The .env file {path} is not UTF-8 text (byte {exc.start + 1:,} is not). Save it "
            "as UTF-8."
        )


def _statement_name(statement: str) -> str | None:
    """The variable a ``.env`` statement sets (``export NAME=...`` or ``NAME=...``)."""
    m = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)", statement)
    return m.group(1) if m else None


def load_settings(
    *,
    domain: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | Secret | None = None,
    api_version: str | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    env_file: str | os.PathLike[str] | bool | None = None,
    environ: Mapping[str, str] | None = None,
    profile: str | None = None,
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
    profile
        Read ``SF_<PROFILE>_DOMAIN`` and the rest instead of ``SF_DOMAIN`` (see the module
        docstring); ``None``: the profile ``SF_PROFILE`` names, if any.

    Examples
    --------
    >>> load_settings(domain="acme.my.salesforce.com", consumer_key="k" * 20,
    ...               consumer_secret="s" * 20, env_file=False).domain_url
    'https://acme.my.salesforce.com'
    """
    # Rebind the argument: from here on this frame (and any traceback through it) holds the
    # Secret, never the clear value.
    consumer_secret = _as_secret(consumer_secret)
    domain = mask_userinfo(domain)
    path: Path | None
    if env_file is False:
        path = None
    elif env_file is None or env_file is True:
        path = find_env_file()
    else:
        path = Path(env_file)
        if not _is_file(path):
            raise InvalidSettingError(_not_a_file(path))
    chosen = _choose_profile(profile, environ, path)
    names = env_names(chosen)
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
        names,
    )
    for name in ("domain", "consumer_key", "consumer_secret"):
        if not values[name]:
            raise MissingSettingError(
                _missing_message(names[name], path, chosen), setting=names[name]
            )
    secret = values["consumer_secret"]
    key = str(values["consumer_key"])
    assert isinstance(secret, Secret)  # noqa: S101 - _resolve wraps it
    _check_credential(key, names["consumer_key"])
    _check_credential(secret, names["consumer_secret"])
    return Settings(
        domain_url=normalize_domain(str(values["domain"])),
        consumer_key=key,
        consumer_secret=secret,
        api_version=normalize_api_version(_plain(values["api_version"])),
        ca_bundle=_check_ca_bundle(_plain(values["ca_bundle"])),
        env_file=path,
        sources=sources,
        profile=chosen,
    )


def _choose_profile(
    profile: str | None, environ: Mapping[str, str] | None, path: Path | None
) -> str | None:
    """The profile asked for, else ``SF_PROFILE`` (environment, then ``.env``), else none."""
    if profile is None:
        env = os.environ if environ is None else environ
        named = (env.get("SF_PROFILE") or "").strip()
        if not named and path is not None:
            named = (read_env_file(path).get("SF_PROFILE") or "").strip()
        if not named:
            return None
        profile = named
    return check_profile(profile)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a path the OS refuses (a NUL byte, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


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
    args: dict[str, str | Secret | None],
    environ: Mapping[str, str] | None,
    path: Path | None,
    names: Mapping[str, str] = ENV_NAMES,
) -> tuple[dict[str, str | Secret | None], dict[str, str]]:
    """Each setting from the argument, the environment or the ``.env`` file, and its source.

    The secret is wrapped as it is read. Nothing here raises after the environment and the
    file's values are in locals (``read_env_file`` runs first), so no traceback shows them.
    """
    from_file = read_env_file(path) if path else {}
    env = os.environ if environ is None else environ
    values: dict[str, str | Secret | None] = {}
    sources: dict[str, str] = {}
    for name, env_name in names.items():
        source = "argument"
        value: str | Secret | None = args[name]
        if isinstance(value, str):
            value = value.strip() or None
        # A profile's API version and CA bundle may be the plain ones (the module docstring).
        fallbacks = [env_name] + ([ENV_NAMES[name]] if name in SHARED else [])
        for variable in dict.fromkeys(fallbacks):
            if value is None:
                value, source = (env.get(variable) or "").strip() or None, "environment"
            if value is None:
                value, source = (from_file.get(variable) or "").strip() or None, str(path)
        if name == "domain" and isinstance(value, str):
            value = mask_userinfo(value)
        if name == "consumer_secret" and isinstance(value, str):
            value = Secret(value)
        values[name] = value
        if value:
            sources[name] = source
    return values, sources


def _missing_message(env_name: str, path: Path | None, profile: str | None = None) -> str:
    where = (
        f"The .env file read was {path}."
        if path
        else "No .env file was found in the working directory or any folder above it."
    )
    # SF_UAT_CONSUMER_KEY -> SF_CONSUMER_KEY (a profile's name may hold "_" itself).
    plain = next(v for v in ENV_NAMES.values() if env_name.endswith(v.removeprefix("SF")))
    what = {
        "SF_DOMAIN": "your org's My Domain host, e.g. " + _EXAMPLE,
        "SF_CONSUMER_KEY": "the connected app's Consumer Key (Setup > App Manager > View)",
        "SF_CONSUMER_SECRET": "the connected app's Consumer Secret (shown next to the key)",
    }[plain]
    if profile:
        what = what.replace("SF_DOMAIN=", f"{env_name}=")
        where += (
            f" The profile {profile!r} reads only SF_{profile.upper()}_* variables for the "
            "domain and credentials."
        )
    return (
        f"{env_name} is not set. Set it to {what}, as a keyword argument, an environment "
        f"variable or a line in .env. {where}"
    )


def _check_credential(value: str | Secret, env_name: str) -> None:
    spaces, control = _flaws(value)  # no local here holds the clear value
    if spaces:
        raise InvalidSettingError(
            f"{env_name} contains whitespace. Copy the value again from the connected app "
            "(in .env, write KEY=value without spaces around the value, quotes optional)."
        )
    if control:
        raise InvalidSettingError(
            f"{env_name} contains a control character (a NUL byte, an escape ...). Copy the "
            "value again from the connected app."
        )


def _flaws(value: str | Secret) -> tuple[bool, bool]:
    """Whether a credential holds whitespace, and whether it holds control characters."""
    text = value.reveal() if isinstance(value, Secret) else value
    return any(ch.isspace() for ch in text), not text.isprintable()


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
    if not _is_file(path):
        raise InvalidSettingError(
            f"SF_CA_BUNDLE points to {value}, which does not exist. Point it at a PEM file of "
            "CA certificates, or unset it to use the system's trusted CAs."
        )
    return str(path)


def normalize_domain(value: str) -> str:
    """Validate a My Domain host or URL and return its base URL (``https://host[:port]``).

    Accepts ``acme.my.salesforce.com``, ``https://acme--uat.sandbox.my.salesforce.com``,
    custom domains, IP addresses, one trailing dot (``acme.my.salesforce.com.``, dropped), and
    ``http://`` for localhost only. Refuses (with :class:`InvalidSettingError`, naming
    ``SF_DOMAIN`` and never repeating a user name or password) anything else a URL can carry:
    user info (``x.my.salesforce.com@evil.com`` is a request to evil.com), a path, query or
    fragment, spaces and control characters, non-ASCII (homograph) hosts, port 0, a last label
    of digits only that is not an IP address.
    """
    raw = value.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} contains spaces or control characters. Give the My Domain host "
            f"only, e.g. {_EXAMPLE}."
        )
    url = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise InvalidSettingError(
            f"SF_DOMAIN {_shown(raw)!r} is not a host name (or its port is not a number from 1 "
            f"to 65535). Give the My Domain host, e.g. {_EXAMPLE}."
        ) from exc
    if "@" in parts.netloc:
        raise InvalidSettingError(
            f"SF_DOMAIN holds a user name or password before '@', which would send the request "
            f"to {host or 'another host'!r}. Give the My Domain host only, e.g. {_EXAMPLE}."
        )
    if parts.scheme not in ("https", "http"):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} has the scheme {parts.scheme!r}; use https:// or no scheme."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise InvalidSettingError(
            f"SF_DOMAIN has a path, query or fragment after the host ({parts.scheme}://"
            f"{parts.netloc}); give the host only, e.g. {_EXAMPLE}."
        )
    host = _check_host(raw, host, port)
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        raise InsecureDomainError(
            f"SF_DOMAIN {raw!r} uses http://. Refused: the consumer secret would travel in "
            "clear text. Use https:// (plain http is only allowed for localhost)."
        )
    _check_my_domain(host)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def _shown(raw: str) -> str:
    """``raw`` as an error message may show it: nothing before an ``@`` (a password)."""
    return "..." + raw.rsplit("@", 1)[1] if "@" in raw else raw


def _check_host(raw: str, host: str, port: int | None) -> str:
    """The host in lower case without a trailing dot, or InvalidSettingError."""
    if not host.isascii():
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} has non-ASCII characters in its host (a look-alike letter?). "
            "Type the My Domain host again; a real internationalised host is given in its "
            "xn-- form."
        )
    host = host.lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]  # the fully qualified form of the same name
    if not host or not _valid_host(host):
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} is not a valid host name. Give the My Domain host, e.g. {_EXAMPLE}."
        )
    if port == 0:
        raise InvalidSettingError(
            f"SF_DOMAIN {raw!r} has port 0. Leave the port out (https uses 443)."
        )
    return host


def _check_my_domain(host: str) -> None:
    """Hosts that are Salesforce's but not an org's API host: say which one to use."""
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


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    # A last label of digits only is no DNS name (RFC 3696 2): 2130706433 or 1.2.3 would be
    # read as an IP address by some resolvers and as a name by others.
    return all(_HOST_LABEL.match(label) for label in labels) and not labels[-1].isdigit()
