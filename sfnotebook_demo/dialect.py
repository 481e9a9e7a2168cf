"""The demo org's dialect: one documented switch per behaviour Salesforce leaves unknown.

The demo org follows Salesforce's documentation by default. Where the documentation is silent
or the evidence disagrees (``../shared/fidelity-audit.md`` lists each case with its sources), the
behaviour is a field of :class:`Dialect`, and the client must be right under every value: the
live tests of the paths a switch touches run under each of its values.

Pass it as ``DemoOrg(dialect={"report_timeout_answer": "timeout-code"})``, as
``sfnotebook demo-org --dialect report_timeout_answer=timeout-code`` (several: comma-separated),
or change it at runtime with ``DemoOrg.set_dialect(...)``. Feature modules read it with
:func:`dialect_of`.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args, get_type_hints

__all__ = ["Dialect", "DialectBox", "dialect_of"]

ReportTimeoutAnswer = Literal["documented", "timeout-code"]
IdFilterOperators = Literal["documented", "comparisons"]
ReportIdCells = Literal["18", "15"]


@dataclass(frozen=True)
class Dialect:
    """How this demo org answers where Salesforce's own behaviour is not settled.

    The first value of each field's ``Literal`` is the default. Every field documents what is
    known, with the source, and what each value does.

    report_timeout_answer
        How a sync report run that takes too long fails (fidelity-audit D1, 1g).
        ``"documented"``: 500 with the generic message of Salesforce's Report Error Codes page,
        "We ran into an error when running this report. Try to re-submit your query.", and no
        ``errorCode`` (the page lists none; the real body's code is UNVERIFIED).
        ``"timeout-code"``: the demo's older invention, 500 ``REPORT_TIMEOUT``.
    id_filter_operators
        Which operators report filters accept on ``id`` columns (fidelity-audit D2, 1a), as
        advertised in ``dataTypeFilterOperatorMap`` and enforced on runs alike.
        ``"documented"``: the Filter Operator List of the Analytics REST API guide
        (developer.salesforce.com/docs/analytics/salesforce-analytics-rest-api/guide/
        analytics-api-filteroperators-reference-list.html): ``id`` = equals, notEqual,
        startsWith; ``reference`` = equals, notEqual; any other operator is refused with 400
        "Specify a valid condition because <operator> is invalid." (Report Error Codes page).
        ``"comparisons"``: ``id`` also takes lessThan, greaterThan, lessOrEqual and
        greaterOrEqual, as KB article 005321970 (help.salesforce.com, May 2026) implies when
        it recommends the record Id as a paging cursor. Which one a real org does is
        UNVERIFIED (audit section 6, check 1).
    report_id_cells
        What the ``value`` of an ``id``-typed report cell holds (fidelity-audit D16, 1c).
        ``"18"``: the 18-character Id, as every Id-shaped lookup cell of the real payloads in
        ``real-payloads/reports`` holds (80/80, 26/26, 36/36). ``"15"``: the 15-character Id
        the UI shows; no real payload has an ``id``-typed column, so this stays open (audit
        section 6, check 7). The label is the 15-character Id either way.

    The query, bulk and OAuth switches (fidelity-audit D4, D5, D6, D9, D13, D15):

    query_cursors
        Who may continue a REST query cursor (D4). ``"session"``: only the session (token)
        that opened it; airbyte PR #84302 (2026-08) reports "A Salesforce query locator belongs
        to the session that created it ... A new session cannot resume another session's
        locator", diagnosed on a production org. ``"user"``: any token of the same user (the
        demo's older rule). No document says either. The default is ``"session"``: it is the
        only evidence, and the stricter rule, so the default live tests exercise the client's
        restart after a token re-exchange.
    foreign_cursor_answer
        What a query-more call on another session's cursor gets, with ``query_cursors=
        "session"``. ``"invalid-session"``: 401 ``INVALID_SESSION_ID`` "Session expired or
        invalid", what the airbyte PR saw ("every retry fails with INVALID_SESSION_ID").
        ``"invalid-locator"``: 400 ``INVALID_QUERY_LOCATOR`` "invalid query locator", the code
        Salesforce documents for a locator it does not know (KB 000004410). UNVERIFIED which.
    cursor_limits
        How long cursors live (D9). ``"current"``: "Cursors and their related query results
        are available for 2 days ... There isn't a limit on the number of open cursors"; "The
        removal of cursor limits is universal, and applies to all versions" of the API (API
        Query Cursor Limits, salesforce-app-limits-cheatsheet, since API 56.0; KB 000004410:
        "available for two days after the initial query executes"). ``"pre-56"``: the old
        rule, 15 minutes idle and 10 cursors per user, the 11th releasing the oldest
        (SOAP API guide 234.0, QueryLocator).
    query_locators
        The id in a ``nextRecordsUrl`` (D15). ``"0r8"``: ``0r8xx5R2sM3DgWhASK-2000``, as real
        orgs answered in 2024 and 2026 (NangoHQ/integration-templates
        ``retrieve-query-more.test.json``) and as KB 000004410 says ("18 characters long and
        begins with the prefix 0r8"). ``"01g"``: ``01g8000001J2eXvAAJ-2000``, older captures
        (cropredysfdc.com, 2015) and the REST guide's own example (``01gRO0000016PIAYA2-500``).
        Clients must treat either as opaque.
    child_batch
        Child records on a parent page before a child result pages (D15): real first pages
        held ``499`` (simple-salesforce issue #311, ``…-499``; jsforce issue #577) or ``199``
        (jsforce PR #1752, 199 of 257) rows; nothing documents the number.
    offset_queries
        Top-level ``OFFSET`` queries (D5). ``"capped"``: ``totalSize`` is capped at 2,000 and
        only the first batch comes back, ``done: true`` (cropredysfdc.com 2015: with ``LIMIT
        10000 OFFSET 0`` "the maximum value returned in the totalSize JSON property ... is
        2000"; the SOSL OFFSET docs: "When using OFFSET, only the first batch of records are
        returned for a given query"). ``"paged"``: paged like any query (the demo's older
        behaviour). An OFFSET over 2,000 is 400 ``NUMBER_OUTSIDE_VALID_RANGE`` under both (SOQL
        reference, OFFSET).
    result_pages_max_records
        Whether Bulk API 2.0 ``resultPages`` takes ``maxRecords`` (D6). ``"ignored"``: its
        documentation lists only ``queryJobId`` (Get Parallel Results for a Query Job, API
        58.0+), so the page URLs carry locators at the org's own page size and no
        ``maxRecords``. ``"honoured"``: the URLs carry the ``maxRecords`` asked for (the demo's
        older behaviour). UNVERIFIED.
    locator_offsets
        Which offsets of an open query cursor a query-more call may name (issue 13).
        ``"arbitrary"``: any ``<locator>-<offset>`` up to the cursor's size, so pages can be
        fetched out of order and in parallel, as a Stack Exchange answer says locators do and
        a restforce pull request fans pages out by offset. ``"sequential"``: only the
        next-page URL the org handed out last (of a parent or a child cursor); any other offset
        is 400 ``INVALID_QUERY_LOCATOR`` "invalid query locator", as for an unknown locator,
        after Salesforce's own "use each locator once". UNVERIFIED which a real org does.
    flow_disabled_error
        The token answer when the connected app does not have the client credentials flow
        enabled (D13, audit 4b: public reports and runbooks disagree, none verified):
        ``"unsupported_grant_type"`` "grant type not supported", ``"unauthorized_client"``,
        ``"invalid_grant"`` "client credentials flow not enabled", or ``"invalid_client"``
        "invalid client credentials" (the same answer as a wrong secret). The descriptions of
        ``unauthorized_client`` and ``invalid_grant`` are ours (UNVERIFIED).
    describe_last_modified
        Whether an sObject Describe answer carries a ``Last-Modified`` header (issue 13). The
        REST API Developer Guide ("Get Object Metadata Changes") documents ``If-Modified-Since``
        on the resource, answered 304 Not Modified with no body when the object's metadata has
        not changed since that date, and shows a 304 with a ``Date`` header only; it says
        nothing of ``Last-Modified``. ``"absent"``: no such header (a client dates its copy by
        ``Date``). ``"sent"``: the date the metadata last changed (for the demo's fixed
        schema, 1 January 2026). ``If-Modified-Since`` is honoured under both. UNVERIFIED which a real org
        does.
    """

    report_timeout_answer: ReportTimeoutAnswer = "documented"
    # reports
    id_filter_operators: IdFilterOperators = "documented"
    report_id_cells: ReportIdCells = "18"
    # query and bulk
    query_cursors: Literal["session", "user"] = "session"
    foreign_cursor_answer: Literal["invalid-session", "invalid-locator"] = "invalid-session"
    cursor_limits: Literal["current", "pre-56"] = "current"
    query_locators: Literal["0r8", "01g"] = "0r8"
    child_batch: Literal[199, 499] = 199
    offset_queries: Literal["capped", "paged"] = "capped"
    result_pages_max_records: Literal["ignored", "honoured"] = "ignored"
    locator_offsets: Literal["arbitrary", "sequential"] = "arbitrary"
    flow_disabled_error: Literal[
        "unsupported_grant_type", "unauthorized_client", "invalid_grant", "invalid_client"
    ] = "unsupported_grant_type"
    describe_last_modified: Literal["absent", "sent"] = "absent"

    def __post_init__(self) -> None:
        for name, allowed in self.choices().items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"dialect {name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
                )

    @classmethod
    def choices(cls) -> dict[str, tuple[Any, ...]]:
        """Every switch and its values, the default first."""
        hints = get_type_hints(cls)
        return {f.name: get_args(hints[f.name]) for f in fields(cls)}

    @classmethod
    def parse(cls, text: str) -> Dialect:
        """``"name=value,name=value"`` (the command line's form) into a :class:`Dialect`."""
        options: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"a dialect switch is name=value, got {item!r}")
            options[name.strip()] = _typed(cls, name.strip(), value.strip())
        return cls.of(options)

    @classmethod
    def of(cls, value: Dialect | dict[str, Any] | str | None) -> Dialect:
        """A :class:`Dialect` from any of the forms ``DemoOrg`` accepts."""
        if value is None:
            return cls()
        if isinstance(value, Dialect):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(
                f"unknown dialect switches {sorted(unknown)}; known: {sorted(cls.choices())}"
            )
        return cls(**value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def changed(self, **options: Any) -> Dialect:
        """A copy with these switches changed (unknown names raise ``TypeError``)."""
        unknown = set(options) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(
                f"unknown dialect switches {sorted(unknown)}; known: {sorted(self.choices())}"
            )
        return replace(self, **options)


def _typed(cls: type[Dialect], name: str, text: str) -> Any:
    """The command line's string for a switch, as the switch's own type (str, int or bool)."""
    allowed = cls.choices().get(name)
    if allowed is None:
        raise TypeError(f"unknown dialect switch {name!r}; known: {sorted(cls.choices())}")
    for value in allowed:
        if str(value).lower() == text.lower():
            return value
    return text  # refused with the list of values by Dialect.__post_init__


class DialectBox:
    """The org's current dialect, replaceable at runtime (tests switch it between calls)."""

    def __init__(self, dialect: Dialect) -> None:
        self._lock = threading.Lock()
        self._dialect = dialect

    @property
    def current(self) -> Dialect:
        return self._dialect

    def update(self, **options: Any) -> Dialect:
        with self._lock:
            self._dialect = self._dialect.changed(**options)
            return self._dialect


def dialect_of(org: Any) -> Dialect:
    """The dialect of an :class:`~sfnotebook_demo.state.OrgState` (the default if it has none)."""
    box = org.features.get("dialect")
    return box.current if isinstance(box, DialectBox) else Dialect()
