"""OncePerKey: a key is fetched once while callers wait; a failure is shared with the waiters
only. Threads are coordinated with events (no sleeps, no timing)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sfnotebook._once import OncePerKey
from sfnotebook.errors import ServerUnavailableError


def _waiters(cache: OncePerKey[Any], key: str, n: int) -> tuple[list[Any], list[threading.Thread]]:
    results: list[Any] = []

    def call() -> None:
        try:
            results.append(cache.get(key, lambda: pytest.fail("a waiter fetched")))
        except ServerUnavailableError as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(n)]
    return results, threads


def _hold(cache: OncePerKey[Any], key: str, answer: Any) -> tuple[threading.Event, Any]:
    """A first caller whose fetch blocks until released; returns (release, its thread)."""
    started, release = threading.Event(), threading.Event()
    out: list[Any] = []

    def fetch() -> Any:
        started.set()
        release.wait()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def call() -> None:
        try:
            out.append(cache.get(key, fetch))
        except ServerUnavailableError as exc:
            out.append(exc)

    first = threading.Thread(target=call)
    first.start()
    started.wait()
    return release, (first, out)


class _Arrivals:
    """The flight's lock, counting the callers that reached it (they read its count first)."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.arrived = threading.Semaphore(0)

    def __enter__(self) -> None:
        self.arrived.release()
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _wait_for_waiters(cache: OncePerKey[Any], key: str, threads: list[threading.Thread]) -> None:
    """Start the waiters and return once each of them waits on the flight in progress."""
    flight = cache._flights[key]
    arrivals = _Arrivals(flight.lock)
    flight.lock = arrivals  # type: ignore[assignment]
    for t in threads:
        t.start()
    for _ in threads:
        assert arrivals.arrived.acquire(timeout=30)


def test_one_fetch_for_every_caller_and_the_same_answer() -> None:
    cache: OncePerKey[dict[str, int]] = OncePerKey()
    answer = {"n": 1}
    release, (first, out) = _hold(cache, "account", answer)
    results, threads = _waiters(cache, "account", 6)
    _wait_for_waiters(cache, "account", threads)
    release.set()
    for t in [first, *threads]:
        t.join()
    assert out == [answer] and all(r is answer for r in results) and len(results) == 6
    assert cache.get("account", lambda: pytest.fail("cached")) is answer


def test_a_failure_is_shared_with_the_waiters_and_a_later_caller_tries_again() -> None:
    cache: OncePerKey[str] = OncePerKey()
    failure = ServerUnavailableError("503 after the retries", status=503)
    release, (first, out) = _hold(cache, "account", failure)
    results, threads = _waiters(cache, "account", 4)
    _wait_for_waiters(cache, "account", threads)
    release.set()
    for t in [first, *threads]:
        t.join()
    assert out == [failure]
    assert len(results) == 4
    assert all(isinstance(r, ServerUnavailableError) and r is not failure for r in results)
    assert {(str(r), r.status) for r in results} == {("503 after the retries", 503)}
    assert cache.get("account", lambda: "fetched again") == "fetched again"


def test_a_forgotten_answer_is_fetched_again_and_others_are_kept() -> None:
    cache: OncePerKey[int] = OncePerKey()
    fetched: list[str] = []

    def fetch(key: str, value: int) -> int:
        fetched.append(key)
        return value

    assert cache.get("a", lambda: fetch("a", 1)) == 1
    assert cache.get("b", lambda: fetch("b", 2)) == 2
    cache.forget("a")
    cache.forget("never asked")  # nothing to drop: no error
    assert cache.get("a", lambda: fetch("a", 3)) == 3
    assert cache.get("b", lambda: fetch("b", 4)) == 2
    assert fetched == ["a", "b", "a"]


def test_peek_never_fetches() -> None:
    once: OncePerKey[int] = OncePerKey()
    assert once.peek("a") is None
    assert once.get("a", lambda: 1) == 1
    assert once.peek("a") == 1
    once.forget("a")
    assert once.peek("a") is None
