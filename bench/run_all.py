"""`make bench`: every benchmark in one run, each against the common recipe it replaces.

Order matters: the SOQL benchmark runs last because its last line is the figure the SOQL
issue asks for (the 100k-record end-to-end ratio to the common recipe).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_bulk.py", "bench_scaleout.py", "soak.py", "bench_soql.py"]


def main() -> int:
    failed = []
    for name in BENCHES:
        script = HERE / name
        if not script.exists():
            print(f"-- {name}: not present, skipped", flush=True)
            continue
        print(f"\n== {name} ==", flush=True)
        result = subprocess.run([sys.executable, str(script)], check=False)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print("benchmarks that failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
