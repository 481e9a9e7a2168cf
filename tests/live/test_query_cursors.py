"""Query cursors across token re-exchanges, under every cursor rule of the demo's dialect.

A cursor may belong to the session that opened it (fidelity-audit D4): the demo's
``query_cursors`` / ``foreign_cursor_answer`` switches give three orgs, and on each the client
must return the whole result, restarting the query from page 1 when the cursor is refused, and
never a frame mixing two cursors' pages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import sfnotebook
from sfnotebook import errors, soql
from sfnotebook.soql.records import QueryResult
from sfnotebook_demo.faults import FaultConfig
from tests.conftest import connect_to
from tests.live.children_org import children_org

SOQL = (
    "SELECT Id, Name, Amount, StageName, Account.Name FROM Opportunity "
    "WHERE CloseDate >= 2024-01-01 ORDER BY Id LIMIT 3000"
)
CHILDREN = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account ORDER BY Id LIMIT 600"

# The three orgs: (query_cursors, foreign_cursor_answer); the answer matters only per session.
RULES = [
    ("user", "invalid-session"),
    ("session", "invalid-session"),
    ("session", "invalid-locator"),
]
_CLEAR: dict[str, Any] = FaultConfig.defaults()


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as org:
        yield org


@pytest.fixture(params=RULES, ids=[f"{a}-{b}" for a, b in RULES], scope="module")
def rule(request: pytest.FixtureRequest, demo: Any) -> Iterator[str]:
    cursors, answer = request.param
    demo.set_dialect(query_cursors=cursors, foreign_cursor_answer=answer)
    yield cursors
    demo.set_dialect(query_cursors="session", foreign_cursor_answer="invalid-session")


@pytest.fixture
def conn(demo: Any, rule: str) -> Iterator[sfnotebook.Connection]:
    demo.set_faults(**_CLEAR)
    connection = connect_to(demo, retries=5)
    for name in ("Opportunity", "Account", "Contact"):  # cached: the faults count query calls
        connection.describe(name)
    yield connection
    demo.set_faults(**_CLEAR)


@pytest.fixture(scope="module")
def reference(org: sfnotebook.Connection) -> pd.DataFrame:
    return org.query(SOQL, batch_size=500, progress=False)


@pytest.fixture(scope="module")
def children_reference(org: sfnotebook.Connection) -> QueryResult:
    result = org.query(CHILDREN, batch_size=200, progress=False)
    assert isinstance(result, QueryResult)
    return result


def _restarts(frame: Any) -> int:
    return int(frame.attrs["sfnotebook"]["restarts"])


def test_a_query_outlives_its_token(
    demo: Any, conn: sfnotebook.Connection, rule: str, reference: pd.DataFrame
) -> None:
    demo.set_faults(expire_after_requests=3)  # the 4th page's call finds the session expired
    df = conn.query(SOQL, batch_size=500, progress=False)
    pd.testing.assert_frame_equal(df, reference)
    assert _restarts(df) == (0 if rule == "user" else 1)
    assert conn.stats["reexchanges"] == 1  # one exchange, whatever the rule


def test_a_query_with_child_subqueries_outlives_its_token(
    demo: Any, conn: sfnotebook.Connection, rule: str, children_reference: QueryResult
) -> None:
    demo.set_faults(expire_after_requests=2)
    res = conn.query(CHILDREN, batch_size=200, progress=False)
    assert isinstance(res, QueryResult)
    pd.testing.assert_frame_equal(res.frame, children_reference.frame)
    pd.testing.assert_frame_equal(res["Contacts"], children_reference["Contacts"])
    expected = 0 if rule == "user" else 1
    assert _restarts(res.frame) == _restarts(res["Contacts"]) == expected


def test_the_restart_shows_in_arrow_metadata_too(
    demo: Any, conn: sfnotebook.Connection, rule: str, reference: pd.DataFrame
) -> None:
    demo.set_faults(expire_after_requests=3)
    table = conn.query(SOQL, batch_size=500, progress=False, output="arrow")
    assert isinstance(table, pa.Table) and table.num_rows == len(reference)
    assert table.schema.metadata[b"sfnotebook.restarts"] == (b"0" if rule == "user" else b"1")
    assert table.column("Id").to_pylist() == reference["Id"].tolist()


def test_restarts_are_bounded(demo: Any, conn: sfnotebook.Connection, rule: str) -> None:
    # Every third data call finds the session expired: a 15-page read never gets far. One
    # page at a time: with more calls in flight than the period, a resend meets the next
    # expiry, which the client cannot tell from a cursor refused to the new session.
    demo.set_faults(expire_every_requests=3)
    if rule == "user":  # the cursor survives each renewal: nothing to restart
        df = conn.query(SOQL, batch_size=200, progress=False, concurrency=1)
        assert len(df) == 3000 and _restarts(df) == 0
        return
    with pytest.raises(errors.QueryLocatorExpiredError) as info:
        conn.query(SOQL, batch_size=200, progress=False)
    message = str(info.value)
    assert f"read again from the start {soql.MAX_RESTARTS} times" in message
    assert info.value.restarts == soql.MAX_RESTARTS
    assert "session" in message and info.value.expected == 3000
    assert info.value.error_code in {"INVALID_SESSION_ID", "INVALID_QUERY_LOCATOR"}


def test_query_iter_restarts_while_nothing_was_yielded(
    demo: Any, conn: sfnotebook.Connection, rule: str, reference: pd.DataFrame
) -> None:
    demo.set_faults(expire_after_requests=3)  # inside the first chunk of 2,000 rows
    chunks = list(conn.query_iter(SOQL, batch_size=500, chunk_rows=2000, progress=False))
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), reference)
    assert _restarts(chunks[0]) == (0 if rule == "user" else 1)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_query_iter_cannot_take_back_a_yielded_chunk(
    demo: Any, conn: sfnotebook.Connection, rule: str, reference: pd.DataFrame, concurrency: int
) -> None:
    # Pages of 200; the first chunk (5 pages) is yielded once page 6 is in, and the thread
    # that reads ahead holds at most 2 more, so the 11th page's call fails after that yield.
    # With 4 pages in flight (by locator offset) the 11th call is a later page, or a resend.
    demo.set_faults(expire_after_requests=10)
    chunks: list[pd.DataFrame] = []
    options: dict[str, Any] = {"batch_size": 200, "chunk_rows": 1000, "progress": False}
    options["concurrency"] = concurrency
    if rule == "user":
        chunks.extend(conn.query_iter(SOQL, **options))
        pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), reference)
        return
    with pytest.raises(errors.QueryLocatorExpiredError, match="start it again") as info:
        chunks.extend(conn.query_iter(SOQL, **options))
    assert [len(c) for c in chunks] == [1000]  # what was yielded stays what it was
    pd.testing.assert_frame_equal(chunks[0], reference.iloc[:1000])
    assert info.value.expected == 3000
    if concurrency == 1:
        assert info.value.received == 2000
    else:  # the pages before the refused one, in order: whole pages past the first chunk
        assert info.value.received in range(1200, 3000, 200)


def test_concurrent_queries_do_not_end_each_others_cursors(
    demo: Any, conn: sfnotebook.Connection, rule: str, reference: pd.DataFrame
) -> None:
    """One renewal per expiry, however many queries share the connection: a 401 to a newer
    token than the cursor's never triggers a second exchange (which would end the others')."""
    frames: list[pd.DataFrame] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def read() -> None:
        try:
            df = conn.query(SOQL, batch_size=500, progress=False)
        except BaseException as exc:  # handed to the test thread
            with lock:
                failures.append(exc)
        else:
            with lock:
                frames.append(df)

    issued = demo.stats()["tokens_issued"]
    demo.set_faults(expire_after_requests=6)  # once, while the three queries are in flight
    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for df in frames:
        pd.testing.assert_frame_equal(df, reference)
    assert demo.stats()["tokens_issued"] - issued == 1
    assert sum(_restarts(df) for df in frames) <= (0 if rule == "user" else 3)


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with children_org(tmp_path_factory.getbasetemp() / "demo-soql-db") as org:
        yield org


FAMILIES = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account"


@pytest.mark.parametrize(("cursors", "answer"), RULES, ids=[f"{a}-{b}" for a, b in RULES])
def test_child_cursors_outlive_their_token(families: Any, cursors: str, answer: str) -> None:
    """Child results that page (hundreds of contacts per account) under each cursor rule."""
    families.set_dialect(query_cursors=cursors, foreign_cursor_answer=answer)
    families.set_faults(**_CLEAR)
    try:
        conn = connect_to(families)
        expected = conn.query(FAMILIES, batch_size=200, progress=False)  # describes cached too
        assert isinstance(expected, QueryResult)
        assert expected["Contacts"].groupby("AccountId").size().min() > 499
        families.set_faults(expire_after_requests=3)  # on the 2nd parent page or a child page
        got = conn.query(FAMILIES, batch_size=200, progress=False)
    finally:
        families.set_faults(**_CLEAR)
        families.set_dialect(query_cursors="session", foreign_cursor_answer="invalid-session")
    assert isinstance(got, QueryResult)
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got["Contacts"], expected["Contacts"])
    assert _restarts(got.frame) == (0 if cursors == "user" else 1)
