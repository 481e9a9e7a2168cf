"""``org.objects()``: the org's objects from the global describe, with record counts.

One ``GET /sobjects`` (the global describe: name, label, custom, queryable, ... per object)
and, where the org allows it, one ``GET /limits/recordCount`` for every object's record count.
That resource is REST API's "Record Count" (API 40.0 and later, for users with "View Setup and
Configuration"; developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
resources_record_count.htm): ``{"sObjects": [{"count": 3, "name": "Account"}, ...]}``. Its
counts are "a cached snapshot in time", exclude the recycle bin and archived records, and some
objects are not listed at all: those get no count (``<NA>``), never a guessed one.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from sfnotebook._answers import decode_json, unexpected
from sfnotebook._api import OrgApi
from sfnotebook.browse._listing import Listing, listing
from sfnotebook.errors import SalesforceError

__all__ = ["RECORD_COUNT_SINCE", "objects_frame", "record_counts"]

log = logging.getLogger("sfnotebook")

#: The first API version with the Record Count resource.
RECORD_COUNT_SINCE = 40.0
# Answers that mean "not for this user / not on this org": the listing goes on without counts.
_REFUSED = (403, 404)
_HINT = "Rerun with counts=False to list the objects without their record counts."

# (column, global describe key): booleans are "boolean", text "string".
_TEXT = (("name", "name"), ("label", "label"), ("label_plural", "labelPlural"),
         ("key_prefix", "keyPrefix"))  # fmt: skip
_FLAGS = (("custom", "custom"), ("queryable", "queryable"), ("createable", "createable"),
          ("updateable", "updateable"), ("deletable", "deletable"),
          ("custom_setting", "customSetting"))  # fmt: skip


def record_counts(conn: OrgApi) -> dict[str, int] | None:
    """``{object name: records}`` from ``/limits/recordCount``; None where the org refuses it.

    A refusal (no "View Setup and Configuration": 403; an API version before 40.0) is not an
    error for a listing: the counts are a convenience, so they are left out and said so.
    """
    if float(conn.api_version or 0) < RECORD_COUNT_SINCE:
        return None
    endpoint = "limits/recordCount"
    try:
        resp = conn.request("GET", endpoint)
    except SalesforceError as exc:
        if exc.status not in _REFUSED:
            raise
        log.info("record counts not listed: /limits/recordCount answered %s", exc.status)
        return None
    body = decode_json(resp, endpoint=endpoint, expect=dict, fields={"sObjects": list})
    counts: dict[str, int] = {}
    for entry in body["sObjects"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        count = entry.get("count") if isinstance(entry, dict) else None
        if not isinstance(name, str) or isinstance(count, bool) or not isinstance(count, int):
            raise unexpected(resp, endpoint, "an entry without a name and a whole count", _HINT)
        counts[name.lower()] = count
    return counts


def objects_frame(conn: OrgApi, *, search: str | None, counts: bool) -> Listing:
    """The objects of the global describe as a frame (see :func:`sfnotebook.browse.objects`)."""
    body = conn.get_json("sobjects", expect=dict, fields={"sobjects": list})
    entries: list[dict[str, Any]] = [e for e in body["sobjects"] if isinstance(e, dict)]
    if search:
        needle = search.lower()
        entries = [
            e
            for e in entries
            if needle in str(e.get("name") or "").lower()
            or needle in str(e.get("label") or "").lower()
        ]
    known = record_counts(conn) if counts else None
    columns: dict[str, Any] = {}
    for column, key in _TEXT:
        columns[column] = pd.array([e.get(key) for e in entries], dtype="string")
    for column, key in _FLAGS:
        columns[column] = pd.array([e.get(key) for e in entries], dtype="boolean")
    records = [None if known is None else known.get(str(e.get("name")).lower()) for e in entries]
    columns["records"] = pd.array(records, dtype="Int64")
    frame = pd.DataFrame(columns)
    what = f"{len(frame):,} objects" + (f" matching {search!r}" if search else "")
    if not counts:
        note = "records: not asked for (counts=False)"
    elif known is None:
        note = (
            "records: not listed (the Record Count resource needs API 40.0 and the "
            '"View Setup and Configuration" permission)'
        )
    else:
        note = (
            "records: Salesforce's cached count (recycle bin excluded); "
            "SELECT COUNT() FROM X gives an exact one"
        )
    return listing(frame, f"Objects: {what}", note + '; org.fields("Account") lists the fields')
