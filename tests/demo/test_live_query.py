"""Live tests of the demo org's /query, /queryAll and query-more over HTTPS.

Most tests use the session's shared demo org; the ones that switch faults on, or need parents
with more than 200 children, start their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.data import database as data

V = "/services/data/v68.0"
LOCATOR_URL = re.compile(r"^/services/data/v68\.0/(query|queryAll)/0r8[0-9A-Za-z]{15}-\d+$")


def session_for(demo: Any) -> tuple[requests.Session, str]:
    """A session trusting only the demo org's CA, and an access token."""
    session = requests.Session()
    session.verify = demo.ca_bundle
    # REQUESTS_CA_BUNDLE in the environment would override session.verify otherwise.
    session.trust_env = False
    resp = session.post(
        demo.url + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": demo.consumer_key,
            "client_secret": demo.consumer_secret,
        },
        timeout=30,
    )
    resp.raise_for_status()
    token = resp.json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session, token


class Api:
    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.session, self.token = session_for(demo)

    def get(self, path: str, *, batch: int | None = None, **params: Any) -> requests.Response:
        headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
        return self.session.get(self.demo.url + path, params=params, headers=headers, timeout=60)

    def query(self, soql: str, *, batch: int | None = None, all_rows: bool = False) -> Any:
        resp = self.get(f"{V}/{'queryAll' if all_rows else 'query'}/", batch=batch, q=soql)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def pages(self, first: dict[str, Any], *, batch: int | None = None) -> list[dict[str, Any]]:
        pages = [first]
        while not pages[-1]["done"]:
            url = pages[-1]["nextRecordsUrl"]
            assert LOCATOR_URL.match(url), url
            resp = self.get(url, batch=batch)
            assert resp.status_code == 200, resp.text
            pages.append(resp.json())
        return pages


@pytest.fixture(scope="module")
def api(demo_org: Any) -> Api:
    return Api(demo_org)


@pytest.fixture(scope="module")
def sf(demo_org: Any) -> Salesforce:
    session, token = session_for(demo_org)
    return Salesforce(instance_url=demo_org.url, session_id=token, session=session)


# --- third-party client ---------------------------------------------------------------------


