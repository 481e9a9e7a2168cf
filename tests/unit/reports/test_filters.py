"""Report filters for one run: read, then checked against a describe, each with one outcome."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sfnotebook.errors import InvalidArgumentError, ReportError, ReportFilterError, SalesforceError
from sfnotebook.reports._filters import (
    check_against,
    check_logic_syntax,
    explain_run_error,
    read_filters,
)

UTC = dt.timezone.utc

DESCRIBE: dict[str, Any] = {
    "reportMetadata": {
        "reportFilters": [{"column": "TYPE", "operator": "equals", "value": "x"}],
        "detailColumns": ["AMOUNT", "FULL_NAME", "CREATED_BY"],
    },
    "reportExtendedMetadata": {
        "detailColumnInfo": {
            "AMOUNT": {"label": "Amount", "dataType": "currency"},
            "FULL_NAME": {"label": "Owner", "dataType": "string"},
            "CREATED_BY": {"label": "Created By", "dataType": "string"},
        }
    },
    "reportTypeMetadata": {
        "categories": [
            {
                "label": "Opportunity Information",
                "columns": {
                    "AMOUNT": {"label": "Amount", "dataType": "currency", "filterable": True},
                    "STAGE_NAME": {"label": "Stage", "dataType": "picklist", "filterable": True},
                    "TYPE": {"label": "Type", "dataType": "picklist", "filterable": True},
                    "FOLLOW_UP": {"label": "Follow-Up", "dataType": "time", "filterable": False},
                    "FULL_NAME": {"label": "Owner", "dataType": "string", "filterable": True},
                    "CREATED_BY": {"label": "Created By", "dataType": "string", "filterable": True},
                },
            },
            {
                "label": "Account Information",
                "columns": {
                    "ACCOUNT_CREATED_BY": {
                        "label": "Created By",
                        "dataType": "string",
                        "filterable": True,
                    },
                },
            },
        ],
        "dataTypeFilterOperatorMap": {
            "currency": [{"name": n} for n in ("equals", "notEqual", "lessThan", "greaterThan")],
            "picklist": [{"name": n} for n in ("equals", "notEqual", "contains", "startsWith")],
            "string": [{"name": n} for n in ("equals", "notEqual", "contains", "startsWith")],
        },
    },
}


def one(value: Any, operator: str = "equals") -> str:
    (flt,) = read_filters([("STAGE_NAME", operator, value)]) or []
    return flt.value


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
    assert "Filter 1 of 1 ('STAGE_NAME', 'equals', " in str(info.value)
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
        ([("AMOUNT", 5)], "a filter is a tuple"),
        ([{"column": "AMOUNT"}], "missing \\['value'\\]"),
        ([{"column": "AMOUNT", "value": 1, "operater": "equals"}], "unknown \\['operater'\\]"),
        ([(None, "equals", 1)], "must be a column's label or API name"),
        ([("", "equals", 1)], "must be a column's label or API name"),
        ([("AMOUNT", "notEquals", 1)], "Did you mean 'notEqual'"),
        ([("AMOUNT", "EQUALS", 1)], "Did you mean 'equals'"),
        ([("AMOUNT", "=>", 1)], "is not a report filter operator. Did you mean '>='"),
        ([("AMOUNT", "like", 1)], "is not a report filter operator"),
        ([("AMOUNT", None, 1)], "None is not a report filter operator"),
    ],
)
def test_malformed_filters(filters: Any, words: str) -> None:
    with pytest.raises(ReportFilterError, match=words):
        read_filters(filters)


def test_a_dict_filter_defaults_to_equals() -> None:
    (flt,) = read_filters([{"column": "AMOUNT", "value": 5}]) or []
    assert flt.api() == {"column": "AMOUNT", "operator": "equals", "value": "5"}


@pytest.mark.parametrize(
    ("operator", "api"),
    [
        ("=", "equals"), ("==", "equals"), ("!=", "notEqual"), ("<>", "notEqual"),
        ("<", "lessThan"), (">", "greaterThan"), ("<=", "lessOrEqual"),
        (">=", "greaterOrEqual"), ("contains", "contains"), ("in", "equals"), ("IN", "equals"),
        ("not in", "notEqual"), ("NOT  IN", "notEqual"), ("startsWith", "startsWith"),
        ("includes", "includes"), ("excludes", "excludes"), ("notContain", "notContain"),
        ("within", "within"),
    ],
)  # fmt: skip
def test_analyst_operators_map_to_the_api(operator: str, api: str) -> None:
    (flt,) = read_filters([("Stage", operator, ["A", "B"])]) or []
    assert (flt.operator, flt.value) == (api, "A,B")  # 'in' is equals with several values


def test_filters_are_numbered_as_written() -> None:
    filters = [("Stage", "=", "A"), ("Amount", "~", 100000)]
    with pytest.raises(ReportFilterError) as info:
        read_filters(filters)
    assert str(info.value).startswith("Filter 2 of 2 ('Amount', '~', 100000): ")


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
    sent = check_against(DESCRIBE, added, "1 AND (2 OR 3)")
    assert sent == [
        {"column": "AMOUNT", "operator": "greaterThan", "value": "5"},
        {"column": "STAGE_NAME", "operator": "equals", "value": "A,B"},
    ]
    check_against(DESCRIBE, added, None)
    check_against({}, added, None)  # no reportTypeMetadata: nothing to check against


@pytest.mark.parametrize(
    ("column", "api"),
    [("Amount", "AMOUNT"), ("amount", "AMOUNT"), ("Stage", "STAGE_NAME"), ("stage", "STAGE_NAME"),
     ("STAGE_NAME", "STAGE_NAME"), ("stage_name", "STAGE_NAME"), ("Owner", "FULL_NAME")],
)  # fmt: skip
def test_labels_become_api_names(column: str, api: str) -> None:
    (sent,) = check_against(DESCRIBE, read_filters([(column, "=", "1")]), None) or []
    assert sent["column"] == api


def test_a_label_of_two_columns_is_the_reports_own_else_ambiguous() -> None:
    (sent,) = check_against(DESCRIBE, read_filters([("Created By", "=", "x")]), None) or []
    assert sent["column"] == "CREATED_BY"  # the report's own column wins
    theirs = {**DESCRIBE, "reportExtendedMetadata": {}, "reportMetadata": {}}
    with pytest.raises(ReportFilterError, match="label of 2 columns") as info:
        check_against(theirs, read_filters([("Created By", "=", "x")]), None)
    assert "CREATED_BY (Opportunity Information)" in str(info.value)
    assert "ACCOUNT_CREATED_BY (Account Information)" in str(info.value)


def test_a_bad_column_lists_the_valid_ones_with_the_users_numbering() -> None:
    filters = [("Stage", "=", "Closed Won"), ("Amout", ">", 100000)]
    with pytest.raises(ReportFilterError) as info:
        check_against(DESCRIBE, read_filters(filters), None)
    text = str(info.value)
    assert text.startswith("Filter 2 of 2 ('Amout', '>', 100000): the report has no column")
    assert "Did you mean 'Amount' (AMOUNT)?" in text
    assert "Columns of this report: 'Amount' (AMOUNT), 'Owner' (FULL_NAME)" in text
    assert "'Stage' (STAGE_NAME)" in text  # a filterable column of the report type
    assert "Follow-Up" not in text  # not filterable: not offered
    assert "filter 3" not in text.lower()
    assert info.value.close_matches == ["AMOUNT"]


def test_a_bad_operator_lists_the_columns_operators() -> None:
    with pytest.raises(ReportFilterError) as info:
        check_against(DESCRIBE, read_filters([("Amount", "contains", "5")]), None)
    assert str(info.value) == (
        "Filter 1 of 1 ('Amount', 'contains', '5'): 'contains' (contains) does not apply to "
        "'Amount' (AMOUNT), a currency column; it takes = (equals), != (notEqual), "
        "< (lessThan), > (greaterThan) and 'in' (a list of values)."
    )


@pytest.mark.parametrize(
    ("filters", "logic", "words", "close"),
    [
        ([("AMOUNTT", "equals", 1)], None, "no column 'AMOUNTT'. Did you mean 'Amount' \\(AMOUNT\\)",
         ["AMOUNT"]),
        ([("NOPE", "equals", 1)], None, "no column 'NOPE'\\. Columns of this report", []),
        ([("FOLLOW_UP", "equals", "x")], None, "cannot be filtered on", []),
        ([("AMOUNT", "contains", "5")], None, "'contains' \\(contains\\) does not apply to "
         "'Amount' \\(AMOUNT\\), a currency", ["equals", "notEqual", "lessThan", "greaterThan"]),
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


class _Refused(SalesforceError):
    pass


@pytest.mark.parametrize(
    ("message", "told"),
    [
        ("For the filter 2: Filter the date in the correct format.",
         "Salesforce refused filter 1 of 1 ('Close', '>', 'soon'): Filter the date in the "
         "correct format."),
        ("For the filter 1: bad value",
         "Salesforce refused the report's own filter 1 (TYPE equals 'x'): bad value"),
        ("Specify a valid filterable column because CLOSE_DATE is invalid.",
         "Salesforce refused filter 1 of 1 ('Close', '>', 'soon'): Specify a valid filterable "
         "column because CLOSE_DATE is invalid."),
    ],
)  # fmt: skip
def test_a_runs_refusal_names_the_users_filter(message: str, told: str) -> None:
    added = read_filters([("Close", ">", "soon")]) or []
    sent = [{"column": "CLOSE_DATE", "operator": "greaterThan", "value": "soon"}]
    saved = DESCRIBE["reportMetadata"]["reportFilters"]
    exc = _Refused(message, status=400, error_code="BAD_REQUEST")
    error = explain_run_error(exc, added, sent, saved)
    assert error is not None and str(error) == told
    assert explain_run_error(_Refused(message, status=500), added, sent, saved) is None


TYPED: dict[str, Any] = {
    "reportTypeMetadata": {
        "categories": [
            {
                "columns": {
                    "AMOUNT": {"label": "Amount", "dataType": "currency", "filterable": True},
                    "CLOSE_DATE": {"label": "Close Date", "dataType": "date", "filterable": True},
                    "WON": {"label": "Won", "dataType": "boolean", "filterable": True},
                }
            }
        ]
    }
}


@pytest.mark.parametrize(
    ("flt", "words"),
    [
        (("Amount", ">", "100k"), "'Amount' \\(AMOUNT\\) is a currency column; '100k' is not a number"),
        (("Close Date", ">", "soon"), "'soon' is not a date"),
        (("Close Date", ">", "2025-13"), "'2025-13' is not a date"),
        (("Close Date", ">", "next week"), "'next week' is not a date"),
        (("Won", "=", "yes"), "pass True or False"),
        (("Amount", ">", None), "'>' needs a value"),
        (("Amount", ">", [1, 2]), "compares with one value, not 2"),
    ],
)  # fmt: skip
def test_values_the_column_type_cannot_take(flt: Any, words: str) -> None:
    with pytest.raises(ReportFilterError, match=words):
        check_against(TYPED, read_filters([flt]), None)


@pytest.mark.parametrize(
    "flt",
    [
        ("Amount", ">", 100000), ("Amount", "in", [1, 2.5]), ("Amount", "=", None),
        ("Close Date", ">=", dt.date(2025, 1, 1)), ("Close Date", "=", "LAST_N_DAYS:30"),
        ("Close Date", "<", "THIS_FISCAL_YEAR"), ("Won", "=", True), ("Won", "!=", False),
    ],
)  # fmt: skip
def test_values_the_column_type_takes(flt: Any) -> None:
    check_against(TYPED, read_filters([flt]), None)


def test_a_refusal_without_a_number_is_told_by_the_value_or_the_only_filter() -> None:
    added = read_filters([("Opp", "=", "006bad"), ("Amount", ">", 5)]) or []
    sent = [
        {"column": "OPPORTUNITY_ID", "operator": "equals", "value": "006bad"},
        {"column": "AMOUNT", "operator": "greaterThan", "value": "5"},
    ]
    exc = _Refused("The filter value for ID 006bad is incorrect.", status=400)
    error = explain_run_error(exc, added, sent, [])
    assert error is not None and "filter 1 of 2 ('Opp', '=', '006bad')" in str(error)
    date = _Refused("Filter the date in the correct format.", status=400)
    assert explain_run_error(date, added, sent, []) is None  # which of the two: unknown
    error = explain_run_error(date, added[1:], sent[1:], [])
    assert error is not None and "filter 2 of 2 ('Amount', '>', 5)" in str(error)
    assert (
        explain_run_error(_Refused("Something else.", status=400), added[1:], sent[1:], []) is None
    )
