"""Issue 11, items 5 and 8: threads sharing one connection while the org expires every session.

Eight threads run every verb (query, query_iter, report, describe, extract, ``org.sf``) on one
:class:`~sfnotebook.Connection` while the demo org invalidates every session several times, at
random points. Every result must equal the same call made alone, no thread may see an error,
and each expiry must cost exactly one token exchange however many threads met the 401 (the
demo org counts the tokens it issues, and journals each request with the serial of the token
it carried). The lazily built state of a connection (describe cache, ``org.sf``) is checked
under the same kind of load.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sfnotebook
from sfnotebook_demo.faults import FaultConfig
from tests.conftest import connect_to

THREADS = 8
EXPIRIES = 5
ROUNDS = 2  # full passes over WORK each thread makes at least (and until the expiries end)
OPPORTUNITIES = 2_100  # "All Opportunities" then needs three report runs (2,000 rows a run)

Work = Callable[[sfnotebook.Connection, Path], Any]


def _query(conn: sfnotebook.Connection, _: Path) -> Any:
    return conn.query(
        "SELECT Id, Name, Amount, CloseDate, StageName, Account.Name FROM Opportunity "
        "ORDER BY Id LIMIT 1200",
        batch_size=200,
        progress=False,
    )


def _children(conn: sfnotebook.Connection, _: Path) -> Any:
    result = conn.query(
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account ORDER BY Id LIMIT 150",
        batch_size=200,
        progress=False,
    )
    return [result.frame, *result.children.values()]


def _query_iter(conn: sfnotebook.Connection, _: Path) -> Any:
    soql = "SELECT Id, Name, Amount FROM Opportunity ORDER BY Id LIMIT 1000"
    return list(conn.query_iter(soql, chunk_rows=300, batch_size=200, progress=False))


def _report_paged(conn: sfnotebook.Connection, _: Path) -> Any:
    res = conn.report("All Opportunities", progress=False)
    assert res.runs > 1  # the call really pages (2,000 rows a run)
    return [res.details, res.aggregates]


def _report_summary(conn: sfnotebook.Connection, _: Path) -> Any:
    res = conn.report("Opportunities Closing in 2025", progress=False)
    return [res.details, res.aggregates]


def _describe(conn: sfnotebook.Connection, _: Path) -> Any:
    return conn.describe("Opportunity")


def _extract(conn: sfnotebook.Connection, _: Path) -> Any:
    return conn.extract(
        "SELECT Id, Name, Amount, StageName FROM Opportunity",
        max_records=500,
        poll_interval=0.01,
        progress=False,
    )


def _extract_folder(conn: sfnotebook.Connection, tmp: Path) -> Any:
    folder = tmp / f"opps-{threading.get_ident()}-{time.monotonic_ns()}"
    conn.extract(
        "SELECT Id, Name, Amount FROM Opportunity",
        to=folder,
        max_records=700,
        concurrency=2,
        poll_interval=0.01,
        progress=False,
    )
    return pq.read_table(folder).to_pandas()


def _simple_salesforce(conn: sfnotebook.Connection, _: Path) -> Any:
    headers = {"Sforce-Query-Options": "batchSize=200"}
    result = conn.sf.query_all(
        "SELECT Id, Name FROM Account ORDER BY Id LIMIT 700", headers=headers
    )
    return [(r["Id"], r["Name"]) for r in result["records"]]


WORK: dict[str, Work] = {
    "query": _query,
    "query children": _children,
    "query_iter": _query_iter,
    "report (paged)": _report_paged,
    "report": _report_summary,
    "describe": _describe,
    "extract": _extract,
    "extract to a folder": _extract_folder,
    "org.sf": _simple_salesforce,
}


def _same(got: Any, want: Any) -> None:
    """Exactly equal: frames by value and dtype, lists item by item, anything else by ==."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, list) and want and isinstance(want[0], pd.DataFrame):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(g, w)
    else:
        assert got == want


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SFNOTEBOOK_DEMO_BULK_DELAY", "0.02")
        with DemoOrg(opportunities=OPPORTUNITIES) as org:
            yield org


