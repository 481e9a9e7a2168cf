"""Hostile values in every place a user's value goes into a request, against the demo org.

Each case asserts one exact outcome: the typed error (and that nothing, or only what is named,
was sent), or identical data (the same rows as a filter applied in pandas, or as the other API).
The demo org's accounts include "O'Reilly Freight", "Smith, Jones & Partners", 'The "Best"
Bakery' and "Müller & Söhne GmbH"; two reports are called "Open Pipeline".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest
import requests

import sfnotebook
from sfnotebook.errors import (
    InvalidArgumentError,
    ReportFilterError,
    ReportNotFoundError,
    SoqlBindError,
)
from tests.conftest import connect_to

ALL_OPPS = "00ODm0000000001MAA"  # "All Opportunities", no saved filters
HOSTILE_NAMES = ["O'Reilly Freight", "Smith, Jones & Partners", 'The "Best" Bakery',
                 "Müller & Söhne GmbH"]  # fmt: skip
INJECTION = "x' OR Name LIKE '%"


class Sent(list[tuple[str, str, Any]]):
    """The requests a connection sent: (method, decoded path, JSON body)."""

    def paths(self) -> list[str]:
        return [path for _, path, _ in self]


@pytest.fixture(scope="module")
def org(demo_org: Any) -> Iterator[sfnotebook.Connection]:
    conn = connect_to(demo_org)
    yield conn
    conn.close(revoke=False)


@pytest.fixture
def sent(org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> Sent:
    record = Sent()
    real = org.session.request

    def spy(method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        record.append((method, unquote(urlsplit(str(url)).path), kwargs.get("json")))
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(org.session, "request", spy)
    return record


@pytest.fixture(scope="module")
def accounts(org: sfnotebook.Connection) -> pd.DataFrame:
    return org.query("SELECT Id, Name, Industry, CreatedDate FROM Account")


# --------------------------------------------------------------------------- SOQL params


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_finds_exactly_its_rows(
    org: sfnotebook.Connection, accounts: pd.DataFrame, name: str
) -> None:
    got = org.query("SELECT Id FROM Account WHERE Name = :name", params={"name": name})
    expected = accounts.loc[accounts["Name"] == name, "Id"]
    assert len(expected) > 0
    assert sorted(got["Id"]) == sorted(expected)


def test_a_list_of_hostile_names_in_query_and_extract(
    org: sfnotebook.Connection, accounts: pd.DataFrame
) -> None:
    soql = "SELECT Id FROM Account WHERE Name IN :names"
    by_query = org.query(soql, params={"names": HOSTILE_NAMES})
    by_extract = org.extract(soql, params={"names": tuple(HOSTILE_NAMES)}, poll_interval=0)
    chunks = org.query_iter(soql, params={"names": set(HOSTILE_NAMES)}, chunk_rows=200)
    expected = sorted(accounts.loc[accounts["Name"].isin(HOSTILE_NAMES), "Id"])
    assert sorted(by_query["Id"]) == sorted(by_extract["Id"]) == expected
    assert sorted(pd.concat(list(chunks))["Id"]) == expected


def test_an_injection_matches_nothing(org: sfnotebook.Connection) -> None:
    pasted = org.query(f"SELECT Id FROM Account WHERE Name = '{INJECTION}' LIMIT 5")  # noqa: S608
    assert len(pasted) == 5  # pasted in, the value matches every account
    bound = org.query("SELECT Id FROM Account WHERE Name = :n LIMIT 5", params={"n": INJECTION})
    assert len(bound) == 0


@pytest.mark.parametrize("tail", ["\x00", "\x07", "\x08", "\t", "\n", "\\", "\u2028"])
def test_control_characters_are_escaped_not_sent_raw(org: sfnotebook.Connection, tail: str) -> None:
    got = org.query(
        "SELECT Id FROM Account WHERE Name = :n", params={"n": "O'Reilly Freight" + tail}
    )
    assert len(got) == 0  # a valid literal for a name no account has


def test_like_wildcards_in_a_value_are_literal(org: sfnotebook.Connection) -> None:
    soql = "SELECT Id FROM Account WHERE Name LIKE '{p:like}%'"
    assert len(org.query(soql, params={"p": "%"})) == 0  # no name starts with a percent sign
    assert len(org.query(soql, params={"p": "_"})) == 0
    got = org.query(soql, params={"p": "O'Reilly"})
    assert len(got) == len(org.query("SELECT Id FROM Account WHERE Name LIKE 'O\\'Reilly%'"))


def test_a_datetime_in_another_zone_is_the_same_instant(
    org: sfnotebook.Connection, accounts: pd.DataFrame
) -> None:
    middle = accounts["CreatedDate"].sort_values().iloc[len(accounts) // 2]
    since = (
        middle.to_pydatetime()
        .replace(microsecond=0)
        .astimezone(dt.timezone(dt.timedelta(hours=-7)))
    )
    got = org.query("SELECT Id FROM Account WHERE CreatedDate > :since", params={"since": since})
    assert sorted(got["Id"]) == sorted(accounts.loc[accounts["CreatedDate"] > since, "Id"])


def test_none_is_null_and_date_literals_keep_their_colon(
    org: sfnotebook.Connection, accounts: pd.DataFrame
) -> None:
    got = org.query(
        "SELECT Id FROM Account WHERE Industry = :none AND CreatedDate = LAST_N_DAYS:36500",
        params={"none": None},
    )
    assert sorted(got["Id"]) == sorted(accounts.loc[accounts["Industry"].isna(), "Id"])


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda o: o.query("SELECT Id FROM Account WHERE Name = :nmae", params={"name": "x"}),
         "'nmae' is not in params="),
        (lambda o: o.query("SELECT Id FROM Account", params={"name": "x"}),
         "which the SOQL does not bind"),
        (lambda o: o.query("SELECT Id FROM Account WHERE AnnualRevenue > :r",
                           params={"r": float("nan")}), "missing value"),
        (lambda o: o.query("SELECT Id FROM Account WHERE CreatedDate > :d",
                           params={"d": dt.datetime(2024, 1, 1)}), "without a time zone"),
        (lambda o: o.query("SELECT Id FROM Account WHERE CreatedDate > :d",
                           params={"d": pd.Timestamp.now(tz="UTC")}), "whole seconds"),
        (lambda o: o.query("SELECT Id FROM Account WHERE Id IN :ids", params={"ids": []}),
         "empty list"),
        (lambda o: o.query("SELECT Id FROM Account WHERE Id IN :ids", params={"ids": ["a", None]}),
         "holds None"),
        (lambda o: o.query("SELECT Id FROM Account WHERE Name = :n", params={"n": {"a": 1}}),
         "a dict, which has no SOQL literal"),
        (lambda o: o.query("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:n",
                           params={"n": 30}), "takes a whole number"),
        (lambda o: o.query("SELECT Id FROM Account WHERE Name = 'x", params={}),
         "without its closing quote"),
        (lambda o: next(o.query_iter("SELECT Id FROM Account WHERE Name = :n", params={})),
         "'n' is not in params="),
        (lambda o: o.extract("SELECT Id FROM Account WHERE Name = :n", params={"n": pd.NA}),
         "missing value"),
        (lambda o: o.query("SELECT Id FROM Account", params=[("n", 1)]), "params must be a dict"),
    ],
)  # fmt: skip
def test_unbindable_params_fail_before_any_request(
    org: sfnotebook.Connection,
    sent: Sent,
    call: Callable[[sfnotebook.Connection], Any],
    words: str,
) -> None:
    with pytest.raises(SoqlBindError, match=words):
        call(org)
    assert sent == []


def test_the_module_level_verb_takes_params(org: sfnotebook.Connection) -> None:
    from sfnotebook import connection

    connection.set_default(org)
    try:
        got = sfnotebook.query(
            "SELECT Id FROM Account WHERE Name = :n", params={"n": HOSTILE_NAMES[0]}
        )
    finally:
        connection.set_default(None)
    assert len(got) > 0
    import inspect

    assert "params" in inspect.signature(sfnotebook.query).parameters
    assert "params" in inspect.signature(org.query).parameters


# --------------------------------------------------------------------------- dtypes


def test_dtypes_naming_a_child_or_compound_column_are_accepted(org: sfnotebook.Connection) -> None:
    res = org.query(
        "SELECT Id, BillingAddress, (SELECT LastName FROM Contacts) FROM Account LIMIT 3",
        dtypes={"BillingAddress.city": "string", "LastName": "category", "AccountId": "string"},
    )
    assert str(res.frame["BillingAddress.city"].dtype) == "string"
    assert str(res.children["Contacts"]["LastName"].dtype) == "category"


def test_dtypes_with_a_typo_fail_before_any_request(org: sfnotebook.Connection, sent: Sent) -> None:
    with pytest.raises(KeyError, match="'Nmae'.*it selects \\['Id', 'Name'\\]"):
        org.query("SELECT Id, Name FROM Account", dtypes={"Nmae": "string"})
    assert sent == []


# --------------------------------------------------------------------------- report filters


def _opportunity_ids(org: sfnotebook.Connection, names: list[str]) -> list[str]:
    frame = org.query("SELECT Id FROM Opportunity WHERE Account.Name IN :n", params={"n": names})
    return sorted(frame["Id"])


def test_report_filter_values_with_quotes_match_as_soql_does(org: sfnotebook.Connection) -> None:
    names = ["O'Reilly Freight", 'The "Best" Bakery', "Müller & Söhne GmbH"]
    res = org.report(ALL_OPPS, filters=[("ACCOUNT_NAME", "equals", names)], progress=False)
    assert sorted(res.details["Opportunity ID"]) == _opportunity_ids(org, names)
    assert len(res.details) > 0


@pytest.mark.parametrize(
    ("filters", "boolean_filter", "words"),
    [
        ([("ACCOUNT_NAME", "equals", ["Smith, Jones & Partners", "Acme"])], None,
         "'Smith, Jones & Partners' holds a comma"),
        ([("ACCOUNT_NAME", "equals", "Smith, Jones & Partners")], None, "holds a comma"),
        ([("STAGE_NAME", "equals", "Closed Won,Closed Lost")], None, "Several values are a list"),
        ([("AMOUNT", "greaterThan", float("nan"))], None, "missing value"),
        ([("CREATED_DATE", "greaterThan", dt.datetime(2024, 1, 1))], None, "has no time zone"),
        ([("STAGE_NAME", "equals", [])], None, "empty list"),
        ([("STAGE_NAME", "notEquals", "x")], None, "Did you mean 'notEqual'"),
        ([("STAGE_NAME", 3, "x")], None, "3 is not a report filter operator"),
        ([("STAGE_NAME", "equals", "x")], "1 AND 2 OR 3", "AND and OR meet"),
        ([("STAGE_NAME", "equals", "x")], "1; DELETE", "unexpected"),
        (("STAGE_NAME", "equals", "x"), None, "takes a list of filters"),
    ],
)  # fmt: skip
def test_report_filters_refused_before_any_request(
    org: sfnotebook.Connection,
    sent: Sent,
    filters: Any,
    boolean_filter: str | None,
    words: str,
) -> None:
    with pytest.raises(ReportFilterError, match=words):
        org.report(ALL_OPPS, filters=filters, boolean_filter=boolean_filter)
    assert sent == []


@pytest.mark.parametrize(
    ("filters", "boolean_filter", "words"),
    [
        ([("STAGE_NAM", "equals", "x")], None,
         r"no column 'STAGE_NAM'. Did you mean 'Stage' \(STAGE_NAME\)"),
        ([("Stge", "=", "x")], None, r"Did you mean 'Stage' \(STAGE_NAME\)"),
        ([("AMOUNT", "contains", "5")], None,
         r"'contains' \(contains\) does not apply to 'Amount' \(AMOUNT\)"),
        ([("Opportunity.Follow_Up_Time__c", "equals", "10:00")], None, "cannot be filtered"),
        ([("AMOUNT", "greaterThan", 5)], "1 AND 2", "names filter 2, but there are 1 filters"),
        ([("AMOUNT", "greaterThan", 5), ("AMOUNT", "lessThan", 9)], "2",
         "does not name filter 1"),
    ],
)  # fmt: skip
def test_report_filters_refused_before_the_run(
    org: sfnotebook.Connection,
    sent: Sent,
    filters: Any,
    boolean_filter: str | None,
    words: str,
) -> None:
    with pytest.raises(ReportFilterError, match=words):
        org.report(ALL_OPPS, filters=filters, boolean_filter=boolean_filter)
    assert sent.paths() == [
        f"/services/data/v{org.api_version}/analytics/reports/{ALL_OPPS}/describe"
    ]


def test_a_none_filter_value_is_blank(org: sfnotebook.Connection, sent: Sent) -> None:
    res = org.report(ALL_OPPS, filters=[("NEXT_STEP", "equals", None),
                                        ("ACCOUNT_NAME", "equals", "O'Reilly Freight")],
                     progress=False)  # fmt: skip
    body = next(b for m, _, b in sent if m == "POST")
    assert body["reportMetadata"]["reportFilters"][0]["value"] == ""
    assert res.details["Next Step"].isna().all()


# --------------------------------------------------------------------------- report names, ids


@pytest.mark.parametrize(
    "name",
    [
        "Pipeline by Stage' OR Name LIKE '%",
        "100% Pipeline",
        "Pipeline/by/Stage",
        "Pipeline?by=Stage",
        "Pipeline#Stage",
        "../../limits",
        "00O../../limits",
        "00ODm0000000001MA/",
        "00ODm0000000001MAA?x=1",
        "Pipeline by Stage\x00",
        "Pipéline by Stage",
        "Pipeline by Stage ",  # stripped: found
    ],
)
def test_hostile_report_names_find_exactly_that_report_or_none(
    org: sfnotebook.Connection, sent: Sent, name: str
) -> None:
    if name.strip() == "Pipeline by Stage":
        assert org.describe_report(name)["reportMetadata"]["name"] == "Pipeline by Stage"
        return
    with pytest.raises(ReportNotFoundError, match="is visible to this user"):
        org.describe_report(name)
    # Only the listing was asked for (SOQL on Report, or the Analytics list where the org
    # refuses that): the name went into no URL and no query.
    base = f"/services/data/v{org.api_version}"
    assert set(sent.paths()) <= {f"{base}/query", f"{base}/analytics/reports"}
    assert all(m == "GET" for m, _, _ in sent)


def test_a_name_with_a_comma_and_an_ambiguous_name(org: sfnotebook.Connection) -> None:
    md = org.describe_report("Closed Bookings by Industry, Year and Stage")["reportMetadata"]
    assert md["name"] == "Closed Bookings by Industry, Year and Stage"
    with pytest.raises(sfnotebook.errors.AmbiguousReportError, match="2 reports are called"):
        org.describe_report("Open Pipeline")


@pytest.mark.parametrize("report", [None, "", "   ", 42])
def test_a_report_that_is_not_a_name_fails_before_any_request(
    org: sfnotebook.Connection, sent: Sent, report: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="report must be a report Id"):
        org.report(report)
    assert sent == []


# --------------------------------------------------------------------------- URL path segments


@pytest.mark.parametrize(
    "sobject",
    ["Account/../limits", "Account?fields=x", "Account#", "../Account", "Account%2F..", "",
     "Accöunt", "Account describe", "1Account", None],
)  # fmt: skip
def test_describe_refuses_what_is_not_an_api_name(
    org: sfnotebook.Connection, sent: Sent, sobject: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="is not an object's API name") as info:
        org.describe(sobject)
    assert info.value.argument == "sobject"
    assert sent == []


@pytest.mark.parametrize(
    "job_id",
    ["750000000000001AAA/../../limits", "750000000000001AA?", "00ODm0000000001MAA",
     "750000000000001", "750", "", None],
)  # fmt: skip
def test_job_results_refuses_what_is_not_a_job_id(
    org: sfnotebook.Connection, sent: Sent, job_id: Any
) -> None:
    if job_id == "750000000000001":  # a 15-character Id is an Id: the demo answers 404
        with pytest.raises(sfnotebook.errors.NotFoundError):
            org.job_results(job_id)
        assert sent.paths() == [f"/services/data/v{org.api_version}/jobs/query/{job_id}"]
        return
    with pytest.raises(InvalidArgumentError, match="is not a Bulk API query job Id"):
        org.job_results(job_id)
    assert sent == []


# --------------------------------------------------------------------------- fallbacks


def test_a_cut_describe_stops_the_query_instead_of_untyping_it(proxy: Any) -> None:
    from sfnotebook.errors import UnexpectedAnswerError
    from tests.adversarial.conftest import connect_through

    # No kept describe: an earlier test's copy on disk would be revalidated (a 304, no body).
    conn = connect_through(proxy, describe_cache=False)
    proxy.rule("GET", r"/sobjects/Account/describe$", nth=0, truncate=40)
    with pytest.raises(UnexpectedAnswerError, match="describe Account"):
        conn.query("SELECT Id, Name, CreatedDate FROM Account LIMIT 5")
    proxy.clear()
    typed = conn.query("SELECT Id, Name, CreatedDate FROM Account LIMIT 5")
    assert str(typed["CreatedDate"].dtype).startswith("datetime64")
