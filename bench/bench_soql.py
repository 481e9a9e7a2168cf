"""SOQL -> DataFrame benchmark: the common recipes against sfnotebook, on the demo org.

Run with ``make bench`` (or ``python bench/bench_soql.py``). It starts a demo org in a separate
process (100,000 opportunities), then for 10k and 100k records, with 0 and 100 ms of added
latency per request, runs in the same session:

(a) ``pd.json_normalize(sf.query_all(q)["records"])``  simple-salesforce + the usual recipe
(b) ``pd.DataFrame(sf.query_all(q)["records"])``        simple-salesforce, no flattening
(c) ``org.query(q)``                                   sfnotebook (typed, complete)

Each end-to-end case runs in a fresh Python process so that peak memory is measured the same
way for all three: the peak resident set size of the process (``ru_maxrss``) minus its resident
size just before the query (after imports and login). It counts every allocation (Python,
NumPy, Arrow), which tracemalloc would not. (c) starts with a cold describe cache.

It then compares the conversion alone (page bytes already downloaded -> DataFrame): (a)'s
``json.loads`` + ``json_normalize`` against sfnotebook's typed decoder, best of three in CPU
time (both run on one thread), and the end-to-end time at 100 ms against the network floor
(pages x latency) and against merely downloading the pages one after the other. The last line
printed is the 100k-record end-to-end ratio of sfnotebook to (a).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOQL = (
    "SELECT Id, Name, StageName, Amount, Probability, CloseDate, IsWon, CreatedDate, "
    "LeadSource, Account.Name, Account.Industry, Account.Owner.Name, Owner.Name "
    "FROM Opportunity LIMIT {n}"
)
SIZES = (10_000, 100_000)
LATENCIES = (0.0, 0.1)
METHODS = {
    "a": "(a) json_normalize(query_all)",
    "b": "(b) DataFrame(query_all)",
    "c": "(c) sfnotebook org.query",
}
PAGE = 2000


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _connect(env: dict[str, str]) -> Any:
    import sfnotebook

    return sfnotebook.connect(
        domain=env["SF_DOMAIN"],
        consumer_key=env["SF_CONSUMER_KEY"],
        consumer_secret=env["SF_CONSUMER_SECRET"],
        ca_bundle=env["SF_CA_BUNDLE"],
        env_file=False,
        set_default=False,
    )


def _simple_salesforce(org: Any, env: dict[str, str]) -> Any:
    """A plain simple-salesforce client (its own requests.Session), as analysts build one."""
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = env["SF_CA_BUNDLE"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment beats .verify
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.sf.session_id,
        session=session,
        version=org.api_version,
    )


def run_case(method: str, rows: int, env: dict[str, str]) -> dict[str, Any]:
    """One end-to-end case in this (fresh) process."""
    import pandas as pd

    org = _connect(env)
    sf = _simple_salesforce(org, env) if method in "ab" else None
    soql = SOQL.format(n=rows)
    before = _rss_bytes()
    start = time.perf_counter()
    if method == "a":
        frame = pd.json_normalize(sf.query_all(soql)["records"])
    elif method == "b":
        frame = pd.DataFrame(sf.query_all(soql)["records"])
    else:
        frame = org.query(soql, progress=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"wall": wall, "rows": len(frame), "peak": max(peak - before, 0)}


def _child(method: str, rows: int, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--case", method, "--rows", str(rows)],
        input=json.dumps(env).encode(),
        capture_output=True,
        check=False,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"case {method}/{rows} failed:\n{proc.stderr.decode()[-3000:]}")
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def _raw_pages(org: Any, rows: int) -> list[bytes]:
    """The page bytes of the query, downloaded once for the conversion-only comparison."""
    from sfnotebook.soql._pages import HEAD as _HEAD  # header-only decode: not the records

    pages = []
    resp = org.request("GET", "query", params={"q": SOQL.format(n=rows)})
    while True:
        pages.append(bytes(resp.content))
        head = _HEAD.decode(resp.content)
        if head.done or not head.nextRecordsUrl:
            return pages
        resp = org.request("GET", head.nextRecordsUrl)


def _best(fn: Any, repeat: int = 3) -> float:
    """Best CPU time of ``repeat`` runs: both conversions run on one thread, so CPU time is
    fair to both and does not count the time other processes on the machine take."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def conversion(org: Any, rows: int) -> tuple[float, float]:
    """(a)'s json.loads + json_normalize vs sfnotebook's decode + typed frame, same bytes."""
    import pandas as pd

    from sfnotebook._soql_parse import parse_select
    from sfnotebook.soql._frames import FrameBuilder
    from sfnotebook.soql._plan import plan as soql_plan

    pages = _raw_pages(org, rows)
    plan = soql_plan(org, parse_select(SOQL.format(n=rows)))  # describes cached: types ready
    assert plan.layout is not None

    def recipe() -> None:
        pd.concat([pd.json_normalize(json.loads(p)["records"]) for p in pages], ignore_index=True)

    def typed() -> None:
        builder = FrameBuilder(plan.layout)  # type: ignore[arg-type]
        for raw in pages:
            builder.add(builder.decode(raw).records)
        builder.result()

    return _best(recipe), _best(typed)


