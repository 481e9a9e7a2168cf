"""The demo org's dataset: a deterministic, realistic SQLite database, built once and cached.

One table per object (named by its API name), one column per stored field (see
:mod:`sfnotebook_demo.data.schema` for the storage of each field type). A ``_meta`` table holds
``key``/``value`` text pairs: ``schema_version``, ``seed``, ``build_day``, ``legacy_import_day``
(the one day a share of the Closed Lost deals were imported, closed that day) and the row
counts.

Dates
-----
Every value is a function of the seed, the sizes and the build day (today, UTC), and every
date is an offset from the build day (:mod:`sfnotebook_demo.data.dating`): the data always ends
where the analyst's calendar is, so SOQL date literals evaluated against the real clock
(``TODAY``, ``LAST_N_DAYS:730``, ``THIS_MONTH``, ``NEXT_N_DAYS:7``) always match data and a
won-per-month chart rises smoothly to last month. A build one day later holds the same rows
with every date one day later; the cache key includes the build day, so a database is rebuilt
once a day.

Nulls appear in every nullable field type; about 2% of the rows of every object but User are
deleted (``IsDeleted = 1``, visible only to ``queryAll``), and deletions follow Salesforce's
rules (:mod:`sfnotebook_demo.data.integrity`): an account's contacts, opportunities and
activities are deleted with it, records with live cases are not deleted, and lookups to
deleted records are cleared. Descriptions include quotes, commas,
embedded newlines (LF and CRLF), tabs and non-ASCII text for CSV tests. Empty strings are never
stored: as on Salesforce, an empty text value is null. The last User is "Integration User",
the Run As user of the client-credentials flow.

Cache
-----
Built files live in :func:`cache_dir`, named by schema version, a digest of the code that
shapes the data, seed, sizes and build day; a build goes to a temporary file renamed into place
under an inter-process lock, so concurrent test processes build a file once and never read a
partial one. Superseded files are deleted after :data:`STALE_AFTER` seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sfnotebook_demo import ids
from sfnotebook_demo.data import dating, integrity, model, schema, vocabulary
from sfnotebook_demo.data import opportunities as _opportunities
from sfnotebook_demo.data import seed as _seed
from sfnotebook_demo.data.model import SObject
from sfnotebook_demo.data.schema import SCHEMA, SCHEMA_VERSION

__all__ = [
    "DEFAULT_SEED",
    "SCHEMA",
    "Database",
    "build_database",
    "cache_dir",
    "ensure_database",
]

DEFAULT_SEED = 20240601
STALE_AFTER = 2 * 86400  # seconds before a superseded cached file is deleted


class Database:
    """A built dataset file; :meth:`connect` gives one read-only connection per thread.

    Connections open the file read-only (``mode=ro``): a query never writes, while ``TEMP``
    tables (used to snapshot results) still work. Writes (Bulk API ingest) go through
    :meth:`writer`, to the org's private copy.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._by_thread: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._private: Path | None = None  # this org's own copy, once something was written

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def connect(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
            # Reads dominate: map the file and keep a generous page cache.
            conn.execute("PRAGMA mmap_size=268435456")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
            with self._lock:
                # The server runs one thread per HTTP connection: forget the connections of
                # finished threads (their thread-local reference is gone too, so they close).
                self._by_thread = {t: c for t, c in self._by_thread.items() if t.is_alive()}
                self._by_thread[threading.current_thread()] = conn
        return conn

    def writer(self, folder: str | os.PathLike[str]) -> sqlite3.Connection:
        """A new read-write connection to this org's private copy of the data, made on first use.

        The built file is a cache shared by every demo org of the same sizes (and by other
        processes), so it is never written: the first write copies it into ``folder`` and every
        connection made afterwards, read-only ones included, opens the copy. Connections opened
        before keep reading the cache file, as a snapshot (a running query stays consistent).
        """
        with self._lock:
            if self._private is None:
                target = Path(folder) / "org-data.sqlite"
                source = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
                copy = sqlite3.connect(target)
                try:
                    source.backup(copy)
                finally:
                    copy.close()
                    source.close()
                self._private = target
                self.path = target
                # Every thread opens the copy on its next connect(); the old connections go
                # when their threads next connect or end.
                self._local = threading.local()
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def open_connections(self) -> int:
        """Connections this object holds (those of finished threads are dropped as new
        threads connect)."""
        with self._lock:
            return len(self._by_thread)

    def meta(self) -> dict[str, str]:
        """The ``_meta`` table as a dict (seed, build_day, row counts...)."""
        return dict(self.connect().execute("SELECT key, value FROM _meta").fetchall())

    def close(self) -> None:
        """Close this thread's connection and release every other thread's.

        sqlite3 connections can only be closed by their own thread; the others are released
        here and close when their last reference goes (at once, or when their thread ends).
        """
        with self._lock:
            conns, self._by_thread = self._by_thread, {}
        mine = conns.get(threading.current_thread())
        if mine is not None:
            mine.close()
        self._local = threading.local()


def cache_dir() -> Path:
    """Where built databases are cached.

    ``$SFNOTEBOOK_DEMO_CACHE`` if set, else ``$XDG_CACHE_HOME/sfnotebook/demo``, else
    ``~/.cache/sfnotebook/demo``.
    """
    explicit = os.environ.get("SFNOTEBOOK_DEMO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sfnotebook" / "demo"


def _create_tables(conn: sqlite3.Connection) -> None:
    for obj in SCHEMA.values():
        cols = ", ".join(f'"{f.name}" {f.sql_type}' for f in obj.fields if f.stored)
        conn.execute(f'CREATE TABLE "{obj.name}" ({cols})')
    conn.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT)")


def _create_indexes(conn: sqlite3.Connection, obj: SObject) -> None:
    conn.execute(f'CREATE UNIQUE INDEX "{obj.name}_Id" ON "{obj.name}" ("Id")')
    for f in obj.fields:
        if f.type == "reference" and f.name not in ("CreatedById", "LastModifiedById"):
            conn.execute(f'CREATE INDEX "{obj.name}_{f.name}" ON "{obj.name}" ("{f.name}")')
        elif f.unique or f.external_id:  # upserts and uniqueness checks compare without case
            conn.execute(
                f'CREATE INDEX "{obj.name}_{f.name}" ON "{obj.name}" ("{f.name}" COLLATE NOCASE)'
            )


def build_database(
    path: str | os.PathLike[str],
    *,
    seed: int = DEFAULT_SEED,
    sizes: dict[str, int] | None = None,
    today: dt.date | None = None,
) -> None:
    """Build the dataset into a new file at ``path`` (which must not exist).

    Parameters
    ----------
    path
        The SQLite file to create.
    seed
        Seed of the random generator; the same seed and sizes give the same data.
    sizes
        Row counts per object (``User``, ``Account``, ``Contact``, ``Opportunity``, ``Case``,
        ``Task``); missing keys take :data:`sfnotebook_demo.data.seed.DEFAULT_SIZES`.
    today
        The build day every date is an offset from (default: today, UTC).
    """
    counts = {**_seed.DEFAULT_SIZES, **(sizes or {})}
    today = today or dt.datetime.now(dt.timezone.utc).date()
    conn = sqlite3.connect(os.fspath(path), isolation_level=None)
    try:
        # A fresh private file: no journal and no fsync while building (the file is renamed
        # into place only once complete, so a crash leaves no half-built cache).
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        _create_tables(conn)
        seeder = _seed.Seeder(seed=seed, sizes=counts, today=today)
        for obj in SCHEMA.values():
            placeholders = ", ".join("?" for _ in obj.columns)
            # Names come from SCHEMA, never from a request.
            insert = f'INSERT INTO "{obj.name}" VALUES ({placeholders})'  # noqa: S608 - table name from the schema
            conn.executemany(insert, seeder.rows(obj.name))
            _create_indexes(conn, obj)
        integrity.enforce(conn)  # deletions as Salesforce makes them (cascades, kept parents)
        meta: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "seed": seed,
            "build_day": today.isoformat(),
            "legacy_import_day": dt.date.fromordinal(
                dating.legacy_import_day(today.toordinal())
            ).isoformat(),
            **{f"rows.{name}": n for name, n in counts.items()},
        }
        conn.executemany("INSERT INTO _meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the code that shapes the data, so any change to it invalidates the cache."""
    digest = hashlib.sha256()
    for module in (model, schema, ids, dating, vocabulary, _seed, _opportunities, integrity):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:10]


