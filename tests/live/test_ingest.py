"""Issue 15, write back: insert, update, upsert and delete against a demo org of their own.

Every result path is driven end to end: success, partial failure (raise, warn), job failure,
interrupt (during the upload and while the job waits), dry run (no request but reads), and
the written values seen by the next query, extract and report. The org is this module's alone
(its writes would change what other tests count).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import polars as pl
import pytest

import sfnotebook
from sfnotebook import ingest
from sfnotebook.errors import (
    IngestJobError,
    IngestValidationError,
    RowsFailedError,
    RowsFailedWarning,
)
from sfnotebook.ingest import _job
from sfnotebook_demo import DemoOrg
from tests.conftest import connect_to


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoOrg]:
    with DemoOrg(opportunities=2_000) as org:
        yield org


@pytest.fixture(scope="module")
def org(demo: DemoOrg) -> sfnotebook.Connection:
    return connect_to(demo)


def methods_sent(org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the HTTP method of every request the connection sends from now on."""
    sent: list[str] = []
    original = org.session.request

    def recording(method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{method} {url}")
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(org.session, "request", recording)
    return sent


def contacts(org: sfnotebook.Connection, where: str) -> pd.DataFrame:
    fields = "Id, External_Id__c, FirstName, LastName, Name, Title, Level__c, Birthdate, DoNotCall"
    soql = f"SELECT {fields}, LastModifiedDate FROM Contact WHERE {where} ORDER BY External_Id__c"  # noqa: S608
    frame = org.query(soql)
    assert isinstance(frame, pd.DataFrame)
    return frame


# --------------------------------------------------------------------------- success


def test_insert_writes_what_the_next_query_reads(org: sfnotebook.Connection) -> None:
    new = pd.DataFrame(
        {
            "FirstName": ["Ada", None],
            "LastName": ["Lovelace", 'Hopper, "Amazing" Grace'],
            "Title": ["Countess\nof Lovelace", "Rear Admiral"],
            "Level__c": ["Primary", None],
            "Birthdate": pd.to_datetime(["1815-12-10", "1906-12-09"]),
            "DoNotCall": [True, False],
            "External_Id__c": ["INS-1", "INS-2"],
        },
        index=pd.Index(["ada", "grace"], name="who"),
    )
    results = org.insert(new, "Contact", progress=False)
    assert isinstance(results, pd.DataFrame)
    assert list(results.index) == ["ada", "grace"] and results.index.name == "who"
    assert results.success.tolist() == [True, True] and results.created.tolist() == [True, True]
    assert results.id.str.match(r"^003\w{15}$").all()
    back = contacts(org, "External_Id__c IN ('INS-1', 'INS-2')")
    assert back.Id.tolist() == results.id.tolist()
    assert back.Name.tolist() == ["Ada Lovelace", 'Hopper, "Amazing" Grace']
    assert back.Title.tolist() == ["Countess\nof Lovelace", "Rear Admiral"]
    assert back.Level__c.tolist() == ["Primary", pd.NA]
    assert back.Birthdate.tolist() == list(pd.to_datetime(["1815-12-10", "1906-12-09"]))
    assert back.DoNotCall.tolist() == [True, False]


def test_update_changes_only_its_columns_and_bumps_last_modified(
    org: sfnotebook.Connection,
) -> None:
    before = contacts(org, "External_Id__c IN ('CT-000010', 'CT-000011')")
    change = before[["Id"]].assign(Title=["Chief Scientist", None])
    results = org.update(change, "Contact", progress=False)
    assert isinstance(results, pd.DataFrame)
    assert results.success.all() and not results.created.any()
    after = contacts(org, "External_Id__c IN ('CT-000010', 'CT-000011')")
    assert after.Title.tolist() == ["Chief Scientist", pd.NA]
    assert after.LastName.tolist() == before.LastName.tolist()
    assert (after.LastModifiedDate > before.LastModifiedDate).all()


def test_polars_in_polars_out_and_delete(org: sfnotebook.Connection) -> None:
    frame = pl.DataFrame({"LastName": ["Temp A", "Temp B"], "External_Id__c": ["DEL-1", "DEL-2"]})
    made = org.insert(frame, "Contact", progress=False, output="polars")
    assert isinstance(made, pl.DataFrame) and made["success"].to_list() == [True, True]
    gone = org.delete(pl.DataFrame({"Id": made["id"]}), "Contact", progress=False)
    assert isinstance(gone, pd.DataFrame) and gone.success.all()
    assert len(contacts(org, "External_Id__c IN ('DEL-1', 'DEL-2')")) == 0
    deleted = org.query(
        "SELECT Id, IsDeleted FROM Contact WHERE External_Id__c IN ('DEL-1', 'DEL-2')",
        include_deleted=True,
    )
    assert isinstance(deleted, pd.DataFrame) and deleted.IsDeleted.tolist() == [True, True]


def test_the_next_extract_and_report_see_the_write(org: sfnotebook.Connection) -> None:
    opp = org.query("SELECT Id, Name FROM Opportunity ORDER BY Id LIMIT 1")
    assert isinstance(opp, pd.DataFrame)
    results = org.update(opp[["Id"]].assign(Amount=98_765_432.5), "Opportunity", progress=False)
    assert isinstance(results, pd.DataFrame) and results.success.all()
    extracted = org.extract(
        "SELECT Id, Amount FROM Opportunity WHERE Id = :id",
        params={"id": opp.Id[0]},
        progress=False,
    )
    assert isinstance(extracted, pd.DataFrame) and extracted.Amount.tolist() == [98_765_432.5]
    report = org.report(
        "All Opportunities", filters=[("AMOUNT", "greaterThan", "98000000")], progress=False
    )
    assert report.details["Opportunity Name"].tolist() == [opp.Name[0]]
    assert report.details["Amount"].tolist() == [98_765_432.5]


# --------------------------------------------------------------------------- issue 15, done when


def test_upsert_of_10000_rows_with_37_bad_ones(org: sfnotebook.Connection) -> None:
    """9,963 successes and the 37 failures with their codes, aligned to the input; a query
    afterwards sees exactly the written values. Three jobs (rows_per_job), results matched
    by content although the demo org returns them out of order."""
    deleted = org.query(
        "SELECT Id FROM Account WHERE IsDeleted = true LIMIT 17", include_deleted=True
    )
    assert isinstance(deleted, pd.DataFrame) and len(deleted) == 17
    # Live contacts only: a deleted one keeps its unique value (Salesforce counts records in
    # the Recycle Bin too), so upserting its key would insert and fail DUPLICATE_VALUE.
    live = org.query(
        "SELECT External_Id__c FROM Contact WHERE External_Id__c LIKE 'CT-%' ORDER BY External_Id__c LIMIT 5000"
    )
    assert isinstance(live, pd.DataFrame) and len(live) == 5_000
    keys = live.External_Id__c.tolist() + [f"UPS-{i:05d}" for i in range(5_000)]
    frame = pd.DataFrame(
        {
            "External_Id__c": keys,
            "LastName": [f"Name {i}" for i in range(10_000)],
            "Title": [f"Upserted {i}" for i in range(10_000)],
            "AccountId": [None] * 10_000,
        },
        index=pd.RangeIndex(100_000, 110_000, name="source_row"),
    )
    missing = list(range(3, 10_000, 500))[:20]  # 20 rows pointing at no account
    gone = list(range(7, 10_000, 590))[:17]  # 17 rows pointing at deleted accounts
    frame.loc[frame.index[missing], "AccountId"] = "001Dm0000ZZZZZZIQA"
    frame.loc[frame.index[gone], "AccountId"] = deleted.Id.tolist()
    with pytest.raises(RowsFailedError) as caught:
        org.upsert(
            frame, "Contact", external_id="External_Id__c", rows_per_job=4_000, progress=False
        )
    results = caught.value.results
    assert caught.value.failed == 37
    assert "37 of 10,000 rows were not written" in str(caught.value)
    assert list(results.index) == list(frame.index)
    assert results.success.sum() == 9_963
    failed = results[~results.success]
    assert sorted(failed.row) == sorted(missing + gone)
    assert set(failed.loc[frame.index[missing], "error_code"]) == {"INVALID_CROSS_REFERENCE_KEY"}
    assert set(failed.loc[frame.index[gone], "error_code"]) == {"ENTITY_IS_DELETED"}
    assert results.job_id.nunique() == 3
    ok = results[results.success]
    assert ok.created.sum() == 5_000 - len([i for i in missing + gone if i >= 5_000])
    back = org.query(
        "SELECT Id, External_Id__c, LastName, Title FROM Contact WHERE Title LIKE 'Upserted %'"
    )
    assert isinstance(back, pd.DataFrame)
    expected = frame.loc[ok.index, ["External_Id__c", "LastName", "Title"]].assign(Id=ok.id)
    got = back.set_index("External_Id__c").sort_index()
    want = expected.set_index("External_Id__c").sort_index()
    assert got.index.tolist() == want.index.tolist()
    assert got.LastName.tolist() == want.LastName.tolist()
    assert got.Title.tolist() == want.Title.tolist()
    assert got.Id.tolist() == want.Id.tolist()


# --------------------------------------------------------------------------- other paths


def test_dry_run_sends_no_request_but_reads(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = methods_sent(org, monkeypatch)
    frame = pd.DataFrame({"LastName": ["Dry"], "AccountId": [None], "External_Id__c": ["DRY-1"]})
    plan = org.upsert(frame, "Contact", external_id="External_Id__c", dry_run=True)
    assert isinstance(plan, ingest.IngestPlan)
    assert plan.rows == 1 and plan.api_calls == 7 and plan.batches == 1
    assert all(line.startswith("GET ") for line in sent)
    assert len(contacts(org, "External_Id__c = 'DRY-1'")) == 0


def test_validation_refuses_before_any_job(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = methods_sent(org, monkeypatch)
    with pytest.raises(IngestValidationError) as caught:
        org.insert(
            pd.DataFrame({"LastName": ["x" * 81], "MailingGeocodeAccuracy": ["Nope"]}), "Contact"
        )
    assert [p.column for p in caught.value.problems] == ["LastName", "MailingGeocodeAccuracy"]
    assert all(line.startswith("GET ") for line in sent)


def test_errors_warn_returns_the_results(org: sfnotebook.Connection) -> None:
    frame = pd.DataFrame(
        {"LastName": ["Warned", "Also"], "ReportsToId": ["003Dm0000ZZZZZZIQA", None]}
    )
    with pytest.warns(RowsFailedWarning, match="1 of 2 rows were not written"):
        results = org.insert(frame, "Contact", errors="warn", progress=False)
    assert isinstance(results, pd.DataFrame)
    assert results.success.tolist() == [False, True]
    assert results.error_code.tolist() == ["INVALID_CROSS_REFERENCE_KEY", pd.NA]
    assert results.error_message[0] == "invalid cross reference id"


def test_a_failed_job_stops_the_call_and_says_which_rows_were_written(
    demo: DemoOrg, org: sfnotebook.Connection
) -> None:
    frame = pd.DataFrame(
        {
            "LastName": [f"Fail {i}" for i in range(40)],
            "External_Id__c": [f"JF-{i}" for i in range(40)],
        }
    )
    demo.set_faults(fail_bulk_jobs=True)
    try:
        with pytest.raises(IngestJobError) as caught:
            org.insert(frame, "Contact", rows_per_job=20, progress=False)
    finally:
        demo.set_faults(fail_bulk_jobs=False)
    error = caught.value
    assert error.state == "Failed" and "injected by the demo org" in (error.error_message or "")
    results = error.results
    # the demo org fails a job after its first half: 10 written, 10 not processed, 20 not sent
    assert results.success.tolist() == [True] * 10 + [False] * 30
    assert results.error_code.tolist()[10:] == ["NOT_PROCESSED"] * 10 + ["NOT_SENT"] * 20
    assert "10 of 40 rows were written and stay written" in str(error)
    assert len(contacts(org, "External_Id__c LIKE 'JF-%'")) == 10


def test_an_interrupt_while_waiting_aborts_the_job(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def interrupted(self: _job.Job, poll: float, on_state: Any) -> Any:
        seen.append(str(self.id))
        raise KeyboardInterrupt

    monkeypatch.setattr(_job.Job, "wait", interrupted)
    frame = pd.DataFrame({"LastName": ["Stopped"], "External_Id__c": ["INT-1"]})
    with pytest.raises(KeyboardInterrupt):
        org.insert(frame, "Contact", progress=False)
    monkeypatch.undo()
    info = org.get_json(f"jobs/ingest/{seen[0]}")
    assert info["state"] == "Aborted"
    assert len(contacts(org, "External_Id__c = 'INT-1'")) == 0


def test_an_interrupt_during_the_upload_aborts_the_empty_job(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []

    def upload(self: _job.Job, data: bytes) -> None:
        created.append(str(self.id))
        raise KeyboardInterrupt

    monkeypatch.setattr(_job.Job, "upload", upload)
    with pytest.raises(KeyboardInterrupt):
        org.insert(pd.DataFrame({"LastName": ["Never"]}), "Contact", progress=False)
    monkeypatch.undo()
    assert org.get_json(f"jobs/ingest/{created[0]}")["state"] == "Aborted"


def test_job_calls_that_write_are_never_retried(
    demo: DemoOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_to(demo)
    retries: list[tuple[str, Any]] = []
    original = conn.request

    def spying(method: str, url: str, **kw: Any) -> Any:
        retries.append((method, kw.get("retry")))
        return original(method, url, **kw)

    monkeypatch.setattr(conn, "request", spying)
    results = conn.insert(pd.DataFrame({"LastName": ["Once"]}), "Contact", progress=False)
    assert isinstance(results, pd.DataFrame) and results.success.all()
    writes = [r for r in retries if r[0] in ("POST", "PUT", "PATCH")]
    assert [m for m, _ in writes] == ["POST", "PUT", "PATCH"]
    assert all(retry is False for _, retry in writes)


def test_the_module_verbs_use_the_default_connection(org: sfnotebook.Connection) -> None:
    sfnotebook.connection.set_default(org)
    try:
        plan = sfnotebook.insert(pd.DataFrame({"LastName": ["x"]}), "Contact", dry_run=True)
    finally:
        sfnotebook.connection.set_default(None)
    assert isinstance(plan, ingest.IngestPlan)
    assert "sobject" in str(help_text(sfnotebook.upsert))


def help_text(verb: Any) -> str:
    import inspect

    return str(inspect.signature(verb))
