"""Every check before a write: each rule refuses, lists every problem at once, sends nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from sfnotebook import ingest
from sfnotebook.errors import IngestValidationError
from tests.unit.ingest.conftest import NoRequests

ADA = {"LastName": ["Lovelace"], "FirstName": ["Ada"]}


def problems(org: NoRequests, frame: Any, op: str = "insert", **kw: Any) -> list[tuple[Any, ...]]:
    verb = getattr(ingest, op)
    with pytest.raises(IngestValidationError) as caught:
        verb(org, frame, "Contact", **kw)
    error = caught.value
    assert "nothing was sent" in str(error)
    return [(p.column, p.reason, p.rows) for p in error.problems]


def test_a_valid_frame_passes_and_dry_run_sends_nothing(org: NoRequests) -> None:
    # NoRequests answers only describes: a job creation would raise NotImplementedError.
    plan = ingest.insert(org, pd.DataFrame(ADA), "contact", dry_run=True)
    assert isinstance(plan, ingest.IngestPlan)
    assert (plan.sobject, plan.rows, len(plan.jobs), plan.api_calls) == ("Contact", 1, 1, 7)
    assert plan.columns == [
        ("LastName", "LastName", "string"),
        ("FirstName", "FirstName", "string"),
    ]
    assert plan.sample == "LastName,FirstName\nLovelace,Ada\n"
    assert "nothing was sent" in repr(plan) and "Dry run" in plan._repr_html_()


def test_unknown_columns_are_named_with_close_matches(org: NoRequests) -> None:
    found = problems(org, pd.DataFrame({**ADA, "Emial": ["a@b.co"], "Foo": [1]}))
    assert found == [
        ("Emial", "Contact has no field 'Emial' (did you mean Email?)", ()),
        ("Foo", "Contact has no field 'Foo'", ()),
    ]


def test_fields_that_are_not_createable_or_updateable(org: NoRequests) -> None:
    frame = pd.DataFrame(
        {**ADA, "Name": ["Ada Lovelace"], "CreatedDate": [pd.Timestamp("2024-01-01", tz="UTC")]}
    )
    found = problems(org, frame)
    assert ("Name", "Name is not createable: drop the column", ()) in found
    assert ("CreatedDate", "CreatedDate is not createable: drop the column", ()) in found
    update = pd.DataFrame({"Id": ["003000000000001AAA"], "Name": ["x"]})
    assert problems(org, update, "update") == [
        ("Name", "Name is not updateable: drop the column", ())
    ]
    upsert = pd.DataFrame({"External_Id__c": ["e1"], "LastName": ["x"], "Name": ["y"]})
    assert problems(org, upsert, "upsert", external_id="External_Id__c") == [
        ("Name", "Name is not createable and updateable: drop the column", ())
    ]


def test_required_fields_missing_on_insert(org: NoRequests) -> None:
    # LastName: nillable false, createable, not defaulted on create. DoNotCall and OwnerId are
    # defaulted on create, Id and Name are not createable: none of them is required.
    assert problems(org, pd.DataFrame({"FirstName": ["Ada"]})) == [
        ("LastName", "required on insert: add a column LastName", ())
    ]
    frame = pd.DataFrame({"LastName": ["a", None, "", float("nan")]}, index=[7, 8, 9, 10])
    assert problems(org, frame) == [
        ("LastName", "LastName is required: these rows have no value", (8, 9, 10))
    ]


def test_a_required_field_is_never_set_to_null(org: NoRequests) -> None:
    frame = pd.DataFrame(
        {"Id": ["003000000000001AAA", "003000000000002AAA"], "LastName": ["x", None]}
    )
    assert problems(org, frame, "update") == [
        ("LastName", "LastName is required: it cannot be set to null", (1,))
    ]
    # skip_nulls: a missing value leaves the field as it is, which is allowed.
    plan = ingest.update(org, frame, "Contact", skip_nulls=True, dry_run=True)
    assert isinstance(plan, ingest.IngestPlan)
    assert plan.sample.splitlines()[2] == "003000000000002AAA,"


@pytest.mark.parametrize(
    ("column", "values", "reason", "rows"),
    [
        ("FirstName", ["x" * 41, "ok"], "longer than the field's 40 characters", (0,)),
        ("Level__c", ["Primary", "Tertiary"], "not a value of this restricted picklist", (1,)),
        ("Skills__c", ["Python;SQL", "Python;Cobol"], "not a value of this restricted picklist", (1,)),
        ("Email", ["ada@example.org", "not-an-email"], "not an email address", (1,)),
        ("Seats__c", [12, 12345], "too large for the field (at most 4 digits)", (1,)),
        ("Seats__c", [1.5, 2.0], "not a whole number", (0,)),
        ("Score__c", [999.99, 1000.0], "too large for the field (at most 3 digits before the decimal point)", (1,)),
        ("Score__c", ["12.5", "twelve"], "not a number", (1,)),
        ("Score__c", [1.0, float("inf")], "not a finite number (infinity)", (1,)),
        ("DoNotCall", ["true", "maybe"], 'not a boolean (True/False, or the text "true"/"false")', (1,)),
        ("Birthdate", ["1815-12-10", "10/12/1815"], "not a date written yyyy-mm-dd", (1,)),
        ("Birthdate", [pd.Timestamp("1815-12-10"), pd.Timestamp("1815-12-10 13:00")],
         "a date with a time of day: keep only the date (.dt.normalize())", (1,)),
        ("Next_Call__c", [pd.Timestamp("2024-01-01 10:00")] * 2,
         "a datetime without a time zone, whose moment is unknown: localize it first "
         "(df[col].dt.tz_localize('UTC'), or your zone)", (0, 1)),
        ("Call_Time__c", ["10:30:00", "half past ten"], "not a time written hh:mm:ss", (1,)),
        ("AccountId", ["001000000000001AAA", "001-bad"], "not a record Id (15 or 18 letters and digits)", (1,)),
        ("AccountId", ["003000000000001AAA", "001000000000001"], "an Id of another object (this field takes 001...)", (0,)),
        ("FirstName", ["#N/A", "Ada"], "the text '#N/A' cannot be written: Bulk API reads it as null", (0,)),
        ("FirstName", [1.5, 2.5], "text is needed, not double", (0, 1)),
    ],
)  # fmt: skip
def test_values_that_do_not_fit_their_field(
    org: NoRequests, column: str, values: list[Any], reason: str, rows: tuple[int, ...]
) -> None:
    frame = pd.DataFrame({"LastName": ["a", "b"], column: values})
    assert problems(org, frame) == [(column, reason, rows)]


def test_every_problem_is_listed_at_once(org: NoRequests) -> None:
    frame = pd.DataFrame(
        {"FirstName": ["x" * 41] * 7, "Level__c": ["Nope"] * 7, "Bad": [0] * 7},
        index=list("abcdefg"),
    )
    with pytest.raises(IngestValidationError) as caught:
        ingest.insert(org, frame, "Contact")
    error = caught.value
    assert len(error.problems) == 4
    text = str(error)
    assert "4 problems" in text
    assert "(rows 'a', 'b', 'c', 'd', 'e' and 2 more)" in text
    table = error.table()
    assert list(table.columns) == ["column", "row", "reason"]
    assert len(table) == 7 + 7 + 1 + 1
    assert table[table.column == "Bad"].values.tolist() == [
        ["Bad", None, "Contact has no field 'Bad'"]
    ]
    assert table.row.tolist()[:3] == ["a", "b", "c"]


def test_update_and_delete_need_each_id_once(org: NoRequests) -> None:
    assert problems(org, pd.DataFrame({"LastName": ["x"]}), "update") == [
        ("Id", "update needs the Id column of the records to change", ())
    ]
    ids = ["003000000000001AAA", "003000000000001aaa", None, "001000000000001AAA"]
    found = problems(org, pd.DataFrame({"Id": ids}), "delete")
    assert found == [
        ("Id", "an Id of another object (this field takes 003...)", (3,)),
        ("Id", "Id is missing in these rows: each row needs one", (2,)),
        ("Id", "the same Id is given in several rows: give each record once", (0, 1)),
    ]
    assert problems(org, pd.DataFrame({"Id": ["003000000000001AAA"], "LastName": ["x"]})) == [
        ("Id", "an insert creates new records: drop the Id column (or update)", ())
    ]


def test_the_upsert_key_must_be_an_external_id(org: NoRequests) -> None:
    frame = pd.DataFrame({"LastName": ["x"], "FirstName": ["y"]})
    assert problems(org, frame, "upsert", external_id="FirstName") == [
        (
            "FirstName",
            "Contact cannot match records by 'FirstName': external_id must be an External ID field (or Id)",
            (),
        )
    ]
    assert problems(org, frame, "upsert", external_id="Nope__c") == [
        (
            "Nope__c",
            "Contact has no field 'Nope__c': external_id must be an External ID field (or Id)",
            (),
        )
    ]
    assert problems(org, frame, "upsert", external_id="External_Id__c") == [
        ("External_Id__c", "upsert needs a column External_Id__c to match records by", ())
    ]
    dup = pd.DataFrame({"External_Id__c": ["A-1", "a-1", None], "LastName": ["x", "y", "z"]})
    assert problems(org, dup, "upsert", external_id="External_Id__c") == [
        ("External_Id__c", "External_Id__c is missing in these rows: each row needs one", (2,)),
        (
            "External_Id__c",
            "the same External_Id__c is given in several rows: give each record once",
            (0, 1),
        ),
    ]
    # idLookup fields (Email) and Id are keys too
    plan = ingest.upsert(org, pd.DataFrame({"Email": ["a@b.co"], "LastName": ["x"]}), "Contact",
                         external_id="email", dry_run=True)  # fmt: skip
    assert isinstance(plan, ingest.IngestPlan) and plan.external_id == "Email"


def test_relationship_columns(org: NoRequests) -> None:
    frame = pd.DataFrame(
        {"LastName": ["x"], "Account.Number__c": ["A-7"], "ReportsTo.External_Id__c": ["CT-1"]}
    )
    plan = ingest.insert(org, frame, "Contact", dry_run=True)
    assert isinstance(plan, ingest.IngestPlan)
    assert [h for _, h, _ in plan.columns] == [
        "LastName",
        "Account.Number__c",
        "ReportsTo.External_Id__c",
    ]
    bad = pd.DataFrame({"LastName": ["x"], "Account.Name": ["Acme"], "Boss.Email": ["b@c.de"]})
    assert problems(org, bad) == [
        (
            "Account.Name",
            "Account cannot match records by 'Name': use an External ID (or idLookup) field of Account",
            (),
        ),
        ("Boss.Email", "Contact has no relationship 'Boss'", ()),
    ]


def test_frame_shapes(org: NoRequests) -> None:
    mixed = pd.DataFrame({"LastName": ["x", "y"], "Seats__c": [1, "two"]})
    found = problems(org, mixed)
    assert found[0][0] == "Seats__c" and found[0][1].startswith("its values are not of one type")
    twice = pd.DataFrame([["x", "y"]], columns=["LastName", "LastName"])
    assert problems(org, twice) == [("LastName", "two columns carry this name: keep one", ())]
    assert problems(org, pd.DataFrame({"LastName": ["x"], "lastname": ["y"]})) == [
        ("lastname", "names the same field as column 'LastName': keep one", ())
    ]
    with pytest.raises(TypeError, match="pandas or polars DataFrame or a pyarrow.Table"):
        ingest.insert(org, [{"LastName": "x"}], "Contact")


def test_the_object_must_allow_the_operation(org: NoRequests) -> None:
    org.describes["contact"] = dict(org.describes["contact"], deletable=False)
    assert problems(org, pd.DataFrame({"Id": ["003000000000001AAA"]}), "delete") == [
        (None, "Contact is not deletable for this user: nothing can be deleteed", ())
    ]


def test_polars_and_arrow_inputs_and_their_types(org: NoRequests) -> None:
    when = dt.datetime(2024, 1, 31, 10, 0, 5, 123000, tzinfo=dt.timezone.utc)
    data = {
        "LastName": ["Lovelace", "Hopper"],
        "Birthdate": [dt.date(1815, 12, 10), None],
        "Next_Call__c": [when, None],
        "Call_Time__c": [dt.time(13, 30, 5), None],
        "Seats__c": [3, None],
        "Score__c": [1.25, 100.0],
        "DoNotCall": [True, False],
        "Skills__c": [["Python", "SQL"], None],
    }
    expected = [
        "LastName,Birthdate,Next_Call__c,Call_Time__c,Seats__c,Score__c,DoNotCall,Skills__c",
        "Lovelace,1815-12-10,2024-01-31T10:00:05.123Z,13:30:05.000Z,3,1.25,true,Python;SQL",
        "Hopper,#N/A,#N/A,#N/A,#N/A,100,false,#N/A",
    ]
    for frame in (pl.DataFrame(data), pa.table(data)):
        plan = ingest.insert(org, frame, "Contact", dry_run=True)
        assert isinstance(plan, ingest.IngestPlan)
        assert plan.sample.splitlines() == expected
    paris = pd.DataFrame({"LastName": ["x"], "Next_Call__c": [pd.Timestamp("2024-06-01 12:00", tz="Europe/Paris")],
                          "Call_Time__c": [pd.Timedelta(hours=9, minutes=15)]})  # fmt: skip
    plan = ingest.insert(org, paris, "Contact", dry_run=True)
    assert isinstance(plan, ingest.IngestPlan)
    assert plan.sample.splitlines()[1] == "x,2024-06-01T10:00:00.000Z,09:15:00.000Z"


def test_options_are_checked_first(org: NoRequests) -> None:
    frame = pd.DataFrame(ADA)
    with pytest.raises(ValueError, match='errors must be "raise" or "warn"'):
        ingest.insert(org, frame, "Contact", errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rows_per_job must be at least 1"):
        ingest.insert(org, frame, "Contact", rows_per_job=0)
    with pytest.raises(ValueError, match="not an object's API name"):
        ingest.insert(org, frame, "Contact/../x")
