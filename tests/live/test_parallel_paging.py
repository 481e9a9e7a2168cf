"""Parallel query paging by locator offset (issue 13, item 1), against the demo org.

Under both ``locator_offsets`` switches of the demo ("arbitrary": any offset of a cursor is
served; "sequential": only the next-page URL handed out last, anything else is 400
``INVALID_QUERY_LOCATOR`` as for a bad locator) every frame equals the one sequential paging
gives. A refused offset, a short page, a page whose ``totalSize`` or ``nextRecordsUrl`` does
not fit (injected by the rewriting proxy) fall back to paging in turn, or raise
``IncompleteResultError``: never a silent loss. Requests are counted, never timed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

import sfnotebook
from sfnotebook import _findings, errors
from sfnotebook._cachedir import write_private
from sfnotebook._doctor import cached_findings
from sfnotebook._session import ApiSession
from sfnotebook.soql import _parallel
from sfnotebook_demo.dialect import Dialect
from tests.adversarial.proxy import Answer, RewritingProxy
from tests.conftest import connect_to

ACCOUNTS = "SELECT Id, Name, Industry, AnnualRevenue FROM Account ORDER BY Id"
BATCH = 200  # about 4,900 accounts: 25 pages


def _query_more(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in journal if "/query/" in e["path"]]


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as org:
        yield org


@pytest.fixture(scope="module")
def expected(demo: Any) -> pd.DataFrame:
    frame = connect_to(demo).query(ACCOUNTS, batch_size=BATCH, progress=False, concurrency=1)
    assert len(frame) > 10 * BATCH
    return frame


@pytest.fixture(params=Dialect.choices()["locator_offsets"])
def offsets(request: pytest.FixtureRequest, demo: Any) -> Iterator[str]:
    demo.set_dialect(locator_offsets=request.param)
    yield request.param
    demo.set_dialect(locator_offsets=Dialect().locator_offsets)


@pytest.fixture(autouse=True)
def _no_findings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's doctor findings are read or amended."""
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))