def _key(seed: int, counts: dict[str, int], today: dt.date) -> str:
    sizes = "-".join(f"{counts[name]}" for name in sorted(counts))
    return f"demo-v{SCHEMA_VERSION}.{_code_digest()}-s{seed}-n{sizes}-d{today:%Y%m%d}.sqlite"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock, so concurrent test processes build a file once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rely on the atomic rename alone
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_database(
    *,
    opportunities: int = 50_000,
    seed: int = DEFAULT_SEED,
    accounts: int | None = None,
    contacts: int | None = None,
    users: int | None = None,
    cases: int | None = None,
    tasks: int | None = None,
    directory: str | os.PathLike[str] | None = None,
    today: dt.date | None = None,
) -> Path:
    """The path of a built dataset with these sizes, building it only if not cached.

    Parameters
    ----------
    opportunities
        Number of Opportunity rows (50,000 by default; 1,000,000 builds in well under a
        minute).
    seed
        Seed of the random generator.
    accounts, contacts, users, cases, tasks
        Other row counts (defaults in :data:`sfnotebook_demo.data.seed.DEFAULT_SIZES`).
    directory
        Cache directory (default :func:`cache_dir`).
    today
        The build day every date is an offset from (default: today, UTC).

    Returns
    -------
    Path
        The cached SQLite file, keyed by schema version, seed, sizes and build day. It is
        written to a temporary file and renamed into place, so readers never see a partial
        file.

    Examples
    --------
    >>> db = Database(ensure_database(opportunities=1_000))  # doctest: +SKIP
    >>> db.connect().execute("SELECT COUNT(*) FROM Opportunity").fetchone()  # doctest: +SKIP
    (1000,)
    """
    counts = dict(_seed.DEFAULT_SIZES)
    counts["Opportunity"] = opportunities
    for name, value in (
        ("Account", accounts),
        ("Contact", contacts),
        ("User", users),
        ("Case", cases),
        ("Task", tasks),
    ):
        if value is not None:
            counts[name] = value
    if counts["User"] < 1 or counts["Account"] < 1 or counts["Contact"] < 1:
        raise ValueError("the dataset needs at least one User, Account and Contact")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    folder = Path(directory) if directory is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _key(seed, counts, today)
    if target.exists():
        return target
    with _file_lock(folder / (target.name + ".lock")):
        if target.exists():  # built by another process while we waited
            return target
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=target.stem + ".", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
        try:
            build_database(tmp, seed=seed, sizes=counts, today=today)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _remove_stale(folder, target)
    return target


def _remove_stale(folder: Path, current: Path) -> None:
    """Delete the same dataset built over two days ago (an older build day or older code)."""
    stem = current.name.rsplit("-d", 1)[0].split("-s", 1)[1]  # same seed and sizes
    # Keep recent ones: a running demo org opens its file again for each new thread.
    cutoff = time.time() - STALE_AFTER
    for old in folder.glob(f"demo-v*-s{stem}-d*.sqlite"):
        with contextlib.suppress(OSError):
            if old == current or old.stat().st_mtime > cutoff:
                continue
            with contextlib.suppress(OSError):
                old.unlink()
            with contextlib.suppress(OSError):
                (folder / (old.name + ".lock")).unlink()
