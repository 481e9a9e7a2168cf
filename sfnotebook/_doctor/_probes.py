"""The read-only probes of ``sfnotebook doctor``: each asks the org one question, at a known cost.

A probe spends at most :attr:`Probe.cost` API calls, never writes (no POST, PATCH or DELETE
other than the OAuth token exchange), and turns whatever the org answers into a
:class:`Finding`: what it found, in words, and, where the answer settles one of the behaviours
Salesforce leaves undocumented, which value of that behaviour the org showed (``dialect``,
named as the demo org's dialect switches are, so the two can be compared).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfnotebook.connection import Connection
from sfnotebook.errors import SfNotebookError

__all__ = ["PROBES", "Finding", "Probe", "Scratch"]

#: Limits sfnotebook spends (``/limits`` names): API calls, report runs, Bulk query jobs.
SPENT_LIMITS = (
    "DailyApiRequests",
    "HourlySyncReportRuns",
    "HourlyAsyncReportRuns",
    "DailyBulkV2QueryJobs",
    "DailyBulkV2QueryFileStorageMB",
)

#: Objects tried, in order, for the paging probes: the first with more than three pages of
#: 200 rows is used.
PAGING_OBJECTS = ("Account", "Contact", "Opportunity")
PAGE = 200

# The permissions that decide what sfnotebook can do, as PermissionSet fields. Every profile
# owns a permission set (IsOwnedByProfile), so the assignments cover the profile too.
PERMISSIONS = {
    "PermissionsApiEnabled": "API Enabled",
    "PermissionsViewSetup": "View Setup and Configuration",
    "PermissionsRunReports": "Run Reports",
    "PermissionsViewAllData": "View All Data",
}


@dataclass(frozen=True)
class Finding:
    """What one probe found.

    Attributes
    ----------
    key, label
        The probe's name and its human label.
    status
        ``"ok"`` (supported / found), ``"no"`` (the org does not do it), ``"denied"`` (this
        user may not ask), ``"unknown"`` (the probe could not tell; ``summary`` says why).
    summary
        One line for the capability table.
    details
        The facts behind it (JSON-serialisable), e.g. the operator lists.
    dialect
        ``{switch: value}`` for each undocumented behaviour this finding settles.
    calls
        API calls the probe spent.
    """

    key: str
    label: str
    status: str
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    dialect: Mapping[str, str] = field(default_factory=dict)
    calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status,
            "summary": self.summary,
            "details": dict(self.details),
            "dialect": dict(self.dialect),
            "calls": self.calls,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            key=str(data["key"]),
            label=str(data["label"]),
            status=str(data["status"]),
            summary=str(data["summary"]),
            details=dict(data.get("details") or {}),
            dialect={str(k): str(v) for k, v in (data.get("dialect") or {}).items()},
            calls=int(data.get("calls") or 0),
        )


class Scratch:
    """What probes share within one doctor run (a cursor opened by one, continued by the next)."""

    def __init__(self) -> None:
        self.paging_object: str | None = None
        self.next_url: str | None = None
        self.report_id: str | None = None


class _Calls:
    """Counts the API calls a probe makes through the connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.count = 0

    def get(self, url: str, **kwargs: Any) -> Any:
        self.count += 1
        return self.conn.get_json(url, **kwargs)


@dataclass(frozen=True)
class Probe:
    """One question to the org: its name, its label, its most API calls, and how to ask it."""

    key: str
    label: str
    cost: int
    run: Callable[[_Calls, Scratch], Finding]

    def __call__(self, conn: Connection, scratch: Scratch) -> Finding:
        calls = _Calls(conn)
        try:
            found = self.run(calls, scratch)
        except SfNotebookError as exc:
            found = Finding(self.key, self.label, _status_of(exc), _first_line(exc))
        return Finding(
            found.key,
            found.label,
            found.status,
            found.summary,
            found.details,
            found.dialect,
            calls=calls.count,
        )


def _status_of(exc: SfNotebookError) -> str:
    status = getattr(exc, "status", None)
    return "denied" if status in (401, 403) else "unknown"


def _first_line(exc: BaseException) -> str:
    """The error in a few words: its status and code when Salesforce sent them."""
    status, code = getattr(exc, "status", None), getattr(exc, "error_code", None)
    if status is not None or code is not None:
        return " ".join(str(part) for part in (status, code) if part is not None)
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 100 else first[:99] + "…"


# --- the probes -------------------------------------------------------------------------------