def main() -> None:
    from sfnotebook_demo import DemoOrg

    print("Starting the demo org (separate process) ...", flush=True)
    # Some seeded opportunities are deleted (for queryAll): 104,000 leave 100,000 live ones.
    # No gzip: server and clients share this machine's two cores, so compression would only
    # add CPU time to every case alike (measured: 7.1 s vs 7.8 s to merely download 100k).
    with DemoOrg(subprocess=True, opportunities=104_000, gzip_level=0) as demo:
        env = demo.env()
        org = _connect(env)
        org.query(SOQL.format(n=2000), progress=False)  # warm the server's caches
        results: dict[tuple[str, int, float], dict[str, Any]] = {}
        download: dict[int, float] = {}
        for latency in LATENCIES:
            demo.set_faults(latency=latency)
            for rows in SIZES:
                for method in METHODS:
                    results[(method, rows, latency)] = _child(method, rows, env)
                    print(".", end="", flush=True)
            if latency:
                # Download only, page after page, nothing parsed: the server's own time per
                # page plus the latency, i.e. the floor any client can reach on this server.
                for rows in SIZES:
                    start = time.perf_counter()
                    _raw_pages(org, rows)
                    download[rows] = time.perf_counter() - start
        demo.set_faults(latency=0.0)
        conv = {rows: conversion(org, rows) for rows in SIZES}
    print()

    header = (f"{'case':<32}{'records':>9}{'latency':>9}{'wall s':>9}{'records/s':>11}"
              f"{'peak MB':>9}{'time/(a)':>10}{'mem/(a)':>9}")  # fmt: skip
    print("End to end, each case in a fresh process; peak MB = peak RSS - RSS before the query:")
    print(header)
    print("-" * len(header))
    for latency in LATENCIES:
        for rows in SIZES:
            base = results[("a", rows, latency)]
            for method, label in METHODS.items():
                r = results[(method, rows, latency)]
                assert r["rows"] == base["rows"], (method, rows, r["rows"], base["rows"])
                n = r["rows"]
                print(
                    f"{label:<32}{n:>9,}{int(latency * 1000):>7}ms{r['wall']:>9.2f}"
                    f"{n / r['wall']:>11,.0f}{r['peak'] / 2**20:>9.1f}"
                    f"{r['wall'] / base['wall']:>10.2f}{r['peak'] / max(base['peak'], 1):>9.2f}"
                )
    print()
    print("Conversion only (page bytes already downloaded -> DataFrame), CPU s, best of 3:")
    for rows, (recipe, typed) in conv.items():
        print(
            f"  {rows:>7,} records: json.loads+json_normalize {recipe:6.2f} s "
            f"({rows / recipe:,.0f}/s); sfnotebook {typed:6.2f} s ({rows / typed:,.0f}/s); "
            f"{recipe / typed:.1f}x faster"
        )
    print()
    print("Network floor at 100 ms (pages x latency), and the pages merely downloaded in turn:")
    for rows in SIZES:
        pages = math.ceil(rows / PAGE)
        floor = pages * 0.1
        wall = results[("c", rows, 0.1)]["wall"]
        print(f"  {rows:>7,} records: {pages} pages -> floor {floor:.2f} s; download only "
              f"{download[rows]:.2f} s; sfnotebook {wall:.2f} s = {wall / floor:.2f}x the floor, "
              f"{wall / download[rows]:.2f}x the download")  # fmt: skip
    big = SIZES[-1]
    ratios = ", ".join(
        f"{results[('c', big, lat)]['wall'] / results[('a', big, lat)]['wall']:.2f} at "
        f"{int(lat * 1000)} ms"
        for lat in LATENCIES
    )
    print(f"100k-record end-to-end time ratio sfnotebook/(a): {ratios}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(METHODS))
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.rows, json.loads(sys.stdin.read()))))
    else:
        main()
