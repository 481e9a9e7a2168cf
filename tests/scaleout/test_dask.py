"""``sfnotebook.dask.read_soql`` on a local Dask cluster of two worker processes.

Processes, not threads: only then is every task pickled and shipped to another interpreter,
as on a real cluster, so a grant that would not pickle, or an error that would not come back
whole, fails here. The workers get the demo org's ``SF_*`` settings in their own environment
(``env=``), which only ``credentials="environment"`` reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import sfnotebook
from sfnotebook import bulk
from sfnotebook.errors import IncompleteResultError, WorkerTokenExpiredError
from tests.adversarial.proxy import RewritingProxy
from tests.conftest import connect_to
from tests.scaleout.conftest import (
    JOB_INFO,
    PAGE,
    SOQL,
    connect_through,
    drop_last_lines,
    json_edit,
    one_more_processed,
    page_urls,
    sort,
)

pytestmark = pytest.mark.dask

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
read_soql = pytest.importorskip("sfnotebook.dask").read_soql


@pytest.fixture(scope="module")
def client(scale_demo: Any) -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=scale_demo.env(),
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _compute(client: Any, ddf: Any) -> pd.DataFrame:
    return client.compute(ddf).result()


def test_the_frame_equals_extract(
    client: Any, scale_org: sfnotebook.Connection, expected: pd.DataFrame
) -> None:
    ddf = read_soql(SOQL, org=scale_org, max_records=PAGE, poll_interval=0.01)
    assert ddf.npartitions == -(-len(expected) // PAGE)
    assert ddf.dtypes.to_dict() == expected.dtypes.to_dict()
    got = sort(_compute(client, ddf))
    pd.testing.assert_frame_equal(got, expected)


def test_pages_per_partition_groups_pages(
    client: Any, scale_org: sfnotebook.Connection, expected: pd.DataFrame
) -> None:
    ddf = read_soql(SOQL, org=scale_org, max_records=PAGE, pages_per_partition=3)
    assert ddf.npartitions == 3
    pd.testing.assert_frame_equal(sort(_compute(client, ddf)), expected)


@pytest.mark.parametrize("credentials", ["token", "environment"])
def test_the_consumer_secret_is_nowhere_in_the_graph(
    scale_demo: Any, scale_org: sfnotebook.Connection, credentials: str
) -> None:
    ddf = read_soql(SOQL, org=scale_org, max_records=PAGE, credentials=credentials)
    shipped = cloudpickle.dumps(dict(ddf.__dask_graph__()))  # what the scheduler receives
    names = repr(ddf.__dask_keys__()) + repr(ddf.__dask_graph__())
    assert scale_demo.consumer_secret.encode() not in shipped
    assert scale_demo.consumer_secret not in names
    token = scale_org.token.access_token.reveal()
    assert token not in names, "task names and reprs never show the token"
    assert (token.encode() in shipped) is (credentials == "token")


def test_a_dropped_page_is_read_again_by_its_partition_only(
    client: Any, scale_proxy: RewritingProxy, expected: pd.DataFrame
) -> None:
    conn = connect_through(scale_proxy)
    ddf = read_soql(SOQL, org=conn, max_records=PAGE, poll_interval=0.01)
    probed = page_urls(scale_proxy)
    third = probed[2].split("?")[1]
    rule = scale_proxy.rule("GET", re.escape(third), nth=1, drop=True)  # its download
    got = sort(_compute(client, ddf))
    pd.testing.assert_frame_equal(got, expected)
    assert rule.fired == 1
    downloads = page_urls(scale_proxy)[len(probed) :]
    assert sorted(downloads) == sorted([*probed, probed[2]]), "only that page was read twice"
    created = [p for m, p in scale_proxy.requests if m == "POST" and p.endswith("/jobs/query")]
    assert len(created) == 1, "the job was not run again"


def test_a_short_page_fails_the_compute(
    client: Any, scale_proxy: RewritingProxy, scale_demo: Any
) -> None:
    conn = connect_through(scale_proxy)
    ddf = read_soql(SOQL, org=conn, max_records=PAGE, poll_interval=0.01)
    third = page_urls(scale_proxy)[2].split("?")[1]
    scale_proxy.rule("GET", re.escape(third), nth=0, edit=drop_last_lines(5))
    with pytest.raises(IncompleteResultError) as info:
        _compute(client, ddf)
    assert (info.value.expected, info.value.received) == (PAGE, PAGE - 5)


def test_the_job_count_is_checked_before_the_graph_exists(scale_proxy: RewritingProxy) -> None:
    conn = connect_through(scale_proxy)
    scale_proxy.rule("GET", JOB_INFO, nth=0, edit=json_edit(one_more_processed))
    with pytest.raises(IncompleteResultError) as info:
        read_soql(SOQL, org=conn, max_records=PAGE, poll_interval=0.01)
    assert info.value.expected == info.value.received + 1  # type: ignore[operator]


def test_a_token_that_expires_mid_read_fails_with_what_to_do(client: Any, scale_demo: Any) -> None:
    conn = connect_to(scale_demo)
    ddf = read_soql(SOQL, org=conn, max_records=PAGE, poll_interval=0.01)
    scale_demo.expire_sessions()
    with pytest.raises(WorkerTokenExpiredError, match="credentials='environment'") as info:
        _compute(client, ddf)
    assert info.value.error_code == "INVALID_SESSION_ID"
    assert conn.token.access_token.reveal() not in str(info.value)


def test_workers_with_their_own_settings_log_in_again(
    client: Any, scale_demo: Any, expected: pd.DataFrame
) -> None:
    conn = connect_to(scale_demo)
    ddf = read_soql(SOQL, org=conn, max_records=PAGE, credentials="environment")
    scale_demo.set_faults(expire_after_requests=3)  # sessions expire during the read
    try:
        got = sort(_compute(client, ddf))
    finally:
        scale_demo.set_faults()
    pd.testing.assert_frame_equal(got, expected)
    assert scale_demo.stats()["faults"].get("session_expired", 0) >= 1


def test_an_interrupt_while_the_job_runs_aborts_it(
    scale_org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    real_create = bulk._create_job

    def create(*args: Any, **kwargs: Any) -> dict[str, Any]:
        job = real_create(*args, **kwargs)
        created.append(str(job["id"]))
        return job

    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "_create_job", create)
    monkeypatch.setattr(bulk, "_poll", interrupt)
    with pytest.raises(KeyboardInterrupt):
        read_soql(SOQL, org=scale_org, poll_interval=0.01)
    monkeypatch.undo()
    assert scale_org.get_json(f"jobs/query/{created[0]}")["state"] == "Aborted"


def test_bad_options_fail_before_any_job(scale_org: sfnotebook.Connection) -> None:
    before = len(scale_org.get_json("jobs/query")["records"])
    with pytest.raises(ValueError, match="pages_per_partition"):
        read_soql(SOQL, org=scale_org, pages_per_partition=0)
    with pytest.raises(sfnotebook.errors.InvalidSettingError, match="credentials"):
        read_soql(SOQL, org=scale_org, credentials="secret")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="Nope"):
        read_soql(SOQL, org=scale_org, dtypes={"Nope": "string"})
    assert len(scale_org.get_json("jobs/query")["records"]) == before
