"""Issue 11, item 8: the fault matrix, each fault x each verb x each phase of that verb.

The cells come from :mod:`tests.adversarial.matrix` (the faults, the verbs and their phases,
and the rule each cell must follow). Every cell runs on a fresh connection to one small demo
org, with its fault aimed at one request, and asserts the exact outcome:

* the data equals a fault-free run's (frames compared exactly), or the typed error the rule
  names (and ``extract(to=folder)`` left the folder byte-identical, siblings included);
* the demo org saw exactly the number of requests of that phase the rule allows (so a Bulk
  job is created once, a sync report run never re-sent, a read retried once), and exactly the
  token exchanges it allows;
* nothing is left running on the org (no Bulk job in ``UploadComplete``/``InProgress``, no
  report instance unfinished), no client worker thread is alive, and the connection still
  answers a follow-up call once the fault is gone.

``test_the_fault_matrix_is_complete`` checks every cell is there and prints the counts.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sfnotebook
from sfnotebook_demo.faults import FaultConfig
from tests.adversarial import matrix
from tests.adversarial.matrix import RETRIES, Phase
from tests.conftest import connect_to

OPPORTUNITIES = 2_100  # "All Opportunities" pages (three runs); everything else stays small
SOQL = "SELECT Id, Name, Amount, CloseDate, Account.Name FROM Opportunity ORDER BY Id LIMIT 600"
BULK_SOQL = "SELECT Id, Name, Amount, StageName FROM Opportunity"
SF_SOQL = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 500"
PAGE_ROWS = 800  # Bulk result pages: three for the 2,050 opportunities
FILTERS = [("AMOUNT", "greaterThan", 1000)]
_CLIENT_THREADS = ("sfnotebook-bulk", "sfnotebook-query", "sfnotebook-describe")


@dataclass
class Org:
    """The demo org of the matrix, and what the verbs need from it."""

    demo: Any
    small_report: str
    big_report: str
    job_id: str
    tmp: Path
    folders: Path


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    from sfnotebook_demo import DemoOrg
    from sfnotebook_demo.reports import endpoints as report_endpoints

    with pytest.MonkeyPatch.context() as mp:
        # Bulk jobs and async report instances finish in a few hundredths of a second.
        mp.setenv("SFNOTEBOOK_DEMO_BULK_DELAY", "0.02")
        mp.setattr(report_endpoints, "NEW_SECONDS", 0.01)
        mp.setattr(report_endpoints, "RUNNING_SECONDS", 0.03)
        # Request counts per phase are those of cursors any session of the user may continue;
        # the session-bound rule (the default dialect) and its restarts are exercised by
        # tests/live/test_query_cursors.py and test_threads.py.
        with DemoOrg(opportunities=OPPORTUNITIES, dialect={"query_cursors": "user"}) as demo:
            conn = connect_to(demo)
            catalog = conn.reports()
            ids = dict(zip(catalog["name"], catalog["id"], strict=False))
            job = conn.request(
                "POST", "jobs/query", json={"operation": "query", "query": BULK_SOQL}
            )
            job_id = str(job.json()["id"])
            deadline = time.monotonic() + 30
            while conn.get_json(f"jobs/query/{job_id}")["state"] != "JobComplete":
                assert time.monotonic() < deadline
                time.sleep(0.01)
            yield Org(
                demo,
                small_report=str(ids["Opportunities Closing in 2025"]),
                big_report=str(ids["All Opportunities"]),
                job_id=job_id,
                tmp=tmp_path_factory.mktemp("matrix"),
                folders=tmp_path_factory.mktemp("reference-folders"),
            )


# --------------------------------------------------------------------------- the verbs

Run = Callable[[sfnotebook.Connection, Org, dict[str, Any], Path], Any]


def _frames(res: Any) -> list[pd.DataFrame]:
    return [res.details, res.aggregates]


def _report(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], _: Path) -> Any:
    report_id = org.big_report if opts.get("report") == "big" else org.small_report
    filters = FILTERS if opts.get("filters") else None
    return _frames(conn.report(report_id, filters=filters, progress=False))


def _extract(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], _: Path) -> Any:
    return conn.extract(
        BULK_SOQL,
        max_records=PAGE_ROWS,
        poll_interval=0.01,
        concurrency=opts.get("concurrency", 4),
        progress=False,
    )


def _extract_folder(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], out: Path) -> Any:
    conn.extract(
        BULK_SOQL,
        to=out,
        overwrite=True,
        max_records=PAGE_ROWS,
        poll_interval=0.01,
        concurrency=opts.get("concurrency", 4),
        progress=False,
    )
    return pq.read_table(out).to_pandas()


def _job_results(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], _: Path) -> Any:
    return conn.job_results(
        org.job_id,
        max_records=PAGE_ROWS,
        poll_interval=0.01,
        concurrency=opts.get("concurrency", 4),
        progress=False,
    )


def _limits(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], _: Path) -> Any:
    # What an org's limits are; the Remaining counts move with every call.
    return {name: value["Max"] for name, value in conn.limits(as_dict=True).items()}


def _simple_salesforce(conn: sfnotebook.Connection, org: Org, opts: dict[str, Any], _: Path) -> Any:
    headers = {"Sforce-Query-Options": "batchSize=200"}
    result = conn.sf.query_all(SF_SOQL, headers=headers)
    return [(r["Id"], r["Name"]) for r in result["records"]]


RUNS: dict[str, Run] = {
    "query": lambda conn, org, opts, out: conn.query(SOQL, batch_size=200, progress=False),
    "query_iter": lambda conn, org, opts, out: list(
        conn.query_iter(SOQL, chunk_rows=300, batch_size=200, progress=False)
    ),
    "report": _report,
    "reports": lambda conn, org, opts, out: conn.reports(),
    "describe": lambda conn, org, opts, out: conn.describe("Account"),
    "describe_report": lambda conn, org, opts, out: conn.describe_report(org.small_report),
    "extract": _extract,
    "extract to a folder": _extract_folder,
    "job_results": _job_results,
    "limits": _limits,
    "org.sf (simple-salesforce)": _simple_salesforce,
}


def _same(got: Any, want: Any) -> None:
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, list) and want and isinstance(want[0], pd.DataFrame):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(g, w)
    else:
        assert got == want


# --------------------------------------------------------------------------- one cell


_CONNECTIONS: dict[str, sfnotebook.Connection] = {}


def _connect(org: Org, verb: str, phase: Phase, fault: str) -> sfnotebook.Connection:
    """The verb's connection, used by all its cells (so it must survive each of them); a
    fresh one where a phase needs the describe cache empty."""
    cold = verb == "describe" or "/sobjects/" in phase.pattern
    if cold or verb not in _CONNECTIONS:
        # Cold: no describe held in memory, nor kept on disk (a kept one is revalidated by a
        # 304 without a body, which leaves a body fault nothing to act on).
        conn = connect_to(org.demo, retries=RETRIES, describe_cache=not cold)
        conn.session.policy.max_backoff = 0.02  # Retry-After: 1 is honoured, capped for speed
        if not cold:
            _CONNECTIONS[verb] = conn
    else:
        conn = _CONNECTIONS[verb]
    if fault == "no answer":
        read = matrix.SLOW_STALL_TIMEOUT if phase.slow else matrix.STALL_TIMEOUT
        conn.timeout = (5.0, read)
    else:
        conn.timeout = (5.0, 30.0)
    return conn


def _matching(journal: list[dict[str, Any]], phase: Phase) -> int:
    import re

    pattern = re.compile(phase.pattern)
    return sum(1 for e in journal if e["method"] == phase.method and pattern.search(e["path"]))


@dataclass
class Clean:
    """A fault-free run of one verb in one set-up: its result and the requests it sent."""

    result: Any
    journal: list[dict[str, Any]]


_CLEAN: dict[tuple[str, str, str, bool], Clean] = {}


def _clean(org: Org, verb: str, phase: Phase) -> Clean:
    """The fault-free run with the phase's options and set-up (cached per set-up)."""
    auth = phase.kind == "auth"
    key = (verb, repr(sorted(phase.options.items())), repr(sorted(phase.base.items())), auth)
    if key not in _CLEAN:
        org.demo.set_faults(**{**FaultConfig.defaults(), **phase.base})
        conn = connect_to(org.demo, retries=RETRIES)
        out = _fresh_folder(org, verb, phase)
        start = len(org.demo.journal())
        if auth:
            org.demo.expire_sessions()
        result = RUNS[verb](conn, org, phase.options, out)
        _CLEAN[key] = Clean(result, org.demo.journal()[start:])
        org.demo.set_faults(**FaultConfig.defaults())
    return _CLEAN[key]


