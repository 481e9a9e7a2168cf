"""The demo org's ``/limits/recordCount`` (REST API's "Record Count" resource, API 40.0+)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sfnotebook_demo.data.schema import SCHEMA
from tests.demo.conftest import token_session

V = "/services/data/v68.0"


@pytest.fixture(scope="module")
def api(demo_org: Any) -> requests.Session:
    session, _ = token_session(demo_org)
    return session


def get(api: requests.Session, demo_org: Any, path: str, **kw: Any) -> requests.Response:
    return api.get(demo_org.url + V + path, timeout=30, **kw)


def test_every_object_without_a_list(api: requests.Session, demo_org: Any) -> None:
    body = get(api, demo_org, "/limits/recordCount").json()
    names = [entry["name"] for entry in body["sObjects"]]
    assert set(names) == set(SCHEMA)
    counts = {entry["name"]: entry["count"] for entry in body["sObjects"]}
    assert counts["Account"] > 0 and all(isinstance(n, int) for n in counts.values())


def test_a_list_narrows_and_unknown_names_are_ignored(api: requests.Session, demo_org: Any) -> None:
    body = get(
        api, demo_org, "/limits/recordCount", params={"sObjects": "account,Nope__c,Contact"}
    ).json()
    assert [entry["name"] for entry in body["sObjects"]] == ["Account", "Contact"]


def test_counts_match_soql(api: requests.Session, demo_org: Any) -> None:
    body = get(api, demo_org, "/limits/recordCount", params={"sObjects": "Opportunity"}).json()
    soql = get(api, demo_org, "/query", params={"q": "SELECT COUNT() FROM Opportunity"}).json()
    assert body["sObjects"][0]["count"] == soql["totalSize"]


@pytest.mark.parametrize("version", ["39.0"])
def test_absent_before_api_40(api: requests.Session, demo_org: Any, version: str) -> None:
    resp = api.get(f"{demo_org.url}/services/data/v{version}/limits/recordCount", timeout=30)
    assert resp.status_code == 404
