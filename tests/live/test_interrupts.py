"""Issue 11 "Nothing lost", item 7: a KeyboardInterrupt at any point leaves nothing behind.

Nothing running on the org (the bulk job aborted, no async report instance left), nothing
half-written locally (the folder as it was, no hidden sibling), no worker thread alive, and a
connection that still works. Each phase is reached by wrapping one of its functions with a
thread-safe hook that raises KeyboardInterrupt on its n-th call: no timing involved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sfnotebook
from sfnotebook import bulk
from sfnotebook.bulk import _collect, _csv, _parquet
from sfnotebook.bulk import _pages as bulk_pages
from sfnotebook.reports import _runner
from sfnotebook.soql._frames import FrameBuilder
from sfnotebook.soql._pages import Pages as _Pages
from tests.conftest import connect_to

SOQL = "SELECT Id, Name, Amount, CloseDate FROM Opportunity"
PAGE = 500


class Interrupt:
    """Raises KeyboardInterrupt on the ``nth`` call from any thread, once."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.calls = 0
        self.fired = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1
            if self.calls != self.nth or self.fired:
                return
            self.fired = True
        raise KeyboardInterrupt


def _wrap(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, hook: Interrupt
) -> Callable[..., Any]:
    real = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        hook()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)
    return real


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=3_000) as org:
        yield org


@pytest.fixture
def conn(demo: Any) -> Iterator[sfnotebook.Connection]:
    yield connect_to(demo)
    demo.set_faults(report_timeout=False)


_CLIENT_THREADS = ("sfnotebook-bulk", "sfnotebook-query", "sfnotebook-describe")


def _workers() -> list[str]:
    """The client's worker threads still alive (the demo org's own threads are not counted)."""
    return [t.name for t in threading.enumerate() if t.name.startswith(_CLIENT_THREADS)]


def _state(folder: Path) -> dict[str, bytes]:
    """Every file beside and under ``folder`` (so a leftover hidden sibling shows too)."""
    return {
        str(p.relative_to(folder.parent)): p.read_bytes()
        for p in sorted(folder.parent.rglob("*"))
        if p.is_file()
    }


def _still_works(conn: sfnotebook.Connection) -> None:
    assert conn.query("SELECT COUNT() FROM Account") > 0
    assert len(conn.query("SELECT Id, Name FROM Account LIMIT 5")) == 5


# --------------------------------------------------------------------------- extract

EXTRACT_PHASES = {
    # phase: (owner, function, nth call that is interrupted)
    "job wait": (bulk, "_poll", 1),
    "page download": (bulk_pages, "_read_body", 2),
    "conversion": (_csv, "read_page", 2),
    "page kept": (_collect.Collector, "keep", 2),
    "parquet write": (_parquet.ParquetFolder, "write", 2),
    "folder swap": (_parquet.OutputTarget, "commit", 1),
}


_PARQUET_ONLY = {"parquet write", "folder swap"}


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(
    ("phase", "parquet"),
    [(p, q) for p in EXTRACT_PHASES for q in (False, True) if q or p not in _PARQUET_ONLY],
    ids=lambda v: {False: "frame", True: "parquet"}.get(v, v) if isinstance(v, bool) else v,
)
def test_extract_interrupted(
    conn: sfnotebook.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
    parquet: bool,
    concurrency: int,
) -> None:
    owner, name, nth = EXTRACT_PHASES[phase]
    folder = tmp_path / "opps"
    if parquet:  # a previous extract's parts, to be replaced with overwrite=True
        conn.extract("SELECT Id FROM Account", to=folder, max_records=PAGE, poll_interval=0.01)
    before = _state(folder) if parquet else {}
    jobs: list[str] = []
    real_create = bulk._create_job

    def create(*args: Any, **kwargs: Any) -> dict[str, Any]:
        job = real_create(*args, **kwargs)
        jobs.append(str(job["id"]))
        return job

    monkeypatch.setattr(bulk, "_create_job", create)
    hook = Interrupt(nth)
    _wrap(monkeypatch, owner, name, hook)
    with pytest.raises(KeyboardInterrupt):
        conn.extract(
            SOQL,
            to=folder if parquet else None,
            overwrite=True,
            max_records=PAGE,
            concurrency=concurrency,
            poll_interval=0.01,
            progress=False,
        )
    monkeypatch.undo()
    assert hook.fired
    assert _workers() == [], "a worker thread outlived the call"
    if parquet:
        assert _state(folder) == before, "the folder must be exactly as it was"
    else:
        assert list(tmp_path.iterdir()) == []
    state = str(conn.get_json(f"jobs/query/{jobs[0]}")["state"])
    if phase == "job wait":
        assert state == "Aborted"
    assert state in {"Aborted", "JobComplete"}, "nothing may still run on the org"
    _still_works(conn)


