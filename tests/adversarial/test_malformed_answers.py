"""Malformed answers, through a rewriting proxy, on every endpoint every verb calls.

Each case rewrites one answer of the demo org (an HTML login page with status 200, an empty
body, a truncated one, ``null``, an error array with 200, a value of the wrong JSON type) and
asserts the exact outcome: a typed :class:`~sfnotebook.errors.SfNotebookError`, never a raw
``orjson``/``msgspec``/``requests``/``AttributeError`` from inside the client, never a result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import sfnotebook
from sfnotebook.errors import SfNotebookError, UnexpectedAnswerError
from tests.adversarial.conftest import connect_through
from tests.adversarial.proxy import RewritingProxy

pytestmark = pytest.mark.adversarial

SOQL = "SELECT Id, Name, Amount FROM Opportunity ORDER BY Id LIMIT 2500"  # two pages
BULK = "SELECT Id, Name FROM Opportunity LIMIT 3000"
REPORT = "Pipeline by Stage"
SYNC_RUN = r"/analytics/reports/00O\w+\?includeDetails"
CATALOGUE_SOQL = r"/query\?q=SELECT\+Id%2C\+Name%2C\+DeveloperName"
JSON_TYPE = {"Content-Type": "application/json;charset=UTF-8"}
FAILED_RUN = b'[{"errorCode":"UNKNOWN_EXCEPTION","message":"We ran into an error."}]'
NO_REPORT_OBJECT = (
    b'[{"errorCode":"INVALID_TYPE","message":"sObject type Report is not supported."}]'
)


def _connect(proxy: RewritingProxy) -> sfnotebook.Connection:
    return connect_through(proxy)


def _query(proxy: RewritingProxy) -> object:
    return _connect(proxy).query(SOQL, progress=False)


def _report(proxy: RewritingProxy) -> object:
    return _connect(proxy).report(REPORT, progress=False)


def _report_filtered(proxy: RewritingProxy) -> object:
    return _connect(proxy).report(REPORT, filters=[("AMOUNT", "greaterThan", 1)], progress=False)


def _extract(proxy: RewritingProxy) -> object:
    return _connect(proxy).extract(BULK, progress=False, poll_interval=0.05)


def _extract_by_locator(proxy: RewritingProxy) -> object:
    """Pages by ``Sforce-Locator`` (no resultPages), the second parsed while the third loads."""
    org = _connect(proxy)
    return org.extract(BULK, progress=False, poll_interval=0.05, concurrency=1, max_records=1000)


def _report_async(proxy: RewritingProxy) -> object:
    """The sync run fails with a 500, so the run moves to an async instance."""
    proxy.rule("GET", SYNC_RUN, nth=0, status=500, body=FAILED_RUN, headers=JSON_TYPE)
    return _report(proxy)


def _recent_reports(proxy: RewritingProxy) -> object:
    """SOQL on Report is refused, so the catalogue is the Analytics API's recent list."""
    proxy.rule("GET", CATALOGUE_SOQL, nth=0, status=400, body=NO_REPORT_OBJECT, headers=JSON_TYPE)
    return _reports(proxy)


def _identity(proxy: RewritingProxy) -> object:
    return _connect(proxy).username  # the identity is asked on first use


def _limits(proxy: RewritingProxy) -> object:
    return _connect(proxy).limits()


def _describe(proxy: RewritingProxy) -> object:
    return _connect(proxy).describe("Account")


def _reports(proxy: RewritingProxy) -> object:
    return _connect(proxy).reports()


# endpoint name -> (method, path regex, the verb that calls it, what JSON shape it answers)
ENDPOINTS: dict[str, tuple[str, str, Callable[[RewritingProxy], object], str]] = {
    "token": ("POST", r"^/services/oauth2/token$", _connect, "object"),
    "versions": ("GET", r"^/services/data/$", _connect, "array"),
    "identity": ("GET", r"^/id/", _identity, "object"),
    "limits": ("GET", r"/limits$", _limits, "object"),
    "describe": ("GET", r"/sobjects/Account/describe$", _describe, "object"),
    "query": ("GET", r"/query\?q=", _query, "object"),
    "query-more": ("GET", r"/query/0", _query, "object"),
    "report catalogue": ("GET", CATALOGUE_SOQL, _reports, "object"),
    "recent reports": ("GET", r"/analytics/reports$", _recent_reports, "array"),
    "report describe": ("GET", r"/analytics/reports/00O\w+/describe$", _report_filtered, "object"),
    "report run": ("GET", SYNC_RUN, _report, "object"),
    "report run (filters)": ("POST", SYNC_RUN, _report_filtered, "object"),
    "report async run": ("POST", r"/analytics/reports/00O\w+/instances\?", _report_async, "object"),
    "report instance": ("GET", r"/analytics/reports/00O\w+/instances/\w+$", _report_async, "object"),
    "bulk create": ("POST", r"/jobs/query$", _extract, "object"),
    "bulk status": ("GET", r"/jobs/query/750\w+$", _extract, "object"),
    "bulk result pages": ("GET", r"/jobs/query/750\w+/resultPages", _extract, "object"),
    "bulk result page": ("GET", r"/jobs/query/750\w+/results", _extract, "csv"),
    "bulk result page (locator)": ("GET", r"/jobs/query/750\w+/results", _extract_by_locator, "csv"),
}  # fmt: skip

