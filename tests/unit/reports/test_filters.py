"""Report filters for one run: read, then checked against a describe, each with one outcome."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sfnotebook.errors import InvalidArgumentError, ReportError, ReportFilterError
from sfnotebook.reports._filters import check_against, check_logic_syntax, read_filters

UTC = dt.timezone.utc

DESCRIBE: dict[str, Any] = {
    "reportMetadata": {"reportFilters": [{"column": "TYPE", "operator": "equals", "value": "x"}]},
    "reportTypeMetadata": {
        "categories": [
            {
                "columns": {
                    "AMOUNT": {"label": "Amount", "dataType": "currency", "filterable": True},
                    "STAGE_NAME": {"label": "Stage", "dataType": "picklist", "filterable": True},
                    "TYPE": {"label": "Type", "dataType": "picklist", "filterable": True},
                    "FOLLOW_UP": {"label": "Follow-Up", "dataType": "time", "filterable": False},
                }
            }
        ],
        "dataTypeFilterOperatorMap": {
            "currency": [{"name": n} for n in ("equals", "notEqual", "lessThan", "greaterThan")],
            "picklist": [{"name": n} for n in ("equals", "notEqual", "contains", "startsWith")],
        },
    },
}


def one(value: Any, operator: str = "equals") -> str:
    (flt,) = read_filters([("STAGE_NAME", operator, value)]) or []
    return flt["value"]


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("Prospecting", "Prospecting"),
        (["Prospecting", "Closed Won"], "Prospecting,Closed Won"),
        (("A",), "A"),
        ({"b", "a"}, "a,b"),
        ('The "Best" Bakery', 'The "Best" Bakery'),  # a quote inside is just a character
        ("O'Reilly", "O'Reilly"),
        ("Müller & Söhne", "Müller & Söhne"),
        (None, ""),
        ("", ""),
        (100000, "100000"),
        (2.5, "2.5"),
        (1e21, "1000000000000000000000"),
        (Decimal("12.50"), "12.50"),
        (True, "true"),
        (dt.date(2025, 1, 31), "2025-01-31"),
        (dt.datetime(2025, 1, 31, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "2025-01-31T08:00:00Z"),
        ([1, 2], "1,2"),
        ("LAST_N_DAYS:30", "LAST_N_DAYS:30"),
    ],
)  # fmt: skip
def test_values_sent(value: Any, sent: str) -> None:
    assert one(value) == sent


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Smith, Jones & Partners", "holds a comma"),
        ("Closed Won,Closed Lost", "Several values are a list"),
        ("100,000", "holds a comma"),
        (["Smith, Jones & Partners", "Acme"], "holds a comma"),
        (['"quoted"', "x"], "leading double quote"),
        ('"quoted"', "leading double quote"),
        ([], "empty list"),
        (["a", None], "holds None"),
        (["a", ""], "holds ''"),
        (["a", ["b"]], "holds \\['b'\\]"),
        (float("nan"), "missing value"),
        (float("inf"), "finite"),
        (dt.datetime(2025, 1, 1), "has no time zone"),
        (dt.datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "fraction of a second"),
        ({"a": 1}, "a dict cannot be a filter value"),
        (object(), "a object cannot be a filter value"),
    ],
)
def test_values_refused(value: Any, words: str) -> None:
    with pytest.raises(ReportFilterError, match=words) as info:
        one(value)
    assert "Filter 1 (STAGE_NAME)" in str(info.value)
    assert isinstance(info.value, ValueError | ReportError | InvalidArgumentError)


def test_pandas_missing_values_are_refused() -> None:
    pd = pytest.importorskip("pandas")
    for missing in (pd.NA, pd.NaT):
        with pytest.raises(ReportFilterError, match="missing value"):
            one(missing)
    assert one(pd.Series(["a", "b"])) == "a,b"


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        (("AMOUNT", "greaterThan", 5), "takes a list of filters"),
        ({"column": "AMOUNT", "value": 5}, "takes a list of filters"),
        ("AMOUNT > 5", "takes a list of filters"),
        ([("AMOUNT", 5)], "a filter is a dict"),
        ([{"column": "AMOUNT"}], "missing \\['value'\\]"),
        ([{"column": "AMOUNT", "value": 1, "operater": "equals"}], "unknown \\['operater'\\]"),
        ([(None, "equals", 1)], "must be a column's API name"),
        ([("", "equals", 1)], "must be a column's API name"),
        ([("AMOUNT", "notEquals", 1)], "Did you mean 'notEqual'"),
        ([("AMOUNT", "EQUALS", 1)], "Did you mean 'equals'"),
        ([("AMOUNT", ">", 1)], "is not a report filter operator"),
        ([("AMOUNT", None, 1)], "None is not a report filter operator"),
    ],
)
def test_malformed_filters(filters: Any, words: str) -> None:
    with pytest.raises(ReportFilterError, match=words):
        read_filters(filters)


def test_a_dict_filter_defaults_to_equals() -> None:
    assert read_filters([{"column": "AMOUNT", "value": 5}]) == [
        {"column": "AMOUNT", "operator": "equals", "value": "5"}
    ]


# --------------------------------------------------------------------------- logic


@pytest.mark.parametrize(
    ("logic", "numbers"),
    [
        ("1", [1]),
        ("1 AND 2", [1, 2]),
        ("(1 OR 2) AND 3", [1, 2, 3]),
        ("(1OR4)AND2AND3", [1, 4, 2, 3]),
        ("not 1 and (2 or 3)", [1, 2, 3]),
        ("1 AND NOT (2 OR NOT 3)", [1, 2, 3]),
    ],
)
def test_logic_accepted(logic: str, numbers: list[int]) -> None:
    assert check_logic_syntax(logic) == numbers


@pytest.mark.parametrize(
    ("logic", "words"),
    [
        ("1 AND 2 OR 3", "AND and OR meet without parentheses"),
        ("(1 AND 2", "a '\\(' is not closed"),
        ("1 AND 2)", "unexpected '\\)'"),
        ("1 AND", "found 'the end'"),
        ("1 XOR 2", "unexpected 'XOR 2'"),
        ("1; DROP", "unexpected"),
        ("1 2", "unexpected '2'"),
        ("AND", "expected a filter number"),
    ],
)
def test_logic_refused(logic: str, words: str) -> None:
    with pytest.raises(ReportFilterError, match=words) as info:
        check_logic_syntax(logic)
    assert info.value.argument == "boolean_filter"


# --------------------------------------------------------------------------- the describe


def test_known_columns_and_operators_pass() -> None:
    added = read_filters([("AMOUNT", "greaterThan", 5), ("STAGE_NAME", "equals", ["A", "B"])])
    check_against(DESCRIBE, added, "1 AND (2 OR 3)")
    check_against(DESCRIBE, added, None)
    check_against({}, added, None)  # no reportTypeMetadata: nothing to check against


@pytest.mark.parametrize(
    ("filters", "logic", "words", "close"),
    [
        ([("AMOUNTT", "equals", 1)], None, "no column 'AMOUNTT'. Did you mean 'AMOUNT'", ["AMOUNT"]),
        ([("Stage", "equals", "x")], None, "Did you mean 'STAGE_NAME'", ["STAGE_NAME"]),
        ([("amount", "equals", 1)], None, "Did you mean 'AMOUNT'", ["AMOUNT"]),
        ([("NOPE", "equals", 1)], None, "no column 'NOPE'\\. Filter columns", []),
        ([("FOLLOW_UP", "equals", "x")], None, "cannot be filtered on", []),
        ([("AMOUNT", "contains", "5")], None, "'contains' does not apply to 'AMOUNT' \\(a currency",
         ["equals", "greaterThan", "lessThan", "notEqual"]),
        ([("AMOUNT", "equals", 1)], "1 AND 3", "names filter 3, but there are 2 filters \\(1 "
         "saved in the report, then 1 from filters=\\)", []),
        ([("AMOUNT", "equals", 1)], "2", "does not name filter 1 of the 2", []),
        ([("AMOUNT", "equals", 1)] * 20, None, "at most 20", []),
    ],
)  # fmt: skip
def test_refused_against_the_describe(
    filters: Any, logic: str | None, words: str, close: list[str]
) -> None:
    with pytest.raises(ReportFilterError, match=words) as info:
        check_against(DESCRIBE, read_filters(filters), logic)
    assert info.value.close_matches == close
