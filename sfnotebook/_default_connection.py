"""The default connection (what ``sfnotebook.query`` and ``%%soql`` use) and the open ones by name.

The rule (issue 14, item 8; ``docs/profiles.md``): the first connection of a session becomes the
default; a later ``connect()`` does not take its place silently, it prints a line saying the
default stays; ``sfnotebook.use(org)`` and ``connect(..., set_default=True)`` switch, with a line
saying so; ``set_default=False`` never does; closing the default leaves none, and the next
``connect()`` becomes it. Connections are also kept by name (their profile's, or ``"default"``),
the latest of each, for ``%%soql -c NAME`` and ``sfnotebook.use("NAME")``.

Connections are typed ``Any`` here: this module sits below :mod:`sfnotebook.connection`, which
uses it, and imports nothing of it.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from sfnotebook._secret import Secret
from sfnotebook.errors import SfNotebookError

__all__ = [
    "adopt",
    "forget",
    "get_default",
    "is_default",
    "open_connection",
    "secrets_in_play",
    "set_default_connection",
    "switch_to",
]

_default: Any = None
# Weak: a connection nobody holds any more is not kept open by the registry.
_open: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def set_default_connection(conn: Any) -> None:
    """Make ``conn`` (or ``None``) the default connection, without a notice."""
    global _default
    _default = conn


def get_default() -> Any:
    """The default connection, or an error saying how to make one."""
    if _default is None:
        raise SfNotebookError(
            "No Salesforce connection yet. Run org = sfnotebook.connect() (or use the login "
            "panel, sfnotebook.login_panel()) first."
        )
    return _default


def open_connection(name: str) -> Any:
    """The open connection named ``name`` (a profile's name, or ``"default"``), or ``None``."""
    conn = _open.get(name.lower())
    return conn if conn is not None and not conn.closed else None


def adopt(conn: Any, set_default: bool | None) -> None:
    """Keep a new connection by name and apply the default rule (the module docstring)."""
    _open[conn.name] = conn
    current = _default if _default is not None and not _default.closed else None
    if set_default or (set_default is None and current is None):
        set_default_connection(conn)
        if current is not None and current is not conn:
            _notice(f"The default connection is now {_label(conn)}; it was {_label(current)}.")
    elif set_default is None and current is not None:
        _notice(
            f"Connected to {_label(conn)}. The default connection stays {_label(current)}: "
            "sfnotebook.query and %%soql run there; sfnotebook.use(org) switches, and "
            f"%%soql -c {conn.name} runs one cell here."
        )


def switch_to(conn: Any) -> None:
    """Make ``conn`` the default, saying so when it was not already (``sfnotebook.use``)."""
    current = _default
    set_default_connection(conn)
    if current is not conn:
        before = f"; it was {_label(current)}" if current is not None and not current.closed else ""
        _notice(f"The default connection is now {_label(conn)}{before}.")


def forget(conn: Any) -> None:
    """A connection was closed: it is no longer the default (nor found by name)."""
    name = str(conn.name)
    if _default is conn:
        set_default_connection(None)
    if _open.get(name) is conn:
        del _open[name]


def is_default(conn: Any) -> bool:
    """Whether ``conn`` is the default connection."""
    return _default is conn


def secrets_in_play() -> Iterator[Secret]:
    """The consumer secrets and access tokens of the open connections and the default."""
    for conn in {id(c): c for c in (*_open.values(), _default) if c is not None}.values():
        yield conn.settings.consumer_secret
        token = getattr(conn, "_token", None)
        if token is not None:
            yield token.access_token


def _label(conn: Any) -> str:
    """``'uat' (user@x on host)``: how a notice names a connection."""
    where = urlsplit(conn.instance_url).netloc or "?"
    return f"{conn.name!r} ({conn.username} on {where})"


def _notice(text: str) -> None:
    """A one-line note the user should see (the default connection changed, or did not).

    Printed, not logged: it answers the user's own call, in the cell that made it, and a
    notebook shows no log records by default.
    """
    print(f"sfnotebook: {text}", file=sys.stdout)