def _versions(calls: _Calls, scratch: Scratch) -> Finding:
    listed = calls.get("/services/data/")
    versions = [str(v["version"]) for v in listed if isinstance(v, dict) and "version" in v]
    newest = max(versions, key=lambda v: float(v)) if versions else "none"
    return Finding(
        "api_versions",
        "API versions",
        "ok" if versions else "unknown",
        f"{len(versions)} listed, newest v{newest}; sfnotebook uses v{calls.conn.api_version}",
        {"versions": versions, "used": calls.conn.api_version},
    )


_USER_ID = re.compile(r"005[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")


def _user(calls: _Calls, scratch: Scratch) -> Finding:
    if not calls.conn.identity_fetched:
        calls.count += 1  # the identity is asked on first use: now
    ident = calls.conn.identity
    uid = calls.conn.user_id
    if not _USER_ID.fullmatch(uid):  # it goes into SOQL: an Id, or nothing
        raise SfNotebookError(f"the identity service named an odd user Id {uid!r}")
    fields = ", ".join(f"PermissionSet.{name}" for name in PERMISSIONS)
    soql = f"SELECT {fields} FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'"  # noqa: S608 - uid checked above
    found: dict[str, bool] = dict.fromkeys(PERMISSIONS.values(), False)
    try:
        page = calls.get("query", params={"q": soql})
    except SfNotebookError as exc:
        return Finding(
            "user",
            "User and permissions",
            "unknown",
            f"{ident.get('username', uid)}; permissions not readable ({_first_line(exc)}); "
            "the probes below show what works",
            {"user_id": uid, "username": ident.get("username")},
        )
    for rec in page.get("records") or []:
        perms = rec.get("PermissionSet") or {}
        for name, label in PERMISSIONS.items():
            found[label] = found[label] or bool(perms.get(name))
    held = [label for label, on in found.items() if on]
    missing = [label for label, on in found.items() if not on]
    return Finding(
        "user",
        "User and permissions",
        "ok" if found["API Enabled"] else "no",
        f"{ident.get('username', uid)}: has {', '.join(held) or 'none of them'}"
        + (f"; lacks {', '.join(missing)}" if missing else ""),
        {"user_id": uid, "username": ident.get("username"), "permissions": found},
    )


def _limits(calls: _Calls, scratch: Scratch) -> Finding:
    calls.count += 1
    limits = calls.conn.limits()
    spent = {name: limits[name] for name in SPENT_LIMITS if name in limits}
    text = "; ".join(f"{n} {v['Remaining']:,} of {v['Max']:,}" for n, v in spent.items())
    absent = [name for name in SPENT_LIMITS if name not in limits]
    return Finding(
        "limits",
        "Remaining limits sfnotebook spends",
        "ok",
        text + (f"; not listed: {', '.join(absent)}" if absent else ""),
        {"limits": spent, "not_listed": absent},
    )


def _reports(calls: _Calls, scratch: Scratch) -> Finding:
    listed = calls.get("analytics/reports")
    if not isinstance(listed, list):
        return Finding("reports", "Reports API", "unknown", "the report list is not a list")
    if listed:
        first = listed[0]
        scratch.report_id = str(first.get("id")) if isinstance(first, dict) else None
    return Finding(
        "reports",
        "Reports API",
        "ok",
        f"reachable; {len(listed)} recently viewed report(s) listed",
        {"recent": len(listed)},
    )


def _report_object(calls: _Calls, scratch: Scratch) -> Finding:
    label = "Report object (catalogue by SOQL)"
    try:
        page = calls.get("query", params={"q": "SELECT Id, Name FROM Report LIMIT 1"})
    except SfNotebookError as exc:
        if getattr(exc, "error_code", None) != "INVALID_TYPE":
            raise
        return Finding(
            "report_object",
            label,
            "no",
            "not queryable: org.reports() falls back to the Reports API's recent list",
            dialect={"report_object": "absent"},
        )
    records = page.get("records") or []
    if scratch.report_id is None and records:
        scratch.report_id = str(records[0].get("Id"))
    return Finding(
        "report_object",
        label,
        "ok",
        "queryable: org.reports() lists every report the user can see",
        dialect={"report_object": "queryable"},
    )


#: The comparison operators keyset paging needs on a cursor column.
_COMPARISONS = ("greaterThan", "greaterOrEqual", "lessThan", "lessOrEqual")