def _fresh_folder(org: Org, verb: str, phase: Phase) -> Path:
    """Where ``extract(to=...)`` writes: a copy of an earlier extract's folder, to replace."""
    cell = org.tmp / f"cell-{time.monotonic_ns()}"
    cell.mkdir()
    out = cell / "opps"
    if verb == "extract to a folder":
        seed = org.folders / "opps"
        if not seed.exists():
            conn = connect_to(org.demo)
            conn.extract(BULK_SOQL, to=seed, max_records=500, poll_interval=0.01, progress=False)
        shutil.copytree(seed, out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    """Every file beside and under ``folder`` (a leftover hidden sibling shows too)."""
    return {
        str(p.relative_to(folder.parent)): p.read_bytes()
        for p in sorted(folder.parent.rglob("*"))
        if p.is_file()
    }


def _bulk(org: Org) -> Any:
    return org.demo.server.org.features["bulk"]


def _instances(org: Org) -> dict[str, Any]:
    state = org.demo.server.org.features["reports"]
    with state.lock:
        return dict(state.instances)


def _unfinished_jobs(org: Org, before: set[str]) -> list[str]:
    bulk = _bulk(org)
    with bulk.lock:
        jobs = [j for j in bulk.jobs.values() if j.id not in before]
    return [j.id for j in jobs if j.state in ("UploadComplete", "InProgress")]


def _orphans_allowed(fault: str, phase: Phase) -> int:
    """A body cut short after the server acted: the job or instance exists, unknown to the
    client (it ends by itself; the client could not know its id)."""
    acting = phase.kind == "create" or phase.name == "async instance start"
    return 1 if fault == "body cut short" and acting else 0


def _workers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(_CLIENT_THREADS)]


