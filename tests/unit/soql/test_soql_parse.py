"""The light SELECT-list reader: columns, exprN names, TYPEOF, subqueries, and giving up."""

from __future__ import annotations

import pytest

from sfnotebook._soql_parse import (
    Aggregate,
    FieldRef,
    SubSelect,
    TypeOf,
    limit_and_offset,
    parse_select,
)


def test_fields_and_parent_paths_in_order() -> None:
    sel = parse_select("SELECT Id, Account.Owner.Name, Amount FROM Opportunity WHERE Amount > 5")
    assert sel is not None
    assert sel.object_name == "Opportunity"
    assert [i.path for i in sel.items if isinstance(i, FieldRef)] == [
        "Id",
        "Account.Owner.Name",
        "Amount",
    ]
    assert not sel.is_aggregate


def test_aggregates_are_numbered_and_aliases_kept() -> None:
    sel = parse_select(
        "SELECT StageName, COUNT(Id), SUM(Amount) total, AVG(Amount), CALENDAR_YEAR(CloseDate) "
        "FROM Opportunity GROUP BY StageName, CALENDAR_YEAR(CloseDate)"
    )
    assert sel is not None and sel.is_aggregate and sel.grouped
    aggs = [i for i in sel.items if isinstance(i, Aggregate)]
    assert [(a.function, a.argument, a.key) for a in aggs] == [
        ("COUNT", "Id", "expr0"),
        ("SUM", "Amount", "total"),
        ("AVG", "Amount", "expr1"),
        ("CALENDAR_YEAR", "CloseDate", "expr2"),
    ]


@pytest.mark.parametrize(
    ("soql", "count_only"),
    [
        ("SELECT COUNT() FROM Account", True),
        ("select count() from Account where Name like 'A%'", True),
        ("SELECT COUNT(Id) FROM Account", False),
        ("SELECT COUNT() FROM Account GROUP BY Industry", False),
    ],
)
def test_count_only(soql: str, count_only: bool) -> None:
    sel = parse_select(soql)
    assert sel is not None and sel.is_count_only is count_only


def test_typeof_collects_branch_fields_once() -> None:
    sel = parse_select(
        "SELECT Id, TYPEOF What WHEN Account THEN Name, Phone WHEN Opportunity THEN Amount, Name "
        "ELSE Name END FROM Task"
    )
    assert sel is not None
    typeof = sel.items[1]
    assert isinstance(typeof, TypeOf)
    assert typeof.relationship == "What"
    assert typeof.fields == ("Name", "Phone", "Amount")
    assert typeof.branches == ("Account", "Opportunity")


def test_subquery_with_its_own_clauses() -> None:
    sel = parse_select(
        "SELECT Id, (SELECT Id, LastName FROM Contacts WHERE LastName != 'x' ORDER BY LastName "
        "LIMIT 5), Name FROM Account WHERE Name IN ('a', 'b')"
    )
    assert sel is not None
    sub = sel.items[1]
    assert isinstance(sub, SubSelect) and sub.relationship == "Contacts"
    assert [i.path for i in sub.select.items if isinstance(i, FieldRef)] == ["Id", "LastName"]
    assert isinstance(sel.items[2], FieldRef) and sel.items[2].path == "Name"
    assert not sel.grouped


def test_tolabel_keeps_the_field_key() -> None:
    sel = parse_select("SELECT toLabel(StageName), convertCurrency(Amount) amt FROM Opportunity")
    assert sel is not None
    assert [(i.path, i.key) for i in sel.items if isinstance(i, FieldRef)] == [
        ("StageName", "StageName"),
        ("Amount", "amt"),
    ]


def test_group_by_inside_a_string_is_not_grouping() -> None:
    sel = parse_select("SELECT Id FROM Account WHERE Name = 'GROUP BY x'")
    assert sel is not None and not sel.grouped


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FIELDS(ALL) FROM Account LIMIT 200",
        "SELECT Id FROM",
        "UPDATE Account",
        "SELECT Id, FROM Account",
        "SELECT DISTANCE(Loc__c, GEOLOCATION(1, 2), 'mi') FROM Place__c",
    ],
)
def test_unreadable_queries_give_none(soql: str) -> None:
    assert parse_select(soql) is None


@pytest.mark.parametrize(
    ("soql", "window"),
    [
        ("SELECT Id FROM Account", (None, None)),
        ("SELECT Id FROM Account LIMIT 10 OFFSET 20", (10, 20)),
        ("select Id from Account offset 5", (None, 5)),
        ("SELECT Id, (SELECT Id FROM Contacts LIMIT 5) FROM Account LIMIT 1 OFFSET 3", (1, 3)),
        ("SELECT Id, (SELECT Id FROM Contacts LIMIT 5 OFFSET 2) FROM Account", (None, None)),
        ("SELECT Id FROM Account WHERE Name = 'LIMIT 9 OFFSET 9'", (None, None)),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Case LIMIT 4)", (None, None)),
        ("SELECT Id FROM Account LIMIT :n OFFSET 2", (None, 2)),
    ],
)
def test_the_top_level_limit_and_offset(soql: str, window: tuple[int | None, int | None]) -> None:
    assert limit_and_offset(soql) == window
