"""Live tests of the demo org's Reports API: list, describe, sync and async runs, errors.

Plain ``requests`` (TLS verified against the demo org's CA) against the session's demo org
(default size, ~49,000 live opportunities); expected numbers come straight from the SQLite
dataset, so the report engine is checked against an independent count.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.data.database import Database, ensure_database
from sfnotebook_demo.reports.defs import REPORTS

V = "/services/data/v68.0"
BASE = f"{V}/analytics/reports"


def _rid(name: str, folder: str | None = None) -> str:
    return next(r.id for r in REPORTS.values() if r.name == name and folder in (None, r.folder))


ALL = _rid("All Opportunities")
CLOSING_2025 = _rid("Opportunities Closing in 2025")
BY_STAGE = _rid("Pipeline by Stage")
THREE_LEVELS = _rid("Closed Bookings by Industry, Year and Stage")
MATRIX_2X1 = _rid("Owner Bookings by Year")
MATRIX_2X2 = _rid("Source Quarterly Matrix")
MARKETING = _rid("Open Pipeline", "Marketing Reports")


class Api:
    """Authenticated JSON calls to one demo org."""

    def __init__(self, demo: DemoOrg) -> None:
        self.demo = demo
        self.session = requests.Session()
        token = self.session.post(
            demo.url + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": demo.consumer_key,
                "client_secret": demo.consumer_secret,
            },
            verify=demo.ca_bundle,
            timeout=30,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(
            method, self.demo.url + path, verify=self.demo.ca_bundle, timeout=60, **kw
        )

    def run(self, report_id: str, metadata: dict[str, Any] | None = None, **params: Any) -> Any:
        params.setdefault("includeDetails", "true")
        if metadata is None:
            response = self.call("GET", f"{BASE}/{report_id}", params=params)
        else:
            body = {"reportMetadata": metadata}
            response = self.call("POST", f"{BASE}/{report_id}", params=params, json=body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def api(demo_org: DemoOrg) -> Api:
    return Api(demo_org)


@pytest.fixture(scope="module")
def db(demo_org: DemoOrg) -> Iterator[sqlite3.Connection]:
    database = Database(ensure_database(opportunities=demo_org.opportunities))
    yield database.connect()
    database.close()


def _count(db: sqlite3.Connection, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    sql = f"SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0 AND ({where})"  # noqa: S608 - test SQL over the demo's own database
    return int(db.execute(sql, params).fetchone()[0])


def _rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for cell in payload["factMap"].values() for row in cell.get("rows", [])]


def _error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code
    return str(body[0]["message"])


# --- list and describe -----------------------------------------------------------------------


def test_list_reports(api: Api) -> None:
    response = api.call("GET", BASE)
    assert response.status_code == 200
    items = response.json()
    assert {i["id"] for i in items} == set(REPORTS)
    first = items[0]
    assert set(first) == {"id", "name", "url", "describeUrl", "instancesUrl"}
    assert first["url"] == f"{BASE}/{first['id']}"
    assert first["describeUrl"] == f"{BASE}/{first['id']}/describe"
    assert all(len(i["id"]) == 18 and i["id"].startswith("00O") for i in items)
    names = [i["name"] for i in items]
    assert names.count("Open Pipeline") == 2  # same name, two folders


def test_describe_every_report(api: Api) -> None:
    folders = set()
    for report_id, report in REPORTS.items():
        response = api.call("GET", f"{BASE}/{report_id}/describe")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"reportExtendedMetadata", "reportMetadata", "reportTypeMetadata"}
        meta = body["reportMetadata"]
        assert (meta["id"], meta["name"], meta["reportFormat"]) == (
            report_id,
            report.name,
            report.format,
        )
        folders.add(meta["folderId"])
        info = body["reportExtendedMetadata"]["detailColumnInfo"]
        assert set(info) == set(meta["detailColumns"])
    assert len(folders) == 3
    types = api.call("GET", f"{BASE}/{ALL}/describe").json()["reportTypeMetadata"]
    columns = {k: v for cat in types["categories"] for k, v in cat["columns"].items()}
    assert columns["ACCOUNT_NAME"]["isLookup"] is True
    assert columns["AMOUNT"]["dataType"] == "currency" and columns["AMOUNT"]["filterable"]
    assert columns["Opportunity.Opportunity_Key__c"]["isFormula"] is True
    operators = {o["name"] for o in types["dataTypeFilterOperatorMap"]["currency"]}
    assert operators == {
        "equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual",
    }  # fmt: skip


# --- sync runs ---------------------------------------------------------------------------------


def test_tabular_run_is_capped_at_2000_rows(api: Api, db: sqlite3.Connection) -> None:
    payload = api.run(ALL)
    total = _count(db)
    assert total > 2000
    assert payload["allData"] is False and payload["hasExceededTabularRowLimit"] is True
    assert len(payload["factMap"]["T!T"]["rows"]) == 2000
    assert payload["factMap"]["T!T"]["aggregates"][0] == {"label": f"{total:,}", "value": total}
    amount = db.execute("SELECT SUM(Amount) FROM Opportunity WHERE IsDeleted = 0").fetchone()[0]
    assert payload["factMap"]["T!T"]["aggregates"][1]["value"] == pytest.approx(amount)
    cells = payload["factMap"]["T!T"]["rows"][0]["dataCells"]
    assert len(cells) == len(payload["reportMetadata"]["detailColumns"])
    assert payload["attributes"]["reportId"] == ALL and payload["attributes"]["type"] == "Report"


def test_run_without_details(api: Api) -> None:
    payload = api.run(ALL, includeDetails="false")
    assert payload["allData"] is True and payload["hasDetailRows"] is False
    assert "rows" not in payload["factMap"]["T!T"]
    default = api.call("GET", f"{BASE}/{ALL}").json()  # includeDetails defaults to false
    assert default["hasDetailRows"] is False and "rows" not in default["factMap"]["T!T"]


def test_summary_one_level(api: Api, db: sqlite3.Connection) -> None:
    payload = api.run(BY_STAGE, includeDetails="false")
    groups = payload["groupingsDown"]["groupings"]
    assert groups[0]["label"] == "Prospecting" and groups[-1]["label"] == "Closed Lost"
    fact = payload["factMap"]
    assert set(fact) == {f"{i}!T" for i in range(len(groups))} | {"T!T"}
    won = next(g for g in groups if g["value"] == "Closed Won")
    expected = _count(db, "StageName = 'Closed Won'")
    assert fact[f"{won['key']}!T"]["aggregates"][0]["value"] == expected
    assert sum(fact[f"{g['key']}!T"]["aggregates"][0]["value"] for g in groups) == _count(db)
    agg_info = payload["reportExtendedMetadata"]["aggregateColumnInfo"]
    assert list(agg_info) == ["RowCount", "s!AMOUNT", "a!AMOUNT"]


def test_summary_three_levels_detail_rows_in_deepest_groups(api: Api) -> None:
    payload = api.run(THREE_LEVELS)
    fact = payload["factMap"]
    assert payload["allData"] is True
    with_rows = [k for k, v in fact.items() if v["rows"]]
    assert with_rows and all(k.split("!")[0].count("_") == 2 for k in with_rows)
    assert len(_rows(payload)) == fact["T!T"]["aggregates"][0]["value"]
    year = payload["groupingsDown"]["groupings"][0]["groupings"][0]
    assert year["label"].startswith("FY ") and year["value"].endswith("-01-01")
    assert (
        payload["reportExtendedMetadata"]["groupingColumnInfo"]["STAGE_NAME"]["groupingLevel"] == 2
    )


@pytest.mark.parametrize("report_id", [MATRIX_2X1, MATRIX_2X2])
def test_matrix_runs(api: Api, report_id: str) -> None:
    payload = api.run(report_id)
    fact = payload["factMap"]

    def keys(tree: dict[str, Any]) -> list[str]:
        return [g["key"] for g in tree["groupings"]] + [
            k for g in tree["groupings"] for k in keys(g)
        ]

    down, across = keys(payload["groupingsDown"]), keys(payload["groupingsAcross"])
    assert set(fact) == {f"{d}!{a}" for d in [*down, "T"] for a in [*across, "T"]}
    n_across = len(payload["reportMetadata"]["groupingsAcross"])
    for key, value in fact.items():
        if value["rows"]:
            d, a = key.split("!")
            assert d.count("_") == 1 and a != "T" and a.count("_") == n_across - 1
    assert len(_rows(payload)) == min(2000, fact["T!T"]["aggregates"][0]["value"])


def test_post_overrides_filters_sort_and_columns(api: Api, db: sqlite3.Connection) -> None:
    metadata = {
        "detailColumns": ["OPPORTUNITY_ID", "AMOUNT", "STAGE_NAME"],
        "reportFilters": [
            {"column": "STAGE_NAME", "operator": "equals", "value": "Closed Won"},
            {"column": "AMOUNT", "operator": "greaterThan", "value": "250000"},
        ],
        "sortBy": [{"sortColumn": "AMOUNT", "sortOrder": "Desc"}],
    }
    payload = api.run(ALL, metadata)
    rows = payload["factMap"]["T!T"]["rows"]
    assert len(rows) == _count(db, "StageName = 'Closed Won' AND Amount > 250000")
    amounts = [r["dataCells"][1]["value"]["amount"] for r in rows]
    assert amounts == sorted(amounts, reverse=True) and min(amounts) > 250000
    assert payload["reportMetadata"]["detailColumns"] == metadata["detailColumns"]
    assert payload["allData"] is True


def test_saved_filter_logic_is_applied(api: Api, db: sqlite3.Connection) -> None:
    payload = api.run(MARKETING, includeDetails="false")
    expected = _count(
        db, "IsClosed = 0 AND (LeadSource IN ('Web', 'Advertisement') OR Amount > 500000)"
    )
    assert payload["factMap"]["T!T"]["aggregates"][0]["value"] == expected
    assert payload["reportMetadata"]["reportBooleanFilter"] == "1 AND (2 OR 3)"


def test_keyset_paging_fetches_every_row_once(api: Api, db: sqlite3.Connection) -> None:
    """What the client does past 2,000 rows: sort on the Id column, filter past the last one."""
    total = _count(db, "CloseDate BETWEEN '2025-01-01' AND '2025-12-31'")
    saved = REPORTS[CLOSING_2025]
    seen: list[str] = []
    runs = 0
    last: str | None = None
    while True:
        filters = list(saved.filters)
        logic = None
        if last is not None:
            filters.append({"column": "OPPORTUNITY_ID", "operator": "greaterThan", "value": last})
            logic = "(1 AND 2) AND 3"
        metadata = {
            "detailColumns": ["OPPORTUNITY_ID", "CLOSE_DATE"],
            "reportFilters": filters,
            "reportBooleanFilter": logic,
            "sortBy": [{"sortColumn": "OPPORTUNITY_ID", "sortOrder": "Asc"}],
        }
        payload = api.run(CLOSING_2025, metadata)
        runs += 1
        rows = payload["factMap"]["T!T"]["rows"]
        seen += [r["dataCells"][0]["value"] for r in rows]
        if payload["allData"]:
            break
        last = rows[-1]["dataCells"][0]["label"]  # the 15-character Id the UI shows
    assert len(seen) == len(set(seen)) == total
    assert runs == math.ceil(total / 2000)


# --- async instances -------------------------------------------------------------------------


def test_async_instance_lifecycle(api: Api) -> None:
    body = {"reportMetadata": {"reportFilters": [
        {"column": "STAGE_NAME", "operator": "equals", "value": "Qualification"}]}}  # fmt: skip
    started = api.call(
        "POST", f"{BASE}/{BY_STAGE}/instances", params={"includeDetails": "true"}, json=body
    )
    assert started.status_code == 200, started.text
    instance = started.json()
    assert instance["status"] == "New" and instance["id"].startswith("0LG")
    assert instance["url"] == f"{BASE}/{BY_STAGE}/instances/{instance['id']}"
    statuses = []
    for _ in range(200):
        result = api.call("GET", instance["url"]).json()
        statuses.append(result["attributes"]["status"])
        if statuses[-1] == "Success":
            break
        time.sleep(0.02)
    assert statuses[-1] == "Success" and "Running" in statuses
    assert result["attributes"]["type"] == "ReportInstance"
    assert result["attributes"]["completionDate"] is not None
    assert len(result["groupingsDown"]["groupings"]) == 1
    assert _rows(result)
    listed = api.call("GET", f"{BASE}/{BY_STAGE}/instances").json()
    assert instance["id"] in {i["id"] for i in listed}
    assert api.call("DELETE", instance["url"]).status_code == 204
    _error(api.call("GET", instance["url"]), 404, "NOT_FOUND")


# --- errors --------------------------------------------------------------------------------------


def test_unknown_report_is_404(api: Api) -> None:
    message = _error(api.call("GET", f"{BASE}/00O000000000000AAA"), 404, "NOT_FOUND")
    assert message == "The requested resource does not exist"
    _error(api.call("GET", f"{BASE}/00O000000000000AAA/describe"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ({"reportFilters": [{"column": "BOGUS", "operator": "equals", "value": "x"}]},
         "filter 1"),
        ({"reportFilters": [{"column": "AMOUNT", "operator": "contains", "value": "1"}]},
         "filter 1"),
        ({"reportFilters": [{"column": "CLOSE_DATE", "operator": "equals", "value": "someday"}]},
         "filter 1"),
        ({"reportFilters": [{"column": "AMOUNT", "operator": "greaterThan", "value": "1"}] * 21},
         "20 filters"),
        ({"reportFilters": [{"column": "AMOUNT", "operator": "greaterThan", "value": "1"}] * 2,
          "reportBooleanFilter": "1 AND OR 2"}, "filter logic"),
        ({"sortBy": [{"sortColumn": "STAGE_NAME", "sortOrder": "Asc"}],
          "detailColumns": ["AMOUNT"]}, "selected column"),
    ],
)  # fmt: skip
def test_invalid_requests_are_400(api: Api, metadata: dict[str, Any], fragment: str) -> None:
    response = api.call("POST", f"{BASE}/{ALL}", json={"reportMetadata": metadata})
    assert fragment in _error(response, 400, "BAD_REQUEST")


def test_body_that_is_not_json(api: Api) -> None:
    response = api.call(
        "POST", f"{BASE}/{ALL}", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    _error(response, 400, "JSON_PARSER_ERROR")


@pytest.mark.parametrize("answer", ["documented", "timeout-code"])
def test_report_timeout_fault(answer: str) -> None:
    faults = {"report_timeout": True}
    dialect = {"report_timeout_answer": answer}
    with DemoOrg(opportunities=1_000, faults=faults, dialect=dialect) as demo:
        api = Api(demo)
        if answer == "documented":  # the Report Error Codes page: a 500 and its message only
            response = api.call("GET", f"{BASE}/{ALL}")
            assert response.status_code == 500
            assert response.json() == [
                {
                    "message": "We ran into an error when running this report. "
                    "Try to re-submit your query."
                }
            ]
        else:
            message = _error(api.call("GET", f"{BASE}/{ALL}"), 500, "REPORT_TIMEOUT")
            assert "asynchronously" in message
        assert api.call("GET", f"{BASE}/{ALL}/describe").status_code == 200
        started = api.call("POST", f"{BASE}/{ALL}/instances").json()
        assert started["status"] == "New"  # async runs are not subject to the timeout
        assert demo.stats()["faults"].get("report_timeout") == 1
