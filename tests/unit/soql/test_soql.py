"""query()/query_iter() paging rules on a scripted fake connection (no server, no timing)."""

from __future__ import annotations

import json as json_module
import threading
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from sfnotebook import errors, soql
from sfnotebook._progress import NullBar, progress_bar
from sfnotebook.soql.records import QueryResult
from tests.fakes import FakeOrg

Q = "/services/data/v68.0/query"

DESCRIBES: dict[str, Any] = {
    "opportunity": {"name": "Opportunity", "fields": [
        {"name": "Id", "type": "id"}, {"name": "Amount", "type": "currency"},
        {"name": "CloseDate", "type": "date"},
        {"name": "AccountId", "type": "reference", "relationshipName": "Account",
         "referenceTo": ["Account"]}],
        "childRelationships": []},
    "account": {"name": "Account", "fields": [
        {"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}],
        "childRelationships": [{"childSObject": "Contact", "relationshipName": "Contacts",
                                "field": "AccountId"}]},
    "contact": {"name": "Contact", "fields": [
        {"name": "Id", "type": "id"}, {"name": "LastName", "type": "string"}],
        "childRelationships": []},
}  # fmt: skip


class FakeConnection(FakeOrg):
    """Answers query calls from a dict of URL -> body; records the calls in order."""

    def __init__(self, pages: dict[str, Any]) -> None:
        super().__init__(DESCRIBES)
        self.pages = pages
        self.calls: list[tuple[str, Mapping[str, str | int] | None, Mapping[str, str] | None]] = []
        self.lock = threading.Lock()

    def answer(self, method: str, url: str, *, params: Any, json: Any, headers: Any) -> Any:
        with self.lock:
            self.calls.append((url, params, headers))
        body = self.pages[url]
        if isinstance(body, Exception):
            return body
        # pretty-printed on purpose: the decoders must not depend on compact JSON
        return json_module.dumps(body, indent=2, separators=(",", " : ")).encode()


def opp(n: int, account: str | None = "Acme") -> dict[str, Any]:
    acct = None if account is None else {"attributes": {"type": "Account"}, "Name": account}
    return {"attributes": {"type": "Opportunity", "url": f"/x/006{n}"}, "Id": f"006{n:015d}",
            "Amount": n * 10.0, "CloseDate": "2024-05-01", "Account": acct}  # fmt: skip


def paged(total: int, sizes: list[int], *, endpoint: str = "query") -> dict[str, Any]:
    """Pages of opportunities: the first under ``endpoint``, the rest under locator URLs."""
    pages: dict[str, Any] = {}
    start = 0
    for i, size in enumerate(sizes):
        url = endpoint if i == 0 else f"{Q}/01gX-{start}"
        last = i == len(sizes) - 1
        body: dict[str, Any] = {"totalSize": total, "done": last,
                                "records": [opp(n, None if n % 3 else "Acme")
                                            for n in range(start, start + size)]}  # fmt: skip
        if not last:
            body["nextRecordsUrl"] = f"{Q}/01gX-{start + size}"
        pages[url] = body
        start += size
    return pages


SOQL = "SELECT Id, Amount, CloseDate, Account.Name FROM Opportunity"


def test_follows_every_page_and_types_columns() -> None:
    conn = FakeConnection(paged(7, [3, 3, 1]))
    frame = soql.query(conn, SOQL)
    assert len(frame) == 7
    assert frame["Id"].tolist()[-1] == "006000000000000006"
    assert frame.dtypes.astype(str).tolist() == ["string", "Float64", "datetime64[s]", "string"]
    assert [c[0] for c in conn.calls] == ["query", f"{Q}/01gX-3", f"{Q}/01gX-6"]
    assert conn.calls[0][1] == {"q": SOQL}


def test_fewer_rows_than_total_size_raises_and_returns_nothing() -> None:
    conn = FakeConnection(paged(8, [3, 3, 1]))
    with pytest.raises(errors.IncompleteResultError, match="8 rows but 7 arrived") as info:
        soql.query(conn, SOQL)
    assert info.value.expected == 8 and info.value.received == 7


def test_include_deleted_uses_query_all_and_batch_size_header() -> None:
    conn = FakeConnection(paged(2, [2], endpoint="queryAll"))
    frame = soql.query(conn, SOQL, include_deleted=True, batch_size=200)
    assert len(frame) == 2
    url, _params, headers = conn.calls[0]
    assert url == "queryAll"
    assert headers == {"Sforce-Query-Options": "batchSize=200"}


def test_count_only_returns_the_count() -> None:
    conn = FakeConnection({"query": {"totalSize": 17, "done": True, "records": []}})
    assert soql.query(conn, "SELECT COUNT() FROM Account") == 17
    chunks = list(soql.query_iter(conn, "SELECT COUNT() FROM Account"))
    assert chunks[0]["count"].tolist() == [17]


def test_empty_result_keeps_selected_columns_and_types() -> None:
    conn = FakeConnection({"query": {"totalSize": 0, "done": True, "records": []}})
    frame = soql.query(conn, SOQL)
    assert list(frame.columns) == ["Id", "Amount", "CloseDate", "Account.Name"]
    assert str(frame["Amount"].dtype) == "Float64"


def test_a_failing_page_raises_the_typed_error() -> None:
    pages = paged(6, [3, 3])
    pages[f"{Q}/01gX-3"] = errors.QueryLocatorExpiredError(
        "expired", status=400, error_code="INVALID_QUERY_LOCATOR"
    )
    with pytest.raises(errors.QueryLocatorExpiredError):
        soql.query(FakeConnection(pages), SOQL)


def contacts(parent: str, start: int, n: int) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact", "url": f"/x/003{parent}{i}"}, "Id": f"003{parent}{i}",
             "LastName": f"L{i}"} for i in range(start, start + n)]  # fmt: skip


