"""Bulk API 2.0 query jobs in the demo org (reference §6).

Routes (API 47.0 and later; ``resultPages`` from 58.0):

* ``POST /jobs/query``: create a ``query``/``queryAll`` job -> job info, state ``UploadComplete``.
* ``GET /jobs/query``: list the jobs; ``GET /jobs/query/{id}``: job info.
* ``PATCH /jobs/query/{id}`` ``{"state": "Aborted"}``: abort; ``DELETE /jobs/query/{id}``.
* ``GET /jobs/query/{id}/results?maxRecords=&locator=``: one CSV page (see
  :mod:`sfnotebook_demo.bulk.results`), headers ``Sforce-NumberOfRecords`` and
  ``Sforce-Locator`` (``null`` on the last page). Without ``maxRecords`` a page holds
  :data:`DEFAULT_PAGE_ROWS` rows.
* ``GET /jobs/query/{id}/resultPages``: up to five result URLs per call, for parallel
  downloads; whether ``maxRecords`` sizes those pages is the dialect's
  ``result_pages_max_records`` (its documentation lists only ``queryJobId``).

Life cycle, delays and the ``fail_bulk_jobs`` fault: see :mod:`sfnotebook_demo.bulk.jobs`.

Error bodies (400 unless noted). Invalid SOQL gives the SOQL engine's ``MALFORMED_QUERY`` /
``INVALID_FIELD`` / ``INVALID_TYPE`` body. What Bulk 2.0 refuses gives ``API_ERROR``:
"Selecting compound data not supported in Bulk Query" and "Aggregate Relationships not
supported in Bulk Query" (for subqueries and aggregates) are Salesforce's messages as clients
match them; the GROUP BY, OFFSET and TYPEOF messages are ours. A bad job request
(operation, contentType, columnDelimiter, lineEnding) gives ``INVALIDJOB``. Results of a job
not complete give 412 ``JOB_NOT_COMPLETE``; from another API version than the job's, 409. The
exact codes of these last cases are not documented (UNVERIFIED).
"""

from __future__ import annotations

from typing import Any

from sfnotebook_demo.bulk.jobs import BulkJob, BulkState
from sfnotebook_demo.bulk.results import (
    DELIMITERS,
    LINE_ENDINGS,
    ResultFile,
    decode_locator,
    encode_locator,
)
from sfnotebook_demo.dialect import dialect_of
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response

__all__ = ["DEFAULT_PAGE_ROWS", "BulkJob", "BulkState", "register"]

DEFAULT_PAGE_ROWS = 100_000
RESULT_PAGES_PER_CALL = 5
# --- request handling -----------------------------------------------------------------------


def _invalid_job(message: str) -> Response:
    return error_response(400, "INVALIDJOB", message)


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def _version_at_least(request: Request, version: float) -> bool:
    return float(request.api_version or 0) >= version


def _unsupported(compiled: Any) -> str | None:
    """Salesforce's message for a query Bulk 2.0 refuses, or None."""
    if compiled.uses_compound:
        return "Selecting compound data not supported in Bulk Query"
    if compiled.has_subqueries or (compiled.is_aggregate and not compiled.has_group_by):
        return "Aggregate Relationships not supported in Bulk Query"
    if compiled.has_group_by:
        return "GROUP BY is not supported in Bulk Query"
    if compiled.has_offset:
        return "OFFSET is not supported in Bulk Query"
    if compiled.has_typeof:
        return "TYPEOF is not supported in Bulk Query"
    return None


