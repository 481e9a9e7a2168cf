"""The read plan both engines share (sfnotebook/bulk/_partitions.py), against the demo org.

No engine here: the plan is made and its partitions read in this process, so every check of
the plan and of a partition is seen directly. The Spark and Dask suites read the same plan
on their workers.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook import bulk
from sfnotebook._worker import grant_for, worker_connection
from sfnotebook.bulk._partitions import plan_read, read_pages, run_job
from sfnotebook.dask import _frame
from sfnotebook.errors import IncompleteResultError
from tests.adversarial.proxy import RewritingProxy
from tests.conftest import connect_to
from tests.scaleout.conftest import (
    JOB_INFO,
    PAGE,
    RESULTS,
    SOQL,
    connect_through,
    drop_last_lines,
    json_edit,
    one_more_processed,
    page_urls,
    sort,
)


def _read_all(conn: sfnotebook.Connection, plan: Any) -> pd.DataFrame:
    tables = [t for part in plan.partitions(3) for t in read_pages(conn, plan.schema, part)]
    return sort(_frame(plan.schema, tables, None))


@pytest.mark.parametrize("api_version", ["62.0", "57.0"], ids=["resultPages", "locator-chain"])
def test_plan_lists_every_page_with_its_rows(
    scale_demo: Any, expected: pd.DataFrame, api_version: str
) -> None:
    conn = connect_to(scale_demo, api_version=api_version)
    plan = plan_read(conn, soql=SOQL, max_records=PAGE, poll_interval=0.01)
    pages = -(-len(expected) // PAGE)
    assert plan.expected == len(expected)
    assert [p.rows for p in plan.pages] == [PAGE] * (pages - 1) + [len(expected) % PAGE or PAGE]
    assert [p.index for p in plan.pages] == list(range(pages))
    assert [len(g) for g in plan.partitions(3)] == [3] * (pages // 3) + (
        [pages % 3] if pages % 3 else []
    )
    assert plan.schema.names == tuple(expected.columns)
    pd.testing.assert_frame_equal(_read_all(conn, plan), expected)


def test_plan_checks_the_pages_against_number_records_processed(
    scale_proxy: RewritingProxy,
) -> None:
    conn = connect_through(scale_proxy)
    scale_proxy.rule("GET", JOB_INFO, nth=0, edit=json_edit(one_more_processed))
    with pytest.raises(IncompleteResultError) as info:
        plan_read(conn, soql=SOQL, max_records=PAGE, poll_interval=0.01)
    assert info.value.expected == info.value.received + 1  # type: ignore[operator]
    probed = page_urls(scale_proxy)
    assert len(probed) == len(set(probed)) == 8, "each page probed once, none downloaded"


def test_a_page_without_a_row_count_is_refused_before_any_read(
    scale_proxy: RewritingProxy,
) -> None:
    conn = connect_through(scale_proxy)
    scale_proxy.rule("GET", RESULTS, nth=2, headers={"Sforce-NumberOfRecords": None})
    with pytest.raises(IncompleteResultError, match="without a row count"):
        plan_read(conn, soql=SOQL, max_records=PAGE, poll_interval=0.01)


def test_a_page_short_on_every_read_fails_its_partition(scale_proxy: RewritingProxy) -> None:
    conn = connect_through(scale_proxy)
    plan = plan_read(conn, soql=SOQL, max_records=PAGE, poll_interval=0.01)
    third = plan.pages[2]
    # The page's locator names it, in its URL (resultPages) or its parameters (the chain).
    locator = dict(third.params).get("locator") or third.url.split("locator=")[1]
    scale_proxy.rule("GET", "locator=" + re.escape(locator), nth=0, edit=drop_last_lines(5))
    reader = worker_connection(grant_for(conn))
    list(read_pages(reader, plan.schema, plan.pages[:2]))  # the pages before it are whole
    with pytest.raises(IncompleteResultError) as info:
        list(read_pages(reader, plan.schema, plan.pages[2:4]))
    assert (info.value.expected, info.value.received) == (PAGE, PAGE - 5)
    # probed, read, read again as many times as the connection retries (2), then given up
    assert sum(f"locator={locator}" in u for u in page_urls(scale_proxy)) == 1 + 1 + 2


def test_a_page_short_and_without_its_count_is_checked_against_the_plan(
    scale_proxy: RewritingProxy,
) -> None:
    conn = connect_through(scale_proxy)
    plan = plan_read(conn, soql=SOQL, max_records=PAGE, poll_interval=0.01)
    scale_proxy.rule(
        "GET", RESULTS, nth=0, headers={"Sforce-NumberOfRecords": None}, edit=drop_last_lines(1)
    )
    with pytest.raises(IncompleteResultError) as info:
        list(read_pages(worker_connection(grant_for(conn)), plan.schema, plan.pages[:1]))
    assert (info.value.expected, info.value.received) == (PAGE, PAGE - 1)


class _Interrupt:
    """Raises KeyboardInterrupt on the first call (the first status check of the job)."""

    def __init__(self) -> None:
        self.fired = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.fired.set()
        raise KeyboardInterrupt


def test_an_interrupt_while_the_job_runs_aborts_it(
    scale_org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    real_create = bulk._create_job

    def create(*args: Any, **kwargs: Any) -> dict[str, Any]:
        job = real_create(*args, **kwargs)
        created.append(str(job["id"]))
        return job

    monkeypatch.setattr(bulk, "_create_job", create)
    monkeypatch.setattr(bulk, "_poll", _Interrupt())
    with pytest.raises(KeyboardInterrupt):
        run_job(scale_org, SOQL, poll_interval=0.01)
    monkeypatch.undo()
    assert scale_org.get_json(f"jobs/query/{created[0]}")["state"] == "Aborted"
