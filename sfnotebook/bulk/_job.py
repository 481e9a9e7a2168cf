"""A Bulk API 2.0 query job's JSON answers, checked at the edge: its creation and its status.

What the client reads of a job decides whether the result is complete, so each key is checked
for its type where the answer is decoded (:func:`sfnotebook._answers.decode_json`), and a
wrong one raises :class:`~sfnotebook.errors.UnexpectedAnswerError` naming the endpoint:

* creation (``POST jobs/query``): ``id`` (a string shaped like a record Id: it goes into the
  URL paths that follow), ``object`` (a string, when given);
* status (``GET jobs/query/{id}``): ``state`` (a string), ``numberRecordsProcessed`` (a whole
  number; required once the state is ``JobComplete``, since the rows received are checked
  against it), ``errorMessage`` and ``object`` (strings, when given).

The documented shapes: salesforce-api.md section 6.1 and 6.2 (developer.salesforce.com/docs/
atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm and query_get_one_job.htm).
"""

from __future__ import annotations

from typing import Any

import requests

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import Fields
from sfnotebook._paths import is_record_id

__all__ = ["COMPLETE", "CREATE", "STATUS", "decode_created", "decode_status"]

CREATE = "bulk job creation (POST jobs/query)"
STATUS = "bulk job status (GET jobs/query/{id})"
COMPLETE = "JobComplete"

_CREATED: Fields = {"id": str, "object": (str, None)}
_STATUS: Fields = {
    "state": str,
    "numberRecordsProcessed": (int, None),
    "errorMessage": (str, None),
    "object": (str, None),
}


def decode_created(resp: requests.Response) -> dict[str, Any]:
    """The job Salesforce created: its ``id`` and, usually, its ``object``."""
    job: dict[str, Any] = decode_json(resp, endpoint=CREATE, fields=_CREATED)
    if not is_record_id(job["id"]):
        raise unexpected(
            resp,
            CREATE,
            "an answer without a job Id",
            "Something in front of Salesforce answered instead: check SF_DOMAIN, then rerun.",
        )
    return job


def decode_status(resp: requests.Response) -> dict[str, Any]:
    """A job's status; a completed job must say how many rows it processed."""
    info: dict[str, Any] = decode_json(resp, endpoint=STATUS, fields=_STATUS)
    if info["state"] == COMPLETE and info.get("numberRecordsProcessed") is None:
        raise unexpected(
            resp,
            STATUS,
            "a completed job without numberRecordsProcessed",
            "Without it the rows received cannot be checked, so nothing is returned: check "
            "SF_DOMAIN is the org's My Domain, then read the job again with "
            "org.job_results(job_id).",
        )
    return info
