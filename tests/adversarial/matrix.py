"""The fault matrix's definitions: every fault the demo org injects, every verb, its phases,
and the one rule that says what each (fault, verb, phase) cell must end in.

A *phase* is one request of a verb's life (the first query page, a later one, the Bulk job's
creation, its polling, a report's paging run, the token exchange after an expiry, ...), named
by the method and path pattern the demo org aims its fault at (``skip``: matching requests
let through first). The *rule* (:func:`expected`) is issue 11, item 5: a fault is retried
where a retry is cheap and safe (idempotent reads, the token exchange, a request refused 401
before it was served), never blindly where it is not (creating a Bulk job; a sync report run,
which moves to an async instance instead); faults no retry cures (an outage past the retry
budget, ``REQUEST_LIMIT_EXCEEDED``) raise a typed error at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import simple_salesforce.exceptions as sfx

from sfnotebook import errors

RETRIES = 2  # the matrix's retry budget (connect(retries=...)): an outage is RETRIES + 1 errors
STALL_SECONDS = 0.8  # how long the demo org holds a stalled request (it is never served)
STALL_TIMEOUT = 0.45  # the client's read timeout in the stall cells (the retry must beat it: room for a busy moment)
SLOW_STALL_TIMEOUT = 1.5  # ...and in phases whose normal answers take longer (paging reports)

Kind = Literal["read", "create", "sync run", "auth"]


@dataclass(frozen=True)
class Fault:
    """One fault of the demo org, as FaultConfig options aimed at a phase's request."""

    name: str
    options: dict[str, Any]
    cured_by_a_retry: bool  # one retry (or resend) gets a whole answer


FAULTS: tuple[Fault, ...] = (
    Fault("503", {"error_next": 1}, True),
    Fault("503 with Retry-After", {"error_next": 1, "retry_after": 1}, True),
    Fault("502 gateway page", {"error_next": 1, "error_status": 502}, True),
    Fault("connection reset", {"drop_next": 1}, True),
    Fault("body cut short", {"cut_next": 1}, True),
    Fault("no answer", {"stall_next": 1, "stall_seconds": STALL_SECONDS}, True),
    Fault("session expired", {}, True),  # aimed with expire_after_requests (see options())
    Fault("REQUEST_LIMIT_EXCEEDED", {"limit_next": 1}, False),
    Fault("outage", {"error_next": RETRIES + 1}, False),
)
FAULT_NAMES = tuple(f.name for f in FAULTS)


@dataclass(frozen=True)
class Phase:
    """One request of a verb's life that a fault is aimed at."""

    name: str
    kind: Kind
    method: str
    pattern: str
    skip: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # the verb's options in this phase
    base: dict[str, Any] = field(default_factory=dict)  # faults on for the whole cell
    slow: bool = False  # normal answers of this phase take long (paging report runs)
    polls: bool = False  # a status poll: how often it repeats depends on the clock


TOKEN = Phase("token exchange after an expiry", "auth", "POST", r"^/services/oauth2/token$")

_V = r"^/services/data/v\d+\.\d"
_JOB = _V + r"/jobs/query/750\w+"
_REPORTS = _V + r"/analytics/reports"
_SMALL_REPORT = {"report": "small"}
_BIG_REPORT = {"report": "big"}
_ASYNC = {"report_timeout": True}  # sync runs fail: the run goes async

QUERY_PHASES = (
    Phase("describe", "read", "GET", _V + r"/sobjects/Opportunity/describe$"),
    Phase("first page", "read", "GET", _V + r"/query$"),
    Phase("later page", "read", "GET", _V + r"/query/[^/]+$"),
    TOKEN,
)
EXTRACT_PHASES = (
    Phase("job creation", "create", "POST", _V + r"/jobs/query/?$"),
    Phase("job polling", "read", "GET", _JOB + r"$", polls=True),
    Phase("result page list", "read", "GET", _JOB + r"/resultPages$", options={"concurrency": 4}),
    Phase("first result page", "read", "GET", _JOB + r"/results$", options={"concurrency": 1}),
    Phase("later result page", "read", "GET", _JOB + r"/results$", 1, options={"concurrency": 1}),
    TOKEN,
)

VERBS: dict[str, tuple[Phase, ...]] = {
    "query": QUERY_PHASES,
    "query_iter": QUERY_PHASES,
    "report": (
        Phase("sync run", "sync run", "GET", _REPORTS + r"/00O\w+$", options=_SMALL_REPORT),
        Phase(
            "describe",
            "read",
            "GET",
            _REPORTS + r"/00O\w+/describe$",
            options={**_SMALL_REPORT, "filters": True},
        ),
        Phase(
            "paging run",
            "sync run",
            "POST",
            _REPORTS + r"/00O\w+$",
            options=_BIG_REPORT,
            slow=True,
        ),
        Phase(
            "async instance start",
            "read",
            "POST",
            _REPORTS + r"/00O\w+/instances$",
            options=_SMALL_REPORT,
            base=_ASYNC,
        ),
        Phase(
            "async instance poll",
            "read",
            "GET",
            _REPORTS + r"/00O\w+/instances/\w+$",
            options=_SMALL_REPORT,
            base=_ASYNC,
            polls=True,
        ),
        TOKEN,
    ),
    "reports": (
        # The Analytics list (GET analytics/reports) is only the fallback for an org whose
        # Report object refuses the query; the demo has the object, as every org does, and
        # tests/adversarial/test_report_catalogue.py drives the fallback through the proxy.
        Phase("Report SOQL", "read", "GET", _V + r"/query$"),
        TOKEN,
    ),
    "describe": (Phase("describe", "read", "GET", _V + r"/sobjects/Account/describe$"), TOKEN),
    "describe_report": (Phase("describe", "read", "GET", _REPORTS + r"/00O\w+/describe$"), TOKEN),
    "extract": EXTRACT_PHASES,
    "extract to a folder": EXTRACT_PHASES,
    "job_results": tuple(p for p in EXTRACT_PHASES if p.kind != "create"),
    "limits": (Phase("limits", "read", "GET", _V + r"/limits$"), TOKEN),
    "org.sf (simple-salesforce)": (
        Phase("first page", "read", "GET", _V + r"/query/?$"),
        Phase("later page", "read", "GET", _V + r"/query/[^/]+-\d+$"),
        TOKEN,
    ),
}


