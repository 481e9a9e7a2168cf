"""Issue 11 "Nothing lost", item 1: every result checks what it got against what was announced.

Each test rewrites one answer of the demo org through the proxy so that rows go missing without
any HTTP error, and asserts that the client raises instead of returning a short result as whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook.errors import IncompleteResultError
from tests.adversarial.conftest import connect_through
from tests.adversarial.proxy import Answer, RewritingProxy

SMALL = "SELECT Id, Name, Amount FROM Opportunity WHERE Amount > 200000"
PAGE = 200
JOB_INFO = r"/jobs/query/750[0-9A-Za-z]+$"
RESULTS = r"/jobs/query/750[0-9A-Za-z]+/results"
RESULT_PAGES = r"/jobs/query/750[0-9A-Za-z]+/resultPages"


@pytest.fixture
def conn(proxy: RewritingProxy) -> sfnotebook.Connection:
    return connect_through(proxy)


@pytest.fixture(scope="module")
def expected_rows(demo_org: Any) -> int:
    from tests.conftest import connect_to

    counted = connect_to(demo_org).query(SMALL.replace("Id, Name, Amount", "COUNT()"))
    assert isinstance(counted, int) and counted > 3 * PAGE
    return counted


def _json_edit(change: Callable[[Any], None]) -> Callable[[Answer], None]:
    def edit(answer: Answer) -> None:
        body = json.loads(answer.body)
        change(body)
        answer.body = json.dumps(body).encode()

    return edit


def _drop_last_lines(n: int) -> Callable[[Answer], None]:
    def edit(answer: Answer) -> None:
        lines = answer.body.rstrip(b"\n").split(b"\n")
        answer.body = b"\n".join(lines[:-n]) + b"\n"

    return edit


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


# --------------------------------------------------------------------------- Bulk API 2.0


def test_extract_compares_rows_with_number_records_processed(
    proxy: RewritingProxy, conn: sfnotebook.Connection, expected_rows: int
) -> None:
    """The job says one row more than its pages hold: the frame must not come back."""

    def more(body: Any) -> None:
        if body.get("state") == "JobComplete":
            body["numberRecordsProcessed"] = int(body["numberRecordsProcessed"]) + 1

    proxy.rule("GET", JOB_INFO, nth=0, edit=_json_edit(more))
    with pytest.raises(IncompleteResultError) as info:
        conn.extract(SMALL, max_records=PAGE, poll_interval=0.01, progress=False)
    assert (info.value.expected, info.value.received) == (expected_rows + 1, expected_rows)


@pytest.mark.parametrize("parquet", [False, True])
def test_locator_null_on_a_page_that_is_not_the_last(
    proxy: RewritingProxy,
    conn: sfnotebook.Connection,
    expected_rows: int,
    tmp_path: Path,
    parquet: bool,
) -> None:
    rule = proxy.rule("GET", RESULTS, nth=1, headers={"Sforce-Locator": "null"})
    folder = tmp_path / "opps"
    with pytest.raises(IncompleteResultError) as info:
        conn.extract(
            SMALL,
            max_records=PAGE,
            concurrency=1,
            poll_interval=0.01,
            progress=False,
            to=folder if parquet else None,
        )
    assert rule.fired == 1
    assert (info.value.expected, info.value.received) == (expected_rows, PAGE)
    assert not folder.exists(), "a failed extract must leave no folder behind"


@pytest.fixture
def result_pages_sized(demo_org: Any) -> Iterator[None]:
    """resultPages honouring maxRecords, so that extract(max_records=..., concurrency=4) reads
    its answers (where it lists pages of the org's own size, pages come by locator instead)."""
    demo_org.set_dialect(result_pages_max_records="honoured")
    yield
    demo_org.set_dialect(result_pages_max_records="ignored")


@pytest.mark.usefixtures("result_pages_sized")
def test_result_pages_leaving_a_page_out(
    proxy: RewritingProxy, conn: sfnotebook.Connection, expected_rows: int
) -> None:
    def drop_second(body: Any) -> None:
        del body["resultPages"][1]

    rule = proxy.rule("GET", RESULT_PAGES, nth=1, edit=_json_edit(drop_second))
    with pytest.raises(IncompleteResultError) as info:
        conn.extract(SMALL, max_records=PAGE, concurrency=4, poll_interval=0.01, progress=False)
    assert rule.fired == 1
    assert (info.value.expected, info.value.received) == (expected_rows, expected_rows - PAGE)


@pytest.mark.usefixtures("result_pages_sized")
@pytest.mark.parametrize("spelling", ["nextPageUrl", "next"])
def test_result_pages_not_done_with_an_unknown_next_link(
    proxy: RewritingProxy, conn: sfnotebook.Connection, spelling: str
) -> None:
    def rename(body: Any) -> None:
        assert body["done"] is False
        body[spelling] = body.pop("nextRecordsUrl")

    proxy.rule("GET", RESULT_PAGES, nth=1, edit=_json_edit(rename))
    with pytest.raises(IncompleteResultError, match="done"):
        conn.extract(SMALL, max_records=PAGE, concurrency=4, poll_interval=0.01, progress=False)


@pytest.mark.usefixtures("result_pages_sized")
def test_result_pages_without_done_is_not_taken_as_done(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    def strip(body: Any) -> None:
        body.pop("done")
        body.pop("nextRecordsUrl")

    proxy.rule("GET", RESULT_PAGES, nth=1, edit=_json_edit(strip))
    with pytest.raises(IncompleteResultError):
        conn.extract(SMALL, max_records=PAGE, concurrency=4, poll_interval=0.01, progress=False)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_short_page_without_a_record_count(
    proxy: RewritingProxy, conn: sfnotebook.Connection, expected_rows: int, concurrency: int
) -> None:
    proxy.rule(
        "GET",
        RESULTS,
        nth=2,
        headers={"Sforce-NumberOfRecords": None},
        edit=_drop_last_lines(5),
    )
    with pytest.raises(IncompleteResultError) as info:
        conn.extract(
            SMALL, max_records=PAGE, concurrency=concurrency, poll_interval=0.01, progress=False
        )
    assert (info.value.expected, info.value.received) == (expected_rows, expected_rows - 5)


def _count_one_more_with_a_quoted_break(answer: Answer) -> None:
    """One line break more, inside the first row's Name, and a count raised to match it: the
    page's line breaks are one per row it says it holds, so it is read without the quote-aware
    scan, and holds one row fewer than it says."""
    head, first, rest = answer.body.split(b"\n", 2)
    assert first.count(b'","') == 2  # "Id","Name","Amount"
    answer.body = b"\n".join([head, first.replace(b'","', b'","broken\n', 1), rest])
    answer.headers["Sforce-NumberOfRecords"] = str(
        int(answer.headers["Sforce-NumberOfRecords"]) + 1
    )


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_count_that_matches_the_line_breaks_is_still_checked(
    proxy: RewritingProxy, conn: sfnotebook.Connection, expected_rows: int, concurrency: int
) -> None:
    rule = proxy.rule("GET", RESULTS, nth=2, edit=_count_one_more_with_a_quoted_break)
    frame = conn.extract(
        SMALL, max_records=PAGE, concurrency=concurrency, poll_interval=0.01, progress=False
    )
    assert rule.fired == 1
    pages = [path for _, path in proxy.requests if re.search(RESULTS, path)]
    assert len(pages) == -(-expected_rows // PAGE) + 1  # the short page was read again
    assert len(frame) == expected_rows
    assert not frame["Name"].str.contains("broken").any()


def test_job_results_checks_the_count_too(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    job = conn.request("POST", "jobs/query", json={"operation": "query", "query": SMALL}).json()
    proxy.rule("GET", RESULTS, nth=1, headers={"Sforce-Locator": "null"})
    with pytest.raises(IncompleteResultError):
        conn.job_results(
            job["id"], max_records=PAGE, concurrency=1, poll_interval=0.01, progress=False
        )


def test_parquet_rows_are_read_back_from_the_files(
    conn: sfnotebook.Connection,
    expected_rows: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A part file that lost rows on its way to disk is found by reading the files' metadata."""
    from sfnotebook.bulk import _parquet

    real = _parquet.pq.write_table
    calls = {"n": 0}

    def lossy(table: Any, where: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        real(table.slice(0, table.num_rows - 1) if calls["n"] == 2 else table, where, **kwargs)

    monkeypatch.setattr(_parquet.pq, "write_table", lossy)
    folder = tmp_path / "opps"
    with pytest.raises(IncompleteResultError) as info:
        conn.extract(SMALL, to=folder, max_records=PAGE, poll_interval=0.01, progress=False)
    assert (info.value.expected, info.value.received) == (expected_rows, expected_rows - 1)
    assert not folder.exists()


# --------------------------------------------------------------------------- REST query


def test_query_page_not_done_without_a_next_link(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    """done: false and no nextRecordsUrl, even with a totalSize that agrees: an error."""

    def cut(body: Any) -> None:
        assert body["done"] is False
        body.pop("nextRecordsUrl")
        body["totalSize"] = len(body["records"])

    proxy.rule("GET", r"/query\?q=", nth=1, edit=_json_edit(cut))
    with pytest.raises(IncompleteResultError, match="done"):
        conn.query("SELECT Id, Name FROM Contact", batch_size=200, progress=False)


def test_query_child_subquery_short(proxy: RewritingProxy, conn: sfnotebook.Connection) -> None:
    def short(body: Any) -> None:
        for record in body["records"]:
            kids = record.get("Contacts")
            if kids and kids["records"]:
                kids["records"].pop()
                return
        raise AssertionError("no account with contacts on the first page")

    proxy.rule("GET", r"/query\?q=", nth=1, edit=_json_edit(short))
    with pytest.raises(IncompleteResultError):
        conn.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account", progress=False)


# --------------------------------------------------------------------------- reports


REPORT_SOQL = re.escape("FROM+Report")


def _report_records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "attributes": {"type": "Report"},
            "Id": f"00O00000000{i:04d}AAA",
            "Name": f"Report {i}",
            "DeveloperName": f"Report_{i}",
            "FolderName": "Shared",
            "Format": "Tabular",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "page",
    [
        {"totalSize": 3, "done": True, "records": _report_records(2)},
        {"totalSize": 2, "done": False, "nextPage": "/x", "records": _report_records(2)},
        {"totalSize": 2, "records": _report_records(2)},
    ],
    ids=["short", "unknown-next-spelling", "no-done"],
)
def test_report_catalogue_listing_is_checked(
    proxy: RewritingProxy, conn: sfnotebook.Connection, page: dict[str, Any]
) -> None:
    proxy.rule(
        "GET", r"/query\?q=.*" + REPORT_SOQL, nth=0, status=200, body=json.dumps(page).encode()
    )
    with pytest.raises(IncompleteResultError):
        conn.reports()


def test_report_catalogue_whole_listing_is_kept(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    page = {"totalSize": 2, "done": True, "records": _report_records(2)}
    proxy.rule(
        "GET", r"/query\?q=.*" + REPORT_SOQL, nth=0, status=200, body=json.dumps(page).encode()
    )
    listed = conn.reports()
    assert list(listed["name"]) == ["Report 0", "Report 1"]


@pytest.mark.parametrize(
    "name",
    [
        "Closed Bookings by Industry, Year and Stage",  # one run: every row, allData true
        "Pipeline by Stage",  # past 2,000 rows: paged
    ],
)
def test_report_run_checks_its_record_count(
    proxy: RewritingProxy, conn: sfnotebook.Connection, name: str
) -> None:
    """A run whose detail rows disagree with its grand-total Record Count."""
    catalog = conn.reports()
    report_id = str(catalog[catalog["name"] == name]["id"].iloc[0])

    def one_more(body: Any) -> None:
        keys = [str(k).lower() for k in body["reportMetadata"]["aggregates"]]
        grand = body["factMap"]["T!T"]["aggregates"][keys.index("rowcount")]
        grand["value"] = int(grand["value"]) + 1

    rule = proxy.rule("GET", rf"/analytics/reports/{report_id}\?", nth=1, edit=_json_edit(one_more))
    with pytest.raises(IncompleteResultError) as info:
        conn.report(report_id, progress=False)
    assert rule.fired == 1
    whole = conn.report(report_id, progress=False)  # the same report, unedited, comes back
    if whole.runs == 1:  # every row in the run: its rows counted against its Record Count
        assert info.value.expected == info.value.received + 1  # type: ignore[operator]
    else:  # paged: the first paging run's Record Count already disagrees, and paging stops
        assert info.value.expected == len(whole) + 1 and info.value.received is None
        assert f"changed from {len(whole) + 1:,} to {len(whole):,}" in str(info.value)
    assert isinstance(whole.details, pd.DataFrame) and len(whole.details) > 0