HTML = b"<!DOCTYPE html><html><head><title>Login | Salesforce</title></head><body></body></html>"


def _bodies(shape: str) -> dict[str, dict[str, Any]]:
    wrong = b"[]" if shape == "object" else b"{}"
    bodies: dict[str, dict[str, Any]] = {
        "html": {"body": HTML, "headers": {"Content-Type": "text/html;charset=UTF-8"}},
        "empty": {"body": b""},
        "truncated": {"truncate": 25},
        "null": {"body": b"null"},
        "error array": {"body": b'[{"errorCode":"UNKNOWN_EXCEPTION","message":"boom"}]'},
        "wrong type": {"body": wrong},
    }
    if shape == "csv":  # CSV pages: a JSON value is as wrong as HTML
        bodies["wrong type"] = {"body": b'{"records": []}'}
    for rewrite in bodies.values():
        rewrite["status"] = 200  # hostile, yet "OK"
    return bodies


CASES = [
    pytest.param(endpoint, kind, id=f"{endpoint}-{kind}")
    for endpoint, (_m, _p, _v, shape) in ENDPOINTS.items()
    for kind in _bodies(shape)
]


def test_the_matrix_is_large() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("endpoint", "kind"), CASES)
def test_a_malformed_answer_is_a_typed_error(
    proxy: RewritingProxy, endpoint: str, kind: str
) -> None:
    method, path, verb, shape = ENDPOINTS[endpoint]
    rule = proxy.rule(method, path, nth=0, **_bodies(shape)[kind])
    with pytest.raises(SfNotebookError) as info:
        verb(proxy)
    assert rule.fired, f"the {endpoint} answer was never asked for"
    # The error is ours, from the edge: not a decoder's or a library's, re-wrapped or not.
    assert type(info.value).__module__ == "sfnotebook.errors"
    chain = [info.value.__cause__, info.value.__context__]
    assert not [c for c in chain if isinstance(c, (AttributeError, TypeError, KeyError))], chain


# ---- the right JSON type, with a field the client reads missing or of another type ----------
# (endpoint, case, body, what the message must name)
MISTYPED: list[tuple[str, str, bytes, str]] = [
    ("bulk create", "id a number", b'{"id": 7, "state": "UploadComplete"}', "'id'"),
    ("bulk create", "object a list", b'{"id": "750000000000001AAA", "object": []}', "'object'"),
    ("bulk status", "state a number", b'{"id": "750000000000001AAA", "state": 5}', "'state'"),
    ("bulk status", "no state", b'{"id": "750000000000001AAA"}', "'state'"),
    ("bulk status", "count a string", b'{"state": "InProgress", "numberRecordsProcessed": "9"}', "'numberRecordsProcessed'"),
    ("bulk status", "count a boolean", b'{"state": "JobComplete", "numberRecordsProcessed": true}', "'numberRecordsProcessed'"),
    ("bulk status", "complete, no count", b'{"state": "JobComplete"}', "numberRecordsProcessed"),
    ("bulk status", "errorMessage an object", b'{"state": "Failed", "errorMessage": {}}', "'errorMessage'"),
    ("report describe", "no reportTypeMetadata", b'{"reportMetadata": {}, "reportExtendedMetadata": {}}', "'reportTypeMetadata'"),
    ("report describe", "reportMetadata a list", b'{"reportMetadata": [], "reportExtendedMetadata": {}, "reportTypeMetadata": {}}', "'reportMetadata'"),
    ("report describe", "reportTypeMetadata a string", b'{"reportMetadata": {}, "reportExtendedMetadata": {}, "reportTypeMetadata": "x"}', "'reportTypeMetadata'"),
    ("report async run", "no id", b'{"status": "New", "url": "/x"}', "'id'"),
    ("report instance", "attributes a string", b'{"attributes": "Success"}', "'attributes'"),
    ("report instance", "no attributes", b'{"allData": true}', "'attributes'"),
    ("recent reports", "an item without id", b'[{"name": "Pipeline by Stage"}]', "'id'"),
    ("recent reports", "an item a string", b'["00O000000000001AAA"]', "item 0"),
    ("bulk result pages", "an array", b'[{"resultUrl": "/x"}]', "an object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "body", "names"),
    [pytest.param(e, b, n, id=f"{e}-{case}") for e, case, b, n in MISTYPED],
)
def test_a_field_of_the_wrong_type_is_an_unexpected_answer(
    proxy: RewritingProxy, endpoint: str, body: bytes, names: str
) -> None:
    method, path, verb, _shape = ENDPOINTS[endpoint]
    rule = proxy.rule(method, path, nth=0, status=200, body=body, headers=JSON_TYPE)
    with pytest.raises(UnexpectedAnswerError) as info:
        verb(proxy)
    assert rule.fired
    assert info.value.status == 200 and names in str(info.value)
    assert info.value.body_start == " ".join(body.decode().split())[:200]
    # Raised at the edge: no decoder's or library's exception chained (a fallback's refusal is).
    chain = [info.value.__cause__, info.value.__context__]
    assert all(c is None or isinstance(c, SfNotebookError) for c in chain), chain
