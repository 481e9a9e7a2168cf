"""Query paging replayed from cassettes recorded off the demo org.

The cassettes pin the wire exchange of a query that spans several pages (batch size 200) and of
one whose child results page on their own. They are recorded by ``make cassettes``
(``SFNOTEBOOK_RECORD=1``), or when missing on a developer machine; CI only replays
(``record_mode="none"``). One test edits a recorded page to drop a row and checks that the
client refuses the short result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import sfnotebook
from sfnotebook import errors
from sfnotebook.soql.records import QueryResult
from tests.cassettes.vcr_setup import CASSETTES, HOST, RECORDING, recorder

FOLDER = "soql"
VCR = recorder(FOLDER)
REPLAY = {"domain": HOST, "consumer_key": "3MVG9replayKey000000000000000",
          "consumer_secret": "replay-secret-not-real-0000"}  # fmt: skip
PAGED = "SELECT Id, LastName, Account.Name, CreatedDate FROM Contact ORDER BY Id LIMIT 450"
CHILDREN = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account"


def _record(name: str) -> bool:
    """Record when asked to, or when the cassette is missing outside CI."""
    missing = not (CASSETTES / FOLDER / name).exists()
    return RECORDING or (missing and not os.environ.get("CI"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A demo org (with two accounts of ~450 contacts) when some cassette must be recorded."""
    if not (_record("paging.yaml") or _record("child_paging.yaml")):
        yield None
        return
    from sfnotebook_demo import DemoOrg
    from sfnotebook_demo.data import database as data

    with DemoOrg(opportunities=1_000) as demo:
        server = demo.server
        assert server is not None
        small = data.Database(
            data.ensure_database(
                opportunities=300, accounts=2, contacts=900, users=5, cases=10, tasks=20,
                directory=tmp_path_factory.getbasetemp() / "cassette-db",
            )
        )  # fmt: skip
        server.org.database = small
        yield demo
        small.close()


def _connect(live: Any, record: bool) -> sfnotebook.Connection:
    if record:
        creds = {"domain": live.domain, "consumer_key": live.consumer_key,
                 "consumer_secret": live.consumer_secret, "ca_bundle": live.ca_bundle}  # fmt: skip
    else:
        creds = REPLAY
    return sfnotebook.connect(**creds, env_file=False, set_default=False, backoff=0.01)


def _replay(name: str, live: Any, run: Any, *, folder: Path | None = None) -> Any:
    record = folder is None and _record(name)
    if record and live is None:
        pytest.skip("cassette missing and no demo org to record it")
    vcr = VCR if folder is None else recorder(FOLDER)
    if folder is not None:
        vcr.cassette_library_dir = str(folder)
    with vcr.use_cassette(name, record_mode="all" if record else "none") as cassette:
        org = _connect(live, record)
        out = run(org)
        if not record:
            assert cassette.all_played, "the client skipped recorded calls"
    return out


def test_pages_of_200_are_followed_to_total_size(live: Any) -> None:
    frame = _replay("paging.yaml", live, lambda org: org.query(PAGED, batch_size=200))
    assert len(frame) == 450
    assert frame["Id"].is_unique
    assert str(frame["CreatedDate"].dtype) == "datetime64[ns, UTC]"
    text = (CASSETTES / FOLDER / "paging.yaml").read_text()
    assert text.count("batchSize=200") >= 3  # three pages, each asked with the batch size


def test_child_pages_are_followed(live: Any) -> None:
    result = _replay("child_paging.yaml", live, lambda org: org.query(CHILDREN))
    assert isinstance(result, QueryResult)
    sizes = result["Contacts"].groupby("AccountId").size()
    assert len(sizes) == 2 and (sizes > 200).all()


def _drop_a_row_from_the_last_page(source: Path, target: Path) -> None:
    """Copy a cassette, removing one record from the last query page it holds."""
    cassette = yaml.safe_load(source.read_text())
    pages = [i for i in cassette["interactions"] if "/query" in i["request"]["uri"]]
    body = pages[-1]["response"]["body"]
    text = body["string"].decode() if isinstance(body["string"], bytes) else body["string"]
    page = json.loads(text)
    page["records"].pop()
    body["string"] = json.dumps(page)
    target.write_text(yaml.safe_dump(cassette))


def test_a_short_page_raises_incomplete_result(live: Any, tmp_path: Path) -> None:
    source = CASSETTES / FOLDER / "paging.yaml"
    if not source.exists():
        pytest.skip("paging.yaml not recorded yet")
    _drop_a_row_from_the_last_page(source, tmp_path / "short.yaml")
    with pytest.raises(errors.IncompleteResultError, match="450 rows but 449 arrived"):
        _replay("short.yaml", None, lambda org: org.query(PAGED, batch_size=200), folder=tmp_path)
