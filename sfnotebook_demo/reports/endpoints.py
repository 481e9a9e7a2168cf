"""Demo org: the Reports and Dashboards REST API (reports only), over the demo data.

Served under ``/services/data/vXX.X/analytics``:

=================================================  ===============================================
``GET  /reports``                                   the seeded reports: ``id``, ``name``, ``url``,
                                                    ``describeUrl``, ``instancesUrl``
``GET  /reports/{id}/describe``                     ``reportMetadata``, ``reportExtendedMetadata``,
                                                    ``reportTypeMetadata``
``GET  /reports/{id}?includeDetails=true|false``    sync run of the saved definition
``POST /reports/{id}?includeDetails=...``           sync run with ``{"reportMetadata": {...}}``
                                                    merged into the saved definition
``POST /reports/{id}/instances?includeDetails=``    async run: instance ``New`` -> ``Running`` ->
                                                    ``Success`` within about half a second
``GET  /reports/{id}/instances``                    instances of the report, newest first
``GET|DELETE /reports/{id}/instances/{iid}``        instance results (the run payload with
                                                    ``attributes.type == "ReportInstance"``)
=================================================  ===============================================

``includeDetails`` defaults to false. Report names are found through ``GET /reports`` (every
seeded report is listed, with the ``name``) and ``describe`` (``reportMetadata.folderId``,
``reportFormat``, ``developerName``); there is no ``Report`` sObject in the demo org, so SOQL
on ``Report`` is not available. Folders: see :data:`sfnotebook_demo.reports.defs.FOLDERS`.
Two reports are both named "Open Pipeline" (Sales Reports and Marketing Reports folders), for
ambiguous-name tests; "Open Pipeline" in Marketing Reports has filter logic ``1 AND (2 OR 3)``.

Seeded reports (ids in :data:`sfnotebook_demo.reports.defs.REPORTS`): "All Opportunities"
(TABULAR, every opportunity, ~49,000 rows at the default size, with an ``OPPORTUNITY_ID``
column for keyset paging and the formula text column ``Opportunity.Opportunity_Key__c``
marked ``"isFormula": true``), "Opportunities Closing in 2025" (TABULAR, ~9,000 rows,
CLOSE_DATE filters), "Opportunities by Formula Key" (TABULAR, no usable paging column),
"Pipeline by Stage" (SUMMARY, 1 level), "Closed Bookings by Industry, Year and Stage"
(SUMMARY, 3 levels, every aggregate kind), "Owner Bookings by Year" (MATRIX 2 x 1), "Source
Quarterly Matrix" (MATRIX 2 x 2), and the two "Open Pipeline" reports.

Errors, as ``[{"errorCode", "message"}]``: unknown report or instance -> 404 ``NOT_FOUND``
"The requested resource does not exist"; invalid filters (column, operator, value, more than
20 filters), filter logic, groupings, sort or aggregates -> 400 ``BAD_REQUEST`` with a message
naming the filter ("For the filter 2: ..."); a body that is not JSON -> 400
``JSON_PARSER_ERROR``. With the ``report_timeout`` fault on, sync runs fail; async runs are not
affected. How they fail is the ``report_timeout_answer`` dialect: ``"documented"`` (default) is
a 500 with the generic message of Salesforce's Report Error Codes page ("We ran into an error
when running this report. Try to re-submit your query.") and no ``errorCode`` (none is
documented); ``"timeout-code"`` is the demo's older convention, 500 ``REPORT_TIMEOUT`` "Your
report took too long to run...". Salesforce documents only that sync runs are subject to the
2-minute API timeout and recommends async runs for slow reports (fidelity-audit.md D1, 1g).

Semantics of filters, sorting, the 2,000-row cap and aggregates are documented in
:mod:`sfnotebook_demo.reports.filters` and :mod:`sfnotebook_demo.reports.run`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from sfnotebook_demo.dialect import dialect_of
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.reports.defs import REPORTS, ReportDef, case_safe_id, report_by_id
from sfnotebook_demo.reports.filters import ReportError
from sfnotebook_demo.reports.plan import Plan, make_plan
from sfnotebook_demo.reports.report_types import extended_metadata, report_type_metadata
from sfnotebook_demo.reports.run import report_attributes, run_plan
from sfnotebook_demo.state import OrgState

__all__ = ["NEW_SECONDS", "RUNNING_SECONDS", "register"]

# How long an async instance stays New, then Running (seconds since the request).
NEW_SECONDS = 0.05
RUNNING_SECONDS = 0.3

_BASE = "/services/data/{v}/analytics/reports"
_ID = r"(?P<report_id>[^/]+)"
_NOT_FOUND = "The requested resource does not exist"


@dataclass
class _Instance:
    id: str
    report: ReportDef
    plan: Plan
    include_details: bool
    owner_id: str | None
    requested: float
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    instances: dict[str, _Instance] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _urls(version: str, report: ReportDef) -> dict[str, str]:
    base = f"/services/data/v{version}/analytics/reports/{report.id}"
    return {"describeUrl": f"{base}/describe", "instancesUrl": f"{base}/instances", "url": base}


def _flag(request: Request, name: str) -> bool:
    return str(request.query.get(name, "false")).strip().lower() == "true"


def _payload(payload: dict[str, Any]) -> Response:
    """A run payload as JSON; orjson because a 2,000-row payload is about 2 MB."""
    return Response(status=200, body=orjson.dumps(payload))


def _error(exc: ReportError) -> Response:
    return error_response(exc.status, exc.error_code, exc.message)


REPORT_ERROR_500 = "We ran into an error when running this report. Try to re-submit your query."


def _timeout_answer(dialect: str) -> Response:
    """A timed-out sync run, as the ``report_timeout_answer`` dialect says."""
    if dialect == "timeout-code":
        return error_response(
            500,
            "REPORT_TIMEOUT",
            "Your report took too long to run. Run it asynchronously, or add filters so "
            "it returns fewer records.",
        )
    return json_response([{"message": REPORT_ERROR_500}], status=500)


def register(router: Router, org: OrgState) -> None:
    """Add the analytics report routes to ``router``."""
    state: _State = org.feature("reports", _State)

    def find(report_id: str) -> ReportDef:
        report = report_by_id(report_id)
        if report is None:
            raise ReportError(_NOT_FOUND, status=404, error_code="NOT_FOUND")
        return report

    def body_metadata(request: Request) -> dict[str, Any] | None:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReportError(
                f"The request body isn't valid JSON: {exc}", error_code="JSON_PARSER_ERROR"
            ) from None
        if body is None:
            return None
        if not isinstance(body, dict):
            raise ReportError(
                "The request body must be a JSON object.", error_code="JSON_PARSER_ERROR"
            )
        meta = body.get("reportMetadata")
        if meta is not None and not isinstance(meta, dict):
            raise ReportError("reportMetadata must be an object.")
        return meta

    def list_reports(request: Request) -> Response:
        version = request.api_version or "68.0"
        items = []
        for report in REPORTS.values():
            urls = _urls(version, report)
            items.append(
                {
                    "describeUrl": urls["describeUrl"],
                    "id": report.id,
                    "instancesUrl": urls["instancesUrl"],
                    "name": report.name,
                    "url": urls["url"],
                }
            )
        return json_response(items)

    def describe(request: Request, report_id: str) -> Response:
        try:
            plan = make_plan(find(report_id))
        except ReportError as exc:
            return _error(exc)
        return json_response(
            {
                "reportExtendedMetadata": extended_metadata(plan),
                "reportMetadata": plan.metadata(has_detail_rows=True),
                "reportTypeMetadata": report_type_metadata(),
            }
        )

    def run_sync(request: Request, report_id: str) -> Response:
        try:
            report = find(report_id)
            meta = body_metadata(request) if request.method == "POST" else None
            plan = make_plan(report, meta)
        except ReportError as exc:
            return _error(exc)
        faults = org.features.get("faults")
        if getattr(faults, "report_timeout", False):
            record = getattr(faults, "record", None)
            if record is not None:
                record("report_timeout")
            return _timeout_answer(dialect_of(org).report_timeout_answer)
        payload = run_plan(
            org.database.connect(),
            plan,
            include_details=_flag(request, "includeDetails"),
            attributes=report_attributes(request.api_version or "68.0", report),
        )
        return _payload(payload)

    def instance_summary(version: str, inst: _Instance) -> dict[str, Any]:
        status, completed = _status(inst)
        return {
            "completionDate": _stamp(completed) if completed else None,
            "hasDetailRows": inst.include_details,
            "id": inst.id,
            "ownerId": inst.owner_id,
            "queryable": False,
            "requestDate": _stamp(inst.requested),
            "status": status,
            "url": f"{_urls(version, inst.report)['url']}/instances/{inst.id}",
        }

    def _status(inst: _Instance) -> tuple[str, float | None]:
        elapsed = time.time() - inst.requested
        if elapsed < NEW_SECONDS:
            return "New", None
        if elapsed < RUNNING_SECONDS:
            return "Running", None
        if inst.result is None and inst.error is None:
            try:
                inst.result = run_plan(
                    org.database.connect(),
                    inst.plan,
                    include_details=inst.include_details,
                    attributes={},
                )
            except Exception as exc:  # an instance records its failure, as Salesforce does
                inst.error = str(exc)
        return ("Error" if inst.error else "Success"), inst.requested + RUNNING_SECONDS

    def start_instance(request: Request, report_id: str) -> Response:
        try:
            report = find(report_id)
            plan = make_plan(report, body_metadata(request))
        except ReportError as exc:
            return _error(exc)
        with state.lock:
            number = next(state.counter)
            inst_id = case_safe_id(f"0LGDm{number:010d}")
            inst = _Instance(
                inst_id, report, plan, _flag(request, "includeDetails"), request.user_id,
                time.time(),
            )  # fmt: skip
            state.instances[inst_id] = inst
        return json_response(instance_summary(request.api_version or "68.0", inst))

    def list_instances(request: Request, report_id: str) -> Response:
        try:
            report = find(report_id)
        except ReportError as exc:
            return _error(exc)
        with state.lock:
            mine = [i for i in state.instances.values() if i.report.id == report.id]
        mine.sort(key=lambda i: i.requested, reverse=True)
        version = request.api_version or "68.0"
        return json_response([instance_summary(version, i) for i in mine])

    def lookup(report_id: str, instance_id: str) -> _Instance:
        report = find(report_id)
        inst = state.instances.get(case_safe_id(instance_id))
        if inst is None or inst.report.id != report.id:
            raise ReportError(_NOT_FOUND, status=404, error_code="NOT_FOUND")
        return inst

    def get_instance(request: Request, report_id: str, instance_id: str) -> Response:
        try:
            inst = lookup(report_id, instance_id)
        except ReportError as exc:
            return _error(exc)
        status, completed = _status(inst)
        attrs = {
            "completionDate": _stamp(completed) if completed else None,
            "id": inst.id,
            "ownerId": inst.owner_id,
            "queryable": False,
            "reportId": inst.report.id,
            "reportName": inst.report.name,
            "requestDate": _stamp(inst.requested),
            "status": status,
            "type": "ReportInstance",
        }
        if status == "Success" and inst.result is not None:
            return _payload({**inst.result, "attributes": attrs})
        return json_response(
            {
                "attributes": attrs,
                "allData": False,
                "factMap": {},
                "groupingsAcross": {"groupings": []},
                "groupingsDown": {"groupings": []},
                "hasDetailRows": inst.include_details,
                "reportExtendedMetadata": extended_metadata(inst.plan),
                "reportMetadata": inst.plan.metadata(has_detail_rows=inst.include_details),
            }
        )

    def delete_instance(request: Request, report_id: str, instance_id: str) -> Response:
        try:
            inst = lookup(report_id, instance_id)
        except ReportError as exc:
            return _error(exc)
        with state.lock:
            state.instances.pop(inst.id, None)
        return Response(status=204, body=b"")

    router.add("GET", _BASE, list_reports)
    router.add("GET", f"{_BASE}/{_ID}/describe", describe)
    router.add("GET", f"{_BASE}/{_ID}/instances", list_instances)
    router.add("POST", f"{_BASE}/{_ID}/instances", start_instance)
    router.add("GET", f"{_BASE}/{_ID}/instances/(?P<instance_id>[^/]+)", get_instance)
    router.add("DELETE", f"{_BASE}/{_ID}/instances/(?P<instance_id>[^/]+)", delete_instance)
    router.add("GET", f"{_BASE}/{_ID}", run_sync)
    router.add("POST", f"{_BASE}/{_ID}", run_sync)
