"""A result page's bytes in their own anonymous memory map: :class:`PageBytes`. Pure: no I/O.

Why a map and not a ``bytearray``: a page is tens of MB, downloaded, parsed and dropped page
after page, on several threads. Held in a growing ``bytearray`` it lives in glibc's heap (past
the first page, glibc's mmap threshold has grown to the page's size), and freed pages there
fragment the heap: resident memory grew with the row count although the live data did not
(../shared/perf/measurements-2026-12.md section 5). A map of its own is given back to the
system whole the moment it is closed (``munmap``), whatever the heap looks like, and changes no
setting of the process (unlike ``mallopt``). Pages of the map never written are never
resident, so a generous first capacity costs address space only. Maps ask for transparent huge
pages (``MADV_HUGEPAGE``, where the system has them): fewer page faults while a page is filled.

A map is written only through :meth:`PageBytes.extend`, which also counts the line breaks
(LF, CR and CRLF) piece by piece, so that :meth:`PageBytes.count` of them costs nothing once
the page is read (:func:`sfnotebook.bulk._csv.line_breaks_only_end_rows`). It is then cut to
its size (:meth:`PageBytes.finish`): ``len``, slicing, ``find`` and the buffer protocol (what
``pyarrow.py_buffer`` and ``memoryview`` take) see exactly the page. Closing it while a buffer
export is alive is refused by ``mmap``; :meth:`PageBytes.release` then leaves the unmapping
to the last export.
"""

from __future__ import annotations

import contextlib
import mmap

import numpy as np

__all__ = ["PageBytes"]

# A private map: mmap's default for fileno -1 is MAP_SHARED, whose memory object keeps its
# first size, so touching a map grown by mremap past it raises SIGBUS. (Windows maps take no
# flags; they are private to the process anyway.)
_PRIVATE: dict[str, int] = {"flags": mmap.MAP_PRIVATE} if hasattr(mmap, "MAP_PRIVATE") else {}
# Transparent huge pages where the system offers them (Linux, ``madvise`` or ``always`` in
# /sys/kernel/mm/transparent_hugepage/enabled): a page of tens of MB is then faulted in 2 MiB
# at a time instead of 4 KiB, which halved the kernel's share of filling a map here (500 MB
# written in 1 MiB pieces: 265 -> 135 ms of CPU). Resident memory rounds up by at most one
# huge page per map; freed maps go back whole as before.
_HUGE: int | None = getattr(mmap, "MADV_HUGEPAGE", None)


def _count_lf(piece: bytes) -> int:
    """``piece.count(b"\\n")``, vectorised: about 4x faster than ``bytes.count`` (0.08 against
    0.33 ms per MiB), and the GIL is released while it runs."""
    return int(np.count_nonzero(np.frombuffer(piece, np.uint8) == 0x0A))


class PageBytes(mmap.mmap):
    """A page's bytes, in an anonymous map of its own, filled piece by piece."""

    written: int  # the bytes written (mmap.size is a method: the map's length)
    _lf: int
    _cr: int
    _crlf: int
    _last: bytes

    def __new__(cls, capacity: int) -> PageBytes:
        self = super().__new__(cls, -1, max(capacity, 1), **_PRIVATE)
        self.written, self._lf, self._cr, self._crlf, self._last = 0, 0, 0, 0, b""
        if _HUGE is not None:
            with contextlib.suppress(OSError):  # advice only: a kernel may refuse it
                self.madvise(_HUGE)
        return self

    def __init__(self, capacity: int) -> None:
        pass  # everything is set in __new__ (mmap's own __init__ takes nothing)

    @classmethod
    def of(cls, data: bytes) -> PageBytes:
        """A finished map holding ``data``."""
        return cls(len(data)).extend(data).finish()

    def extend(self, piece: bytes) -> PageBytes:
        """Append ``piece``; the map that holds the bytes now (itself, grown to twice its
        size at least when full, or a bigger copy where the map cannot be resized)."""
        end = self.written + len(piece)
        if end > len(self):
            target = self._resized(max(end, 2 * len(self)))
            if target is not self:
                return target.extend(piece)
        self[self.written : end] = piece
        self.written = end
        self._lf += _count_lf(piece)
        if piece.find(b"\r") >= 0:
            self._cr += piece.count(b"\r")
            self._crlf += piece.count(b"\r\n")
        if self._last == b"\r" and piece[:1] == b"\n":
            self._crlf += 1  # a CRLF split between two pieces
        self._last = piece[-1:] or self._last
        return self

    def finish(self) -> PageBytes:
        """The map cut to the bytes written (the unwritten tail was never resident)."""
        return self._resized(self.written) if self.written and self.written != len(self) else self

    def _resized(self, capacity: int) -> PageBytes:
        try:
            self.resize(capacity)  # mremap: no copy
            return self
        except (OSError, SystemError, ValueError):
            pass  # SystemError: no mremap here (macOS); others: a Python that refuses it
        moved = PageBytes(capacity)
        moved[: self.written] = self[: self.written]
        moved.written, moved._lf, moved._cr, moved._crlf = (
            self.written,
            self._lf,
            self._cr,
            self._crlf,
        )
        moved._last = self._last
        self.release()
        return moved

    def count(self, sub: bytes) -> int:
        """Non-overlapping occurrences of ``sub`` in the bytes written, as ``bytes.count``."""
        if sub == b"\n":
            return self._lf
        if sub == b"\r":
            return self._cr
        if sub == b"\r\n":
            return self._crlf
        if not sub:
            return self.written + 1
        found, at = 0, self.find(sub, 0, self.written)
        while at >= 0:
            found += 1
            at = self.find(sub, at + len(sub), self.written)
        return found

    def release(self) -> None:
        """Give the map back to the system now (or, while a view of it is alive, when the last
        view goes)."""
        # While an export holds it, mmap refuses to close; it unmaps when the export goes.
        with contextlib.suppress(BufferError):
            self.close()

    def __repr__(self) -> str:
        # Only the size: a traceback printed with its locals shows neither the page nor a
        # token it might echo (as sfnotebook._answers.Body does).
        return "<closed page bytes>" if self.closed else f"<{self.written:,} bytes of an answer>"
