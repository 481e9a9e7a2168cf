"""Bulk API 2.0 extract vs simple-salesforce's bulk2 recipe, on the demo org.

    .venv/bin/python bench/bench_bulk.py [--rows 1000000] [--small 200000]

The demo org runs in its own process with 1,000,000 opportunities. Every case runs in a fresh
child process, so each one's peak memory is its own:

* ``recipe``: ``sf.bulk2.Opportunity.query(soql)`` (simple-salesforce, unmodified, on a
  ``requests.Session`` that trusts the demo org's CA), ``pd.read_csv`` of each page, then
  ``pd.concat``;
* ``extract -> DataFrame``: ``org.extract(soql)``;
* ``extract -> Parquet``: ``org.extract(soql, to=folder)``, at two row counts to show that its
  memory is bounded by the pages in flight, not by the result.

Wall time covers creating the job, waiting for it, downloading and converting (not logging
in). Peak memory is the child's peak resident set size (``resource.getrusage().ru_maxrss``),
which counts Arrow's and pandas' native buffers (tracemalloc would miss Arrow's allocator);
``over base`` subtracts the child's resident size after imports and log-in. Both sides use
the same page size (simple-salesforce's default, 50,000 rows) and poll about as often
(simple-salesforce with ``wait=1``; extract from 0.5 s, growing).

The demo org listens on 127.0.0.1, so ``extract`` does not ask for gzip there (compressing
and decompressing costs CPU and saves no bandwidth on one machine); simple-salesforce always
asks for it. The ``gzip forced`` row shows ``extract`` with compression, as over a network.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = 50_000
SOQL = (
    "SELECT Id, Name, AccountId, StageName, Amount, Probability, CloseDate, Type, LeadSource, "
    "IsClosed, IsWon, TotalOpportunityQuantity, Competitors__c, Seats__c, CreatedDate, "
    "LastModifiedDate FROM Opportunity"
)
# requests lets these variables override a session's own CA bundle (psf/requests#3829);
# the children must trust the demo org's CA, so they are dropped from the children's env.
_CA_OVERRIDES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _soql(rows: int, total: int) -> str:
    return SOQL if rows >= total else f"{SOQL} LIMIT {rows}"


def _rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


# --------------------------------------------------------------------------- child side


def _child(case: str, rows: int, total: int) -> dict[str, Any]:
    import pandas as pd
    import requests
    from simple_salesforce import Salesforce

    import sfnotebook
    from sfnotebook import bulk

    if case == "recipe_object":
        # pandas 2.x's default: text columns as Python str objects (pandas 3 stores them in
        # Arrow). sfnotebook supports pandas >= 2.2, so both recipes are what analysts run.
        pd.set_option("future.infer_string", False)
    org = sfnotebook.connect(env_file=False, set_default=False)
    soql = _soql(rows, total)
    job_done: list[float] = []

    def timed(wait: Any) -> Any:
        """Note when the job is seen complete (measures, changes nothing)."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = wait(*args, **kwargs)
            job_done.append(time.perf_counter())
            return result

        return wrapper

    base = _rss_mb()
    start = time.perf_counter()
    if case.startswith("recipe"):
        session = requests.Session()
        session.verify = os.environ["SF_CA_BUNDLE"]
        sf = Salesforce(
            instance_url=org.instance_url,
            session_id=org.token.access_token,
            version=org.api_version,
            session=session,
        )
        handler = sf.bulk2.Opportunity
        handler._client.wait_for_job = timed(handler._client.wait_for_job)
        pages = handler.query(soql, max_records=PAGE, wait=1)
        frame = pd.concat([pd.read_csv(io.StringIO(page)) for page in pages], ignore_index=True)
        got = len(frame)
    elif case in {"frame", "frame_gzip"}:
        bulk._wait = timed(bulk._wait)
        compress = True if case == "frame_gzip" else None
        frame = org.extract(soql, max_records=PAGE, progress=False, compress=compress)
        got = len(frame)
    else:
        bulk._wait = timed(bulk._wait)
        folder = Path(tempfile.mkdtemp(prefix="sfnotebook-bench-")) / "opps"
        try:
            out = org.extract(soql, to=folder, max_records=PAGE, progress=False)
            import pyarrow.parquet as pq

            got = sum(pq.read_metadata(p).num_rows for p in sorted(Path(out).glob("*.parquet")))
        finally:
            shutil.rmtree(folder.parent, ignore_errors=True)
    end = time.perf_counter()
    job = (job_done[0] if job_done else start) - start
    return {
        "case": case,
        "rows": got,
        "wall": end - start,
        "job": job,
        "after": end - start - job,
        "peak": _rss_mb(),
        "base": base,
    }


