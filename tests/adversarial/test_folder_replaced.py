"""Issue 11 "Nothing lost", item 2: ``extract(to=...)`` replaces a folder, never destroys it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import sfnotebook
from sfnotebook.bulk import _collect
from sfnotebook.errors import MalformedQueryError, OutputFolderError, SalesforceError
from tests.adversarial.conftest import connect_through
from tests.adversarial.proxy import RewritingProxy

SMALL = "SELECT Id, Name, Amount FROM Opportunity WHERE Amount > 200000"
PAGE = 200
RESULTS = r"/jobs/query/750[0-9A-Za-z]+/results"


@pytest.fixture
def conn(proxy: RewritingProxy) -> sfnotebook.Connection:
    return connect_through(proxy)


@pytest.fixture
def old(conn: sfnotebook.Connection, tmp_path: Path) -> Path:
    """A folder holding a previous extract's parts."""
    folder = conn.extract(
        "SELECT Id FROM Account", to=tmp_path / "opps", max_records=1000, poll_interval=0.01
    )
    assert isinstance(folder, Path) and len(list(folder.iterdir())) > 1
    return folder


def _state(root: Path) -> dict[str, bytes]:
    """Every file under ``root``'s parent (so stray siblings show too), with its bytes."""
    return {
        str(p.relative_to(root.parent)): p.read_bytes()
        for p in sorted(root.parent.rglob("*"))
        if p.is_file()
    }


def _jobs_created(conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    created: list[str] = []
    real = conn.request

    def spy(method: str, url: str, **kwargs: Any) -> requests.Response:
        if method == "POST" and url == "jobs/query":
            created.append(url)
        return real(method, url, **kwargs)

    monkeypatch.setattr(conn, "request", spy)
    return created


def test_a_typo_in_the_soql_leaves_the_folder_as_it_was(
    conn: sfnotebook.Connection, old: Path
) -> None:
    before = _state(old)
    with pytest.raises(MalformedQueryError):
        conn.extract("SELEC Id FROM Account", to=old, overwrite=True)
    assert _state(old) == before


def test_parts_and_a_readme_are_refused_before_any_job(
    conn: sfnotebook.Connection, old: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (old / "README.md").write_text("what these files are")
    before = _state(old)
    created = _jobs_created(conn, monkeypatch)
    with pytest.raises(OutputFolderError, match="README.md"):
        conn.extract("SELECT Id FROM Account", to=old, overwrite=True)
    assert created == []
    assert _state(old) == before


@pytest.mark.parametrize("target", ["a-file", "a-folder-of-parquet-without-overwrite", "a-symlink"])
def test_unusable_targets_are_refused_before_any_job(
    conn: sfnotebook.Connection,
    old: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    path = old
    if target == "a-file":
        path = tmp_path / "notes.txt"
        path.write_text("mine")
    elif target == "a-symlink":
        path = tmp_path / "link"
        path.symlink_to(old, target_is_directory=True)
    before = _state(old)
    created = _jobs_created(conn, monkeypatch)
    with pytest.raises(OutputFolderError):
        conn.extract("SELECT Id FROM Account", to=path)
    assert created == []
    assert _state(old) == before


def test_overwrite_replaces_the_folder_whole_and_leaves_no_sibling(
    conn: sfnotebook.Connection, old: Path
) -> None:
    (old / "part-00099.parquet").write_bytes((old / "part-00000.parquet").read_bytes())
    out = conn.extract(SMALL, to=old, overwrite=True, max_records=PAGE, poll_interval=0.01)
    assert out == old
    assert sorted(p.name for p in old.parent.iterdir()) == [old.name]
    assert "part-00099.parquet" not in {p.name for p in old.iterdir()}
    back = pd.read_parquet(old)
    assert list(back.columns) == ["Id", "Name", "Amount"]
    assert len(back) == conn.query(SMALL.replace("Id, Name, Amount", "COUNT()"))


def test_a_new_folder_under_new_parents(conn: sfnotebook.Connection, tmp_path: Path) -> None:
    out = conn.extract("SELECT Id FROM Account", to=tmp_path / "a" / "b" / "c", poll_interval=0.01)
    assert out == tmp_path / "a" / "b" / "c"
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["c"]


def test_a_failure_under_new_parents_removes_them_again(
    conn: sfnotebook.Connection, proxy: RewritingProxy, tmp_path: Path
) -> None:
    proxy.rule("GET", RESULTS, nth=2, status=400, body=b'[{"errorCode":"API_ERROR","message":"x"}]')
    with pytest.raises(SalesforceError):
        conn.extract(SMALL, to=tmp_path / "a" / "b", max_records=PAGE, concurrency=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_failure_mid_download_leaves_the_folder_as_it_was(
    conn: sfnotebook.Connection, proxy: RewritingProxy, old: Path, concurrency: int
) -> None:
    before = _state(old)
    proxy.rule("GET", RESULTS, nth=3, status=400, body=b'[{"errorCode":"API_ERROR","message":"x"}]')
    with pytest.raises(SalesforceError):
        conn.extract(
            SMALL,
            to=old,
            overwrite=True,
            max_records=PAGE,
            concurrency=concurrency,
            poll_interval=0.01,
        )
    assert _state(old) == before


def test_nothing_is_written_after_the_call_has_raised(
    conn: sfnotebook.Connection,
    proxy: RewritingProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first page's worker creates the Parquet writer late; the call fails meanwhile.

    Before the fix, cleanup found no writer and the worker then wrote ``part-00000.parquet``
    into the folder after ``extract`` had raised.
    """
    real = _collect.Collector._describe_of
    in_schema = threading.Event()

    def slow_describe(self: Any, name: str) -> Any:
        in_schema.set()
        time.sleep(0.3)  # the main thread's next download fails meanwhile
        return real(self, name)

    monkeypatch.setattr(_collect.Collector, "_describe_of", slow_describe)
    proxy.rule("GET", RESULTS, nth=2, status=400, body=b'[{"errorCode":"API_ERROR","message":"x"}]')
    folder = tmp_path / "opps"
    with pytest.raises(SalesforceError):
        conn.extract(SMALL, to=folder, max_records=PAGE, concurrency=1, poll_interval=0.01)
    assert in_schema.is_set()
    time.sleep(2.0)  # long enough for a worker left running to finish its page
    assert not list(tmp_path.rglob("*.parquet")), "a worker wrote a part after the call raised"
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("sfnotebook-bulk")]
