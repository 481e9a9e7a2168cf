"""The describe cache against the demo org: a new connection revalidates the kept describe
(``If-Modified-Since``, answered 304) instead of fetching it, under both values of the demo's
``describe_last_modified`` switch; files 0600 in 0700 folders; damaged files tolerated; other
users and orgs kept apart; and a switch to turn it off."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import sfnotebook
from tests.conftest import connect_to


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(folder))
    monkeypatch.delenv("SFNOTEBOOK_DESCRIBE_CACHE", raising=False)
    return folder


@pytest.fixture(params=["absent", "sent"])
def last_modified(request: pytest.FixtureRequest, demo_org: Any) -> Iterator[str]:
    demo_org.set_dialect(describe_last_modified=request.param)
    try:
        yield request.param
    finally:
        demo_org.set_dialect(describe_last_modified="absent")


def _describes(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str | None, int]]:
    """(If-Modified-Since sent, status) of each describe the connection sends from now on."""
    seen: list[tuple[str | None, int]] = []
    real = conn.session.request

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        resp = real(method, url, *args, **kwargs)
        if url.endswith("/describe"):
            seen.append(((kwargs.get("headers") or {}).get("If-Modified-Since"), resp.status_code))
        return resp

    monkeypatch.setattr(conn.session, "request", spy)
    return seen


def _file(cache_dir: Path, conn: sfnotebook.Connection, name: str) -> Path:
    return (
        cache_dir
        / "describes"
        / conn.org_id
        / conn.user_id
        / f"v{conn.api_version}"
        / f"{name}.json"
    )


def test_a_new_connection_revalidates_the_kept_describe(
    demo_org: Any, cache_dir: Path, last_modified: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = connect_to(demo_org)
    sent = _describes(first, monkeypatch)
    fresh = first.describe("Account")
    assert sent == [(None, 200)]
    path = _file(cache_dir, first, "account")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    folder = path.parent
    while folder != cache_dir.parent:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        folder = folder.parent

    second = connect_to(demo_org)
    sent = _describes(second, monkeypatch)
    kept = second.describe("account")
    assert len(sent) == 1 and sent[0][0] is not None and sent[0][1] == 304, sent
    assert kept == fresh and kept["name"] == "Account"
    second.describe("Account")
    assert len(sent) == 1  # then kept in memory for the connection, as before


def test_a_query_types_its_columns_from_a_revalidated_describe(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    soql = "SELECT Id, Name, AnnualRevenue, CreatedDate FROM Account ORDER BY Id LIMIT 5"
    before = connect_to(demo_org).query(soql)
    conn = connect_to(demo_org)
    sent = _describes(conn, monkeypatch)
    after = conn.query(soql)
    assert sent and all(status == 304 for _, status in sent), sent
    assert after.dtypes.equals(before.dtypes) and after.equals(before)


def test_a_copy_older_than_the_metadata_is_fetched_again(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_to(demo_org)
    conn.describe("Contact")
    path = _file(cache_dir, conn, "contact")
    record = orjson.loads(path.read_bytes())
    record["stamp"] = "Wed, 03 Jul 2013 19:43:31 GMT"  # before the demo's metadata last changed
    path.write_bytes(orjson.dumps(record))
    again = connect_to(demo_org)
    sent = _describes(again, monkeypatch)
    assert again.describe("Contact")["name"] == "Contact"
    assert sent == [("Wed, 03 Jul 2013 19:43:31 GMT", 200)]
    assert orjson.loads(path.read_bytes())["stamp"] != record["stamp"]  # replaced


@pytest.mark.parametrize("damage", [b"", b'{"format": 1, "describe": ', b"\x00" * 64, b"[]"])
def test_a_damaged_file_is_tolerated_and_replaced(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    conn = connect_to(demo_org)
    conn.describe("Opportunity")
    path = _file(cache_dir, conn, "opportunity")
    path.write_bytes(damage)
    again = connect_to(demo_org)
    sent = _describes(again, monkeypatch)
    assert again.describe("Opportunity")["name"] == "Opportunity"
    assert sent == [(None, 200)]  # asked in full, as if none were kept
    assert orjson.loads(path.read_bytes())["describe"]["name"] == "Opportunity"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unwritable_cache_never_fails_a_describe(
    demo_org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(blocked))
    conn = connect_to(demo_org)
    assert conn.describe("Account")["name"] == "Account"


def test_another_user_does_not_read_this_users_copy(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_to(demo_org).describe("Account")
    other = connect_to(demo_org)
    monkeypatch.setattr(
        sfnotebook.Connection, "user_id", property(lambda self: "005DE0000000009AAA")
    )
    sent = _describes(other, monkeypatch)
    other.describe("Account")
    assert sent == [(None, 200)]  # nothing kept for that user: asked in full
    assert _file(cache_dir, other, "account").exists()
    users = sorted(p.name for p in (cache_dir / "describes" / other.org_id).iterdir())
    assert len(users) == 2 and "005DE0000000009AAA" in users


@pytest.mark.parametrize("how", ["argument", "attribute", "environment"])
def test_the_cache_can_be_turned_off(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    connect_to(demo_org).describe("Account")  # a kept copy that must not be used
    if how == "environment":
        monkeypatch.setenv("SFNOTEBOOK_DESCRIBE_CACHE", "0")
    conn = connect_to(demo_org, describe_cache=False) if how == "argument" else connect_to(demo_org)
    if how == "attribute":
        conn.describe_cache = False
    assert conn.describe_cache is False
    sent = _describes(conn, monkeypatch)
    before = {p: p.stat().st_mtime_ns for p in cache_dir.rglob("*.json")}
    conn.describe("Account")
    conn.describe("Contact")
    assert sent == [(None, 200), (None, 200)]
    assert {p: p.stat().st_mtime_ns for p in cache_dir.rglob("*.json")} == before
    assert not os.path.exists(_file(cache_dir, conn, "contact"))


def test_a_kept_describe_can_be_read_without_a_request(
    demo_org: Any, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For planning which describes to ask together; the describe itself still revalidates."""
    connect_to(demo_org).describe("Account")
    conn = connect_to(demo_org)
    sent = _describes(conn, monkeypatch)
    hint = conn._kept_describe("Account")
    assert hint is not None and hint["name"] == "Account"
    assert conn._kept_describe("Contact") is None  # never described: nothing kept
    assert sent == []
    assert conn.describe("Account") == hint and len(sent) == 1  # the revalidation
    assert conn._kept_describe("account") is conn.describe("Account")  # held in memory now
    conn.describe_cache = False
    assert conn._kept_describe("Account") is not None and conn._kept_describe("Opportunity") is None
