"""The demo SOQL engine on a small dataset: records, filters, ordering, aggregates, bulk rows.

Expected values come from plain SQL on the same SQLite file, never from the engine itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from typing import Any

import pytest

from sfnotebook_demo.soql.engine import SoqlError, compile_soql


@pytest.fixture(scope="module")
def conn(small_demo_db: sqlite3.Connection) -> sqlite3.Connection:
    return small_demo_db


def records(conn: sqlite3.Connection, soql: str, **kw: Any) -> list[dict[str, Any]]:
    return list(compile_soql(soql).records(conn, **kw))


def scalar(conn: sqlite3.Connection, sql: str, *params: Any) -> Any:
    return conn.execute(sql, params).fetchone()[0]


# --- shapes ---------------------------------------------------------------------------------


def test_record_shape_and_types(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "select id, NAME, amount, probability, closedate, isWon, createddate, seats__c, "
        "follow_up_time__c, competitors__c from opportunity where Amount != null "
        "and Seats__c != null and Follow_Up_Time__c != null order by Id limit 1",
        api_version="61.0",
    )
    rec = recs[0]
    assert list(rec) == [
        "attributes", "Id", "Name", "Amount", "Probability", "CloseDate", "IsWon",
        "CreatedDate", "Seats__c", "Follow_Up_Time__c", "Competitors__c",
    ]  # fmt: skip
    assert rec["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v61.0/sobjects/Opportunity/{rec['Id']}",
    }
    assert isinstance(rec["Amount"], float)
    assert isinstance(rec["Probability"], float)
    assert isinstance(rec["IsWon"], bool)
    assert isinstance(rec["Seats__c"], int) and not isinstance(rec["Seats__c"], bool)
    dt.date.fromisoformat(rec["CloseDate"])
    assert dt.datetime.strptime(
        rec["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z"
    ).utcoffset() == dt.timedelta(0)
    assert rec["CreatedDate"].endswith(".000+0000")
    assert rec["Follow_Up_Time__c"].endswith("Z")


def test_parent_paths_nest_and_null_parents_are_null(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT Account.Name, Id, Account.Owner.Name, Account.Owner.Manager.Name FROM Opportunity",
    )
    assert list(recs[0]) == ["attributes", "Account", "Id"]
    with_account = [r for r in recs if r["Account"] is not None]
    without = [r for r in recs if r["Account"] is None]
    assert without, "the dataset has opportunities without an account"
    expected = scalar(
        conn, "SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0 AND AccountId IS NULL"
    )
    assert len(without) == expected
    acc = with_account[0]["Account"]
    assert list(acc) == ["attributes", "Name", "Owner"]
    assert acc["attributes"]["type"] == "Account"
    assert acc["Owner"]["attributes"]["type"] == "User"
    assert list(acc["Owner"]) == ["attributes", "Name", "Manager"]


def test_compound_address_and_location(conn: sqlite3.Connection) -> None:
    rec = records(
        conn, "SELECT BillingAddress, HQ_Location__c FROM Account WHERE BillingCity != null LIMIT 1"
    )[0]
    address = rec["BillingAddress"]
    assert list(address) == [
        "city", "country", "countryCode", "geocodeAccuracy", "latitude", "longitude",
        "postalCode", "state", "stateCode", "street",
    ]  # fmt: skip
    assert address["city"] is not None
    loc = rec["HQ_Location__c"]
    assert loc is None or list(loc) == ["latitude", "longitude"]


def test_child_subqueries(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT Id, (SELECT LastName FROM Contacts WHERE LastName != null ORDER BY LastName DESC LIMIT 3) "
        "FROM Account ORDER BY Id",
    )
    counts = dict(
        conn.execute(
            "SELECT AccountId, COUNT(*) FROM Contact WHERE IsDeleted = 0 GROUP BY AccountId"
        ).fetchall()
    )
    for rec in recs:
        child = rec["Contacts"]
        n = counts.get(rec["Id"], 0)
        if n == 0:
            assert child is None  # Salesforce sends null, not an empty result
        else:
            assert child["done"] is True
            assert child["totalSize"] == len(child["records"]) == min(n, 3)
            names = [c["LastName"] for c in child["records"]]
            assert names == sorted(names, key=str.lower, reverse=True)
            assert child["records"][0]["attributes"]["type"] == "Contact"


def test_polymorphic_name_and_typeof(conn: sqlite3.Connection) -> None:
    recs = records(conn, "SELECT Id, What.Name, WhatId FROM Task WHERE WhatId != null")
    kinds = {r["WhatId"][:3] for r in recs}
    assert kinds == {"001", "006"}
    for r in recs:
        assert r["What"]["attributes"]["type"] == "Name"
        real = "Account" if r["WhatId"].startswith("001") else "Opportunity"
        assert r["What"]["attributes"]["url"].endswith(f"/{real}/{r['WhatId']}")
    typed = records(
        conn,
        "SELECT Id, TYPEOF What WHEN Account THEN Name, Phone WHEN Opportunity THEN Amount "
        "ELSE Name END, WhatId FROM Task",
    )
    for r in typed:
        what = r["What"]
        if r["WhatId"] is None:
            assert what is None
        elif r["WhatId"].startswith("001"):
            assert list(what) == ["attributes", "Name", "Phone"]
            assert what["attributes"]["type"] == "Account"
        else:
            assert list(what) == ["attributes", "Amount"]
            assert what["attributes"]["type"] == "Opportunity"


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "sql"),
    [
        ("Amount > 50000", "Amount > 50000"),
        ("Amount >= 50000 AND IsWon = true", "Amount >= 50000 AND IsWon = 1"),
        ("Amount = null", "Amount IS NULL"),
        ("Amount != null", "Amount IS NOT NULL"),
        # SOQL's != keeps nulls, unlike SQL
        ("LeadSource != 'Web'", "(LeadSource IS NULL OR LeadSource != 'Web')"),
        (
            "StageName IN ('Closed Won', 'closed lost')",
            "StageName IN ('Closed Won', 'Closed Lost')",
        ),
        ("LeadSource NOT IN ('Web')", "(LeadSource IS NULL OR LeadSource != 'Web')"),
        ("Name LIKE '%upgrade%'", "lower(Name) LIKE '%upgrade%'"),
        ("Name LIKE 'A_%'", "Name LIKE 'A%' AND length(Name) >= 2"),
        ("NOT (Amount > 50000)", "NOT COALESCE(Amount > 50000, 0)"),
        (
            "(Amount < 1000 OR Amount > 90000) AND Type != null",
            "(Amount < 1000 OR Amount > 90000) AND Type IS NOT NULL",
        ),
        (
            "CloseDate >= 2025-01-01 AND CloseDate < 2025-04-01",
            "CloseDate >= '2025-01-01' AND CloseDate < '2025-04-01'",
        ),
        ("CreatedDate > 2025-01-01T00:00:00Z", "CreatedDate > '2025-01-01T00:00:00.000+0000'"),
        ("CALENDAR_YEAR(CloseDate) = 2025", "substr(CloseDate, 1, 4) = '2025'"),
        (
            "Competitors__c INCLUDES ('Acme;Globex', 'Hooli')",
            "(';' || Competitors__c || ';' LIKE '%;Acme;%' AND ';' || Competitors__c || ';' LIKE '%;Globex;%') "
            "OR ';' || Competitors__c || ';' LIKE '%;Hooli;%'",
        ),
        (
            "Competitors__c EXCLUDES ('Acme')",
            "Competitors__c IS NULL OR ';' || Competitors__c || ';' NOT LIKE '%;Acme;%'",
        ),
        (
            "Account.Industry != null",
            "AccountId IN (SELECT Id FROM Account WHERE Industry IS NOT NULL)",
        ),
        (
            "Id IN (SELECT WhatId FROM Task WHERE Status = 'Completed')",
            "Id IN (SELECT WhatId FROM Task WHERE Status = 'Completed' AND IsDeleted = 0)",
        ),
        (
            "Id NOT IN (SELECT WhatId FROM Task)",
            "Id NOT IN (SELECT WhatId FROM Task WHERE IsDeleted = 0 AND WhatId IS NOT NULL)",
        ),
    ],
)
def test_where(conn: sqlite3.Connection, where: str, sql: str) -> None:
    soql = f"SELECT Id FROM Opportunity WHERE {where}"  # noqa: S608 - SOQL under test
    got = {r["Id"] for r in records(conn, soql)}
    expected = {
        r[0]
        for r in conn.execute(f"SELECT Id FROM Opportunity WHERE IsDeleted = 0 AND ({sql})")  # noqa: S608 - test SQL over the test's own database
    }
    assert expected, "the filter must select something to be a meaningful test"
    assert got == expected


def test_string_equality_is_case_insensitive(conn: sqlite3.Connection) -> None:
    name = scalar(conn, "SELECT Name FROM Account WHERE IsDeleted = 0 LIMIT 1")
    soql = f"SELECT Name FROM Account WHERE Name = '{name.upper()}'"  # noqa: S608 - SOQL under test
    got = records(conn, soql)
    assert [r["Name"] for r in got] == [name]


def test_fifteen_character_ids_match(conn: sqlite3.Connection) -> None:
    oid = scalar(conn, "SELECT Id FROM Account WHERE IsDeleted = 0 LIMIT 1")
    soql = f"SELECT Id FROM Account WHERE Id = '{oid[:15]}'"  # noqa: S608 - SOQL under test
    assert [r["Id"] for r in records(conn, soql)] == [oid]


def test_date_literals_on_date_and_datetime_fields(conn: sqlite3.Connection) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    start = (today - dt.timedelta(days=30)).isoformat()
    got = {
        r["Id"]
        for r in records(conn, "SELECT Id FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:30")
    }
    expected = {
        r[0]
        for r in conn.execute(
            "SELECT Id FROM Opportunity WHERE IsDeleted = 0 AND substr(CreatedDate, 1, 10) >= ? "
            "AND substr(CreatedDate, 1, 10) <= ?",
            (start, today.isoformat()),
        )
    }
    assert expected and got == expected
    year = today.year
    got = {r["Id"] for r in records(conn, "SELECT Id FROM Opportunity WHERE CloseDate = THIS_YEAR")}
    expected = {
        r[0]
        for r in conn.execute(
            "SELECT Id FROM Opportunity WHERE IsDeleted = 0 AND CloseDate LIKE ?", (f"{year}-%",)
        )
    }
    assert expected and got == expected


def test_include_deleted(conn: sqlite3.Connection) -> None:
    live = len(records(conn, "SELECT Id FROM Opportunity"))
    everything = records(conn, "SELECT Id, IsDeleted FROM Opportunity", include_deleted=True)
    deleted = scalar(conn, "SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 1")
    assert deleted > 0
    assert len(everything) == live + deleted
    assert sum(r["IsDeleted"] for r in everything) == deleted


# --- ordering, limit, offset ----------------------------------------------------------------


def test_order_by_nulls_defaults_and_overrides(conn: sqlite3.Connection) -> None:
    asc = [r["Amount"] for r in records(conn, "SELECT Amount FROM Opportunity ORDER BY Amount")]
    assert asc[0] is None and asc[-1] is not None  # ASC: nulls first
    desc = [
        r["Amount"] for r in records(conn, "SELECT Amount FROM Opportunity ORDER BY Amount DESC")
    ]
    assert desc[0] is not None and desc[-1] is None  # DESC: nulls last
    values = [v for v in desc if v is not None]
    assert values == sorted(values, reverse=True)
    last = [
        r["Amount"]
        for r in records(conn, "SELECT Amount FROM Opportunity ORDER BY Amount ASC NULLS LAST")
    ]
    assert last[-1] is None and last[0] is not None


def test_order_by_several_keys_and_parent_field(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT Account.Name, Name FROM Opportunity WHERE AccountId != null ORDER BY Account.Name, Name DESC",
    )
    keys = [(r["Account"]["Name"].lower(), r["Name"]) for r in recs]
    for a, b in itertools.pairwise(keys):
        assert a[0] < b[0] or (a[0] == b[0] and a[1].lower() >= b[1].lower())


def test_limit_and_offset(conn: sqlite3.Connection) -> None:
    ids = [r["Id"] for r in records(conn, "SELECT Id FROM Opportunity ORDER BY Id")]
    page = [
        r["Id"] for r in records(conn, "SELECT Id FROM Opportunity ORDER BY Id LIMIT 5 OFFSET 10")
    ]
    assert page == ids[10:15]


# --- aggregates -----------------------------------------------------------------------------


def test_count_query(conn: sqlite3.Connection) -> None:
    q = compile_soql("SELECT COUNT() FROM Opportunity WHERE Amount > 50000")
    assert q.is_aggregate
    assert q.count(conn) == scalar(
        conn, "SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0 AND Amount > 50000"
    )
    assert list(q.records(conn)) == []


def test_group_by_with_aliases_and_expr_numbering(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT StageName, COUNT(Id), SUM(Amount) total, MAX(CloseDate), AVG(Amount) "
        "FROM Opportunity GROUP BY StageName ORDER BY StageName",
    )
    assert list(recs[0]) == ["attributes", "StageName", "expr0", "total", "expr1", "expr2"]
    assert recs[0]["attributes"] == {"type": "AggregateResult"}
    expected = conn.execute(
        "SELECT StageName, COUNT(Id), ROUND(SUM(Amount), 2), MAX(CloseDate) FROM Opportunity "
        "WHERE IsDeleted = 0 GROUP BY StageName ORDER BY StageName COLLATE NOCASE"
    ).fetchall()
    assert [(r["StageName"], r["expr0"], r["total"], r["expr1"]) for r in recs] == [
        tuple(e) for e in expected
    ]
    assert all(isinstance(r["expr0"], int) for r in recs)


def test_group_by_parent_field_uses_last_segment(conn: sqlite3.Connection) -> None:
    recs = records(
        conn, "SELECT Account.Industry, COUNT(Id) n FROM Opportunity GROUP BY Account.Industry"
    )
    assert list(recs[0]) == ["attributes", "Industry", "n"]
    assert sum(r["n"] for r in recs) == scalar(
        conn, "SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0"
    )


def test_having_and_count_distinct(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT AccountId, COUNT(Id) c FROM Opportunity WHERE AccountId != null "
        "GROUP BY AccountId HAVING COUNT(Id) > 10",
    )
    expected = conn.execute(
        "SELECT AccountId, COUNT(Id) FROM Opportunity WHERE IsDeleted = 0 AND AccountId IS NOT NULL "
        "GROUP BY AccountId HAVING COUNT(Id) > 10"
    ).fetchall()
    assert expected and {(r["AccountId"], r["c"]) for r in recs} == set(map(tuple, expected))
    one = records(conn, "SELECT COUNT_DISTINCT(StageName) FROM Opportunity")
    assert one[0]["expr0"] == scalar(
        conn, "SELECT COUNT(DISTINCT StageName) FROM Opportunity WHERE IsDeleted = 0"
    )


def test_group_by_date_function(conn: sqlite3.Connection) -> None:
    recs = records(
        conn,
        "SELECT CALENDAR_YEAR(CloseDate), COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
    )
    assert list(recs[0]) == ["attributes", "expr0", "expr1"]
    assert all(isinstance(r["expr0"], int) for r in recs)


# --- bulk helpers ---------------------------------------------------------------------------


def test_flat_columns_types_and_rows(conn: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT Id, Account.Owner.Name, Amount, IsWon FROM Opportunity ORDER BY Id LIMIT 3"
    )
    assert q.flat_columns == ["Id", "Account.Owner.Name", "Amount", "IsWon"]
    assert q.flat_types == ["id", "string", "currency", "boolean"]
    rows = list(q.rows(conn))
    expected = conn.execute(
        "SELECT o.Id, u.Name, o.Amount, o.IsWon FROM Opportunity o LEFT JOIN Account a ON a.Id = o.AccountId "
        "LEFT JOIN User u ON u.Id = a.OwnerId WHERE o.IsDeleted = 0 ORDER BY o.Id LIMIT 3"
    ).fetchall()
    assert rows == expected  # storage values: booleans stay 0/1


def test_query_flags() -> None:
    plain = compile_soql("SELECT Id FROM Account")
    assert (plain.object_name, plain.is_aggregate, plain.has_subqueries) == (
        "Account",
        False,
        False,
    )
    assert not (plain.has_typeof or plain.uses_compound or plain.has_offset or plain.has_group_by)
    assert compile_soql("SELECT Id, (SELECT Id FROM Contacts) FROM Account").has_subqueries
    assert compile_soql("SELECT TYPEOF What WHEN Account THEN Name END FROM Task").has_typeof
    assert compile_soql("SELECT BillingAddress FROM Account").uses_compound
    assert compile_soql("SELECT Id FROM Account LIMIT 5 OFFSET 5").has_offset
    grouped = compile_soql("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry")
    assert grouped.has_group_by and grouped.is_aggregate
    assert grouped.flat_columns == ["Industry", "expr0"]
    assert grouped.flat_types == ["picklist", "int"]


def test_fields_function() -> None:
    q = compile_soql("SELECT FIELDS(STANDARD) FROM Opportunity")
    assert "Competitors__c" not in q.flat_columns and "Amount" in q.flat_columns
    q = compile_soql("SELECT FIELDS(ALL) FROM Opportunity LIMIT 200")
    assert "Competitors__c" in q.flat_columns
    with pytest.raises(SoqlError, match="LIMIT of at most 200"):
        compile_soql("SELECT FIELDS(ALL) FROM Opportunity")


# --- errors ---------------------------------------------------------------------------------

WSDL = "Please reference your WSDL or the describe call for the appropriate names."


@pytest.mark.parametrize(
    ("soql", "code", "col", "detail"),
    [
        (
            "SELECT Id, Foo FROM Account",
            "INVALID_FIELD",
            12,
            "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, "
            f"be sure to append the '__c' after the custom field name. {WSDL}",
        ),
        (
            "SELECT Id, Account.Bogus.Name FROM Contact",
            "INVALID_FIELD",
            12,
            "Didn't understand relationship 'Bogus' in field path. If you are attempting to use a "
            "custom relationship, be sure to append the '__r' after the custom relationship name. "
            f"{WSDL}",
        ),
        (
            "SELECT Id, Account.Nope FROM Contact",
            "INVALID_FIELD",
            12,
            "No such column 'Nope' on entity 'Account'. If you are attempting to use a custom field, "
            f"be sure to append the '__c' after the custom field name. {WSDL}",
        ),
        (
            "SELECT Id FROM Widget__c",
            "INVALID_TYPE",
            16,
            "sObject type 'Widget__c' is not supported. If you are attempting to use a custom object, "
            f"be sure to append the '__c' after the entity name. {WSDL}",
        ),
        (
            "SELECT Id, (SELECT Id FROM Widgets) FROM Account",
            "INVALID_TYPE",
            28,
            "Didn't understand relationship 'Widgets' in FROM part of query call. If you are "
            "attempting to use a custom relationship, be sure to append the '__r' after the custom "
            f"relationship name. {WSDL}",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            37,
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Amount = '5'",
            "INVALID_FIELD",
            43,
            "value of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            35,
            "invalid ID field: abc",
        ),
        (
            "SELECT Name, COUNT(Id) FROM Account",
            "MALFORMED_QUERY",
            8,
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount",
            "INVALID_FIELD",
            52,
            "field 'Amount' can not be grouped in a query call",
        ),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY", 13, "unexpected token: 'n'"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", 12, "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account ORDER BY Description",
            "INVALID_FIELD",
            33,
            "field 'Description' can not be sorted in a query call",
        ),
        (
            "SELECT Id FROM Account WHERE Description = 'x'",
            "INVALID_FIELD",
            30,
            "field 'Description' can not be filtered in query call",
        ),
    ],
)
def test_errors(soql: str, code: str, col: int, detail: str) -> None:
    with pytest.raises(SoqlError) as info:
        compile_soql(soql)
    assert info.value.error_code == code
    assert (
        info.value.message == f"\n{soql}\n{' ' * (col - 1)}^\nERROR at Row:1:Column:{col}\n{detail}"
    )


def test_offset_over_2000_is_refused() -> None:
    with pytest.raises(SoqlError) as info:
        compile_soql("SELECT Id FROM Account LIMIT 5 OFFSET 2001")
    assert info.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    compile_soql("SELECT Id FROM Account LIMIT 5 OFFSET 2000")


def test_flat_rows_of_compound_and_typeof(conn: sqlite3.Connection) -> None:
    q = compile_soql("SELECT Id, BillingAddress FROM Account ORDER BY Id LIMIT 2")
    assert q.flat_columns[:3] == ["Id", "BillingAddress.city", "BillingAddress.country"]
    assert "BillingAddress.street" in q.flat_columns
    rows = list(q.rows(conn))
    expected = conn.execute(
        "SELECT Id, BillingCity, BillingCountry FROM Account WHERE IsDeleted = 0 ORDER BY Id LIMIT 2"
    ).fetchall()
    assert [r[:3] for r in rows] == expected
    code = q.flat_columns.index("BillingAddress.countryCode")
    assert all(r[code] is None for r in rows)
    t = compile_soql(
        "SELECT Id, TYPEOF What WHEN Account THEN Name WHEN Opportunity THEN Name, Amount END "
        "FROM Task WHERE WhatId != null ORDER BY Id"
    )
    assert t.flat_columns == ["Id", "What.Name", "What.Amount"]
    names = dict(
        conn.execute("SELECT Id, Name FROM Account UNION ALL SELECT Id, Name FROM Opportunity")
    )
    what = dict(conn.execute("SELECT Id, WhatId FROM Task"))
    for task_id, name, amount in t.rows(conn):
        assert name == names[what[task_id]]
        if what[task_id].startswith("001"):
            assert amount is None


def test_polymorphic_type_is_the_referenced_object(conn: sqlite3.Connection) -> None:
    recs = records(conn, "SELECT WhatId, What.Type FROM Task WHERE What.Type = 'Opportunity'")
    expected = scalar(conn, "SELECT COUNT(*) FROM Task WHERE IsDeleted = 0 AND WhatId LIKE '006%'")
    assert expected and len(recs) == expected
    assert all(r["What"]["Type"] == "Opportunity" and r["WhatId"].startswith("006") for r in recs)


def test_typeof_branches_may_hold_parent_paths(conn: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT Id, TYPEOF What WHEN Account THEN Name, Owner.Name WHEN Opportunity THEN "
        "Amount, Account.Name END FROM Task WHERE WhatId != null"
    )
    assert q.flat_columns == [
        "Id",
        "What.Name",
        "What.Owner.Name",
        "What.Amount",
        "What.Account.Name",
    ]
    for rec in q.records(conn):
        what = rec["What"]
        if what["attributes"]["type"] == "Account":
            assert list(what) == ["attributes", "Name", "Owner"]
            assert what["Owner"]["attributes"]["type"] == "User"
        else:
            assert list(what) == ["attributes", "Amount", "Account"]


def test_five_level_parent_path(conn: sqlite3.Connection) -> None:
    q = compile_soql(
        "SELECT Id, Account.Owner.Manager.Manager.Manager.Name FROM Contact WHERE AccountId != null"
    )
    assert q.flat_columns == ["Id", "Account.Owner.Manager.Manager.Manager.Name"]
    rows = dict(q.rows(conn))
    expected = dict(
        conn.execute(
            "SELECT c.Id, m3.Name FROM Contact c JOIN Account a ON a.Id = c.AccountId "
            "LEFT JOIN User o ON o.Id = a.OwnerId LEFT JOIN User m1 ON m1.Id = o.ManagerId "
            "LEFT JOIN User m2 ON m2.Id = m1.ManagerId LEFT JOIN User m3 ON m3.Id = m2.ManagerId "
            "WHERE c.IsDeleted = 0"
        ).fetchall()
    )
    assert rows == expected