def _create(state: BulkState, request: Request) -> Response:
    from sfnotebook_demo.soql import engine as soql

    try:
        body = request.json()
    except ValueError as exc:
        return error_response(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
    if not isinstance(body, dict):
        return error_response(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        return _invalid_job(f"Invalid operation: {operation}. Use query or queryAll.")
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        return _invalid_job("The query is required")
    if body.get("contentType", "CSV") != "CSV":
        return _invalid_job(f"Unsupported contentType: {body.get('contentType')}. Use CSV.")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        return _invalid_job(f"Invalid columnDelimiter: {delimiter}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        return _invalid_job(f"Invalid lineEnding: {line_ending}")
    try:
        compiled = soql.compile_soql(text)
    except soql.SoqlError as exc:
        return error_response(400, exc.error_code, exc.message)
    refused = _unsupported(compiled)
    if refused:
        return error_response(400, "API_ERROR", refused)
    job = BulkJob(
        id=state.new_id(),
        operation=operation,
        soql=text,
        object=compiled.object_name,
        created_by=request.user_id or "",
        api_version=request.api_version or "",
        column_delimiter=delimiter,
        line_ending=line_ending,
        compiled=compiled,
    )
    # DailyBulkV2QueryJobs is counted by the platform for every created job
    # (rest/platform.py _CONSUMERS), once: not here as well.
    state.submit(job)
    return json_response(job.info(full=False))


def _ready_result(request: Request, job: BulkJob) -> ResultFile | Response:
    """The job's result file, or the error for another API version or an unfinished job."""
    if request.api_version != job.api_version:
        return error_response(
            409,
            "API_ERROR",
            f"Get the results of job {job.id} with the API version that created it "
            f"({job.api_version}), not {request.api_version}",
        )
    if job.state != "JobComplete" or job.result is None:
        return error_response(
            412, "JOB_NOT_COMPLETE", f"The job is not complete: its state is {job.state}"
        )
    return job.result


def _results(state: BulkState, request: Request, job: BulkJob) -> Response:
    result = _ready_result(request, job)
    if isinstance(result, Response):
        return result
    raw_max = request.query.get("maxRecords")
    page_rows = DEFAULT_PAGE_ROWS
    if raw_max is not None:
        if not raw_max.isdigit() or int(raw_max) < 1:
            return error_response(400, "API_ERROR", f"Invalid maxRecords: {raw_max}")
        page_rows = int(raw_max)
    start = 0
    locator = request.query.get("locator")
    if locator:
        offset = decode_locator(locator)
        if offset is None or not 0 <= offset < max(result.rows, 1):
            return error_response(400, "API_ERROR", f"Invalid locator: {locator}")
        start = offset
    rows, chunks = result.page(start, page_rows)
    after = start + rows
    headers = {
        "Sforce-NumberOfRecords": str(rows),
        "Sforce-Locator": encode_locator(after) if after < result.rows else "null",
    }
    return Response(
        status=200, body=chunks, headers=headers, content_type="text/csv; charset=UTF-8"
    )


def _result_pages(state: BulkState, request: Request, job: BulkJob, *, honour: bool) -> Response:
    """Up to five page URLs. ``honour``: the dialect's ``result_pages_max_records`` says the
    org takes ``maxRecords`` here; otherwise (its documentation lists only ``queryJobId``) the
    pages are the org's own size and their URLs carry only a locator."""
    result = _ready_result(request, job)
    if isinstance(result, Response):
        return result
    raw_max = request.query.get("maxRecords") if honour else None
    if raw_max is not None and (not raw_max.isdigit() or int(raw_max) < 1):
        return error_response(400, "API_ERROR", f"Invalid maxRecords: {raw_max}")
    page_rows = int(raw_max) if raw_max else DEFAULT_PAGE_ROWS
    start = 0
    if request.query.get("locator"):
        decoded = decode_locator(request.query["locator"])
        if decoded is None or decoded > result.rows:
            return error_response(400, "API_ERROR", f"Invalid locator: {request.query['locator']}")
        start = decoded
    base = f"/services/data/v{job.api_version}/jobs/query/{job.id}"
    size = f"maxRecords={raw_max}" if raw_max else ""
    urls: list[dict[str, str]] = []
    offset = start
    total = result.rows
    while len(urls) < RESULT_PAGES_PER_CALL and (offset < total or (offset == 0 and not urls)):
        params = "&".join(
            p for p in (f"locator={encode_locator(offset)}" if offset else "", size) if p
        )
        urls.append({"resultUrl": f"{base}/results" + (f"?{params}" if params else "")})
        offset += page_rows
    done = offset >= total
    next_url = None
    if not done:
        params = "&".join(p for p in (f"locator={encode_locator(offset)}", size) if p)
        next_url = f"{base}/resultPages?{params}"
    return json_response({"resultPages": urls, "nextRecordsUrl": next_url, "done": done})


def register(router: Router, org: Any) -> None:
    """Add the Bulk API 2.0 query routes."""
    state: BulkState = org.feature("bulk", lambda: BulkState(org))

    def find(request: Request, job_id: str) -> BulkJob | Response:
        if not _version_at_least(request, 47.0):
            return _not_found()
        with state.lock:
            job = state.jobs.get(job_id)
        return job if job is not None else _not_found()

    def create(request: Request) -> Response:
        if not _version_at_least(request, 47.0):
            return _not_found()
        return _create(state, request)

    def list_jobs(request: Request) -> Response:
        if not _version_at_least(request, 47.0):
            return _not_found()
        with state.lock:
            jobs = sorted(state.jobs.values(), key=lambda j: j.created)
        records = [dict(j.info(full=False), jobType="V2Query") for j in jobs]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    def get_job(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        return job if isinstance(job, Response) else json_response(job.info(full=True))

    def patch_job(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        if isinstance(job, Response):
            return job
        try:
            body = request.json()
        except ValueError as exc:
            return error_response(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
        wanted = body.get("state") if isinstance(body, dict) else None
        if wanted != "Aborted":
            return _invalid_job(f"Invalid state: {wanted}. A query job can only be Aborted.")
        if not state.abort(job):
            return _invalid_job(f"Job {job.id} cannot be aborted: its state is {job.state}")
        return json_response(job.info(full=False))

    def delete_job(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        if isinstance(job, Response):
            return job
        if job.state == "InProgress":
            return _invalid_job(f"Job {job.id} cannot be deleted while it is InProgress")
        state.delete(job)
        return Response(status=204, body=b"")

    def results(request: Request, job_id: str) -> Response:
        job = find(request, job_id)
        return job if isinstance(job, Response) else _results(state, request, job)

    def result_pages(request: Request, job_id: str) -> Response:
        if not _version_at_least(request, 58.0):
            return _not_found()
        job = find(request, job_id)
        if isinstance(job, Response):
            return job
        honour = dialect_of(org).result_pages_max_records == "honoured"
        return _result_pages(state, request, job, honour=honour)

    jobs = r"/services/data/{v}/jobs/query"
    one = jobs + r"/(?P<job_id>[0-9A-Za-z]{15,18})"
    router.add("POST", jobs + "/?", create)
    router.add("GET", jobs + "/?", list_jobs)
    router.add("GET", one + "/?", get_job)
    router.add("PATCH", one + "/?", patch_job)
    router.add("DELETE", one + "/?", delete_job)
    router.add("GET", one + "/results/?", results)
    router.add("GET", one + "/resultPages/?", result_pages)