def test_simple_salesforce_query_all_follows_every_page(sf: Salesforce) -> None:
    soql = "SELECT Id, Name, Account.Name, Account.Owner.Name, Amount FROM Opportunity LIMIT 1100"
    result = sf.query_all(soql, headers={"Sforce-Query-Options": "batchSize=200"})
    assert result["done"] is True
    assert result["totalSize"] == len(result["records"]) == 1100
    assert len({r["Id"] for r in result["records"]}) == 1100
    first = sf.query(soql, headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(first["records"]) == 200 and first["done"] is False


def test_simple_salesforce_include_deleted(sf: Salesforce) -> None:
    live = sf.query("SELECT COUNT() FROM Case")["totalSize"]
    everything = sf.query_all("SELECT Id, IsDeleted FROM Case", include_deleted=True)
    deleted = sum(r["IsDeleted"] for r in everything["records"])
    assert deleted > 0
    assert everything["totalSize"] == len(everything["records"]) == live + deleted


def test_simple_salesforce_sees_salesforce_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Widget__c")
    content: Any = info.value.content
    [err] = content
    assert err["errorCode"] == "INVALID_TYPE"
    assert "ERROR at Row:1:Column:16" in err["message"]


# --- paging ---------------------------------------------------------------------------------


def test_pages_of_200(api: Api) -> None:
    first = api.query("SELECT Id FROM Contact WHERE LastName LIKE 'M%' ORDER BY Id", batch=200)
    assert first["totalSize"] > 600
    pages = api.pages(first, batch=200)
    assert [len(p["records"]) for p in pages[:-1]] == [200] * (len(pages) - 1)
    assert pages[0]["nextRecordsUrl"].endswith("-200")
    assert pages[1]["nextRecordsUrl"].endswith("-400")
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert ids == sorted(ids) and len(ids) == first["totalSize"]
    assert "nextRecordsUrl" not in pages[-1]


def test_default_batch_is_2000(api: Api) -> None:
    first = api.query("SELECT Id FROM Contact")
    assert len(first["records"]) == 2000 and first["nextRecordsUrl"].endswith("-2000")


def test_query_all_pages_on_its_own_resource(api: Api) -> None:
    first = api.query("SELECT Id FROM Opportunity LIMIT 450", batch=200, all_rows=True)
    assert first["nextRecordsUrl"].startswith(f"{V}/queryAll/")
    pages = api.pages(first, batch=200)
    assert sum(len(p["records"]) for p in pages) == 450


def test_unknown_locator(api: Api) -> None:
    resp = api.get(f"{V}/query/01gDm0000009999AAA-2000")
    assert resp.status_code == 400
    assert resp.json() == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


# --- SOQL features over HTTP ----------------------------------------------------------------


def test_parents_children_and_typeof(api: Api) -> None:
    page = api.query(
        "SELECT Name, Owner.Name, (SELECT LastName FROM Contacts LIMIT 2) FROM Account "
        "WHERE BillingCountry != null ORDER BY Name LIMIT 5"
    )
    assert page["totalSize"] == 5
    rec = page["records"][0]
    assert list(rec) == ["attributes", "Name", "Owner", "Contacts"]
    assert rec["Owner"]["attributes"]["type"] == "User"
    assert (
        rec["Contacts"] is None or rec["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
    )
    tasks = api.query(
        "SELECT TYPEOF What WHEN Account THEN Name WHEN Opportunity THEN Amount END "
        "FROM Task WHERE WhatId != null LIMIT 50"
    )
    types = {r["What"]["attributes"]["type"] for r in tasks["records"]}
    assert types == {"Account", "Opportunity"}


def test_aggregates_and_count(api: Api) -> None:
    page = api.query(
        "SELECT StageName, COUNT(Id) n, SUM(Amount) FROM Opportunity GROUP BY StageName"
    )
    assert page["done"] is True and page["totalSize"] == len(page["records"])
    rec = page["records"][0]
    assert rec["attributes"] == {"type": "AggregateResult"}
    assert list(rec) == ["attributes", "StageName", "n", "expr0"]
    total = api.query("SELECT COUNT() FROM Opportunity")
    assert total["records"] == [] and total["totalSize"] == sum(r["n"] for r in page["records"])


def test_aggregate_over_2000_groups_is_refused(api: Api) -> None:
    resp = api.get(f"{V}/query", q="SELECT AccountId, COUNT(Id) FROM Contact GROUP BY AccountId")
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


@pytest.mark.parametrize(
    ("soql", "code", "where"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "ERROR at Row:1:Column:29\nunexpected token: '<EOF>'"),
        ("SELECT Id,\nNmae FROM Account", "INVALID_FIELD", "ERROR at Row:2:Column:1\nNo such column 'Nmae'"),
        ("SELECT Id FROM Acount", "INVALID_TYPE", "ERROR at Row:1:Column:16\nsObject type 'Acount'"),
    ],
)  # fmt: skip
def test_errors(api: Api, soql: str, code: str, where: str) -> None:
    resp = api.get(f"{V}/query", q=soql)
    assert resp.status_code == 400
    [err] = resp.json()
    assert err["errorCode"] == code
    assert where in err["message"]


# --- own demo org: faults and big child results ---------------------------------------------


@pytest.fixture(scope="module")
def own_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with DemoOrg(opportunities=1_000) as demo:
        server = demo.server
        assert server is not None
        # Two accounts with ~580 contacts each, so child results page under either child
        # batch of the dialect (no account of the default dataset has more than 199 children).
        folder = tmp_path_factory.getbasetemp() / "demo-soql-db"
        small = data.Database(
            data.ensure_database(
                opportunities=300,
                accounts=2,
                contacts=1200,
                users=5,
                cases=10,
                tasks=20,
                directory=folder,
            )
        )
        server.org.database = small
        yield demo
        small.close()


def test_child_results_page_with_their_own_locators(own_org: Any) -> None:
    api = Api(own_org)
    page = api.query("SELECT Id, (SELECT Id FROM Contacts ORDER BY Id) FROM Account")
    for account in page["records"]:
        child = account["Contacts"]
        assert child["done"] is False and len(child["records"]) == 199  # the default dialect
        assert LOCATOR_URL.match(child["nextRecordsUrl"])
        pages = api.pages(child)
        ids = [r["Id"] for p in pages for r in p["records"]]
        assert len(ids) == len(set(ids)) == child["totalSize"] > 200


def test_expire_locators_fault(own_org: Any) -> None:
    api = Api(own_org)
    first = api.query("SELECT Id FROM Contact", batch=200)
    own_org.set_faults(expire_locators=True)
    try:
        resp = api.get(first["nextRecordsUrl"])
    finally:
        own_org.set_faults(expire_locators=False)
    assert resp.status_code == 400
    assert resp.json() == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]
    assert api.get(first["nextRecordsUrl"]).status_code == 200


def test_before_api_56_an_eleventh_cursor_released_the_oldest(own_org: Any) -> None:
    api = Api(own_org)
    own_org.set_dialect(cursor_limits="pre-56")
    try:
        urls = [api.query("SELECT Id FROM Contact", batch=200)["nextRecordsUrl"] for _ in range(11)]
        assert api.get(urls[0]).status_code == 400
        assert api.get(urls[-1]).status_code == 200
    finally:
        own_org.set_dialect(cursor_limits="current")


def test_a_cursor_belongs_to_the_token_that_opened_it(own_org: Any) -> None:
    first, second = Api(own_org), Api(own_org)
    url = first.query("SELECT Id FROM Contact", batch=200)["nextRecordsUrl"]
    resp = second.get(url)
    assert resp.status_code == 401
    assert resp.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert first.get(url).status_code == 200
