"""Describe and record resources of the demo org, with plain requests and simple-salesforce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from simple_salesforce import Salesforce

from sfnotebook_demo.data.schema import SCHEMA
from tests.demo.conftest import token_session

V = "/services/data/v68.0"
REAL = Path(__file__).parents[2] / ".." / "shared" / "real-payloads" / "soql"
REAL_DESCRIBE = REAL / "cumulusci_shared_cassettes" / "GET_sobjects_Account_describe.yaml"


@pytest.fixture(scope="module")
def api(demo_org: Any) -> requests.Session:
    session, _ = token_session(demo_org)
    session.base = demo_org.url  # type: ignore[attr-defined]
    return session


def get(api: requests.Session, path: str, **kw: Any) -> requests.Response:
    return api.get(api.base + V + path, timeout=30, **kw)  # type: ignore[attr-defined]


def test_global_describe(api: requests.Session) -> None:
    body = get(api, "/sobjects").json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    by_name = {o["name"]: o for o in body["sobjects"]}
    assert set(by_name) == set(SCHEMA)
    account = by_name["Account"]
    assert account["keyPrefix"] == "001" and account["queryable"] is True
    assert account["urls"]["describe"] == V + "/sobjects/Account/describe"
    assert by_name["Task"]["keyPrefix"] == "00T"


def test_describe_field_metadata(api: requests.Session) -> None:
    resp = get(api, "/sobjects/account/describe")  # object names are case-insensitive
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "Account" and body["keyPrefix"] == "001"
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["Id"]["type"] == "id" and fields["Id"]["soapType"] == "tns:ID"
    assert fields["ParentId"]["referenceTo"] == ["Account"]
    assert fields["ParentId"]["relationshipName"] == "Parent"
    assert fields["BillingAddress"]["type"] == "address"
    assert fields["BillingAddress"]["soapType"] == "urn:address"
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert fields["BillingLatitude"]["compoundFieldName"] == "BillingAddress"
    assert fields["HQ_Location__c"]["type"] == "location"
    assert fields["HQ_Location__Latitude__s"]["compoundFieldName"] == "HQ_Location__c"
    assert fields["AnnualRevenue"]["type"] == "currency"
    assert fields["Tier__c"]["custom"] is True
    assert [p["value"] for p in fields["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
    assert fields["Description"]["filterable"] is False  # long text area
    children = {c["relationshipName"]: c for c in body["childRelationships"]}
    assert children["Contacts"]["childSObject"] == "Contact"
    assert children["Contacts"]["field"] == "AccountId"
    assert {"ChildAccounts", "Opportunities", "Cases", "Tasks"} <= set(children)
    assert body["recordTypeInfos"][0]["master"] is True


def test_describe_covers_every_type(api: requests.Session) -> None:
    types = set()
    for name in SCHEMA:
        types |= {f["type"] for f in get(api, f"/sobjects/{name}/describe").json()["fields"]}
    assert types >= {"id", "reference", "string", "picklist", "multipicklist", "textarea",
                     "email", "phone", "url", "boolean", "int", "double", "currency", "percent",
                     "date", "datetime", "time", "address", "location"}  # fmt: skip


def test_polymorphic_and_special_fields(api: requests.Session) -> None:
    task = {f["name"]: f for f in get(api, "/sobjects/Task/describe").json()["fields"]}
    assert task["WhatId"]["referenceTo"] == ["Account", "Opportunity"]
    assert task["WhatId"]["polymorphicForeignKey"] is True
    assert task["WhatId"]["relationshipName"] == "What"
    assert task["WhoId"]["polymorphicForeignKey"] is True
    assert task["WhoId"]["relationshipName"] == "Who"
    case = {f["name"]: f for f in get(api, "/sobjects/Case/describe").json()["fields"]}
    assert case["CaseNumber"]["autoNumber"] is True and case["CaseNumber"]["type"] == "string"
    opp = {f["name"]: f for f in get(api, "/sobjects/Opportunity/describe").json()["fields"]}
    assert opp["Competitors__c"]["type"] == "multipicklist"
    assert opp["Follow_Up_Time__c"]["soapType"] == "xsd:time"
    assert opp["Discount__c"]["type"] == "percent"
    assert opp["Seats__c"]["type"] == "int"


@pytest.mark.skipif(
    not REAL_DESCRIBE.exists(),
    reason=(
        "real-org describe payloads not present (recorded by other projects, they live outside "
        "this repository, in the maintainers' shared/ folder beside it)"
    ),
)
def test_same_keys_as_a_real_describe(api: requests.Session) -> None:
    import json

    recorded = json.loads(yaml.safe_load(REAL_DESCRIBE.read_text())["response"]["body"]["string"])
    ours = get(api, "/sobjects/Account/describe").json()
    assert set(recorded) - set(ours) == set()
    real_field = recorded["fields"][0]
    for field in ours["fields"]:
        assert set(field) == set(real_field), field["name"]
    assert set(ours["childRelationships"][0]) == set(recorded["childRelationships"][0])
    real_fields = {f["name"]: f for f in recorded["fields"]}
    our_fields = {f["name"]: f for f in ours["fields"]}
    # Standard fields both describe: the traits a client relies on agree.
    for name in ("Id", "ParentId", "BillingCity", "BillingAddress", "BillingLatitude",
                 "AnnualRevenue", "NumberOfEmployees", "OwnerId", "CreatedDate", "IsDeleted",
                 "Description", "Type", "Industry", "Phone", "Website"):  # fmt: skip
        for key in ("type", "soapType", "referenceTo", "relationshipName", "compoundFieldName",
                    "nillable", "filterable", "sortable", "groupable", "aggregatable",
                    "createable", "updateable", "polymorphicForeignKey", "queryByDistance",
                    "defaultedOnCreate", "calculated", "custom"):  # fmt: skip
            assert our_fields[name][key] == real_fields[name][key], (name, key)


def test_unknown_object_is_404(api: requests.Session) -> None:
    for path in ("/sobjects/Nope/describe", "/sobjects/Nope", "/sobjects/Nope/001000000000000"):
        resp = get(api, path)
        assert resp.status_code == 404
        assert resp.json() == [
            {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
        ]


def test_sobject_basic_info(api: requests.Session) -> None:
    body = get(api, "/sobjects/Opportunity").json()
    assert set(body) == {"objectDescribe", "recentItems"}
    assert body["objectDescribe"]["name"] == "Opportunity"
    assert "fields" not in body["objectDescribe"]
    assert 0 < len(body["recentItems"]) <= 5
    item = body["recentItems"][0]
    assert item["attributes"]["type"] == "Opportunity" and item["Id"].startswith("006")
    assert "Name" in item


def test_record(api: requests.Session) -> None:
    some = get(api, "/sobjects/Account").json()["recentItems"][0]["Id"]
    record = get(api, f"/sobjects/Account/{some}").json()
    assert record["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{some}"}
    assert record["Id"] == some
    assert isinstance(record["IsDeleted"], bool)
    assert set(record) >= {"Name", "BillingAddress", "HQ_Location__c", "OwnerId"}
    address = record["BillingAddress"]
    assert address is None or set(address) == {
        "city",
        "country",
        "geocodeAccuracy",
        "latitude",
        "longitude",
        "postalCode",
        "state",
        "street",
    }
    # 15-character and wrong-case 18-character ids find the same record.
    assert get(api, f"/sobjects/Account/{some[:15]}").json()["Id"] == some
    assert get(api, f"/sobjects/Account/{some.lower()}").json()["Id"] == some
    chosen = get(api, f"/sobjects/Account/{some}", params={"fields": "Name,Rating"}).json()
    assert set(chosen) == {"attributes", "Name", "Rating"}
    bad = get(api, f"/sobjects/Account/{some}", params={"fields": "Nope"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    assert get(api, "/sobjects/Account/001Dm0000ZZZZZZ").status_code == 404
    assert get(api, f"/sobjects/Contact/{some}").status_code == 404


def test_simple_salesforce_describe(api: requests.Session, demo_org: Any) -> None:
    session = requests.Session()
    session.trust_env = False  # else $REQUESTS_CA_BUNDLE would replace the demo org's CA
    session.verify = demo_org.ca_bundle
    token = str(api.headers["Authorization"]).split()[1]
    sf: Any = Salesforce(
        instance_url=demo_org.url, session_id=token, session=session, version="68.0"
    )
    names = [o["name"] for o in sf.describe()["sobjects"]]
    assert "Opportunity" in names
    described = sf.Account.describe()
    assert described["name"] == "Account"
    assert any(f["name"] == "BillingAddress" for f in described["fields"])
    meta = sf.Contact.metadata()
    assert meta["objectDescribe"]["keyPrefix"] == "003"
    record_id = meta["recentItems"][0]["Id"]
    assert sf.Contact.get(record_id)["Id"] == record_id


@pytest.fixture(params=["absent", "sent"])
def last_modified(request: pytest.FixtureRequest, demo_org: Any) -> Any:
    demo_org.set_dialect(describe_last_modified=request.param)
    try:
        yield request.param
    finally:
        demo_org.set_dialect(describe_last_modified="absent")


def test_describe_honours_if_modified_since(api: requests.Session, last_modified: str) -> None:
    """REST API Developer Guide, "Get Object Metadata Changes": 304 with no body when the
    object's metadata has not changed since the date given, else the describe."""
    first = get(api, "/sobjects/Account/describe")
    assert first.status_code == 200
    stamp = first.headers.get("Last-Modified")
    assert (stamp is not None) == (last_modified == "sent")
    since = stamp or first.headers["Date"]
    same = get(api, "/sobjects/Account/describe", headers={"If-Modified-Since": since})
    assert same.status_code == 304 and same.content == b""
    assert ("Last-Modified" in same.headers) == (last_modified == "sent")
    older = get(
        api,
        "/sobjects/Account/describe",
        headers={"If-Modified-Since": "Wed, 3 Jul 2013 19:43:31 GMT"},
    )
    assert older.status_code == 200 and older.json()["name"] == "Account"
    for junk in ("yesterday", "", "Wed, 99 Foo 2013"):
        answer = get(api, "/sobjects/Account/describe", headers={"If-Modified-Since": junk})
        assert answer.status_code == 200, junk  # not a date: the header is ignored
    missing = get(api, "/sobjects/NoSuchThing/describe", headers={"If-Modified-Since": since})
    assert missing.status_code == 404