# --------------------------------------------------------------------------- query

QUERY_PHASES = {
    "first page download": (_Pages, "fetch", 1),
    "later page download": (_Pages, "fetch", 3),
    "conversion": (FrameBuilder, "add", 2),
}


@pytest.mark.parametrize("soql", [SOQL, "SELECT Id, (SELECT Id FROM Contacts) FROM Account"])
@pytest.mark.parametrize("phase", list(QUERY_PHASES))
def test_query_interrupted(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch, phase: str, soql: str
) -> None:
    owner, name, nth = QUERY_PHASES[phase]
    hook = Interrupt(nth)
    _wrap(monkeypatch, owner, name, hook)
    with pytest.raises(KeyboardInterrupt):
        conn.query(soql, batch_size=200, progress=False)
    monkeypatch.undo()
    assert hook.fired
    assert _workers() == []
    _still_works(conn)


def test_query_iter_interrupted_between_chunks(conn: sfnotebook.Connection) -> None:
    chunks = conn.query_iter(SOQL, chunk_rows=500, batch_size=200, progress=False)
    next(chunks)
    with pytest.raises(KeyboardInterrupt):
        chunks.throw(KeyboardInterrupt)
    assert _workers() == []
    _still_works(conn)


# --------------------------------------------------------------------------- reports

REPORT_PHASES = {
    "first run": (_runner.Runner, "_sync", 1),
    "paging run": (_runner.Runner, "_sync", 2),
    "conversion": (None, "frame_from_detail_rows", 1),
}


@pytest.mark.parametrize("phase", list(REPORT_PHASES))
def test_report_interrupted(
    conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    import sfnotebook.reports as reports

    catalog = conn.reports()
    report_id = str(catalog[catalog["name"] == "All Opportunities"]["id"].iloc[0])
    owner, name, nth = REPORT_PHASES[phase]
    hook = Interrupt(nth)
    _wrap(monkeypatch, owner if owner is not None else reports, name, hook)
    with pytest.raises(KeyboardInterrupt):
        conn.report(report_id, progress=False)
    monkeypatch.undo()
    assert hook.fired
    assert len(conn.report(report_id, progress=False)) > 2000
    _still_works(conn)


def test_async_report_interrupted_leaves_no_instance(
    demo: Any, conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = conn.reports()
    report_id = str(catalog[catalog["name"] == "All Opportunities"]["id"].iloc[0])
    base = f"analytics/reports/{report_id}/instances"
    before = {i["id"] for i in conn.get_json(base)}
    demo.set_faults(report_timeout=True)  # sync runs fail: the run goes async
    hook = Interrupt(1)
    real = conn.request

    def poll(method: str, url: str, **kwargs: Any) -> Any:
        if method == "GET" and url.startswith(base + "/"):  # polling the instance
            hook()
        return real(method, url, **kwargs)

    monkeypatch.setattr(conn, "request", poll)
    with pytest.raises(KeyboardInterrupt):
        conn.report(report_id, progress=False)
    monkeypatch.undo()
    assert hook.fired
    assert {i["id"] for i in conn.get_json(base)} == before
    demo.set_faults(report_timeout=False)
    _still_works(conn)
