"""The cyclic garbage collector paused while results are built: :func:`paused`.

Building a frame allocates container objects by the hundred thousand (a tuple per record and
parent, a struct per report cell, the lists that hold them), none of them in a reference cycle.
Each collection those allocations trigger walks them, and the rest of the heap (pandas and
pyarrow alone leave about half a million tracked objects), for nothing. Reference counting still
frees everything as usual while the collector is paused; only cycles made meanwhile (by any
thread of the process) wait until the pause ends.

The pause is process-wide, and results are built on several threads at once (paging windows,
Bulk pages, a query beside a report), so pauses are counted: the first one disables the
collector if it was enabled, the last one to end enables it again. A collector the process had
disabled itself stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_lock = threading.Lock()
_holders = 0
_restore = False  # whether the last pause to end enables the collector again


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off for the ``with`` block (counted across threads)."""
    global _holders, _restore
    with _lock:
        if _holders == 0:
            _restore = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _restore:
                gc.enable()
