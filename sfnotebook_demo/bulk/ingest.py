"""Bulk API 2.0 ingest jobs in the demo org (API 41.0 and later).

Routes (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta, "Bulk API 2.0 Ingest"):

* ``POST /jobs/ingest``: create a job (``object``, ``operation`` insert/update/upsert/delete,
  ``externalIdFieldName`` for upsert, ``contentType`` CSV, ``columnDelimiter``,
  ``lineEnding``) -> job info, state ``Open``, with its ``contentUrl``.
* ``PUT /jobs/ingest/{id}/batches`` (``text/csv``): the job's data -> 201, empty body. "A
  request can provide CSV data that does not in total exceed 150 MB of base64 encoded content"
  (upload_job_data.htm); a second upload is accepted, and closing then fails as Salesforce's
  does: "Found multipe contents for job: <id>, please 'Close' / 'Abort' / 'Delete' the current
  Job then create a new Job and make sure you only do 'PUT' once on a given Job." (observed).
* ``PATCH /jobs/ingest/{id}`` ``{"state": "UploadComplete"}`` (close) or ``"Aborted"``.
* ``GET /jobs/ingest``, ``GET /jobs/ingest/{id}`` (adds ``numberRecordsProcessed``,
  ``numberRecordsFailed``, ``errorMessage``, ...), ``DELETE /jobs/ingest/{id}``.
* ``GET /jobs/ingest/{id}/successfulResults``, ``/failedResults``, ``/unprocessedrecords``:
  CSV (see :mod:`sfnotebook_demo.bulk.ingest_jobs`), once the job has ended.

``hardDelete`` needs the "Bulk API Hard Delete" permission, which the demo org's Run As user
does not have. Error bodies follow the query jobs': ``INVALIDJOB`` for a bad request,
``NOT_FOUND`` for an unknown job; results of a job that has not ended: 412
``JOB_NOT_COMPLETE`` (codes of these last cases are not documented: UNVERIFIED).
"""

from __future__ import annotations

import itertools
from typing import Any

from sfnotebook_demo.bulk.ingest_jobs import IngestJob, IngestState
from sfnotebook_demo.bulk.results import DELIMITERS, LINE_ENDINGS
from sfnotebook_demo.data.schema import get_sobject
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.ids import make_id

__all__ = ["MAX_UPLOAD_BASE64", "register"]

MAX_UPLOAD_BASE64 = 150 * 1024 * 1024
_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_RESULTS = ("successfulResults", "failedResults", "unprocessedrecords")
# Ingest job Ids share the 750 key prefix with query jobs: numbered from far above them.
_FIRST_NUMBER = 500_000


