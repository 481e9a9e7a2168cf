"""Large Bulk API result files written by several processes at once.

Writing a result is CPU-bound Python (fetching SQLite rows as Python objects, formatting
every value), so threads cannot share it; a million-row extract took 10-30 s on one core.
When the query returns its rows in rowid order with no LIMIT (most bulk extracts), the rowid
range of the queried table is cut into slices, worker processes write each slice's CSV with
:func:`sfnotebook_demo.bulk.results.write_results` (the very same formatter, on their own
read-only connection), and the parts are joined in order, with their row offsets shifted.
The file is byte for byte the one a single writer produces.

Worker processes come from ``forkserver`` (``spawn`` where it does not exist), never from
``fork``: the demo org runs threads, and forking a threaded process can deadlock. Both
import the parent's main module in each worker (as ``__mp_main__``), which runs whatever a
script does outside ``if __name__ == "__main__"``; so by default workers are used only when
the main module is sfnotebook's own (``python -m sfnotebook_demo``, the server process of
``DemoOrg(subprocess=True)``, the ``sfnotebook`` command) or there is none (Jupyter, the
REPL). ``$SFNOTEBOOK_DEMO_BULK_PROCESSES`` overrides: a number of processes, 0 for none.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import shutil
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sfnotebook_demo.bulk.results import ResultFile, write_results

__all__ = ["MIN_PARALLEL_ROWS", "PartPool", "default_workers", "write_parallel"]

MIN_PARALLEL_ROWS = 100_000  # rowid span below which one in-process writer is faster
_SLICES_PER_WORKER = 4  # more slices than workers: progress and cancellation are finer
_POLL = 0.2  # seconds between cancellation checks while the slices are written


_OWN_PACKAGES = frozenset({"sfnotebook", "sfnotebook_demo", "tools"})


def default_workers() -> int:
    """Worker processes the demo org uses for large results (0: write them in-process)."""
    explicit = os.environ.get("SFNOTEBOOK_DEMO_BULK_PROCESSES", "").strip()
    if explicit:
        return max(0, int(explicit))
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    # sfnotebook's own entry points guard their code: the demo package, the client's CLI, and
    # the repository's tools (``make demo``, ``make lab``).
    own = spec is not None and str(spec.name).partition(".")[0] in _OWN_PACKAGES
    interactive = main is not None and not hasattr(main, "__file__")
    if not (own or interactive):
        return 0
    return max(2, os.cpu_count() or 2)


def _ready() -> None:
    """A no-op task: running it imports this module in a worker."""


def _write_slice(
    database: str,
    sql: str,
    params: Sequence[Any],
    types: Sequence[str],
    path: str,
    delimiter: str,
    line_ending: str,
) -> np.ndarray:
    """In a worker process: write one slice's CSV rows (no header); return its row offsets."""
    conn = sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA mmap_size=268435456")
        rows = conn.execute(sql, list(params))
        result = write_results(
            Path(path), [], types, rows, delimiter=delimiter, line_ending=line_ending
        )
    finally:
        conn.close()
    assert result is not None  # noqa: S101 - only a cancelled write returns None
    return result.offsets


class PartPool:
    """Worker processes for :func:`write_parallel`, started on first use.

    Parameters
    ----------
    workers
        Number of processes (default: the number of CPUs, at least 2).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(2, workers or os.cpu_count() or 2)
        self._executor: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._warming = False
        self._closed = False

    def executor(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the demo org's bulk worker pool is closed")
            if self._executor is None:
                methods = multiprocessing.get_all_start_methods()
                method = "forkserver" if "forkserver" in methods else "spawn"
                self._executor = cf.ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context(method)
                )
            return self._executor

    def warm(self) -> None:
        """Start the worker processes in the background (they take a moment to import)."""
        with self._lock:
            if self._warming or self._executor is not None:
                return
            self._warming = True

        def start() -> None:
            try:
                executor = self.executor()
                for _ in range(self.workers):
                    executor.submit(_ready)
            except RuntimeError:  # closed meanwhile
                return

        threading.Thread(target=start, name="demo-bulk-warm", daemon=True).start()

    def close(self) -> None:
        """Stop the worker processes once their running slices end (queued ones are dropped)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _slices(low: int, high: int, count: int) -> list[tuple[int, int]]:
    step = -(-(high - low + 1) // count)
    return [(a, min(a + step - 1, high)) for a in range(low, high + 1, step)]


def write_parallel(
    pool: PartPool,
    path: Path,
    compiled: Any,
    database: Path,
    conn: sqlite3.Connection,
    *,
    include_deleted: bool = False,
    delimiter: str = ",",
    line_ending: str = "\n",
    cancelled: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
    min_rows: int = MIN_PARALLEL_ROWS,
) -> ResultFile | Literal[False] | None:
    """Write a query's result as :func:`write_results` would, in slices on ``pool``.

    Returns ``False`` when the query does not qualify (not :attr:`splittable`, a column
    computed in Python, or a rowid span below ``min_rows``): write it in-process then.
    Returns ``None`` when ``cancelled`` was set meanwhile (nothing is left on disk).
    """
    if not compiled.splittable or compiled.flat_sql() is None:
        return False
    bounds = compiled.rowid_bounds(conn)
    if bounds is None or bounds[1] - bounds[0] + 1 < min_rows:
        return False
    executor = pool.executor()
    slices = _slices(bounds[0], bounds[1], pool.workers * _SLICES_PER_WORKER)
    parts = [path.with_name(f"{path.name}.part{i}") for i in range(len(slices))]
    futures = []
    for rowids, part in zip(slices, parts, strict=True):
        sql, params = compiled.flat_sql(include_deleted=include_deleted, rowids=rowids)
        futures.append(
            executor.submit(
                _write_slice,
                str(database),
                sql,
                params,
                compiled.flat_types,
                str(part),
                delimiter,
                line_ending,
            )
        )
    try:
        pending = set(futures)
        while pending:
            if cancelled is not None and cancelled.is_set():
                for f in pending:
                    f.cancel()
                cf.wait(pending)
                return None
            _, pending = cf.wait(pending, timeout=_POLL)
            if progress is not None:
                done = [f.result() for f in futures if f.done() and not f.cancelled()]
                progress(sum(len(o) - 1 for o in done))
        offsets = [f.result() for f in futures]
        header = (delimiter.join(_quote(c) for c in compiled.flat_columns) + line_ending).encode()
        shifted = [np.zeros(1, dtype=np.int64)]
        with open(path, "wb") as out:
            for part, own in zip(parts, offsets, strict=True):
                shifted.append(own[1:] + shifted[-1][-1])
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        result = ResultFile(path, header, np.concatenate(shifted))
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    if cancelled is not None and cancelled.is_set():
        result.delete()
        return None
    if progress is not None:
        progress(result.rows)
    return result


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
