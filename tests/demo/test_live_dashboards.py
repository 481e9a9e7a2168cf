"""Live tests of the demo org's Dashboards API: list, describe, results, filters, refresh, status.

Plain ``requests`` against a demo org of its own (its snapshots, refresh allowance and broken
components are changed here); expected numbers come from the SQLite dataset, an engine
independent of the report runs the dashboards are made of.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.dashboards import endpoints
from sfnotebook_demo.dashboards.defs import DASHBOARDS
from sfnotebook_demo.data.database import Database, ensure_database

V = "/services/data/v68.0"
BASE = f"{V}/analytics/dashboards"
OPPORTUNITIES = 3000


def _did(name: str) -> str:
    return next(d.id for d in DASHBOARDS.values() if d.name == name)


SALES = _did("Sales Pipeline")
EXEC = _did("Executive Overview")
MARKETING = _did("Marketing Funnel")


class Api:
    """Authenticated calls to one demo org."""

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

    def json(self, method: str, path: str, **kw: Any) -> Any:
        response = self.call(method, path, **kw)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoOrg]:
    with DemoOrg(opportunities=OPPORTUNITIES) as org:
        yield org


@pytest.fixture(scope="module")
def api(demo: DemoOrg) -> Api:
    return Api(demo)


@pytest.fixture(scope="module")
def db(demo: DemoOrg) -> Iterator[sqlite3.Connection]:
    database = Database(ensure_database(opportunities=OPPORTUNITIES))
    yield database.connect()
    database.close()


def state(demo: DemoOrg) -> endpoints.State:
    assert demo.server is not None
    found: endpoints.State = demo.server.org.features["dashboards"]
    return found


def error_of(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code
    return str(body[0]["message"])


def total(result: dict[str, Any], at: int = 0) -> Any:
    return result["factMap"]["T!T"]["aggregates"][at]["value"]


def count(db: sqlite3.Connection, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    sql = f"SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0 AND ({where})"  # noqa: S608 - test SQL over the demo's own database
    return int(db.execute(sql, params).fetchone()[0])


# --- list and describe -----------------------------------------------------------------------


def test_list_has_the_documented_keys_most_recently_refreshed_first(api: Api) -> None:
    api.json("GET", f"{BASE}/{MARKETING}")  # viewing computes (refreshes) its snapshot
    items = api.json("GET", BASE)
    assert {i["id"] for i in items} == set(DASHBOARDS)
    assert all(set(i) == {"id", "name", "statusUrl", "url"} for i in items)
    assert items[0]["id"] == MARKETING
    first = items[0]
    assert first["url"] == f"{BASE}/{MARKETING}"
    assert first["statusUrl"] == f"{BASE}/{MARKETING}/status"
    assert all(len(i["id"]) == 18 and i["id"].startswith("01Z") for i in items)


@pytest.mark.parametrize("dashboard_id", sorted(DASHBOARDS))
def test_describe_lists_components_filters_layout_and_running_user(
    api: Api, dashboard_id: str
) -> None:
    body = api.json("GET", f"{BASE}/{dashboard_id}/describe")
    definition = DASHBOARDS[dashboard_id]
    assert body["id"] == dashboard_id and body["name"] == definition.name
    assert body["attributes"]["type"] == "Dashboard"
    assert body["folderId"].startswith("00l")
    assert [c["componentData"] for c in body["components"]] == list(range(len(body["components"])))
    assert len(body["filters"]) <= 3
    for comp in body["components"]:
        assert comp["type"] == "Report" and comp["reportId"].startswith("00O")
        props = comp["properties"]
        assert [f["name"] for f in props["filterColumns"]] == [f.column for f in definition.filters]
        assert props["visualizationType"] in ("Bar", "Column", "Donut", "Funnel", "Gauge",
                                              "Line", "Metric", "Table")  # fmt: skip
    for flt in body["filters"]:
        assert flt["selectedOption"] is None
        assert all(o["id"].startswith("0IC") for o in flt["options"])
    laid_out = sorted(i for col in body["layout"]["columns"] for i in col["components"])
    assert laid_out == list(range(len(body["components"])))
    assert set(body["runningUser"]) == {"displayName", "id"}


# --- results ---------------------------------------------------------------------------------


def test_results_hold_each_component_as_a_report_run(api: Api, db: sqlite3.Connection) -> None:
    body = api.json("GET", f"{BASE}/{SALES}")
    meta = body["dashboardMetadata"]
    data = body["componentData"]
    assert [d["componentId"] for d in data] == [c["id"] for c in meta["components"]]
    for entry, comp in zip(data, meta["components"], strict=True):
        result = entry["reportResult"]
        assert result["attributes"] is None
        assert result["reportMetadata"]["id"] == comp["reportId"]
        assert result["reportMetadata"]["aggregates"] == [
            a["name"] for a in comp["properties"]["aggregates"]
        ]
        assert entry["status"]["dataStatus"] == "DATA"
        assert entry["status"]["refreshStatus"] == "IDLE"
        assert entry["status"]["refreshDate"].endswith("+0000")
        if comp["properties"]["visualizationType"] != "Table":
            assert result["hasDetailRows"] is False
            assert result["reportMetadata"]["detailColumns"] == []
            assert all("rows" not in cell for cell in result["factMap"].values())
    donut = data[1]["reportResult"]
    assert total(donut) == count(db)  # Pipeline by Stage: every opportunity
    assert donut["groupingsAcross"] is None
    assert len(donut["groupingsDown"]["groupings"]) > 1


def test_a_table_component_answers_its_first_rows_in_its_sort_order(
    api: Api, db: sqlite3.Connection
) -> None:
    table = api.json("GET", f"{BASE}/{SALES}")["componentData"][3]["reportResult"]
    rows = table["factMap"]["T!T"]["rows"]
    assert table["hasDetailRows"] is True and len(rows) == 10
    at = table["reportMetadata"]["detailColumns"].index("AMOUNT")
    amounts = [r["dataCells"][at]["value"]["amount"] for r in rows]
    top = db.execute(
        "SELECT Amount FROM Opportunity WHERE IsDeleted = 0 AND IsClosed = 0 "
        "ORDER BY Amount DESC, Id LIMIT 10"
    ).fetchall()
    assert amounts == [a for (a,) in top]
    assert total(table) == count(db, "IsClosed = 0")


def test_a_component_grouped_by_fewer_levels_than_its_report(
    api: Api, db: sqlite3.Connection
) -> None:
    column = api.json("GET", f"{BASE}/{EXEC}")["componentData"][0]["reportResult"]
    assert [g["name"] for g in column["reportMetadata"]["groupingsDown"]] == ["INDUSTRY"]
    assert all(not g["groupings"] for g in column["groupingsDown"]["groupings"])
    industries = db.execute(
        "SELECT COUNT(DISTINCT a.Industry) FROM Opportunity o JOIN Account a ON a.Id = o.AccountId"
        " WHERE o.IsDeleted = 0 AND o.IsClosed = 1 AND o.Amount > 250000"
    ).fetchone()[0]
    assert len(column["groupingsDown"]["groupings"]) >= industries


def test_a_dashboard_filter_is_applied_to_every_component(api: Api, db: sqlite3.Connection) -> None:
    describe = api.json("GET", f"{BASE}/{SALES}/describe")
    option = describe["filters"][0]["options"][0]  # Opportunity Type: New Business
    body = api.json("GET", f"{BASE}/{SALES}", params={"filter1": option["id"]})
    assert body["dashboardMetadata"]["filters"][0]["selectedOption"] == 0
    assert body["dashboardMetadata"]["filters"][1]["selectedOption"] is None
    donut = body["componentData"][1]["reportResult"]
    assert total(donut) == count(db, "Type = 'New Customer'")
    assert {"column": "TYPE", "operator": "equals", "value": "New Customer"}.items() <= (
        donut["reportMetadata"]["reportFilters"][-1].items()
    )
    metric = body["componentData"][2]["reportResult"]
    open_new = db.execute(
        "SELECT SUM(Amount) FROM Opportunity WHERE IsDeleted = 0 AND IsClosed = 0 "
        "AND Type = 'New Customer'"
    ).fetchone()[0]
    assert total(metric) == pytest.approx(open_new)
    by_prefix = api.json("GET", f"{BASE}/{SALES}", params={"filter1": option["id"][:15]})
    assert total(by_prefix["componentData"][1]["reportResult"]) == total(donut)


def test_a_between_option_and_filter_logic(api: Api, db: sqlite3.Connection) -> None:
    describe = api.json("GET", f"{BASE}/{MARKETING}/describe")
    year_2025 = next(o for o in describe["filters"][0]["options"] if o["alias"] == "2025")
    body = api.json("GET", f"{BASE}/{MARKETING}", params={"filter1": year_2025["id"]})
    table = body["componentData"][1]["reportResult"]
    assert table["reportMetadata"]["reportBooleanFilter"] == "(1 AND (2 OR 3)) AND 4 AND 5"
    expected = count(
        db,
        "IsClosed = 0 AND (LeadSource IN ('Web', 'Advertisement') OR Amount > 500000) "
        "AND CloseDate BETWEEN '2025-01-01' AND '2025-12-31'",
    )
    assert total(table) == expected
    assert len(table["factMap"]["T!T"]["rows"]) == min(20, expected)


@pytest.mark.parametrize(
    ("params", "dashboard_id"),
    [
        ({"filter1": "0ICDm0000000099AAA"}, SALES),  # not one of its options
        ({"filter1": "0ICDm0000000007AAA"}, SALES),  # another dashboard's option
        ({"filter2": "0ICDm0000000008AAA"}, MARKETING),  # it has one filter
        ({"filter4": "0ICDm0000000001AAA"}, SALES),
    ],
)
def test_an_invalid_filter_item_is_refused(
    api: Api, params: dict[str, str], dashboard_id: str
) -> None:
    for method, path in (("GET", ""), ("GET", "/status"), ("PUT", "")):
        response = api.call(method, f"{BASE}/{dashboard_id}{path}", params=params)
        assert error_of(response, 400, "BAD_REQUEST") == "The selected filter item isn't valid."


def test_running_users(api: Api, demo: DemoOrg) -> None:
    users = (
        Database(ensure_database(opportunities=OPPORTUNITIES))
        .connect()
        .execute('SELECT "Id", "Name" FROM "User" WHERE "IsActive" = 1 ORDER BY "Id"')
        .fetchall()
    )
    sales = api.json("GET", f"{BASE}/{SALES}/describe")["runningUser"]
    assert (sales["id"], sales["displayName"]) == users[0]
    dynamic = api.json("GET", f"{BASE}/{EXEC}/describe")
    assert dynamic["dashboardType"] == "LoggedInUser"
    assert dynamic["runningUser"]["id"] == demo.user_id  # whoever views it
    chosen = api.json("GET", f"{BASE}/{MARKETING}", params={"runningUser": users[2][0]})
    assert chosen["dashboardMetadata"]["runningUser"]["id"] == users[2][0]
    for dashboard_id, user in ((SALES, users[2][0]), (MARKETING, "005Dm0000000000AAA")):
        response = api.call("GET", f"{BASE}/{dashboard_id}", params={"runningUser": user})
        assert error_of(response, 400, "BAD_REQUEST") == (
            "You don't have permission to view data as this user."
        )


def test_an_unknown_dashboard_is_not_found(api: Api) -> None:
    for method, path in (("GET", ""), ("GET", "/describe"), ("GET", "/status"), ("PUT", "")):
        response = api.call(method, f"{BASE}/01ZDm0000000099AAA{path}")
        assert error_of(response, 404, "NOT_FOUND") == "The requested resource does not exist"


# --- refresh and status ----------------------------------------------------------------------


def test_refresh_runs_then_idles_with_a_later_refresh_date(
    api: Api, demo: DemoOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five requests must land while the refresh runs: a window a loaded CI machine cannot miss.
    monkeypatch.setattr(endpoints, "REFRESH_SECONDS", 2.0)
    before = api.json("GET", f"{BASE}/{EXEC}")["componentData"][0]["status"]["refreshDate"]
    again = api.json("GET", f"{BASE}/{EXEC}")["componentData"][0]["status"]["refreshDate"]
    assert again == before  # a snapshot: reading does not recompute it
    left = api.json("GET", f"{V}/limits")["HourlyDashboardRefreshes"]["Remaining"]
    answer = api.json("PUT", f"{BASE}/{EXEC}")
    assert answer == {"statusUrl": f"{BASE}/{EXEC}/status"}
    assert api.json("GET", f"{V}/limits")["HourlyDashboardRefreshes"]["Remaining"] == left - 1
    running = api.json("GET", f"{BASE}/{EXEC}/status")["componentStatus"]
    assert {s["refreshStatus"] for s in running} == {"RUNNING"}
    assert {s["refreshDate"] for s in running} == {before}
    during = api.json("GET", f"{BASE}/{EXEC}")["componentData"]
    assert {d["status"]["refreshStatus"] for d in during} == {"RUNNING"}
    assert all(d["reportResult"] is not None for d in during)  # the last snapshot meanwhile
    message = error_of(api.call("PUT", f"{BASE}/{EXEC}"), 400, "BAD_REQUEST")
    assert message == "You can't refresh this dashboard. A refresh is already in progress."
    time.sleep(endpoints.REFRESH_SECONDS + 0.1)
    done = api.json("GET", f"{BASE}/{EXEC}/status")["componentStatus"]
    assert {s["refreshStatus"] for s in done} == {"IDLE"}
    assert len({s["refreshDate"] for s in done}) == 1
    assert done[0]["refreshDate"] > before


def test_a_view_refreshed_before_it_was_ever_read_has_no_data_yet(api: Api) -> None:
    option = api.json("GET", f"{BASE}/{SALES}/describe")["filters"][1]["options"][2]
    params = {"filter2": option["id"]}
    api.json("PUT", f"{BASE}/{SALES}", params=params)
    data = api.json("GET", f"{BASE}/{SALES}", params=params)["componentData"]
    assert {d["status"]["dataStatus"] for d in data} == {"NODATA"}
    assert all(d["reportResult"] is None and d["status"]["refreshDate"] is None for d in data)
    time.sleep(endpoints.REFRESH_SECONDS + 0.1)
    data = api.json("GET", f"{BASE}/{SALES}", params=params)["componentData"]
    assert {d["status"]["dataStatus"] for d in data} == {"DATA"}


def test_refreshes_past_the_hourly_allowance_are_refused(api: Api, demo: DemoOrg) -> None:
    used = api.json("GET", f"{V}/limits")["HourlyDashboardRefreshes"]
    dashboards = state(demo)
    dashboards.refresh_max = used["Max"] - used["Remaining"]
    try:
        response = api.call("PUT", f"{BASE}/{MARKETING}")
        assert error_of(response, 403, "FORBIDDEN").startswith("You can't refresh more than")
    finally:
        dashboards.refresh_max = 200


def test_a_component_whose_report_is_unavailable_answers_error_202(api: Api, demo: DemoOrg) -> None:
    component = DASHBOARDS[MARKETING].components[2].id
    dashboards = state(demo)
    dashboards.broken.add(component)
    try:
        api.json("PUT", f"{BASE}/{MARKETING}")
        time.sleep(endpoints.REFRESH_SECONDS + 0.1)
        data = api.json("GET", f"{BASE}/{MARKETING}")["componentData"]
        broken = next(d for d in data if d["componentId"] == component)
        assert broken["reportResult"] is None
        assert broken["status"]["dataStatus"] == "ERROR"
        assert broken["status"]["errorCode"] == "202"
        assert broken["status"]["errorSeverity"] == "Error"
        assert all(d["status"]["dataStatus"] == "DATA" for d in data if d is not broken)
    finally:
        dashboards.broken.discard(component)
        api.json("PUT", f"{BASE}/{MARKETING}")
        time.sleep(endpoints.REFRESH_SECONDS + 0.1)
