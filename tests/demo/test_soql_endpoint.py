"""The demo org's query endpoints, called through its router without HTTP.

The dataset has two accounts with about 580 contacts each, so child subqueries page under
either ``child_batch`` of the dialect (199 or 499).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import orjson
import pytest

from sfnotebook_demo.data import database as data
from sfnotebook_demo.dialect import Dialect, DialectBox
from sfnotebook_demo.http import Request, Response, Router
from sfnotebook_demo.soql import cursors
from sfnotebook_demo.soql import endpoint as query_endpoint
from sfnotebook_demo.soql.endpoint import CursorStore, batch_size, register
from sfnotebook_demo.state import OrgState

SIZES: dict[str, Any] = {
    "opportunities": 300,
    "accounts": 2,
    "contacts": 1200,
    "users": 5,
    "cases": 10,
    "tasks": 20,
}
LOCATOR_URL = re.compile(r"^/services/data/v68\.0/(query|queryAll)/0r8[0-9A-Za-z]{15}-\d+$")
USER = "005000000000001AAA"
TOKEN = "00D000000000001!first-session"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Org:
    """A router with the query routes on an OrgState, and a fake clock for the cursors."""

    def __init__(self, database: Any) -> None:
        self.state = OrgState(database, "00D000000000001AAA")
        self.clock = Clock()
        self.state.features["query_cursors"] = CursorStore(clock=self.clock)
        self.dialect = DialectBox(Dialect())
        self.state.features["dialect"] = self.dialect
        self.router = Router()
        register(self.router, self.state)

    def get(
        self,
        path: str,
        *,
        batch: int | None = None,
        user: str = USER,
        token: str = TOKEN,
        **query: str,
    ) -> Response:
        headers = {"sforce-query-options": f"batchSize={batch}"} if batch else {}
        match = self.router.match("GET", unquote(path))
        assert isinstance(match, tuple)
        route, groups = match
        version = groups.pop("_v", None)
        request = Request(
            "GET", path, dict(query), headers, api_version=version, user_id=user, token=token
        )
        return route.handler(request, **groups)


def body(resp: Response) -> Any:
    return orjson.loads(b"".join(resp.chunks()))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.getbasetemp() / "demo-soql-db"
    db = data.Database(data.ensure_database(directory=folder, **SIZES))
    yield db
    db.close()


@pytest.fixture
def org(database: Any) -> Org:
    return Org(database)


@pytest.fixture
def conn(database: Any) -> sqlite3.Connection:
    return database.connect()  # type: ignore[no-any-return]


def query(org: Org, soql: str, *, batch: int | None = None, all_rows: bool = False) -> Response:
    return org.get(
        f"/services/data/v68.0/{'queryAll' if all_rows else 'query'}", batch=batch, q=soql
    )


def follow(org: Org, first: dict[str, Any], *, batch: int | None = None) -> list[dict[str, Any]]:
    """Every page of a result, asserting the paging contract on the way."""
    pages = [first]
    while not pages[-1]["done"]:
        url = pages[-1]["nextRecordsUrl"]
        assert LOCATOR_URL.match(url), url
        resp = org.get(url, batch=batch)
        assert resp.status == 200, body(resp)
        page = body(resp)
        assert page["totalSize"] == first["totalSize"]
        pages.append(page)
    assert "nextRecordsUrl" not in pages[-1]
    return pages


@pytest.mark.parametrize(
    ("header", "size"),
    [(None, 2000), ("batchSize=500", 500), ("batchSize=50", 200), ("batchSize=5000", 2000),
     ("foo=1, batchSize=300", 300), ("batchSize=lots", 2000)],
)  # fmt: skip
def test_batch_size_header_is_clamped(header: str | None, size: int) -> None:
    assert batch_size(header) == size


def test_pages_of_200_cover_the_result_once(org: Org, conn: sqlite3.Connection) -> None:
    first = body(query(org, "SELECT Id, Account.Name FROM Contact ORDER BY LastName", batch=200))
    expected = conn.execute("SELECT COUNT(*) FROM Contact WHERE IsDeleted = 0").fetchone()[0]
    assert first["totalSize"] == expected
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    pages = follow(org, first, batch=200)
    sizes = [len(p["records"]) for p in pages]
    assert sizes[:-1] == [200] * (len(pages) - 1)
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == expected
    assert first["nextRecordsUrl"].endswith("-200")


def test_default_batch_is_2000_and_small_results_have_no_locator(org: Org) -> None:
    page = body(query(org, "SELECT Id FROM Contact"))
    assert page["done"] is True and "nextRecordsUrl" not in page
    assert len(page["records"]) == page["totalSize"]
    assert len(org.state.features["query_cursors"]) == 0


def test_query_all_includes_deleted_rows(org: Org, conn: sqlite3.Connection) -> None:
    deleted = conn.execute("SELECT COUNT(*) FROM Contact WHERE IsDeleted = 1").fetchone()[0]
    assert deleted > 0
    live = body(query(org, "SELECT Id FROM Contact", batch=200))["totalSize"]
    everything = body(query(org, "SELECT Id FROM Contact", batch=200, all_rows=True))
    assert everything["totalSize"] == live + deleted
    assert everything["nextRecordsUrl"].startswith("/services/data/v68.0/queryAll/")
    pages = follow(org, everything)
    assert sum(len(p["records"]) for p in pages) == live + deleted


def test_count_query(org: Org, conn: sqlite3.Connection) -> None:
    page = body(query(org, "SELECT COUNT() FROM Contact"))
    expected = conn.execute("SELECT COUNT(*) FROM Contact WHERE IsDeleted = 0").fetchone()[0]
    assert page == {"totalSize": expected, "done": True, "records": []}


@pytest.mark.parametrize("child_batch", Dialect.choices()["child_batch"])
def test_child_results_past_the_child_batch_page_with_their_own_locator(
    org: Org, conn: sqlite3.Connection, child_batch: int
) -> None:
    org.dialect.update(child_batch=child_batch)
    counts = dict(
        conn.execute(
            "SELECT AccountId, COUNT(*) FROM Contact WHERE IsDeleted = 0 AND AccountId IS NOT NULL "
            "GROUP BY AccountId"
        ).fetchall()
    )
    assert min(counts.values()) > max(Dialect.choices()["child_batch"])
    page = body(
        query(org, "SELECT Id, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account")
    )
    assert page["done"] is True  # two parents fit in one batch of 2000 (1 + 499 rows each)
    for account in page["records"]:
        child = account["Contacts"]
        assert child["done"] is False and len(child["records"]) == child_batch
        assert child["totalSize"] == counts[account["Id"]]
        assert LOCATOR_URL.match(child["nextRecordsUrl"]) and child["nextRecordsUrl"].endswith(
            f"-{child_batch}"
        )
        rest = follow(org, child, batch=200)
        ids = [r["Id"] for p in rest for r in p["records"]]
        expected = [
            r[0]
            for r in conn.execute(
                "SELECT Id FROM Contact WHERE IsDeleted = 0 AND AccountId = ? ORDER BY Id",
                (account["Id"],),
            )
        ]
        assert ids == expected


def test_children_count_toward_the_batch(org: Org) -> None:
    page = body(query(org, "SELECT Id, (SELECT Id FROM Contacts) FROM Account", batch=200))
    assert len(page["records"]) == 1  # 1 parent + 199 children already fill the batch
    assert page["done"] is False
    assert len(follow(org, page, batch=200)) == 2


def test_next_parent_page_releases_previous_child_cursors(org: Org) -> None:
    first = body(query(org, "SELECT Id, (SELECT Id FROM Contacts) FROM Account", batch=200))
    child_url = first["records"][0]["Contacts"]["nextRecordsUrl"]
    assert org.get(child_url).status == 200
    second = org.get(first["nextRecordsUrl"], batch=200)
    assert second.status == 200
    gone = org.get(child_url)
    assert gone.status == 400
    assert body(gone) == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_locators_take_the_dialects_form(org: Org) -> None:
    org.dialect.update(query_locators="01g")
    url = body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"]
    assert re.match(r"^/services/data/v68\.0/query/01g[0-9A-Za-z]{15}-200$", url), url
    assert org.get(url).status == 200


def test_cursors_live_two_days_whether_used_or_not(org: Org) -> None:
    first = body(query(org, "SELECT Id FROM Contact", batch=200))
    org.clock.now += 60 * 60  # an hour idle: long past the old 15 minutes
    second = org.get(first["nextRecordsUrl"], batch=200)
    assert second.status == 200
    org.clock.now += 2 * 86400 - 60 * 60 + 1  # two days after the query, however recently used
    third = org.get(body(second)["nextRecordsUrl"])
    assert third.status == 400
    assert body(third)[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_there_is_no_limit_on_open_cursors(org: Org) -> None:
    urls = [
        body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"] for _ in range(25)
    ]
    assert all(org.get(u).status == 200 for u in urls)


def test_before_api_56_locators_expired_after_15_idle_minutes(org: Org) -> None:
    org.dialect.update(cursor_limits="pre-56")
    first = body(query(org, "SELECT Id FROM Contact", batch=200))
    org.clock.now += 14 * 60
    second = org.get(first["nextRecordsUrl"], batch=200)
    assert second.status == 200  # use resets the idle timer
    org.clock.now += 15 * 60 + 1
    third = org.get(body(second)["nextRecordsUrl"])
    assert third.status == 400
    assert body(third)[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_before_api_56_an_eleventh_cursor_released_the_oldest(org: Org) -> None:
    org.dialect.update(cursor_limits="pre-56")
    urls = [
        body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"] for _ in range(11)
    ]
    assert org.get(urls[0]).status == 400
    assert all(org.get(u).status == 200 for u in urls[1:])


def test_the_demo_bounds_the_cursors_it_keeps(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cursors, "MAX_OPEN", 3)
    urls = [
        body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"] for _ in range(4)
    ]
    assert org.get(urls[1]).status == 200  # used: the least recently used is now urls[0]
    assert org.get(urls[0]).status == 400
    assert [org.get(u).status for u in urls[1:]] == [200, 200, 200]


def test_cursors_belong_to_their_user(org: Org) -> None:
    url = body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"]
    assert org.get(url, user="005000000000002AAA").status == 400
    assert org.get(url).status == 200


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [("invalid-session", 401, ["Session expired or invalid", "INVALID_SESSION_ID"]),
     ("invalid-locator", 400, ["invalid query locator", "INVALID_QUERY_LOCATOR"])],
)  # fmt: skip
def test_cursors_belong_to_their_session(
    org: Org, answer: str, status: int, error: list[str]
) -> None:
    org.dialect.update(foreign_cursor_answer=answer)
    first = body(query(org, "SELECT Id, (SELECT Id FROM Contacts) FROM Account", batch=200))
    # Child cursors alike (first: the next parent page releases them).
    urls = [first["records"][0]["Contacts"]["nextRecordsUrl"], first["nextRecordsUrl"]]
    for url in urls:
        resp = org.get(url, token="00D000000000001!second-session")
        assert resp.status == status
        assert body(resp) == [{"message": error[0], "errorCode": error[1]}]
        assert org.get(url).status == 200  # still the first session's


def test_under_the_user_rule_any_session_of_the_user_continues(org: Org) -> None:
    org.dialect.update(query_cursors="user")
    url = body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"]
    assert org.get(url, token="00D000000000001!second-session").status == 200
    assert org.get(url, user="005000000000002AAA").status == 400


@pytest.mark.parametrize(
    "path",
    ["/services/data/v68.0/query/01gDm0000000999AAA-200", "/services/data/v68.0/query/junk-12"],
)
def test_unknown_locators(org: Org, path: str) -> None:
    resp = org.get(path)
    assert resp.status == 400
    assert body(resp) == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_expire_locators_fault(org: Org) -> None:
    url = body(query(org, "SELECT Id FROM Contact", batch=200))["nextRecordsUrl"]
    recorded: list[str] = []
    org.state.features["faults"] = SimpleNamespace(expire_locators=True, record=recorded.append)
    resp = org.get(url)
    assert resp.status == 400 and body(resp)[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert recorded == ["expired_locator"]
    org.state.features["faults"] = SimpleNamespace(expire_locators=False)
    assert org.get(url).status == 200


def test_soql_errors_are_400_bodies(org: Org) -> None:
    resp = query(org, "SELECT Id FROM Widget__c")
    assert resp.status == 400
    [err] = body(resp)
    assert err["errorCode"] == "INVALID_TYPE"
    assert "ERROR at Row:1:Column:16" in err["message"]
    missing = org.get("/services/data/v68.0/query")
    assert missing.status == 400 and body(missing)[0]["errorCode"] == "MALFORMED_QUERY"


def test_aggregates_over_one_batch_are_refused(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_endpoint, "MAX_AGGREGATE_ROWS", 10)
    resp = query(org, "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName")
    assert resp.status == 400
    [err] = body(resp)
    assert err["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert err["message"].startswith("Aggregate query does not support queryMore()")
    ok = body(query(org, "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName LIMIT 10"))
    assert ok["done"] is True and ok["totalSize"] == len(ok["records"]) == 10
    assert ok["records"][0]["attributes"] == {"type": "AggregateResult"}


def test_pages_without_order_by_and_a_parent_filter(org: Org, conn: sqlite3.Connection) -> None:
    first = body(
        query(org, "SELECT Id, Account.Name FROM Contact WHERE Account.Name != null", batch=200)
    )
    ids = [r["Id"] for p in follow(org, first, batch=200) for r in p["records"]]
    expected = [
        r[0]
        for r in conn.execute(
            "SELECT c.Id FROM Contact c JOIN Account a ON a.Id = c.AccountId "
            "WHERE c.IsDeleted = 0 AND a.Name IS NOT NULL ORDER BY c.rowid"
        )
    ]
    assert ids == expected


def test_batch_size_may_change_between_pages(org: Org, conn: sqlite3.Connection) -> None:
    first = body(query(org, "SELECT Id FROM Contact ORDER BY LastName DESC, Id", batch=200))
    second = body(org.get(first["nextRecordsUrl"], batch=300))
    assert len(second["records"]) == 300 and second["nextRecordsUrl"].endswith("-500")
    rest = follow(org, second, batch=1000)
    ids = [r["Id"] for p in [first, *rest] for r in p["records"]]
    expected = [
        r[0]
        for r in conn.execute(
            "SELECT Id FROM Contact WHERE IsDeleted = 0 ORDER BY LastName COLLATE NOCASE DESC, Id"
        )
    ]
    assert ids == expected


def test_query_more_without_the_header_keeps_the_batch_size(org: Org) -> None:
    first = body(query(org, "SELECT Id FROM Contact", batch=300))
    second = body(org.get(first["nextRecordsUrl"]))
    assert len(second["records"]) == 300 and second["nextRecordsUrl"].endswith("-600")


# --- OFFSET (dialect offset_queries) ---------------------------------------------------------


def _live_contacts(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM Contact WHERE IsDeleted = 0").fetchone()[0])


@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (None, 10), (5000, 3), (150, 20)])
def test_capped_offset_queries_send_one_batch_of_at_most_2000(
    org: Org, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, limit: int | None,
    offset: int,
) -> None:  # fmt: skip
    monkeypatch.setattr(query_endpoint, "MAX_OFFSET_ROWS", 500)  # the data has ~1,200 contacts
    clauses = (f"LIMIT {limit} " if limit else "") + f"OFFSET {offset}"
    soql = f"SELECT Id FROM Contact ORDER BY Id {clauses}"  # noqa: S608 - SOQL to the demo
    page = body(query(org, soql))
    expected = min(_live_contacts(conn) - offset, limit or 10**9, 500)
    assert page["done"] is True and "nextRecordsUrl" not in page
    assert page["totalSize"] == len(page["records"]) == expected
    short = body(query(org, soql, batch=200))  # only the first batch, done all the same
    assert short["done"] is True and "nextRecordsUrl" not in short
    assert short["totalSize"] == expected and len(short["records"]) == min(expected, 200)
    assert len(org.state.features["query_cursors"]) == 0


def test_paged_offset_queries_page_like_any_query(org: Org, conn: sqlite3.Connection) -> None:
    org.dialect.update(offset_queries="paged")
    first = body(query(org, "SELECT Id FROM Contact ORDER BY Id OFFSET 10", batch=200))
    assert first["totalSize"] == _live_contacts(conn) - 10 and first["done"] is False
    assert sum(len(p["records"]) for p in follow(org, first, batch=200)) == first["totalSize"]


@pytest.mark.parametrize("mode", Dialect.choices()["offset_queries"])
def test_an_offset_past_2000_is_refused(org: Org, mode: str) -> None:
    org.dialect.update(offset_queries=mode)
    resp = query(org, "SELECT Id FROM Contact ORDER BY Id LIMIT 10 OFFSET 2001")
    assert resp.status == 400
    assert body(resp) == [
        {
            "message": "Maximum SOQL offset allowed is 2000",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
        }
    ]
    assert query(org, "SELECT Id FROM Contact ORDER BY Id LIMIT 10 OFFSET 2000").status == 200


REFUSED = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


def _at(url: str, offset: int) -> str:
    """The same cursor's locator URL at another offset."""
    return f"{url.rsplit('-', 1)[0]}-{offset}"


