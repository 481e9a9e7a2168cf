"""``org.extract`` (Bulk API 2.0) against the demo org: life cycle, faults, frames, Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

import sfnotebook
from sfnotebook import bulk
from sfnotebook import dtypes as dt
from sfnotebook.bulk import _collect as _bulk_collect
from sfnotebook.bulk import _pages as _bulk_pages
from sfnotebook.errors import (
    BulkJobError,
    InvalidArgumentError,
    InvalidFieldError,
    MalformedQueryError,
    NotFoundError,
)
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to

# Every kind of column the demo's Opportunity has, and parents two levels up.
SOQL = (
    "SELECT Id, Name, AccountId, Amount, Probability, TotalOpportunityQuantity, CloseDate, "
    "StageName, IsWon, Seats__c, Competitors__c, Follow_Up_Time__c, Next_Call__c, "
    "CreatedDate, Account.Name, Account.Owner.Name FROM Opportunity"
)
SMALL = SOQL + " WHERE Amount > 200000"  # a few thousand rows of the 50,000
PAGE = 200  # rows per result page: several pages for SMALL


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("Id", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def small(org: sfnotebook.Connection) -> pd.DataFrame:
    """The fault-free extract every fault test compares with (several pages)."""
    frame = org.extract(SMALL, max_records=PAGE, poll_interval=0.01, progress=False)
    assert isinstance(frame, pd.DataFrame)
    return frame


@pytest.fixture(scope="module")
def own_demo() -> Iterator[Any]:
    """A demo org of this module's own, for faults (the shared one stays fault-free)."""
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as demo:
        yield demo


@pytest.fixture
def faulty(own_demo: Any) -> Iterator[tuple[Any, sfnotebook.Connection]]:
    conn = connect_to(own_demo)
    yield own_demo, conn
    own_demo.set_faults(fail_bulk_jobs=False, drop_next=0, error_next=0)


# --------------------------------------------------------------------------- frames


def test_extract_equals_query(org: sfnotebook.Connection, small: pd.DataFrame) -> None:
    """Same columns, dtypes and values as the REST path for the same SOQL."""
    assert 1_000 < len(small) < 20_000
    rest = org.query(SMALL)
    pd.testing.assert_frame_equal(_sorted(small), _sorted(rest))


def test_dtypes_follow_the_dtype_table(small: pd.DataFrame) -> None:
    expected = {
        "Id": "id",
        "Amount": "currency",
        "Probability": "percent",
        "TotalOpportunityQuantity": "double",
        "CloseDate": "date",
        "IsWon": "boolean",
        "Seats__c": "int",
        "Competitors__c": "multipicklist",
        "Follow_Up_Time__c": "time",
        "Next_Call__c": "datetime",
        "CreatedDate": "datetime",
        "Account.Owner.Name": "string",
    }
    for column, sf_type in expected.items():
        assert small[column].dtype == dt.pandas_dtype(sf_type), column
    assert list(small.columns)[-2:] == ["Account.Name", "Account.Owner.Name"]
    assert small["CreatedDate"].notna().all()
    assert small["Amount"].gt(200_000).all()


