"""Query pages of the demo SOQL engine: parents fetched once per query instead of joined."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
import pytest

from sfnotebook_demo.soql.engine import compile_soql
from sfnotebook_demo.soql.parents import split_parents

WIDE = (
    "SELECT Id, Name, Amount, IsWon, CloseDate, Account.Name, Account.Industry, "
    "Account.Owner.Name, Owner.Name FROM Opportunity"
)


@pytest.fixture(scope="module")
def conn(small_demo_db: sqlite3.Connection) -> sqlite3.Connection:
    return small_demo_db


def paged(conn: sqlite3.Connection, soql: str, *, size: int, include_deleted: bool) -> list[Any]:
    """The records as the query endpoint builds them: snapshot, pages, shared parents (each
    encoded once: compare the records encoded)."""
    plan = compile_soql(soql).plan
    ids = plan.row_ids(conn, include_deleted=include_deleted)
    out: list[Any] = []
    for start in range(0, len(ids), size):
        rows = plan.fetch_rows(conn, ids[start : start + size], include_deleted=include_deleted)
        out += plan.shape(
            conn, rows, api_version="68.0", include_deleted=include_deleted, share_parents=True
        )
    return out


@pytest.mark.parametrize(
    "soql",
    [
        WIDE,
        WIDE + " WHERE Account.Industry != null ORDER BY Account.Name DESC, Amount",
        "SELECT Name, Account.Parent.Name, Account.Owner.Manager.Name, ReportsTo.Email "
        "FROM Contact ORDER BY Name",
        "SELECT Id, Account.BillingAddress, Contact.Name, Owner.Name FROM Case",
        "SELECT Id, Name, (SELECT Id, Owner.Name FROM Contacts), Owner.Name FROM Account",
        "SELECT Id, What.Name, Who.Name, Owner.Name FROM Task",
        "SELECT Id, TYPEOF What WHEN Account THEN Name, Owner.Name WHEN Opportunity THEN "
        "Amount END FROM Task",
        "SELECT Id FROM Opportunity WHERE Owner.Name LIKE 'A%'",
    ],
)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_pages_equal_the_joined_statement(
    conn: sqlite3.Connection, soql: str, include_deleted: bool
) -> None:
    expected = list(compile_soql(soql).records(conn, include_deleted=include_deleted))
    assert expected
    got = paged(conn, soql, size=70, include_deleted=include_deleted)
    assert orjson.dumps(got) == orjson.dumps(expected)


def test_plain_parent_columns_split_and_expressions_do_not() -> None:
    wide = compile_soql(WIDE).plan
    split = split_parents(wide.root, wide.select, wide.joins)
    assert split is not None
    assert split.root_select[-2:] == ['t0."AccountId"', 't0."OwnerId"']
    assert all(col.startswith("t0.") for col in split.root_select)
    for soql in (
        "SELECT Id, Name FROM Opportunity",  # no parents
        "SELECT Id, What.Name FROM Task",  # polymorphic: COALESCE over the targets
        "SELECT Id, What.Type FROM Task",  # CASE on the key prefix
    ):
        plan = compile_soql(soql).plan
        assert split_parents(plan.root, plan.select, plan.joins) is None, soql


def test_a_missing_parent_gives_nulls_like_a_left_join(conn: sqlite3.Connection) -> None:
    plan = compile_soql("SELECT Id, Account.Name, Account.Owner.Name FROM Opportunity").plan
    split = split_parents(plan.root, plan.select, plan.joins)
    assert split is not None
    real = conn.execute('SELECT Id, rowid, AccountId FROM "Opportunity" LIMIT 1').fetchone()
    dangling = (real[0], real[1], "001000000000000AAA")
    joined, missing = split.attach(conn, [real, dangling])
    assert joined[plan.select.index('t1."Name"')] is not None
    assert [missing[i] for i, col in enumerate(plan.select) if not col.startswith("t0.")] == [
        None
    ] * (len(plan.select) - 2)


def test_only_pages_share_parent_records(conn: sqlite3.Connection) -> None:
    soql = "SELECT Id, Account.Name, AccountId FROM Opportunity WHERE AccountId != null"
    shared = paged(conn, soql, size=500, include_deleted=False)
    by_account: dict[str, list[Any]] = {}
    for rec in shared:
        by_account.setdefault(rec["AccountId"], []).append(rec["Account"])
    account, group = next((k, g) for k, g in by_account.items() if len(g) > 1)
    assert all(a is group[0] for a in group)  # one parent record, encoded once
    assert orjson.loads(orjson.dumps(group[0]))["Name"]
    first, *rest = (r for r in compile_soql(soql).records(conn) if r["AccountId"] == account)
    assert rest
    first["Account"]["Name"] = "edited"
    assert all(r["Account"]["Name"] != "edited" for r in rest)