def _invalid(message: str, status: int = 400) -> Response:
    return error_response(status, "INVALIDJOB", message)


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def _create(state: IngestState, numbers: Any, request: Request) -> Response:
    try:
        body = request.json()
    except ValueError as exc:
        return error_response(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
    if not isinstance(body, dict):
        return error_response(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    operation = body.get("operation")
    if operation not in _OPERATIONS:
        return _invalid(f"InvalidJob : Invalid operation: {operation}")
    if operation == "hardDelete":
        return error_response(
            400, "FEATURENOTENABLED", "The Bulk API Hard Delete permission is not enabled for you"
        )
    obj = get_sobject(str(body.get("object") or ""))
    if obj is None:
        return _invalid(f"InvalidJob : Unknown sObject: {body.get('object')}")
    external = body.get("externalIdFieldName")
    if operation == "upsert" and not external:
        return _invalid("InvalidJob : External ID field is required for upsert operations")
    if body.get("contentType", "CSV") != "CSV":
        return _invalid(f"InvalidJob : Unsupported contentType: {body.get('contentType')}")
    delimiter = body.get("columnDelimiter", "COMMA")
    line_ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
        return _invalid(
            f"InvalidJob : Invalid columnDelimiter or lineEnding: {delimiter}, {line_ending}"
        )
    job = IngestJob(
        id=make_id("750", _FIRST_NUMBER + next(numbers)),
        operation=operation,
        object=obj.name,
        external_id_field=str(external) if operation == "upsert" else None,
        created_by=request.user_id or "",
        api_version=request.api_version or "",
        column_delimiter=delimiter,
        line_ending=line_ending,
        delimiter=DELIMITERS[delimiter],
    )
    state.add(job)
    return json_response(job.info(full=False))


def _upload(state: IngestState, request: Request, job: IngestJob) -> Response:
    if job.state != "Open":
        return _invalid(
            f"InvalidJob : Job {job.id} is not open for uploads: its state is {job.state}", 409
        )
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "text/csv":
        return _invalid(f"InvalidJob : Unsupported Content-Type {content_type!r}: use text/csv")
    if -(-len(request.body) // 3) * 4 > MAX_UPLOAD_BASE64:
        return _invalid("InvalidJob : The upload exceeds 150 MB of base64 encoded content", 413)
    with state.lock:
        job.data = (job.data or b"") + request.body
        job.uploads += 1
    return Response(status=201, body=b"", content_type="text/plain")


def _patch(state: IngestState, request: Request, job: IngestJob) -> Response:
    try:
        body = request.json()
    except ValueError as exc:
        return error_response(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
    wanted = body.get("state") if isinstance(body, dict) else None
    if wanted == "Aborted":
        if not state.abort(job):
            return _invalid(
                f"InvalidJob : Job {job.id} cannot be aborted: its state is {job.state}"
            )
        return json_response(job.info(full=False))
    if wanted != "UploadComplete":
        return _invalid(f"InvalidJob : Invalid state: {wanted}")
    if job.state != "Open":
        return _invalid(f"InvalidJob : Job {job.id} cannot be closed: its state is {job.state}")
    if job.uploads > 1:
        return _invalid(
            f"Found multipe contents for job: <{job.id}>, please 'Close' / 'Abort' / 'Delete' "
            "the current Job then create a new Job and make sure you only do 'PUT' once on a "
            "given Job."
        )
    if job.data is None:
        return _invalid(f"InvalidJob : No data was uploaded for job {job.id}")
    state.close(job)
    return json_response(job.info(full=False))


def _result(request: Request, job: IngestJob, kind: str) -> Response:
    if job.state not in ("JobComplete", "Failed", "Aborted"):
        return error_response(
            412, "JOB_NOT_COMPLETE", f"The job is not complete: its state is {job.state}"
        )
    return Response(status=200, body=job.result_csv(kind), content_type="text/csv; charset=UTF-8")


def register(router: Router, org: Any) -> None:
    """Add the Bulk API 2.0 ingest routes."""
    state: IngestState = org.feature("ingest", lambda: IngestState(org))
    numbers = itertools.count(1)

    def find(request: Request, job_id: str) -> IngestJob | Response:
        if float(request.api_version or 0) < 41.0:
            return _not_found()
        with state.lock:
            job = state.jobs.get(job_id)
        return job if job is not None else _not_found()

    def create(request: Request) -> Response:
        if float(request.api_version or 0) < 41.0:
            return _not_found()
        return _create(state, numbers, request)

    def list_jobs(request: Request) -> Response:
        with state.lock:
            jobs = sorted(state.jobs.values(), key=lambda j: j.created)
        records = [dict(j.info(full=False), jobType="V2Ingest") for j in jobs]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    def get_job(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        return job if isinstance(job, Response) else json_response(job.info(full=True))

    def upload(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        return job if isinstance(job, Response) else _upload(state, request, job)

    def patch(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        return job if isinstance(job, Response) else _patch(state, request, job)

    def delete(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        if isinstance(job, Response):
            return job
        if job.state == "InProgress":
            return _invalid(f"InvalidJob : Job {job.id} cannot be deleted while it is InProgress")
        state.delete(job)
        return Response(status=204, body=b"")

    def results(kind: str) -> Any:
        def handler(request: Request, job_id: str) -> Response:
            job = find(request, job_id)
            return job if isinstance(job, Response) else _result(request, job, kind)

        return handler

    jobs = r"/services/data/{v}/jobs/ingest"
    one = jobs + r"/(?P<job_id>[0-9A-Za-z]{15,18})"
    router.add("POST", jobs + "/?", create)
    router.add("GET", jobs + "/?", list_jobs)
    router.add("GET", one + "/?", get_job)
    router.add("PATCH", one + "/?", patch)
    router.add("DELETE", one + "/?", delete)
    router.add("PUT", one + "/batches/?", upload)
    for kind in _RESULTS:
        router.add("GET", one + f"/{kind}/?", results(kind))
