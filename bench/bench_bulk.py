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

Two tables. **End to end**: one run per case, each creating its own job, so the demo org's
job time (formatting the CSV on the server, the same work for every case) is inside the
figure. **Download and convert**: every case reads the results of one completed job (the
same job for all; a job's results can be read again), three times in turn, best wall time
kept: the part of the work that happens on the client.

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


def _recipe_client(org: Any) -> Any:
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = os.environ["SF_CA_BUNDLE"]
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.token.access_token.reveal(),
        version=org.api_version,
        session=session,
    )


def _child(case: str, rows: int, total: int, job_id: str | None) -> dict[str, Any]:
    import pandas as pd
    import pyarrow.parquet as pq

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

    folder = Path(tempfile.mkdtemp(prefix="sfnotebook-bench-")) / "opps"
    options: dict[str, Any] = {"max_records": PAGE, "progress": False}
    if case == "frame_gzip":
        options["compress"] = True
    if case == "parquet":
        options["to"] = folder
    base = _rss_mb()
    start = time.perf_counter()
    try:
        if case.startswith("recipe"):
            handler = _recipe_client(org).bulk2.Opportunity
            if job_id is None:
                handler._client.wait_for_job = timed(handler._client.wait_for_job)
                pages = handler.query(soql, max_records=PAGE, wait=1)
                frame = pd.concat([pd.read_csv(io.StringIO(p)) for p in pages], ignore_index=True)
            else:  # what query() does once the job is complete
                frames, locator = [], ""
                while True:
                    page = handler._client.get_query_results(job_id, locator, PAGE)
                    frames.append(pd.read_csv(io.StringIO(page["records"])))
                    locator = page["locator"]
                    if not locator:
                        break
                frame = pd.concat(frames, ignore_index=True)
            got = len(frame)
        else:
            bulk._wait = timed(bulk._wait)
            if job_id is None:
                out = org.extract(soql, **options)
            else:
                out = bulk.job_results(org, job_id, **options)
            if isinstance(out, Path):
                got = sum(pq.read_metadata(p).num_rows for p in sorted(out.glob("*.parquet")))
            else:
                got = len(out)
        end = time.perf_counter()
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    job = (job_done[0] - start) if job_done and job_id is None else 0.0
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


def _run_case(
    case: str, rows: int, total: int, env: dict[str, str], job_id: str | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", case, "--rows", str(rows), "--total", str(total)]
    if job_id:
        cmd += ["--job", job_id]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
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
CASES = ["recipe", "recipe_object", "frame", "frame_gzip", "parquet"]


def _complete_job(env: dict[str, str], soql: str) -> str:
    """Create a job in the parent and wait until Salesforce has its results."""
    import sfnotebook
    from sfnotebook import bulk

    org = sfnotebook.connect(
        domain=env["SF_DOMAIN"],
        consumer_key=env["SF_CONSUMER_KEY"],
        consumer_secret=env["SF_CONSUMER_SECRET"],
        ca_bundle=env["SF_CA_BUNDLE"],
        env_file=False,
        set_default=False,
    )
    job_id = str(bulk._create_job(org, soql, include_deleted=False)["id"])
    while bulk._poll(org, job_id)["state"] != "JobComplete":
        time.sleep(0.5)
    return job_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--job")
    parser.add_argument("--total", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.rows, args.total, args.job)))
        return 0

    sys.path.insert(0, str(ROOT))
    for name in _CA_OVERRIDES:  # the parent connects too (to create the shared jobs)
        os.environ.pop(name, None)
    from sfnotebook_demo import DemoOrg

    print(f"starting the demo org with {args.rows:,} opportunities (cached after the first build)")
    with DemoOrg(subprocess=True, opportunities=args.rows) as demo:
        env = {k: v for k, v in os.environ.items() if k not in _CA_OVERRIDES}
        env.update(demo.env())
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        sizes = [args.rows, args.small]
        plan = [(c, n) for n in sizes for c in CASES if n == args.rows or c in _SMALL_CASES]
        end_to_end = []
        for case, rows in plan:
            print(f"  end to end: {LABELS[case].strip()} on {rows:,} rows ...", flush=True)
            end_to_end.append(_run_case(case, rows, args.rows, env))
        after: dict[tuple[str, int], dict[str, Any]] = {}
        for rows in sizes:
            job_id = _complete_job(env, _soql(rows, args.rows))
            cases = [c for c in CASES if rows == args.rows or c in _SMALL_CASES]
            for round_ in range(args.repeat):
                for case in cases:
                    print(
                        f"  job {job_id}, round {round_ + 1}: {LABELS[case].strip()} ...",
                        flush=True,
                    )
                    r = _run_case(case, rows, args.rows, env, job_id)
                    best = after.get((case, rows))
                    if best is None or r["wall"] < best["wall"]:
                        after[(case, rows)] = r
    print("\nEnd to end (create the job, wait, download, convert; one run each):")
    _print_table(end_to_end, with_job=True)
    print(f"\nDownload and convert one completed job (best of {args.repeat}):")
    _print_table(list(after.values()), with_job=False)
    _check(end_to_end, list(after.values()))
    return 0