CELLS = matrix.cells()


def _cell_id(cell: tuple[str, str, str]) -> str:
    return " | ".join(cell)


def _params() -> list[Any]:
    params = []
    for cell in CELLS:
        fault, verb, phase_name = cell
        rule = matrix.expected(fault, verb, matrix.phase_of(verb, phase_name))
        marks: list[Any] = []
        if rule.not_applicable:
            marks.append(pytest.mark.skip(reason=f"not applicable: {rule.not_applicable}"))
        if rule.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=rule.xfail))
        params.append(pytest.param(*cell, id=_cell_id(cell), marks=marks))
    return params


@pytest.mark.parametrize(("fault", "verb", "phase_name"), _params())
def test_cell(org: Org, fault: str, verb: str, phase_name: str) -> None:
    phase = matrix.phase_of(verb, phase_name)
    rule = matrix.expected(fault, verb, phase)
    clean = _clean(org, verb, phase)
    demo = org.demo
    demo.set_faults(**{**FaultConfig.defaults(), **phase.base})
    conn = _connect(org, verb, phase, fault)
    out = _fresh_folder(org, verb, phase)
    before_files = _files(out) if verb == "extract to a folder" else {}
    with _bulk(org).lock:
        jobs_before = set(_bulk(org).jobs)
    instances_before = set(_instances(org))
    # A job this call created, given up on while it still runs: the client has to abort it.
    hold = rule.error is not None and phase.name == "job polling" and verb != "job_results"
    queue_delay = _bulk(org).queue_delay
    if hold:  # the job is still queued when the client gives up
        _bulk(org).queue_delay = 30.0
    issued = demo.stats()["tokens_issued"]
    start = len(demo.journal())
    try:
        if phase.kind == "auth":
            demo.expire_sessions()
        demo.set_faults(**{**phase.base, **matrix.options(fault, phase)})
        if rule.error is None:
            _same(RUNS[verb](conn, org, phase.options, out), clean.result)
            if verb == "extract to a folder":  # replaced whole, nothing left beside it
                assert [p.name for p in out.parent.iterdir()] == [out.name]
        else:
            with pytest.raises(rule.error) as info:
                RUNS[verb](conn, org, phase.options, out)
            assert type(info.value).__module__.startswith(("sfnotebook", "simple_salesforce"))
            if verb == "extract to a folder":
                assert _files(out) == before_files, "the folder must be exactly as it was"
        journal = demo.journal()[start:]
        sent = rule.sent(_matching(clean.journal, phase))
        if sent is not None:
            got = _matching(journal, phase)
            if fault == "no answer" and rule.error is None:
                # A retry of a stalled request can itself time out on a loaded machine (its
                # read timeout is short so the matrix stays quick): still the same data.
                assert sent <= got <= sent + matrix.RETRIES, "requests of the phase"
            else:
                assert got == sent, "requests of the phase"
        assert demo.stats()["tokens_issued"] - issued == rule.exchanges, "token exchanges"
        assert _workers() == [], "a client worker thread outlived the call"
        # Nothing left running on the org.
        unknown = _orphans_allowed(fault, phase)
        assert len(_unfinished_jobs(org, jobs_before)) <= unknown
        if hold:
            assert [e for e in journal if e["method"] == "PATCH"], "the job was not aborted"
        unfinished = [
            i
            for iid, i in _instances(org).items()
            if iid not in instances_before and i.result is None and i.error is None
        ]
        assert len(unfinished) <= unknown, "a report instance was left unfinished"
    finally:
        _bulk(org).queue_delay = queue_delay
        demo.set_faults(**FaultConfig.defaults())
    # The connection still works once the fault is gone.
    assert conn.limits(as_dict=True)["DailyApiRequests"]["Max"] > 0


