"""When to check an asynchronous job's status: the schedule of Bulk API 2.0 job polls.

The promise: a job that finishes at age ``t`` (seconds since the wait began) is noticed by a
status check sent no later than ``t + max(0.2, 0.1 * t)``, with as few checks as that allows.
A job can finish just after a check at ``p``, so the gap after that check may be at most
``max(0.2, 0.1 * p)``, and no smaller gap is needed: checks every 0.2 s for the first 2 s,
then 10% further apart each time (46 checks for a 60 s job; gaps stop growing at
:data:`MAX_GAP`, so a long job is still seen within 30 s of its end).

``first`` (the ``poll_interval=`` of ``extract`` and the ingest calls) is the wait before the
first check, and the smallest gap after it. The bound holds when ``first <= 0.2`` (the
default); a larger value is the caller's choice of fewer checks. A ``first`` below
:data:`MIN_GAP` still spaces later checks :data:`MIN_GAP` apart, so ``poll_interval=0`` never
turns into a busy loop against the org.

The times are those the client sends the checks at; the round trip of the check itself adds
to when the answer arrives and is not the schedule's to hide.
"""

from __future__ import annotations

__all__ = ["FIRST_POLL", "MAX_GAP", "MIN_GAP", "first_poll", "next_poll"]

FIRST_POLL = 0.2  # the default first wait: the bound's floor (see the module docstring)
MIN_GAP = 0.05  # the smallest gap between two checks, whatever ``first`` says
MAX_GAP = 30.0  # the largest gap between two checks
_SHARE = 0.1  # a finished job is noticed within this share of its age


def first_poll(first: float) -> float:
    """The age at which the first status check is sent."""
    return max(first, 0.0)


def next_poll(last: float, first: float) -> float:
    """The age of the check after one sent at age ``last``, for a first wait ``first``."""
    return last + min(max(first, MIN_GAP, _SHARE * last), MAX_GAP)