def cells() -> list[tuple[str, str, str]]:
    """Every (fault, verb, phase) cell, in a stable order."""
    return [
        (f, verb, p.name) for verb, phases in VERBS.items() for p in phases for f in FAULT_NAMES
    ]


def phase_of(verb: str, name: str) -> Phase:
    return next(p for p in VERBS[verb] if p.name == name)


def fault_of(name: str) -> Fault:
    return next(f for f in FAULTS if f.name == name)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Expected:
    """What a cell must end in.

    ``error`` None: the data equals a fault-free run's. ``sent``: how many requests of the
    phase the demo org must have seen, as a function of the fault-free run's count (None for
    a status poll that ends well: it repeats as often as the clock says, and the data being
    whole shows the faulted poll was retried, as a failed poll raises).
    ``exchanges``: token exchanges the cell costs. ``not_applicable``: why the cell cannot
    occur (it is still listed, and counted apart).
    """

    error: type[BaseException] | None
    sent: Callable[[int], int | None]
    exchanges: int = 0
    not_applicable: str | None = None
    xfail: str | None = None


def _simple_salesforce(verb: str) -> bool:
    return verb.startswith("org.sf")


def _status_error(verb: str, status: int) -> type[BaseException]:
    """The typed error a status left after the retries gives, for this verb's library."""
    if _simple_salesforce(verb):
        return sfx.SalesforceRefusedRequest if status == 403 else sfx.SalesforceGeneralError
    if status == 403:
        return errors.RequestLimitExceededError
    return errors.ServerUnavailableError


# Cells the matrix found wrong in code another helper owns (reported, not fixed here).
KNOWN_DEFECTS: dict[tuple[str, str, str], str] = {}


def expected(fault_name: str, verb: str, phase: Phase) -> Expected:
    """Issue 11, item 5, as one function of (fault, verb, phase)."""
    fault = fault_of(fault_name)
    xfail = KNOWN_DEFECTS.get((fault_name, verb, phase.name))
    skip = phase.skip
    if phase.kind == "auth":
        if fault.name == "REQUEST_LIMIT_EXCEEDED":
            return Expected(
                None,
                lambda clean: clean,
                not_applicable="the token endpoint is not an API call: it never answers "
                "REQUEST_LIMIT_EXCEEDED (salesforce-api.md 1.2)",
            )
        if fault.name == "outage":
            return Expected(errors.ServerUnavailableError, lambda clean: RETRIES + 1, 0)
        if fault.name == "session expired":  # the fresh token is refused too: renew again
            return Expected(None, lambda clean: clean + 1, 2)
        # Retried as a read: the exchange changes no data. A body cut short means the token
        # was issued (and lost): the retry issues another.
        return Expected(None, lambda clean: clean + 1, 2 if fault.name == "body cut short" else 1)
    if fault.name == "session expired":  # refused before it was served: resent, whatever it is
        sent: Callable[[int], int | None] = (
            (lambda clean: None) if phase.polls else (lambda clean: clean + 1)
        )
        return Expected(None, sent, 1, xfail=xfail)
    if fault.name == "REQUEST_LIMIT_EXCEEDED":  # never retried into a deeper hole
        return Expected(_status_error(verb, 403), lambda clean: skip + 1, xfail=xfail)
    if phase.kind == "create":  # creating a Bulk job: never sent twice
        network = fault.name in ("connection reset", "body cut short", "no answer")
        error = errors.NetworkError if network else _status_error(verb, 503)
        return Expected(error, lambda clean: 1, xfail=xfail)
    if phase.kind == "sync run":  # never re-run as it is: the run (and the rest) goes async
        return Expected(None, lambda clean: skip + 1, xfail=xfail)
    if fault.name == "outage":
        return Expected(_status_error(verb, 503), lambda clean: skip + RETRIES + 1, xfail=xfail)
    if phase.polls:
        return Expected(None, lambda clean: None, xfail=xfail)
    return Expected(None, lambda clean: clean + 1, xfail=xfail)


def options(fault_name: str, phase: Phase) -> dict[str, Any]:
    """FaultConfig options that aim ``fault_name`` at ``phase``'s request."""
    fault = fault_of(fault_name)
    if phase.kind == "auth":
        if fault.name == "session expired":
            # After the expiry the cell starts with, the first data request sent with the
            # fresh token finds it expired too.
            return {"expire_after_requests": 0, "apply_to": ["data"]}
        aim: dict[str, Any] = {"apply_to": ["token"]}
    else:
        aim = {"apply_to": ["data"]}
    aim.update(path_pattern=phase.pattern, methods=[phase.method])
    if fault.name == "session expired":
        return {**aim, "expire_after_requests": phase.skip}
    return {**aim, "skip_next": phase.skip, **fault.options}