def test_org_sf_calls_wait_no_longer_than_the_connection_timeout(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """simple-salesforce names no timeout: the session gives its calls the connection's."""
    import requests.adapters

    conn = connect_to(org.demo)
    conn.timeout = (4.0, 7.0)
    seen: list[Any] = []
    real = requests.adapters.HTTPAdapter.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    conn.sf.query("SELECT Id FROM Account LIMIT 1")
    conn.sf.Account.describe()
    assert seen == [(4.0, 7.0), (4.0, 7.0)]


# --------------------------------------------------------------------------- completeness


def test_the_fault_matrix_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    """Every (fault, verb, phase) cell is a test; the counts, for the issue's closing note."""
    faults = len(matrix.FAULTS)
    verbs = len(matrix.VERBS)
    phases = {verb: len(p) for verb, p in matrix.VERBS.items()}
    verb_phases = sum(phases.values())
    expected = {
        (f, verb, p.name)
        for verb, ps in matrix.VERBS.items()
        for p in ps
        for f in matrix.FAULT_NAMES
    }
    assert set(CELLS) == expected and len(CELLS) == len(expected) == faults * verb_phases
    kinds = Counter(
        "not applicable"
        if (r := matrix.expected(f, v, matrix.phase_of(v, p))).not_applicable
        else "known defect (strict xfail)"
        if r.xfail
        else "typed error"
        if r.error
        else "identical data"
        for f, v, p in CELLS
    )
    every_phase_has_every_fault = all(
        {f for f, v, p in CELLS if (v, p) == (verb, phase.name)} == set(matrix.FAULT_NAMES)
        for verb, ps in matrix.VERBS.items()
        for phase in ps
    )
    assert every_phase_has_every_fault
    assert set(RUNS) == set(matrix.VERBS)
    with capsys.disabled():
        print(
            f"\nfault matrix: {faults} faults x {verbs} verbs x their phases "
            f"({verb_phases} verb-phases, {min(phases.values())}-{max(phases.values())} per "
            f"verb) = {len(CELLS)} cells: {dict(sorted(kinds.items()))}"
        )
