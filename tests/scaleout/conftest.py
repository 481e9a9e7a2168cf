"""Fixtures of the scale-out tests: a small demo org of their own, and a proxy in front of it.

Spark and Dask read it in other processes (Spark's Python workers, Dask's worker processes),
which reach the demo org and the proxy over TCP like any client; they find sfnotebook on the
same ``PYTHONPATH`` (or the editable install) as this process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import sfnotebook
from tests.adversarial.proxy import Answer, RewritingProxy
from tests.conftest import connect_to

SOQL = (
    "SELECT Id, Name, StageName, Amount, Probability, CloseDate, IsWon, CreatedDate, "
    "TotalOpportunityQuantity, Account.Name FROM Opportunity"
)
PAGE = 2_500  # rows per result page: 20,000 opportunities give 8 pages
RESULTS = r"/jobs/query/750[0-9A-Za-z]+/results"
JOB_INFO = r"/jobs/query/750[0-9A-Za-z]+$"


@pytest.fixture(scope="session")
def scale_demo() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg(opportunities=20_000) as demo:
        yield demo


@pytest.fixture(scope="session")
def scale_org(scale_demo: Any) -> sfnotebook.Connection:
    return connect_to(scale_demo)


@pytest.fixture(scope="session")
def expected(scale_org: sfnotebook.Connection) -> Any:
    """``org.extract`` of the SOQL: what every distributed read must equal."""
    frame = scale_org.extract(SOQL, max_records=PAGE, poll_interval=0.01, progress=False)
    assert len(frame) > 3 * PAGE
    return sort(frame)


@pytest.fixture(scope="session")
def scale_proxy_server(scale_demo: Any) -> Iterator[RewritingProxy]:
    with RewritingProxy(scale_demo) as proxy:
        yield proxy


@pytest.fixture
def scale_proxy(scale_proxy_server: RewritingProxy) -> Iterator[RewritingProxy]:
    """The proxy with no rules and an empty request log; rules added by a test go after it."""
    scale_proxy_server.clear()
    yield scale_proxy_server
    scale_proxy_server.clear()


def connect_through(proxy: RewritingProxy, **options: Any) -> sfnotebook.Connection:
    options.setdefault("backoff", 0.01)
    options.setdefault("retries", 2)
    options.setdefault("set_default", False)
    return sfnotebook.connect(**proxy.connect_kwargs(), env_file=False, **options)


def sort(frame: Any) -> Any:
    return frame.sort_values("Id").reset_index(drop=True)


def page_urls(proxy: RewritingProxy) -> list[str]:
    """The result-page requests the proxy saw, in order (probes and downloads)."""
    return [path for method, path in proxy.requests if method == "GET" and "/results" in path]


def json_edit(change: Callable[[Any], None]) -> Callable[[Answer], None]:
    def edit(answer: Answer) -> None:
        body = json.loads(answer.body)
        change(body)
        answer.body = json.dumps(body).encode()

    return edit


def drop_last_lines(n: int) -> Callable[[Answer], None]:
    def edit(answer: Answer) -> None:
        lines = answer.body.rstrip(b"\n").split(b"\n")
        answer.body = b"\n".join(lines[:-n]) + b"\n"

    return edit


def one_more_processed(body: Any) -> None:
    if body.get("state") == "JobComplete":
        body["numberRecordsProcessed"] = int(body["numberRecordsProcessed"]) + 1
