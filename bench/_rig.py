"""The rig of `make bench`: the demo org in its own process, and cases in fresh children.

The latency model charges every request kind (token, versions, identity, data) ``latency``
seconds, as every request pays the round trip on a real network, and every new connection
``connect_latency`` seconds more before its TLS handshake is answered (TCP plus TLS 1.3 set
up cost about 2 round trips: :attr:`sfnotebook_demo.faults.FaultConfig.connect_latency`). The
demo server sets TCP_NODELAY on every connection (sfnotebook_demo/transport.py), so small
uncompressed answers are not held back by Nagle's algorithm.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = ["data", "token", "identity", "versions"]
# requests lets these override a session's own CA bundle (psf/requests#3829): dropped.
_CA_OVERRIDES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def network(demo: Any, latency: float, *, rtts_per_connect: float = 2.0) -> None:
    """Set the latency model: ``latency`` per request, ``rtts_per_connect`` x that per new
    connection (no latency at all for ``latency=0``)."""
    demo.set_faults(
        latency=latency,
        connect_latency=latency * rtts_per_connect,
        apply_to=KINDS if latency else ["data"],
    )


def child_env(demo: Any, *, cache_home: str | None = None) -> dict[str, str]:
    """The environment of a case: the demo org's settings, this checkout first on the path,
    and a fresh, empty cache home (no describe cache from an earlier case) unless given."""
    env = {k: v for k, v in os.environ.items() if k not in _CA_OVERRIDES}
    env.update(demo.env())
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_CACHE_HOME"] = cache_home or tempfile.mkdtemp(prefix="sfnotebook-bench-cache-")
    return env


def run(case: str, env: dict[str, str], **args: Any) -> dict[str, Any]:
    """Run one case in a fresh Python process; its JSON figures."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / "_case.py"), case],
        input=json.dumps(args),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} {args} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["_seconds"] = time.perf_counter() - started
    return result


def median(results: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(float(r[key]) for r in results))


def spread(results: list[dict[str, Any]], key: str) -> str:
    values = [float(r[key]) for r in results]
    return f"{min(values):.3g}-{max(values):.3g}" if len(values) > 1 else f"{values[0]:.3g}"


def complete_job(demo: Any, soql: str) -> str:
    """Create a Bulk query job and wait until its results are ready; its Id. Every case of a
    Bulk figure then reads the same finished job (results can be read again for 7 days)."""
    import sfnotebook
    from sfnotebook import bulk

    org = sfnotebook.connect(**demo.connect_kwargs(), env_file=False, set_default=False)
    job_id = str(bulk._create_job(org, soql, include_deleted=False)["id"])
    while bulk._poll(org, job_id)["state"] != "JobComplete":
        time.sleep(0.2)
    return job_id
