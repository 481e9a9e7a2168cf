"""The rerun cache and result metadata against the demo org, counted with its request journal.

A rerun from the cache must send nothing at all (the demo org's journal does not grow), must
give the same frame with the same dtypes, and must never be read by another org or user.
"""

from __future__ import annotations

import dataclasses
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook.bulk._folder import ExtractFolder
from sfnotebook.errors import InvalidArgumentError
from tests.conftest import connect_to

SOQL = (
    "SELECT Id, Name, CreatedDate, AnnualRevenue, NumberOfEmployees FROM Account WHERE Name LIKE :p"
)
BULK = "SELECT Id, Name, Amount, CloseDate, IsWon FROM Opportunity WHERE Amount > 100000"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def conn(demo_org: Any) -> Iterator[sfnotebook.Connection]:
    c = connect_to(demo_org)
    yield c
    c.close(revoke=False)


class Journal:
    """Requests the demo org served since the last ``new()``."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.seen = len(demo.journal())

    def new(self) -> list[dict[str, Any]]:
        entries = self.demo.journal()
        fresh, self.seen = entries[self.seen :], len(entries)
        return fresh


def _as_other(
    conn: sfnotebook.Connection, *, org: str | None = None, user: str | None = None
) -> None:
    """Make ``conn`` believe it is another org or user (the cache keys on what it believes)."""
    token = conn.token
    base, org_id, user_id = token.identity_url.rsplit("/", 2)
    url = f"{base}/{org or org_id}/{user or user_id}"
    conn._token = dataclasses.replace(token, identity_url=url)


def test_a_rerun_sends_nothing_and_gives_the_same_frame(
    demo_org: Any, conn: sfnotebook.Connection, cache_dir: Path
) -> None:
    journal = Journal(demo_org)
    first = conn.query(SOQL, params={"p": "A%"}, cache="1h")
    sent = journal.new()
    meta = first.attrs["sfnotebook"]
    assert meta["kind"] == "soql" and meta["from_cache"] is False
    assert meta["request"].endswith("LIKE 'A%'")  # the SOQL as sent, bound
    assert meta["api_calls"] == len(sent) > 0
    assert meta["rows"] == len(first) and meta["pages_or_runs"] == 1
    # The identity is read lazily and the metadata never reads it: the username is unknown.
    assert not conn.identity_fetched
    assert meta["org_id"] == conn.org_id and meta["user_id"] == conn.user_id
    assert meta["username"] is None

    # The same request, spelled without params: the same entry, and not one request.
    again = conn.query(SOQL.replace(":p", "'A%'"), cache="30min")
    assert journal.new() == []
    assert again.equals(first) and list(again.dtypes) == list(first.dtypes)
    info = again.attrs["sfnotebook"]
    assert info["from_cache"] is True and info["api_calls"] == 0
    assert 0 <= info["cache_age_s"] < 3600
    assert info["fetched_at"] == meta["fetched_at"]

    # Files: 0600 in a 0700 directory of this org and user only.
    folder = cache_dir / "results" / f"{conn.org_id}-{conn.user_id}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache_dir / "results").stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_without_cache_every_call_fetches_and_refresh_fetches_again(
    demo_org: Any, conn: sfnotebook.Connection, cache_dir: Path
) -> None:
    journal = Journal(demo_org)
    conn.query("SELECT Id FROM Account LIMIT 3")
    conn.query("SELECT Id FROM Account LIMIT 3")
    assert len(journal.new()) >= 2
    assert not (cache_dir / "results").exists()  # nothing kept without cache=

    conn.query("SELECT Id FROM Account LIMIT 3", cache="1h")
    journal.new()
    fresh = conn.query("SELECT Id FROM Account LIMIT 3", cache="1h", refresh=True)
    assert journal.new() != []
    assert fresh.attrs["sfnotebook"]["from_cache"] is False
    conn.query("SELECT Id FROM Account LIMIT 3", cache="1h")
    assert journal.new() == []


def test_the_connection_default_and_clear_cache(demo_org: Any) -> None:
    journal = Journal(demo_org)
    with pytest.raises(InvalidArgumentError, match="cache="):
        connect_to(demo_org, cache="soon")
    assert journal.new() == []  # refused before the login
    conn = connect_to(demo_org, cache="1h")
    try:
        assert conn.cache == "1h"
        count = conn.query("SELECT COUNT() FROM Account")
        journal.new()
        assert conn.query("SELECT COUNT() FROM Account") == count
        assert journal.new() == []
        conn.query("SELECT COUNT() FROM Account", cache=None)  # None: the connection's default
        assert journal.new() == []
        assert conn.clear_cache() == 1
        conn.query("SELECT COUNT() FROM Account")
        assert journal.new() != []
        assert sfnotebook.clear_cache() == 1
    finally:
        conn.close(revoke=False)


def test_another_user_or_org_never_reads_the_entry(
    demo_org: Any, conn: sfnotebook.Connection, cache_dir: Path
) -> None:
    journal = Journal(demo_org)
    conn.query("SELECT Id, Name FROM Account LIMIT 5", cache="1h")
    journal.new()
    _as_other(conn, user="005Dm0000OtherUSR")
    conn.query("SELECT Id, Name FROM Account LIMIT 5", cache="1h")
    assert journal.new() != []
    _as_other(conn, org="00DDE0000OtherORG")
    conn.query("SELECT Id, Name FROM Account LIMIT 5", cache="1h")
    assert journal.new() != []
    owners = sorted(p.name for p in (cache_dir / "results").iterdir())
    assert len(owners) == 3 and all("-" in o for o in owners)


def test_bad_values_are_refused_before_any_request(
    demo_org: Any, conn: sfnotebook.Connection, tmp_path: Path
) -> None:
    journal = Journal(demo_org)
    with pytest.raises(InvalidArgumentError, match="not a maximum age"):
        conn.query("SELECT Id FROM Account", cache="a while")
    with pytest.raises(InvalidArgumentError, match="not a maximum age"):
        conn.report("Pipeline by Stage", cache=-1)
    with pytest.raises(InvalidArgumentError, match="with to= the Parquet folder"):
        conn.extract("SELECT Id FROM Account", to=tmp_path / "x", cache="1h")
    assert journal.new() == []


def test_a_report_is_kept_whole(demo_org: Any, conn: sfnotebook.Connection) -> None:
    journal = Journal(demo_org)
    first = conn.report("Owner Bookings by Year", cache="1h")
    runs = [e for e in journal.new() if "/analytics/reports/" in e["path"]]
    assert first.info["kind"] == "report" and first.info["request"] == "Owner Bookings by Year"
    assert first.info["pages_or_runs"] == first.runs >= 1 and runs
    assert first.details.attrs["sfnotebook"]["rows"] == len(first)

    again = conn.report("Owner Bookings by Year", cache="1h")
    assert journal.new() == []
    assert again.info["from_cache"] is True
    assert again.details.equals(first.details)
    assert list(again.details.dtypes) == list(first.details.dtypes)
    assert again.aggregates.equals(first.aggregates)
    assert again.aggregates.index.equals(first.aggregates.index)
    assert (again.name, again.id, again.format, again.runs, again.groupings) == (
        first.name,
        first.id,
        first.format,
        first.runs,
        first.groupings,
    )
    assert again.pivot().equals(first.pivot())  # the MATRIX grid, from the kept aggregates
    assert journal.new() == []


def test_report_filters_are_part_of_the_key(demo_org: Any, conn: sfnotebook.Connection) -> None:
    journal = Journal(demo_org)
    conn.report("All Opportunities", filters=[("AMOUNT", "greaterThan", 900000)], cache="1h")
    journal.new()
    conn.report("All Opportunities", filters=[("AMOUNT", "greaterThan", 950000)], cache="1h")
    assert journal.new() != []


def test_an_extract_frame_is_kept_and_its_folder_says_what_it_holds(
    demo_org: Any, conn: sfnotebook.Connection, tmp_path: Path
) -> None:
    journal = Journal(demo_org)
    frame = conn.extract(BULK, cache="1h", poll_interval=0.01)
    assert frame.attrs["sfnotebook"]["kind"] == "bulk"
    assert frame.attrs["sfnotebook"]["api_calls"] == len(journal.new())
    again = conn.extract(BULK, cache="1h")
    assert journal.new() == []
    assert again.equals(frame) and list(again.dtypes) == list(frame.dtypes)

    folder = conn.extract(BULK, to=tmp_path / "opps", poll_interval=0.01, max_records=1000)
    assert isinstance(folder, ExtractFolder) and folder == tmp_path / "opps"
    assert folder.rows == len(frame) and folder.files == folder.info["pages_or_runs"] >= 2
    assert folder.bytes == sum(p.stat().st_size for p in folder.glob("*.parquet"))
    assert f"rows={len(frame):,}, files={folder.files}" in repr(folder)


def test_the_magic_says_what_it_stored(
    conn: sfnotebook.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "sfnotebook")
        sfnotebook.connection.set_default(conn)
        capsys.readouterr()
        shell.run_cell("%%soql accts\nSELECT Id FROM Account LIMIT 12").raise_error()
        assert "Stored 12 rows in `accts`" in capsys.readouterr().out
    finally:
        sfnotebook.connection.set_default(None)
        InteractiveShell.clear_instance()


def test_a_bad_connection_default_names_where_it_was_set(conn: sfnotebook.Connection) -> None:
    conn.cache = "a while"
    with pytest.raises(InvalidArgumentError, match=r'org.cache="1h"'):
        conn.query("SELECT Id FROM Account LIMIT 1")
    conn.cache = None


def test_the_notice_says_how_old(
    conn: sfnotebook.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    conn.query("SELECT Id FROM Account LIMIT 7", cache="1h")
    with caplog.at_level("INFO", logger="sfnotebook"):
        conn.query("SELECT Id FROM Account LIMIT 7", cache="1h")
    notices = [r.getMessage() for r in caplog.records if "from cache" in r.getMessage()]
    assert len(notices) == 1 and re.match(r"sfnotebook: 7 rows from cache, \d+ s old ", notices[0])


def test_filters_given_as_a_generator_reach_the_report(conn: sfnotebook.Connection) -> None:
    as_list = conn.report("All Opportunities", filters=[("AMOUNT", "greaterThan", 900000)])
    generated = conn.report(
        "All Opportunities", filters=(f for f in [("AMOUNT", "greaterThan", 900000)])
    )
    assert 0 < len(generated) == len(as_list)
    assert "900000" in generated.info["request"]


def test_query_iter_chunks_say_which_they_are(demo_org: Any, conn: sfnotebook.Connection) -> None:
    soql = "SELECT Id, Amount FROM Opportunity ORDER BY Id LIMIT 9000"
    journal = Journal(demo_org)
    chunks = list(conn.query_iter(soql, chunk_rows=4000, progress=False))
    sent = [e for e in journal.new() if "/query" in str(e.get("path", ""))]
    metas = [c.attrs["sfnotebook"] for c in chunks]
    assert [m["chunk"] for m in metas] == list(range(1, len(chunks) + 1)) and len(chunks) >= 2
    assert [m["rows"] for m in metas] == [len(c) for c in chunks]
    assert metas[-1]["rows_so_far"] == 9000 == sum(len(c) for c in chunks)
    assert all(m["kind"] == "soql" and m["request"] == soql for m in metas)
    assert all(m["from_cache"] is False for m in metas)
    assert metas[-1]["api_calls"] >= len(sent) >= 1
    assert [m["api_calls"] for m in metas] == sorted(m["api_calls"] for m in metas)
