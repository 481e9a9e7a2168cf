"""Finding reports: the list an analyst can see, and a report's Id from its name."""

from __future__ import annotations

import difflib
import re
from typing import Any

import pandas as pd

from sfnotebook._api import Fields, JsonObject, OrgApi
from sfnotebook._once import OncePerKey
from sfnotebook._paths import record_id
from sfnotebook.errors import (
    AmbiguousReportError,
    IncompleteResultError,
    InvalidArgumentError,
    InvalidTypeError,
    ReportNotFoundError,
    RequestLimitExceededError,
    SalesforceError,
    UnexpectedAnswerError,
)

__all__ = [
    "DESCRIBE_FIELDS",
    "catalog",
    "describe_by_id",
    "describe_report",
    "report_path_id",
    "reports",
    "resolve",
]

_ID_RE = re.compile(r"^00O[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
_DESCRIBE_AT_MOST = 50
_KEY = "reports"  # the one key of a connection's kept catalogue
# The Report object's fields (object reference, sforce_api_objects_report.htm; field reference
# salesforce-field-reference-report.html): FolderName (API 35.0+) is the folder's name;
# OwnerId is the folder (labelled "Folder" in the field reference), so the person behind a
# report is its creator, CreatedBy.Name, as the Reports tab's "Created By" column shows.
_REPORT_SOQL = (
    "SELECT Id, Name, DeveloperName, FolderName, Format, Description, LastRunDate, "
    "LastModifiedDate, CreatedBy.Name FROM Report ORDER BY Name"
)
# The fields every API version since 35.0 has, should an org refuse one of the above.
_BASIC_SOQL = "SELECT Id, Name, DeveloperName, FolderName, Format FROM Report ORDER BY Name"
#: The columns of ``org.reports()``, in order.
COLUMNS = (
    "name", "id", "folder", "owner", "last_run", "last_modified", "description", "format",
    "developer_name",
)  # fmt: skip
_DATES = ("last_run", "last_modified")

#: What a report's ``/describe`` carries, all read by the client (salesforce-api.md 5.8).
DESCRIBE_FIELDS: Fields = {
    "reportMetadata": dict,
    "reportExtendedMetadata": dict,
    "reportTypeMetadata": dict,
}
#: An item of ``GET analytics/reports`` (the recent-reports list): ``{id, name, url, ...}``.
_LISTED_FIELDS: Fields = {"id": str, "name": (str, None)}


def reports(conn: OrgApi, search: str | None = None) -> pd.DataFrame:
    """The reports this user can see, with folder, owner, last run, last change, description.

    Parameters
    ----------
    search : str, optional
        Keep the reports whose name, folder or description contains this text (case does not
        matter), e.g. ``"pipeline"``.

    Uses SOQL on the ``Report`` object (every report); where that is not available, the
    Analytics API's list (the ~200 recently viewed reports), with folder (its Id, the only
    thing the describe tells) and format read from each report's ``/describe`` when there are
    at most 50, and no owner, dates or description.

    Returns
    -------
    pandas.DataFrame
        One row per report, by name: ``name``, ``id``, ``folder`` (the folder's name),
        ``owner`` (who created it), ``last_run`` and ``last_modified`` (UTC datetimes),
        ``description``, ``format`` (TABULAR, SUMMARY, MATRIX) and ``developer_name``.

    Examples
    --------
    >>> org.reports(search="pipeline")  # doctest: +SKIP
    """
    if search is not None and not isinstance(search, str):
        raise TypeError(f"search must be a string such as 'pipeline', not {search!r}")
    rows = catalog(conn, refresh=True)  # the user asks for the list: show today's
    if search:
        needle = search.strip().casefold()
        rows = [
            r
            for r in rows
            if any(
                needle in str(r.get(k) or "").casefold() for k in ("name", "folder", "description")
            )
        ]
    if len(rows) <= _DESCRIBE_AT_MOST:
        _describe_missing(conn, rows)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    text = [c for c in COLUMNS if c not in _DATES]
    frame[text] = frame[text].astype("string[pyarrow]")
    for column in _DATES:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def catalog(conn: OrgApi, *, refresh: bool = False) -> list[dict[str, Any]]:
    """Every report this user can see (id, name, developer_name, folder, format), as dicts.

    Listed once per connection and kept (``Connection._report_catalog``), so each
    ``org.report(name)`` does not pay the listing again (issue 13, item 2); ``refresh=True``
    lists it again. Concurrent callers share one listing; a failure is not kept. The rows are
    copies: a caller may fill them in without changing the kept list. A connection that keeps
    no catalogue (another :class:`~sfnotebook._api.OrgApi`, a test's fake) lists every time.
    """
    return _kept(conn, refresh=refresh)[0]


def _kept(conn: OrgApi, *, refresh: bool) -> tuple[list[dict[str, Any]], bool]:
    """:func:`catalog`'s rows, and whether they were listed by this call (so are fresh)."""
    kept: OncePerKey[list[dict[str, Any]]] | None = getattr(conn, "_report_catalog", None)
    if kept is None:
        return _list(conn), True
    if refresh:
        kept.forget(_KEY)
    listed_now: list[bool] = []

    def fetch() -> list[dict[str, Any]]:
        listed_now.append(True)
        return _list(conn)

    return [dict(r) for r in kept.get(_KEY, fetch)], bool(listed_now)


def _list(conn: OrgApi) -> list[dict[str, Any]]:
    """The catalogue as the org lists it now: SOQL on ``Report``, else the Analytics list."""
    try:
        records = _report_records(conn)
    except IncompleteResultError:
        raise  # the listing was there but came back short: never fall back to a smaller one
    except SalesforceError as exc:
        # Only Salesforce's refusal of the query itself (no Report object here, INVALID_TYPE,
        # or no access to it) earns the smaller Analytics list; a transient fault, a foreign or
        # malformed answer must not quietly turn into fewer reports.
        refused = isinstance(exc, InvalidTypeError) or exc.status in (400, 403, 404)
        if isinstance(exc, UnexpectedAnswerError | RequestLimitExceededError) or not refused:
            raise  # the API limit is a 403 too, but it says nothing about the Report object
        listed = conn.get_json("analytics/reports", items=_LISTED_FIELDS)
        return [{**dict.fromkeys(COLUMNS), "id": r["id"], "name": r.get("name")} for r in listed]
    return [
        {
            "name": r.get("Name"),
            "id": r.get("Id"),
            "folder": r.get("FolderName"),
            "owner": (r.get("CreatedBy") or {}).get("Name")
            if isinstance(r.get("CreatedBy"), dict)
            else None,
            "last_run": r.get("LastRunDate"),
            "last_modified": r.get("LastModifiedDate"),
            "description": r.get("Description"),
            "format": str(r.get("Format") or "").upper() or None,
            "developer_name": r.get("DeveloperName"),
        }
        for r in records
    ]


def _report_records(conn: OrgApi) -> list[dict[str, Any]]:
    """The Report rows with every catalogue field; the basic ones where a field is refused."""
    try:
        return _soql_all(conn, _REPORT_SOQL)
    except SalesforceError as exc:
        if exc.status != 400 or exc.error_code not in ("INVALID_FIELD", "MALFORMED_QUERY"):
            raise
        return _soql_all(conn, _BASIC_SOQL)


def _soql_all(conn: OrgApi, soql: str) -> list[dict[str, Any]]:
    """Every record of a small SOQL query, checked against its ``totalSize``.

    A page whose shape is not the documented one (no ``done``; ``done: false`` without a
    ``nextRecordsUrl``) is an error, never the end of the listing.
    """
    page = conn.get_json("query", params={"q": soql})
    expected = page.get("totalSize") if isinstance(page, dict) else None
    records: list[dict[str, Any]] = []
    while True:
        if not isinstance(page, dict) or not isinstance(page.get("records"), list):
            raise _short("an answer without records", expected, len(records))
        records.extend(page["records"])
        done = page.get("done")
        if done is True:
            break
        if done is not False or not page.get("nextRecordsUrl"):
            raise _short(
                f"a page with done: {done!r} and no nextRecordsUrl "
                f"(keys: {', '.join(sorted(page))})",
                expected,
                len(records),
            )
        page = conn.get_json(page["nextRecordsUrl"])
    if not isinstance(expected, int) or len(records) != expected:
        raise _short(f"totalSize {expected!r}", expected, len(records))
    return records


def _short(what: str, expected: Any, received: int) -> IncompleteResultError:
    return IncompleteResultError(
        f"The list of reports (SOQL on Report) came back incomplete: {what}, {received:,} "
        "reports received. No partial list is returned; try again.",
        expected=expected if isinstance(expected, int) else None,
        received=received,
    )


def resolve(conn: OrgApi, report: str, *, folder: str | None = None) -> str:
    """The report Id for an Id or a report name (exact, then case-insensitive, then API name).

    ``folder`` (a folder's name, case-insensitive, or its Id where the org lists no names)
    picks among reports of the same name. A name
    is only ever compared with the listing (never put into a query or a URL), so quotes, ``%``,
    ``/``, ``?``, ``#`` or any other character in it find exactly that report or none.
    """
    if not isinstance(report, str) or not report.strip():
        raise InvalidArgumentError(
            f"report must be a report Id (00O...) or a report's name, not {report!r}.",
            argument="report",
        )
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise InvalidArgumentError(
            f"folder must be a folder's name such as 'Sales Reports', not {folder!r}.",
            argument="folder",
        )
    text = report.strip()
    if _ID_RE.match(text):
        return text
    listed, fresh = _kept(conn, refresh=False)
    found = _matching(listed, text)
    if not found and not fresh:
        # The kept catalogue may predate the report (created or renamed since): list once more
        # before saying it does not exist.
        listed = catalog(conn, refresh=True)
        found = _matching(listed, text)
    if found and folder is not None:
        if any(not r["folder"] for r in found):
            _describe_missing(conn, found)  # the Analytics list names no folders
        wanted = folder.strip().casefold()
        found = [
            r
            for r in found
            if wanted in (str(r["folder"] or "").casefold(), str(r["id"]).casefold())
        ]
    if not found:
        raise _not_found(listed, text, folder)
    if len(found) == 1:
        return report_path_id(found[0]["id"])
    _describe_missing(conn, found)
    listing = "\n".join(
        f"  {r['id']}  in folder {r['folder'] or '?'!r}"
        + (f", created by {r['owner']}" if r.get("owner") else "")
        + f" ({r['format'] or '?'})"
        for r in found
    )
    folders = [r["folder"] for r in found if r["folder"]]
    by_folder = (
        f", folder={folders[0]!r}"
        if folders and len(set(folders)) == len(found) and folder is None
        else ""
    )
    raise AmbiguousReportError(
        f"{len(found)} reports are called {text!r}:\n{listing}\nPick one by its Id, "
        f"org.report({str(found[0]['id'])!r}), or by its folder, "
        f"org.report({text!r}{by_folder or ', folder=...'}).",
        candidates=[str(r["id"]) for r in found],
    )


def _matching(listed: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The reports ``text`` names: by exact name, else case-insensitive name, else API name."""
    for match in (
        lambda r: r["name"] == text,
        lambda r: str(r["name"] or "").casefold() == text.casefold(),
        lambda r: r["developer_name"] == text,
    ):
        found = [r for r in listed if match(r)]
        if found:
            return found
    return []


def _not_found(
    listed: list[dict[str, Any]], text: str, folder: str | None = None
) -> ReportNotFoundError:
    """The error for a name no report has, with the close matches the listing offers."""
    names = list(dict.fromkeys(str(r["name"]) for r in listed if r["name"]))
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.5)
    close += [n for n in names if text.casefold() in n.casefold() and n not in close][:5]
    hint = ("Close matches: " + ", ".join(repr(n) for n in close)) if close else ""
    where = f" in folder {folder!r}" if folder is not None else ""
    elsewhere = _matching(listed, text) if folder is not None else []
    if elsewhere:
        others = sorted({str(r["folder"] or "?") for r in elsewhere}, key=str.casefold)
        hint = f"Reports of that name are in {', '.join(map(repr, others))}."
    return ReportNotFoundError(
        f"No report called {text!r}{where} is visible to this user. {hint}".strip()
        + "\nList them with org.reports() or org.reports(search=...), or pass the report's "
        "Id (00O...).",
        close_matches=close,
    )


def _describe_missing(conn: OrgApi, found: list[dict[str, Any]]) -> None:
    """Fill folder/format of candidates from ``/describe`` when the list lacked them."""
    for r in found:
        if r["folder"] and r["format"]:
            continue
        try:
            md = describe_by_id(conn, str(r["id"]))["reportMetadata"]
        except SalesforceError as exc:
            if exc.status not in (403, 404) or isinstance(exc, RequestLimitExceededError):
                raise  # a transient fault must not quietly leave the columns empty
            continue  # a report this user may list but not open: its columns stay empty
        r["folder"] = r["folder"] or md.get("folderId")
        r["format"] = r["format"] or md.get("reportFormat")
        r["developer_name"] = r["developer_name"] or md.get("developerName")


def describe_report(conn: OrgApi, report: str, *, folder: str | None = None) -> JsonObject:
    """A report's ``/describe``: its metadata, as the Reports API answers it.

    Parameters
    ----------
    report : str
        A report Id (``00O...``) or a report name (resolved as in ``org.report``).
    folder : str, optional
        The folder's name, to pick one of several reports with the same name.

    Returns
    -------
    dict
        ``reportMetadata`` (columns, groupings, filters, format), ``reportExtendedMetadata``
        (column labels and types) and ``reportTypeMetadata`` (the filterable columns).

    Examples
    --------
    >>> md = org.describe_report("Open Pipeline")["reportMetadata"]  # doctest: +SKIP
    >>> md["reportFormat"], md["detailColumns"][:2]  # doctest: +SKIP
    ('TABULAR', ['OPPORTUNITY_NAME', 'AMOUNT'])
    """
    result: JsonObject = describe_by_id(conn, resolve(conn, report, folder=folder))
    return result


def describe_by_id(conn: OrgApi, report_id: str) -> dict[str, Any]:
    """A report's ``/describe`` by its Id (checked before it goes into the URL), its shape
    checked at the edge."""
    result: dict[str, Any] = conn.get_json(
        f"analytics/reports/{report_path_id(report_id)}/describe", fields=DESCRIBE_FIELDS
    )
    return result


def report_path_id(report_id: object) -> str:
    """A report Id checked before it goes into a URL path (``00O``, 15 or 18 characters)."""
    return record_id(report_id, argument="report", what="a report Id", prefix="00O")
