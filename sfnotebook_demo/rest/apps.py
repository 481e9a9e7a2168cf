"""Connected apps, the Run As user and the access-token store of the demo org.

Credentials are random per start (nothing real-looking is hard-coded); reprs never show a
secret, and tokens are only ever dictionary keys, never logged.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from sfnotebook_demo.ids import to_18

__all__ = [
    "APP_STATES",
    "ConnectedApp",
    "RunAsUser",
    "TokenInfo",
    "TokenStore",
    "make_apps",
    "sf_id",
]

# A connected app is either working or broken in one of the ways the error table names.
APP_STATES = ("ok", "no_run_as", "flow_disabled")


def sf_id(id15: str) -> str:
    """The 18-character, case-safe form of a 15-character Salesforce id."""
    if len(id15) != 15:
        raise ValueError("a 15-character id is required")
    return to_18(id15)


@dataclass(frozen=True)
class ConnectedApp:
    """One connected app of the demo org; the secret never shows in its repr."""

    name: str
    consumer_key: str
    consumer_secret: str = field(repr=False)
    state: str = "ok"


def make_apps(
    consumer_key: str | None = None, consumer_secret: str | None = None
) -> dict[str, ConnectedApp]:
    """The working app plus one app per broken state, with fresh random credentials."""

    def key() -> str:
        # Same alphabet and length family as a real consumer key, but obviously random.
        return "3MVG9" + secrets.token_urlsafe(60).replace("-", ".").replace("_", ".")

    def secret() -> str:
        return secrets.token_hex(32).upper()

    apps = {"ok": ConnectedApp("ok", consumer_key or key(), consumer_secret or secret(), "ok")}
    for state in APP_STATES[1:]:
        apps[state] = ConnectedApp(state, key(), secret(), state)
    return apps


@dataclass(frozen=True)
class RunAsUser:
    """The integration user the working app runs as."""

    id: str
    username: str = "integration@demo-org.example"
    first_name: str = "Integration"
    last_name: str = "User"
    email: str = "integration@demo-org.example"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class TokenInfo:
    """What the server knows about one access token (the token itself is the dict key)."""

    app: str
    user_id: str
    issued_at: float
    expires_at: float


class TokenStore:
    """Issued access tokens, thread-safe. Tokens are opaque random strings."""

    def __init__(self, org_id: str, *, lifetime: float = 7200.0) -> None:
        self.org_id = org_id
        self.lifetime = lifetime
        self._tokens: dict[str, TokenInfo] = {}
        self._serials: dict[str, int] = {}  # every token ever issued -> 1, 2, ... (the journal's)
        self._lock = threading.Lock()
        self.issued = 0
        self.revoked = 0
        self.expired = 0

    def issue(self, app: str, user_id: str) -> tuple[str, TokenInfo]:
        """A new token for ``app`` running as ``user_id``."""
        now = time.time()
        # Salesforce session ids start with the 15-character org id and "!".
        random_part = "AQ" + secrets.token_urlsafe(80).replace("-", ".").replace("_", ".")
        token = f"{self.org_id[:15]}!{random_part}"
        info = TokenInfo(app, user_id, now, now + self.lifetime)
        with self._lock:
            self._purge(now)
            self._tokens[token] = info
            self.issued += 1
            self._serials[token] = self.issued
        return token, info

    def serial(self, token: str) -> int | None:
        """The token's place in the order of issue (1 = first), live or not; None if unknown."""
        with self._lock:
            return self._serials.get(token)

    def lookup(self, token: str) -> TokenInfo | None:
        """The live token's info, or None when unknown, revoked or expired."""
        now = time.time()
        with self._lock:
            info = self._tokens.get(token)
            if info is None:
                return None
            if now >= info.expires_at:
                del self._tokens[token]
                self.expired += 1
                return None
            return info

    def revoke(self, token: str) -> bool:
        """Forget one token; False when it was not live."""
        with self._lock:
            if self._tokens.pop(token, None) is None:
                return False
            self.revoked += 1
            return True

    def expire_all(self) -> int:
        """Invalidate every live token (the demo's "session timeout now")."""
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
            self.expired += n
            return n

    def live(self) -> int:
        with self._lock:
            self._purge(time.time())
            return len(self._tokens)

    def _purge(self, now: float) -> None:
        stale = [t for t, info in self._tokens.items() if now >= info.expires_at]
        for t in stale:
            del self._tokens[t]
        self.expired += len(stale)