class _InFlight:
    """The most query-more calls the client had out at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()


@pytest.fixture
def in_flight(monkeypatch: pytest.MonkeyPatch) -> _InFlight:
    seen = _InFlight()
    real = ApiSession.request

    def spy(session: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        more = "/query/" in url
        if more:
            with seen.lock:
                seen.now += 1
                seen.most = max(seen.most, seen.now)
        try:
            return real(session, method, url, *args, **kwargs)
        finally:
            if more:
                with seen.lock:
                    seen.now -= 1

    monkeypatch.setattr(ApiSession, "request", spy)
    return seen


# -- frames identical to sequential paging ----------------------------------------------------


@pytest.mark.parametrize("concurrency", [2, 4, 16])
def test_the_frame_is_the_sequential_one(
    demo: Any, offsets: str, expected: pd.DataFrame, concurrency: int
) -> None:
    frame = connect_to(demo).query(
        ACCOUNTS, batch_size=BATCH, progress=False, concurrency=concurrency
    )
    pd.testing.assert_frame_equal(frame, expected)


@pytest.mark.parametrize("form", Dialect.choices()["query_locators"])
def test_either_locator_form_is_paged_alike(
    demo: Any, expected: pd.DataFrame, form: str, in_flight: _InFlight
) -> None:
    demo.set_dialect(query_locators=form)
    try:
        frame = connect_to(demo).query(ACCOUNTS, batch_size=BATCH, progress=False)
    finally:
        demo.set_dialect(query_locators=Dialect().query_locators)
    pd.testing.assert_frame_equal(frame, expected)
    assert in_flight.most == 4  # the locator is opaque: only its "-<offset>" is chosen


def test_an_offset_query_is_never_paged_by_offset(
    demo: Any, expected: pd.DataFrame, in_flight: _InFlight
) -> None:
    demo.set_dialect(offset_queries="paged")  # paged like any query (the demo's older way)
    try:
        frame = connect_to(demo).query(
            f"{ACCOUNTS} LIMIT 1500 OFFSET 100", batch_size=BATCH, progress=False
        )
    finally:
        demo.set_dialect(offset_queries=Dialect().offset_queries)
    pd.testing.assert_frame_equal(frame, expected.iloc[100:1600].reset_index(drop=True))
    assert in_flight.most <= 1


def test_query_iter_keeps_the_order(demo: Any, offsets: str, expected: pd.DataFrame) -> None:
    conn = connect_to(demo)
    chunks = list(conn.query_iter(ACCOUNTS, batch_size=BATCH, chunk_rows=1000, progress=False))
    assert len(chunks) > 3
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), expected)


def test_pages_go_out_together_and_no_more_than_asked(
    demo: Any, expected: pd.DataFrame, in_flight: _InFlight
) -> None:
    frame = connect_to(demo).query(ACCOUNTS, batch_size=BATCH, progress=False, concurrency=3)
    pd.testing.assert_frame_equal(frame, expected)
    assert in_flight.most == 3  # bounded: at most 3 pages in flight (and so in memory)


def test_concurrency_1_is_one_page_after_the_other(
    demo: Any, expected: pd.DataFrame, in_flight: _InFlight
) -> None:
    before = len(demo.journal())
    frame = connect_to(demo).query(ACCOUNTS, batch_size=BATCH, progress=False, concurrency=1)
    pd.testing.assert_frame_equal(frame, expected)
    assert in_flight.most == 1
    more = _query_more(demo.journal()[before:])
    assert len(more) == -(-len(expected) // BATCH) - 1 and all(e["status"] == 200 for e in more)


@pytest.mark.parametrize("bad", [0, -1, 17, 2.0, True])
def test_a_bad_concurrency_is_refused_before_any_request(demo: Any, bad: Any) -> None:
    conn = connect_to(demo)
    before = len(demo.journal())
    with pytest.raises((TypeError, ValueError), match="concurrency"):
        conn.query(ACCOUNTS, concurrency=bad)
    assert len(demo.journal()) == before


def test_child_subqueries_page_in_turn_and_stay_exact(
    demo: Any, offsets: str, in_flight: _InFlight
) -> None:
    soql = (
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account ORDER BY Id"
    )
    conn = connect_to(demo)
    one = conn.query(soql, batch_size=BATCH, progress=False, concurrency=1)
    four = conn.query(soql, batch_size=BATCH, progress=False, concurrency=4)
    pd.testing.assert_frame_equal(four.frame, one.frame)
    for rel in one.children:
        pd.testing.assert_frame_equal(four.children[rel], one.children[rel])
    assert in_flight.most == 1  # each parent page releases the child cursors of the one before


# -- refused offsets: in turn from the last page put out, remembered -------------------------


def test_refused_offsets_fall_back_and_are_remembered(demo: Any, expected: pd.DataFrame) -> None:
    demo.set_dialect(locator_offsets="sequential")
    try:
        conn = connect_to(demo)
        before = len(demo.journal())
        first = conn.query(ACCOUNTS, batch_size=BATCH, progress=False)
        refused = [e for e in _query_more(demo.journal()[before:]) if e["status"] == 400]
        middle = len(demo.journal())
        second = conn.query(ACCOUNTS, batch_size=BATCH, progress=False)
        again = _query_more(demo.journal()[middle:])
    finally:
        demo.set_dialect(locator_offsets=Dialect().locator_offsets)
    pd.testing.assert_frame_equal(first, expected)
    pd.testing.assert_frame_equal(second, expected)
    assert refused, "the first query tried chosen offsets"
    # The second query makes no offset attempt: every query-more call is the next page's.
    assert all(e["status"] == 200 for e in again)
    assert len(again) == -(-len(expected) // BATCH) - 1


def _findings_file(conn: sfnotebook.Connection, locator_offsets: str) -> Path:
    path = _findings.cache_path(conn.org_id)
    finding = {
        "key": "locators",
        "label": "Query locators (arbitrary offsets, parallel pages)",
        "status": "ok" if locator_offsets == "arbitrary" else "no",
        "summary": "written by the test",
        "details": {},
        "dialect": {"locator_offsets": locator_offsets},
        "calls": 3,
    }
    report = {
        "format": _findings.FORMAT,
        "org_id": conn.org_id,
        "instance_url": conn.instance_url,
        "when": "2026-12-01 00:00 UTC",
        "findings": [finding],
    }
    write_private(path, json.dumps(report))
    return path


def test_a_refusal_is_written_to_doctors_findings(demo: Any, expected: pd.DataFrame) -> None:
    conn = connect_to(demo)
    path = _findings_file(conn, "arbitrary")
    demo.set_dialect(locator_offsets="sequential")
    try:
        frame = conn.query(ACCOUNTS, batch_size=BATCH, progress=False)
    finally:
        demo.set_dialect(locator_offsets=Dialect().locator_offsets)
    pd.testing.assert_frame_equal(frame, expected)
    report = cached_findings(conn)
    assert report is not None and report.dialect["locator_offsets"] == "sequential"
    assert report["locators"].status == "no" and "refused" in report["locators"].summary
    assert path.stat().st_mode & 0o777 == 0o600


def test_doctors_findings_spare_a_new_connection_the_attempt(
    demo: Any, expected: pd.DataFrame
) -> None:
    _findings_file(connect_to(demo), "sequential")
    demo.set_dialect(locator_offsets="sequential")
    try:
        conn = connect_to(demo)  # a new connection: nothing remembered in memory
        before = len(demo.journal())
        frame = conn.query(ACCOUNTS, batch_size=BATCH, progress=False)
        more = _query_more(demo.journal()[before:])
    finally:
        demo.set_dialect(locator_offsets=Dialect().locator_offsets)
    pd.testing.assert_frame_equal(frame, expected)
    assert all(e["status"] == 200 for e in more)


def test_no_findings_file_is_created(demo: Any, tmp_path: Path) -> None:
    demo.set_dialect(locator_offsets="sequential")
    try:
        conn = connect_to(demo)
        conn.query(ACCOUNTS, batch_size=BATCH, progress=False)
    finally:
        demo.set_dialect(locator_offsets=Dialect().locator_offsets)
    assert not _findings.cache_path(conn.org_id).exists()
    assert _parallel.offsets_refused(conn)


# -- hostile pages through the rewriting proxy ------------------------------------------------


@pytest.fixture(scope="module")
def proxy(demo: Any) -> Iterator[RewritingProxy]:
    with RewritingProxy(demo) as proxy:
        yield proxy


@pytest.fixture
def through(proxy: RewritingProxy) -> Iterator[sfnotebook.Connection]:
    proxy.clear()
    yield sfnotebook.connect(
        **proxy.connect_kwargs(), env_file=False, backoff=0.01, retries=2, set_default=False
    )
    proxy.clear()


def _edit(change: Any) -> Any:
    def edit(answer: Answer) -> None:
        body = orjson.loads(answer.body)
        if isinstance(body, dict):  # a query page, not an error answer
            change(body)
            answer.body = orjson.dumps(body)

    return edit


def _page_at(offset: int) -> str:
    return rf"/query/[^/]+-{offset}$"  # a chosen offset (not the first handed-out URL)


def _short(body: dict[str, Any]) -> None:
    body["records"].pop()


def _more_total(body: dict[str, Any]) -> None:
    body["totalSize"] += 1


def _wrong_next(body: dict[str, Any]) -> None:
    body["nextRecordsUrl"] = body["nextRecordsUrl"].rsplit("-", 1)[0] + "-1"


@pytest.mark.parametrize("change", [_short, _more_total, _wrong_next])
def test_a_page_that_does_not_fit_falls_back_to_the_exact_frame(
    proxy: RewritingProxy, through: sfnotebook.Connection, expected: pd.DataFrame, change: Any
) -> None:
    rule = proxy.rule("GET", _page_at(3 * BATCH), edit=_edit(change))  # once
    frame = through.query(ACCOUNTS, batch_size=BATCH, progress=False)
    assert rule.fired == 1
    pd.testing.assert_frame_equal(frame, expected)
    # Not remembered: pages of another size are documented (the batch size is a request), so
    # one query's odd page says nothing of the next; only a refused locator is remembered.
    assert not _parallel.offsets_refused(through)


@pytest.mark.parametrize(
    ("status", "code", "remembered"),
    [(400, "INVALID_QUERY_LOCATOR", True), (404, "NOT_FOUND", False)],
)
def test_a_refused_offset_falls_back_to_the_exact_frame(
    proxy: RewritingProxy,
    through: sfnotebook.Connection,
    expected: pd.DataFrame,
    status: int,
    code: str,
    remembered: bool,
) -> None:
    refusal = orjson.dumps([{"message": "invalid query locator", "errorCode": code}])
    rule = proxy.rule(
        "GET", _page_at(4 * BATCH), status=status, body=refusal,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    frame = through.query(ACCOUNTS, batch_size=BATCH, progress=False)
    assert rule.fired == 1
    pd.testing.assert_frame_equal(frame, expected)
    # Only the code of a bad locator says the org refuses chosen offsets; another refusal
    # ends this query's fan-out alone.
    assert _parallel.offsets_refused(through) is remembered


def test_a_page_short_every_time_is_an_incomplete_result(
    proxy: RewritingProxy, through: sfnotebook.Connection
) -> None:
    proxy.rule("GET", _page_at(3 * BATCH), nth=0, edit=_edit(_short))  # also in turn
    with pytest.raises(errors.IncompleteResultError) as raised:
        through.query(ACCOUNTS, batch_size=BATCH, progress=False)
    assert raised.value.received == raised.value.expected - 1  # type: ignore[operator]


def test_a_last_page_not_done_every_time_is_never_a_silent_loss(
    demo: Any, proxy: RewritingProxy, through: sfnotebook.Connection, expected: pd.DataFrame
) -> None:
    last = (len(expected) - 1) // BATCH * BATCH

    def not_done(body: dict[str, Any]) -> None:
        body["done"] = False

    proxy.rule("GET", _page_at(last), nth=0, edit=_edit(not_done))
    # Asked again in turn, the last page is refused (its cursor was released when it was
    # served) or still not done: a typed error either way.
    with pytest.raises((errors.IncompleteResultError, errors.QueryLocatorExpiredError)):
        through.query(ACCOUNTS, batch_size=BATCH, progress=False)


# -- the %%soql magic -------------------------------------------------------------------------


def test_the_magic_takes_a_concurrency(demo: Any, in_flight: _InFlight) -> None:
    pytest.importorskip("IPython")
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from sfnotebook import connection as connection_module

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "sfnotebook")
        conn = shell.user_ns["paged"] = connect_to(demo)
        soql = "SELECT Id, Name, Amount FROM Opportunity ORDER BY Id"  # 2,000-row pages
        frame = shell.run_cell_magic("soql", "--connection paged --concurrency 2", soql)
        assert in_flight.most == 2
        pd.testing.assert_frame_equal(frame, conn.query(soql, progress=False, concurrency=1))
        for bad in ("--concurrency", "--concurrency 0", "--concurrency two"):
            with pytest.raises(UsageError, match="--concurrency needs a whole number"):
                shell.run_cell_magic("soql", f"--connection paged {bad}", ACCOUNTS)
    finally:
        connection_module.set_default(None)
        InteractiveShell.clear_instance()
