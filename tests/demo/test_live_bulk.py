"""Bulk API 2.0 query jobs of the demo org: life cycle, CSV pages, locators, errors.

Two demo orgs: one whose jobs finish almost at once, one whose jobs wait in the queue for
ten minutes (so abort, delete and "not complete" are tested without racing the clock).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.bulk.endpoints import DEFAULT_PAGE_ROWS
from sfnotebook_demo.bulk.results import decode_locator, encode_locator, write_results
from sfnotebook_demo.data import database as data

OPPORTUNITIES = 2_000
V = "/services/data/v68.0"
SELECT = (
    "SELECT Id, Name, Account.Name, Account.Owner.Name, CloseDate, Amount, IsWon, CreatedDate, "
    "Description, Follow_Up_Time__c, Competitors__c, Seats__c FROM Opportunity"
)


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
        self.token = token
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, version: str = "68.0", **kw: Any) -> Any:
        url = path if path.startswith("/services") else f"/services/data/v{version}{path}"
        return self.session.request(method, self.demo.url + url, timeout=60, **kw)

    def create(self, soql: str, **options: Any) -> dict[str, Any]:
        resp = self.call(
            "POST", "/jobs/query", json={"operation": "query", "query": soql, **options}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def wait(self, job_id: str) -> dict[str, Any]:
        for _ in range(600):
            info = self.call("GET", f"/jobs/query/{job_id}").json()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return info  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never ended")

    def pages(self, job_id: str, **params: Any) -> Iterator[requests.Response]:
        locator = None
        while True:
            query = dict(params, **({"locator": locator} if locator else {}))
            resp = self.call("GET", f"/jobs/query/{job_id}/results", params=query)
            assert resp.status_code == 200, resp.text
            yield resp
            locator = resp.headers["Sforce-Locator"]
            if locator == "null":
                return


def start(monkeypatch: pytest.MonkeyPatch, delay: str) -> DemoOrg:
    monkeypatch.setenv("SFNOTEBOOK_DEMO_BULK_DELAY", delay)
    return DemoOrg(opportunities=OPPORTUNITIES).start()


@pytest.fixture(scope="module")
def fast() -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as mp:
        demo = start(mp, "0.05")
    try:
        yield Api(demo)
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def slow() -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as mp:
        demo = start(mp, "1200")
    try:
        yield Api(demo)
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return data.Database(data.ensure_database(opportunities=OPPORTUNITIES)).connect()


def rows_of(resp: requests.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.content.decode(), newline="")))


_CELL = re.compile(r'("(?:[^"]|"")*"|)(,|\n|$)')


def raw_cells(text: str) -> list[list[str]]:
    """The raw cells of a comma/LF CSV text, quotes kept (an empty cell stays empty)."""
    rows: list[list[str]] = [[]]
    pos = 0
    while pos < len(text):
        m = _CELL.match(text, pos)
        assert m is not None and m.end() > pos, text[pos : pos + 40]
        rows[-1].append(m.group(1))
        if m.group(2) == "\n":
            rows.append([])
        pos = m.end()
    return [r for r in rows if r]


def run(api: Api, soql: str, **options: Any) -> str:
    job = api.create(soql, **options)
    info = api.wait(job["id"])
    assert info["state"] == "JobComplete", info
    return job["id"]  # type: ignore[no-any-return]


# --- life cycle -----------------------------------------------------------------------------


def test_create_and_complete(fast: Api, db: sqlite3.Connection) -> None:
    job = fast.create("SELECT Id FROM Opportunity")
    assert set(job) == {"id", "operation", "object", "createdById", "createdDate",
                        "systemModstamp", "state", "concurrencyMode", "contentType",
                        "apiVersion", "lineEnding", "columnDelimiter"}  # fmt: skip
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert job["state"] == "UploadComplete" and job["object"] == "Opportunity"
    assert job["apiVersion"] == 68.0 and job["createdById"] == fast.demo.user_id
    info = fast.wait(job["id"])
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Query"
    live = db.execute("SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0").fetchone()[0]
    assert info["numberRecordsProcessed"] == live
    assert {"retries", "totalProcessingTime", "isPkChunkingSupported"} <= set(info)
    listed = fast.call("GET", "/jobs/query").json()
    assert listed["done"] is True
    assert job["id"] in [j["id"] for j in listed["records"]]


def test_query_all_includes_deleted(fast: Api, db: sqlite3.Connection) -> None:
    job = fast.create("SELECT Id, IsDeleted FROM Opportunity", operation="queryAll")
    info = fast.wait(job["id"])
    assert info["numberRecordsProcessed"] == OPPORTUNITIES
    body = rows_of(next(fast.pages(job["id"])))
    assert {r[1] for r in body[1:]} == {"true", "false"}


def test_locator_chain(fast: Api, db: sqlite3.Connection) -> None:
    job_id = run(fast, "SELECT Id, Name FROM Opportunity")
    seen: list[str] = []
    counts = []
    for resp in fast.pages(job_id, maxRecords=700):
        table = rows_of(resp)
        assert table[0] == ["Id", "Name"]  # the header row on every page
        assert resp.headers["Content-Type"].startswith("text/csv")
        counts.append(int(resp.headers["Sforce-NumberOfRecords"]))
        assert counts[-1] == len(table) - 1
        seen += [r[0] for r in table[1:]]
    assert counts[:-1] == [700] * (len(counts) - 1) and counts[-1] <= 700
    expected = [r[0] for r in db.execute("SELECT Id FROM Opportunity WHERE IsDeleted = 0")]
    assert sorted(seen) == sorted(expected)
    # Locators can be re-read (idempotent retries) and the default page holds everything.
    whole = list(fast.pages(job_id))
    assert len(whole) == 1 and int(whole[0].headers["Sforce-NumberOfRecords"]) == len(seen)


def test_csv_is_written_as_salesforce_writes_it(fast: Api, db: sqlite3.Connection) -> None:
    job_id = run(fast, SELECT)
    resp = next(fast.pages(job_id))
    text = resp.content.decode()
    header = text.split("\n", 1)[0]
    assert header == ('"Id","Name","Account.Name","Account.Owner.Name","CloseDate","Amount",'
                      '"IsWon","CreatedDate","Description","Follow_Up_Time__c",'
                      '"Competitors__c","Seats__c"')  # fmt: skip
    table = rows_of(resp)
    cols = table[0]
    by_id = {r[0]: dict(zip(cols, r, strict=True)) for r in table[1:]}
    stored = db.execute(
        "SELECT o.Id, o.Description, o.IsWon, o.CreatedDate, o.Amount, a.Name, o.Seats__c "
        "FROM Opportunity o LEFT JOIN Account a ON a.Id = o.AccountId WHERE o.IsDeleted = 0"
    ).fetchall()
    assert len(stored) == len(by_id)
    for rid, description, won, created, amount, account, seats in stored:
        row = by_id[rid]
        assert row["Description"] == (description or "")  # embedded newlines, quotes, commas
        assert row["IsWon"] == ("true" if won else "false")
        assert row["CreatedDate"] == created.replace("+0000", "Z")
        assert row["Amount"] == ("" if amount is None else repr(amount))
        assert row["Account.Name"] == (account or "")
        assert row["Seats__c"] == ("" if seats is None else str(seats))
    assert any("\n" in r["Description"] for r in by_id.values())
    assert any('"' in r["Description"] for r in by_id.values())
    # Nulls are empty unquoted cells; every present value is quoted.
    tokens = raw_cells(text)
    assert len(tokens) == len(table)
    for raw, parsed in zip(tokens, table, strict=True):
        for cell, value in zip(raw, parsed, strict=True):
            assert cell == ("" if value == "" else '"' + value.replace('"', '""') + '"')
    assert any(cell == "" for row in tokens for cell in row)


def test_delimiter_and_line_ending(fast: Api) -> None:
    job_id = run(fast, "SELECT Id, Name FROM Account", columnDelimiter="PIPE", lineEnding="CRLF")
    content = next(fast.pages(job_id, maxRecords=5)).content.decode()
    assert content.startswith('"Id"|"Name"\r\n')
    assert content.count("\r\n") >= 6
    job_id = run(fast, "SELECT Id, Name FROM Account", columnDelimiter="TAB")
    assert next(fast.pages(job_id, maxRecords=5)).content.decode().startswith('"Id"\t"Name"\n')


def test_empty_result(fast: Api) -> None:
    job_id = run(fast, "SELECT Id, Name FROM Account WHERE Name = 'no such account'")
    pages = list(fast.pages(job_id))
    assert len(pages) == 1
    assert pages[0].headers["Sforce-NumberOfRecords"] == "0"
    assert pages[0].headers["Sforce-Locator"] == "null"
    assert pages[0].content == b'"Id","Name"\n'


@pytest.mark.parametrize("max_records", ["honoured", "ignored"])
def test_result_pages(fast: Api, max_records: str) -> None:
    fast.demo.set_dialect(result_pages_max_records=max_records)
    try:
        job_id = run(fast, "SELECT Id FROM Opportunity")
        old = fast.call("GET", f"/jobs/query/{job_id}/resultPages", version="57.0")
        assert old.status_code == 404
        url = f"{V}/jobs/query/{job_id}/resultPages?maxRecords=150"
        ids: list[str] = []
        calls = 0
        while url:
            body = fast.call("GET", url).json()
            calls += 1
            assert 1 <= len(body["resultPages"]) <= 5
            for page in body["resultPages"]:
                sized = "maxRecords=150" in page["resultUrl"]
                assert sized is (max_records == "honoured"), page["resultUrl"]
                rows = rows_of(fast.call("GET", page["resultUrl"]))[1:]
                assert len(rows) <= (150 if sized else DEFAULT_PAGE_ROWS)
                ids += [r[0] for r in rows]
            url = body["nextRecordsUrl"]
            assert body["done"] is (url is None)
    finally:
        fast.demo.set_dialect(result_pages_max_records="ignored")
    assert len(ids) == len(set(ids)) > 150
    assert (calls > 1) is (max_records == "honoured")  # 150-row pages need more than five


def test_results_only_from_the_creating_version(fast: Api) -> None:
    job_id = run(fast, "SELECT Id FROM Account")
    assert fast.call("GET", f"/jobs/query/{job_id}", version="60.0").status_code == 200
    for path in ("results", "resultPages"):
        resp = fast.call("GET", f"/jobs/query/{job_id}/{path}", version="60.0")
        assert resp.status_code == 409
        assert resp.json()[0]["errorCode"]


def test_bad_locator_and_max_records(fast: Api) -> None:
    job_id = run(fast, "SELECT Id FROM Account")
    for params in ({"locator": "not-a-locator"}, {"locator": encode_locator(10**9)},
                   {"maxRecords": "0"}, {"maxRecords": "ten"}):  # fmt: skip
        resp = fast.call("GET", f"/jobs/query/{job_id}/results", params=params)
        assert resp.status_code == 400, params


def test_failed_jobs(fast: Api) -> None:
    fast.demo.set_faults(fail_bulk_jobs=True)
    try:
        info = fast.wait(fast.create("SELECT Id FROM Account")["id"])
    finally:
        fast.demo.set_faults(fail_bulk_jobs=False)
    assert info["state"] == "Failed" and info["errorMessage"]


def test_delete_completed_job(fast: Api) -> None:
    job_id = run(fast, "SELECT Id FROM Account")
    assert fast.call("DELETE", f"/jobs/query/{job_id}").status_code == 204
    assert fast.call("GET", f"/jobs/query/{job_id}").status_code == 404
    assert fast.call("GET", f"/jobs/query/{job_id}/results").status_code == 404


def test_simple_salesforce_bulk2(fast: Api, db: sqlite3.Connection) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = fast.demo.ca_bundle
    sf: Any = Salesforce(instance_url=fast.demo.url, session_id=fast.token, session=session,
                    version="68.0")  # fmt: skip
    pages = list(sf.bulk2.Opportunity.query("SELECT Id, Name FROM Opportunity", max_records=500,
                                            wait=0.05))  # fmt: skip
    ids = [r[0] for page in pages for r in list(csv.reader(io.StringIO(page)))[1:]]
    live = db.execute("SELECT COUNT(*) FROM Opportunity WHERE IsDeleted = 0").fetchone()[0]
    assert len(pages) > 1 and len(ids) == live


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "code", "message"),
    [
        ("SELECT BillingAddress FROM Account", "API_ERROR", "compound data not supported"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "API_ERROR",
         "Aggregate Relationships not supported"),
        ("SELECT COUNT() FROM Account", "API_ERROR", "Aggregate Relationships not supported"),
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "API_ERROR", "GROUP BY"),
        ("SELECT Id FROM Account LIMIT 5 OFFSET 5", "API_ERROR", "OFFSET"),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", "API_ERROR", "TYPEOF"),
        ("SELECT Nope FROM Account", "INVALID_FIELD", "No such column 'Nope'"),
        ("SELECT Id FROM Nope", "INVALID_TYPE", "sObject type 'Nope' is not supported"),
        ("SELEC Id FROM Account", "MALFORMED_QUERY", "ERROR at Row:1:Column:1"),
    ],
)  # fmt: skip
def test_refused_queries(fast: Api, soql: str, code: str, message: str) -> None:
    resp = fast.call("POST", "/jobs/query", json={"operation": "query", "query": soql})
    assert resp.status_code == 400
    body = resp.json()
    assert body[0]["errorCode"] == code and message in body[0]["message"]


@pytest.mark.parametrize(
    "job",
    [
        {"operation": "insert", "query": "SELECT Id FROM Account"},
        {"operation": "query"},
        {"operation": "query", "query": "SELECT Id FROM Account", "contentType": "JSON"},
        {"operation": "query", "query": "SELECT Id FROM Account", "columnDelimiter": "SPACE"},
        {"operation": "query", "query": "SELECT Id FROM Account", "lineEnding": "CR"},
    ],
)
def test_invalid_job_requests(fast: Api, job: dict[str, str]) -> None:
    resp = fast.call("POST", "/jobs/query", json=job)
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALIDJOB"


def test_unknown_job_and_old_version(fast: Api) -> None:
    resp = fast.call("GET", "/jobs/query/750Dm0000ZZZZZZAAA")
    assert resp.status_code == 404
    assert resp.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    old = fast.call("POST", "/jobs/query", version="46.0",
                    json={"operation": "query", "query": "SELECT Id FROM Account"})  # fmt: skip
    assert old.status_code == 404


# --- jobs that stay queued ------------------------------------------------------------------


def test_results_before_completion(slow: Api) -> None:
    job = slow.create("SELECT Id FROM Account")
    resp = slow.call("GET", f"/jobs/query/{job['id']}/results")
    assert resp.status_code == 412 and resp.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    assert slow.call("GET", f"/jobs/query/{job['id']}").json()["state"] == "UploadComplete"


def test_abort(slow: Api) -> None:
    job = slow.create("SELECT Id FROM Account")
    resp = slow.call("PATCH", f"/jobs/query/{job['id']}", json={"state": "Aborted"})
    assert resp.status_code == 200 and resp.json()["state"] == "Aborted"
    assert slow.call("GET", f"/jobs/query/{job['id']}").json()["state"] == "Aborted"
    again = slow.call("PATCH", f"/jobs/query/{job['id']}", json={"state": "Aborted"})
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOB"
    other = slow.create("SELECT Id FROM Account")["id"]
    bad = slow.call("PATCH", f"/jobs/query/{other}", json={"state": "JobComplete"})
    assert bad.status_code == 400
    assert slow.call("GET", f"/jobs/query/{job['id']}/results").status_code == 412


def test_delete_queued_job(slow: Api) -> None:
    job = slow.create("SELECT Id FROM Account")
    assert slow.call("DELETE", f"/jobs/query/{job['id']}").status_code == 204
    assert slow.call("GET", f"/jobs/query/{job['id']}").status_code == 404
    assert job["id"] not in [j["id"] for j in slow.call("GET", "/jobs/query").json()["records"]]


# --- the result file on its own -------------------------------------------------------------


def test_locators_round_trip() -> None:
    for offset in (0, 1, 99, 10_000, 123_456_789):
        assert decode_locator(encode_locator(offset)) == offset
    assert encode_locator(10000) == "MTAwMDA"  # the shape Salesforce's locators have
    assert decode_locator("???") is None and decode_locator("bnVsbA") is None


def test_write_results_offsets_with_non_ascii(tmp_path: Path) -> None:
    rows = [
        ("001A", 'Zoë, "the" one\nline two', 1, "2024-01-31T18:25:43.000+0000", 12.5, None),
        ("001B", None, 0, None, None, 3),
        ("001C", "日本語", None, "2024-02-01T00:00:00.000+0000", 1e7, 10),
    ] * 2000  # several batches
    result = write_results(
        tmp_path / "r.csv",
        ["Id", "Description", "IsWon", "CreatedDate", "Amount", "Seats__c"],
        ["id", "textarea", "boolean", "datetime", "currency", "int"],
        rows,
        line_ending="\r\n",
    )
    assert result is not None and result.rows == 6000
    n, chunks = result.page(5999, 10)
    text = b"".join(chunks).decode()
    assert n == 1
    assert text == ('"Id","Description","IsWon","CreatedDate","Amount","Seats__c"\r\n'
                    '"001C","日本語",,"2024-02-01T00:00:00.000Z","10000000.0","10"\r\n')  # fmt: skip
    n, chunks = result.page(0, 2)
    parsed = list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert parsed[1] == ["001A", 'Zoë, "the" one\nline two', "true", "2024-01-31T18:25:43.000Z",
                         "12.5", ""]  # fmt: skip
    assert parsed[2] == ["001B", "", "false", "", "", "3"]


def test_oldest_results_are_evicted_past_the_disk_budget(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from sfnotebook_demo.bulk.jobs import BulkJob, BulkState
    from sfnotebook_demo.soql.engine import compile_soql

    database = data.Database(data.ensure_database(opportunities=OPPORTUNITIES))
    state = BulkState(SimpleNamespace(features={}, database=database))
    state.queue_delay = state.min_run = 0.0
    state.max_result_bytes = 1  # any second result goes over budget
    compiled = compile_soql("SELECT Id FROM Account")
    for _ in range(3):
        job = BulkJob(id=state.new_id(), operation="query", soql="", object="Account",
                      created_by="", api_version="68.0", column_delimiter="COMMA",
                      line_ending="LF", compiled=compiled)  # fmt: skip
        state.submit(job)
        expected = ([job.id], [f"{job.id}.csv"])
        for _ in range(600):
            files = sorted(p.name for p in state.folder.iterdir())
            if job.state == "JobComplete" and (list(state.jobs), files) == expected:
                break
            time.sleep(0.02)
        assert job.state == "JobComplete"
        assert (list(state.jobs), files) == expected  # the older results are gone
    database.close()


def test_a_job_counts_once_against_its_daily_limit(fast: Api) -> None:
    """The job endpoint and the platform's table of limit consumers must not both count it."""

    def remaining() -> int:
        return int(fast.call("GET", "/limits").json()["DailyBulkV2QueryJobs"]["Remaining"])

    before = remaining()
    fast.create("SELECT Id FROM Account LIMIT 1")
    assert before - remaining() == 1
