"""pandas and pyarrow imported while ``connect()`` waits on the network (issue 13, item 2).

``import sfnotebook`` stays light, and the first request still goes out before either library
is imported; but importing them takes about 0.25 s, and a notebook's next step after
``connect()`` is nearly always a query that needs them. So once the login's first request is
on its way, a daemon thread imports them while the token exchange and the versions request
are in flight (the sockets release the GIL), and the first query no longer waits for them.

A missing or broken library is not this thread's to report: the verb that needs it raises its
own clear error. The thread is joined at exit (bounded), so an interpreter shutting down never
meets a half-finished import.
"""

from __future__ import annotations

import atexit
import importlib
import sys
import threading

__all__ = ["warm_imports"]

_MODULES = ("pyarrow", "pandas")
_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_imports(first_sent: threading.Event) -> None:
    """Import pandas and pyarrow on a daemon thread once ``first_sent`` is set (once a process)."""
    global _thread
    if all(name in sys.modules for name in _MODULES):
        return
    with _lock:
        if _thread is not None:
            return
        _thread = threading.Thread(
            target=_run, args=(first_sent,), name="sfnotebook-imports", daemon=True
        )
        _thread.start()
        atexit.register(_thread.join, 10.0)


def _run(first_sent: threading.Event) -> None:
    first_sent.wait(timeout=30.0)
    for name in _MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the verb that needs it reports it, with advice
            return