_SMALL_CASES = {"recipe", "frame", "parquet"}


def _print_table(results: list[dict[str, Any]], *, with_job: bool) -> None:
    recipe = {r["rows"]: r for r in results if r["case"] == "recipe"}
    job_cols = f"{'job s':>7}{'after':>7}" if with_job else ""
    head = (
        f"{'case':<46}{'rows':>10}{'wall s':>8}{job_cols}{'rows/s':>10}"
        f"{'peak MB':>9}{'over base':>10}{'speed-up':>9}{'memory':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        ref = recipe.get(r["rows"])
        speed = memory = ""
        if ref is not None and r is not ref:
            speed = f"{ref['wall'] / r['wall']:.1f}x"
            memory = f"{r['peak'] / ref['peak']:.2f}"
        jobs = f"{r['job']:>7.1f}{r['after']:>7.1f}" if with_job else ""
        print(
            f"{LABELS[r['case']]:<46}{r['rows']:>10,}{r['wall']:>8.1f}{jobs}"
            f"{r['rows'] / r['wall']:>10,.0f}{r['peak']:>9,.0f}"
            f"{r['peak'] - r['base']:>10,.0f}{speed:>9}{memory:>8}"
        )


NOTES = """
job s = until the job was seen complete (server work + polling); after = the rest.
speed-up = recipe wall / case wall; memory = case peak / recipe peak (same rows).
peak = the child process's max RSS (ru_maxrss, counts Arrow's and pandas' native memory);
over base = peak minus its RSS after imports and log-in."""


def _check(end_to_end: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    print(NOTES)
    big = max(r["rows"] for r in end_to_end)
    e2e = {(r["case"], r["rows"]): r for r in end_to_end}
    post = {(r["case"], r["rows"]): r for r in after}
    small = min(r["rows"] for r in after)
    rec, obj, frame = (post[(c, big)] for c in ("recipe", "recipe_object", "frame"))
    par_big, par_small = post[("parquet", big)], post[("parquet", small)]

    def over(r: dict[str, Any]) -> float:
        return float(r["peak"] - r["base"])

    checks = {
        ">= 3x faster end to end (DataFrame)": e2e[("recipe", big)]["wall"]
        / e2e[("frame", big)]["wall"]
        >= 3,
        ">= 3x faster download and convert (DataFrame)": rec["wall"] / frame["wall"] >= 3,
        "peak memory <= half the recipe's (pandas 3 strings)": frame["peak"] <= rec["peak"] / 2,
        "peak memory <= half the recipe's (object strings)": frame["peak"] <= obj["peak"] / 2,
        f"Parquet memory over base at {big:,} rows <= 1.5x that at {small:,}": over(par_big)
        <= 1.5 * over(par_small),
    }
    print()
    for name, ok in checks.items():
        print(f"  [{'met' if ok else 'NOT met'}] {name}")


if __name__ == "__main__":
    raise SystemExit(main())
