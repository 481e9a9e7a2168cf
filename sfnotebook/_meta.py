"""Results that say what they are: ``df.attrs["sfnotebook"]`` and ``result.info``.

Every result of ``org.query``, ``org.report`` and ``org.extract`` carries one small dict::

    {"kind": "soql" | "report" | "bulk",
     "request": "SELECT Id FROM Account WHERE ...",   # the SOQL as sent, or the report asked for
     "rows": 1204, "pages_or_runs": 1, "api_calls": 3, "elapsed_s": 0.41,
     "org_id": "00D...", "user_id": "005...", "username": "analyst@example.com",
     "fetched_at": "2026-12-02T05:50:12Z", "from_cache": False, "cache_age_s": None}

``username`` is ``None`` until the connection has read its identity (the connection card
does, ``org.username`` does): a result's metadata never costs a request of its own.

It lives in ``df.attrs["sfnotebook"]`` for pandas frames (next to keys other parts of sfnotebook
put there, such as ``restarts``), in the schema metadata ``b"sfnotebook"`` (JSON) of a
``pyarrow.Table``, and as ``.info`` on a :class:`~sfnotebook.reports.ReportResult`, a
``QueryResult`` and the folder ``extract(to=)`` returns. Polars frames have no place for it.

pandas copies ``attrs`` into every frame derived from this one (and pandas >= 2.1 deep-copies
them), so the dict holds only short strings and numbers: never a frame, payload or connection.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

__all__ = ["KEYS", "attach", "identity_of", "info_of", "make_info", "requests_sent", "utc_now"]

#: The keys of the metadata dict, in the order they are shown.
KEYS = (
    "kind",
    "request",
    "rows",
    "pages_or_runs",
    "api_calls",
    "elapsed_s",
    "org_id",
    "user_id",
    "username",
    "fetched_at",
    "from_cache",
    "cache_age_s",
)

_ARROW_KEY = b"sfnotebook"


def requests_sent(conn: object) -> int | None:
    """How many API requests ``conn``'s session has sent so far (``None`` when it does not
    count them): the difference over a call is the ``api_calls`` it spent."""
    stats = getattr(getattr(conn, "session", None), "stats", None)
    sent = stats.get("requests") if isinstance(stats, dict) else None
    return sent if isinstance(sent, int) else None


def utc_now() -> str:
    """Now, as ISO 8601 in UTC to the second (``2026-12-02T05:50:12Z``)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_info(
    conn: object,
    *,
    kind: str,
    request: str,
    rows: int | None,
    pages_or_runs: int | None,
    api_calls: int | None,
    elapsed_s: float | None,
    fetched_at: str | None = None,
    from_cache: bool = False,
    cache_age_s: float | None = None,
) -> dict[str, Any]:
    """The metadata dict of one result fetched on ``conn`` (org and user read from it)."""
    org_id, user_id, username = identity_of(conn)
    return {
        "kind": kind,
        "request": request,
        "rows": rows,
        "pages_or_runs": pages_or_runs,
        "api_calls": api_calls,
        "elapsed_s": None if elapsed_s is None else round(float(elapsed_s), 3),
        "org_id": org_id,
        "user_id": user_id,
        "username": username,
        "fetched_at": fetched_at or utc_now(),
        "from_cache": from_cache,
        "cache_age_s": None if cache_age_s is None else round(float(cache_age_s), 1),
    }


def identity_of(conn: object) -> tuple[str, str, str | None]:
    """``(org Id, user Id, username)`` of a connection; empty Ids where it cannot say (not
    logged in).

    The username comes from the identity URL, read lazily (sfnotebook.connection): until
    something has read it, it is ``None`` here (never the Id in its place), so that a result's
    metadata never costs a request of its own.
    """
    try:
        org_id = str(getattr(conn, "org_id", "") or "")
        user_id = str(getattr(conn, "user_id", "") or "")
        username = None
        if getattr(conn, "identity_fetched", True):
            username = str(getattr(conn, "username", "") or "") or None
    except Exception:  # a connection not logged in raises from its properties
        return "", "", None
    return org_id, user_id, username


def attach(frame: Any, info: dict[str, Any]) -> Any:
    """``frame`` carrying ``info``; returns the object to hand back (a new one for Arrow).

    pandas frames get ``attrs["sfnotebook"]`` (merged with what is there), Arrow tables schema
    metadata, result objects (``ReportResult``, ``QueryResult``, an extract folder) ``.info``
    and their frames the same dict. Anything else (an ``int`` count, a polars frame) is
    returned as it is.
    """
    info = dict(info)
    if callable(getattr(type(frame), "_cache_parts", None)):  # a ReportResult
        frame.info = info
        frame.details = attach(frame.details, info)
        frame.aggregates = attach(frame.aggregates, info)
        return frame
    if hasattr(frame, "frame") and isinstance(getattr(frame, "children", None), dict):
        frame.info = info  # a QueryResult: its parent frame and every child frame
        frame.frame = attach(frame.frame, info)
        for name, child in list(frame.children.items()):
            frame.children[name] = attach(child, {**info, "rows": _rows(child)})
        return frame
    attrs = getattr(frame, "attrs", None)
    if isinstance(attrs, dict):
        previous = attrs.get("sfnotebook")
        attrs["sfnotebook"] = {**(previous if isinstance(previous, dict) else {}), **info}
        return frame
    schema = getattr(frame, "schema", None)
    if schema is not None and hasattr(frame, "replace_schema_metadata"):
        try:
            meta = dict(schema.metadata or {})
        except (AttributeError, TypeError):  # a polars schema: no metadata
            return frame
        meta[_ARROW_KEY] = json.dumps(info).encode()
        return frame.replace_schema_metadata(meta)
    if hasattr(frame, "__fspath__") and hasattr(frame, "info"):
        frame.info = info
    return frame


def info_of(result: Any) -> dict[str, Any] | None:
    """The metadata dict a result carries (``None`` when it carries none)."""
    info = getattr(result, "info", None)
    if isinstance(info, dict):
        return info
    attrs = getattr(result, "attrs", None)
    if isinstance(attrs, dict) and isinstance(attrs.get("sfnotebook"), dict):
        found = attrs["sfnotebook"]
        return found if "kind" in found else None
    schema = getattr(result, "schema", None)
    raw = None
    try:
        raw = (schema.metadata or {}).get(_ARROW_KEY) if schema is not None else None
    except AttributeError:
        return None
    if raw:
        loaded = json.loads(raw)
        return loaded if isinstance(loaded, dict) else None
    return None


def _rows(frame: Any) -> int | None:
    try:
        return len(frame)
    except TypeError:
        return None
