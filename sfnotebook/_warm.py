"""The first frame sooner: what converting a query needs, imported while ``connect()`` waits.

Converting SOQL pages needs :mod:`sfnotebook.soql._frames`: pyarrow, and pandas through
:mod:`sfnotebook._output` and :mod:`sfnotebook.export`, about 0.4 s of imports in a fresh
process, the largest part of the time to first frame on a near network (issue 13). Done
before the first request, it would delay every request after it ("Send the first request
before importing pandas"); done after the first query's pages arrive, it waits for the
network first. So :meth:`sfnotebook.Connection.open` calls :func:`start` with its session's
``sending`` event (:class:`sfnotebook._session.ApiSession`): a daemon thread waits until the
token exchange (or the versions) has gone out, then imports :data:`MODULES` while the log-in,
and then the first query's page 1 and describes, are on the network.

The trade-off: every process that connects imports pandas and pyarrow, once, on that thread
(about 0.3 s of CPU, overlapping network waits), also one that never queries, or wants its
results in polars; the first query then converts at once.

Thread safety: Python's import locks let two threads import the same module (the second waits
until the first has finished it); a thread is given a partly initialised module only when two
imports each wait for what the other holds, which needs an import cycle, and the package has
none (``tests/test_architecture.py``). Still, whoever converts calls :func:`finish` first, so
nothing uses a module this thread is halfway through. A failed import is not raised here:
:func:`finish` only waits, and the caller's own import then raises the real ``ImportError``,
on the caller's thread, with its traceback. :data:`MODULES` names modules as strings, not
import statements: this module depends on none of them (the query path calls :func:`finish`,
so importing ``sfnotebook.soql`` here would make a cycle).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence

__all__ = ["MODULES", "THREAD_NAME", "Warmup", "finish", "start"]

log = logging.getLogger("sfnotebook")

#: Imported in this order: the SOQL wing first (the first ``org.query`` looks it up), then the
#: converters (pyarrow, pandas), then what pyarrow imports on its first conversion to pandas
#: (its pandas shim and the version parser that shim uses; about 5 ms of the first frame).
MODULES = (
    "sfnotebook.soql",
    "sfnotebook.soql._frames",
    "pandas",
    "pyarrow.pandas_compat",
    "pyarrow.vendored.version",
)
THREAD_NAME = "sfnotebook-warm"


class Warmup:
    """Import ``modules`` once, on a daemon thread, after an event (:meth:`start`)."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self.failed: str | None = None  # the module whose import failed (the caller's to redo)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._after: threading.Event | None = None  # what the thread waits for
        self._skip = False  # finish() came while the thread still waited: it imports nothing

    @property
    def started(self) -> bool:
        """Has :meth:`start` been called (by any connection of this process)?"""
        return self._thread is not None

    def start(self, after: threading.Event) -> bool:
        """Import once ``after`` is set, on a daemon thread; only the first call starts it.

        Returns whether this call started it.
        """
        with self._lock:
            if self._thread is not None:
                return False
            self._after = after
            self._thread = threading.Thread(
                target=self._run, args=(after,), name=THREAD_NAME, daemon=True
            )
            self._thread.start()
            return True

    def _run(self, after: threading.Event) -> None:
        after.wait()
        with self._lock:
            if self._skip:
                return
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # the caller's own import raises it (finish)
                self.failed = name
                log.debug("warm-up: importing %s failed (%s); left to the caller", name, exc)
                return

    def finish(self) -> None:
        """Wait until the imports are done (or failed); raises nothing.

        When the thread still waits (its event is not set: nothing was sent), it is told to
        import nothing and this returns at once: the caller imports what it needs itself.
        """
        with self._lock:
            thread = self._thread
            if thread is None or self._skip:
                return
            if self._after is not None and not self._after.is_set():
                self._skip = True
                return
        if thread is not threading.current_thread():
            thread.join()


_WARMUP = Warmup(MODULES)


def start(after: threading.Event) -> bool:
    """Import :data:`MODULES` on a daemon thread once ``after`` is set, once per process."""
    return _WARMUP.start(after)


def finish() -> None:
    """Wait for :func:`start`'s imports before converting (a no-op when none began)."""
    _WARMUP.finish()
