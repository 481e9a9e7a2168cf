"""SOQL that Bulk API 2.0 refuses is refused before the job is created (issue 14, item 6).

The list is Salesforce's ("Understanding Bulk API 2.0 Query": GROUP BY, OFFSET, TYPEOF,
aggregate functions, parent-to-child relationship queries).
"""

from __future__ import annotations

import pytest

from sfnotebook.bulk._soql_check import check_bulk_soql
from sfnotebook.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("soql", "reason", "alternative"),
    [
        (
            "SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName",
            "GROUP BY",
            "org.query",
        ),
        (
            "SELECT CALENDAR_YEAR(CloseDate) y FROM Opportunity group by CALENDAR_YEAR(CloseDate)",
            "GROUP BY",
            "org.query",
        ),
        ("SELECT COUNT() FROM Account", "aggregate", "org.query"),
        ("SELECT SUM(Amount) FROM Opportunity", "aggregate", "org.query"),
        ("SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 20", "OFFSET", "Drop OFFSET"),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event", "TYPEOF", "org.query"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "parent-to-child", "org.query"),
    ],
)
def test_refused_with_reason_and_alternative(soql: str, reason: str, alternative: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        check_bulk_soql(soql)
    text = str(info.value)
    assert reason in text and alternative in text and "Bulk API 2.0" in text
    assert "not sent" in text
    assert info.value.argument == "soql"


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, Name, Account.Name FROM Contact",  # child-to-parent is supported
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",  # a semi-join
        "SELECT Id FROM Account WHERE Name = 'GROUP BY OFFSET TYPEOF'",  # words in a value
        "SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024",  # date function in WHERE
        "SELECT Id, Offset__c FROM Account ORDER BY Name LIMIT 5",
    ],
)
def test_supported_queries_pass(soql: str) -> None:
    check_bulk_soql(soql)
