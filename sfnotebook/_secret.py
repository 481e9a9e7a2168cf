"""One object that holds a secret value (the consumer secret, an access token) and shows nothing.

Tracebacks with locals (``pytest -l``, ``traceback.TracebackException(capture_locals=True)``,
Sentry-style reporters, IPython's ``%xmode Verbose``) print the ``repr`` of every local of every
frame. A :class:`Secret` in a local prints ``Secret('***')``; the clear value is produced only
by :meth:`Secret.reveal`, inside the call that sends it (a ``requests`` auth hook), so no frame
of sfnotebook holds it as a local while anything that can raise runs.

Pickling refuses (``TypeError``) rather than dropping the value: pickled bytes go to files,
caches and other processes (``multiprocessing``, joblib, ``dill.dump_session``), exactly where a
secret must not go; and an object unpickled without its secret would fail much later with a
misleading "wrong consumer secret". Copying returns the same object (it is immutable).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any, NoReturn

__all__ = ["Secret", "redact", "reveal"]

_MASK = "***"
# Anything shaped like a Salesforce session id: the org id, "!", then the opaque part.
_SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._=+/-]{8,}")
# Values of the token-ish keys in a JSON or form body, whatever they hold.
_TOKENISH = re.compile(
    r"""(?P<key>["']?(?:access_token|refresh_token|client_secret|signature|token)["']?\s*[:=]\s*["']?)"""
    r"""(?P<value>[^"'&,}\s]+)""",
    re.IGNORECASE,
)


class Secret:
    """A secret string that never shows itself.

    ``repr``, ``str`` and ``format`` give ``***``; pickling raises ``TypeError``; equality is
    constant-time. The value comes out only through :meth:`reveal`.

    Examples
    --------
    >>> s = Secret("hunter2")
    >>> s, str(s), f"{s}"
    (Secret('***'), '***', '***')
    >>> s.reveal()
    'hunter2'
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The clear value: call it only where it is sent, never into a long-lived local."""
        return self._value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return format(_MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._value.encode()).digest())

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            "sfnotebook does not pickle secrets (consumer secret, access token): pickled bytes "
            "end up in files and other processes. Pickle the data, not the connection or its "
            "settings; in another process, call sfnotebook.connect() again."
        )

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def reveal(value: str | Secret | None) -> str | None:
    """``value`` in clear (for code that must hand a plain string to another library)."""
    return value.reveal() if isinstance(value, Secret) else value


def redact(text: str, secrets: Iterable[Secret | None] = ()) -> str:
    """``text`` with the given secrets, anything shaped like a session id, and the values of
    token-ish keys (``access_token``, ``client_secret``, ``signature``, ``token``) masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret.reveal(), _MASK)
    text = _SESSION_ID.sub(_MASK, text)
    return _TOKENISH.sub(lambda m: m.group("key") + _MASK, text)