@pytest.fixture(scope="module")
def reference(demo: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each call made alone, on its own connection, with no fault."""
    conn = connect_to(demo)
    tmp = tmp_path_factory.mktemp("reference")
    return {name: work(conn, tmp) for name, work in WORK.items()}


@pytest.fixture(autouse=True)
def _clear_faults(demo: Any) -> Iterator[None]:
    demo.set_faults(**FaultConfig.defaults())
    yield
    demo.set_faults(**FaultConfig.defaults())


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("cursors", ["session", "user"])
def test_threads_share_one_connection_while_sessions_expire(
    demo: Any,
    reference: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    cursors: str,
) -> None:
    """Under both cursor dialects (``query_cursors``): where a cursor belongs to its session,
    sfnotebook's own queries restart and still come back identical; simple-salesforce's
    ``query_all`` (``org.sf``) cannot restart a query, ``query_iter`` cannot once it has
    yielded a chunk, and a query restarted twice in this storm of expiries gives up: there
    their typed refusals are the errors allowed; a short or mixed result never is."""
    caplog.set_level(logging.WARNING, logger="urllib3")
    demo.set_dialect(query_cursors=cursors)
    conn = connect_to(demo, retries=4)
    issued_before = demo.stats()["tokens_issued"]
    journal_start = len(demo.journal())
    errors: list[str] = []
    mismatches: list[str] = []
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    expiring = threading.Event()
    expiring.set()
    rng = random.Random(os.getpid())  # random points; the assertions hold for any of them

    def worker(index: int) -> None:
        names = list(WORK)
        rounds = 0
        while rounds < ROUNDS or expiring.is_set():
            for offset in range(len(names)):
                name = names[(index + offset) % len(names)]
                try:
                    got = WORK[name](conn, tmp_path)
                    _same(got, reference[name])
                except AssertionError as exc:
                    with lock:
                        mismatches.append(f"{name}: {str(exc)[:300]}")
                except Exception as exc:
                    with lock:
                        errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
                with lock:
                    calls[name] += 1
            rounds += 1

    pool = [threading.Thread(target=worker, args=(i,), name=f"t{i}") for i in range(THREADS)]
    for t in pool:
        t.start()
    noticed = 0
    try:
        for _ in range(EXPIRIES):
            time.sleep(rng.uniform(0.05, 0.4))
            issued = demo.stats()["tokens_issued"]
            demo.expire_sessions()
            # Some thread meets the 401 and renews: wait for that before the next expiry.
            if _wait_for(lambda issued=issued: demo.stats()["tokens_issued"] > issued):
                noticed += 1
    finally:
        expiring.clear()
        for t in pool:
            t.join(timeout=300)
    assert not any(t.is_alive() for t in pool)
    # The session keeps a connection per thread and worker: none is dropped for want of room.
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
    demo.set_dialect(query_cursors="session")
    if cursors == "session":
        # query_iter cannot take back chunks it yielded, and a query restarted twice in a
        # storm of expiries (one every 0.05-0.4 s) gives up: both with the typed error.
        errors = [
            e
            for e in errors
            if not e.startswith("org.sf: SalesforceExpiredSession:")
            and ": QueryLocatorExpiredError: " not in e
        ]
    assert errors == []
    assert mismatches == []
    assert noticed == EXPIRIES
    assert sum(calls.values()) >= THREADS * ROUNDS * len(WORK)
    exchanges = demo.stats()["tokens_issued"] - issued_before
    refused = [e for e in demo.journal()[journal_start:] if e["status"] == 401]
    assert len(refused) >= EXPIRIES
    by_token = Counter(e["token"] for e in refused)
    if cursors == "user":
        # Exactly one token exchange per expiry, however many threads saw it.
        assert exchanges == EXPIRIES
        assert conn.stats["reexchanges"] == EXPIRIES
        assert set(by_token) <= set(range(issued_before, issued_before + EXPIRIES))
    else:
        # A session-bound cursor refused to simple-salesforce's query_all is a 401 that
        # looks like an expiry: the shared session exchanges again for it (at most
        # MAX_RENEWALS times a call). sfnotebook's own queries never do (they restart).
        assert exchanges >= EXPIRIES
    print(
        f"threads: {sum(calls.values())} calls by {THREADS} threads, {EXPIRIES} expiries, "
        f"{len(refused)} requests refused 401 ({dict(by_token)} by token serial), "
        f"{EXPIRIES} token exchanges"
    )


def test_one_exchange_when_every_thread_meets_the_401_at_once(
    demo: Any, reference: dict[str, Any]
) -> None:
    """All threads send with the expired token before the renewal is back: one exchange."""
    conn = connect_to(demo)
    conn.limits()
    issued_before = demo.stats()["tokens_issued"]
    start = len(demo.journal())
    # The token endpoint answers slowly, so every thread's call is refused before the new
    # token exists; a thread that came second must wait for the first one's exchange.
    demo.set_faults(latency=0.3, apply_to=["token"])
    demo.expire_sessions()
    barrier = threading.Barrier(THREADS)
    results: list[Any] = []
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(_query(conn, Path()))
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert failures == []
    assert len(results) == THREADS
    for got in results:
        _same(got, reference["query"])
    assert demo.stats()["tokens_issued"] - issued_before == 1
    assert conn.stats["reexchanges"] == 1
    journal = demo.journal()[start:]
    exchange = next(i for i, e in enumerate(journal) if e["path"] == "/services/oauth2/token")
    before, after = journal[:exchange], journal[exchange + 1 :]
    assert sum(1 for e in before if e["status"] == 401) >= 2, "several threads met the 401"
    # No request carried the old token once the new one was issued.
    assert {e["token"] for e in after if e["token"] is not None} == {issued_before + 1}
    assert all(e["status"] in (200, 304) for e in after)  # 304: a kept describe still current


def test_the_describe_cache_fills_once_under_concurrent_callers(demo: Any) -> None:
    conn = connect_to(demo)
    start = len(demo.journal())
    barrier = threading.Barrier(THREADS)
    got: list[Any] = []

    def worker() -> None:
        barrier.wait()
        got.append(conn.describe("Contact"))

    pool = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert len(got) == THREADS and all(d is got[0] for d in got)
    describes = [
        e for e in demo.journal()[start:] if e["path"].endswith("/sobjects/Contact/describe")
    ]
    assert len(describes) == 1


def test_org_sf_is_built_once_under_concurrent_callers(demo: Any) -> None:
    conn = connect_to(demo)
    barrier = threading.Barrier(THREADS)
    got: list[Any] = []

    def worker() -> None:
        barrier.wait()
        got.append(conn.sf)

    pool = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert len(got) == THREADS and all(sf is got[0] for sf in got)


def test_org_sf_follows_the_renewed_token(demo: Any) -> None:
    """simple-salesforce keeps ``session_id``; after a renewal it must be the new token."""
    conn = connect_to(demo)
    sf = conn.sf
    demo.expire_sessions()
    assert conn.query("SELECT COUNT() FROM Account") > 0
    assert sf.session_id == conn.token.access_token.reveal()
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_a_failed_exchange_is_not_repeated_by_the_threads_that_waited_for_it(
    demo: Any, reference: dict[str, Any]
) -> None:
    """The token endpoint is down: the threads that met the 401 share the one exchange's
    failure (each gets the typed error) instead of each hammering the endpoint in turn."""
    conn = connect_to(demo, retries=1)
    conn.limits()
    start = len(demo.journal())
    demo.set_faults(latency=0.2, error_rate=1.0, apply_to=["token"])
    demo.expire_sessions()
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            _query(conn, Path())
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert len(failures) == THREADS
    assert all(isinstance(f, sfnotebook.errors.ServerUnavailableError) for f in failures)
    assert "token exchange" in str(failures[0]) and "2 tries" in str(failures[0])
    exchanges = [e for e in demo.journal()[start:] if e["path"] == "/services/oauth2/token"]
    assert len(exchanges) == 1 + conn.session.policy.retries  # one exchange, retried once
    demo.set_faults(**FaultConfig.defaults())
    _same(_query(conn, Path()), reference["query"])  # the next call renews and works