def _filter_operators(calls: _Calls, scratch: Scratch) -> Finding:
    if scratch.report_id is None:
        return Finding(
            "filter_operators",
            "Report filter operators",
            "unknown",
            "no report to describe (the user sees none)",
        )
    describe = calls.get(f"analytics/reports/{scratch.report_id}/describe")
    type_map = (describe.get("reportTypeMetadata") or {}).get("dataTypeFilterOperatorMap") or {}
    operators = {
        str(kind): sorted(str(op.get("name")) for op in ops if isinstance(op, dict))
        for kind, ops in type_map.items()
        if isinstance(ops, list)
    }
    id_ops = operators.get("id", [])
    id_compares = all(op in id_ops for op in ("greaterThan", "greaterOrEqual"))
    shown = ", ".join(
        f"{kind}: {'/'.join(operators[kind]) or '-'}"
        for kind in ("id", "reference", "datetime", "date", "double")
        if kind in operators
    )
    return Finding(
        "filter_operators",
        "Report filter operators",
        "ok" if operators else "unknown",
        (shown or "no operator map in the describe")
        + (
            "; Id columns can page"
            if id_compares
            else "; Id columns cannot page (dates and numbers do)"
        ),
        {"operators": operators},
        dialect=(
            {"id_filter_operators": "comparisons" if id_compares else "documented"}
            if "id" in operators
            else {}
        ),
    )


def _first_page(calls: _Calls, scratch: Scratch) -> tuple[str, dict[str, Any]] | None:
    """The first 200-row page of the first object with more than three pages of rows."""
    for name in PAGING_OBJECTS:
        page = calls.get(
            "query",
            params={"q": f"SELECT Id FROM {name} ORDER BY Id"},  # noqa: S608 - our own names
            headers={"Sforce-Query-Options": f"batchSize={PAGE}"},
        )
        if not page.get("done") and int(page.get("totalSize") or 0) > 3 * PAGE:
            return name, page
    return None


_OFFSET_AT_END = re.compile(r"-(\d+)$")


def _locators(calls: _Calls, scratch: Scratch) -> Finding:
    label = "Query locators (arbitrary offsets, parallel pages)"
    first = _first_page(calls, scratch)
    if first is None:
        return Finding(
            "locators",
            label,
            "unknown",
            f"no object among {', '.join(PAGING_OBJECTS)} has more than {3 * PAGE} rows",
        )
    name, page = first
    next_url = str(page.get("nextRecordsUrl") or "")
    match = _OFFSET_AT_END.search(next_url)
    if match is None:
        return Finding(
            "locators",
            label,
            "no",
            f"the next-page URL has no offset to choose ({next_url[-24:]!r}); pages follow "
            "one another only",
            dialect={"locator_offsets": "sequential"},
        )
    second = next_url
    third = next_url[: match.start()] + f"-{2 * PAGE}"
    # The locator's own form (opaque to the client; the demo can answer either).
    locator = next_url.rsplit("/", 1)[-1][:3]
    form = {"query_locators": locator} if locator in ("0r8", "01g") else {}
    last_id = str(page["records"][-1]["Id"])

    def fetch(url: str) -> dict[str, Any] | SfNotebookError:
        try:
            return dict(calls.get(url))
        except SfNotebookError as exc:
            return exc

    # The page after next is asked for before the next one. Both at once would race: should
    # the next page land first, the chosen offset becomes the next-page URL handed out, and an
    # org that serves only that (the demo's locator_offsets="sequential") would pass as one
    # that serves any offset. Parallel paging needs exactly this: an offset ahead of the chain.
    got_third = fetch(third)
    got_second = fetch(second)
    scratch.paging_object = name
    scratch.next_url = _next_url(got_third) or _next_url(got_second)
    if isinstance(got_third, SfNotebookError):
        return Finding(
            "locators",
            label,
            "no",
            f"a chosen offset was refused ({_first_line(got_third)})",
            dialect={"locator_offsets": "sequential"},
        )
    if isinstance(got_second, SfNotebookError):
        return Finding(
            "locators",
            label,
            "no",
            "the next page, fetched beside a chosen offset, was refused "
            f"({_first_line(got_second)})",
            dialect={"locator_offsets": "sequential"},
        )
    ids2 = [str(r["Id"]) for r in got_second.get("records") or []]
    ids3 = [str(r["Id"]) for r in got_third.get("records") or []]
    ordered = bool(ids2 and ids3) and last_id < ids2[0] <= ids2[-1] < ids3[0]
    if not ordered:
        return Finding(
            "locators",
            label,
            "no",
            "a chosen offset answered, but not with the rows at that offset",
            dialect={"locator_offsets": "sequential"},
        )
    return Finding(
        "locators",
        label,
        "ok",
        f"offsets can be chosen ahead of the chain, so pages can be fetched in parallel ({name}, "
        f"{PAGE}-row pages)",
        {"object": name},
        dialect={"locator_offsets": "arbitrary", **form},
    )


def _next_url(got: dict[str, Any] | SfNotebookError) -> str | None:
    """The next-page URL a query-more answer hands out (for the cursor probe), if any."""
    if isinstance(got, dict) and got.get("nextRecordsUrl"):
        return str(got["nextRecordsUrl"])
    return None


