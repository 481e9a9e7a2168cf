"""The issue's baseline re-measured in the same run: the conversion figure of main at 24c3036.

Issue 13's "today" column was measured on main at 24c3036. Its conversion figure (12.7x) is a
ratio of two CPU times, so it should not move with the machine, yet neither the README of that
commit (7.3x) nor a re-run of its own ``bench/bench_soql.py`` reproduces it. Rather than compare
this run's ratio with a figure nobody can reproduce, :func:`conversion_then` exports that commit
(``git archive``, nothing in the checkout changes), runs its conversion benchmark against this
run's demo org in a fresh process, with this environment's packages, and returns its recipe and
typed CPU times: the same comparison, on the same machine, minutes apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "24c3036"

# Runs inside the exported commit: its own bench_soql.conversion (json.loads + json_normalize
# vs its FrameBuilder, best CPU time of 3 each) against the demo org named by the environment.
_CHILD = """
import json, os, sys
sys.path.insert(0, "bench")
import bench_soql
org = bench_soql._connect(dict(os.environ))
recipe, typed = bench_soql.conversion(org, int(sys.argv[1]))
print(json.dumps({"recipe": recipe, "typed": typed}))
"""


def conversion_then(env: dict[str, str], rows: int) -> dict[str, Any] | str:
    """``{"recipe", "typed"}`` CPU seconds of the baseline commit's conversion benchmark, or a
    sentence saying why it could not be measured (no git history, the commit absent, ...)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", BASELINE],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not measured ({exc})"
    if archive.returncode != 0:
        return f"not measured (commit {BASELINE} not in this clone's history)"
    with tempfile.TemporaryDirectory(prefix="sfnotebook-baseline-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        child_env = {**env, "PYTHONPATH": tmp}
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(rows)],
            cwd=tmp,
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"not measured ({BASELINE} failed: {tail[0][:200]})"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
