"""A shown progress bar leaves one line saying what was fetched, with the calls it cost."""

from __future__ import annotations

import re
from typing import Any

import pytest

import sfnotebook
from tests.conftest import connect_to

SUMMARY = re.compile(
    r"^([\d,]+) rows (?:· ([\d,]+) runs? )?· ([\d,]+) API calls? · [\d.]+ s$", re.M
)


@pytest.fixture
def conn(demo_org: Any) -> sfnotebook.Connection:
    return connect_to(demo_org)


def _summary(out: str) -> tuple[int, int | None, int]:
    found = SUMMARY.findall(out)
    assert len(found) == 1, out
    rows, runs, calls = found[0]
    return int(rows.replace(",", "")), int(runs) if runs else None, int(calls)


def test_a_paged_query_sums_up_rows_and_calls(
    conn: sfnotebook.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    before = conn.stats["requests"]
    df = conn.query("SELECT Id FROM Opportunity LIMIT 4500", progress=True)
    spent = conn.stats["requests"] - before
    rows, runs, calls = _summary(capsys.readouterr().out)
    assert (rows, runs, calls) == (len(df), None, spent)


def test_a_paged_report_sums_up_rows_runs_and_calls(
    conn: sfnotebook.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    res = conn.report("Opportunities Closing in 2025", progress=True)
    rows, runs, calls = _summary(capsys.readouterr().out)
    assert rows == len(res) and runs == res.runs and calls >= res.runs


def test_progress_false_prints_nothing(
    conn: sfnotebook.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    conn.query("SELECT Id FROM Opportunity LIMIT 4500", progress=False)
    assert capsys.readouterr().out == ""


def test_a_bulk_extract_sums_up_with_the_jobs_state(
    conn: sfnotebook.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    before = conn.stats["requests"]
    df = conn.extract("SELECT Id FROM Account", progress=True, poll_interval=0.01)
    spent = conn.stats["requests"] - before
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    state, rows, calls, _ = out[0].split(" · ")
    assert state == "JobComplete" and rows == f"{len(df):,} rows"
    assert calls == f"{spent:,} API calls"  # the job's creation included
