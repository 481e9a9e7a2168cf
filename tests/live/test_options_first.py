"""Options are validated before any request: a bad option never fails after a job ran."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

import sfnotebook
from sfnotebook.errors import (
    InvalidArgumentError,
    OutputFolderError,
    ReportFilterError,
    SoqlBindError,
)
from tests.conftest import connect_to

SOQL = "SELECT Id, Name, Account.Name FROM Opportunity"
REPORT = "00O000000000001EAA"

Call = Callable[[sfnotebook.Connection, Path], Any]


def _file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("mine")
    return path


CASES: list[tuple[str, Call, type[BaseException], str]] = [
    # extract / job_results
    ("extract dtypes unknown column", lambda o, t: o.extract(SOQL, dtypes={"Nmae": "string"}),
     KeyError, "Nmae"),
    ("extract concurrency 0", lambda o, t: o.extract(SOQL, concurrency=0), ValueError,
     "concurrency"),
    ("extract concurrency 2.5", lambda o, t: o.extract(SOQL, concurrency=2.5), TypeError,
     "concurrency"),
    ("extract concurrency True", lambda o, t: o.extract(SOQL, concurrency=True), TypeError,
     "concurrency"),
    ("extract max_records -5", lambda o, t: o.extract(SOQL, max_records=-5), ValueError,
     "max_records"),
    ("extract max_records '50000'", lambda o, t: o.extract(SOQL, max_records="50000"),
     TypeError, "max_records"),
    ("extract poll_interval -1", lambda o, t: o.extract(SOQL, poll_interval=-1), ValueError,
     "poll_interval"),
    ("extract progress 'yes'", lambda o, t: o.extract(SOQL, progress="yes"), ValueError,
     "progress"),
    ("extract to= a file", lambda o, t: o.extract(SOQL, to=_file(t)), OutputFolderError,
     "is a file"),
    ("extract to= with a NUL byte", lambda o, t: o.extract(SOQL, to=str(t / "a\x00b")),
     OutputFolderError, "NUL byte"),
    ("extract to= a number", lambda o, t: o.extract(SOQL, to=5), TypeError, "folder path"),
    ("job_results concurrency 0", lambda o, t: o.job_results("750000000000001AAA", concurrency=0),
     ValueError, "concurrency"),
    ("job_results max_records 0", lambda o, t: o.job_results("750000000000001AAA", max_records=0),
     ValueError, "max_records"),
    ("job_results to= a file", lambda o, t: o.job_results("750000000000001AAA", to=_file(t)),
     OutputFolderError, "is a file"),
    # query / query_iter
    ("query batch_size 100", lambda o, t: o.query(SOQL, batch_size=100), ValueError,
     "batch_size"),
    ("query batch_size 5000", lambda o, t: o.query(SOQL, batch_size=5000), ValueError,
     "batch_size"),
    ("query progress 1", lambda o, t: o.query(SOQL, progress=1), ValueError, "progress"),
    ("query children 'keep'", lambda o, t: o.query(SOQL, children="keep"), ValueError,
     "children"),
    ("query_iter chunk_rows 0", lambda o, t: next(o.query_iter(SOQL, chunk_rows=0)), ValueError,
     "chunk_rows"),
    ("query_iter chunk_rows -1", lambda o, t: next(o.query_iter(SOQL, chunk_rows=-1)),
     ValueError, "chunk_rows"),
    ("query_iter chunk_rows 1.5", lambda o, t: next(o.query_iter(SOQL, chunk_rows=1.5)),
     TypeError, "chunk_rows"),
    ("query dtypes unknown column", lambda o, t: o.query(SOQL, dtypes={"Nmae": "string"}),
     KeyError, "Nmae"),
    ("query dtypes not a dict", lambda o, t: o.query(SOQL, dtypes=["Name"]), TypeError,
     "dtypes"),
    ("query_iter dtypes unknown column",
     lambda o, t: next(o.query_iter(SOQL, dtypes={"Account.Nmae": "string"})), KeyError,
     "Account.Nmae"),
    ("query dtypes unknown child column",
     lambda o, t: o.query("SELECT Id, (SELECT Nmae FROM Contacts) FROM Account",
                          dtypes={"LastName": "string"}), KeyError, "LastName"),
    ("query dtypes misspelt dtype", lambda o, t: o.query(SOQL, dtypes={"Name": "strnig"}),
     TypeError, "'strnig' is not a pandas dtype"),
    ("query dtypes pandas-only dtype for arrow",
     lambda o, t: o.query(SOQL, dtypes={"Name": "category"}, output="arrow"), TypeError,
     "is not a pyarrow dtype"),
    ("extract dtypes misspelt dtype", lambda o, t: o.extract(SOQL, dtypes={"Name": "flaot64"}),
     TypeError, "flaot64"),
    ("job_results dtypes misspelt dtype",
     lambda o, t: o.job_results("750000000000001AAA", dtypes={"Name": "Int46"}), TypeError,
     "Int46"),
    ("query params missing", lambda o, t: o.query(SOQL + " WHERE Name = :n", params={}),
     SoqlBindError, "'n' is not in params="),
    ("query params unused", lambda o, t: o.query(SOQL, params={"n": 1}), SoqlBindError,
     "does not bind"),
    ("extract params NaN",
     lambda o, t: o.extract(SOQL + " WHERE Amount > :a", params={"a": float("nan")}),
     SoqlBindError, "missing value"),
    ("extract params before dtypes",
     lambda o, t: o.extract(SOQL + " WHERE Name = :n", params={}, dtypes={"Nmae": "string"}),
     SoqlBindError, "'n'"),
    ("job_results bad job id", lambda o, t: o.job_results("750/../limits"),
     InvalidArgumentError, "job_id"),
    ("describe bad object name", lambda o, t: o.describe("Account/../limits"),
     InvalidArgumentError, "sobject"),
    # report
    ("report filter of two items", lambda o, t: o.report(REPORT, filters=[("AMOUNT", 5)]),
     ValueError, "filter"),
    ("report filter dict without value",
     lambda o, t: o.report(REPORT, filters=[{"column": "AMOUNT"}]), ValueError, "value"),
    ("report boolean_filter 12", lambda o, t: o.report(REPORT, boolean_filter=12), TypeError,
     "boolean_filter"),
    ("report progress 'no'", lambda o, t: o.report(REPORT, progress="no"), ValueError,
     "progress"),
    ("report filter operator unknown",
     lambda o, t: o.report(REPORT, filters=[("AMOUNT", "bigger", 5)]), ReportFilterError,
     "bigger"),
    ("report filter list item with a comma",
     lambda o, t: o.report(REPORT, filters=[("ACCOUNT_NAME", "equals", ["a,b"])]),
     ReportFilterError, "comma"),
    ("report boolean_filter syntax", lambda o, t: o.report(REPORT, boolean_filter="1 AND OR 2"),
     ReportFilterError, "boolean_filter"),
    ("report not a str", lambda o, t: o.report(None), InvalidArgumentError, "report"),
]  # fmt: skip


@pytest.fixture
def conn(demo_org: Any) -> sfnotebook.Connection:
    return connect_to(demo_org)


@pytest.mark.parametrize(("case", "call", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_option_fails_before_any_request(
    conn: sfnotebook.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    call: Call,
    error: type[BaseException],
    words: str,
) -> None:
    sent: list[str] = []
    real = conn.session.request

    def spy(method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        sent.append(f"{method} {url}")
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(conn.session, "request", spy)
    with pytest.raises(error, match=words):
        call(conn, tmp_path)
    assert sent == [], f"{case}: requests were sent before the option was refused"


def test_good_options_still_run(conn: sfnotebook.Connection) -> None:
    frame = conn.extract(SOQL + " LIMIT 10", dtypes={"account.name": "string"}, poll_interval=0)
    assert len(frame) == 10
    chunks = list(conn.query_iter(SOQL + " LIMIT 450", chunk_rows=200, batch_size=200))
    assert sum(len(c) for c in chunks) == 450
