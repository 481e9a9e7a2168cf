"""Soak: concurrent queries and report runs from several threads against a faulty demo org.

Every frame is compared with a fault-free reference taken first; the run reports requests,
faults injected, retries, token re-exchanges and frames compared. ``make test`` runs a short
version (tests/live/test_soak.py); ``make bench`` runs this longer one.

Where cursors belong to the session that opened them (the ``query_cursors="session"`` dialect),
a session expiry every 40 requests of the whole org, shared by four threads, can catch one
query's pages again after each of its restarts: on a loaded machine its thread gets fewer of
those 40. The client then raises the documented ``QueryLocatorExpiredError`` after
``MAX_RESTARTS`` restarts, with no partial result; such queries are counted apart
(``given_up``), every other error fails the soak.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook.errors import QueryLocatorExpiredError
from sfnotebook.soql import MAX_RESTARTS

# Where the soak test leaves its summary line for the terminal summary (tests/conftest.py).
SOAK_KEY = pytest.StashKey[list[str]]()

FAULTS: dict[str, Any] = {
    "error_rate": 0.05,
    "drop_rate": 0.02,
    "latency": 0.002,
    "expire_every_requests": 40,
    "seed": 11,
}

WORK: list[tuple[str, str, dict[str, Any]]] = [
    (
        "query",
        "SELECT Id, Name, Amount, CloseDate, Account.Name, Account.Owner.Name FROM Opportunity "
        "WHERE CloseDate >= 2025-01-01 ORDER BY Id LIMIT 2500",
        {"batch_size": 500},
    ),
    (
        "query",
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account ORDER BY Id LIMIT 300",
        {"batch_size": 200},
    ),
    (
        "query",
        "SELECT StageName, COUNT(Id) n, SUM(Amount) total FROM Opportunity GROUP BY StageName",
        {},
    ),
    ("report", "Pipeline by Stage", {}),
    ("report", "Opportunities Closing in 2025", {}),
]


@dataclass
class SoakReport:
    seconds: float
    threads: int
    frames_compared: int = 0
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    client: dict[str, int] = field(default_factory=dict)
    server_requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    restarts: int = 0  # queries read again from page 1 after a cursor was lost with its session
    #: Queries whose cursor was lost again after every restart allowed (``MAX_RESTARTS``): the
    #: documented typed error, no partial result. Only where cursors belong to their session.
    given_up: list[str] = field(default_factory=list)
    dialect: str = ""

    def summary(self) -> str:
        injected = sum(v for k, v in self.faults.items() if k != "latency")
        where = f" ({self.dialect})" if self.dialect else ""
        return (
            f"soak{where}: {self.threads} threads, {self.seconds:.0f}s, {self.server_requests} "
            f"requests, {injected} faults injected ({_fmt(self.faults)}), "
            f"{self.client.get('retries', 0)} retries, {self.client.get('reexchanges', 0)} "
            f"re-exchanges, {self.restarts} query restarts, {len(self.given_up)} queries given "
            f"up after {MAX_RESTARTS} restarts, {self.frames_compared} frames compared, "
            f"{len(self.mismatches)} mismatches, {len(self.errors)} errors"
        )


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "latency") or "none"


def _frames(result: Any) -> list[pd.DataFrame]:
    """Everything a result holds: report details, or a query's frame and its child frames."""
    if hasattr(result, "details"):
        return [result.details]
    if hasattr(result, "children"):
        return [result.frame, *result.children.values()]
    return [result]


def _run(
    conn: sfnotebook.Connection, kind: str, target: str, options: dict[str, Any]
) -> list[pd.DataFrame]:
    if kind == "query":
        return _frames(conn.query(target, progress=False, **options))
    return _frames(conn.report(target, progress=False, **options))


def run_soak(
    demo: Any,
    *,
    seconds: float,
    threads: int = 4,
    faults: dict[str, Any] | None = None,
    connect: Callable[[], sfnotebook.Connection],
) -> SoakReport:
    """Reference frames fault-free, then ``threads`` workers for ``seconds`` with faults on."""
    conn = connect()
    reference = [_run(conn, *work) for work in WORK]
    demo.set_faults(**(faults or FAULTS))
    before = Counter(demo.stats().get("faults", {}))
    requests_before = int(demo.stats()["requests"])
    report = SoakReport(seconds=seconds, threads=threads)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        n = index
        while time.monotonic() < deadline:
            kind, target, options = WORK[n % len(WORK)]
            expected = reference[n % len(WORK)]
            n += 1
            try:
                got = _run(conn, kind, target, options)
                assert len(got) == len(expected)
                for frame, want in zip(got, expected, strict=True):
                    pd.testing.assert_frame_equal(frame, want)
                with lock:
                    report.frames_compared += 1
                    report.restarts += int(got[0].attrs.get("sfnotebook", {}).get("restarts", 0))
            except AssertionError as exc:
                with lock:
                    report.mismatches.append(f"{kind} {target[:40]}: {str(exc)[:200]}")
            except sfnotebook.SfNotebookError as exc:
                gave_up = isinstance(exc, QueryLocatorExpiredError) and exc.restarts == MAX_RESTARTS
                with lock:
                    (report.given_up if gave_up else report.errors).append(
                        f"{type(exc).__name__}: {str(exc)[:200]}"
                    )

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    demo.set_faults(error_rate=0.0, drop_rate=0.0, latency=0.0, expire_every_requests=None)
    stats = demo.stats()
    report.server_requests = int(stats["requests"]) - requests_before
    report.faults = dict(Counter(stats.get("faults", {})) - before)
    report.client = conn.stats
    cursors = stats.get("dialect", {}).get("query_cursors")
    report.dialect = f"query_cursors={cursors}" if cursors else ""
    return report


def main() -> int:
    from sfnotebook_demo import DemoOrg

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--threads", type=int, default=6)
    args = parser.parse_args()
    with DemoOrg(subprocess=True) as demo:

        def connect() -> sfnotebook.Connection:
            return sfnotebook.connect(
                **demo.connect_kwargs(),
                env_file=False,
                set_default=False,
                retries=6,
                backoff=0.05,
            )

        report = run_soak(demo, seconds=args.seconds, threads=args.threads, connect=connect)
    for line in report.mismatches[:5] + report.errors[:5]:
        print("  " + line)
    print(report.summary())
    return 0 if not report.mismatches and not report.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