@pytest.fixture(params=Dialect.choices()["result_pages_max_records"])
def result_pages(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[str]:
    """Whether the shared demo org's resultPages honours maxRecords (fidelity-audit D6)."""
    demo_org.set_dialect(result_pages_max_records=request.param)
    yield request.param
    demo_org.set_dialect(result_pages_max_records=Dialect().result_pages_max_records)


def test_concurrent_and_sequential_give_the_same_frame(
    org: sfnotebook.Connection,
    small: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    result_pages: str,
) -> None:
    used: list[bool] = []
    real = _bulk_pages.result_urls

    def spy(*args: Any, **kwargs: Any) -> Any:
        urls = real(*args, **kwargs)
        used.append(urls is not None)
        return urls

    monkeypatch.setattr(_bulk_pages, "result_urls", spy)
    one = org.extract(SMALL, max_records=PAGE, concurrency=1, poll_interval=0.01)
    assert used == []  # concurrency=1 never asks for resultPages
    pd.testing.assert_frame_equal(one, small)
    four = org.extract(SMALL, max_records=PAGE, concurrency=4, poll_interval=0.01)
    # The demo org offers resultPages on v68.0; pages of its own size (maxRecords ignored)
    # would break the memory bound, so then they come by locator.
    assert used == [result_pages == "honoured"]
    pd.testing.assert_frame_equal(four, small)


@pytest.mark.parametrize("to_folder", [False, True], ids=["frame", "parquet"])
def test_pages_in_flight_hold_at_most_max_records(
    org: sfnotebook.Connection,
    small: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    result_pages: str,
    to_folder: bool,
) -> None:
    """The README's bound, ``concurrency`` pages of ``max_records`` rows, under either answer."""
    sizes: list[int | None] = []
    real = _bulk_pages.fetch_page

    def spy(*args: Any, **kwargs: Any) -> Any:
        page, rows = real(*args, **kwargs)
        sizes.append(page.records)
        return page, rows

    monkeypatch.setattr(_bulk_pages, "fetch_page", spy)
    out = org.extract(
        SMALL, to=tmp_path / "opps" if to_folder else None, max_records=PAGE, concurrency=4
    )
    assert len(sizes) == -(-len(small) // PAGE) and all(n is not None for n in sizes)
    assert max(n for n in sizes if n is not None) == PAGE
    if to_folder:
        assert isinstance(out, Path)
        ids = pq.read_table(out, columns=["Id"]).column("Id").to_pylist()
        assert sorted(ids) == sorted(small["Id"])
    else:
        pd.testing.assert_frame_equal(out, small)


def test_old_api_version_and_missing_result_pages_fall_back_to_locators(
    demo_org: Any, small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = connect_to(demo_org, api_version="57.0")
    pd.testing.assert_frame_equal(old.extract(SMALL, max_records=PAGE, poll_interval=0.01), small)

    conn = connect_to(demo_org)
    real = conn.get_json
    asked: list[str] = []

    def no_pages(url: str, **kwargs: Any) -> Any:
        if url.endswith("/resultPages"):
            asked.append(url)
            raise NotFoundError("Salesforce answered 404 NOT_FOUND", status=404)
        return real(url, **kwargs)

    monkeypatch.setattr(conn, "get_json", no_pages)
    pd.testing.assert_frame_equal(conn.extract(SMALL, max_records=PAGE, poll_interval=0.01), small)
    assert len(asked) == 1


def test_query_all_includes_deleted_rows(org: sfnotebook.Connection) -> None:
    soql = "SELECT Id, IsDeleted FROM Account"
    live = org.extract(soql, poll_interval=0.01)
    every = org.extract(soql, include_deleted=True, poll_interval=0.01)
    assert not live["IsDeleted"].any()
    assert every["IsDeleted"].sum() == len(every) - len(live) > 0


def test_empty_result_keeps_columns_and_dtypes(org: sfnotebook.Connection) -> None:
    frame = org.extract(
        "SELECT Id, Amount, CloseDate FROM Opportunity WHERE Amount < 0", poll_interval=0.01
    )
    assert len(frame) == 0
    assert list(frame.columns) == ["Id", "Amount", "CloseDate"]
    assert frame["Amount"].dtype == dt.pandas_dtype("currency")


def test_dtypes_overrides_win(org: sfnotebook.Connection) -> None:
    frame = org.extract(
        "SELECT Id, Seats__c FROM Opportunity WHERE Amount > 250000",
        dtypes={"Seats__c": "float64"},
        poll_interval=0.01,
    )
    assert frame["Seats__c"].dtype == "float64"


# --------------------------------------------------------------------------- job errors


def test_bad_soql_raises_salesforce_message(org: sfnotebook.Connection) -> None:
    with pytest.raises(InvalidFieldError, match="Nope"):
        org.extract("SELECT Id, Nope FROM Opportunity")
    with pytest.raises(MalformedQueryError):
        org.extract("SELECT Id FROM Opportunity WHERE")


def test_unsupported_bulk_feature_raises(org: sfnotebook.Connection) -> None:
    """Child subqueries are not allowed in Bulk API 2.0: refused before any round trip, with
    the alternative (issue 14; it used to be Salesforce's refusal after creating the job)."""
    sent = org.stats["requests"]
    with pytest.raises(InvalidArgumentError) as info:
        org.extract("SELECT Id, (SELECT Id FROM Contacts) FROM Account", poll_interval=0.01)
    assert "parent-to-child" in str(info.value) and "org.query" in str(info.value)
    assert org.stats["requests"] == sent


def test_failed_job_raises_with_salesforce_message(faulty: tuple[Any, Any]) -> None:
    demo, conn = faulty
    demo.set_faults(fail_bulk_jobs=True)
    with pytest.raises(BulkJobError) as info:
        conn.extract("SELECT Id FROM Account", poll_interval=0.01)
    assert info.value.state == "Failed"
    assert info.value.error_message
    assert info.value.error_message in str(info.value)


def _job_state(conn: sfnotebook.Connection, job_id: str) -> str:
    return str(conn.get_json(f"jobs/query/{job_id}")["state"])


def test_interrupt_while_polling_aborts_the_job(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = bulk._poll

    def poll_then_interrupt(conn: Any, job_id: str) -> dict[str, Any]:
        seen.append(job_id)
        real(conn, job_id)
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "_poll", poll_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        # The first check at once (poll_interval=0), while the demo's job still runs: by the
        # default first wait (0.2 s) it may have completed, and a complete job is not aborted.
        org.extract("SELECT Id FROM Opportunity", poll_interval=0)
    monkeypatch.undo()
    assert _job_state(org, seen[0]) == "Aborted"


def test_interrupt_while_downloading_aborts_and_leaves_no_files(
    org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sent: list[tuple[str, str, Any]] = []
    real_request = org.request

    def spy(method: str, url: str, **kwargs: Any) -> requests.Response:
        sent.append((method, url, kwargs.get("json")))
        return real_request(method, url, **kwargs)

    def interrupt(self: Any, rows: int) -> None:
        raise KeyboardInterrupt  # as if the cell were cancelled while a page comes in

    monkeypatch.setattr(org, "request", spy)
    monkeypatch.setattr(bulk._Progress, "update", interrupt)
    folder = tmp_path / "opps"
    with pytest.raises(KeyboardInterrupt):
        org.extract(SMALL, to=folder, max_records=PAGE, poll_interval=0.01)
    patches = [(url, body) for method, url, body in sent if method == "PATCH"]
    assert len(patches) == 1
    assert patches[0][1] == {"state": "Aborted"}
    assert patches[0][0].startswith("jobs/query/750")
    assert not list(folder.glob("*.parquet")), "a cancelled extract must not leave parts"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_session_expiring_between_pages_is_renewed(
    faulty: tuple[Any, Any],
    small: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    concurrency: int,
) -> None:
    demo, conn = faulty
    real_keep = _bulk_collect.Collector.keep
    pages = []

    def keep_then_expire(self: Any, result: Any) -> None:
        real_keep(self, result)
        pages.append(result.index)
        if len(pages) in {1, 3}:
            demo.expire_sessions()

    monkeypatch.setattr(_bulk_collect.Collector, "keep", keep_then_expire)
    frame = conn.extract(SMALL, max_records=PAGE, concurrency=concurrency, poll_interval=0.01)
    pd.testing.assert_frame_equal(frame, small)
    assert len(pages) > 3
    assert conn.stats["reexchanges"] >= 1


def test_connection_dropped_inside_a_page_body_is_read_again(
    org: sfnotebook.Connection, small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = _bulk_pages._read_body
    calls = {"n": 0}

    def flaky(resp: requests.Response, *rest: Any) -> bytearray:
        calls["n"] += 1
        if calls["n"] in {2, 3}:  # the second page breaks off twice, then reads whole
            resp.raw.read(100)
            raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")
        return real_read(resp, *rest)

    monkeypatch.setattr(_bulk_pages, "_read_body", flaky)
    for concurrency in (1, 4):
        calls["n"] = 0
        frame = org.extract(SMALL, max_records=PAGE, concurrency=concurrency, poll_interval=0.01)
        pd.testing.assert_frame_equal(frame, small)


# --------------------------------------------------------------------------- Parquet


@pytest.fixture(scope="module")
def folder(org: sfnotebook.Connection, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = org.extract(
        SMALL, to=tmp_path_factory.mktemp("extract") / "opps", max_records=PAGE, poll_interval=0.01
    )
    assert isinstance(out, Path)
    return out


def test_parquet_one_file_per_page_one_schema(folder: Path, small: pd.DataFrame) -> None:
    parts = sorted(folder.iterdir())
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(len(parts))]
    assert len(parts) == -(-len(small) // PAGE)
    schemas = {pq.read_schema(p) for p in parts}
    assert len(schemas) == 1


def test_parquet_reads_back_with_pandas(folder: Path, small: pd.DataFrame) -> None:
    back = pd.read_parquet(folder)
    assert list(back.columns) == list(small.columns)
    # Nullable dtypes come back as they were; temporal columns in Parquet's units.
    for column in ("Id", "Amount", "IsWon", "Seats__c", "Account.Owner.Name"):
        assert back[column].dtype == small[column].dtype, column
    pd.testing.assert_frame_equal(back.astype(small.dtypes.to_dict()), small)


def test_parquet_reads_back_with_duckdb(folder: Path, small: pd.DataFrame) -> None:
    duckdb = pytest.importorskip("duckdb")
    parts = f"{folder}/*.parquet"  # a path from tmp_path: nothing to inject
    rel = duckdb.sql(f"select * from '{parts}'")  # noqa: S608 - the README's one-liner
    assert rel.columns == list(small.columns)
    count, total, won = duckdb.execute(
        "select count(*), sum(Amount), count(*) filter (where IsWon) from read_parquet(?)", [parts]
    ).fetchone()
    assert count == len(small)
    assert total == pytest.approx(float(small["Amount"].sum()))
    assert won == int(small["IsWon"].sum())
    ids = duckdb.execute("select Id from read_parquet(?) order by Id", [parts]).fetchall()
    assert [i for (i,) in ids] == sorted(small["Id"])


def test_parquet_refuses_a_non_empty_folder(org: sfnotebook.Connection, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="other things than Parquet"):
        org.extract("SELECT Id FROM Account", to=tmp_path)
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "part-00099.parquet").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        org.extract("SELECT Id FROM Account", to=tmp_path)
    out = org.extract("SELECT Id FROM Account", to=tmp_path, overwrite=True, poll_interval=0.01)
    assert not (tmp_path / "part-00099.parquet").exists()
    assert len(pd.read_parquet(out)) == len(org.extract("SELECT Id FROM Account"))


def test_parquet_of_an_empty_result_keeps_the_schema(
    org: sfnotebook.Connection, tmp_path: Path
) -> None:
    out = org.extract("SELECT Id, Amount FROM Opportunity WHERE Amount < 0", to=tmp_path / "none")
    back = pd.read_parquet(out)
    assert len(back) == 0
    assert list(back.columns) == ["Id", "Amount"]
    assert back["Amount"].dtype == dt.pandas_dtype("currency")


# --------------------------------------------------------------------------- resultPages


class _Pages:
    """A stand-in connection answering the follow-up resultPages calls."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.answers[url]


@pytest.mark.parametrize(
    ("first", "follow"),
    [
        (
            {"resultPages": [{"resultUrl": "/a"}], "nextRecordsUrl": "/more", "done": False},
            {"resultPages": [{"resultUrl": "/b"}], "nextRecordsUrl": None, "done": True},
        ),
        (
            {"resultPages": [{"resultLink": "/a"}], "nextRecordUrl": "/more", "done": False},
            {"resultPages": [{"resultLink": "/b"}], "done": True},
        ),
    ],
)
def test_result_pages_spellings(first: dict[str, Any], follow: dict[str, Any]) -> None:
    conn: Any = _Pages({"/more": follow})
    assert list(_bulk_pages._follow(conn, first)) == ["/a", "/b"]


def test_gzip_pages_give_the_same_frame(org: sfnotebook.Connection, small: pd.DataFrame) -> None:
    """Over a network pages come gzip-compressed (the default away from localhost)."""
    frame = org.extract(SMALL, max_records=PAGE, compress=True, poll_interval=0.01)
    pd.testing.assert_frame_equal(frame, small)


@pytest.mark.parametrize(
    ("instance_url", "encoding"),
    [
        ("https://acme.my.salesforce.com", "gzip"),
        ("https://127.0.0.1:8443", "identity"),
        ("https://localhost:8443", "identity"),
    ],
)
def test_compression_is_asked_for_except_from_this_machine(
    instance_url: str, encoding: str
) -> None:
    class Conn:
        pass

    conn: Any = Conn()
    conn.instance_url = instance_url
    assert _bulk_pages.csv_headers(conn, None)["Accept-Encoding"] == encoding
    assert _bulk_pages.csv_headers(conn, True)["Accept-Encoding"] == "gzip"
    assert _bulk_pages.csv_headers(conn, False)["Accept-Encoding"] == "identity"


def test_job_results_reads_a_job_created_elsewhere(
    org: sfnotebook.Connection, small: pd.DataFrame, tmp_path: Path
) -> None:
    job = bulk._create_job(org, SMALL, include_deleted=False)
    frame = bulk.job_results(org, job["id"], max_records=PAGE, poll_interval=0.01)
    pd.testing.assert_frame_equal(frame, small)
    again = bulk.job_results(org, job["id"], to=tmp_path / "again", max_records=PAGE)
    assert len(pd.read_parquet(again)) == len(small)  # results can be read more than once


def test_progress_shows_job_state_then_rows_out_of_processed(
    org: sfnotebook.Connection, small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, Any]] = []

    class Recorder:
        def set_description(self, text: str) -> None:
            events.append(("desc", text))

        def reset(self, total: int | None = None) -> None:
            events.append(("total", total))

        def update(self, rows: int) -> None:
            events.append(("rows", rows))

        def close(self) -> None:
            events.append(("close", None))

    monkeypatch.setattr(bulk, "progress_bar", lambda *a, **k: Recorder())
    org.extract(SMALL, max_records=PAGE, poll_interval=0.01, progress=True)
    states = [v for k, v in events if k == "desc" and str(v).startswith("Bulk job")]
    assert states and "JobComplete" in states[-1]
    assert ("total", len(small)) in events  # numberRecordsProcessed
    rows = [v for k, v in events if k == "rows"]
    assert sum(rows) == len(small) and len(rows) == -(-len(small) // PAGE)
    assert events[-1] == ("close", None)


def test_parquet_takes_dtypes_overrides(org: sfnotebook.Connection, tmp_path: Path) -> None:
    soql = "SELECT Id, Seats__c, CloseDate FROM Opportunity WHERE Amount > 250000"
    out = org.extract(soql, to=tmp_path / "o", dtypes={"Seats__c": "float64"}, max_records=PAGE)
    assert len({pq.read_schema(p) for p in out.iterdir()}) == 1
    back = pd.read_parquet(out)
    assert back["Seats__c"].dtype == "float64"
    frame = org.extract(soql, dtypes={"Seats__c": "float64"})
    pd.testing.assert_frame_equal(back.astype(frame.dtypes.to_dict()), frame)
