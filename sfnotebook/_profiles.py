"""Profiles: the names of a profile's variables, and the domain's password kept out of frames.

``profile="uat"`` reads ``SF_UAT_DOMAIN``, ``SF_UAT_CONSUMER_KEY``, ``SF_UAT_CONSUMER_SECRET``,
``SF_UAT_API_VERSION`` and ``SF_UAT_CA_BUNDLE``: the prefix ``SF_<PROFILE>_`` before each
setting's name. :mod:`sfnotebook.settings` resolves them (the order and the fall-backs are in
its docstring); this module only names them. No I/O here.
"""

from __future__ import annotations

import re

from sfnotebook.errors import InvalidSettingError

__all__ = [
    "ENV_NAMES",
    "SHARED",
    "check_profile",
    "env_names",
    "is_checked_variable",
    "mask_userinfo",
]

ENV_NAMES = {
    "domain": "SF_DOMAIN",
    "consumer_key": "SF_CONSUMER_KEY",
    "consumer_secret": "SF_CONSUMER_SECRET",
    "api_version": "SF_API_VERSION",
    "ca_bundle": "SF_CA_BUNDLE",
}

_PROFILE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Settings a profile may take from the plain SF_* variables (never the domain or credentials).
SHARED = ("api_version", "ca_bundle")
# Any variable a profile can set (SF_UAT_DOMAIN ...): checked in .env files like SF_DOMAIN.
_PROFILE_VARIABLE = re.compile(
    r"^SF_[A-Z][A-Z0-9_]*_(?:DOMAIN|CONSUMER_KEY|CONSUMER_SECRET|API_VERSION|CA_BUNDLE)$"
)


def env_names(profile: str | None) -> dict[str, str]:
    """Each setting's variable for ``profile`` (``SF_UAT_DOMAIN`` ...); plain without one."""
    if profile is None:
        return dict(ENV_NAMES)
    prefix = f"SF_{profile.upper()}_"
    return {name: prefix + env.removeprefix("SF_") for name, env in ENV_NAMES.items()}


def check_profile(profile: str) -> str | None:
    """The profile's name in lower case (``None`` for ``"default"``), or InvalidSettingError."""
    name = profile.strip()
    if not _PROFILE.match(name):
        raise InvalidSettingError(
            f"The profile name {name!r} cannot make variable names: use letters, digits and _, "
            "starting with a letter (profile='uat' reads SF_UAT_DOMAIN, SF_UAT_CONSUMER_KEY, "
            "SF_UAT_CONSUMER_SECRET)."
        )
    return None if name.lower() == "default" else name.lower()


def mask_userinfo(value: str | None) -> str | None:
    """``value`` with any ``user:password@`` before the host replaced by ``***@``.

    A domain pasted with credentials in it (``https://bob:pw@acme.my.salesforce.com``) is
    refused by :func:`normalize_domain`; masking it first, where it is read, keeps the password
    out of every local a traceback with locals (``%xmode Verbose``) would print. Never raises.
    """
    if not isinstance(value, str) or "@" not in value:
        return value
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" not in authority:
        return value
    masked = "***@" + authority.rsplit("@", 1)[1] + rest[end:]
    return f"{scheme}://{masked}" if sep else masked


def is_checked_variable(name: str) -> bool:
    """A variable whose misreading would mislead: a setting's, a profile's, ``SF_PROFILE``."""
    return name in ENV_NAMES.values() or name == "SF_PROFILE" or bool(_PROFILE_VARIABLE.match(name))
