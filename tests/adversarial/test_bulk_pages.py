"""Issue 11, item 4, for Bulk API 2.0 result pages: a 200 page that is not the job's CSV.

Each test rewrites result pages of the demo org through the proxy, keeping status 200, and
asserts the exact error: an :class:`~sfnotebook.errors.UnexpectedAnswerError` naming the page's
endpoint, its status and its first bytes (tokens masked), never a pyarrow or csv exception and
never a result. The empty result (no rows), as a header-only page or an empty body, must still
come back whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sfnotebook
from sfnotebook.errors import SfNotebookError, UnexpectedAnswerError
from tests.adversarial.conftest import connect_through
from tests.adversarial.proxy import Answer, RewritingProxy

pytestmark = pytest.mark.adversarial

SOQL = "SELECT Id, Name FROM Opportunity ORDER BY Id LIMIT 600"
NONE = "SELECT Id, Name FROM Opportunity WHERE Name = 'No opportunity is called this'"
PAGE = 200
RESULTS = r"/jobs/query/750[0-9A-Za-z]+/results"
TOKEN = "00D000000000001!AQ" + "t0k3n" * 12  # shaped like a session id


@pytest.fixture
def conn(proxy: RewritingProxy) -> sfnotebook.Connection:
    return connect_through(proxy)


def _extract(conn: sfnotebook.Connection, concurrency: int = 1, soql: str = SOQL) -> object:
    return conn.extract(
        soql, max_records=PAGE, concurrency=concurrency, poll_interval=0.01, progress=False
    )


def _header(line: bytes) -> Callable[[Answer], None]:
    def edit(answer: Answer) -> None:
        answer.body = line + answer.body[answer.body.index(b"\n") :]

    return edit


def _raises(conn: sfnotebook.Connection, concurrency: int = 1) -> UnexpectedAnswerError:
    with pytest.raises(UnexpectedAnswerError) as info:
        _extract(conn, concurrency)
    error = info.value
    assert error.status == 200
    assert error.endpoint.startswith("GET /services/data/v") and "/results" in error.endpoint
    assert error.endpoint in str(error) and error.body_start in str(error)
    chain = [error.__cause__, error.__context__]
    assert all(c is None or isinstance(c, SfNotebookError) for c in chain), chain
    return error


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_page_cut_inside_its_last_value(
    proxy: RewritingProxy, conn: sfnotebook.Connection, concurrency: int
) -> None:
    """Its rows still parse and its row count still agrees: only the line ending is missing."""

    def cut(answer: Answer) -> None:
        answer.body = answer.body[:-4]  # '...Opportunity Name"\n' -> '...Opportunity Na'

    rule = proxy.rule("GET", RESULTS, nth=2, edit=cut)
    error = _raises(conn, concurrency)
    assert rule.fired == 1
    assert "cut short" in str(error) and "no line ending" in str(error)


def test_a_page_of_another_content_type(proxy: RewritingProxy, conn: sfnotebook.Connection) -> None:
    proxy.rule("GET", RESULTS, nth=1, headers={"Content-Type": "application/json"})
    error = _raises(conn)
    assert "a application/json body where CSV belongs" in str(error)
    assert error.content_type == "application/json"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_error_array_page_names_its_code_and_shows_no_token(
    proxy: RewritingProxy, conn: sfnotebook.Connection, concurrency: int
) -> None:
    body = (
        f'[{{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid: {TOKEN}"}}]'
    ).encode()
    proxy.rule("GET", RESULTS, nth=1, body=body, headers={"Content-Type": "text/csv"})
    error = _raises(conn, concurrency)
    assert error.error_code == "INVALID_SESSION_ID"
    assert error.sf_message is not None and error.sf_message.startswith("Session expired")
    texts = [str(error), repr(error), error.body_start, error.sf_message]
    assert [t for t in texts if "t0k3n" in t] == []


def test_a_later_page_with_another_header(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    proxy.rule("GET", RESULTS, nth=2, edit=_header(b'"Id","Title"'))
    error = _raises(conn)
    assert "['Id', 'Title'], where the first had ['Id', 'Name']" in str(error)


def test_a_header_without_every_select_item(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    proxy.rule("GET", RESULTS, nth=1, edit=_header(b'"Id"'))
    error = _raises(conn)
    assert "a page with 1 columns (['Id']) for 2 items of the SELECT list" in str(error)


def test_a_header_line_that_is_not_utf8(proxy: RewritingProxy, conn: sfnotebook.Connection) -> None:
    proxy.rule("GET", RESULTS, nth=1, edit=_header(b'"Id","Na\xffme"'))
    error = _raises(conn)
    assert "header line does not read as UTF-8 CSV" in str(error)


def test_a_page_of_the_job_that_does_not_parse(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    """``job_results`` knows no SELECT list: a row of three columns under two is caught by the
    parser, and named as the page's fault."""

    def extra_column(answer: Answer) -> None:
        head, first, rest = answer.body.split(b"\n", 2)
        answer.body = b"\n".join([head, first + b',"extra"', rest])

    job = conn.request("POST", "jobs/query", json={"operation": "query", "query": SOQL}).json()
    proxy.rule("GET", RESULTS, nth=1, edit=extra_column)
    with pytest.raises(UnexpectedAnswerError, match="a CSV page that does not parse") as info:
        conn.job_results(job["id"], max_records=PAGE, concurrency=1, poll_interval=0.01)
    assert info.value.status == 200 and "/results" in info.value.endpoint
    assert info.value.__context__ is None


def test_a_record_count_that_is_not_a_count(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    proxy.rule("GET", RESULTS, nth=2, headers={"Sforce-NumberOfRecords": "many"})
    error = _raises(conn)
    assert "Sforce-NumberOfRecords is 'many', not a count" in str(error)


# ---- the empty result -------------------------------------------------------------------------


def _empty_body(answer: Answer) -> None:
    assert answer.headers["Sforce-NumberOfRecords"] == "0"
    answer.body = b""


@pytest.mark.parametrize("to_parquet", [False, True], ids=["frame", "parquet"])
@pytest.mark.parametrize("body", ["header only", "empty body"])
def test_an_empty_result_comes_back_with_its_columns(
    proxy: RewritingProxy, conn: sfnotebook.Connection, tmp_path: Path, body: str, to_parquet: bool
) -> None:
    rule = proxy.rule("GET", RESULTS, nth=0, edit=_empty_body if body == "empty body" else None)
    folder = tmp_path / "none"
    result = conn.extract(
        NONE, progress=False, poll_interval=0.01, to=folder if to_parquet else None
    )
    assert rule.fired == 1
    if to_parquet:
        assert result == folder
        files = sorted(folder.glob("*.parquet"))
        assert [pq.read_metadata(f).num_rows for f in files] == [0]
        assert pq.read_schema(files[0]).names == ["Id", "Name"]
    else:
        assert list(result.columns) == ["Id", "Name"] and len(result) == 0  # type: ignore[union-attr]
