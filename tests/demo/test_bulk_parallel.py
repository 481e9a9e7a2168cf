"""Bulk results written in slices by worker processes equal the single writer's, byte for byte."""

from __future__ import annotations

import importlib.machinery
import sqlite3
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sfnotebook_demo.bulk.parallel import PartPool, default_workers, write_parallel
from sfnotebook_demo.bulk.results import write_results
from sfnotebook_demo.data import database as data
from sfnotebook_demo.soql.engine import compile_soql

OPPORTUNITIES = 2_000  # the size the live bulk tests use (cached once built)
WIDE = (
    "SELECT Id, Name, AccountId, StageName, Amount, Probability, CloseDate, IsClosed, IsWon, "
    "TotalOpportunityQuantity, Competitors__c, Seats__c, CreatedDate, Account.Name, "
    "Account.Owner.Name, Account.Parent.Name, Owner.Email FROM Opportunity"
)


@pytest.fixture(scope="module")
def database() -> Path:
    return data.ensure_database(opportunities=OPPORTUNITIES)


@pytest.fixture(scope="module")
def conn(database: Path) -> Iterator[sqlite3.Connection]:
    db = data.Database(database)
    yield db.connect()
    db.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[PartPool]:
    parts = PartPool(2)
    parts.warm()
    yield parts
    parts.close()


def _single(conn: sqlite3.Connection, soql: str, path: Path, **options: object) -> tuple:
    compiled = compile_soql(soql)
    include_deleted = bool(options.pop("include_deleted", False))
    rows = compiled.rows(conn, include_deleted=include_deleted)
    result = write_results(path, compiled.flat_columns, compiled.flat_types, rows, **options)  # type: ignore[arg-type]
    assert result is not None
    return path.read_bytes(), result.header, result.offsets


@pytest.mark.parametrize(
    ("soql", "options"),
    [
        (WIDE, {}),
        (WIDE, {"delimiter": "|", "line_ending": "\r\n"}),
        (WIDE, {"delimiter": "\t", "include_deleted": True}),
        ("SELECT Id, Name, Amount FROM Opportunity WHERE StageName = 'Closed Won'", {}),
        ("SELECT Id, Subject, What.Name, Who.Name FROM Task", {"delimiter": ";"}),
    ],
)
def test_slices_join_into_the_single_writers_file(
    conn: sqlite3.Connection,
    database: Path,
    pool: PartPool,
    tmp_path: Path,
    soql: str,
    options: dict,
) -> None:
    expected, header, offsets = _single(conn, soql, tmp_path / "single.csv", **dict(options))
    progress: list[int] = []
    result = write_parallel(
        pool,
        tmp_path / "parallel.csv",
        compile_soql(soql),
        database,
        conn,
        min_rows=0,
        progress=progress.append,
        **options,  # type: ignore[arg-type]
    )
    assert result
    assert (tmp_path / "parallel.csv").read_bytes() == expected
    assert result.header == header
    assert np.array_equal(result.offsets, offsets)
    assert progress[-1] == result.rows == len(offsets) - 1 > 0
    # Pages are byte ranges: one in the middle of a slice boundary reads the same rows.
    rows, chunks = result.page(result.rows // 2 - 3, 7)
    assert rows == 7
    body = b"".join(chunks)[len(header) :]
    start, end = int(offsets[result.rows // 2 - 3]), int(offsets[result.rows // 2 + 4])
    assert body == expected[start:end]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parallel.csv", "single.csv"]


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, Name FROM Opportunity ORDER BY Name",  # not in rowid order
        "SELECT Id, Name FROM Opportunity LIMIT 10",
    ],
)
def test_queries_that_cannot_be_sliced_are_left_to_the_caller(
    conn: sqlite3.Connection, database: Path, pool: PartPool, tmp_path: Path, soql: str
) -> None:
    out = write_parallel(pool, tmp_path / "r.csv", compile_soql(soql), database, conn, min_rows=0)
    assert out is False
    assert not list(tmp_path.iterdir())


def test_small_tables_stay_in_process(
    conn: sqlite3.Connection, database: Path, pool: PartPool, tmp_path: Path
) -> None:
    compiled = compile_soql("SELECT Id FROM Opportunity")
    out = write_parallel(pool, tmp_path / "r.csv", compiled, database, conn)
    assert out is False


def test_cancelled_write_leaves_nothing(
    conn: sqlite3.Connection, database: Path, pool: PartPool, tmp_path: Path
) -> None:
    cancelled = threading.Event()
    cancelled.set()
    compiled = compile_soql(WIDE)
    out = write_parallel(
        pool, tmp_path / "r.csv", compiled, database, conn, min_rows=0, cancelled=cancelled
    )
    assert out is None
    assert not list(tmp_path.iterdir())


def test_workers_only_where_importing_the_main_module_is_safe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = types.ModuleType("__main__")
    script.__file__ = "/somewhere/analysis.py"  # a user's script: may not guard its code
    monkeypatch.delenv("SFNOTEBOOK_DEMO_BULK_PROCESSES", raising=False)
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert default_workers() == 0
    own = types.ModuleType("__main__")
    own.__file__ = "/site-packages/sfnotebook_demo/__main__.py"
    own.__spec__ = importlib.machinery.ModuleSpec("sfnotebook_demo.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", own)
    assert default_workers() >= 2
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # Jupyter
    assert default_workers() >= 2
    monkeypatch.setenv("SFNOTEBOOK_DEMO_BULK_PROCESSES", "0")
    assert default_workers() == 0
    monkeypatch.setitem(sys.modules, "__main__", script)
    monkeypatch.setenv("SFNOTEBOOK_DEMO_BULK_PROCESSES", "3")
    assert default_workers() == 3


def test_a_closed_pool_starts_no_workers() -> None:
    parts = PartPool(2)
    parts.close()
    parts.warm()  # no error, nothing started
    with pytest.raises(RuntimeError):
        parts.executor()
