"""Running one SOQL query: page 1 with its describes, the pages after it, and restarts.

:func:`run` is :func:`_run_once` started again from page 1 when its cursor is lost with its
session (``_pages``). :func:`_run_once` sends page 1, the root describe and the describes of
the objects the query is expected to reach together, imports pandas and pyarrow while they are
out (:func:`_load_frames`; most often ``connect()`` already began that on a thread,
:mod:`sfnotebook._warm`), loads every other describe at once (``_plan``), then converts each
page while the next ones download (``_pages``, several at once by locator offset:
``_parallel``), completing child subqueries before the next parent page. ``sfnotebook.soql``
holds the verbs and their settings.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson

from sfnotebook import _soql_parse as sp
from sfnotebook import _warm
from sfnotebook._api import Dtypes, OrgApi
from sfnotebook._progress import Enabled, Tally, progress_bar
from sfnotebook.errors import (
    IncompleteResultError,
    LargeResultWarning,
    QueryLocatorExpiredError,
)
from sfnotebook.soql import _offset
from sfnotebook.soql import _plan as _soql_plan
from sfnotebook.soql._pages import CursorLost
from sfnotebook.soql._pages import Pages as _Pages
from sfnotebook.soql._pages import next_url as _next_url

if TYPE_CHECKING:  # imported while page 1 is in flight (``_load_frames``), not before
    from sfnotebook import _output
    from sfnotebook.soql._frames import FrameBuilder

__all__ = ["DESCRIBE_THREADS", "early_output", "run"]

log = logging.getLogger("sfnotebook")

#: Describes one query loads at once (the objects on its parent paths and of its children).
DESCRIBE_THREADS = 8


def _complete_children(pages: _Pages, builder: FrameBuilder, records: list[Any]) -> None:
    """Fetch every remaining page of every child result of these records, in place."""
    for rel, result in builder.pending_children(records):
        url = _next_url(False, builder.child_next_url(result), received=None)
        while url:
            builder.extend_child(rel, result, pages.get(url))
            url = _next_url(
                bool(_field(result, "done")), builder.child_next_url(result), received=None
            )
    for rel, result in builder.child_results(records):
        size = _field(result, "totalSize")
        got = len(_field(result, "records") or ())
        if size is not None and got != size:
            raise IncompleteResultError(
                f"The {rel} subquery of one record returned {got:,} of {size:,} rows; "
                "no partial result is returned. Rerun the query.",
                expected=size,
                received=got,
            )


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


# --------------------------------------------------------------------------- the verbs


def _check_large(total: int, threshold: int) -> None:
    if threshold and total > threshold:
        warnings.warn(
            LargeResultWarning(
                f"This query returns {total:,} rows through the REST API. For results this "
                "large org.extract(soql) (Bulk API 2.0) is faster and lighter; set "
                "sfnotebook.soql.LARGE_RESULT_ROWS (or large_result_rows=) to move this threshold."
            ),
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside sfnotebook."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # sfnotebook/
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def run(
    conn: OrgApi, soql: str, *, max_restarts: int, **options: Any
) -> Iterator[tuple[FrameBuilder | None, int | None]]:
    """:func:`_run_once`, started again from page 1 when its cursor is lost to a new session.

    A cursor may belong to the session that opened it (``_pages``); after a token re-exchange
    the query is read again from its first page, at most ``max_restarts`` times (``sfnotebook.soql.MAX_RESTARTS``), and the
    result says how often (``builder.restarts``). Rows of the lost cursor are dropped with its
    builder, so no result mixes pages of two cursors. Chunks already yielded by ``query_iter``
    cannot be taken back: then the loss is raised, saying to restart the iteration.
    """
    restarts = 0
    while True:
        yielded = False
        try:
            for builder, count in _run_once(conn, soql, **options):
                if builder is not None:
                    builder.restarts = restarts
                yielded = True
                yield builder, count
            return
        except CursorLost as lost:
            if yielded or restarts >= max_restarts:
                raise _lost_error(lost, restarts, iterating=yielded) from None
            restarts += 1
            log.info("query cursor lost with its session (%s); reading again from page 1", lost)


def _lost_error(lost: CursorLost, restarts: int, *, iterating: bool) -> QueryLocatorExpiredError:
    """The typed error for a cursor lost to a new session that is not (or no more) restarted."""
    error = lost.error
    got = f" after {lost.received:,} of {lost.expected:,} rows" if lost.expected else ""
    if iterating:
        what = (
            "the chunks already yielded cannot be taken back, so the iteration stops here: "
            "start it again from the beginning (a fresh query_iter) and discard what it gave"
        )
    else:
        what = f"it was read again from the start {restarts} times; rerun the query"
    return QueryLocatorExpiredError(
        f"The query's server-side cursor was refused{got} after the session was renewed "
        f"(Salesforce answered {error.status} {error.error_code}): a cursor may belong to the "
        f"session that opened it. No partial result is returned; {what}. Long reads: "
        "org.extract (Bulk API 2.0) has no cursor.",
        status=error.status,
        error_code=error.error_code,
        url=error.url,
        sf_message=error.sf_message,
        received=lost.received,
        expected=lost.expected,
        restarts=restarts,
    )


def early_output(output: _output.Output | None, conn: OrgApi, dtypes: Dtypes | None) -> str:
    """``output=`` resolved and ``dtypes=`` checked before any request.

    Both need :mod:`sfnotebook._output` (pyarrow); for the usual call (neither given, the
    connection's output pandas or arrow) the answer is plain and that import waits until page
    1 is on its way (``_load_frames``), so the first request goes out sooner (issue 13).
    """
    default = getattr(conn, "output", None) or "pandas"
    if output is None and not dtypes and default in ("pandas", "arrow"):
        return str(default)
    _warm.finish()  # _output is among the warm-up's imports: not used while it is halfway
    from sfnotebook import _output

    resolved = _output.resolve(output, conn)
    _output.check_dtype_values(dtypes, resolved)
    return resolved


def _load_frames(output: str) -> tuple[Any, Any]:
    """Import what converting pages needs (pyarrow; pandas for ``output="pandas"``), on a
    worker once page 1 and the root describe are sent: the import runs while they (and the
    describes after them) are in flight. Most often ``connect()`` began these imports on a
    thread of its own (:mod:`sfnotebook._warm`): they are waited for first, so nothing here uses
    a module that thread is halfway through (its failure is this import's to raise)."""
    _warm.finish()
    from sfnotebook.soql._frames import FrameBuilder, Layout

    if output == "pandas":
        import pandas  # noqa: F401 - imported now, while the requests are out

    return FrameBuilder, Layout


def _run_once(
    conn: OrgApi,
    soql: str,
    *,
    include_deleted: bool,
    progress: Enabled,
    batch_size: int | None,
    split_multipicklist: bool,
    large_result_rows: int,
    chunk_rows: int | None,
    concurrency: int,
    output: str,
) -> Iterator[tuple[FrameBuilder | None, int | None]]:
    """Yield filled builders: one at the end, or one per ``chunk_rows`` rows when chunking.

    A count-only query yields ``(None, count)``.
    """
    tally = Tally.start(getattr(conn, "session", None))  # the progress summary's calls and time
    select = sp.parse_select(soql)
    # Without child subqueries a thread can follow the pages on its own (no child cursor to
    # protect), so downloads run ahead of the conversion.
    prefetch = select is not None and not any(isinstance(i, sp.SubSelect) for i in select.items)
    window = _offset.window(soql)
    batch_size = window.batch_size(batch_size)
    # Pages several at once by locator offset (``_parallel``) only where the thread follows
    # them alone; an OFFSET query has one page (``_offset``).
    pages = _Pages(
        conn,
        soql,
        include_deleted=include_deleted,
        batch_size=batch_size,
        prefetch=prefetch,
        concurrency=concurrency if prefetch and window.offset is None else 1,
    )
    planner = ThreadPoolExecutor(DESCRIBE_THREADS, thread_name_prefix="sfnotebook-describe")
    bar: Any = None
    try:
        # Page 1 and the root describe together, then every describe page 1 names that is
        # not in hand yet, at once (``_plan``).
        describe_of = _soql_plan.describer(conn)
        root = planner.submit(describe_of, select.object_name) if select is not None else None
        sent = planner.submit(pages.first_page)
        # The other objects, known now: from describes kept from an earlier session
        # (revalidated), else guessed from the relationships' names (prefetched). Sent beside
        # page 1, the first query is one round trip when they are all the plan needs.
        kept, guessed = _soql_plan.early_objects(conn, select)
        kept = kept[: DESCRIBE_THREADS - 2]
        hinted = [planner.submit(describe_of, name) for name in kept]
        for name in guessed[: DESCRIBE_THREADS - 2 - len(kept)]:
            planner.submit(_soql_plan.prefetch, describe_of, name)  # never waited for here
        pages.sent.wait()  # then pandas and pyarrow are imported, on a worker, meanwhile
        frames = planner.submit(_load_frames, output)
        first, head = sent.result()
        raw: bytes | None = first
        root_describe = root.result() if root is not None else None
        for future in hinted:
            future.result()  # a failure that says nothing about the object stops the query
        if select is None or not select.is_count_only:
            _soql_plan.load_describes(
                planner,
                describe_of,
                _soql_plan.object_types(first) + _soql_plan.parent_objects(select, root_describe),
            )
        new_builder, new_layout = frames.result()
        plan = _soql_plan.plan(conn, select, describe_of)
        if plan.count_only:
            yield None, head.totalSize
            return
        _check_large(head.totalSize, large_result_rows)
        layout = plan.layout
        builder: FrameBuilder | None = None
        if layout is not None:
            builder = new_builder(layout, split_multipicklist=split_multipicklist)
        if not head.done:
            bar = progress_bar(head.totalSize, enabled=progress, desc="query", tally=tally)
        received = 0
        try:
            while raw is not None:
                if builder is None:  # unreadable SELECT: the first page's records give the columns
                    body = orjson.loads(raw)
                    records: list[Any] = body.get("records") or []
                    done, next_url = bool(body.get("done", True)), body.get("nextRecordsUrl")
                    builder = new_builder(
                        _soql_plan.layout_from_records(plan, records),
                        split_multipicklist=split_multipicklist,
                    )
                else:
                    page = builder.decode(raw)
                    records, done, next_url = page.records, page.done, page.next_url
                    del page
                del raw  # no raw JSON is kept: only the typed chunks below
                if builder.has_children:
                    _complete_children(pages, builder, records)  # before the next parent page
                pages.start_next(_next_url(done, next_url, received=received + len(records)))
                builder.add(records)  # converts while the next page downloads
                received += len(records)
                if bar is not None:
                    bar.update(len(records))
                del records
                raw = pages.next_page()
                if chunk_rows and builder.rows >= chunk_rows and raw is not None:
                    yield builder, None
                    builder = new_builder(builder.layout, split_multipicklist=split_multipicklist)
        except CursorLost as lost:
            lost.received, lost.expected = received, head.totalSize
            raise
        except QueryLocatorExpiredError as exc:
            raise QueryLocatorExpiredError(
                f"The query's server-side cursor was no longer valid after {received:,} of "
                f"{head.totalSize:,} rows had been read; no partial result is returned. Rerun "
                "the query. Salesforce keeps query cursors for 2 days with no limit on how many "
                "are open (since API 56.0; before, they expired after 15 minutes idle, and a "
                "user's 11th cursor released the oldest); use org.extract (Bulk API 2.0, no "
                "cursor) for reads that long.",
                status=exc.status,
                error_code=exc.error_code,
                url=exc.url,
                received=received,
                expected=head.totalSize,
            ) from exc
        window.check(head.totalSize, received)
        if received != head.totalSize:
            raise IncompleteResultError(
                f"Salesforce announced {head.totalSize:,} rows but {received:,} arrived; no "
                "partial result is returned. Rerun the query (or use org.extract for very "
                "large results).",
                expected=head.totalSize,
                received=received,
            )
        if builder is None:
            builder = new_builder(new_layout(()), split_multipicklist=split_multipicklist)
        yield builder, None
    finally:
        planner.shutdown(wait=True)
        pages.close()
        if bar is not None:
            bar.close()
