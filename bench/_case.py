"""One benchmark case in a fresh process: ``python bench/_case.py NAME < args.json``.

`make bench` (bench/run_all.py) runs every case in its own child process, so that each one's
peak memory (``ru_maxrss``) is its own and each one's imports start cold, as in a new kernel.
The demo org's settings come in the environment (``SF_DOMAIN``, ``SF_CONSUMER_KEY``, ...);
the case's arguments as JSON on stdin; its figures go out as one JSON line on stdout.

Nothing heavy is imported at module level: ``first_frame`` times the imports themselves.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any import a case pays for (time to first frame)

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

# The checkout whose sfnotebook a case runs: this one, or another one to compare with
# (SFNOTEBOOK_BENCH_CLIENT=/path/to/other/checkout).
ROOT = Path(os.environ.get("SFNOTEBOOK_BENCH_CLIENT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

# The query of the SOQL figures (bench_soql.py's, two-level parents).
SOQL = (
    "SELECT Id, Name, StageName, Amount, Probability, CloseDate, IsWon, CreatedDate, "
    "LeadSource, Account.Name, Account.Industry, Account.Owner.Name, Owner.Name "
    "FROM Opportunity LIMIT {n}"
)
# The first query of a fresh kernel (interactive figures).
FIRST = "SELECT Id, Name, Account.Name, Account.Owner.Name FROM Opportunity LIMIT 10"
# The query of the Bulk figures (bench_bulk.py's, 16 columns).
BULK_SOQL = (
    "SELECT Id, Name, AccountId, StageName, Amount, Probability, CloseDate, Type, LeadSource, "
    "IsClosed, IsWon, TotalOpportunityQuantity, Competitors__c, Seats__c, CreatedDate, "
    "LastModifiedDate FROM Opportunity"
)
BULK_PAGE = 50_000  # simple-salesforce's default page size; both sides use it


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _connect() -> Any:
    import sfnotebook

    return sfnotebook.connect(env_file=False, set_default=False)


def _session() -> Any:
    """A requests session trusting the demo org's CA, as an analyst's recipe builds one."""
    import requests

    session = requests.Session()
    session.verify = os.environ["SF_CA_BUNDLE"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment beats .verify
    return session


def _recipe_login(session: Any) -> Any:
    """The recipe's log-in: one client-credentials token POST, then simple-salesforce."""
    from simple_salesforce import Salesforce

    domain = os.environ["SF_DOMAIN"]
    host = domain if "://" in domain else f"https://{domain}"
    answer = session.post(
        f"{host}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": os.environ["SF_CONSUMER_KEY"],
            "client_secret": os.environ["SF_CONSUMER_SECRET"],
        },
        timeout=60,
    )
    answer.raise_for_status()
    token = answer.json()
    return Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session
    )


def _query_kwargs(org: Any, concurrency: int | None) -> dict[str, Any]:
    """``concurrency=`` only where ``org.query`` takes it (parallel paging may not be merged)."""
    import inspect

    kwargs: dict[str, Any] = {"progress": False}
    if concurrency is not None and "concurrency" in inspect.signature(org.query).parameters:
        kwargs["concurrency"] = concurrency
    return kwargs


# --------------------------------------------------------------------------- SOQL cases


def query(method: str, rows: int, concurrency: int | None = None) -> dict[str, Any]:
    """org.query or the recipe (json_normalize of query_all) end to end, after log-in."""
    import pandas as pd

    if method == "recipe":
        sf = _recipe_login(_session())
    else:
        org = _connect()
        kwargs = _query_kwargs(org, concurrency)
    soql = SOQL.format(n=rows)
    before = _rss()
    start = time.perf_counter()
    if method == "recipe":
        frame = pd.json_normalize(sf.query_all(soql)["records"])
    else:
        frame = org.query(soql, **kwargs)
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "rows": len(frame),
        "peak_over_base": max(_peak() - before, 0),
        "frame_bytes": int(frame.memory_usage(deep=True, index=False).sum()),
        "concurrency": kwargs.get("concurrency") if method != "recipe" else None,
    }


