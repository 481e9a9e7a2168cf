"""Issue 11 "Nothing lost", item 5: retries only where cheap and safe.

A sync report run that fails with a 5xx is moved to an asynchronous instance once, never
re-run as it is (each retry would be another run of up to minutes, and one of the org's 500
sync runs an hour); creating a Bulk query job is never retried blindly. The demo's timeout
answer is a dialect (``report_timeout_answer``): the client is tested under every value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import sfnotebook
from sfnotebook.errors import ServerUnavailableError
from sfnotebook_demo.dialect import Dialect
from tests.conftest import connect_to


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=3_000) as org:
        yield org


@pytest.fixture
def conn(demo: Any) -> Iterator[sfnotebook.Connection]:
    yield connect_to(demo)
    demo.set_faults(report_timeout=False, error_next=0, path_pattern=None)
    demo.set_dialect(**Dialect().as_dict())


def _report_id(conn: sfnotebook.Connection, name: str) -> str:
    catalog = conn.reports()
    return str(catalog[catalog["name"] == name]["id"].iloc[0])


def _sent(conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []
    real = conn.session.request

    def spy(method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        sent.append((method, str(url)))
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(conn.session, "request", spy)
    return sent


@pytest.mark.parametrize("answer", Dialect.choices()["report_timeout_answer"])
@pytest.mark.parametrize(
    "name", ["All Opportunities", "Closed Bookings by Industry, Year and Stage"]
)
def test_a_sync_run_failing_with_a_5xx_moves_async_once(
    demo: Any,
    conn: sfnotebook.Connection,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    name: str,
) -> None:
    report_id = _report_id(conn, name)
    whole = conn.report(report_id, progress=False)
    before = demo.stats()["faults"].get("report_timeout", 0)
    demo.set_dialect(report_timeout_answer=answer)
    demo.set_faults(report_timeout=True)
    sent = _sent(conn, monkeypatch)
    res = conn.report(report_id, progress=False)
    assert len(res) == len(whole)
    assert demo.stats()["faults"].get("report_timeout", 0) - before == 1, "one sync run, no retry"
    sync_runs = [u for m, u in sent if u.endswith(f"/analytics/reports/{report_id}")]
    assert len(sync_runs) == 1
    instances = [u for m, u in sent if m == "POST" and u.endswith("/instances")]
    assert len(instances) == res.runs
    assert res.runs <= math.ceil(len(whole) / 2000) + 2


def test_a_bulk_job_creation_failing_with_a_5xx_is_not_sent_again(
    demo: Any, conn: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.set_faults(error_next=1, path_pattern=r"/jobs/query$")
    sent = _sent(conn, monkeypatch)
    with pytest.raises(ServerUnavailableError):
        conn.extract("SELECT Id FROM Account", poll_interval=0.01)
    assert [m for m, u in sent if u.endswith("/jobs/query")] == ["POST"]
    demo.set_faults(error_next=0, path_pattern=None)
    assert len(conn.extract("SELECT Id FROM Account", poll_interval=0.01)) > 0
