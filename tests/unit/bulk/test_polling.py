"""The Bulk job poll schedule, on a simulated clock: the first check is sent at once, and a
finished job is noticed within max(0.2 s, 10% of its age), with no more status checks than
that bound needs."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from sfnotebook import _polling, bulk
from sfnotebook._polling import MAX_GAP, MIN_GAP, POLL_INTERVAL, next_poll, next_wait
from sfnotebook.errors import BulkJobError


def _checks(finish: float, interval: float = POLL_INTERVAL) -> list[float]:
    """The ages the checks are sent at, up to the first that sees a job done at ``finish``."""
    times = [0.0]  # no fixed first wait
    while times[-1] < finish:
        times.append(next_poll(times[-1], interval))
    return times


def _worst_cases() -> list[float]:
    """Durations 0.1 s to 1 h: a geometric sweep, plus a job ending just after each check."""
    sweep = [0.1 * 1.07**k for k in range(200) if 0.1 * 1.07**k <= 3600.0]
    after_checks = [t + 1e-9 for t in _checks(3600.0) if t >= 0.1]
    return [*sweep, *after_checks, 3600.0]


def _bound(finish: float) -> float:
    return max(0.2, 0.1 * finish) + 1e-9


def test_a_finished_job_is_noticed_within_the_bound() -> None:
    late = {
        f: _checks(f)[-1] - f for f in _worst_cases() if not 0 <= _checks(f)[-1] - f <= _bound(f)
    }
    assert late == {}


def test_no_gap_is_shorter_than_the_bound_needs() -> None:
    """Each gap is exactly the bound at the check it follows (capped at MAX_GAP): any
    shorter gap would be a check the promise does not need."""
    times = _checks(3600.0)
    for last, following in pairwise(times):
        assert following - last == pytest.approx(min(max(0.2, 0.1 * last), MAX_GAP))


@pytest.mark.parametrize(
    ("finish", "checks"), [(0.0, 1), (0.1, 2), (1.9, 11), (10.0, 28), (60.0, 47), (3600.0, 174)]
)
def test_status_checks_per_job_length(finish: float, checks: int) -> None:
    # The check at age 0, then: fewer is impossible, as a job may end just after any check,
    # so each gap is at most max(0.2, 0.1 * age), i.e. 10 checks to 2 s and then
    # ln(30) / ln(1.1) = 36 to 60 s.
    assert len(_checks(finish)) == checks


@pytest.mark.parametrize(
    ("age", "wait"),
    [
        (0.0, 0.2),  # the first check is at once; the floor of the bound after it
        (0.2, 0.2),
        (1.9, 0.2),
        (2.0, 0.2),
        (3.0, 0.3),  # a tenth of the age once that is longer
        (10.0, 1.0),
        (60.0, 6.0),
        (300.0, MAX_GAP),
        (36_000.0, MAX_GAP),  # gaps stop growing at the cap
    ],
)
def test_the_next_wait_for_an_age(age: float, wait: float) -> None:
    assert next_wait(age) == pytest.approx(wait)
    assert next_poll(age) == pytest.approx(age + wait)


def test_poll_interval_is_the_smallest_gap() -> None:
    assert next_wait(0.0, 0.5) == 0.5
    assert next_poll(0.5, 0.5) == 1.0
    assert next_poll(10.0, 0.5) == 11.0  # a tenth of the age once that is longer
    assert next_wait(0.0, -1.0) == MIN_GAP


def test_a_zero_poll_interval_is_no_busy_loop() -> None:
    assert next_poll(0.0, 0.0) == MIN_GAP
    assert (
        len(_checks(1.0, interval=0.0)) == 19
    )  # 0.05 s apart to 0.5 s, then 10% further: not thousands


class _Clock:
    """``time.monotonic`` / ``time.sleep`` for the bulk module: sleeping advances the clock,
    and each status check takes ``rtt`` seconds."""

    def __init__(self, finish: float, rtt: float) -> None:
        self.now, self.finish, self.rtt = 0.0, finish, rtt
        self.sent: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0.0
        self.now += seconds

    def poll(self, _conn: Any, _job_id: str) -> dict[str, Any]:
        self.sent.append(self.now)
        self.now += self.rtt
        return {"state": "JobComplete" if self.now >= self.finish else "InProgress"}


class _Bar:
    def state(self, state: str, processed: int | None) -> None:
        pass


@pytest.mark.parametrize("rtt", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("finish", [0.0, 0.15, 1.0, 3.5, 60.0, 900.0])
def test_wait_sends_checks_on_the_schedule(
    monkeypatch: pytest.MonkeyPatch, finish: float, rtt: float
) -> None:
    clock = _Clock(finish, rtt)
    monkeypatch.setattr(_polling.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_polling.time, "sleep", clock.sleep)
    monkeypatch.setattr(bulk, "_poll", clock.poll)
    info = bulk._wait(None, "750x", poll_interval=POLL_INTERVAL, bar=_Bar())  # type: ignore[arg-type]
    assert info == {"state": "JobComplete"}
    # The check that saw the job done was sent at most one (rtt-long) check after the bound.
    assert clock.sent[-1] <= finish + _bound(finish) + rtt
    if rtt == 0.0:
        assert clock.sent == pytest.approx(_checks(finish))


def test_wait_raises_when_the_job_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(0.0, 0.0)
    monkeypatch.setattr(_polling.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_polling.time, "sleep", clock.sleep)
    monkeypatch.setattr(bulk, "_poll", lambda _c, _j: {"state": "Failed", "errorMessage": "boom"})
    with pytest.raises(BulkJobError, match="ended Failed: boom"):
        bulk._wait(None, "750x", poll_interval=POLL_INTERVAL, bar=_Bar())  # type: ignore[arg-type]


def test_a_finished_job_is_read_with_one_check_and_no_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """job_results on a job that finished long ago: one check, sent at once."""
    clock = _Clock(0.0, 0.0)
    slept: list[float] = []
    monkeypatch.setattr(_polling.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_polling.time, "sleep", slept.append)
    monkeypatch.setattr(bulk, "_poll", clock.poll)
    bulk._wait(None, "750x", poll_interval=POLL_INTERVAL, bar=_Bar())  # type: ignore[arg-type]
    assert clock.sent == [0.0]
    assert slept == [0.0]


def test_ingest_jobs_wait_on_the_same_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfnotebook.ingest._job import Job

    clock = _Clock(3.5, 0.0)
    monkeypatch.setattr(_polling.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_polling.time, "sleep", clock.sleep)
    job = Job(None, "Account", "insert", None)  # type: ignore[arg-type]
    monkeypatch.setattr(job, "status", lambda: clock.poll(None, "750x"))
    seen: list[str] = []
    info = job.wait(POLL_INTERVAL, lambda i: seen.append(i["state"]))
    assert info == {"state": "JobComplete"}
    assert clock.sent == pytest.approx(_checks(3.5))
    assert seen[-1] == "JobComplete" and len(seen) == len(clock.sent)
