"""Answers fetched once per key, whatever the number of threads asking at the same time.

A connection shared by a notebook's threads (and by each verb's own workers: a query's
describe loader, a bulk extract's page downloads) must not send the same describe eight times
because eight threads missed the cache together. :class:`OncePerKey` lets the first caller of a
key fetch it; the callers that arrive while it is in flight wait and share its answer, or its
failure (a copy of the same typed error), rather than each trying again in turn. A caller that
comes after a failure tries again. :meth:`OncePerKey.forget` drops an answer known to be stale
(the report catalogue after a name it does not list), so the next caller fetches it again.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sfnotebook.errors import SfNotebookError

__all__ = ["OncePerKey"]

T = TypeVar("T")


class _Flight:
    """One key's fetch: the callers that wait for it share its answer or its failure."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.finished = 0  # fetches finished (answered or failed)
        self.failure: SfNotebookError | None = None


class OncePerKey(Generic[T]):
    """A thread-safe cache whose misses are fetched once (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, T] = {}
        self._flights: dict[str, _Flight] = {}

    def get(self, key: str, fetch: Callable[[], T]) -> T:
        """The cached answer for ``key``, or ``fetch()``'s, fetched by one caller only."""
        with self._lock:
            if key in self._answers:
                return self._answers[key]
            flight = self._flights.setdefault(key, _Flight())
            seen = flight.finished
        with flight.lock:
            with self._lock:
                if key in self._answers:
                    return self._answers[key]
            if flight.failure is not None and flight.finished > seen:
                raise copy.copy(flight.failure)  # the fetch this caller waited for failed
            try:
                answer = fetch()
            except SfNotebookError as exc:
                flight.finished, flight.failure = flight.finished + 1, exc
                raise
            flight.finished, flight.failure = flight.finished + 1, None
            with self._lock:
                self._answers[key] = answer
            return answer

    def forget(self, key: str) -> None:
        """Drop ``key``'s answer: the next :meth:`get` fetches it again.

        A fetch in flight meanwhile still stores its answer (it was asked for after the stale
        one, so it is at least as fresh).
        """
        with self._lock:
            self._answers.pop(key, None)

    def peek(self, key: str) -> T | None:
        """``key``'s answer if one is held, else None; never fetches, never waits."""
        with self._lock:
            return self._answers.get(key)