def test_child_pages_are_fetched_before_the_next_parent_page() -> None:
    pages = {
        "query": {"totalSize": 2, "done": False, "nextRecordsUrl": f"{Q}/01gP-1", "records": [
            {"attributes": {"type": "Account", "url": "/x/001A"}, "Id": "001A", "Name": "A",
             "Contacts": {"totalSize": 5, "done": False, "nextRecordsUrl": f"{Q}/01gC-2",
                          "records": contacts("A", 0, 2)}}]},
        f"{Q}/01gC-2": {"totalSize": 5, "done": False, "nextRecordsUrl": f"{Q}/01gC-4",
                        "records": contacts("A", 2, 2)},
        f"{Q}/01gC-4": {"totalSize": 5, "done": True, "records": contacts("A", 4, 1)},
        f"{Q}/01gP-1": {"totalSize": 2, "done": True, "records": [
            {"attributes": {"type": "Account", "url": "/x/001B"}, "Id": "001B", "Name": "B",
             "Contacts": None}]},
    }  # fmt: skip
    conn = FakeConnection(pages)
    result = soql.query(conn, "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account")
    assert [c[0] for c in conn.calls] == ["query", f"{Q}/01gC-2", f"{Q}/01gC-4", f"{Q}/01gP-1"]
    assert isinstance(result, QueryResult)
    assert result["Contacts"]["Id"].tolist() == [f"003A{i}" for i in range(5)]
    assert result["Contacts"]["AccountId"].tolist() == ["001A"] * 5
    assert result.frame["Id"].tolist() == ["001A", "001B"]


def test_incomplete_child_result_raises() -> None:
    pages = {"query": {"totalSize": 1, "done": True, "records": [
        {"attributes": {"type": "Account", "url": "/x/001A"}, "Id": "001A", "Name": "A",
         "Contacts": {"totalSize": 3, "done": True, "records": contacts("A", 0, 2)}}]}}  # fmt: skip
    with pytest.raises(errors.IncompleteResultError, match="Contacts"):
        soql.query(FakeConnection(pages), "SELECT Id, Name, (SELECT Id FROM Contacts) FROM Account")


def test_large_result_warns_once_with_the_extract_hint() -> None:
    conn = FakeConnection(paged(4, [2, 2]))
    with pytest.warns(errors.LargeResultWarning, match=r"org\.extract"):
        soql.query(conn, SOQL, large_result_rows=3)


def test_query_iter_yields_chunks_with_the_same_dtypes() -> None:
    conn = FakeConnection(paged(7, [3, 3, 1]))
    chunks = list(soql.query_iter(conn, SOQL, chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert len({tuple(c.dtypes.astype(str)) for c in chunks}) == 1
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, soql.query(FakeConnection(paged(7, [3, 3, 1])), SOQL))


def test_unreadable_select_takes_columns_from_the_records() -> None:
    conn = FakeConnection(paged(3, [2, 1]))
    frame = soql.query(conn, "SELECT FIELDS(STANDARD) FROM Opportunity")
    assert list(frame.columns) == ["Id", "Amount", "CloseDate", "Account.Name"]
    assert str(frame["CloseDate"].dtype) == "datetime64[s]"
    assert len(frame) == 3


def test_dtypes_override_through_query() -> None:
    frame = soql.query(FakeConnection(paged(2, [2])), SOQL, dtypes={"Amount": "float64"})
    assert str(frame["Amount"].dtype) == "float64"


def test_progress_bar_is_silent_outside_a_kernel() -> None:
    assert isinstance(progress_bar(10), NullBar)
    assert isinstance(progress_bar(10, enabled=False), NullBar)
    bar = progress_bar(10, enabled=True)
    try:
        assert not isinstance(bar, NullBar)
    finally:
        bar.close()


def test_large_result_warning_points_at_the_caller() -> None:
    conn = FakeConnection(paged(4, [2, 2]))
    with pytest.warns(errors.LargeResultWarning) as record:
        soql.query(conn, SOQL, large_result_rows=3)
    assert record[0].filename == __file__


def test_a_bare_ipython_shell_is_not_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from sfnotebook import _progress

    class InteractiveShell:
        config: dict[str, Any] = {}  # noqa: RUF012 - a stand-in

    class ZMQInteractiveShell(InteractiveShell):
        pass

    fake = types.ModuleType("IPython")
    for shell, expected in ((InteractiveShell(), False), (ZMQInteractiveShell(), True)):
        fake.get_ipython = lambda shell=shell: shell  # type: ignore[attr-defined]
        monkeypatch.setitem(__import__("sys").modules, "IPython", fake)
        assert _progress.in_interactive_kernel() is expected
