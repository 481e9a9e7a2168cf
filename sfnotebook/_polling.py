"""When to check an asynchronous job's status: the schedule of Bulk API 2.0 job polls.

The promise: a job that finishes at age ``t`` (seconds since the wait began) is noticed by a
status check sent no later than ``t + max(0.2, 0.1 * t)``, with as few checks as that allows.
The first check is sent at once, with no fixed first wait: a job read with ``job_results``
may have finished long ago, and a short job is seen as soon as it is done. A job can finish
just after a check at ``p``, so the gap after that check may be at most ``max(0.2, 0.1 *
p)``, and no smaller gap is needed: checks every 0.2 s for the first 2 s, then 10% further
apart each time (47 checks for a 60 s job; gaps stop growing at :data:`MAX_GAP`, so a long job
is still seen within 30 s of its end).

``interval`` (the ``poll_interval=`` of ``extract`` and the ingest calls) is the smallest gap
between two checks. The bound holds when ``interval <= 0.2`` (the default); a larger value is
the caller's choice of fewer checks. An ``interval`` below :data:`MIN_GAP` still spaces checks
:data:`MIN_GAP` apart, so ``poll_interval=0`` never turns into a busy loop against the org.

The times are those the client sends the checks at; the round trip of the check itself adds
to when the answer arrives and is not the schedule's to hide. :func:`poll_until` is the one
loop that follows the schedule (Bulk query jobs, ingest jobs, Dask partitions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["MAX_GAP", "MIN_GAP", "POLL_INTERVAL", "next_poll", "next_wait", "poll_until"]

T = TypeVar("T")

POLL_INTERVAL = 0.2  # the default smallest gap: the bound's floor (see the module docstring)
MIN_GAP = 0.05  # the smallest gap between two checks, whatever ``interval`` says
MAX_GAP = 30.0  # the largest gap between two checks
_SHARE = 0.1  # a finished job is noticed within this share of its age


def next_wait(age: float, interval: float = POLL_INTERVAL) -> float:
    """The gap after a check sent at ``age``: ``max(interval, 10% of age)``, within
    [:data:`MIN_GAP`, :data:`MAX_GAP`]."""
    return min(max(interval, MIN_GAP, _SHARE * age), MAX_GAP)


def next_poll(last: float, interval: float = POLL_INTERVAL) -> float:
    """The age of the check after one sent at age ``last``."""
    return last + next_wait(last, interval)


def poll_until(check: Callable[[], T], done: Callable[[T], bool], *, interval: float) -> T:
    """Call ``check()`` on the schedule (the first time at once) until ``done(answer)``.

    The time a check takes counts towards the gap before the next one. ``check`` raises to
    stop early (a failed job); a KeyboardInterrupt ends the sleep between checks.
    """
    started = time.monotonic()
    due = 0.0
    while True:
        time.sleep(max(due - (time.monotonic() - started), 0.0))
        sent = time.monotonic() - started
        answer = check()
        if done(answer):
            return answer
        due = next_poll(sent, interval)
