"""The report catalogue's two paths: SOQL on the Report object, and the Analytics list.

The demo org has a queryable ``Report`` object (its rows are the report definitions), so
``org.reports()`` takes its primary path against it. The object reference documents the
object in every org since API 20.0 and nothing found says an org can lack it, so the demo has
no switch for that; a refused query (no access, UNVERIFIED in practice) is played here by the
rewriting proxy, and must give the Analytics list, never fewer reports in silence.
"""

from __future__ import annotations

import json
import re

import pytest

import sfnotebook
from sfnotebook.errors import AmbiguousReportError, ServerUnavailableError
from sfnotebook_demo.reports.defs import FOLDERS, REPORTS
from tests.adversarial.conftest import connect_through
from tests.adversarial.proxy import RewritingProxy

REPORT_QUERY = r"/query\?q=.*" + re.escape("FROM+Report")
INVALID_TYPE = json.dumps(
    [
        {
            "message": "\nSELECT Id, Name, DeveloperName, FolderName, Format FROM Report\n"
            "                                                         ^\nERROR at Row:1:"
            "Column:58\nsObject type 'Report' is not supported.",
            "errorCode": "INVALID_TYPE",
        }
    ]
).encode()


@pytest.fixture
def conn(proxy: RewritingProxy) -> sfnotebook.Connection:
    return connect_through(proxy)


def test_the_primary_path_is_soql_on_the_report_object(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    listed = conn.reports()
    assert any(re.search(REPORT_QUERY, path) for _, path in proxy.requests)
    assert not any(path.endswith("/analytics/reports") for _, path in proxy.requests)
    assert sorted(listed["id"]) == sorted(REPORTS)
    by_id = {r.id: r for r in REPORTS.values()}
    for row in listed.itertuples():
        report = by_id[str(row.id)]
        assert (row.name, row.developer_name, row.folder, row.format) == (
            report.name,
            report.developer_name,
            report.folder,  # the folder's name, as FolderName holds it
            report.format,
        )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, INVALID_TYPE),
        (403, b'[{"message":"insufficient access rights","errorCode":"INSUFFICIENT_ACCESS"}]'),
    ],
    ids=["INVALID_TYPE", "no access"],
)
def test_a_refused_report_query_falls_back_to_the_analytics_list(
    proxy: RewritingProxy, conn: sfnotebook.Connection, status: int, body: bytes
) -> None:
    rule = proxy.answer("GET", REPORT_QUERY, status, body, "application/json")
    listed = conn.reports()
    assert rule.fired >= 1
    assert any(path.endswith("/analytics/reports") for _, path in proxy.requests)
    assert sorted(listed["id"]) == sorted(REPORTS)
    folder_ids = {f.id for f in FOLDERS.values()}
    assert set(listed["folder"]) <= folder_ids  # the folder's Id, read from /describe
    assert set(listed["format"]) == {"TABULAR", "SUMMARY", "MATRIX"}
    # a name is still found
    name = "Owner Bookings by Year"
    res = conn.report(name, progress=False)
    assert res.name == name


def test_a_failing_report_query_is_an_error_not_a_shorter_list(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    proxy.answer(
        "GET",
        REPORT_QUERY,
        503,
        b'[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]',
        "application/json",
    )
    with pytest.raises(ServerUnavailableError):
        conn.reports()
    assert not any(path.endswith("/analytics/reports") for _, path in proxy.requests)


def test_without_soql_folder_takes_the_folders_id_the_describe_gives(
    proxy: RewritingProxy, conn: sfnotebook.Connection
) -> None:
    proxy.answer("GET", REPORT_QUERY, 400, INVALID_TYPE, "application/json")
    same = [r for r in REPORTS.values() if r.name == "Open Pipeline"]
    assert len(same) == 2
    with pytest.raises(AmbiguousReportError) as info:
        conn.report("Open Pipeline", progress=False)
    for r in same:
        assert f"in folder {r.folder_id!r}" in str(info.value)  # the Id: all the list tells
    picked = conn.report("Open Pipeline", folder=same[1].folder_id, progress=False)
    assert picked.id == same[1].id
