"""org.query on every query dialect of the demo: OFFSET, locator forms, child batch sizes.

* ``offset_queries`` (fidelity-audit D5): capped (``totalSize`` at most 2,000, first batch
  only) or paged like any query. The result is exact under both, or an
  ``IncompleteResultError`` when Salesforce's answer cannot be the whole result.
* ``query_locators`` and ``child_batch`` (D15): locators are opaque to the client, and child
  results page from wherever the org cut them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook import errors
from sfnotebook.soql.records import QueryResult
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to
from tests.live.children_org import children_org

ACCOUNTS = "SELECT Id, Name FROM Account ORDER BY Id"  # about 4,900 rows: past the cap


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as org:
        yield org


@pytest.fixture(scope="module")
def accounts(org: sfnotebook.Connection) -> pd.DataFrame:
    frame = org.query(ACCOUNTS, progress=False)
    assert len(frame) > 4000
    return frame


@pytest.fixture(scope="module", params=Dialect.choices()["offset_queries"])
def offsets(request: pytest.FixtureRequest, demo: Any) -> Iterator[str]:
    demo.set_dialect(offset_queries=request.param)
    yield request.param
    demo.set_dialect(offset_queries=Dialect().offset_queries)


@pytest.fixture(scope="module")
def conn(demo: Any) -> sfnotebook.Connection:
    return connect_to(demo)


def _same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected.reset_index(drop=True))


@pytest.mark.parametrize("batch_size", [None, 200])
def test_limit_with_offset_is_exact(
    conn: sfnotebook.Connection, offsets: str, accounts: pd.DataFrame, batch_size: int | None
) -> None:
    frame = conn.query(f"{ACCOUNTS} LIMIT 100 OFFSET 10", batch_size=batch_size, progress=False)
    _same(frame, accounts.iloc[10:110])


def test_a_limit_of_2000_is_not_taken_for_the_cap(
    conn: sfnotebook.Connection, offsets: str, accounts: pd.DataFrame
) -> None:
    frame = conn.query(f"{ACCOUNTS} LIMIT 2000 OFFSET 10", batch_size=500, progress=False)
    _same(frame, accounts.iloc[10:2010])


def test_an_offset_near_the_end_is_exact(
    conn: sfnotebook.Connection, offsets: str, accounts: pd.DataFrame
) -> None:
    frame = conn.query(f"{ACCOUNTS} LIMIT 1500 OFFSET 2000", progress=False)
    _same(frame, accounts.iloc[2000:3500])


@pytest.mark.parametrize("limit", ["", " LIMIT 5000"])
def test_more_than_2000_rows_past_an_offset(
    conn: sfnotebook.Connection, offsets: str, accounts: pd.DataFrame, limit: str
) -> None:
    soql = f"{ACCOUNTS}{limit} OFFSET 10"
    if offsets == "paged":
        _same(conn.query(soql, batch_size=300, progress=False), accounts.iloc[10:5010])
        return
    with pytest.raises(errors.IncompleteResultError, match="rows past them may exist"):
        conn.query(soql, batch_size=300, progress=False)


def test_query_iter_with_an_offset(
    conn: sfnotebook.Connection, offsets: str, accounts: pd.DataFrame
) -> None:
    chunks = list(conn.query_iter(f"{ACCOUNTS} LIMIT 1500 OFFSET 5", chunk_rows=500))
    _same(pd.concat(chunks, ignore_index=True), accounts.iloc[5:1505])


def test_an_offset_past_2000_is_refused_with_advice(
    conn: sfnotebook.Connection, offsets: str
) -> None:
    with pytest.raises(errors.SalesforceError) as info:
        conn.query(f"{ACCOUNTS} LIMIT 10 OFFSET 2001", progress=False)
    assert info.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "Maximum SOQL offset allowed is 2000" in str(info.value)
    assert "page on a key" in str(info.value)


# --- locators and child batches ------------------------------------------------------------


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with children_org(tmp_path_factory.getbasetemp() / "demo-soql-db") as org:
        yield org


@pytest.fixture(scope="module")
def family_conn(families: Any) -> sfnotebook.Connection:
    return connect_to(families)


@pytest.fixture(scope="module")
def contacts(family_conn: sfnotebook.Connection) -> pd.DataFrame:
    return family_conn.query(
        "SELECT AccountId, Id, LastName FROM Contact WHERE AccountId != null "
        "ORDER BY AccountId, Id",
        progress=False,
    )


LOCATOR_FORMS = [
    (form, batch)
    for form in Dialect.choices()["query_locators"]
    for batch in Dialect.choices()["child_batch"]
]


@pytest.mark.parametrize(("form", "child_batch"), LOCATOR_FORMS)
def test_children_page_from_wherever_the_org_cut_them(
    families: Any,
    family_conn: sfnotebook.Connection,
    contacts: pd.DataFrame,
    form: str,
    child_batch: int,
) -> None:
    families.set_dialect(query_locators=form, child_batch=child_batch)
    try:
        res = family_conn.query(
            "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account "
            "ORDER BY Id",
            batch_size=200,
            progress=False,
        )
        plain = family_conn.query("SELECT Id FROM Contact ORDER BY Id", batch_size=200)
    finally:
        families.set_dialect(query_locators="0r8", child_batch=Dialect().child_batch)
    assert isinstance(res, QueryResult) and len(res.frame) == 2
    counts = contacts.groupby("AccountId").size()
    assert (counts > max(Dialect.choices()["child_batch"])).all()  # every child result pages
    _same(res["Contacts"], contacts)
    assert plain["Id"].tolist() == sorted(plain["Id"]) and len(plain) > len(contacts)


# --- cursor limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("limits", Dialect.choices()["cursor_limits"])
def test_eleven_reads_side_by_side(
    demo: Any, conn: sfnotebook.Connection, accounts: pd.DataFrame, limits: str
) -> None:
    """Since API 56.0 a user may hold any number of cursors; before, the 11th released the
    oldest, and the read that lost its cursor says so (no restart: no session changed)."""
    demo.set_dialect(cursor_limits=limits)
    reads = [conn.query_iter(ACCOUNTS, batch_size=200, chunk_rows=200) for _ in range(11)]
    try:
        firsts = [next(r) for r in reads]  # eleven cursors open at once
        if limits == "current":
            for first, read in zip(firsts, reads, strict=True):
                _same(pd.concat([first, *read], ignore_index=True), accounts)
            return
        with pytest.raises(errors.QueryLocatorExpiredError) as info:
            list(reads[0])
        assert info.value.error_code == "INVALID_QUERY_LOCATOR"
        assert "15 minutes idle" in str(info.value) and "2 days" in str(info.value)
        _same(pd.concat([firsts[-1], *reads[-1]], ignore_index=True), accounts)
    finally:
        for read in reads:
            read.close()  # stops the threads reading ahead for the reads left half-way
        demo.set_dialect(cursor_limits="current")