def _contact_ids(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT Id FROM Contact WHERE IsDeleted = 0 ORDER BY Id").fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("offsets", Dialect.choices()["locator_offsets"])
def test_the_handed_out_chain_is_served_under_both_locator_offsets(
    org: Org, conn: sqlite3.Connection, offsets: str
) -> None:
    org.dialect.update(locator_offsets=offsets)
    first = body(query(org, "SELECT Id FROM Contact ORDER BY Id", batch=200))
    pages = follow(org, first, batch=200)
    assert [r["Id"] for p in pages for r in p["records"]] == _contact_ids(conn)


def test_arbitrary_offsets_serve_any_page_in_any_order(org: Org, conn: sqlite3.Connection) -> None:
    assert Dialect().locator_offsets == "arbitrary"
    first = body(query(org, "SELECT Id FROM Contact ORDER BY Id", batch=200))
    ids = _contact_ids(conn)
    for offset in (600, 200, 600, 1000):  # ahead, back, the same one again
        page = body(org.get(_at(first["nextRecordsUrl"], offset), batch=200))
        assert [r["Id"] for r in page["records"]] == ids[offset : offset + 200]


def test_sequential_offsets_refuse_any_but_the_next_page_handed_out(
    org: Org, conn: sqlite3.Connection
) -> None:
    org.dialect.update(locator_offsets="sequential")
    first = body(query(org, "SELECT Id FROM Contact ORDER BY Id", batch=200))
    second_url = first["nextRecordsUrl"]
    ahead = org.get(_at(second_url, 400), batch=200)
    assert (ahead.status, body(ahead)) == (400, REFUSED)
    second = org.get(second_url, batch=200)  # the refusal does not spoil the cursor
    assert second.status == 200
    assert [r["Id"] for r in body(second)["records"]] == _contact_ids(conn)[200:400]
    again = org.get(second_url, batch=200)  # each locator once
    assert (again.status, body(again)) == (400, REFUSED)
    assert body(org.get(body(second)["nextRecordsUrl"], batch=200))["records"]


def test_sequential_offsets_hold_for_child_cursors(org: Org) -> None:
    org.dialect.update(locator_offsets="sequential")
    page = body(query(org, "SELECT Id, (SELECT Id FROM Contacts ORDER BY Id) FROM Account"))
    child_url = page["records"][0]["Contacts"]["nextRecordsUrl"]
    ahead = org.get(_at(child_url, 399), batch=200)
    assert (ahead.status, body(ahead)) == (400, REFUSED)
    served = org.get(child_url, batch=200)
    assert served.status == 200
    following = body(served)["nextRecordsUrl"]
    assert org.get(child_url, batch=200).status == 400
    assert org.get(following, batch=200).status == 200


def test_pages_asked_several_at_once_are_built_once_and_unchanged(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client with four pages in flight asks out of order: each page is still built once
    (built ahead or by its request, never both), and its bytes are those of the page asked
    for in turn (only the locator differs: another cursor)."""
    from concurrent.futures import ThreadPoolExecutor

    built: list[int] = []
    build = query_endpoint.QueryService._build

    def counted(self: Any, cur: Any, start: int, batch: int, version: str) -> Any:
        built.append(start)
        return build(self, cur, start, batch, version)

    monkeypatch.setattr(query_endpoint.QueryService, "_build", counted)
    soql = "SELECT Id, Name, Account.Name FROM Contact ORDER BY Id"

    def raw(resp: Response) -> bytes:
        return b"".join(resp.chunks())

    first = raw(query(org, soql, batch=200))
    in_turn = [first]
    while (url := orjson.loads(in_turn[-1]).get("nextRecordsUrl")) is not None:
        in_turn.append(raw(org.get(url, batch=200)))
    built.clear()
    page1 = orjson.loads(raw(query(org, soql, batch=200)))
    url, size = page1["nextRecordsUrl"], len(page1["records"])
    offsets = list(range(size, page1["totalSize"], size))
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda at: raw(org.get(_at(url, at), batch=200)), offsets[:-1]))
    pages.append(raw(org.get(_at(url, offsets[-1]), batch=200)))  # the last one last
    assert sorted(built) == [0, *offsets]
    old, new = orjson.loads(first)["nextRecordsUrl"], url
    locator = (old.rsplit("-", 1)[0].encode(), new.rsplit("-", 1)[0].encode())
    assert [p.replace(*locator) for p in in_turn[1:]] == pages