class _Wire:
    """Every HTTP request the process sends, as (start, end) intervals (measures only)."""

    def __init__(self) -> None:
        import requests.adapters

        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        send = requests.adapters.HTTPAdapter.send
        wire = self

        def timed(adapter: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return send(adapter, *args, **kwargs)
            finally:
                with wire._lock:
                    wire.spans.append((began, time.perf_counter()))

        requests.adapters.HTTPAdapter.send = timed  # type: ignore[method-assign]

    def mark(self) -> int:
        with self._lock:
            return len(self.spans)

    def since(self, mark: int) -> tuple[int, int]:
        """(requests, sequential round trips) since ``mark``: the longest chain of requests
        each starting after the previous one ended, i.e. the round trips on the critical path."""
        with self._lock:
            spans = sorted(self.spans[mark:], key=lambda s: s[1])
        chain: list[int] = []
        for i, (start, _end) in enumerate(spans):
            before = [chain[j] for j in range(i) if spans[j][1] <= start]
            chain.append(1 + max(before, default=0))
        return len(spans), max(chain, default=0)


def first_frame(method: str) -> dict[str, Any]:
    """Time to first frame in a fresh process: import, connect (log in), first query; then the
    same query again. Round trips are counted at the HTTP adapter (both clients use requests)."""
    if method == "recipe":
        import requests

        wire = _Wire()
        mark = wire.mark()
        import pandas as pd
        from simple_salesforce import Salesforce  # noqa: F401 - the recipe's imports

        imported = time.perf_counter()
        sf = _recipe_login(_session())
        connected = time.perf_counter()
        m1 = wire.mark()
        frame = pd.json_normalize(sf.query_all(FIRST)["records"])
        first = time.perf_counter()
        m2 = wire.mark()
        pd.json_normalize(sf.query_all(FIRST)["records"])
        again = time.perf_counter()
        del requests
    else:
        import requests

        wire = _Wire()
        mark = wire.mark()
        import sfnotebook

        imported = time.perf_counter()
        org = sfnotebook.connect(env_file=False, set_default=False)
        connected = time.perf_counter()
        m1 = wire.mark()
        frame = org.query(FIRST, progress=False)
        first = time.perf_counter()
        m2 = wire.mark()
        org.query(FIRST, progress=False)
        again = time.perf_counter()
    assert len(frame) == 10, len(frame)
    return {
        "import": imported - T0,
        "connect": connected - imported,
        "first_query": first - connected,
        "ttff": first - T0,
        "again": again - first,
        "rt_connect": _between(wire, mark, m1),
        "rt_first": _between(wire, m1, m2),
        "rt_again": wire.since(m2)[1],
    }


def _between(wire: _Wire, start: int, end: int) -> int:
    spans = wire.spans
    saved = spans[end:]
    del spans[end:]
    try:
        return wire.since(start)[1]
    finally:
        spans.extend(saved)


def conversion(rows: int) -> dict[str, Any]:
    """The conversion alone, same page bytes: json.loads + json_normalize vs the typed decoder
    (best CPU time of 3 each, interleaved; both run on one thread)."""
    import pandas as pd

    from sfnotebook._soql_parse import parse_select
    from sfnotebook.soql._frames import FrameBuilder
    from sfnotebook.soql._pages import HEAD
    from sfnotebook.soql._plan import plan as soql_plan

    org = _connect()
    soql = SOQL.format(n=rows)
    pages = []
    resp = org.request("GET", "query", params={"q": soql})
    while True:
        pages.append(bytes(resp.content))
        head = HEAD.decode(resp.content)
        if head.done or not head.nextRecordsUrl:
            break
        resp = org.request("GET", head.nextRecordsUrl)
    planned = soql_plan(org, parse_select(soql))  # describes fetched: types ready
    layout = planned.layout

    def recipe() -> None:
        pd.concat([pd.json_normalize(json.loads(p)["records"]) for p in pages], ignore_index=True)

    def typed() -> None:
        builder = FrameBuilder(layout)
        for raw in pages:
            builder.add(builder.decode(raw).records)
        builder.result()

    times: dict[str, list[float]] = {"recipe": [], "typed": []}
    for _ in range(3):
        for name, fn in (("recipe", recipe), ("typed", typed)):
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return {"recipe": min(times["recipe"]), "typed": min(times["typed"]), "rows": rows}


# --------------------------------------------------------------------------- Bulk cases


def bulk_read(method: str, job_id: str, concurrency: int = 4) -> dict[str, Any]:
    """Download and convert one completed job: the recipe (simple-salesforce's bulk2 reads +
    read_csv + concat), extract -> DataFrame, or extract -> Parquet folder.

    The clock starts once the imports ``connect()`` starts in the background are done
    (:mod:`sfnotebook._warm`), for every method: in an extract they finish while the job runs
    (seconds), long before its first page; measured straight after ``connect()`` they would
    land inside the download instead."""
    import io
    import shutil
    import tempfile

    import pandas as pd
    import pyarrow.parquet as pq

    from sfnotebook import _warm, bulk

    org = _connect()
    _warm.finish()
    folder = Path(tempfile.mkdtemp(prefix="sfnotebook-bench-")) / "opps"
    if method == "recipe":
        from simple_salesforce import Salesforce

        handler = Salesforce(
            instance_url=org.instance_url,
            session_id=org.token.access_token.reveal(),
            version=org.api_version,
            session=_session(),
        ).bulk2.Opportunity
    base = _rss()
    start = time.perf_counter()
    try:
        if method == "recipe":  # what bulk2 query() does once the job is complete
            frames, locator = [], ""
            while True:
                page = handler._client.get_query_results(job_id, locator, BULK_PAGE)
                frames.append(pd.read_csv(io.StringIO(page["records"])))
                locator = page["locator"]
                if not locator:
                    break
            got = len(pd.concat(frames, ignore_index=True))
        elif method == "frame":
            got = len(bulk.job_results(org, job_id, max_records=BULK_PAGE, progress=False))
        else:
            out = bulk.job_results(
                org,
                job_id,
                to=folder,
                max_records=BULK_PAGE,
                concurrency=concurrency,
                progress=False,
            )
            got = sum(pq.read_metadata(p).num_rows for p in sorted(Path(out).glob("*.parquet")))
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return {"wall": wall, "rows": got, "peak": _peak(), "base": base}


CASES = {"query": query, "first_frame": first_frame, "conversion": conversion, "bulk": bulk_read}

if __name__ == "__main__":
    args = json.loads(sys.stdin.read() or "{}")
    print(json.dumps(CASES[sys.argv[1]](**args)))
