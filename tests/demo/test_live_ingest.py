"""Bulk API 2.0 ingest jobs of the demo org, over plain HTTP: states, result files, row errors.

One demo org of this module's own (its writes must not reach other tests).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfnotebook_demo import DemoOrg

V = "/services/data/v68.0/jobs/ingest"


class Api:
    def __init__(self, demo: DemoOrg) -> None:
        self.demo = demo
        self.session = requests.Session()
        self.session.trust_env = False  # else $REQUESTS_CA_BUNDLE replaces the demo org's CA
        self.session.verify = demo.ca_bundle
        token = self.session.post(
            demo.url + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": demo.consumer_key,
                "client_secret": demo.consumer_secret,
            },
            timeout=30,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = path if path.startswith("/services") else V + path
        return self.session.request(method, self.demo.url + url, timeout=60, **kw)

    def create(self, **body: Any) -> dict[str, Any]:
        resp = self.call("POST", "", json={"object": "Contact", "contentType": "CSV", **body})
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def upload(self, job_id: str, data: str) -> requests.Response:
        return self.call(
            "PUT", f"/{job_id}/batches", data=data.encode(), headers={"Content-Type": "text/csv"}
        )

    def close(self, job_id: str) -> requests.Response:
        return self.call("PATCH", f"/{job_id}", json={"state": "UploadComplete"})

    def wait(self, job_id: str) -> dict[str, Any]:
        for _ in range(600):
            info = self.call("GET", f"/{job_id}").json()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return info  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never ended")

    def results(self, job_id: str, kind: str) -> list[dict[str, str]]:
        resp = self.call("GET", f"/{job_id}/{kind}")
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(resp.text, newline="")))

    def run(
        self, data: str, **body: Any
    ) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
        job = self.create(**body)
        assert self.upload(job["id"], data).status_code == 201
        assert self.close(job["id"]).status_code == 200
        info = self.wait(job["id"])
        return (
            info,
            self.results(job["id"], "successfulResults"),
            self.results(job["id"], "failedResults"),
        )


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoOrg]:
    with DemoOrg(opportunities=2_000) as org:
        yield org


@pytest.fixture(scope="module")
def api(demo: DemoOrg) -> Api:
    return Api(demo)


def test_a_job_goes_open_closed_complete_with_documented_infos(api: Api) -> None:
    job = api.create(operation="insert", lineEnding="LF")
    assert job["state"] == "Open" and job["id"].startswith("750")
    assert job["contentUrl"] == f"services/data/v68.0/jobs/ingest/{job['id']}/batches"
    assert {"operation", "object", "createdById", "createdDate", "systemModstamp", "concurrencyMode",
            "contentType", "apiVersion", "lineEnding", "columnDelimiter"} <= set(job)  # fmt: skip
    assert api.upload(job["id"], "LastName\nAlpha\nBeta\n").status_code == 201
    closed = api.close(job["id"]).json()
    assert closed["state"] == "UploadComplete" and "contentUrl" not in closed
    info = api.wait(job["id"])
    assert (info["state"], info["jobType"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete", "V2Ingest", 2, 0,
    )  # fmt: skip
    ok = api.results(job["id"], "successfulResults")
    assert [r["LastName"] for r in sorted(ok, key=lambda r: r["LastName"])] == ["Alpha", "Beta"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("003") for r in ok)
    listed = api.call("GET", "").json()["records"]
    assert job["id"] in [r["id"] for r in listed] and {r["jobType"] for r in listed} == {"V2Ingest"}


@pytest.mark.parametrize(
    ("csv_text", "error"),
    [
        ("LastName,FirstName\n#N/A,Ada\n",
         "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"),
        ("LastName,MailingGeocodeAccuracy\nX,Nope\n",
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Mailing Geocode Accuracy: bad value for restricted picklist field: Nope:MailingGeocodeAccuracy --"),
        ("LastName,FirstName\nX," + "y" * 41 + "\n",
         "STRING_TOO_LONG:First Name: data value too large: " + "y" * 41 + " (max length=40):FirstName --"),
        ("LastName,Birthdate\nX,10/12/1815\n",
         "INVALID_FIELD:Failed to deserialize field at col 1. Due to, '10/12/1815' is not a valid value for the type xsd:date:Birthdate --"),
        ("LastName,MailingLatitude\nX,north\n",
         "INVALID_TYPE_ON_FIELD_IN_RECORD:Mailing Latitude: value not of required type: north:MailingLatitude --"),
        ("LastName,AccountId\nX,001-bad\n",
         "MALFORMED_ID:Account ID: id value of incorrect type: 001-bad:AccountId --"),
        ("LastName,AccountId\nX,003Dm0000ZZZZZZIQA\n",
         "MALFORMED_ID:Account ID: id value of incorrect type: 003Dm0000ZZZZZZIQA:AccountId --"),
        ("LastName,AccountId\nX,001Dm0000ZZZZZZIQA\n", "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"),
        ("LastName,Email\nX,nobody\n", "INVALID_EMAIL_ADDRESS:Email: invalid email address: nobody:Email --"),
        ("LastName,Name\nX,Y\n",
         "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Name. Please check the security settings of this field and verify that it is read/write for your profile or permission set.:Name --"),
        ("LastName,External_Id__c\nX,CT-000001\n",
         "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record with id: "),
    ],
)  # fmt: skip
def test_row_errors_carry_salesforces_codes_and_messages(
    api: Api, csv_text: str, error: str
) -> None:
    info, ok, failed = api.run(csv_text, operation="insert")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"], ok) == (1, 1, [])
    assert failed[0]["sf__Error"].startswith(error)
    assert failed[0]["sf__Id"] == ""


def test_update_and_delete_errors(api: Api, demo: DemoOrg) -> None:
    deleted = api.call(
        "GET",
        "/services/data/v68.0/queryAll",
        params={"q": "SELECT Id FROM Contact WHERE IsDeleted = true LIMIT 1"},
    ).json()["records"][0]["Id"]
    live = api.call(
        "GET", "/services/data/v68.0/query", params={"q": "SELECT Id FROM Contact LIMIT 1"}
    ).json()
    live_id = live["records"][0]["Id"]
    rows = f"Id,Title\n{deleted},x\n003Dm0000ZZZZZZIQA,x\n001Dm0000ZZZZZZIQA,x\n{live_id},Boss\n{live_id},Again\n"
    _info, ok, failed = api.run(rows, operation="update")
    assert [r["sf__Id"] for r in ok] == [live_id]
    assert [f["sf__Error"] for f in failed] == [
        "ENTITY_IS_DELETED:entity is deleted:--",
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
        "MALFORMED_ID:Contact ID: id value of incorrect type: 001Dm0000ZZZZZZIQA:Id --",
        f"DUPLICATE_VALUE:Duplicate id in list: {live_id}:--",
    ]
    assert failed[0]["sf__Id"] == deleted  # update failures name the record
    _, ok, failed = api.run(f"Id\n{live_id}\n{deleted}\n", operation="delete")
    assert [r["sf__Id"] for r in ok] == [live_id]
    assert [f["sf__Error"] for f in failed] == ["ENTITY_IS_DELETED:entity is deleted:--"]


def test_upsert_updates_matches_and_creates_the_rest(api: Api) -> None:
    data = (
        "External_Id__c,LastName\nct-000002,Matched\nUP-NEW-1,Created\nUP-NEW-1,Twice\n,Keyless\n"
    )
    _, ok, failed = api.run(data, operation="upsert", externalIdFieldName="External_Id__c")
    created = {r["LastName"]: r["sf__Created"] for r in ok}
    assert created == {"Matched": "false", "Created": "true"}
    assert [f["sf__Error"] for f in failed] == [
        "DUPLICATE_VALUE:Duplicate external id specified: UP-NEW-1:External_Id__c --",
        "MISSING_ARGUMENT:External_Id__c not specified:--",
    ]


def test_results_come_back_out_of_order_with_sorted_columns(api: Api) -> None:
    rows = "".join(f"N{i:05d},{i}\n" for i in range(25_000))
    job = api.create(operation="insert")
    api.upload(job["id"], "LastName,Title\n" + rows)
    api.close(job["id"])
    api.wait(job["id"])
    resp = api.call("GET", f"/{job['id']}/successfulResults")
    header, first = resp.text.split("\n")[:2]
    assert header == '"sf__Id","sf__Created",LastName,Title'
    assert first.endswith('"N20000","20000"')  # the last batch first


def test_job_failures(api: Api, demo: DemoOrg) -> None:
    info, ok, _failed = api.run("LastName,Nope__c\nX,1\n", operation="insert")
    assert (
        info["state"] == "Failed"
        and info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    )
    job = api.create(operation="upsert", externalIdFieldName="LastName")
    api.upload(job["id"], "LastName\nX\n")
    api.close(job["id"])
    info = api.wait(job["id"])
    assert (
        info["errorMessage"]
        == "InvalidBatch : Field name provided, LastName is not an External ID or indexed field for Contact"
    )
    assert api.results(job["id"], "unprocessedrecords") == [{"LastName": "X"}]
    demo.set_faults(fail_bulk_jobs=True)
    try:
        info, ok, _ = api.run(
            "LastName\n" + "".join(f"F{i}\n" for i in range(6)), operation="insert"
        )
    finally:
        demo.set_faults(fail_bulk_jobs=False)
    assert (info["state"], info["numberRecordsProcessed"], len(ok)) == ("Failed", 3, 3)
    assert len(api.results(info["id"], "unprocessedrecords")) == 3


def test_abort_delete_and_refusals(api: Api) -> None:
    job = api.create(operation="insert")
    assert api.call("GET", f"/{job['id']}/successfulResults").status_code == 412
    api.upload(job["id"], "LastName\nA\n")
    api.upload(job["id"], "LastName\nB\n")
    refused = api.close(job["id"])
    assert (
        refused.status_code == 400
        and "make sure you only do 'PUT' once" in refused.json()[0]["message"]
    )
    aborted = api.call("PATCH", f"/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"
    assert api.upload(job["id"], "LastName\nC\n").status_code == 409
    assert api.call("DELETE", f"/{job['id']}").status_code == 204
    assert api.call("GET", f"/{job['id']}").status_code == 404
    hard = api.call("POST", "", json={"object": "Contact", "operation": "hardDelete"})
    assert hard.status_code == 400 and hard.json()[0]["errorCode"] == "FEATURENOTENABLED"
    assert api.call("POST", "", json={"object": "Nope", "operation": "insert"}).status_code == 400
    assert (
        api.call("POST", "", json={"object": "Contact", "operation": "upsert"}).status_code == 400
    )
    text = api.call(
        "PUT",
        f"/{api.create(operation='insert')['id']}/batches",
        data=b"x",
        headers={"Content-Type": "application/json"},
    )
    assert text.status_code == 400


def test_batches_are_counted_in_limits(api: Api) -> None:
    before = api.call("GET", "/services/data/v68.0/limits").json()["DailyBulkApiBatches"][
        "Remaining"
    ]
    api.run("LastName\n" + "".join(f"L{i}\n" for i in range(10_001)), operation="insert")
    after = api.call("GET", "/services/data/v68.0/limits").json()["DailyBulkApiBatches"][
        "Remaining"
    ]
    assert before - after == 2


def test_writes_are_seen_by_query_and_the_describe_knows_the_external_id(api: Api) -> None:
    _, ok, _ = api.run(
        "LastName,External_Id__c,Birthdate\nSeen,SEEN-1,2001-02-03\n", operation="insert"
    )
    got = api.call(
        "GET", "/services/data/v68.0/query",
        params={"q": "SELECT Id, Name, Birthdate FROM Contact WHERE External_Id__c = 'SEEN-1'"},
    ).json()["records"]  # fmt: skip
    assert [(r["Id"], r["Name"], r["Birthdate"]) for r in got] == [
        (ok[0]["sf__Id"], "Seen", "2001-02-03")
    ]
    fields = api.call("GET", "/services/data/v68.0/sobjects/Contact/describe").json()["fields"]
    external = next(f for f in fields if f["name"] == "External_Id__c")
    assert (external["externalId"], external["idLookup"], external["unique"]) == (True, True, True)