# --------------------------------------------------------------------------- parent side


def _run_case(case: str, rows: int, total: int, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, "--rows", str(rows), "--total", str(total)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"case {case} ({rows:,} rows) failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


LABELS = {
    "recipe": "simple-salesforce bulk2 + read_csv + concat",
    "recipe_object": "  same, object strings (pandas 2.x default)",
    "frame": "extract -> DataFrame",
    "frame_gzip": "  same, gzip forced (compress=True)",
    "parquet": "extract -> Parquet folder",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--child")
    parser.add_argument("--total", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.rows, args.total)))
        return 0

    sys.path.insert(0, str(ROOT))
    from sfnotebook.demo import DemoOrg

    print(f"starting the demo org with {args.rows:,} opportunities (cached after the first build)")
    with DemoOrg(subprocess=True, opportunities=args.rows) as demo:
        env = {k: v for k, v in os.environ.items() if k not in _CA_OVERRIDES}
        env.update(demo.env())
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        plan = [
            ("recipe", args.rows),
            ("recipe_object", args.rows),
            ("frame", args.rows),
            ("frame_gzip", args.rows),
            ("parquet", args.rows),
            ("recipe", args.small),
            ("frame", args.small),
            ("parquet", args.small),
        ]
        results = []
        for case, rows in plan:
            print(f"  running {LABELS[case]} on {rows:,} rows ...", flush=True)
            results.append(_run_case(case, rows, args.rows, env))
    _print_table(results)
    return 0 if _check(results, args.rows) else 1


def _print_table(results: list[dict[str, Any]]) -> None:
    recipe = {r["rows"]: r for r in results if r["case"] == "recipe"}
    head = (
        f"{'case':<46}{'rows':>10}{'wall s':>8}{'job s':>7}{'after':>7}{'rows/s':>10}"
        f"{'peak MB':>9}{'over base':>10}{'speed-up':>9}{'after':>7}{'memory':>8}"
    )
    print("\n" + head)
    print("-" * len(head))
    for r in results:
        ref = recipe.get(r["rows"])
        other = ref is not None and r is not ref
        speed = f"{ref['wall'] / r['wall']:.1f}x" if other else ""
        after = f"{ref['after'] / r['after']:.1f}x" if other else ""
        memory = f"{r['peak'] / ref['peak']:.2f}" if other else ""
        print(
            f"{LABELS[r['case']]:<46}{r['rows']:>10,}{r['wall']:>8.1f}{r['job']:>7.1f}"
            f"{r['after']:>7.1f}{r['rows'] / r['wall']:>10,.0f}{r['peak']:>9,.0f}"
            f"{r['peak'] - r['base']:>10,.0f}{speed:>9}{after:>7}{memory:>8}"
        )
    print(
        "\njob s = until the job was seen complete (server work + polling); after = the rest "
        "(download, parse, convert).\nspeed-up = recipe wall / case wall, after = the same for "
        "the after-job part; memory = case peak / recipe peak (same rows).\nPeak = the child's "
        "max RSS (ru_maxrss); over base = minus its RSS after imports and log-in."
    )


def _check(results: list[dict[str, Any]], total: int) -> bool:
    big = max(r["rows"] for r in results)
    by = {(r["case"], r["rows"]): r for r in results}
    rec, obj, frame, parquet = (
        by.get((c, big)) for c in ("recipe", "recipe_object", "frame", "parquet")
    )
    small = next((r for r in results if r["case"] == "parquet" and r["rows"] < big), None)
    if not (rec and obj and frame and parquet and small):
        return False
    checks = {
        ">= 3x faster end to end than the recipe (DataFrame)": rec["wall"] / frame["wall"] >= 3,
        ">= 3x faster once the job is complete (DataFrame)": rec["after"] / frame["after"] >= 3,
        "peak memory <= half the recipe's (pandas 3 strings)": frame["peak"] <= rec["peak"] / 2,
        "peak memory <= half the recipe's (object strings)": frame["peak"] <= obj["peak"] / 2,
        f"Parquet memory over base at {big:,} rows <= 1.5x that at {small['rows']:,}": (
            parquet["peak"] - parquet["base"] <= 1.5 * (small["peak"] - small["base"])
        ),
    }
    print()
    for name, ok in checks.items():
        print(f"  [{'met' if ok else 'NOT met'}] {name}")
    return True  # the figures are the product; a missed target is reported, not a crash


if __name__ == "__main__":
    raise SystemExit(main())
