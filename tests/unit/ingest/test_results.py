"""Matching a job's result sets to the rows sent, the counts check, the CSV and its splitting."""

from __future__ import annotations

from typing import Any

import pytest

from sfnotebook.errors import IngestIncompleteError
from sfnotebook.ingest._csv import Chunk, split
from sfnotebook.ingest._job import JobOutcome
from sfnotebook.ingest._results import Outcomes, parse_error
from sfnotebook.ingest._validate import Column


def column(header: str, text: list[str | None]) -> Column:
    return Column(header, header, {"name": header}, text)


@pytest.mark.parametrize(
    ("cell", "code", "message"),
    [
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
         "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [A, B]:A,B --",
         "REQUIRED_FIELD_MISSING", "Required fields are missing: [A, B]"),
        ("DUPLICATE_VALUE:duplicate value found: X__c duplicates value on record with id: 500Ox000008nUimIAE:--",
         "DUPLICATE_VALUE", "duplicate value found: X__c duplicates value on record with id: 500Ox000008nUimIAE"),
        ("INVALID_FIELD:Failed to deserialize field at col 3. Due to, '10:30' is not a valid value for the type xsd:date:Birthdate --",
         "INVALID_FIELD", "Failed to deserialize field at col 3. Due to, '10:30' is not a valid value for the type xsd:date"),
        ("ENTITY_IS_DELETED:entity is deleted:--", "ENTITY_IS_DELETED", "entity is deleted"),
        ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record", "UNABLE_TO_LOCK_ROW",
         "unable to obtain exclusive access to this record"),
        ("something went wrong", None, "something went wrong"),
    ],
)  # fmt: skip
def test_sf_error_cells(cell: str, code: str | None, message: str) -> None:
    assert parse_error(cell) == (code, message)


def outcome(good: str, bad: str = "", left: str = "", **info: Any) -> JobOutcome:
    info.setdefault("state", "JobComplete")
    return JobOutcome(info, good.encode(), bad.encode(), left.encode())


COLUMNS = [
    column("LastName", ["Smith", "Jones", "Smith", None]),
    column("Title", ["CEO", None, "CEO", "x"]),
]
CHUNK = Chunk(0, 4, b"")


def test_insert_results_are_matched_by_content_whatever_their_order() -> None:
    outcomes = Outcomes(4)
    good = (
        '"sf__Id","sf__Created",Title,LastName\n'  # the columns in another order too
        '"003A","true","#N/A","Jones"\n"003B","true","CEO","Smith"\n"003C","true","CEO","Smith"\n'
    )
    bad = '"sf__Id","sf__Error",Title,LastName\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","x","#N/A"\n'
    outcomes.record(
        CHUNK,
        COLUMNS,
        None,
        "750X",
        outcome(good, bad, numberRecordsProcessed=4, numberRecordsFailed=1),
        skip_nulls=False,
    )
    assert outcomes.success == [True, True, True, False]
    assert outcomes.ids == ["003B", "003A", "003C", None]  # identical rows take outcomes in order
    assert outcomes.created == [True, True, True, False]
    assert outcomes.codes == [None, None, None, "REQUIRED_FIELD_MISSING"]
    assert outcomes.jobs == ["750X"] * 4


def test_keyed_results_are_matched_by_the_key_without_case() -> None:
    outcomes = Outcomes(2)
    columns = [column("External_Id__c", ["A-1", "B-2"]), column("LastName", ["x", "y"])]
    good = '"sf__Id","sf__Created",External_Id__c,LastName\n"003B","false","b-2","y"\n"003A","true","A-1","x"\n'
    outcomes.record(
        Chunk(0, 2, b""), columns, "External_Id__c", "750X", outcome(good), skip_nulls=False
    )
    assert outcomes.ids == ["003A", "003B"] and outcomes.created == [True, False]


def test_unprocessed_rows_and_rows_never_sent() -> None:
    outcomes = Outcomes(5)
    columns = [column("LastName", ["a", "b", "c", "d", "e"])]
    good = '"sf__Id","sf__Created",LastName\n"003A","true","a"\n'
    left = 'LastName\n"b"\n"c"\n'
    result = outcome(
        good,
        "",
        left,
        state="Failed",
        errorMessage="InternalServerError",
        numberRecordsProcessed=1,
        numberRecordsFailed=0,
    )
    outcomes.record(Chunk(0, 3, b""), columns, None, "750X", result, skip_nulls=False)
    assert outcomes.success == [True, False, False, False, False]
    assert outcomes.codes == [None, "NOT_PROCESSED", "NOT_PROCESSED", "NOT_SENT", "NOT_SENT"]
    assert outcomes.messages[1] == "not processed: job 750X ended Failed (InternalServerError)"
    assert outcomes.jobs == ["750X", "750X", "750X", None, None]
    frame = outcomes.frame(list("vwxyz"), "key", "pandas")
    assert list(frame.index) == list("vwxyz") and frame.index.name == "key"
    assert list(frame.columns) == [
        "row",
        "success",
        "created",
        "id",
        "error_code",
        "error_message",
        "job_id",
    ]
    assert str(frame.success.dtype) == "boolean" and frame.created.isna().tolist() == [
        False,
        True,
        True,
        True,
        True,
    ]
    assert outcomes.frame(list("vwxyz"), None, "arrow").num_rows == 5


@pytest.mark.parametrize(
    ("good", "info", "why"),
    [
        ('"sf__Id","sf__Created",LastName\n"003A","true","a"\n', {}, "rows sent is 2 but its results hold 1 rows"),
        ('"sf__Id","sf__Created",LastName\n"003A","true","a"\n"003B","true","b"\n',
         {"numberRecordsProcessed": 3}, "numberRecordsProcessed is 3 but its results hold 2 rows"),
        ('"sf__Id","sf__Created",LastName\n"003A","true","a"\n"003B","true","zz"\n', {},
         "a row of its successful results matches no row sent"),
    ],
)  # fmt: skip
def test_results_that_do_not_add_up_raise(good: str, info: dict[str, Any], why: str) -> None:
    outcomes = Outcomes(2)
    with pytest.raises(IngestIncompleteError, match=why) as caught:
        outcomes.record(
            Chunk(0, 2, b""),
            [column("LastName", ["a", "b"])],
            None,
            "750X",
            outcome(good, **info),
            skip_nulls=False,
        )
    assert caught.value.job_id == "750X"


def test_csv_quotes_only_what_needs_it_and_nulls_are_na() -> None:
    columns = [column("A", ["x,y", 'say "hi"', "two\nlines", None, " kept "])]
    (chunk,) = split(columns, 5)
    assert chunk.data == b'A\n"x,y"\n"say ""hi"""\n"two\nlines"\n#N/A\n kept \n'
    (skipped,) = split([column("B", ["b"] * 5), *columns], 5, skip_nulls=True)
    assert skipped.data.split(b"\n")[5] == b"b,"  # an empty cell: the field is left as it is


def test_rows_are_split_into_jobs_by_rows_and_by_bytes() -> None:
    columns = [column("A", [f"{i:04d}" for i in range(10)])]
    assert [(c.start, c.stop) for c in split(columns, 10, rows_per_job=4)] == [
        (0, 4),
        (4, 8),
        (8, 10),
    ]
    # header "A\n" (2 bytes) + 5 bytes a row: 3 rows fit in 17 bytes
    chunks = split(columns, 10, max_bytes=17)
    assert [(c.start, c.stop) for c in chunks] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(len(c.data) <= 17 and c.data.startswith(b"A\n") for c in chunks)
    assert split(columns, 0) == []