def _cursor_sessions(calls: _Calls, scratch: Scratch) -> Finding:
    label = "Query cursors across sessions"
    if not scratch.next_url:
        return Finding(
            "cursor_sessions", label, "unknown", "no open cursor to continue (no locator probe)"
        )
    other = Connection(calls.conn.settings)
    calls.count += 2  # token exchange and versions (the identity is asked on first use)
    other.open()
    try:
        same = other.token.access_token.reveal() == calls.conn.token.access_token.reveal()
        if same:
            return Finding(
                "cursor_sessions",
                label,
                "unknown",
                "a second token exchange returned the same session, so the question does not "
                "arise for this org's connected app",
            )
        calls.count += 1
        try:
            # reauth=False: the refusal is the finding, not a reason to exchange again.
            other.request("GET", scratch.next_url, reauth=False)
        except SfNotebookError as exc:
            return Finding(
                "cursor_sessions",
                label,
                "no",
                "a cursor belongs to the session that opened it: after a token re-exchange a "
                f"query restarts from the beginning ({_first_line(exc)})",
                dialect={
                    "query_cursors": "session",
                    "foreign_cursor_answer": "invalid-session"
                    if getattr(exc, "status", None) == 401
                    else "invalid-locator",
                },
            )
        return Finding(
            "cursor_sessions",
            label,
            "ok",
            "a new session of the same user continues an open cursor",
            dialect={"query_cursors": "user"},
        )
    finally:
        other.close(revoke=False)  # the org may have handed both the same session


def _offset_queries(calls: _Calls, scratch: Scratch) -> Finding:
    label = "OFFSET queries"
    name = scratch.paging_object
    if name is None:
        return Finding("offset_queries", label, "unknown", "no object with enough rows")
    page = calls.get(
        "query",
        params={"q": f"SELECT Id FROM {name} ORDER BY Id LIMIT {2 * PAGE} OFFSET 1"},  # noqa: S608
        headers={"Sforce-Query-Options": f"batchSize={PAGE}"},
    )
    rows = len(page.get("records") or [])
    total = int(page.get("totalSize") or 0)
    if page.get("done") and rows < min(total, 2 * PAGE):
        return Finding(
            "offset_queries",
            label,
            "no",
            f"only the first batch comes back ({rows} of {total} rows, done): sfnotebook "
            "raises rather than return it as whole",
            {"rows": rows, "totalSize": total},
            dialect={"offset_queries": "capped"},
        )
    if not page.get("done"):
        return Finding(
            "offset_queries",
            label,
            "ok",
            f"paged like any query ({rows} rows on the first page)",
            {"rows": rows, "totalSize": total},
            dialect={"offset_queries": "paged"},
        )
    return Finding(
        "offset_queries",
        label,
        "unknown",
        f"all {rows} rows in one batch: too few rows to tell whether OFFSET results page",
        {"rows": rows, "totalSize": total},
    )


def _result_pages(calls: _Calls, scratch: Scratch) -> Finding:
    label = "Bulk API 2.0 query and resultPages"
    listing = calls.get("jobs/query")
    jobs = [
        j
        for j in (listing.get("records") or [])
        if isinstance(j, dict) and j.get("state") == "JobComplete"
    ]
    if not jobs:
        return Finding(
            "result_pages",
            label,
            "unknown",
            "Bulk API 2.0 reachable; no finished query job to ask for resultPages (doctor "
            "creates none)",
        )
    job_id = str(jobs[0].get("id"))
    try:
        calls.get(f"jobs/query/{job_id}/resultPages")
    except SfNotebookError as exc:
        if getattr(exc, "status", None) == 404:
            return Finding(
                "result_pages",
                label,
                "no",
                "no resultPages resource: results are read one locator after another",
                dialect={"result_pages": "absent"},
            )
        raise
    return Finding(
        "result_pages",
        label,
        "ok",
        "resultPages lists a job's pages (they can be downloaded in parallel)",
        dialect={"result_pages": "present"},
    )


PROBES: tuple[Probe, ...] = (
    Probe("api_versions", "API versions", 1, _versions),
    Probe("user", "User and permissions", 2, _user),
    Probe("limits", "Remaining limits sfnotebook spends", 1, _limits),
    Probe("reports", "Reports API", 1, _reports),
    Probe("report_object", "Report object (catalogue by SOQL)", 1, _report_object),
    Probe("filter_operators", "Report filter operators", 1, _filter_operators),
    Probe("locators", "Query locators (arbitrary offsets, parallel pages)", 5, _locators),
    Probe("cursor_sessions", "Query cursors across sessions", 4, _cursor_sessions),
    Probe("offset_queries", "OFFSET queries", 1, _offset_queries),
    Probe("result_pages", "Bulk API 2.0 query and resultPages", 2, _result_pages),
)
